//! The eligibility rule engine: pure, configurable scope rules over the form's answers.
//!
//! The pieces:
//!
//! - [`facts`]: [`Facts`], the inquiry as the rules see it, in plain Rust types;
//! - [`config`]: [`RuleSet`], the texts, signal words, names, addresses, thresholds and version
//!   from `rules/borgerraad-rules.yaml`, validated as a whole;
//! - [`signals`]: case-insensitive, whole-word matching of signal words and phrases;
//! - [`engine`]: [`assess`], and the precedence that turns fired rules into an outcome.
//!
//! ```
//! use chrono::NaiveDate;
//! use eligibility::rules::{assess, Facts, RuleSet};
//!
//! let rules = RuleSet::default_rules()?;
//! let facts = Facts { department: "by-og-kultur".into(), ..Facts::default() };
//! let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
//! let assessment = assess(&rules, &facts, today, &working_days::Calendar::danish_default());
//! assert_eq!(assessment.referral_target.as_deref(), Some("by-og-kultur"));
//! # Ok::<(), eligibility::rules::RuleSetError>(())
//! ```

pub mod config;
pub mod engine;
pub mod facts;
pub mod signals;

pub use config::{RuleId, RuleSet, RuleSetError};
pub use engine::{Assessment, Category, SignalHit, SignalKind, assess};
pub use facts::{ComplaintTheme, Facts, OtherAuthority, OtherBody, RequestType};

#[cfg(test)]
mod cases;
#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod properties;
