//! The pure parts of the `borgerraad` and `loadgen` command lines, shared by both binaries:
//!
//! - [`Addresses`]: where the four services are, from `PORT_BASE` as `scripts/run-local.sh`
//!   places them (`https://`, or `http://` for a client that only speaks plain text), unless an
//!   address is given explicitly.
//! - [`InquiryKey`]: what people type for an inquiry, its id or its reference.
//! - [`report_format`]: the annual report's format, from `--format` or the file name.
//! - [`token`]: access tokens for the role a command acts as.
//! - [`stream_backup`]: the event stream saved to a file of its messages and published back.

pub mod stream_backup;
pub mod token;

use std::path::Path;

use anyhow::bail;

/// The default `PORT_BASE`: intake on 50051 … reporting on 50054.
pub const DEFAULT_PORT_BASE: u16 = 50050;

/// The services in port order: intake is `PORT_BASE + 1`, reporting `PORT_BASE + 4`.
pub const SERVICES: [&str; 4] = ["intake", "eligibility", "deadline-monitoring", "reporting"];

/// The gRPC address of each service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    pub intake: String,
    pub eligibility: String,
    pub deadline_monitoring: String,
    pub reporting: String,
}

/// Addresses given explicitly (flag or environment variable), in [`SERVICES`] order.
#[derive(Debug, Clone, Default)]
pub struct Explicit {
    pub intake: Option<String>,
    pub eligibility: Option<String>,
    pub deadline_monitoring: Option<String>,
    pub reporting: Option<String>,
}

impl Addresses {
    /// Each service at its explicit address, or else at `scheme`://127.0.0.1 on `port_base`
    /// + 1 … + 4.
    pub fn resolve(port_base: u16, scheme: &str, explicit: Explicit) -> anyhow::Result<Self> {
        let default = |offset: u16| -> anyhow::Result<String> {
            match port_base.checked_add(offset) {
                Some(port) => Ok(format!("{scheme}://127.0.0.1:{port}")),
                None => bail!(
                    "PORT_BASE {port_base} is too large: at most {}",
                    u16::MAX - 4
                ),
            }
        };
        let pick = |given: Option<String>, offset| match given {
            Some(url) if !url.trim().is_empty() => Ok(url.trim().to_owned()),
            _ => default(offset),
        };
        Ok(Self {
            intake: pick(explicit.intake, 1)?,
            eligibility: pick(explicit.eligibility, 2)?,
            deadline_monitoring: pick(explicit.deadline_monitoring, 3)?,
            reporting: pick(explicit.reporting, 4)?,
        })
    }
}

/// An inquiry as a person names it: by id (a UUID) or by reference (`BR-2026-000123`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InquiryKey {
    Id(String),
    /// Upper-cased, so `br-2026-000123` finds `BR-2026-000123`; intake checks the shape.
    Reference(String),
}

impl InquiryKey {
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match uuid::Uuid::parse_str(text) {
            Ok(id) => Self::Id(id.to_string()),
            Err(_) => Self::Reference(text.to_uppercase()),
        }
    }
}

/// The annual report's format: `--format` when given, else the extension of `out` (`.csv`,
/// `.html`, `.htm`). A `--format` that contradicts a known extension is refused rather than
/// writing, say, HTML into `report.csv`.
pub fn report_format(format: Option<&str>, out: &Path) -> anyhow::Result<&'static str> {
    let extension = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let from_extension = match extension.as_deref() {
        Some("csv") => Some("csv"),
        Some("html" | "htm") => Some("html"),
        _ => None,
    };
    let given = match format {
        Some("csv") => Some("csv"),
        Some("html") => Some("html"),
        Some(other) => bail!("--format must be csv or html, not `{other}`"),
        None => None,
    };
    match (given, from_extension) {
        (Some(given), Some(named)) if given != named => bail!(
            "--format {given} does not match the file name {}, which says {named}: \
             name the file .{given} or leave out --format",
            out.display()
        ),
        (Some(format), _) | (None, Some(format)) => Ok(format),
        (None, None) => bail!(
            "cannot tell the report format from the file name {}: \
             name it .csv, .html or .htm, or give --format csv or --format html",
            out.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_port_base_gives_the_documented_ports() {
        let addresses =
            Addresses::resolve(DEFAULT_PORT_BASE, "https", Explicit::default()).unwrap();
        assert_eq!(addresses.intake, "https://127.0.0.1:50051");
        assert_eq!(addresses.eligibility, "https://127.0.0.1:50052");
        assert_eq!(addresses.deadline_monitoring, "https://127.0.0.1:50053");
        assert_eq!(addresses.reporting, "https://127.0.0.1:50054");
        let plain = Addresses::resolve(DEFAULT_PORT_BASE, "http", Explicit::default()).unwrap();
        assert_eq!(plain.intake, "http://127.0.0.1:50051");
    }

    #[test]
    fn port_base_moves_every_service_the_way_run_local_does() {
        let addresses = Addresses::resolve(50150, "http", Explicit::default()).unwrap();
        assert_eq!(
            [
                addresses.intake,
                addresses.eligibility,
                addresses.deadline_monitoring,
                addresses.reporting
            ],
            [
                "http://127.0.0.1:50151",
                "http://127.0.0.1:50152",
                "http://127.0.0.1:50153",
                "http://127.0.0.1:50154"
            ]
        );
    }

    #[test]
    fn an_explicit_address_wins_over_port_base_for_its_service_only() {
        let addresses = Addresses::resolve(
            50150,
            "http",
            Explicit {
                eligibility: Some("http://rules.internal:7000".into()),
                reporting: Some("  ".into()),
                ..Explicit::default()
            },
        )
        .unwrap();
        assert_eq!(addresses.intake, "http://127.0.0.1:50151");
        assert_eq!(addresses.eligibility, "http://rules.internal:7000");
        assert_eq!(addresses.reporting, "http://127.0.0.1:50154");
    }

    #[test]
    fn a_port_base_without_room_for_four_ports_is_refused() {
        let error = Addresses::resolve(65533, "https", Explicit::default()).unwrap_err();
        assert!(error.to_string().contains("at most 65531"), "{error}");
    }

    #[test]
    fn an_inquiry_is_named_by_uuid_or_by_reference() {
        let id = "0196e7c2-5a4b-7000-8000-00000000002a";
        assert_eq!(InquiryKey::parse(id), InquiryKey::Id(id.into()));
        assert_eq!(
            InquiryKey::parse(" br-2026-000003 "),
            InquiryKey::Reference("BR-2026-000003".into())
        );
        assert_eq!(
            InquiryKey::parse("nonsense"),
            InquiryKey::Reference("NONSENSE".into())
        );
    }

    #[test]
    fn the_report_format_follows_the_file_name() {
        let format = |out: &str| report_format(None, Path::new(out)).unwrap();
        assert_eq!(format("report.csv"), "csv");
        assert_eq!(format("AARSBERETNING.CSV"), "csv");
        assert_eq!(format("aarsberetning.html"), "html");
        assert_eq!(format("out/aarsberetning.htm"), "html");
    }

    #[test]
    fn an_explicit_format_agreeing_with_the_file_name_or_where_it_says_nothing_is_taken() {
        assert_eq!(
            report_format(Some("csv"), Path::new("report.csv")).unwrap(),
            "csv"
        );
        assert_eq!(
            report_format(Some("html"), Path::new("report")).unwrap(),
            "html"
        );
        assert_eq!(
            report_format(Some("csv"), Path::new("report.txt")).unwrap(),
            "csv"
        );
    }

    #[test]
    fn a_format_contradicting_the_file_name_is_refused() {
        let error = report_format(Some("html"), Path::new("report.csv")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--format html does not match the file name report.csv, which says csv: \
             name the file .html or leave out --format"
        );
    }

    #[test]
    fn a_file_name_that_names_no_format_needs_format() {
        for out in ["report.pdf", "report"] {
            let error = report_format(None, Path::new(out)).unwrap_err();
            assert!(
                error.to_string().starts_with(&format!(
                    "cannot tell the report format from the file name {out}:"
                )),
                "{error}"
            );
        }
    }
}
