//! End-to-end tests: the four services together on a private NATS and a fresh database.

mod deadlines;
mod eligibility;
mod flow;
mod lifecycle;
mod references;
mod resilience;
mod validation;
