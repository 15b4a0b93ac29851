//! `stream-backup` and `stream-restore`: the event stream as a file of its messages.
//!
//! The backup reads every message of the stream by sequence (`$JS.API.STREAM.MSG.GET`), as it
//! is at the start, and writes one JSON line per message: sequence, subject, time, headers (with
//! `Nats-Msg-Id`, the event id) and payload. The restore republishes them in the same order into
//! a stream declared as the services declare it, awaiting every PubAck. A file of messages
//! rather than a server snapshot: it does not depend on the server's storage format or version,
//! and the consumers' positions need no saving, since each service's consumer starts again from
//! the first message and skips every event its restored `applied_events` already holds.

use std::io::{BufRead as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use async_nats::jetstream;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The file in the backup folder.
pub const FILE_NAME: &str = "stream.jsonl";

/// PubAcks awaited together: the server stores one connection's publishes in order, so waiting
/// for a batch at once keeps the order and saves a round trip per message.
const ACK_BATCH: usize = 256;

/// One message of the stream as the backup file holds it.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedMessage {
    pub sequence: u64,
    pub subject: String,
    /// When the server stored it, nanoseconds since 1970 (a restore stores it anew).
    pub time_unix_nanos: i128,
    pub headers: Vec<(String, String)>,
    /// Base64 (standard).
    pub payload: String,
}

/// What a backup or a restore did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub messages: u64,
    pub first_sequence: u64,
    pub last_sequence: u64,
}

/// Writes every message of stream `name` to `dir/stream.jsonl` (through a temporary file, so a
/// failed backup leaves no half file under the real name).
pub async fn backup(context: &jetstream::Context, name: &str, dir: &Path) -> anyhow::Result<Count> {
    let mut stream = context
        .get_stream(name)
        .await
        .with_context(|| format!("cannot find the stream {name}"))?;
    let state = stream
        .info()
        .await
        .context("cannot read the stream's state")?
        .state
        .clone();
    let partial = dir.join(format!("{FILE_NAME}.partial"));
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut count = Count {
        messages: 0,
        first_sequence: state.first_sequence,
        last_sequence: state.last_sequence,
    };
    if state.messages > 0 {
        for sequence in state.first_sequence..=state.last_sequence {
            let message = match stream.get_raw_message(sequence).await {
                Ok(message) => message,
                // A gap: the message was deleted.
                Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => continue,
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot read message {sequence}"));
                }
            };
            let saved = SavedMessage {
                sequence: message.sequence,
                subject: message.subject.to_string(),
                time_unix_nanos: message.time.unix_timestamp_nanos(),
                headers: message
                    .headers
                    .iter()
                    .flat_map(|(name, values)| {
                        values
                            .iter()
                            .map(move |value| (name.to_string(), value.as_str().to_owned()))
                    })
                    .collect(),
                payload: base64::engine::general_purpose::STANDARD.encode(&message.payload),
            };
            serde_json::to_writer(&mut out, &saved).context("cannot write the backup")?;
            out.write_all(b"\n").context("cannot write the backup")?;
            count.messages += 1;
        }
    }
    let file = out
        .into_inner()
        .map_err(|error| error.into_error())
        .context("cannot write the backup")?;
    file.sync_all().context("cannot write the backup")?;
    let done = dir.join(FILE_NAME);
    std::fs::rename(&partial, &done)
        .with_context(|| format!("cannot move the backup to {}", done.display()))?;
    Ok(count)
}

/// Republishes `dir/stream.jsonl` in order into the stream `stream` (declared by `declare` when
/// missing); refuses a stream that already holds messages, so nothing is mixed or doubled.
pub async fn restore(
    context: &jetstream::Context,
    stream: &mut jetstream::stream::Stream,
    dir: &Path,
) -> anyhow::Result<Count> {
    let state = stream
        .info()
        .await
        .context("cannot read the stream's state")?
        .state
        .clone();
    if state.messages > 0 {
        bail!(
            "the stream already holds {} messages: restore into an empty stream (delete it first, \
             with the services stopped)",
            state.messages
        );
    }
    let path = dir.join(FILE_NAME);
    let file =
        std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut count = Count {
        messages: 0,
        first_sequence: 0,
        last_sequence: 0,
    };
    let mut pending = Vec::with_capacity(ACK_BATCH);
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let saved: SavedMessage = serde_json::from_str(&line).with_context(|| {
            format!("line {} of {} is not a message", number + 1, path.display())
        })?;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(saved.payload.as_bytes())
            .with_context(|| format!("line {} has no valid payload", number + 1))?;
        let mut headers = async_nats::HeaderMap::new();
        for (name, value) in &saved.headers {
            // Expectations held for the first publish (last sequence and the like), not now.
            if name.starts_with("Nats-Expected") {
                continue;
            }
            headers.append(name.as_str(), value.as_str());
        }
        let ack = context
            .publish_with_headers(saved.subject, headers, payload.into())
            .await
            .with_context(|| format!("cannot publish message {}", saved.sequence))?;
        pending.push(ack);
        if pending.len() >= ACK_BATCH {
            await_acks(&mut pending, &mut count).await?;
        }
    }
    await_acks(&mut pending, &mut count).await?;
    Ok(count)
}

async fn await_acks(
    pending: &mut Vec<jetstream::context::PublishAckFuture>,
    count: &mut Count,
) -> anyhow::Result<()> {
    for ack in pending.drain(..) {
        let ack = ack
            .await
            .context("the stream did not acknowledge a message")?;
        if ack.duplicate {
            continue;
        }
        if count.messages == 0 {
            count.first_sequence = ack.sequence;
        }
        count.last_sequence = ack.sequence;
        count.messages += 1;
    }
    Ok(())
}
