//! The intake service: the front door of the citizens' advisor and the keeper of the case record.
//!
//! - [`audit`]: the hash-chained access log of personal data, written before any response that
//!   carries it.
//! - [`domain`]: the inquiry and its validation rules, pure and tested without I/O.
//! - [`db`]: SQL on the `intake` schema; an inquiry and its `inquiry.received` event are written
//!   in one transaction (outbox).
//! - [`cases`]: taking a lifecycle step (version check, transition, journal, event) in one
//!   transaction, for the gRPC calls and the consumer of assessments alike.
//! - [`erasure`]: erasing an inquiry's personal data, by the retention rule (a periodic job) or
//!   at the person's request, keeping what the statistics need.
//! - [`events`]: the events intake publishes, its consumer of `eligibility.assessed` and its
//!   consumer of deadline-monitoring's events, which records the deadline in force.
//! - [`grpc`]: the `IntakeService` adapter, proto ⇄ domain.
//! - [`upgrade`]: the job at start that seals rows written before personal data was sealed.
//! - [`reseal`]: the job after it that moves values sealed with older keys to the current one,
//!   so an older key can be retired.
//! - [`startup`]: settings and the [`startup::Application`] that wires it all and runs it.
//!
//! Personal data (names, CPR numbers, the description and every other free text) lives only in
//! this service's tables, sealed (`domain::personal`); answers show CPR numbers masked unless a
//! caller reveals them with a purpose, which is recorded; events carry ids and categories.

pub mod audit;
pub mod cases;
pub mod db;
pub mod domain;
pub mod erasure;
pub mod error;
pub mod events;
pub mod grpc;
pub mod reseal;
pub mod startup;
pub mod upgrade;

pub use startup::{Application, Settings};
