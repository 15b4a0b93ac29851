//! A person's access request (GDPR art. 15) as a document: everything intake holds about them,
//! rendered as JSON for systems or as a Danish letter in self-contained HTML for Digital Post.
//!
//! Pure: plain types in, text out; the gRPC adapter fills the types and the clock is the
//! `exported_at` the caller passes. Codes (`in_progress`, `complaint`) stay codes in JSON, the
//! one name the proto, Rust and SQL share; the letter shows them in Danish.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Copenhagen;
use serde::Serialize;

/// Everything held about one person. No `Debug`: it would print all of it.
#[derive(Clone, Serialize)]
pub struct PersonExport {
    pub exported_at: DateTime<Utc>,
    /// The identifier the request named, as the person knows it (`DDMMYY-SSSS`, or the CVR).
    pub person: String,
    pub inquiries: Vec<InquiryExport>,
    pub access_log: Vec<AccessExport>,
}

#[derive(Clone, Serialize)]
pub struct InquiryExport {
    pub reference: String,
    pub received_at: DateTime<Utc>,
    pub status: String,
    pub request_type: String,
    pub requester_kind: String,
    pub department: String,
    /// The department's Danish name.
    pub department_name: String,
    pub unit: Option<String>,
    pub requester_name: Option<String>,
    pub requester_cpr: Option<String>,
    pub requester_cvr: Option<String>,
    pub anonymous: bool,
    pub contact_channel: Option<String>,
    pub representative: Option<RepresentativeExport>,
    pub consent_to_contact_department: bool,
    pub description: String,
    pub desired_outcome: Option<String>,
    pub prior_dialogue_held: bool,
    pub prior_dialogue_date: Option<NaiveDate>,
    pub prior_dialogue_with_whom: Option<String>,
    pub prior_dialogue_outcome: Option<String>,
    pub attachments: Vec<AttachmentExport>,
    pub eligibility_outcome: Option<String>,
    pub referral_target: Option<String>,
    pub caseworker_id: Option<String>,
    pub closing_outcome: Option<String>,
    /// The answer deadline in force, once deadline-monitoring has scheduled it.
    pub deadline: Option<DeadlineExport>,
    pub journal: Vec<JournalExport>,
}

/// The answer deadline as intake recorded it from deadline-monitoring.
#[derive(Clone, Serialize)]
pub struct DeadlineExport {
    pub due_date: NaiveDate,
    pub working_days: i32,
    pub paused_working_days: i32,
    /// `running`, `overdue`, `met`, `breached` or `stopped`.
    pub state: String,
    pub working_days_over: i32,
}

#[derive(Clone, Serialize)]
pub struct RepresentativeExport {
    pub name: Option<String>,
    pub role: String,
    pub power_of_attorney_scope: Option<String>,
    pub power_of_attorney_valid_until: Option<NaiveDate>,
}

#[derive(Clone, Serialize)]
pub struct AttachmentExport {
    pub title: String,
    pub document_ref: String,
}

#[derive(Clone, Serialize)]
pub struct JournalExport {
    pub version: i64,
    pub at: DateTime<Utc>,
    pub step: String,
    pub actor: String,
    pub status_after: String,
    pub details: String,
}

/// One access to one of the person's inquiries: who (role and unit), when, why.
#[derive(Clone, Serialize)]
pub struct AccessExport {
    pub at: DateTime<Utc>,
    pub reference: String,
    pub subject: String,
    pub role: String,
    pub department: Option<String>,
    pub data: Vec<String>,
    pub purpose: Option<String>,
}

/// The export as pretty-printed JSON.
pub fn render_json(export: &PersonExport) -> String {
    // Strings, numbers, dates and vectors always serialize; the fallback cannot be reached.
    serde_json::to_string_pretty(export).unwrap_or_else(|_| "{}".to_owned())
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `8. december 2026`.
pub fn danish_date(date: NaiveDate) -> String {
    working_days::date_da(date)
}

/// `8. december 2026 kl. 09.05`, in Danish time.
pub fn danish_time(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Copenhagen);
    format!(
        "{} kl. {}",
        danish_date(local.date_naive()),
        local.format("%H.%M")
    )
}

fn status_da(code: &str) -> &str {
    match code {
        "received" => "Modtaget",
        "assessed" => "Vurderet",
        "assigned" => "Fordelt til en sagsbehandler",
        "in_progress" => "Under behandling",
        "awaiting_requester" => "Afventer oplysninger fra dig",
        "answered" => "Besvaret",
        "closed" => "Afsluttet",
        "withdrawn" => "Trukket tilbage",
        other => other,
    }
}

fn request_type_da(code: &str) -> &str {
    match code {
        "advice" => "Rådgivning",
        "complaint" => "Klage",
        "complaint_guidance" => "Vejledning om klagemuligheder",
        "decision_explanation" => "Forklaring af en afgørelse",
        "dialogue_or_mediation" => "Dialog eller mægling",
        "improvement_suggestion" => "Forslag til forbedring",
        other => other,
    }
}

fn step_da(code: &str) -> &str {
    match code {
        "submit" => "Henvendelsen modtaget",
        "assess" => "Vurderet",
        "assign" => "Fordelt til en sagsbehandler",
        "start_work" => "Behandlingen påbegyndt",
        "record_mediation" => "Mægling registreret",
        "request_information" => "Oplysninger anmodet",
        "receive_information" => "Oplysninger modtaget",
        "answer" => "Besvaret",
        "close" => "Afsluttet",
        "withdraw" => "Trukket tilbage",
        "reopen" => "Genoptaget",
        "add_note" => "Notat",
        "record_improvement_suggestion" => "Forslag til forbedring registreret",
        "amend" => "Oplysninger rettet",
        other => other,
    }
}

fn contact_channel_da(code: &str) -> &str {
    match code {
        "digital_post" => "Digital Post",
        "email" => "E-mail",
        "letter" => "Brev",
        "phone" => "Telefon",
        other => other,
    }
}

fn eligibility_da(code: &str) -> &str {
    match code {
        "accepted" => "Behandles af Borgerrådgiveren",
        "accepted_in_part" => "Behandles delvist af Borgerrådgiveren",
        "referred" => "Henvist til en anden myndighed",
        "out_of_scope" => "Uden for Borgerrådgiverens område",
        "needs_review" => "Vurderes af en medarbejder",
        other => other,
    }
}

fn role_da(code: &str) -> &str {
    match code {
        "caseworker" => "Medarbejder hos Borgerrådgiveren",
        "department-system" => "En forvaltnings sagssystem",
        "eligibility" => "Borgerrådgiverens vurdering af henvendelsen (system)",
        "deadline-monitoring" => "Borgerrådgiverens fristovervågning (system)",
        "operator" => "Drift",
        other => other,
    }
}

/// A token may carry several roles (`caseworker, operator`): each in Danish.
fn roles_da(roles: &str) -> String {
    roles
        .split(',')
        .map(|role| role_da(role.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn data_da(code: &str) -> &str {
    match code {
        "requester" => "oplysninger om dig",
        "cpr_masked" => "CPR-nummer (delvist skjult)",
        "cpr_revealed" => "CPR-nummer",
        "description" => "din beskrivelse",
        "notes" => "sagens notater",
        "access_log" => "adgangsloggen",
        "erasure" => "sletning af dine oplysninger",
        other => other,
    }
}

/// Appends a row of the facts table, the value escaped; empty values are left out.
fn row(html: &mut String, label: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
        html.push_str("<tr><th scope=\"row\">");
        html.push_str(&escape_html(label));
        html.push_str("</th><td>");
        html.push_str(&escape_html(value));
        html.push_str("</td></tr>\n");
    }
}

const STYLE: &str = "body{font-family:Arial,Helvetica,sans-serif;max-width:50em;margin:2em auto;\
padding:0 1em;line-height:1.45;color:#111}h1{font-size:1.6em}h2{font-size:1.3em;margin-top:2em;\
border-bottom:1px solid #999}h3{font-size:1.1em}table{border-collapse:collapse;width:100%;\
margin:.5em 0}th,td{text-align:left;vertical-align:top;padding:.3em .5em;border:1px solid #ccc}\
th[scope=row]{width:30%;font-weight:normal;background:#f4f4f4}p.text{white-space:pre-wrap}";

/// The export as a Danish letter to the person: self-contained HTML (no scripts, no external
/// resources), every value escaped.
pub fn render_html(export: &PersonExport) -> String {
    let mut html = String::with_capacity(8 * 1024);
    html.push_str("<!DOCTYPE html>\n<html lang=\"da\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<title>Indsigt i dine personoplysninger</title>\n<style>");
    html.push_str(STYLE);
    html.push_str("</style>\n</head>\n<body>\n<h1>Indsigt i dine personoplysninger</h1>\n");
    html.push_str(&format!(
        "<p>Dato: {}</p>\n<p>Du har bedt om indsigt i de personoplysninger, Borgerrådgiveren \
         behandler om dig (databeskyttelsesforordningens artikel 15). Her er alle oplysninger, \
         vi har registreret om <strong>{}</strong>.</p>\n",
        danish_time(export.exported_at),
        escape_html(&export.person),
    ));
    if export.inquiries.is_empty() {
        html.push_str(
            "<p>Vi behandler ingen personoplysninger om dig. Der er ikke registreret nogen \
             henvendelser fra dig hos Borgerrådgiveren.</p>\n",
        );
    } else {
        html.push_str(&format!(
            "<p>Vi har registreret {} {}.</p>\n",
            export.inquiries.len(),
            if export.inquiries.len() == 1 {
                "henvendelse"
            } else {
                "henvendelser"
            }
        ));
    }
    for inquiry in &export.inquiries {
        inquiry_html(&mut html, inquiry);
    }
    html.push_str("<h2>Hvem har set dine oplysninger</h2>\n");
    if export.access_log.is_empty() {
        html.push_str("<p>Ingen har set oplysningerne.</p>\n");
    } else {
        html.push_str(
            "<table>\n<thead><tr><th>Tidspunkt</th><th>Henvendelse</th><th>Hvem</th>\
             <th>Enhed</th><th>Formål</th><th>Oplysninger</th></tr></thead>\n<tbody>\n",
        );
        for access in &export.access_log {
            let data: Vec<&str> = access.data.iter().map(|d| data_da(d)).collect();
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape_html(&danish_time(access.at)),
                escape_html(&access.reference),
                escape_html(&roles_da(&access.role)),
                escape_html(access.department.as_deref().unwrap_or("Borgerrådgiveren")),
                escape_html(access.purpose.as_deref().unwrap_or("")),
                escape_html(&data.join(", ")),
            ));
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str(
        "<h2>Dine rettigheder</h2>\n<p>Du kan bede om at få urigtige oplysninger rettet og, \
         i visse tilfælde, slettet. Du kan klage over vores behandling af dine \
         personoplysninger til Datatilsynet.</p>\n<p>Med venlig hilsen<br>Borgerrådgiveren</p>\n\
         </body>\n</html>\n",
    );
    html
}

fn inquiry_html(html: &mut String, inquiry: &InquiryExport) {
    html.push_str(&format!(
        "<h2>Henvendelse {}</h2>\n<table>\n",
        escape_html(&inquiry.reference)
    ));
    row(html, "Modtaget", Some(&danish_time(inquiry.received_at)));
    row(html, "Type", Some(request_type_da(&inquiry.request_type)));
    row(html, "Status", Some(status_da(&inquiry.status)));
    row(html, "Forvaltning", Some(&inquiry.department_name));
    row(html, "Enhed", inquiry.unit.as_deref());
    row(html, "Navn", inquiry.requester_name.as_deref());
    row(html, "CPR-nummer", inquiry.requester_cpr.as_deref());
    row(html, "CVR-nummer", inquiry.requester_cvr.as_deref());
    row(
        html,
        "Kontakt",
        inquiry.contact_channel.as_deref().map(contact_channel_da),
    );
    if let Some(representative) = &inquiry.representative {
        row(html, "Repræsentant", representative.name.as_deref());
        row(
            html,
            "Fuldmagt",
            representative.power_of_attorney_scope.as_deref(),
        );
        row(
            html,
            "Fuldmagt gyldig til",
            representative
                .power_of_attorney_valid_until
                .map(danish_date)
                .as_deref(),
        );
    }
    row(
        html,
        "Samtykke til kontakt med forvaltningen",
        Some(if inquiry.consent_to_contact_department {
            "Ja"
        } else {
            "Nej"
        }),
    );
    if inquiry.prior_dialogue_held {
        row(
            html,
            "Tidligere dialog med forvaltningen",
            Some(
                &inquiry
                    .prior_dialogue_date
                    .map_or_else(|| "Ja".to_owned(), |d| format!("Ja, {}", danish_date(d))),
            ),
        );
        row(
            html,
            "Dialog med",
            inquiry.prior_dialogue_with_whom.as_deref(),
        );
        row(
            html,
            "Dialogens resultat",
            inquiry.prior_dialogue_outcome.as_deref(),
        );
    }
    row(
        html,
        "Vurdering",
        inquiry.eligibility_outcome.as_deref().map(eligibility_da),
    );
    row(html, "Henvist til", inquiry.referral_target.as_deref());
    if let Some(deadline) = &inquiry.deadline {
        row(html, "Svarfrist", Some(&danish_date(deadline.due_date)));
        row(html, "Svarfristens status", Some(&deadline_da(deadline)));
    }
    html.push_str("</table>\n<h3>Din beskrivelse</h3>\n<p class=\"text\">");
    html.push_str(&escape_html(&inquiry.description));
    html.push_str("</p>\n");
    if let Some(outcome) = inquiry.desired_outcome.as_deref() {
        html.push_str("<h3>Hvad du ønsker</h3>\n<p class=\"text\">");
        html.push_str(&escape_html(outcome));
        html.push_str("</p>\n");
    }
    if !inquiry.attachments.is_empty() {
        html.push_str("<h3>Bilag</h3>\n<ul>\n");
        for attachment in &inquiry.attachments {
            html.push_str(&format!(
                "<li>{} ({})</li>\n",
                escape_html(&attachment.title),
                escape_html(&attachment.document_ref)
            ));
        }
        html.push_str("</ul>\n");
    }
    html.push_str(
        "<h3>Sagens forløb</h3>\n<table>\n<thead><tr><th>Tidspunkt</th><th>Skridt</th>\
         <th>Status bagefter</th><th>Notat</th></tr></thead>\n<tbody>\n",
    );
    for entry in &inquiry.journal {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>\n",
            escape_html(&danish_time(entry.at)),
            escape_html(step_da(&entry.step)),
            escape_html(status_da(&entry.status_after)),
            escape_html(&entry.details),
        ));
    }
    html.push_str("</tbody>\n</table>\n");
}

/// The deadline's state in the letter, with the days over a breached one.
fn deadline_da(deadline: &DeadlineExport) -> String {
    match deadline.state.as_str() {
        "running" => "Løber".to_owned(),
        "overdue" => "Overskredet, endnu ikke besvaret".to_owned(),
        "met" => "Overholdt".to_owned(),
        "breached" => match deadline.working_days_over {
            1 => "Overskredet med 1 arbejdsdag".to_owned(),
            days => format!("Overskredet med {days} arbejdsdage"),
        },
        _ => "Stoppet".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0)
            .single()
            .expect("valid")
    }

    fn inquiry(description: &str) -> InquiryExport {
        InquiryExport {
            reference: "BR-2026-000007".into(),
            received_at: at(11, 20, 8, 30),
            status: "in_progress".into(),
            request_type: "complaint".into(),
            requester_kind: "citizen".into(),
            department: "by-og-kultur".into(),
            department_name: "By- og Kulturforvaltningen".into(),
            unit: None,
            requester_name: Some("Karen Jensen".into()),
            requester_cpr: Some("010190-1234".into()),
            requester_cvr: None,
            anonymous: false,
            contact_channel: Some("digital_post".into()),
            representative: None,
            consent_to_contact_department: true,
            description: description.into(),
            desired_outcome: Some("Et svar & en undskyldning".into()),
            prior_dialogue_held: true,
            prior_dialogue_date: NaiveDate::from_ymd_opt(2026, 11, 2),
            prior_dialogue_with_whom: None,
            prior_dialogue_outcome: None,
            attachments: Vec::new(),
            eligibility_outcome: Some("accepted".into()),
            referral_target: None,
            caseworker_id: Some("cw-1".into()),
            closing_outcome: None,
            deadline: None,
            journal: vec![JournalExport {
                version: 2,
                at: at(11, 21, 12, 0),
                step: "add_note".into(),
                actor: "cw-1".into(),
                status_after: "in_progress".into(),
                details: "Ringet op <b>".into(),
            }],
        }
    }

    fn export(inquiries: Vec<InquiryExport>) -> PersonExport {
        PersonExport {
            exported_at: at(12, 8, 9, 5),
            person: "010190-1234".into(),
            inquiries,
            access_log: vec![AccessExport {
                at: at(11, 22, 10, 0),
                reference: "BR-2026-000007".into(),
                subject: "cw-1".into(),
                role: "caseworker".into(),
                department: None,
                data: vec!["requester".into(), "description".into()],
                purpose: Some("Behandling af klagen".into()),
            }],
        }
    }

    #[test]
    fn a_script_in_the_description_comes_out_escaped() {
        let html = render_html(&export(vec![inquiry(
            "Hej <script>alert('x')</script> & farvel",
        )]));
        assert!(!html.contains("<script>"));
        assert!(
            html.contains("Hej &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; farvel"),
            "{html}"
        );
        assert!(html.contains("Ringet op &lt;b&gt;"));
        assert!(html.contains("Et svar &amp; en undskyldning"));
    }

    #[test]
    fn the_letter_has_danish_headings_and_copenhagen_times() {
        let html = render_html(&export(vec![inquiry("Min byggesag")]));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"da\">"));
        assert!(html.contains("<h1>Indsigt i dine personoplysninger</h1>"));
        assert!(html.contains("Hvem har set dine oplysninger"));
        // 09:05 UTC in December is 10.05 in Copenhagen; 08:30 UTC in November 09.30.
        assert!(html.contains("Dato: 8. december 2026 kl. 10.05"), "{html}");
        assert!(html.contains("20. november 2026 kl. 09.30"));
        assert!(html.contains("Under behandling"));
        assert!(html.contains("010190-1234"));
        assert!(html.contains("Behandling af klagen"));
        assert!(html.contains("Medarbejder hos Borgerrådgiveren"));
        // Self-contained: nothing fetched from elsewhere.
        assert!(!html.contains("http"));
    }

    #[test]
    fn each_of_several_roles_is_named_in_danish() {
        assert_eq!(
            roles_da("caseworker, operator"),
            "Medarbejder hos Borgerrådgiveren, Drift"
        );
    }

    #[test]
    fn summer_time_is_two_hours_ahead() {
        assert_eq!(danish_time(at(7, 1, 22, 15)), "2. juli 2026 kl. 00.15");
    }

    #[test]
    fn a_person_without_inquiries_is_told_no_data_is_held() {
        let mut empty = export(Vec::new());
        empty.access_log.clear();
        let html = render_html(&empty);
        assert!(html.contains("Vi behandler ingen personoplysninger om dig"));
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&empty)).expect("valid JSON");
        assert_eq!(json["inquiries"], serde_json::json!([]));
    }

    #[test]
    fn the_json_keeps_codes_and_the_text_as_given() {
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&export(vec![inquiry("<script>")])))
                .expect("valid JSON");
        let first = &json["inquiries"][0];
        assert_eq!(first["status"], "in_progress");
        assert_eq!(first["description"], "<script>");
        assert_eq!(first["requester_cpr"], "010190-1234");
        assert_eq!(first["journal"][0]["step"], "add_note");
        assert_eq!(json["access_log"][0]["purpose"], "Behandling af klagen");
    }

    fn with_deadline(state: &str, working_days_over: i32) -> InquiryExport {
        InquiryExport {
            deadline: Some(DeadlineExport {
                due_date: NaiveDate::from_ymd_opt(2026, 12, 23).expect("valid"),
                working_days: 15,
                paused_working_days: 2,
                state: state.into(),
                working_days_over,
            }),
            ..inquiry("Min byggesag")
        }
    }

    #[test]
    fn the_letter_names_the_answer_deadline_and_where_it_stands() {
        let html = render_html(&export(vec![with_deadline("running", 0)]));
        assert!(
            html.contains("<th scope=\"row\">Svarfrist</th><td>23. december 2026</td>"),
            "{html}"
        );
        assert!(html.contains("<td>Løber</td>"), "{html}");

        let breached = render_html(&export(vec![with_deadline("breached", 3)]));
        assert!(
            breached.contains("Overskredet med 3 arbejdsdage"),
            "{breached}"
        );
    }

    #[test]
    fn a_letter_without_a_deadline_yet_has_no_deadline_row() {
        let html = render_html(&export(vec![inquiry("Min byggesag")]));
        assert!(!html.contains("Svarfrist"));
    }

    #[test]
    fn the_json_carries_the_deadline_as_a_date_and_codes() {
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&export(vec![with_deadline("met", 0)])))
                .expect("valid JSON");
        let deadline = &json["inquiries"][0]["deadline"];
        assert_eq!(deadline["due_date"], "2026-12-23");
        assert_eq!(deadline["working_days"], 15);
        assert_eq!(deadline["paused_working_days"], 2);
        assert_eq!(deadline["state"], "met");
    }
}
