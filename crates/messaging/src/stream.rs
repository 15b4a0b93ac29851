//! The connection to NATS and the one JetStream stream that holds the domain's events.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, stream};
use borgerraad_platform::settings::{NatsCredentials, NatsSettings};

/// The stream of every `borgerraad.>` event, kept on disk so consumers and rebuilds can replay.
pub const STREAM_NAME: &str = "BORGERRAAD";

/// How long JetStream remembers event ids to drop duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Connects to NATS without waiting for it: when the server is down the client keeps trying in
/// the background, so a service starts, takes requests and catches up once NATS is back.
/// Credentials and TLS come from `settings`; a server that refuses them is reported as NATS
/// connection events (and the client keeps trying), never as a panic.
pub async fn connect(
    url: &str,
    client_name: &str,
    settings: &NatsSettings,
) -> anyhow::Result<async_nats::Client> {
    connect_options(client_name, settings)
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to NATS at {url}"))
}

/// The inbox (reply subject) prefix of a client with `credentials`: a user's own
/// `_INBOX.<user>`, so the server's permissions can let each service read only its own replies
/// (JetStream's acknowledgements and pulled messages come back on them).
pub fn inbox_prefix(credentials: &NatsCredentials) -> String {
    match credentials {
        NatsCredentials::UserPassword { user, .. } => format!("_INBOX.{user}"),
        NatsCredentials::None | NatsCredentials::NKey { .. } => "_INBOX".to_owned(),
    }
}

/// The options [`connect`] uses, for a caller that connects otherwise (a test, a tool).
pub fn connect_options(client_name: &str, settings: &NatsSettings) -> async_nats::ConnectOptions {
    let mut options =
        async_nats::ConnectOptions::new().custom_inbox_prefix(inbox_prefix(&settings.credentials));
    options = match &settings.credentials {
        NatsCredentials::None => options,
        NatsCredentials::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.expose().to_owned())
        }
        NatsCredentials::NKey { seed } => options.nkey(seed.expose().to_owned()),
    };
    if let Some(ca) = &settings.tls_ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    if settings.tls_required {
        options = options.require_tls(true);
    }
    options
        .name(client_name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .event_callback(|event| async move {
            match event {
                // Refused credentials or a permission the server does not give: configuration.
                async_nats::Event::ServerError(_) | async_nats::Event::ClientError(_) => {
                    tracing::warn!(%event, "NATS connection event");
                }
                _ => tracing::info!(%event, "NATS connection event"),
            }
        })
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
