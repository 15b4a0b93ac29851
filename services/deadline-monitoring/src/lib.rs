//! The deadline-monitoring service: keeps the promise of an answer within 15 working days.
//!
//! - [`domain`]: the answer deadline of an inquiry, computed with the `working-days` calendar.
//! - [`events`]: consumes `inquiry.received`, stores the deadline and publishes
//!   `deadline.scheduled` through the outbox, in one transaction.
//! - [`db`]: SQL on the `deadline_monitoring` schema.
//! - [`grpc`]: the `DeadlineMonitoringService` adapter.
//! - [`startup`]: settings and the [`startup::Application`].

pub mod db;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod startup;

pub use startup::{Application, Settings};
