//! The deadline-monitoring service: keeps the promise of an answer within 15 working days.
//!
//! - [`domain`]: pure rules: the SLA clock with its pauses and outcome, the warning and
//!   escalation chain, the notices' Danish texts.
//! - [`apply`]: the one path a deadline changes by: replay, compare, write row, timers and events;
//!   at start it replays every open deadline, so one counted by an earlier rule or calendar
//!   configuration follows the rule in force.
//! - [`events`]: consumes intake's `inquiry.>` events into that path.
//! - [`scheduler`]: fires due timers from Postgres, exactly once across replicas, in order.
//! - [`delivery`]: e-mail (SMTP) and webhook delivery of notices with retries and dead letters.
//! - [`reconcile`]: compares open deadlines with intake over gRPC and repairs drift.
//! - [`db`]: SQL on the `deadline_monitoring` schema.
//! - [`grpc`]: the `DeadlineMonitoringService` adapter.
//! - [`startup`]: settings and the [`startup::Application`].

pub mod apply;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod reconcile;
pub mod scheduler;
pub mod startup;

pub use startup::{Application, Settings};
