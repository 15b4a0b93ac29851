//! The municipality's departments (forvaltninger): the codes that requests, events and figures
//! carry, and the Danish names people read in reports and on the command line.
//!
//! One setting, `DEPARTMENTS`, configures every service the same way:
//! `code=Danish name,code=Danish name,…`. A code alone is allowed for Odense's own departments,
//! whose names are built in. Unset, the list is Odense Kommune's five departments.

use std::sync::Arc;

use anyhow::{Context as _, bail};

/// Odense Kommune's departments: code and Danish name.
pub const ODENSE: &[(&str, &str)] = &[
    ("borgmesterforvaltningen", "Borgmesterforvaltningen"),
    ("boern-og-unge", "Børn- og Ungeforvaltningen"),
    (
        "beskaeftigelse-og-social",
        "Beskæftigelses- og Socialforvaltningen",
    ),
    ("aeldre-og-handicap", "Ældre- og Handicapforvaltningen"),
    ("by-og-kultur", "By- og Kulturforvaltningen"),
];

/// The longest department code; codes travel in every event.
const MAX_CODE_CHARS: usize = 64;

/// Whether `code` has the form of a department code (1 to 64 lower-case letters, digits or
/// hyphens), configured or not.
pub fn is_well_formed_code(code: &str) -> bool {
    !code.is_empty()
        && code.chars().count() <= MAX_CODE_CHARS
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// Lower-case letters, digits and hyphens, e.g. "by-og-kultur".
    pub code: String,
    /// The name the city council reads, e.g. "By- og Kulturforvaltningen".
    pub name_da: String,
}

/// The configured departments, in configuration order. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departments(Arc<[Department]>);

impl Default for Departments {
    fn default() -> Self {
        Self::odense()
    }
}

impl Departments {
    /// Odense Kommune's five departments.
    pub fn odense() -> Self {
        Self(
            ODENSE
                .iter()
                .map(|(code, name)| Department {
                    code: (*code).to_owned(),
                    name_da: (*name).to_owned(),
                })
                .collect(),
        )
    }

    /// Reads `DEPARTMENTS`, or Odense's departments when it is unset.
    pub fn from_env() -> anyhow::Result<Self> {
        match crate::settings::var("DEPARTMENTS") {
            None => Ok(Self::odense()),
            Some(value) => Self::parse(&value).context(
                "DEPARTMENTS must list departments as code=Danish name, separated by commas, \
                 e.g. by-og-kultur=By- og Kulturforvaltningen",
            ),
        }
    }

    /// Parses `code=Danish name,…`; a bare code takes its built-in name if it is one of Odense's.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        let mut departments: Vec<Department> = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (code, name) = match entry.split_once('=') {
                Some((code, name)) => (code.trim(), name.trim().to_owned()),
                None => {
                    let code = entry;
                    let name = ODENSE
                        .iter()
                        .find(|(known, _)| *known == code)
                        .map(|(_, name)| (*name).to_owned())
                        .with_context(|| {
                            format!("department {code:?} needs a name: {code}=<Danish name>")
                        })?;
                    (code, name)
                }
            };
            if !is_well_formed_code(code) {
                bail!(
                    "department code {code:?} must be 1 to {MAX_CODE_CHARS} lower-case letters, \
                     digits or hyphens"
                );
            }
            if name.is_empty() || name.chars().any(char::is_control) {
                bail!("department {code:?} needs a readable name");
            }
            if departments.iter().any(|d| d.code == code) {
                bail!("department {code:?} is listed twice");
            }
            departments.push(Department {
                code: code.to_owned(),
                name_da: name,
            });
        }
        if departments.is_empty() {
            bail!("no department is listed");
        }
        Ok(Self(departments.into()))
    }

    pub fn contains(&self, code: &str) -> bool {
        self.get(code).is_some()
    }

    pub fn get(&self, code: &str) -> Option<&Department> {
        self.0.iter().find(|d| d.code == code)
    }

    /// The Danish name of `code`, or the code itself for one no longer configured (figures from
    /// earlier years may name a department that has since been merged away).
    pub fn name_da<'a>(&'a self, code: &'a str) -> &'a str {
        self.get(code).map_or(code, |d| d.name_da.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Department> {
        self.0.iter()
    }

    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|d| d.code.as_str())
    }

    /// "a, b, c": for error messages that tell the caller what is allowed.
    pub fn codes_joined(&self) -> String {
        self.codes().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_the_departments_are_odenses_five_with_their_danish_names() {
        let departments = Departments::default();
        assert_eq!(departments.codes().count(), 5);
        assert_eq!(
            departments.name_da("by-og-kultur"),
            "By- og Kulturforvaltningen"
        );
        assert!(departments.contains("boern-og-unge"));
        assert!(!departments.contains("Boern-og-unge"));
    }

    #[test]
    fn a_list_gives_codes_with_names_and_odenses_codes_may_stand_alone() {
        let departments =
            Departments::parse("by-og-kultur, miljoe=Miljø- og Teknikforvaltningen").expect("ok");
        assert_eq!(departments.codes_joined(), "by-og-kultur, miljoe");
        assert_eq!(
            departments.name_da("miljoe"),
            "Miljø- og Teknikforvaltningen"
        );
        assert_eq!(
            departments.name_da("by-og-kultur"),
            "By- og Kulturforvaltningen"
        );
        assert_eq!(
            departments.name_da("gone"),
            "gone",
            "an old code stays readable"
        );
    }

    #[test]
    fn unnamed_unknown_duplicate_or_malformed_departments_are_refused() {
        for (value, says) in [
            ("miljoe", "needs a name"),
            ("by-og-kultur,by-og-kultur", "listed twice"),
            ("By Og Kultur=x", "lower-case"),
            ("miljoe=", "readable name"),
            (" , ", "no department"),
        ] {
            let error = Departments::parse(value).expect_err(value).to_string();
            assert!(error.contains(says), "{value:?}: {error}");
        }
    }
}
