//! The eligibility service: decides whether the citizens' advisor can take an inquiry, and if
//! not, where the person should go instead.
//!
//! - [`domain`]: the scope rules, pure functions over plain facts.
//! - [`rules`]: the configurable rule engine (YAML rule set, all eight scope rules, free-text
//!   signals); pure, and not yet wired into the service.
//! - [`events`]: consumes `inquiry.received`, stores the assessment and publishes
//!   `eligibility.assessed` through the outbox, in one transaction.
//! - [`db`]: SQL on the `eligibility` schema.
//! - [`grpc`]: the `EligibilityService` adapter.
//! - [`startup`]: settings and the [`startup::Application`].

pub mod db;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod rules;
pub mod startup;

pub use startup::{Application, Settings};
