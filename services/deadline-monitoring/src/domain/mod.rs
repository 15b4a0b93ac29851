//! The deadline's rules as pure functions over plain types; time is always a parameter.
//!
//! - [`sla`]: the SLA clock: receipt (counting starts after its Copenhagen date), pauses while
//!   the office awaits the requester, stop, reopening, and the outcome (met or breached, by how
//!   many working days).
//! - [`plan`]: the warning and escalation chain laid out as timers.
//! - [`firing`]: whether due timers may fire now, and which missed warnings are skipped.
//! - [`notice`]: the Danish texts of the notices and when a notice may be delivered.

pub mod firing;
pub mod notice;
pub mod plan;
pub mod sla;

pub use firing::{Backlog, Release, release, superseded};
pub use notice::{NoticeText, earliest_delivery, render};
pub use plan::{Escalation, NoticeKind, NoticePolicy, PlannedNotice, Recipient, lay_out};
pub use sla::{
    InquiryStatus, Outcome, Pause, SlaResult, SlaState, Step, StepKind, StopReason, replay,
    standing, step_kind,
};

/// The office's promise: an answer within 15 working days.
pub const DEFAULT_WORKING_DAYS: u32 = 15;
