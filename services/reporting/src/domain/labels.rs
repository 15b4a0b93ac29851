//! Danish names for the report: months, the category codes the events carry, and departments
//! (whose names come from configuration).

use borgerraad_platform::departments::Departments;

use super::Month;
use super::state::Dimension;

/// "marts 2026".
pub fn month_da(month: Month) -> String {
    let name = working_days::month_da(month.month).unwrap_or("?");
    format!("{name} {}", month.year)
}

/// The short month name for chart axes: "mar".
pub fn month_short_da(month: Month) -> &'static str {
    const SHORT: [&str; 12] = [
        "jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
    ];
    SHORT
        .get(month.month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?")
}

/// A dimension's heading in the report.
pub fn dimension_da(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Received => "Modtagne henvendelser",
        Dimension::RequestType => "Henvendelsestype",
        Dimension::ComplaintTheme => "Klagetema",
        Dimension::RequesterKind => "Henvender",
        Dimension::ArrivalChannel => "Indgangskanal",
        Dimension::EligibilityOutcome => "Kompetencevurdering",
        Dimension::ReferralTarget => "Henvist til",
        Dimension::ClosingOutcome => "Afslutning",
        Dimension::HandlingMethod => "Behandlingsform",
        Dimension::MediationStage => "Mægling",
        Dimension::MediationResult => "Resultat af mægling",
        Dimension::Answered => "Besvarede",
        Dimension::Overdue => "Overskredet frist",
        Dimension::DeadlineResult => "Svarfrist",
        Dimension::HandlingDays => "Sagsbehandlingstid (arbejdsdage)",
        Dimension::ImprovementSuggestion => "Forbedringsforslag",
    }
}

/// The Danish name of `code` counted under `dimension`: a department's from `departments` (the
/// code itself for one no longer configured), any other category's from [`code_da`].
pub fn category_da<'a>(
    dimension: Dimension,
    code: &'a str,
    departments: &'a Departments,
) -> &'a str {
    if dimension.counts_departments() {
        departments.name_da(code)
    } else {
        code_da(code)
    }
}

/// A category code's Danish name; codes without one (departments, referral targets) as they are.
pub fn code_da(code: &str) -> &str {
    match code {
        // Request types.
        "advice" => "Rådgivning",
        "complaint" => "Klage",
        "complaint_guidance" => "Klagevejledning",
        "decision_explanation" => "Forklaring af afgørelse",
        "dialogue_or_mediation" => "Dialog eller mægling",
        "improvement_suggestion" => "Forbedringsforslag",
        // Complaint themes.
        "handling_time" => "Sagsbehandlingstid",
        "case_investigation" => "Sagsoplysning",
        "reasons" => "Begrundelse",
        "guidance" => "Vejledning",
        "service_and_conduct" => "Service og adfærd",
        "access_to_files" => "Aktindsigt",
        "practical_tasks" => "Praktiske opgaver",
        "digital_accessibility" => "Digital tilgængelighed",
        // Requester kinds.
        "citizen" => "Borger",
        "association" => "Forening",
        "business" => "Virksomhed",
        // Arrival channels.
        "web_form" => "Webformular",
        "email" => "E-mail",
        "letter" => "Brev",
        "phone" => "Telefon",
        "in_person" => "Personligt fremmøde",
        "digital_post" => "Digital Post",
        // Eligibility outcomes.
        "accepted" => "Inden for kompetence",
        "accepted_in_part" => "Delvist inden for kompetence",
        "referred" => "Henvist",
        "out_of_scope" => "Uden for kompetence",
        "needs_review" => "Til manuel vurdering",
        // Closing outcomes.
        "resolved_through_dialogue" => "Løst gennem dialog",
        "criticism" => "Kritik",
        "partial_criticism" => "Delvis kritik",
        "no_criticism" => "Ingen kritik",
        "withdrawn" => "Trukket tilbage",
        // Handling methods.
        "forwarded_to_department" => "Videresendt til forvaltningen",
        "investigation" => "Undersøgelse",
        "mediation" => "Mægling",
        // Mediation.
        "offered" => "Tilbudt",
        "held" => "Afholdt",
        "declined" => "Afslået",
        "agreement" => "Enighed",
        "partial_agreement" => "Delvis enighed",
        "no_agreement" => "Ingen enighed",
        // Deadline.
        "met" => "Overholdt",
        "breached" => "Overskredet",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_in_danish() {
        assert_eq!(month_da(Month::new(2026, 3).expect("month")), "marts 2026");
        assert_eq!(month_short_da(Month::new(2026, 10).expect("month")), "okt");
    }

    #[test]
    fn codes_get_danish_names_and_departments_stay_as_they_are() {
        assert_eq!(code_da("partial_criticism"), "Delvis kritik");
        assert_eq!(code_da("by-og-kultur"), "by-og-kultur");
    }

    #[test]
    fn departments_are_named_from_configuration_and_old_codes_stay_readable() {
        let departments = Departments::parse("by-og-kultur,miljoe=Miljø- og Teknikforvaltningen")
            .expect("departments");
        let name = |dimension, code| category_da(dimension, code, &departments);
        assert_eq!(
            name(Dimension::Received, "miljoe"),
            "Miljø- og Teknikforvaltningen"
        );
        assert_eq!(
            name(Dimension::ImprovementSuggestion, "by-og-kultur"),
            "By- og Kulturforvaltningen"
        );
        assert_eq!(
            name(Dimension::Received, "social"),
            "social",
            "merged away since"
        );
        assert_eq!(name(Dimension::ClosingOutcome, "criticism"), "Kritik");
    }
}
