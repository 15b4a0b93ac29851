//! Which roles may call which method: one table for all services, so the README's table, the
//! enforcement and the test that proves it cannot drift apart. A method missing from the table
//! is refused to everyone.

use super::principal::{Principal, Role};

use Role::{
    Caseworker, DeadlineMonitoringService, DepartmentSystem, EligibilityService, Operator,
    ReportReader, WebForm,
};

/// One gRPC method and the roles that may call it (any one of them suffices).
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    /// `package.Service/Method`, as in the request path.
    pub method: &'static str,
    pub roles: &'static [Role],
}

macro_rules! grants {
    ($($service:ident / $method:literal => [$($role:ident),+ $(,)?]),+ $(,)?) => {
        &[$(Grant {
            method: method_path!($service, $method),
            roles: &[$($role),+],
        }),+]
    };
}

macro_rules! method_path {
    (INTAKE, $method:literal) => {
        concat!("borgerraad.v1.IntakeService/", $method)
    };
    (ELIGIBILITY, $method:literal) => {
        concat!("borgerraad.v1.EligibilityService/", $method)
    };
    (DEADLINES, $method:literal) => {
        concat!("borgerraad.v1.DeadlineMonitoringService/", $method)
    };
    (REPORTING, $method:literal) => {
        concat!("borgerraad.v1.ReportingService/", $method)
    };
}

/// Every method of the four services. The service identities get only what their work needs:
/// eligibility reads the descriptions it assesses, deadline-monitoring the states it reconciles.
pub const GRANTS: &[Grant] = grants![
    INTAKE / "SubmitInquiry" => [WebForm, Caseworker],
    INTAKE / "GetInquiry" => [Caseworker, DepartmentSystem, EligibilityService, DeadlineMonitoringService],
    INTAKE / "ListInquiries" => [Caseworker, DepartmentSystem, DeadlineMonitoringService],
    INTAKE / "BatchGetInquiries" => [Caseworker, DepartmentSystem, EligibilityService],
    INTAKE / "AssignCaseworker" => [Caseworker],
    INTAKE / "StartWork" => [Caseworker],
    INTAKE / "RecordMediation" => [Caseworker],
    INTAKE / "RequestInformation" => [Caseworker],
    INTAKE / "ReceiveInformation" => [Caseworker],
    INTAKE / "RecordAnswer" => [Caseworker],
    INTAKE / "CloseInquiry" => [Caseworker],
    INTAKE / "WithdrawInquiry" => [Caseworker],
    INTAKE / "ReopenInquiry" => [Caseworker],
    INTAKE / "AddNote" => [Caseworker],
    INTAKE / "RecordImprovementSuggestion" => [Caseworker],
    INTAKE / "AmendInquiry" => [Caseworker],
    INTAKE / "ListAccessLog" => [Caseworker],
    INTAKE / "VerifyAuditLog" => [Operator],
    INTAKE / "ExportPersonData" => [Caseworker],
    INTAKE / "GetResealStatus" => [Operator],
    INTAKE / "ErasePersonData" => [Caseworker],
    ELIGIBILITY / "Evaluate" => [WebForm, Caseworker],
    ELIGIBILITY / "GetAssessment" => [Caseworker],
    ELIGIBILITY / "ListAssessments" => [Caseworker],
    ELIGIBILITY / "OverrideAssessment" => [Caseworker],
    ELIGIBILITY / "ListRules" => [Caseworker, Operator],
    DEADLINES / "GetDeadline" => [Caseworker],
    DEADLINES / "ListAtRisk" => [Caseworker],
    DEADLINES / "PreviewDeadline" => [WebForm, Caseworker, DepartmentSystem, ReportReader, Operator],
    DEADLINES / "ListNonWorkingDays" => [WebForm, Caseworker, DepartmentSystem, ReportReader, Operator],
    REPORTING / "GetSummary" => [ReportReader],
    REPORTING / "GetTrend" => [ReportReader],
    REPORTING / "ExportAnnualReport" => [ReportReader],
    REPORTING / "RebuildProjection" => [Operator],
    REPORTING / "GetRebuildStatus" => [Operator],
];

/// The services whose methods the table covers, for its completeness test and the README.
pub const SERVICES: [&str; 4] = [
    "borgerraad.v1.IntakeService",
    "borgerraad.v1.EligibilityService",
    "borgerraad.v1.DeadlineMonitoringService",
    "borgerraad.v1.ReportingService",
];

/// Health checks and reflection answer without a token: probes and grpcurl need them, and they
/// reveal nothing but the API's shape.
pub fn is_public(path: &str) -> bool {
    let path = path.trim_start_matches('/');
    path.starts_with("grpc.health.v1.Health/")
        || path.starts_with("grpc.reflection.v1.ServerReflection/")
        || path.starts_with("grpc.reflection.v1alpha.ServerReflection/")
}

/// The roles that may call `path` (`/package.Service/Method`), if the method is in the table.
pub fn roles_for(path: &str) -> Option<&'static [Role]> {
    let path = path.trim_start_matches('/');
    GRANTS
        .iter()
        .find(|grant| grant.method == path)
        .map(|grant| grant.roles)
}

/// Why a verified caller may not call a method.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} needs the role {needed}; the token has {held}")]
pub struct Refusal {
    pub method: String,
    /// The roles that would do, as "a", "a or b", "a, b or c".
    pub needed: String,
    pub held: String,
}

/// Whether `principal` may call `path`.
pub fn authorize(principal: &Principal, path: &str) -> Result<(), Refusal> {
    let roles = roles_for(path).unwrap_or(&[]);
    if principal.has_any(roles) {
        return Ok(());
    }
    let method = path.trim_start_matches('/');
    let method = method
        .strip_prefix("borgerraad.v1.")
        .unwrap_or(method)
        .to_owned();
    Err(Refusal {
        method,
        needed: if roles.is_empty() {
            "that no one holds (the method is not granted to any role)".into()
        } else {
            either(roles)
        },
        held: principal.role_names(),
    })
}

fn either(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The table as Markdown, one row per method and one column per role, for the README.
pub fn markdown_table() -> String {
    let mut table = String::from("| Service | RPC |");
    for role in Role::ALL {
        table.push_str(&format!(" `{role}` |"));
    }
    table.push_str("\n|---|---|");
    table.push_str(&"---|".repeat(Role::ALL.len()));
    table.push('\n');
    for grant in GRANTS {
        let (service, method) = grant.method.split_once('/').unwrap_or((grant.method, ""));
        let service = service.strip_prefix("borgerraad.v1.").unwrap_or(service);
        table.push_str(&format!("| {service} | `{method}` |"));
        for role in Role::ALL {
            table.push_str(if grant.roles.contains(&role) {
                " ✓ |"
            } else {
                "  |"
            });
        }
        table.push('\n');
    }
    table
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message as _;

    use super::*;

    fn principal(roles: &[Role]) -> Principal {
        Principal {
            subject: "s".into(),
            client: None,
            roles: roles.iter().copied().collect(),
            departments: BTreeSet::new(),
        }
    }

    /// Every method of every service is in the table, and nothing else is.
    #[test]
    fn the_table_covers_exactly_the_api() {
        let set =
            prost_types::FileDescriptorSet::decode(borgerraad_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut api = BTreeSet::new();
        for file in &set.file {
            for service in &file.service {
                let name = format!("{}.{}", file.package(), service.name());
                assert!(SERVICES.contains(&name.as_str()), "service {name}");
                for method in &service.method {
                    api.insert(format!("{name}/{}", method.name()));
                }
            }
        }
        let table: BTreeSet<String> = GRANTS.iter().map(|g| g.method.to_owned()).collect();
        assert_eq!(table.len(), GRANTS.len(), "a method is listed twice");
        assert_eq!(table, api);
    }

    #[test]
    fn a_web_form_submits_but_never_reads_back() {
        let form = principal(&[Role::WebForm]);
        assert!(authorize(&form, "/borgerraad.v1.IntakeService/SubmitInquiry").is_ok());
        assert!(authorize(&form, "/borgerraad.v1.EligibilityService/Evaluate").is_ok());
        for read in [
            "GetInquiry",
            "ListInquiries",
            "BatchGetInquiries",
            "ListAccessLog",
        ] {
            let refusal =
                authorize(&form, &format!("/borgerraad.v1.IntakeService/{read}")).unwrap_err();
            assert_eq!(refusal.held, "web-form");
        }
    }

    #[test]
    fn a_refusal_names_the_missing_role() {
        let refusal = authorize(
            &principal(&[Role::Caseworker]),
            "/borgerraad.v1.ReportingService/RebuildProjection",
        )
        .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "ReportingService/RebuildProjection needs the role operator; the token has caseworker"
        );
        let refusal = authorize(
            &principal(&[]),
            "/borgerraad.v1.IntakeService/SubmitInquiry",
        )
        .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "IntakeService/SubmitInquiry needs the role web-form or caseworker; the token has none"
        );
    }

    #[test]
    fn an_unknown_method_is_granted_to_no_one() {
        let everyone = principal(&Role::ALL);
        assert!(authorize(&everyone, "/borgerraad.v1.IntakeService/DropTables").is_err());
    }

    #[test]
    fn health_and_reflection_are_public_and_nothing_else() {
        assert!(is_public("/grpc.health.v1.Health/Check"));
        assert!(is_public(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!is_public("/borgerraad.v1.IntakeService/GetInquiry"));
        assert!(!is_public("/grpc.health.v1.HealthX/Check"));
    }

    /// The README's table of role × RPC is this table.
    #[test]
    fn the_readme_shows_the_table_in_force() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .expect("README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's access table differs from the policy; it should read:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn the_markdown_table_has_a_row_per_method() {
        let table = markdown_table();
        assert_eq!(table.lines().count(), GRANTS.len() + 2);
        assert!(table.contains("| IntakeService | `SubmitInquiry` | ✓ | ✓ |"));
    }
}
