//! The reporting service: figures per department for the office's annual report and the
//! municipality's dashboards, built only from the events on NATS into its own tables, without
//! personal data.
//!
//! - [`domain`]: the pure report logic: per-inquiry state merged in any order, counters,
//!   figures, percentiles, trend, CSV and HTML.
//! - [`projection`]: events to facts, and facts applied to the tables (state rows and counter
//!   deltas in one transaction).
//! - [`rebuild`]: replaying the stream into fresh tables and swapping them in.
//! - [`db`]: SQL on the `reporting` schema.
//! - [`grpc`]: the `ReportingService` adapter.
//! - [`startup`]: settings and the [`startup::Application`].

pub mod db;
pub mod domain;
pub mod grpc;
pub mod projection;
pub mod rebuild;
pub mod startup;

pub use startup::{Application, Settings};
