//! `borgerraad`: a small client for operators and for the README's example call.
//!
//! `health` probes a service (the container health checks use it), `submit` registers an
//! inquiry, `show` prints an inquiry with its assessment and deadline, `summary` prints the
//! reporting figures, `example` submits a sample inquiry and waits until every service has
//! handled it, `annual-report` writes the year's report, and `rebuild-reporting` rebuilds the
//! figures from the stream.
//!
//! The services are found from `PORT_BASE` (intake on PORT_BASE + 1 … reporting on + 4, as
//! `scripts/run-local.sh` starts them) unless `INTAKE_URL`, `ELIGIBILITY_URL`,
//! `DEADLINE_MONITORING_URL`, `REPORTING_URL` or the matching flags say otherwise. Wherever an
//! inquiry is asked for, its reference (`BR-2026-000123`) or its id will do.
//!
//! The services are called over TLS (`https://`), trusting the CA in `GRPC_TLS_CA_FILE` and
//! presenting `GRPC_TLS_CLIENT_CERT_FILE`/`GRPC_TLS_CLIENT_KEY_FILE` where client certificates
//! are required; plain text (`http://`, the default addresses then) only with
//! `GRPC_PLAINTEXT=true`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use borgerraad_cli::{Addresses, DEFAULT_PORT_BASE, Explicit, InquiryKey, report_format};
use borgerraad_platform::tls::{ClientTls, client_endpoint};
use borgerraad_proto::v1::{self as pb};
use clap::{Parser, Subcommand};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

#[derive(Parser)]
#[command(name = "borgerraad", about = "Client for the Borgerraad services")]
struct Cli {
    /// The services listen on PORT_BASE + 1 (intake), + 2 (eligibility), + 3
    /// (deadline-monitoring) and + 4 (reporting) on 127.0.0.1, as scripts/run-local.sh starts
    /// them; an address given below wins for its service.
    #[arg(long, env = "PORT_BASE", default_value_t = DEFAULT_PORT_BASE, global = true)]
    port_base: u16,
    /// Intake's address [default: https://127.0.0.1:<PORT_BASE + 1>]
    #[arg(long, env = "INTAKE_URL", global = true)]
    intake: Option<String>,
    /// Eligibility's address [default: https://127.0.0.1:<PORT_BASE + 2>]
    #[arg(long, env = "ELIGIBILITY_URL", global = true)]
    eligibility: Option<String>,
    /// Deadline-monitoring's address [default: https://127.0.0.1:<PORT_BASE + 3>]
    #[arg(long, env = "DEADLINE_MONITORING_URL", global = true)]
    deadlines: Option<String>,
    /// Reporting's address [default: https://127.0.0.1:<PORT_BASE + 4>]
    #[arg(long, env = "REPORTING_URL", global = true)]
    reporting: Option<String>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    fn addresses(&self, tls: &ClientTls) -> anyhow::Result<Addresses> {
        Addresses::resolve(
            self.port_base,
            tls.default_scheme(),
            Explicit {
                intake: self.intake.clone(),
                eligibility: self.eligibility.clone(),
                deadline_monitoring: self.deadlines.clone(),
                reporting: self.reporting.clone(),
            },
        )
    }
}

#[derive(Subcommand)]
enum Command {
    /// Exits 0 when the service at ADDR (https://host:port, or http:// with GRPC_PLAINTEXT=true)
    /// reports SERVING.
    Health {
        #[arg(long)]
        addr: String,
    },
    /// Registers an inquiry and prints its id and reference.
    Submit {
        #[arg(long, default_value = "by-og-kultur")]
        department: String,
        #[arg(long, default_value = "Jeg har ventet længe på svar fra kommunen.")]
        description: String,
        /// The person has not yet talked to the department.
        #[arg(long)]
        no_prior_dialogue: bool,
    },
    /// Prints an inquiry with its assessment and deadline.
    Show {
        /// The inquiry's reference (BR-2026-000123) or its id (a UUID).
        inquiry: String,
    },
    /// Prints the reporting summary.
    Summary,
    /// Submits a sample inquiry and waits until it is assessed, scheduled and counted.
    Example,
    /// Writes the annual report of YEAR to FILE: CSV figures, or Danish HTML with charts.
    AnnualReport {
        #[arg(long)]
        year: i32,
        /// csv or html; taken from the file name (.csv, .html, .htm) when left out.
        #[arg(long, value_parser = ["html", "csv"])]
        format: Option<String>,
        /// A department code; all departments when left out.
        #[arg(long, default_value = "")]
        department: String,
        /// The file to write; its extension gives the format unless --format is given.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Rebuilds reporting's figures from the start of the stream and waits until it is done.
    RebuildReporting,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let configured = ClientTls::from_env()?;
    let tls = CLIENT_TLS.get_or_init(|| configured);
    let services = cli.addresses(tls)?;
    match &cli.command {
        Command::Health { addr } => health(addr).await,
        Command::Submit {
            department,
            description,
            no_prior_dialogue,
        } => {
            let submitted = submit(&services, department, description, !no_prior_dialogue).await?;
            println!(
                "inquiry_id: {}\nreference:  {}",
                submitted.inquiry_id, submitted.reference
            );
            Ok(())
        }
        Command::Show { inquiry } => {
            show(&services, &InquiryKey::parse(inquiry), Duration::ZERO).await
        }
        Command::AnnualReport {
            year,
            format,
            department,
            out,
        } => {
            // Decided before anything is asked or written, so a mismatch leaves no file behind.
            let format = report_format(format.as_deref(), out)?;
            annual_report(&services, *year, format, department, out).await
        }
        Command::RebuildReporting => rebuild_reporting(&services).await,
        Command::Summary => summary(&services).await,
        Command::Example => {
            let submitted = submit(
                &services,
                "by-og-kultur",
                "Jeg har ventet otte måneder på svar om min byggetilladelse.",
                true,
            )
            .await?;
            println!(
                "Submitted inquiry {} ({})\n",
                submitted.reference, submitted.inquiry_id
            );
            let inquiry = InquiryKey::Id(submitted.inquiry_id);
            show(&services, &inquiry, Duration::from_secs(30)).await?;
            println!();
            wait_until_counted(&services, Duration::from_secs(30)).await?;
            summary(&services).await
        }
    }
}

async fn annual_report(
    services: &Addresses,
    year: i32,
    format: &str,
    department: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        channel("reporting", &services.reporting).await?,
    );
    let format = match format {
        "csv" => pb::ReportFormat::Csv,
        _ => pb::ReportFormat::Html,
    };
    let mut chunks = reporting
        .export_annual_report(pb::ExportAnnualReportRequest {
            year,
            format: format.into(),
            department: department.to_owned(),
        })
        .await?
        .into_inner();
    let mut file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut bytes = 0;
    while let Some(chunk) = chunks.message().await? {
        file.write_all(&chunk.data)?;
        bytes += chunk.data.len();
    }
    file.flush()?;
    println!("wrote {} ({bytes} bytes)", out.display());
    Ok(())
}

async fn rebuild_reporting(services: &Addresses) -> anyhow::Result<()> {
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        channel("reporting", &services.reporting).await?,
    );
    reporting
        .rebuild_projection(pb::RebuildProjectionRequest {})
        .await?;
    loop {
        let status = reporting
            .get_rebuild_status(pb::GetRebuildStatusRequest {})
            .await?
            .into_inner();
        match status.state() {
            pb::RebuildState::Succeeded => {
                println!(
                    "rebuilt: {} events replayed, up to stream sequence {}",
                    status.events_replayed, status.last_sequence
                );
                return Ok(());
            }
            pb::RebuildState::Failed => bail!("the rebuild failed; see reporting's log"),
            _ => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// What the calls trust and present, read once from the environment in `main`.
static CLIENT_TLS: OnceLock<ClientTls> = OnceLock::new();

/// A connection to `service` at `url`; the error says how to point the CLI elsewhere.
async fn channel(service: &str, url: &str) -> anyhow::Result<Channel> {
    let tls = CLIENT_TLS
        .get()
        .context("the TLS settings are read first")?;
    let variable = match service {
        "the service" => "--addr".to_owned(),
        service => address_variable(service),
    };
    client_endpoint(&variable, url, tls)?
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await
        .with_context(|| {
            format!(
                "cannot reach {service} at {url}; if it runs elsewhere, set PORT_BASE \
                 (or {}, or --{})",
                address_variable(service),
                address_flag(service)
            )
        })
}

fn address_variable(service: &str) -> String {
    format!("{}_URL", service.to_uppercase().replace('-', "_"))
}

fn address_flag(service: &str) -> &str {
    match service {
        "deadline-monitoring" => "deadlines",
        other => other,
    }
}

async fn health(addr: &str) -> anyhow::Result<()> {
    let mut client = HealthClient::new(channel("the service", addr).await?);
    let response = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner();
    if response.status() != ServingStatus::Serving {
        bail!("{addr} is {:?}", response.status());
    }
    println!("{addr}: SERVING");
    Ok(())
}

async fn submit(
    services: &Addresses,
    department: &str,
    description: &str,
    prior_dialogue: bool,
) -> anyhow::Result<pb::SubmitInquiryResponse> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        channel("intake", &services.intake).await?,
    );
    let today = chrono::Utc::now().date_naive();
    let response = intake
        .submit_inquiry(pb::SubmitInquiryRequest {
            requester_kind: pb::RequesterKind::Citizen.into(),
            requester: Some(pb::Requester {
                name: "Eksempel Borger".into(),
                ..Default::default()
            }),
            department: department.to_owned(),
            request_type: pb::RequestType::Complaint.into(),
            complaint_themes: vec![pb::ComplaintTheme::HandlingTime.into()],
            description: description.to_owned(),
            prior_dialogue: Some(pb::PriorDialogue {
                held: prior_dialogue,
                date: prior_dialogue.then(|| {
                    use chrono::Datelike;
                    pb::Date {
                        year: today.year(),
                        month: today.month() as i32,
                        day: today.day() as i32,
                    }
                }),
                ..Default::default()
            }),
            contact_channel: pb::ContactChannel::DigitalPost.into(),
            ..Default::default()
        })
        .await
        .map_err(|status| anyhow::anyhow!("submission refused: {status}"))?;
    Ok(response.into_inner())
}

/// Prints the inquiry, then its assessment and deadline, waiting up to `wait` for them. A
/// reference is resolved by intake; the other services know the inquiry by its id.
async fn show(services: &Addresses, key: &InquiryKey, wait: Duration) -> anyhow::Result<()> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        channel("intake", &services.intake).await?,
    );
    let (request, named) = match key {
        InquiryKey::Id(id) => (
            pb::GetInquiryRequest {
                inquiry_id: id.clone(),
                ..Default::default()
            },
            format!("id {id}"),
        ),
        InquiryKey::Reference(reference) => (
            pb::GetInquiryRequest {
                reference: reference.clone(),
                ..Default::default()
            },
            format!("reference {reference}"),
        ),
    };
    let inquiry = match intake.get_inquiry(request).await {
        Ok(response) => response.into_inner(),
        Err(status) if status.code() == tonic::Code::NotFound => {
            bail!("intake has no inquiry with the {named}")
        }
        Err(status) if status.code() == tonic::Code::InvalidArgument => bail!(
            "`{}` is neither a reference such as BR-2026-000123 nor an inquiry id (a UUID)",
            match key {
                InquiryKey::Id(text) | InquiryKey::Reference(text) => text,
            }
        ),
        Err(status) => return Err(status.into()),
    };
    let inquiry_id = inquiry.inquiry_id.clone();
    println!(
        "Inquiry {}: {:?} from a {:?} about {}",
        inquiry.reference,
        inquiry.request_type(),
        inquiry.requester_kind(),
        inquiry.department
    );

    let give_up = Instant::now() + wait;
    let eligibility = pb::eligibility_service_client::EligibilityServiceClient::new(
        channel("eligibility", &services.eligibility).await?,
    );
    let assessment = poll_until_found(give_up, || {
        let mut client = eligibility.clone();
        let request = pb::GetAssessmentRequest {
            inquiry_id: inquiry_id.clone(),
        };
        async move { client.get_assessment(request).await }
    })
    .await?;
    match assessment {
        Some(assessment) => {
            println!(
                "Assessment: {:?} (rules {})",
                assessment.outcome(),
                assessment.rule_set_version
            );
            for rule in assessment.fired_rules {
                println!("  {}: {}", rule.rule_id, rule.explanation_en);
            }
        }
        None => println!("Assessment: not yet"),
    }

    let deadlines = pb::deadline_monitoring_service_client::DeadlineMonitoringServiceClient::new(
        channel("deadline-monitoring", &services.deadline_monitoring).await?,
    );
    let deadline = poll_until_found(give_up, || {
        let mut client = deadlines.clone();
        let request = pb::GetDeadlineRequest {
            inquiry_id: inquiry_id.clone(),
        };
        async move { client.get_deadline(request).await }
    })
    .await?;
    match deadline.and_then(|deadline| deadline.due_date.map(|due| (due, deadline.working_days))) {
        Some((due, days)) => println!(
            "Answer due: {:04}-{:02}-{:02} ({days} working days)",
            due.year, due.month, due.day
        ),
        None => println!("Answer due: not yet scheduled"),
    }
    Ok(())
}

/// Calls `get` until it finds something or `give_up` passes; NOT_FOUND means "not yet".
async fn poll_until_found<T, F, Fut>(give_up: Instant, mut get: F) -> anyhow::Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    loop {
        match get().await {
            Ok(response) => return Ok(Some(response.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound && Instant::now() < give_up => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => return Err(status.into()),
        }
    }
}

/// Waits until reporting has counted every inquiry's assessment, so the example's figures add up.
async fn wait_until_counted(services: &Addresses, wait: Duration) -> anyhow::Result<()> {
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        channel("reporting", &services.reporting).await?,
    );
    let give_up = Instant::now() + wait;
    loop {
        let figures = reporting
            .get_summary(pb::GetSummaryRequest::default())
            .await?
            .into_inner()
            .figures
            .unwrap_or_default();
        let assessed: i64 = figures.by_eligibility_outcome.iter().map(|c| c.count).sum();
        if assessed >= figures.received || Instant::now() > give_up {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn summary(services: &Addresses) -> anyhow::Result<()> {
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        channel("reporting", &services.reporting).await?,
    );
    let figures = reporting
        .get_summary(pb::GetSummaryRequest::default())
        .await?
        .into_inner()
        .figures
        .unwrap_or_default();
    print!("{}", summary_text(&figures));
    Ok(())
}

/// The summary as `summary` prints it: departments by their Danish names, outcomes by code.
fn summary_text(figures: &pb::Figures) -> String {
    let mut text = format!("Inquiries in total: {}\n", figures.received);
    for count in &figures.by_department {
        text += &format!("  {:<40} {}\n", count.name, count.count);
    }
    text += "By eligibility outcome:\n";
    for count in &figures.by_eligibility_outcome {
        text += &format!("  {:<40} {}\n", count.code, count.count);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_departments_in_danish_and_outcomes_by_code() {
        let count = |code: &str, name: &str, count| pb::CategoryCount {
            code: code.into(),
            count,
            name: name.into(),
        };
        let figures = pb::Figures {
            received: 3,
            by_department: vec![
                count("boern-og-unge", "Børn- og Ungeforvaltningen", 1),
                count("by-og-kultur", "By- og Kulturforvaltningen", 2),
            ],
            by_eligibility_outcome: vec![count("accepted", "Inden for kompetence", 3)],
            ..Default::default()
        };
        let text = summary_text(&figures);
        assert!(text.starts_with("Inquiries in total: 3\n"), "{text}");
        assert!(text.contains("  Børn- og Ungeforvaltningen"), "{text}");
        assert!(text.contains("  By- og Kulturforvaltningen"), "{text}");
        assert!(!text.contains("by-og-kultur"), "{text}");
        assert!(text.contains("  accepted "), "{text}");
    }
}
