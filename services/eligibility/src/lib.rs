//! The eligibility service: decides whether the citizens' advisor can take an inquiry, and if
//! not, where the person should go instead, in words the person understands.
//!
//! - [`rules`]: the rule engine, pure: a validated, versioned YAML rule set, the eight scope
//!   rules, free-text signals, and the precedence that makes an outcome.
//! - [`domain`]: outcomes, an assessment as stored with a caseworker's override, and the pure
//!   decisions of re-assessment and overriding.
//! - [`convert`]: protobuf to rule facts and back.
//! - [`events`]: consumes `inquiry.received` and `inquiry.amended`, reads the description from
//!   intake over gRPC, stores the assessment and publishes `eligibility.assessed` through the
//!   outbox, in one transaction.
//! - [`db`]: SQL on the `eligibility` schema.
//! - [`grpc`]: the `EligibilityService` adapter.
//! - [`startup`]: settings (rule file, intake address) and the [`startup::Application`].

pub mod convert;
pub mod db;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod rules;
pub mod startup;

pub use startup::{Application, Settings};
