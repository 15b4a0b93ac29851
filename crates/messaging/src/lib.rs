//! Borgerraad's events on NATS JetStream, written so that no event is lost or applied twice.
//!
//! - [`envelope`]: the CloudEvents-style [`Event`](borgerraad_proto::v1::Event) and its types.
//! - [`stream`]: connecting to NATS and declaring the one stream the domain's events live in.
//! - [`outbox`]: producers write an event in the same transaction as the state change it
//!   describes; a relay publishes it with the event id as JetStream dedupe id.
//! - [`consumer`]: a durable pull consumer per service that records applied event ids in the
//!   same transaction as its change, so a redelivery changes nothing.
//! - [`service`]: the process around a service: port, database, NATS, background tasks, stop.
//! - [`origin`]: which service owns which subjects; consumers set aside an event that did not
//!   come from the owner of its subject.
//! - [`headers`]: trace context and CloudEvents attributes in NATS message headers.
//!
//! Every service that uses the outbox or a consumer creates these tables in its own schema:
//! `outbox`, `applied_events` and `dead_letters` (see any service's first migration).

pub mod consumer;
pub mod envelope;
pub mod headers;
pub mod origin;
pub mod outbox;
pub mod service;
pub mod stream;

pub use consumer::{Consumer, ConsumerSpec, EventHandler, HandlerError};
pub use envelope::{EventType, new_event};
pub use origin::{Producer, check_origin};
pub use outbox::{Outbox, OutboxRelay, OutboxRow};
