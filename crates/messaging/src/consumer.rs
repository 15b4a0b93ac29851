//! A durable JetStream pull consumer per service. Each message is applied in one database
//! transaction that also records its event id, so a redelivery is recognised and acknowledged
//! without changing anything. Failures are classified: a transient one is retried with backoff,
//! a message that can never be applied is set aside as a dead letter, never looped on forever.

use std::collections::HashSet;
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
use crate::origin::check_origin;
use crate::outbox::Outbox;
use crate::stream::ensure_stream;

/// After this many deliveries a failure that is not an outage is treated as permanent.
const MAX_DELIVERIES: i64 = 10;
/// The longest a failed message waits before it is tried again.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// After this many errors in a row from the pull, the consumer is opened afresh (the stream or
/// the consumer may have been lost with the server's store).
const MAX_CONSECUTIVE_PULL_ERRORS: u32 = 5;
/// A lost acknowledgement only means a redelivery, so never wait long for one.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Which events a service consumes, under which durable name.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Also the service's consumer group name in traces, e.g. "eligibility".
    pub durable_name: &'static str,
    /// A subject or wildcard, e.g. "borgerraad.inquiry.received" or "borgerraad.>".
    pub filter_subject: &'static str,
    /// Chunks of messages applied at once.
    pub concurrency: usize,
    /// The most messages applied in one transaction; under light load chunks are smaller, as a
    /// chunk holds only the messages already fetched.
    pub batch_size: usize,
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

/// Records the ids of `events` in the `applied_events` table on the connection's `search_path`
/// and returns those not recorded before: the events to apply.
pub async fn record_applied(
    connection: &mut PgConnection,
    events: &[(Uuid, Event)],
) -> sqlx::Result<HashSet<Uuid>> {
    let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
    let types: Vec<&str> = events.iter().map(|(_, e)| e.r#type.as_str()).collect();
    // Sorted, so concurrent chunks take the index locks in the same order.
    let fresh = sqlx::query_scalar(
        "INSERT INTO applied_events (event_id, event_type) \
         SELECT * FROM unnest($1::uuid[], $2::text[]) ORDER BY 1 \
         ON CONFLICT DO NOTHING RETURNING event_id",
    )
    .bind(&ids)
    .bind(&types)
    .fetch_all(connection)
    .await?;
    Ok(fresh.into_iter().collect())
}

/// A service's reaction to one event, applied inside the consumer's transaction.
pub trait EventHandler: Send + Sync + 'static {
    fn handle(
        &self,
        event: &Event,
        transaction: &mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Applies a chunk's new events, in stream order, each with the span of its message. By
    /// default one `handle` per event, each in its message's span; a handler whose work batches
    /// well (one statement for the whole chunk) overrides it, and then gets every event through
    /// here, single ones too. It runs in the message's span for one event, else in a chunk span
    /// linked to the messages' spans. A failure undoes the whole chunk, which is then applied one
    /// event at a time.
    fn handle_all(
        &self,
        events: &[(&Event, tracing::Span)],
        transaction: &mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async move {
            for (event, span) in events {
                self.handle(event, &mut *transaction)
                    .instrument(span.clone())
                    .await?;
            }
            Ok(())
        }
    }

    /// Runs before a batch is applied, outside its transaction, so a handler can fetch what the
    /// whole batch needs at once (one call instead of one per event). Best effort: `handle`
    /// must still work for an event nothing was prepared for.
    fn prepare(&self, events: &[&Event]) -> impl Future<Output = ()> + Send {
        let _ = events;
        async {}
    }
}

pub struct Consumer<H> {
    spec: ConsumerSpec,
    pool: PgPool,
    jetstream: jetstream::Context,
    handler: Arc<H>,
    /// Woken after a commit when the handler wrote to the outbox.
    outbox: Option<Outbox>,
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
                    let mut consecutive_errors = 0;
                    let consumer = self.spec.durable_name;
                    messages
                        .take_until(shutdown.clone().cancelled_owned())
                        // Pull errors (missed heartbeats while NATS restarts) are logged and
                        // skipped; a run of them ends this stream so the consumer is reopened.
                        .filter_map(|item| {
                            let next = match item {
                                Ok(message) => {
                                    consecutive_errors = 0;
                                    Some(Some(message))
                                }
                                Err(error) => {
                                    consecutive_errors += 1;
                                    tracing::warn!(%error, consumer, consecutive_errors, "pull failed");
                                    (consecutive_errors >= MAX_CONSECUTIVE_PULL_ERRORS).then_some(None)
                                }
                            };
                            futures::future::ready(next)
                        })
                        .take_while(|message| futures::future::ready(message.is_some()))
                        .filter_map(futures::future::ready)
                        .ready_chunks(self.spec.batch_size.max(1))
                        .for_each_concurrent(self.spec.concurrency, |chunk| self.process_chunk(chunk))
                        .await;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        consumer = self.spec.durable_name,
                        "cannot open consumer yet"
                    );
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
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
        // Pull no more than can be worked on: buffered messages would sit out their ack wait on a
        // slow database or at shutdown.
        Ok(consumer
            .stream()
            .max_messages_per_batch(self.spec.concurrency * self.spec.batch_size.max(1))
            .heartbeat(Duration::from_secs(15))
            .messages()
            .await?)
    }

    /// Applies a chunk in one transaction: one commit and one `applied_events` statement for all
    /// of it. If anything in the chunk fails, its messages are applied one by one instead, so a
    /// single bad message is classified on its own and never holds back the rest.
    async fn process_chunk(&self, chunk: Vec<jetstream::Message>) {
        if chunk.len() > 1 {
            match self.apply_chunk(&chunk).await {
                Ok(applied) => {
                    for message in &chunk {
                        match tokio::time::timeout(ACK_TIMEOUT, message.ack()).await {
                            Ok(Ok(())) => {}
                            Ok(Err(error)) => tracing::warn!(%error, "cannot acknowledge message"),
                            Err(_) => tracing::warn!("acknowledgement timed out"),
                        }
                    }
                    let group =
                        KeyValue::new("messaging.consumer.group.name", self.spec.durable_name);
                    processed_counter().add(
                        applied as u64,
                        &[group.clone(), KeyValue::new("outcome", "applied")],
                    );
                    let duplicates = (chunk.len() - applied) as u64;
                    processed_counter()
                        .add(duplicates, &[group, KeyValue::new("outcome", "duplicate")]);
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, size = chunk.len(), "chunk failed; applying its messages one by one");
                }
            }
        }
        for message in chunk {
            self.process(message).await;
        }
    }

    async fn apply_chunk(&self, chunk: &[jetstream::Message]) -> Result<usize, HandlerError> {
        let events = chunk
            .iter()
            .map(|message| decode(&message.subject, &message.payload))
            .collect::<Result<Vec<_>, _>>()?;
        self.apply_events(&events, |i| self.message_span(&chunk[i]))
            .await
    }

    /// Applies `events` in one transaction that also marks them applied, and returns how many
    /// were new; events applied before are skipped. Event `i`'s span is `span_of(i)`; it stays
    /// open until the chunk is committed.
    async fn apply_events(
        &self,
        events: &[(Uuid, Event)],
        span_of: impl Fn(usize) -> tracing::Span,
    ) -> Result<usize, HandlerError> {
        let batch: Vec<&Event> = events.iter().map(|(_, event)| event).collect();
        self.handler.prepare(&batch).await;
        let mut transaction = self.pool.begin().await?;
        let mut fresh = record_applied(&mut transaction, events).await?;
        let mut new_events = Vec::with_capacity(fresh.len());
        for (i, (event_id, event)) in events.iter().enumerate() {
            // `remove` is true once per id, so an event twice in one chunk is applied once.
            if fresh.remove(event_id) {
                let span = span_of(i);
                span.record("messaging.message.id", event.id.as_str());
                span.record("inquiry_id", event.subject.as_str());
                new_events.push((event, span));
            }
        }
        let applied = new_events.len();
        let span = match new_events.as_slice() {
            [] => None,
            [(_, span)] => Some(span.clone()),
            several => Some(self.chunk_span(several)),
        };
        if let Some(span) = span {
            self.handler
                .handle_all(&new_events, &mut transaction)
                .instrument(span)
                .await?;
        }
        transaction.commit().await?;
        if let Some(outbox) = &self.outbox {
            outbox.wake();
        }
        Ok(applied)
    }

    /// A span for the work on several messages at once, linked to each message's span.
    fn chunk_span(&self, events: &[(&Event, tracing::Span)]) -> tracing::Span {
        let span = tracing::info_span!(
            "process chunk",
            otel.name = %format!("process {}", self.spec.filter_subject),
            otel.kind = "consumer",
            messaging.system = "nats",
            messaging.operation.type = "process",
            messaging.batch.message_count = events.len(),
            messaging.consumer.group.name = self.spec.durable_name,
        );
        for (_, message) in events {
            borgerraad_platform::telemetry::link(&span, message);
        }
        span
    }

    /// A span per message, continuing the trace the message's headers carry.
    fn message_span(&self, message: &jetstream::Message) -> tracing::Span {
        let subject = message.subject.as_str();
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
        span
    }

    async fn process(&self, message: jetstream::Message) {
        let subject = message.subject.to_string();
        let span = self.message_span(&message);
        async {
            let delivered = message.info().map(|info| info.delivered).unwrap_or(1);
            let stream_sequence = message.info().map(|info| info.stream_sequence).unwrap_or(0);
            let applied = match decode(&subject, &message.payload) {
                // Already inside this message's span: its handler runs there too.
                Ok(event) => {
                    self.apply_events(std::slice::from_ref(&event), |_| tracing::Span::current())
                        .await
                }
                Err(poison) => Err(poison),
            };
            let (ack, outcome) = match applied {
                Ok(1) => (AckKind::Ack, "applied"),
                Ok(_) => (AckKind::Ack, "duplicate"),
                // An outage is waited out however long it lasts: dead-lettering would skip the event.
                Err(HandlerError::Retry(error)) if delivered < MAX_DELIVERIES || borgerraad_platform::db::is_outage(&error) => {
                    tracing::warn!(error = format!("{error:#}"), delivered, "will retry event");
                    (AckKind::Nak(Some(retry_delay(delivered))), "retry")
                }
                Err(error) => {
                    match self.record_dead_letter(&subject, stream_sequence, &error.to_string(), &message.payload).await {
                        Ok(()) => {
                            tracing::error!(%error, delivered, "event set aside as dead letter");
                            (AckKind::Term, "dead_letter")
                        }
                        // Without the record, terminating would lose the event: keep it.
                        Err(record_error) => {
                            tracing::error!(%error, %record_error, "cannot record dead letter; will retry");
                            (AckKind::Nak(Some(MAX_RETRY_DELAY)), "retry")
                        }
                    }
                }
            };
            match tokio::time::timeout(ACK_TIMEOUT, message.ack_with(ack)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "cannot acknowledge message"),
                Err(_) => tracing::warn!("acknowledgement timed out"),
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

    /// Records a message that can never be applied; with its event id marked applied in the same
    /// transaction, so a redelivery of the same event is not applied later either.
    async fn record_dead_letter(
        &self,
        subject: &str,
        stream_sequence: u64,
        reason: &str,
        payload: &[u8],
    ) -> sqlx::Result<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO dead_letters (consumer, subject, stream_sequence, reason, payload) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consumer, stream_sequence) DO NOTHING",
        )
        .bind(self.spec.durable_name)
        .bind(subject)
        .bind(i64::try_from(stream_sequence).unwrap_or(i64::MAX))
        .bind(reason)
        .bind(payload)
        .execute(&mut *transaction)
        .await?;
        // Only an event its producer sent is marked applied: a forged copy must not keep the
        // genuine event out.
        if let Ok((event_id, event)) = decode(subject, payload) {
            sqlx::query(
                "INSERT INTO applied_events (event_id, event_type) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(event_id)
            .bind(&event.r#type)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await
    }
}

/// A message's event and its id, or why it can never be applied: not an event, or not from the
/// service that owns the subject it came on.
pub fn decode(subject: &str, payload: &[u8]) -> Result<(Uuid, Event), HandlerError> {
    let event = Event::decode(payload)
        .map_err(|error| HandlerError::Poison(format!("not a borgerraad.v1.Event: {error}")))?;
    check_origin(subject, &event).map_err(|error| HandlerError::Poison(error.to_string()))?;
    let event_id = Uuid::parse_str(&event.id)
        .map_err(|_| HandlerError::Poison("event id is not a UUID".into()))?;
    Ok((event_id, event))
}

/// 0.4 s, 0.8 s, 1.6 s … doubling per delivery, at most [`MAX_RETRY_DELAY`].
fn retry_delay(delivered: i64) -> Duration {
    let exponent = u32::try_from(delivered.clamp(1, 16)).unwrap_or(16);
    Duration::from_millis(200u64.saturating_mul(2u64.saturating_pow(exponent))).min(MAX_RETRY_DELAY)
}

fn processed_counter() -> &'static opentelemetry::metrics::Counter<u64> {
    static COUNTER: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> =
        std::sync::OnceLock::new();
    COUNTER.get_or_init(|| {
        opentelemetry::global::meter("borgerraad")
            .u64_counter("borgerraad.events.processed")
            .with_description("Events taken off the stream, by consumer and outcome")
            .build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_minute() {
        assert_eq!(retry_delay(1), Duration::from_millis(400));
        assert_eq!(retry_delay(2), Duration::from_millis(800));
        assert_eq!(retry_delay(50), MAX_RETRY_DELAY);
    }
}
