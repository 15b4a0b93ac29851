//! A durable JetStream pull consumer per service. Each message is applied in one database
//! transaction that also records its event id, so a redelivery is recognised and acknowledged
//! without changing anything. Failures are classified: a transient one is retried with backoff,
//! a message that can never be applied is set aside as a dead letter, never looped on forever.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use borgerraad_proto::v1::Event;
use futures::StreamExt as _;
use opentelemetry::KeyValue;
use prost::Message as _;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::headers::NatsHeaderExtractor;
use crate::outbox::Outbox;
use crate::stream::ensure_stream;

/// After this many deliveries a transient failure is treated as permanent.
const MAX_DELIVERIES: i64 = 10;

/// Which events a service consumes, under which durable name.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Also the service's consumer group name in traces, e.g. "eligibility".
    pub durable_name: &'static str,
    /// A subject or wildcard, e.g. "borgerraad.inquiry.received" or "borgerraad.>".
    pub filter_subject: &'static str,
    /// Messages applied at once.
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth trying again later: the database was unavailable, a conflict, a timeout.
    #[error("transient failure: {0:#}")]
    Retry(#[from] anyhow::Error),
    /// The event can never be applied; the reason must hold ids and categories only.
    #[error("cannot apply event: {0}")]
    Poison(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry(error.into())
    }
}

/// A service's reaction to one event, applied inside the consumer's transaction.
pub trait EventHandler: Send + Sync + 'static {
    fn handle(
        &self,
        event: &Event,
        transaction: &mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

pub struct Consumer<H> {
    spec: ConsumerSpec,
    pool: PgPool,
    jetstream: jetstream::Context,
    handler: Arc<H>,
    /// Woken after a commit when the handler wrote to the outbox.
    outbox: Option<Outbox>,
}

enum Applied {
    Changed,
    AlreadyApplied,
}

impl<H: EventHandler> Consumer<H> {
    pub fn new(
        spec: ConsumerSpec,
        pool: PgPool,
        jetstream: jetstream::Context,
        handler: H,
        outbox: Option<Outbox>,
    ) -> Self {
        Self {
            spec,
            pool,
            jetstream,
            handler: Arc::new(handler),
            outbox,
        }
    }

    /// Consumes until `shutdown`; messages in hand are finished and acknowledged, messages
    /// fetched but not started are left unacknowledged and so are redelivered later.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            match self.open().await {
                Ok(messages) => {
                    backoff = Duration::from_millis(100);
                    tracing::info!(consumer = self.spec.durable_name, "consuming");
                    messages
                        .take_until(shutdown.clone().cancelled_owned())
                        .for_each_concurrent(self.spec.concurrency, |item| async {
                            match item {
                                Ok(message) => self.process(message).await,
                                Err(error) => tracing::warn!(%error, consumer = self.spec.durable_name, "pull failed"),
                            }
                        })
                        .await;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        consumer = self.spec.durable_name,
                        "cannot open consumer yet"
                    );
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::info!(consumer = self.spec.durable_name, "consumer stopped");
    }

    async fn open(&self) -> anyhow::Result<pull::Stream> {
        let stream = ensure_stream(&self.jetstream).await?;
        let consumer: jetstream::consumer::PullConsumer = stream
            .get_or_create_consumer(
                self.spec.durable_name,
                pull::Config {
                    durable_name: Some(self.spec.durable_name.to_owned()),
                    filter_subject: self.spec.filter_subject.to_owned(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    max_ack_pending: 4096,
                    ..Default::default()
                },
            )
            .await?;
        Ok(consumer.messages().await?)
    }

    async fn process(&self, message: jetstream::Message) {
        let subject = message.subject.to_string();
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("process {subject}"),
            otel.kind = "consumer",
            messaging.system = "nats",
            messaging.operation.type = "process",
            messaging.destination.name = %subject,
            messaging.consumer.group.name = self.spec.durable_name,
            messaging.message.id = tracing::field::Empty,
            inquiry_id = tracing::field::Empty,
        );
        if let Some(headers) = &message.headers {
            borgerraad_platform::telemetry::set_parent_from(&span, &NatsHeaderExtractor(headers));
        }
        async {
            let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
            let stream_sequence = message.info().map(|info| info.stream_sequence).unwrap_or(0);
            let (ack, outcome) = match self.apply(&message.payload).await {
                Ok(Applied::Changed) => (AckKind::Ack, "applied"),
                Ok(Applied::AlreadyApplied) => (AckKind::Ack, "duplicate"),
                Err(HandlerError::Retry(error)) if delivered < MAX_DELIVERIES => {
                    let delay = Duration::from_millis(200 * 2u64.pow(delivered.clamp(0, 8) as u32));
                    tracing::warn!(error = format!("{error:#}"), delivered, "will retry event");
                    (AckKind::Nak(Some(delay)), "retry")
                }
                Err(error) => {
                    tracing::error!(%error, delivered, "event set aside as dead letter");
                    self.record_dead_letter(
                        &subject,
                        stream_sequence,
                        &error.to_string(),
                        &message.payload,
                    )
                    .await;
                    (AckKind::Term, "dead_letter")
                }
            };
            // A lost ack only means a redelivery, which the applied_events table absorbs.
            if let Err(error) = message.ack_with(ack).await {
                tracing::warn!(%error, "cannot acknowledge message");
            }
            processed_counter().add(
                1,
                &[
                    KeyValue::new("messaging.consumer.group.name", self.spec.durable_name),
                    KeyValue::new("outcome", outcome),
                ],
            );
        }
        .instrument(span)
        .await;
    }

    async fn apply(&self, payload: &[u8]) -> Result<Applied, HandlerError> {
        let event = Event::decode(payload)
            .map_err(|error| HandlerError::Poison(format!("not a borgerraad.v1.Event: {error}")))?;
        let event_id = Uuid::parse_str(&event.id)
            .map_err(|_| HandlerError::Poison("event id is not a UUID".into()))?;
        let span = tracing::Span::current();
        span.record("messaging.message.id", event.id.as_str());
        span.record("inquiry_id", event.subject.as_str());

        let mut transaction = self.pool.begin().await?;
        let first_time = sqlx::query(
            "INSERT INTO applied_events (event_id, event_type) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(&event.r#type)
        .execute(&mut *transaction)
        .await?
        .rows_affected()
            == 1;
        if !first_time {
            return Ok(Applied::AlreadyApplied);
        }
        self.handler.handle(&event, &mut transaction).await?;
        transaction.commit().await?;
        if let Some(outbox) = &self.outbox {
            outbox.wake();
        }
        Ok(Applied::Changed)
    }

    async fn record_dead_letter(
        &self,
        subject: &str,
        stream_sequence: u64,
        reason: &str,
        payload: &[u8],
    ) {
        let recorded = sqlx::query(
            "INSERT INTO dead_letters (consumer, subject, stream_sequence, reason, payload) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.spec.durable_name)
        .bind(subject)
        .bind(i64::try_from(stream_sequence).unwrap_or(i64::MAX))
        .bind(reason)
        .bind(payload)
        .execute(&self.pool)
        .await;
        if let Err(error) = recorded {
            tracing::error!(%error, stream_sequence, "cannot record dead letter; the stream still holds the message");
        }
    }
}

fn processed_counter() -> opentelemetry::metrics::Counter<u64> {
    opentelemetry::global::meter("borgerraad")
        .u64_counter("borgerraad.events.processed")
        .with_description("Events taken off the stream, by consumer and outcome")
        .build()
}
