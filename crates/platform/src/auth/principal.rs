//! The caller a verified token names: its subject, client, roles and departments.

use std::collections::BTreeSet;
use std::fmt;

/// What a caller may do. The names are the values the identity provider puts in the roles claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A web form or another intake channel: submits and pre-checks, never reads back.
    WebForm,
    /// The advisor's staff: reads inquiries and takes their lifecycle steps.
    Caseworker,
    /// A department's case system: reads its own department's inquiries, CPR masked.
    DepartmentSystem,
    /// Reporting's figures and exports only.
    ReportReader,
    /// Runs the system: rebuilds, verification, configuration-level steps.
    Operator,
    /// The eligibility service's own identity: reads the descriptions it assesses.
    EligibilityService,
    /// The deadline-monitoring service's own identity: reads the states it reconciles.
    DeadlineMonitoringService,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::WebForm,
        Role::Caseworker,
        Role::DepartmentSystem,
        Role::ReportReader,
        Role::Operator,
        Role::EligibilityService,
        Role::DeadlineMonitoringService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::WebForm => "web-form",
            Role::Caseworker => "caseworker",
            Role::DepartmentSystem => "department-system",
            Role::ReportReader => "report-reader",
            Role::Operator => "operator",
            Role::EligibilityService => "eligibility",
            Role::DeadlineMonitoringService => "deadline-monitoring",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verified caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who acts: the token's `sub` (a person, or a client for its own account).
    pub subject: String,
    /// The OAuth client the token was issued to (`client_id` or `azp`), when it says.
    pub client: Option<String>,
    pub roles: BTreeSet<Role>,
    /// The departments a department system acts for (codes as in the configuration).
    pub departments: BTreeSet<String>,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has(*role))
    }

    /// True when the caller sees only its own departments' inquiries: a department system that
    /// holds no role that reads across departments.
    pub fn department_scoped(&self) -> bool {
        self.has(Role::DepartmentSystem)
            && !self.has_any(&[
                Role::Caseworker,
                Role::EligibilityService,
                Role::DeadlineMonitoringService,
            ])
    }

    /// Whether a department-scoped caller may see an inquiry of `department`.
    pub fn may_see_department(&self, department: &str) -> bool {
        !self.department_scoped() || self.departments.contains(department)
    }

    /// The roles, comma-separated, for messages and the audit trail.
    pub fn role_names(&self) -> String {
        if self.roles.is_empty() {
            return "none".into();
        }
        self.roles
            .iter()
            .map(|role| role.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A principal from a token's claims: `roles_claim` and `departments_claim` are dotted
    /// paths into the claims (e.g. `realm_access.roles` for Keycloak), holding an array of
    /// strings or one space-separated string. Role names this system does not know are ignored.
    pub fn from_claims(
        claims: &serde_json::Value,
        roles_claim: &str,
        departments_claim: &str,
    ) -> Option<Principal> {
        let subject = claims.get("sub")?.as_str()?.trim();
        if subject.is_empty() {
            return None;
        }
        let client = ["client_id", "azp"]
            .into_iter()
            .find_map(|name| claims.get(name).and_then(|value| value.as_str()))
            .map(str::to_owned);
        Some(Principal {
            subject: subject.to_owned(),
            client,
            roles: strings_at(claims, roles_claim)
                .iter()
                .filter_map(|name| Role::parse(name))
                .collect(),
            departments: strings_at(claims, departments_claim).into_iter().collect(),
        })
    }
}

/// The strings at a dotted path of a JSON document: an array's strings, or a string's words.
fn strings_at(document: &serde_json::Value, path: &str) -> Vec<String> {
    let value = path
        .split('.')
        .filter(|part| !part.is_empty())
        .try_fold(document, |value, part| value.get(part));
    match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str())
            .map(str::to_owned)
            .collect(),
        Some(serde_json::Value::String(words)) => {
            words.split_whitespace().map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn reads_roles_and_departments_from_configured_claims() {
        let claims = json!({
            "sub": "0b5e", "azp": "sagssystem",
            "realm_access": {"roles": ["department-system", "offline_access"]},
            "org": {"departments": "by-og-kultur social-og-arbejdsmarked"},
        });
        let principal =
            Principal::from_claims(&claims, "realm_access.roles", "org.departments").unwrap();
        assert_eq!(principal.subject, "0b5e");
        assert_eq!(principal.client.as_deref(), Some("sagssystem"));
        assert_eq!(principal.roles, BTreeSet::from([Role::DepartmentSystem]));
        assert!(principal.department_scoped());
        assert!(principal.may_see_department("social-og-arbejdsmarked"));
        assert!(!principal.may_see_department("aeldre-og-handicap"));
    }

    #[test]
    fn a_token_without_subject_names_nobody() {
        assert_eq!(
            Principal::from_claims(&json!({"roles": ["caseworker"]}), "roles", "departments"),
            None
        );
        assert_eq!(
            Principal::from_claims(&json!({"sub": " "}), "roles", "departments"),
            None
        );
    }

    #[test]
    fn a_caseworker_who_is_also_a_department_system_reads_across_departments() {
        let claims = json!({"sub": "k", "roles": ["caseworker", "department-system"]});
        let principal = Principal::from_claims(&claims, "roles", "departments").unwrap();
        assert!(!principal.department_scoped());
        assert!(principal.may_see_department("by-og-kultur"));
    }
}
