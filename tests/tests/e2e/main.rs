//! End-to-end tests: the four services together on a private NATS and a fresh database.

mod access;
mod api;
mod bus;
mod deadlines;
mod eligibility;
mod erasure;
mod flow;
mod lifecycle;
mod personal_data;
mod references;
mod resilience;
mod validation;
