//! The reporting service: figures per department for the office and the municipality's
//! dashboards, built only from the events on NATS into its own tables, without personal data.
//!
//! - [`projection`]: applies each event to one row of facts per inquiry; commutative per column,
//!   so events may arrive in any order.
//! - [`db`]: SQL on the `reporting` schema, including the summary queries.
//! - [`grpc`]: the `ReportingService` adapter.
//! - [`startup`]: settings and the [`startup::Application`].

pub mod db;
pub mod grpc;
pub mod projection;
pub mod startup;

pub use startup::{Application, Settings};
