//! The transactional outbox: an event is stored in the same transaction as the change it
//! describes, and a relay publishes stored events to JetStream in the order they were written,
//! with the event id as dedupe id, marking each row sent only after JetStream acknowledged it.
//! A crash between the publish and the mark republishes the same id, which JetStream drops within
//! its duplicate window; after that, the consumers' `applied_events` absorb it. Order holds per
//! relay; two replicas' batches may interleave, so consumers never rely on order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use borgerraad_proto::v1::Event;
use prost::Message as _;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::headers;

/// Writes events into the caller's transaction and wakes the relay after commit.
#[derive(Clone, Default, Debug)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `event` in the transaction behind `connection`, with the current trace context.
    pub async fn enqueue(&self, connection: &mut PgConnection, event: &Event) -> sqlx::Result<()> {
        let trace_context = borgerraad_platform::telemetry::current_context_map();
        self.enqueue_all(connection, &[(event, &trace_context)])
            .await
    }

    /// Stores `events`, each with the trace context it continues, in one statement.
    pub async fn enqueue_all(
        &self,
        connection: &mut PgConnection,
        events: &[(&Event, &HashMap<String, String>)],
    ) -> sqlx::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let event_ids = events
            .iter()
            .map(|(event, _)| Uuid::parse_str(&event.id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
        sqlx::query(
            "INSERT INTO outbox (event_id, subject, payload, trace_context) \
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::jsonb[])",
        )
        .bind(event_ids)
        .bind(
            events
                .iter()
                .map(|(e, _)| e.r#type.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|(e, _)| e.encode_to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|(_, c)| Json(c)).collect::<Vec<_>>())
        .execute(connection)
        .await?;
        Ok(())
    }

    /// Tells the relay there is something to publish; call after the transaction committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn relay(&self, pool: PgPool, jetstream: jetstream::Context) -> OutboxRelay {
        OutboxRelay {
            pool,
            jetstream,
            wake: self.wake.clone(),
            batch_size: 256,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// The values of one outbox row, for a producer that writes its change and the event in one
/// SQL statement (`INSERT INTO outbox (event_id, subject, payload, trace_context) …`).
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub event_id: Uuid,
    pub subject: String,
    pub payload: Vec<u8>,
    pub trace_context: Json<HashMap<String, String>>,
}

impl OutboxRow {
    /// The row for `event`, carrying the current trace context.
    pub fn new(event: &Event) -> sqlx::Result<Self> {
        Ok(Self {
            event_id: Uuid::parse_str(&event.id)
                .map_err(|error| sqlx::Error::Encode(Box::new(error)))?,
            subject: event.r#type.clone(),
            payload: event.encode_to_vec(),
            trace_context: Json(borgerraad_platform::telemetry::current_context_map()),
        })
    }
}

/// Publishes the outbox until shutdown.
pub struct OutboxRelay {
    pool: PgPool,
    jetstream: jetstream::Context,
    wake: Arc<Notify>,
    batch_size: i64,
    /// Catches rows written by another replica or before a restart.
    poll_interval: Duration,
}

#[derive(sqlx::FromRow)]
struct PendingEvent {
    position: i64,
    event_id: Uuid,
    subject: String,
    payload: Vec<u8>,
    trace_context: Json<HashMap<String, String>>,
}

impl OutboxRelay {
    /// Runs until `shutdown`; the batch in hand is finished first.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut stream_declared = false;
        loop {
            // The stream may be missing: a fresh NATS, or one that lost its store.
            if !stream_declared {
                stream_declared = crate::stream::ensure_stream(&self.jetstream).await.is_ok();
            }
            match self.publish_batch().await {
                Ok(published) if published as i64 == self.batch_size => {
                    backoff = Duration::from_millis(100);
                    if shutdown.is_cancelled() {
                        break;
                    }
                    continue;
                }
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(self.poll_interval) => {}
                    }
                }
                Err(error) => {
                    stream_declared = false;
                    // Typically NATS or Postgres is down: the rows stay and go out later.
                    tracing::warn!(
                        error = format!("{error:#}"),
                        retry_in_ms = backoff.as_millis() as u64,
                        "outbox relay cannot publish yet"
                    );
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::info!("outbox relay stopped");
    }

    /// Publishes up to one batch in order; returns how many rows were published.
    async fn publish_batch(&self) -> anyhow::Result<usize> {
        let mut transaction = self.pool.begin().await?;
        // SKIP LOCKED lets replicas share the work without publishing a row twice at once.
        let pending: Vec<PendingEvent> = sqlx::query_as(
            "SELECT position, event_id, subject, payload, trace_context FROM outbox \
             WHERE published_at IS NULL ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *transaction)
        .await?;
        if pending.is_empty() {
            return Ok(0);
        }

        let mut acks = Vec::with_capacity(pending.len());
        for event in &pending {
            let span = tracing::info_span!(
                "publish",
                otel.name = %format!("publish {}", event.subject),
                otel.kind = "producer",
                messaging.system = "nats",
                messaging.operation.type = "publish",
                messaging.destination.name = %event.subject,
                messaging.message.id = %event.event_id,
            );
            borgerraad_platform::telemetry::set_parent_from(&span, &event.trace_context.0);
            let ack = async {
                // The consumer's span continues from this publish span.
                let trace_context = borgerraad_platform::telemetry::current_context_map();
                let event_id = event.event_id.to_string();
                self.jetstream
                    .publish_with_headers(
                        event.subject.clone(),
                        headers::for_event(&event_id, &event.subject, &trace_context),
                        event.payload.clone().into(),
                    )
                    .await
            }
            .instrument(span)
            .await?;
            acks.push(ack);
        }
        // Pipelined: all messages are on the wire before we wait for the first ack.
        for ack in acks {
            ack.await?;
        }

        let positions: Vec<i64> = pending.iter().map(|event| event.position).collect();
        sqlx::query("UPDATE outbox SET published_at = now() WHERE position = ANY($1)")
            .bind(&positions)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        tracing::debug!(count = positions.len(), "published outbox batch");
        Ok(positions.len())
    }
}
