use std::sync::Arc;

use borgerraad_platform::{clock::SystemClock, shutdown, telemetry};
use eligibility::{Application, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let telemetry = telemetry::init(&settings.common)?;
    let outcome = async {
        let application = Application::build(settings, Arc::new(SystemClock)).await?;
        application.run_until(shutdown::on_signal()).await
    }
    .await;
    if let Err(error) = &outcome {
        tracing::error!(
            error = format!("{error:#}"),
            "eligibility stopped with an error"
        );
    }
    telemetry.shutdown();
    outcome
}
