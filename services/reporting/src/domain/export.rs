//! The annual report: the year's figures beside the year before, and the monthly trend, as CSV
//! (one row per figure, for spreadsheets) and as one self-contained HTML page in Danish with SVG
//! charts: no scripts, fonts, images or links outside the file, so it can be attached as it is.
//! It goes to the city council, so departments appear by their Danish names (the CSV keeps
//! their codes beside the names, for machines).

use std::fmt::Write as _;

use borgerraad_platform::departments::Departments;
use chrono::NaiveDate;

use super::figures::{Comparison, Counts, Figures, Trend, TrendPoint};
use super::labels::{category_da, dimension_da, month_da, month_short_da};
use super::state::Dimension;
use super::{Month, MonthRange};

/// Everything the annual report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnualReport {
    pub year: i32,
    /// `None`: every department.
    pub department: Option<String>,
    pub comparison: Comparison,
    pub trend: Trend,
    pub open_now: i64,
    pub overdue_now: i64,
    /// The Copenhagen date the report was made.
    pub made_on: NaiveDate,
    /// The configured departments, for their names.
    pub departments: Departments,
}

/// What the CSV's department columns say for "every department".
const EVERY_DEPARTMENT: (&str, &str) = ("alle", "Alle forvaltninger");

/// The category tables of a report, in the order shown.
fn category_tables(figures: &Figures) -> [(Dimension, &Counts); 11] {
    [
        (Dimension::Received, &figures.by_department),
        (Dimension::RequestType, &figures.by_request_type),
        (Dimension::ComplaintTheme, &figures.by_complaint_theme),
        (Dimension::RequesterKind, &figures.by_requester_kind),
        (Dimension::ArrivalChannel, &figures.by_arrival_channel),
        (
            Dimension::EligibilityOutcome,
            &figures.by_eligibility_outcome,
        ),
        (Dimension::ReferralTarget, &figures.by_referral_target),
        (Dimension::ClosingOutcome, &figures.by_closing_outcome),
        (Dimension::HandlingMethod, &figures.by_handling_method),
        (Dimension::MediationResult, &figures.mediations_by_result),
        (
            Dimension::ImprovementSuggestion,
            &figures.improvement_suggestions_by_department,
        ),
    ]
}

/// The key figures as (code, Danish name, value) with values already formatted.
fn key_figures(figures: &Figures) -> Vec<(&'static str, &'static str, String)> {
    let days = |d: Option<i32>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        (
            "received",
            "Modtagne henvendelser",
            figures.received.to_string(),
        ),
        ("answered", "Besvarede", figures.answered.to_string()),
        (
            "deadline_met",
            "Besvaret inden for fristen",
            figures.deadline_met.to_string(),
        ),
        (
            "deadline_breached",
            "Besvaret efter fristen",
            figures.deadline_breached.to_string(),
        ),
        (
            "share_within_deadline",
            "Andel besvaret inden for fristen",
            figures
                .share_within_deadline
                .map(|s| format!("{s:.4}"))
                .unwrap_or_default(),
        ),
        (
            "median_handling_working_days",
            "Median sagsbehandlingstid (arbejdsdage)",
            days(figures.median_handling_working_days),
        ),
        (
            "p90_handling_working_days",
            "90 %-fraktil sagsbehandlingstid (arbejdsdage)",
            days(figures.p90_handling_working_days),
        ),
        (
            "overdue",
            "Overskredne frister",
            figures.overdue.to_string(),
        ),
        (
            "criticism",
            "Kritik eller delvis kritik",
            figures.criticism.to_string(),
        ),
        (
            "mediations_held",
            "Afholdte mæglinger",
            figures
                .mediations_by_stage
                .get("held")
                .copied()
                .unwrap_or(0)
                .to_string(),
        ),
    ]
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn csv_row(out: &mut String, fields: &[&str]) {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

/// RFC 4180 CSV, comma-separated, decimals with a point, one figure per row:
/// `section,department,department_name,month,code,label,value,previous`. `department` is the
/// code ("alle" for every department) and `department_name` its Danish name; `label` is the
/// Danish name of `code` (a department's name where `code` is a department); `previous` is the
/// year before; trend rows have a month and no previous value.
pub fn csv(report: &AnnualReport) -> String {
    let mut out = String::new();
    let departments = &report.departments;
    let (department, department_name) = match report.department.as_deref() {
        Some(code) => (code, departments.name_da(code)),
        None => EVERY_DEPARTMENT,
    };
    csv_row(
        &mut out,
        &[
            "section",
            "department",
            "department_name",
            "month",
            "code",
            "label",
            "value",
            "previous",
        ],
    );
    let (current, previous) = (&report.comparison.current, &report.comparison.previous);
    for ((code, label, value), (_, _, before)) in
        key_figures(current).into_iter().zip(key_figures(previous))
    {
        csv_row(
            &mut out,
            &[
                "key_figures",
                department,
                department_name,
                "",
                code,
                label,
                &value,
                &before,
            ],
        );
    }
    let now = [
        ("open_now", "Åbne henvendelser nu", report.open_now),
        ("overdue_now", "Heraf over fristen nu", report.overdue_now),
    ];
    for (code, label, value) in now {
        csv_row(
            &mut out,
            &[
                "now",
                department,
                department_name,
                "",
                code,
                label,
                &value.to_string(),
                "",
            ],
        );
    }
    for ((dimension, counts), (_, before)) in category_tables(current)
        .into_iter()
        .zip(category_tables(previous))
    {
        let section = if dimension == Dimension::Received {
            "department"
        } else {
            dimension.code()
        };
        for code in counts
            .keys()
            .chain(before.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let value = counts.get(code).copied().unwrap_or(0).to_string();
            let previous = before.get(code).copied().unwrap_or(0).to_string();
            csv_row(
                &mut out,
                &[
                    section,
                    department,
                    department_name,
                    "",
                    code,
                    category_da(dimension, code, departments),
                    &value,
                    &previous,
                ],
            );
        }
    }
    let series = std::iter::once((department, department_name, &report.trend.total)).chain(
        report
            .trend
            .departments
            .iter()
            .filter(|_| report.department.is_none())
            .map(|(code, points)| (code.as_str(), departments.name_da(code), points)),
    );
    for (who, name, points) in series {
        for (month, point) in points.iter() {
            let month = month.to_string();
            let share = point
                .share_within_deadline()
                .map(|s| format!("{s:.4}"))
                .unwrap_or_default();
            let values = [
                ("received", "Modtagne", point.received.to_string()),
                ("answered", "Besvarede", point.answered.to_string()),
                ("overdue", "Overskredne frister", point.overdue.to_string()),
                ("share_within_deadline", "Andel inden for fristen", share),
            ];
            for (code, label, value) in values {
                csv_row(
                    &mut out,
                    &["trend", who, name, &month, code, label, &value, ""],
                );
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent_da(share: Option<f64>) -> String {
    share
        .map(|s| format!("{:.1} %", s * 100.0).replace('.', ","))
        .unwrap_or_else(|| "–".into())
}

fn date_da(date: NaiveDate) -> String {
    use chrono::Datelike as _;
    let month = Month::of(date);
    format!("{}. {}", date.day(), month_da(month))
}

/// A horizontal bar chart of labelled values.
fn bar_chart(title: &str, bars: &[(String, i64)]) -> String {
    let height = 24 * bars.len().max(1) + 30;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"{}\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\">\n",
        escape(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 10 + i * 24;
        let width = (*value as f64 / max as f64 * 380.0).round();
        let _ = writeln!(
            svg,
            "<text x=\"195\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"200\" y=\"{y}\" width=\"{width}\" height=\"18\" class=\"bar\"/>\
             <text x=\"{}\" y=\"{}\">{value}</text>",
            y + 14,
            escape(label),
            205.0 + width,
            y + 14,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Grouped columns per month: received and answered, with the share in time beneath.
fn month_chart(title: &str, points: &[(Month, TrendPoint)]) -> String {
    let width = 60 + 48 * points.len().max(1);
    let max = points
        .iter()
        .map(|(_, p)| p.received.max(p.answered))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"230\" viewBox=\"0 0 {width} 230\">\n\
         <line x1=\"40\" y1=\"180\" x2=\"{}\" y2=\"180\" class=\"axis\"/>\n",
        escape(title),
        width - 10
    );
    for (i, (month, point)) in points.iter().enumerate() {
        let x = 48 + i * 48;
        for (offset, value, class) in [(0, point.received, "bar"), (18, point.answered, "bar2")] {
            let h = (value as f64 / max as f64 * 160.0).round();
            let _ = writeln!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"{h}\" class=\"{class}\"><title>{value}</title></rect>",
                x + offset,
                180.0 - h,
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"196\" text-anchor=\"middle\">{}</text>\
             <text x=\"{}\" y=\"214\" text-anchor=\"middle\" class=\"small\">{}</text>",
            x + 17,
            month_short_da(*month),
            x + 17,
            point
                .share_within_deadline()
                .map(|s| format!("{:.0}%", s * 100.0))
                .unwrap_or_default(),
        );
    }
    svg.push_str(
        "<rect x=\"44\" y=\"2\" width=\"10\" height=\"10\" class=\"bar\"/><text x=\"58\" y=\"11\">Modtagne</text>\
         <rect x=\"140\" y=\"2\" width=\"10\" height=\"10\" class=\"bar2\"/><text x=\"154\" y=\"11\">Besvarede</text>\n</svg>\n",
    );
    svg
}

/// A table of `dimension`'s counts, this year beside last, each code by its Danish name.
fn counts_table(
    out: &mut String,
    report: &AnnualReport,
    heading: &str,
    dimension: Dimension,
    (current, previous): (&Counts, &Counts),
) {
    let year = report.year;
    let codes: std::collections::BTreeSet<&String> =
        current.keys().chain(previous.keys()).collect();
    let _ = writeln!(out, "<h3>{}</h3>", escape(heading));
    if codes.is_empty() {
        out.push_str("<p class=\"small\">Ingen i perioden.</p>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<table><thead><tr><th></th><th>{year}</th><th>{}</th></tr></thead><tbody>",
        year - 1
    );
    for code in codes {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(category_da(dimension, code, &report.departments)),
            current.get(code).copied().unwrap_or(0),
            previous.get(code).copied().unwrap_or(0)
        );
    }
    out.push_str("</tbody></table>\n");
}

/// One HTML page in Danish, with its styles inline and SVG charts per department and per month.
pub fn html(report: &AnnualReport) -> String {
    let year = report.year;
    let (current, previous) = (&report.comparison.current, &report.comparison.previous);
    let departments = &report.departments;
    let scope = match &report.department {
        Some(department) => format!("Forvaltning: {}", escape(departments.name_da(department))),
        None => EVERY_DEPARTMENT.1.into(),
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"da\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Borgerrådgiverens årsberetning {year}</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }}\n\
         table {{ border-collapse: collapse; margin-bottom: 1rem; }}\n\
         th, td {{ border-bottom: 1px solid #ccc; padding: 0.2rem 0.8rem; text-align: right; }}\n\
         td:first-child, th:first-child {{ text-align: left; }}\n\
         svg text {{ font-size: 12px; fill: #222; }}\n\
         .bar {{ fill: #2b6cb0; }} .bar2 {{ fill: #9ac1e8; }} .axis {{ stroke: #888; }}\n\
         .small {{ font-size: 10px; color: #555; }}\n\
         </style>\n</head>\n<body>\n\
         <h1>Borgerrådgiverens årsberetning {year}</h1>\n\
         <p>{scope}. Udarbejdet {}. Tallene er opgjort ud fra sagsforløbets hændelser og \
         indeholder ingen personoplysninger. En henvendelse tælles i den måned, den er modtaget; \
         besvarelser, overskredne frister og sagsbehandlingstid i den måned, de fandt sted.</p>\n",
        date_da(report.made_on)
    );
    let _ = writeln!(
        out,
        "<h2>Nøgletal</h2>\n<table><thead><tr><th></th><th>{year}</th><th>{}</th></tr></thead><tbody>",
        year - 1
    );
    for ((code, label, value), (_, _, before)) in
        key_figures(current).into_iter().zip(key_figures(previous))
    {
        let (value, before) = if code == "share_within_deadline" {
            (
                percent_da(current.share_within_deadline),
                percent_da(previous.share_within_deadline),
            )
        } else {
            (value, before)
        };
        let _ = writeln!(
            out,
            "<tr><td>{label}</td><td>{}</td><td>{}</td></tr>",
            escape(&value),
            escape(&before)
        );
    }
    let _ = writeln!(
        out,
        "<tr><td>Åbne henvendelser nu</td><td>{}</td><td></td></tr>\n\
         <tr><td>Heraf over fristen nu</td><td>{}</td><td></td></tr>\n</tbody></table>",
        report.open_now, report.overdue_now
    );

    out.push_str("<h2>Henvendelser pr. forvaltning</h2>\n");
    let bars: Vec<(String, i64)> = current
        .by_department
        .iter()
        .map(|(code, count)| (departments.name_da(code).to_owned(), *count))
        .collect();
    out.push_str(&bar_chart("Modtagne henvendelser pr. forvaltning", &bars));

    let _ = writeln!(out, "<h2>Henvendelser pr. måned {year}</h2>");
    out.push_str(&month_chart(
        "Modtagne og besvarede henvendelser pr. måned",
        &report.trend.total,
    ));
    out.push_str(
        "<table><thead><tr><th>Måned</th><th>Modtagne</th><th>Besvarede</th>\
         <th>Overskredne frister</th><th>Inden for fristen</th></tr></thead><tbody>\n",
    );
    for (month, point) in &report.trend.total {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            month_da(*month),
            point.received,
            point.answered,
            point.overdue,
            percent_da(point.share_within_deadline())
        );
    }
    out.push_str("</tbody></table>\n");

    if report.department.is_none() && !report.trend.departments.is_empty() {
        out.push_str("<h2>Pr. forvaltning og måned</h2>\n");
        for (code, points) in &report.trend.departments {
            let name = departments.name_da(code);
            let _ = writeln!(out, "<h3>{}</h3>", escape(name));
            out.push_str(&month_chart(
                &format!("{name}: modtagne og besvarede pr. måned"),
                points,
            ));
        }
    }

    out.push_str("<h2>Fordelinger</h2>\n");
    for ((dimension, counts), (_, before)) in category_tables(current)
        .into_iter()
        .zip(category_tables(previous))
    {
        let heading = match dimension {
            Dimension::Received => "Modtagne henvendelser pr. forvaltning",
            Dimension::ImprovementSuggestion => "Forbedringsforslag pr. forvaltning",
            other => dimension_da(other),
        };
        counts_table(&mut out, report, heading, dimension, (counts, before));
    }
    counts_table(
        &mut out,
        report,
        dimension_da(Dimension::MediationStage),
        Dimension::MediationStage,
        (&current.mediations_by_stage, &previous.mediations_by_stage),
    );
    out.push_str("</body>\n</html>\n");
    out
}

/// The report's period: the calendar year.
pub fn year_range(year: i32) -> Option<MonthRange> {
    MonthRange::year(year)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::figures::{CounterRow, compare, trend};

    fn report(department: Option<&str>) -> AnnualReport {
        let month = |m| Month::new(2026, m).expect("month");
        let row = |m, department: &str, dimension, value: &str, count| CounterRow {
            month: month(m),
            department: department.into(),
            dimension,
            value: value.into(),
            count,
        };
        let rows = vec![
            row(1, "social", Dimension::Received, "", 12),
            row(3, "by-og-kultur", Dimension::Received, "", 5),
            row(3, "social", Dimension::RequestType, "complaint", 9),
            row(
                3,
                "social",
                Dimension::ClosingOutcome,
                "partial_criticism",
                2,
            ),
            row(4, "social", Dimension::Answered, "", 7),
            row(4, "social", Dimension::DeadlineResult, "met", 6),
            row(4, "social", Dimension::DeadlineResult, "breached", 1),
            row(4, "social", Dimension::HandlingDays, "11", 7),
            row(5, "social", Dimension::ImprovementSuggestion, "", 1),
        ];
        let period = MonthRange::year(2026).expect("year");
        AnnualReport {
            year: 2026,
            department: department.map(str::to_owned),
            comparison: compare(&rows, period),
            trend: trend(&rows, period),
            open_now: 3,
            overdue_now: 1,
            made_on: NaiveDate::from_ymd_opt(2027, 1, 15).expect("date"),
            departments: Departments::parse("by-og-kultur,social=Social- og Sundhedsforvaltningen")
                .expect("departments"),
        }
    }

    /// A minimal RFC 4180 reader, enough to check what spreadsheets will see.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = vec![];
        let mut row = vec![];
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        rows
    }

    #[test]
    fn the_csv_parses_into_rows_of_eight_fields_with_the_key_figures() {
        let rows = parse_csv(&csv(&report(None)));
        assert!(rows.iter().all(|r| r.len() == 8), "every row has 8 fields");
        assert_eq!(
            rows[0],
            [
                "section",
                "department",
                "department_name",
                "month",
                "code",
                "label",
                "value",
                "previous"
            ]
        );
        let find = |section: &str, code: &str| {
            rows.iter()
                .find(|r| r[0] == section && r[4] == code)
                .unwrap_or_else(|| panic!("{section}/{code} missing"))
                .clone()
        };
        let received = find("key_figures", "received");
        assert_eq!(received[1..3], ["alle", "Alle forvaltninger"]);
        assert_eq!(received[6], "17");
        assert_eq!(find("key_figures", "share_within_deadline")[6], "0.8571");
        assert_eq!(find("key_figures", "median_handling_working_days")[6], "11");
        assert_eq!(
            find("closing_outcome", "partial_criticism")[5],
            "Delvis kritik"
        );
        let january = rows
            .iter()
            .find(|r| {
                r[0] == "trend" && r[1] == "social" && r[3] == "2026-01" && r[4] == "received"
            })
            .expect("social's January");
        assert_eq!(january[2], "Social- og Sundhedsforvaltningen");
        assert_eq!(january[6], "12");
        assert_eq!(
            rows.iter()
                .filter(|r| r[0] == "trend" && r[1] == "alle")
                .count(),
            48
        );
    }

    #[test]
    fn departments_are_named_in_the_csv_with_their_codes_beside_the_names() {
        let mut report = report(None);
        // Merged away since: no name configured any more, so its code stands in.
        report
            .comparison
            .current
            .by_department
            .insert("miljoe".into(), 2);
        let rows = parse_csv(&csv(&report));
        let department = |code: &str| {
            rows.iter()
                .find(|r| r[0] == "department" && r[4] == code)
                .map(|r| (r[5].clone(), r[6].clone()))
                .unwrap_or_else(|| panic!("{code} missing"))
        };
        assert_eq!(
            department("social"),
            ("Social- og Sundhedsforvaltningen".into(), "12".into())
        );
        assert_eq!(
            department("by-og-kultur"),
            ("By- og Kulturforvaltningen".into(), "5".into())
        );
        assert_eq!(department("miljoe"), ("miljoe".into(), "2".into()));
        let suggestion = rows
            .iter()
            .find(|r| r[0] == "improvement_suggestion")
            .expect("a suggestion");
        assert_eq!(
            suggestion[4..6],
            ["social", "Social- og Sundhedsforvaltningen"]
        );

        let one = parse_csv(&csv(&self::report(Some("social"))));
        assert!(
            one.iter()
                .skip(1)
                .all(|r| r[1] == "social" && r[2] == "Social- og Sundhedsforvaltningen")
        );
    }

    #[test]
    fn the_html_is_self_contained_danish_with_svg_charts_and_no_personal_data() {
        let page = html(&report(None));
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<html lang=\"da\">"));
        assert!(
            !page.contains("http"),
            "no external resources, not even a namespace URL"
        );
        assert!(!page.contains("<script") && !page.contains("<img") && !page.contains("<link"));
        assert!(
            page.matches("<svg").count() >= 4,
            "charts per department and per month"
        );
        for label in [
            "By- og Kulturforvaltningen",
            "<h3>Social- og Sundhedsforvaltningen</h3>",
            "Nøgletal",
            "marts 2026",
            "Delvis kritik",
            "Andel besvaret inden for fristen",
            "85,7 %",
        ] {
            assert!(page.contains(label), "{label} missing");
        }
        // Only ids and categories went in: nothing here could be a name or a CPR number.
        assert!(
            !page
                .chars()
                .collect::<Vec<_>>()
                .windows(6)
                .any(|w| w.iter().all(char::is_ascii_digit))
        );
    }

    #[test]
    fn a_department_report_names_it_and_escapes_what_came_from_events() {
        let mut report = report(Some("social"));
        report
            .comparison
            .current
            .by_department
            .insert("<b>&".into(), 1);
        let page = html(&report);
        assert!(page.contains("Forvaltning: Social- og Sundhedsforvaltningen"));
        assert!(page.contains("&lt;b&gt;&amp;") && !page.contains("<b>&"));
    }
}
