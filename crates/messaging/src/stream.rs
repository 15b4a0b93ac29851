//! The connection to NATS and the one JetStream stream that holds the domain's events.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, stream};

/// The stream of every `borgerraad.>` event, kept on disk so consumers and rebuilds can replay.
pub const STREAM_NAME: &str = "BORGERRAAD";

/// How long JetStream remembers event ids to drop duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Connects to NATS without waiting for it: when the server is down the client keeps trying in
/// the background, so a service starts, takes requests and catches up once NATS is back.
pub async fn connect(url: &str, client_name: &str) -> anyhow::Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .name(client_name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .event_callback(|event| async move {
            tracing::info!(%event, "NATS connection event");
        })
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to NATS at {url}"))
}

/// A JetStream context whose publish acknowledgements time out instead of waiting forever.
pub fn jetstream(client: async_nats::Client) -> jetstream::Context {
    let mut context = jetstream::new(client);
    context.set_timeout(Duration::from_secs(5));
    context
}

/// Declares the stream if it does not exist yet; safe to call from every service at start.
pub async fn ensure_stream(context: &jetstream::Context) -> anyhow::Result<stream::Stream> {
    let created = context
        .get_or_create_stream(stream::Config {
            name: STREAM_NAME.to_owned(),
            subjects: vec!["borgerraad.>".to_owned()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await;
    match created {
        Ok(stream) => Ok(stream),
        // Another service may have created it between our lookup and our create.
        Err(_) => context
            .get_stream(STREAM_NAME)
            .await
            .context("cannot declare the BORGERRAAD stream"),
    }
}
