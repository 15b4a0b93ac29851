use std::sync::Arc;

use borgerraad_platform::clock::SystemClock;
use intake::{Application, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let common = settings.common.clone();
    borgerraad_platform::run_service(&common, |shutdown| async move {
        let application = Application::build(settings, Arc::new(SystemClock)).await?;
        application.run_until(shutdown).await
    })
    .await
}
