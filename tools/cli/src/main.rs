//! `borgerraad`: a small client for operators and for the README's example call.
//!
//! `health` probes a service (the container health checks use it), `submit` registers an
//! inquiry, `show` prints an inquiry with its assessment and deadline, `summary` prints the
//! reporting figures, `example` submits a sample inquiry and waits until every service has
//! handled it, `annual-report` writes the year's report, `rebuild-reporting` rebuilds the
//! figures from the stream, `access-log` prints who looked at an inquiry's or a person's data
//! and why, `verify-audit-log` checks that the access log was not changed, `export-person-data`
//! answers a person's access request with a JSON export or a Danish letter, `reseal-status`
//! shows how many values each sealing key still seals, and `erase-person-data` erases a
//! person's personal data before its retention time; `stream-backup` and `stream-restore`
//! save and restore the event stream (see [`borgerraad_cli::stream_backup`] and
//! `scripts/backup.sh`).
//!
//! Every call carries an access token for the role the command needs (`submit`: web-form,
//! `show`, `export-person-data`: caseworker, `summary` and `annual-report`: report-reader,
//! `rebuild-reporting`, `reseal-status`: operator), or the role `--as` names; `token --as ROLE`
//! prints one for scripts and grpcurl.
//! Where tokens come from: see [`borgerraad_cli::token`].
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
use borgerraad_cli::token::TokenOrigin;
use borgerraad_cli::{Addresses, DEFAULT_PORT_BASE, Explicit, InquiryKey, report_format};
use borgerraad_platform::auth::{AuthorizedChannel, Bearer, Credentials};
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
    /// Act as this role (web-form, caseworker, department-system, report-reader, operator)
    /// instead of the one the command needs.
    #[arg(long = "as", env = "BORGERRAAD_AS", global = true)]
    role: Option<String>,
    /// The department a department system acts for (before the command; `token` takes it after).
    #[arg(long = "department", id = "acting_department")]
    department: Option<String>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    fn access(&self) -> Access {
        Access {
            role: self.role.clone(),
            department: self.department.clone(),
            origin: tokio::sync::OnceCell::new(),
        }
    }

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
    /// Checks the access log's hash chain (operator); exits 1 when an entry was changed or removed.
    VerifyAuditLog,
    /// Prints the access log of an inquiry, or of a person by CPR or CVR number (caseworker):
    /// when, who, in which role and unit, which data, why.
    AccessLog {
        /// The inquiry's reference or id.
        #[arg(long, conflicts_with_all = ["cpr", "cvr"], required_unless_present_any = ["cpr", "cvr"])]
        inquiry: Option<String>,
        #[arg(long, conflicts_with = "cvr")]
        cpr: Option<String>,
        #[arg(long)]
        cvr: Option<String>,
        /// Why the log is looked up; required by CPR or CVR number (e.g. Indsigtsanmodning).
        #[arg(long, default_value = "")]
        purpose: String,
    },
    /// Answers a person's access request (caseworker): every inquiry of the person with all
    /// personal data held, its journal and access log, as JSON or as a Danish letter (HTML).
    ExportPersonData {
        #[arg(long, conflicts_with = "cvr", required_unless_present = "cvr")]
        cpr: Option<String>,
        #[arg(long)]
        cvr: Option<String>,
        /// Why the data is exported (e.g. Indsigtsanmodning); recorded in the access log.
        #[arg(long)]
        purpose: String,
        #[arg(long, value_parser = ["json", "html"], default_value = "json")]
        format: String,
        /// The file to write; standard output when left out.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Shows how many sealed values each key of PERSONAL_DATA_KEYS still seals (operator): an
    /// older key may be removed once it seals nothing.
    ResealStatus,
    /// Erases the personal data of a person's inquiries, by CPR or CVR number, before the
    /// retention time (caseworker); refused while any of them is open.
    ErasePersonData {
        #[arg(long, conflicts_with = "cvr", required_unless_present = "cvr")]
        cpr: Option<String>,
        #[arg(long)]
        cvr: Option<String>,
        /// Why the data goes before its time (e.g. Anmodning om sletning); recorded in the access
        /// log.
        #[arg(long)]
        reason: String,
    },
    /// Writes every message of the event stream, with its headers, to DIR/stream.jsonl (NATS_URL
    /// and the NATS_* credentials as the services take them); prints the count.
    StreamBackup { dir: std::path::PathBuf },
    /// Republishes DIR/stream.jsonl in order into the event stream, which must be empty (or
    /// missing: it is declared as the services declare it); prints the count.
    StreamRestore {
        dir: std::path::PathBuf,
        /// Delete the stream first, with its messages and consumers (the services stopped; they
        /// create their consumers again at start).
        #[arg(long)]
        replace: bool,
    },
    /// Prints an access token for the role `--as` names, for scripts and grpcurl:
    /// `grpcurl -H "authorization: Bearer $(borgerraad token --as caseworker)" …`
    Token {
        /// The department a department system's token acts for.
        #[arg(long)]
        department: Option<String>,
    },
}

/// Which role a command acts as, and where its tokens come from (read once, when first needed).
struct Access {
    role: Option<String>,
    department: Option<String>,
    origin: tokio::sync::OnceCell<TokenOrigin>,
}

impl Access {
    /// A token for `--as`, or else for `role`.
    async fn token(&self, role: &str) -> anyhow::Result<String> {
        let origin = self
            .origin
            .get_or_try_init(|| async { TokenOrigin::from_env() })
            .await?;
        let role = self.role.as_deref().unwrap_or(role);
        origin
            .token(role, self.department.as_deref())
            .await
            .with_context(|| format!("cannot get an access token for the role {role}"))
    }

    /// A channel to `service` at `url` that sends a token for `role` (or `--as`).
    async fn channel(
        &self,
        service: &str,
        url: &str,
        role: &str,
    ) -> anyhow::Result<AuthorizedChannel> {
        // The service first: one out of reach is named before any token is asked for.
        let channel = channel(service, url).await?;
        let token = self.token(role).await?;
        Ok(Bearer::new(channel, Credentials::token(token)))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let configured = ClientTls::from_env()?;
    let tls = CLIENT_TLS.get_or_init(|| configured);
    let services = cli.addresses(tls)?;
    let mut access = cli.access();
    if let Command::Token {
        department: Some(department),
    } = &cli.command
    {
        access.department = Some(department.clone());
    }
    let access = &access;
    match &cli.command {
        Command::Token { .. } => {
            let Some(role) = &cli.role else {
                bail!("say which role the token is for: borgerraad token --as ROLE");
            };
            println!("{}", access.token(role).await?);
            Ok(())
        }
        Command::Health { addr } => health(addr).await,
        Command::Submit {
            department,
            description,
            no_prior_dialogue,
        } => {
            let submitted = submit(
                access,
                &services,
                department,
                description,
                !no_prior_dialogue,
            )
            .await?;
            println!(
                "inquiry_id: {}\nreference:  {}",
                submitted.inquiry_id, submitted.reference
            );
            Ok(())
        }
        Command::Show { inquiry } => {
            show(
                access,
                &services,
                &InquiryKey::parse(inquiry),
                Duration::ZERO,
            )
            .await
        }
        Command::AnnualReport {
            year,
            format,
            department,
            out,
        } => {
            // Decided before anything is asked or written, so a mismatch leaves no file behind.
            let format = report_format(format.as_deref(), out)?;
            annual_report(access, &services, *year, format, department, out).await
        }
        Command::RebuildReporting => rebuild_reporting(access, &services).await,
        Command::VerifyAuditLog => verify_audit_log(access, &services).await,
        Command::AccessLog {
            inquiry,
            cpr,
            cvr,
            purpose,
        } => {
            let mut request = pb::ListAccessLogRequest {
                cpr: cpr.clone().unwrap_or_default(),
                cvr: cvr.clone().unwrap_or_default(),
                purpose: purpose.clone(),
                ..Default::default()
            };
            if let Some(inquiry) = inquiry {
                request.inquiry_id = match InquiryKey::parse(inquiry) {
                    InquiryKey::Id(id) => id,
                    InquiryKey::Reference(reference) => {
                        inquiry_id_of(access, &services, &reference).await?
                    }
                };
            }
            access_log(access, &services, request).await
        }
        Command::ExportPersonData {
            cpr,
            cvr,
            purpose,
            format,
            out,
        } => {
            let request = pb::ExportPersonDataRequest {
                cpr: cpr.clone().unwrap_or_default(),
                cvr: cvr.clone().unwrap_or_default(),
                purpose: purpose.clone(),
                format: if format == "html" {
                    pb::ExportFormat::Html
                } else {
                    pb::ExportFormat::Json
                }
                .into(),
            };
            export_person_data(access, &services, request, out.as_deref()).await
        }
        Command::ResealStatus => reseal_status(access, &services).await,
        Command::ErasePersonData { cpr, cvr, reason } => {
            let request = pb::ErasePersonDataRequest {
                cpr: cpr.clone().unwrap_or_default(),
                cvr: cvr.clone().unwrap_or_default(),
                reason: reason.clone(),
                ..Default::default()
            };
            erase_person_data(access, &services, request).await
        }
        Command::StreamBackup { dir } => {
            let context = event_stream().await?;
            let count = borgerraad_cli::stream_backup::backup(
                &context,
                borgerraad_messaging::stream::STREAM_NAME,
                dir,
            )
            .await?;
            print_count(&count);
            Ok(())
        }
        Command::StreamRestore { dir, replace } => {
            let context = event_stream().await?;
            if *replace {
                let stream = borgerraad_messaging::stream::STREAM_NAME;
                // Missing already is as good as deleted.
                if context.get_stream(stream).await.is_ok() {
                    context
                        .delete_stream(stream)
                        .await
                        .with_context(|| format!("cannot delete the stream {stream}"))?;
                }
            }
            let mut stream = borgerraad_messaging::stream::ensure_stream(&context).await?;
            let count = borgerraad_cli::stream_backup::restore(&context, &mut stream, dir).await?;
            print_count(&count);
            Ok(())
        }
        Command::Summary => summary(access, &services).await,
        Command::Example => {
            let submitted = submit(
                access,
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
            show(access, &services, &inquiry, Duration::from_secs(30)).await?;
            println!();
            wait_until_counted(access, &services, Duration::from_secs(30)).await?;
            summary(access, &services).await
        }
    }
}

/// JetStream on the NATS at `NATS_URL`, logged in as the `NATS_*` variables say.
async fn event_stream() -> anyhow::Result<async_nats::jetstream::Context> {
    let url = borgerraad_platform::settings::var("NATS_URL")
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let settings = borgerraad_platform::settings::NatsSettings::from_env()?;
    let client = borgerraad_messaging::stream::connect(&url, "borgerraad-cli", &settings).await?;
    Ok(borgerraad_messaging::stream::jetstream(client))
}

/// The count as `backup.sh` copies it into the manifest.
fn print_count(count: &borgerraad_cli::stream_backup::Count) {
    println!(
        "messages: {}\nfirst_sequence: {}\nlast_sequence: {}",
        count.messages, count.first_sequence, count.last_sequence
    );
}

async fn annual_report(
    access: &Access,
    services: &Addresses,
    year: i32,
    format: &str,
    department: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        access
            .channel("reporting", &services.reporting, "report-reader")
            .await?,
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

async fn rebuild_reporting(access: &Access, services: &Addresses) -> anyhow::Result<()> {
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        access
            .channel("reporting", &services.reporting, "operator")
            .await?,
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

async fn verify_audit_log(access: &Access, services: &Addresses) -> anyhow::Result<()> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "operator")
            .await?,
    );
    let verdict = intake
        .verify_audit_log(pb::VerifyAuditLogRequest::default())
        .await?
        .into_inner();
    if !verdict.intact {
        bail!(
            "the access log is BROKEN at entry {}: {} ({} entries before it are intact)",
            verdict.first_broken_position,
            verdict.problem,
            verdict.entries
        );
    }
    println!(
        "the access log is intact: {} entries, head {}",
        verdict.entries, verdict.head_hash
    );
    Ok(())
}

async fn export_person_data(
    access: &Access,
    services: &Addresses,
    request: pb::ExportPersonDataRequest,
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "caseworker")
            .await?,
    );
    let export = intake.export_person_data(request).await?.into_inner();
    match out {
        Some(out) => {
            std::fs::write(out, export.document.as_bytes())
                .with_context(|| format!("cannot write {}", out.display()))?;
            // On stderr: standard output stays the document's when no file is named.
            eprintln!(
                "wrote {} ({}, {} inquiries, {} access-log entries)",
                out.display(),
                export.media_type,
                export.inquiries.len(),
                export.access_log.len()
            );
        }
        None => println!("{}", export.document),
    }
    Ok(())
}

async fn reseal_status(access: &Access, services: &Addresses) -> anyhow::Result<()> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "operator")
            .await?,
    );
    let status = intake
        .get_reseal_status(pb::GetResealStatusRequest::default())
        .await?
        .into_inner();
    println!("current key: {}", status.current_key_id);
    println!(
        "{:<32} {:>10} {:>16} {:>16}  in key ring",
        "key", "inquiries", "journal entries", "cpr fingerprints"
    );
    for key in &status.keys {
        println!(
            "{:<32} {:>10} {:>16} {:>16}  {}",
            key.key_id,
            key.inquiries,
            key.journal_entries,
            key.cpr_fingerprints,
            if key.in_key_ring { "yes" } else { "NO" }
        );
    }
    if status.plain_inquiries + status.plain_journal_entries > 0 {
        println!(
            "not yet sealed: {} inquiries, {} journal entries",
            status.plain_inquiries, status.plain_journal_entries
        );
    }
    println!(
        "{}",
        if status.done {
            "done: only the current key seals anything; older keys may be removed"
        } else {
            "not done: older keys are still needed"
        }
    );
    Ok(())
}

/// The id of the inquiry with `reference` (the access log is kept by id).
async fn inquiry_id_of(
    access: &Access,
    services: &Addresses,
    reference: &str,
) -> anyhow::Result<String> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "caseworker")
            .await?,
    );
    Ok(intake
        .get_inquiry(pb::GetInquiryRequest {
            reference: reference.to_owned(),
            purpose: "Opslag i adgangsloggen".into(),
            ..Default::default()
        })
        .await
        .map_err(|status| anyhow::anyhow!("cannot find {reference}: {}", status.message()))?
        .into_inner()
        .inquiry_id)
}

async fn erase_person_data(
    access: &Access,
    services: &Addresses,
    request: pb::ErasePersonDataRequest,
) -> anyhow::Result<()> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "caseworker")
            .await?,
    );
    let erased = intake
        .erase_person_data(request)
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner()
        .erased;
    if erased.is_empty() {
        println!("no inquiry of that person holds personal data");
    }
    for inquiry in erased {
        println!("erased	{}	{}", inquiry.reference, inquiry.inquiry_id);
    }
    Ok(())
}

async fn access_log(
    access: &Access,
    services: &Addresses,
    mut request: pb::ListAccessLogRequest,
) -> anyhow::Result<()> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "caseworker")
            .await?,
    );
    println!("when (UTC)\tinquiry\twho\trole\tunit\tdata\tpurpose");
    loop {
        let page = intake
            .list_access_log(request.clone())
            .await
            .map_err(|status| anyhow::anyhow!("{}", status.message()))?
            .into_inner();
        for entry in page.entries {
            let at = entry
                .at
                .and_then(|at| chrono::DateTime::from_timestamp(at.seconds, 0))
                .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            println!(
                "{at}\t{}\t{}\t{}\t{}\t{}\t{}",
                entry.reference,
                entry.subject,
                entry.role,
                entry.department,
                entry.data.join(","),
                entry.purpose
            );
        }
        if page.next_page_token.is_empty() {
            return Ok(());
        }
        request.page_token = page.next_page_token;
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
    access: &Access,
    services: &Addresses,
    department: &str,
    description: &str,
    prior_dialogue: bool,
) -> anyhow::Result<pb::SubmitInquiryResponse> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "web-form")
            .await?,
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
async fn show(
    access: &Access,
    services: &Addresses,
    key: &InquiryKey,
    wait: Duration,
) -> anyhow::Result<()> {
    let mut intake = pb::intake_service_client::IntakeServiceClient::new(
        access
            .channel("intake", &services.intake, "caseworker")
            .await?,
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
        access
            .channel("eligibility", &services.eligibility, "caseworker")
            .await?,
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
        Part::Found(assessment) => {
            println!(
                "Assessment: {:?} (rules {})",
                assessment.outcome(),
                assessment.rule_set_version
            );
            for rule in assessment.fired_rules {
                println!("  {}: {}", rule.rule_id, rule.explanation_en);
            }
        }
        Part::NotYet => println!("Assessment: not yet"),
        Part::NotShown => println!("Assessment: not shown to this role"),
    }

    let deadlines = pb::deadline_monitoring_service_client::DeadlineMonitoringServiceClient::new(
        access
            .channel(
                "deadline-monitoring",
                &services.deadline_monitoring,
                "caseworker",
            )
            .await?,
    );
    let deadline = poll_until_found(give_up, || {
        let mut client = deadlines.clone();
        let request = pb::GetDeadlineRequest {
            inquiry_id: inquiry_id.clone(),
        };
        async move { client.get_deadline(request).await }
    })
    .await?;
    match deadline {
        Part::Found(pb::Deadline {
            due_date: Some(due),
            working_days: days,
            ..
        }) => println!(
            "Answer due: {:04}-{:02}-{:02} ({days} working days)",
            due.year, due.month, due.day
        ),
        Part::Found(_) | Part::NotYet => println!("Answer due: not yet scheduled"),
        Part::NotShown => println!("Answer due: not shown to this role"),
    }
    Ok(())
}

/// What a look-up of one part of an inquiry found.
enum Part<T> {
    Found(T),
    /// Not there yet when the wait ran out.
    NotYet,
    /// The caller's role may read the inquiry but not this part of it.
    NotShown,
}

/// Calls `get` until it finds something or `give_up` passes; NOT_FOUND means "not yet".
async fn poll_until_found<T, F, Fut>(give_up: Instant, mut get: F) -> anyhow::Result<Part<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    loop {
        match get().await {
            Ok(response) => return Ok(Part::Found(response.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound && Instant::now() < give_up => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(Part::NotYet),
            Err(status) if status.code() == tonic::Code::PermissionDenied => {
                eprintln!("note: {}", status.message());
                return Ok(Part::NotShown);
            }
            Err(status) => return Err(status.into()),
        }
    }
}

/// Waits until reporting has counted every inquiry's assessment, so the example's figures add up.
async fn wait_until_counted(
    access: &Access,
    services: &Addresses,
    wait: Duration,
) -> anyhow::Result<()> {
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        access
            .channel("reporting", &services.reporting, "report-reader")
            .await?,
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

async fn summary(access: &Access, services: &Addresses) -> anyhow::Result<()> {
    let mut reporting = pb::reporting_service_client::ReportingServiceClient::new(
        access
            .channel("reporting", &services.reporting, "report-reader")
            .await?,
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
