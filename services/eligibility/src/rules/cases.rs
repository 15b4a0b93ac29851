//! Realistic inquiries to Odense's citizens' advisor, with the form's answers, and what the
//! shipped rule set must make of them; plus checks of the texts and the deadline arithmetic.
//!
//! Decisions the table pins down:
//! - "lønsom" is not "løn", and "et byrådsmedlem ringede" is not a political decision: signals
//!   match whole words only, and a councillor calling says nothing about what the inquiry is
//!   about.
//! - Bare "ansat" and "klaget til" are not signals: complaints about a rude member of staff and
//!   about having complained to the school are ordinary in-scope complaints.
//! - "løn" is a signal, so a job-centre case about wages set off against kontanthjælp goes to
//!   review: a known false alarm, accepted because a look by a caseworker costs less than a
//!   silent wrong decision.

use chrono::NaiveDate;
use working_days::Calendar;

use super::config::RuleSet;
use super::engine::{SignalKind, assess};
use super::facts::{ComplaintTheme, Facts, OtherAuthority, OtherBody, RequestType};
use crate::domain::{self, Outcome};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A Wednesday with no holiday near it.
fn today() -> NaiveDate {
    date(2026, 11, 25)
}

/// An in-scope complaint about case handling, after dialogue with the department.
fn base(text: &str) -> Facts {
    Facts {
        department: "by-og-kultur".into(),
        request_type: Some(RequestType::Complaint),
        prior_dialogue_held: true,
        prior_dialogue_date: Some(date(2026, 10, 1)),
        complaint_themes: vec![ComplaintTheme::HandlingTime],
        description: (!text.is_empty()).then(|| text.to_owned()),
        ..Facts::default()
    }
}

struct Case {
    name: &'static str,
    text: &'static str,
    form: fn(&mut Facts),
    outcome: Outcome,
    fired: &'static [&'static str],
    target: Option<&'static str>,
}

fn case(
    name: &'static str,
    text: &'static str,
    form: fn(&mut Facts),
    outcome: Outcome,
    fired: &'static [&'static str],
    target: Option<&'static str>,
) -> Case {
    Case {
        name,
        text,
        form,
        outcome,
        fired,
        target,
    }
}

use Outcome::{Accepted, AcceptedInPart, NeedsReview, OutOfScope, Referred};

fn cases() -> Vec<Case> {
    vec![
        // Clean, accepted.
        case(
            "parking fine complaint after dialogue is accepted",
            "Jeg fik en P-afgift foran mit hus, selvom jeg har beboerlicens. Jeg har skrevet til \
             Parkering to gange uden at få svar.",
            |_| {},
            Accepted,
            &[],
            None,
        ),
        case(
            "long wait for a daycare place is accepted",
            "Vi har ventet fire måneder på svar om plads i dagtilbud til vores søn, og ingen \
             ringer tilbage.",
            |f| f.department = "boern-og-unge".into(),
            Accepted,
            &[],
            None,
        ),
        case(
            "home care arriving at random times is accepted",
            "Hjemmeplejen kommer på skiftende tidspunkter, og min mor får ikke sin medicin til \
             tiden. Jeg har talt med visitationen, men intet sker.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.complaint_themes = vec![ComplaintTheme::PracticalTasks];
            },
            Accepted,
            &[],
            None,
        ),
        case(
            "rude library staff is accepted",
            "Biblioteket ville ikke forlænge mine lån, og personalet var meget uhøfligt, da jeg \
             spurgte hvorfor.",
            |f| f.complaint_themes = vec![ComplaintTheme::ServiceAndConduct],
            Accepted,
            &[],
            None,
        ),
        case(
            "road not cleared of snow is accepted",
            "Vores vej er ikke blevet ryddet for sne i tre dage, og min mand kan ikke komme ud \
             med sin rollator.",
            |f| f.complaint_themes = vec![ComplaintTheme::PracticalTasks],
            Accepted,
            &[],
            None,
        ),
        case(
            "waste not collected for weeks is accepted",
            "Skraldet er ikke blevet hentet i tre uger. Jeg har ringet til affaldsordningen \
             flere gange.",
            |f| f.complaint_themes = vec![ComplaintTheme::PracticalTasks],
            Accepted,
            &[],
            None,
        ),
        case(
            "unanswered request for access to files is accepted",
            "Jeg bad om aktindsigt i min sag om hjælpemidler for seks uger siden og har ikke \
             fået noget.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.complaint_themes = vec![ComplaintTheme::AccessToFiles];
            },
            Accepted,
            &[],
            None,
        ),
        case(
            "help to understand a kontanthjælp decision is accepted",
            "Jeg forstår ikke afgørelsen om min kontanthjælp. Hvad betyder det, at de har \
             modregnet min opsparing?",
            |f| {
                f.department = "beskaeftigelse-og-social".into();
                f.request_type = Some(RequestType::DecisionExplanation);
                f.complaint_themes.clear();
            },
            Accepted,
            &[],
            None,
        ),
        case(
            "anonymous advice needs no prior dialogue and is accepted",
            "Jeg vil gerne vide, hvordan jeg klager over skolens håndtering af mobning, uden at \
             mit barn får problemer.",
            |f| {
                f.department = "boern-og-unge".into();
                f.request_type = Some(RequestType::Advice);
                f.anonymous = true;
                f.prior_dialogue_held = false;
                f.prior_dialogue_date = None;
                f.complaint_themes.clear();
            },
            Accepted,
            &[],
            None,
        ),
        case(
            "an improvement suggestion needs no prior dialogue and is accepted",
            "Det ville være godt, hvis man kunne booke tid hos Borgerservice på nettet.",
            |f| {
                f.department = "borgmesterforvaltningen".into();
                f.request_type = Some(RequestType::ImprovementSuggestion);
                f.prior_dialogue_held = false;
                f.complaint_themes.clear();
            },
            Accepted,
            &[],
            None,
        ),
        case(
            "an inaccessible building permit form is accepted",
            "Selvbetjeningen til ansøgning om byggetilladelse virker ikke med min skærmlæser.",
            |f| f.complaint_themes = vec![ComplaintTheme::DigitalAccessibility],
            Accepted,
            &[],
            None,
        ),
        case(
            "help with a stalled dialogue about special needs teaching is accepted",
            "Samarbejdet med sagsbehandleren om min søns specialundervisning er gået i stå. Kan \
             I hjælpe med et møde?",
            |f| {
                f.department = "boern-og-unge".into();
                f.request_type = Some(RequestType::DialogueOrMediation);
                f.complaint_themes.clear();
            },
            Accepted,
            &[],
            None,
        ),
        case(
            "an inquiry without any description is judged on the form alone",
            "",
            |_| {},
            Accepted,
            &[],
            None,
        ),
        // Rule 1.
        case(
            "a refused disability aid without prior dialogue is referred back",
            "Min ansøgning om hjælpemidler til badeværelset er blevet afvist, og jeg synes ikke, \
             det er rimeligt.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.prior_dialogue_held = false;
                f.prior_dialogue_date = None;
            },
            Referred,
            &["no-prior-dialogue"],
            Some("aeldre-og-handicap"),
        ),
        case(
            "an ongoing dialogue with the job centre is referred back",
            "Jeg har et møde med jobcentret i næste uge om min praktik, men jeg er allerede \
             utilfreds med, hvordan de har behandlet mig.",
            |f| {
                f.department = "beskaeftigelse-og-social".into();
                f.prior_dialogue_ongoing = true;
            },
            Referred,
            &["dialogue-ongoing"],
            Some("beskaeftigelse-og-social"),
        ),
        case(
            "missing school transport without prior dialogue is referred back",
            "Min datter har ikke fået befordring til skole efter sommerferien.",
            |f| {
                f.department = "boern-og-unge".into();
                f.prior_dialogue_held = false;
            },
            Referred,
            &["no-prior-dialogue"],
            Some("boern-og-unge"),
        ),
        case(
            "an unspecified request type still needs prior dialogue",
            "Hvorfor har ingen svaret på min mail om elevatoren i opgangen?",
            |f| {
                f.request_type = None;
                f.prior_dialogue_held = false;
            },
            Referred,
            &["no-prior-dialogue"],
            Some("by-og-kultur"),
        ),
        // Rule 2.
        case(
            "wanting a building permit granted is out of scope",
            "Jeg vil have kommunen til at give mig byggetilladelse til carporten. Afslaget er \
             forkert.",
            |f| {
                f.wants_decision_changed = true;
                f.complaint_themes.clear();
            },
            OutOfScope,
            &["decision-change-out-of-scope"],
            None,
        ),
        case(
            "wanting a kontanthjælp decision changed and explained is accepted in part",
            "Jeg har fået afslag på kontanthjælp og forstår ikke begrundelsen. Jeg vil have \
             afgørelsen lavet om.",
            |f| {
                f.department = "beskaeftigelse-og-social".into();
                f.request_type = Some(RequestType::DecisionExplanation);
                f.wants_decision_changed = true;
            },
            AcceptedInPart,
            &["decision-change-in-part"],
            None,
        ),
        case(
            "wanting cleaning help granted and asking where to complain is accepted in part",
            "Afslaget på hjemmehjælp til rengøring er forkert. Hvor kan jeg klage?",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.request_type = Some(RequestType::ComplaintGuidance);
                f.wants_decision_changed = true;
            },
            AcceptedInPart,
            &["decision-change-in-part"],
            None,
        ),
        case(
            "wanting a decision changed with a complaint about the investigation is accepted in part",
            "Sagsbehandleren undersøgte aldrig min søns behov for specialundervisning, før de \
             sagde nej. Afgørelsen skal ændres.",
            |f| {
                f.department = "boern-og-unge".into();
                f.complaint_themes = vec![ComplaintTheme::CaseInvestigation];
                f.wants_decision_changed = true;
            },
            AcceptedInPart,
            &["decision-change-in-part"],
            None,
        ),
        case(
            "referral back to the department beats accepting in part",
            "Jeg forstår ikke, hvorfor min mor har fået afslag på plejebolig, og det skal laves \
             om.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.request_type = Some(RequestType::DecisionExplanation);
                f.wants_decision_changed = true;
                f.prior_dialogue_held = false;
            },
            Referred,
            &["no-prior-dialogue", "decision-change-in-part"],
            Some("aeldre-og-handicap"),
        ),
        // Rule 3.
        case(
            "an appeal pending at Ankestyrelsen is referred there",
            "Min klage over afslaget på handicapbil ligger hos Ankestyrelsen. Kan I skynde på \
             dem?",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.brought_before = Some(OtherBody::Ankestyrelsen);
                f.decision_appealed = true;
            },
            Referred,
            &["other-complaint-body"],
            Some("ankestyrelsen"),
        ),
        case(
            "a matter before the Ombudsman is referred there",
            "Jeg har skrevet til Ombudsmanden om kommunens behandling af min sag om tabt \
             arbejdsfortjeneste.",
            |f| {
                f.department = "boern-og-unge".into();
                f.brought_before = Some(OtherBody::Ombudsmand);
            },
            Referred,
            &["other-complaint-body"],
            Some("folketingets-ombudsmand"),
        ),
        case(
            "a question of lawfulness for the municipal supervision is referred there",
            "Jeg mener, kommunen bryder loven ved at lukke det lokale bibliotek uden høring, og \
             jeg har bedt tilsynet se på det.",
            |f| f.brought_before = Some(OtherBody::MunicipalSupervision),
            Referred,
            &["other-complaint-body"],
            Some("ankestyrelsen-tilsyn"),
        ),
        case(
            "a lawsuit over sewer damage is referred to the courts",
            "Vi har en retssag mod kommunen om erstatning for vandskade efter kloakarbejdet.",
            |f| f.brought_before = Some(OtherBody::Court),
            Referred,
            &["other-complaint-body"],
            Some("domstolene"),
        ),
        case(
            "an appeal still with the department is referred back to it",
            "Jeg har klaget over afgørelsen om tilskud til briller og venter stadig på svar.",
            |f| {
                f.department = "beskaeftigelse-og-social".into();
                f.decision_appealed = true;
            },
            Referred,
            &["appeal-pending"],
            Some("beskaeftigelse-og-social"),
        ),
        case(
            "an appeal deadline two working days away is stated as urgent",
            "Jeg har fået afslag på merudgifter til min søn og forstår ikke hvorfor. Fristen \
             for at klage er på fredag.",
            |f| {
                f.department = "boern-og-unge".into();
                f.request_type = Some(RequestType::DecisionExplanation);
                f.decision_date = Some(date(2026, 10, 30));
                f.appeal_deadline = Some(date(2026, 11, 27));
            },
            Accepted,
            &["appeal-deadline-urgent"],
            None,
        ),
        case(
            "an appeal deadline ten days away is stated but not urgent",
            "Jeg har fået afslag på merudgifter til min søn og forstår ikke hvorfor.",
            |f| {
                f.department = "boern-og-unge".into();
                f.request_type = Some(RequestType::DecisionExplanation);
                f.appeal_deadline = Some(date(2026, 12, 5));
            },
            Accepted,
            &["appeal-deadline"],
            None,
        ),
        case(
            "a passed appeal deadline is not stated",
            "Jeg fik afslag på boligindretning i oktober og vil gerne forstå afgørelsen.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.request_type = Some(RequestType::DecisionExplanation);
                f.appeal_deadline = Some(date(2026, 11, 20));
            },
            Accepted,
            &[],
            None,
        ),
        // Rule 4.
        case(
            "a dismissal from a care home job is out of scope",
            "Jeg er blevet opsagt fra min stilling på et plejecenter og mener, det er \
             uretfærdigt.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.about_employment = true;
            },
            OutOfScope,
            &["employment"],
            None,
        ),
        case(
            "out of scope beats referral back to the department",
            "Jeg er ansat i kommunen, og min chef vil ikke give mig den løn, jeg har krav på.",
            |f| {
                f.about_employment = true;
                f.prior_dialogue_held = false;
            },
            OutOfScope,
            &["no-prior-dialogue", "employment"],
            None,
        ),
        // Rule 5.
        case(
            "stopped housing benefit is referred to Udbetaling Danmark",
            "Udbetaling Danmark har stoppet min boligstøtte, og jeg kan ikke betale huslejen.",
            |f| {
                f.department = "beskaeftigelse-og-social".into();
                f.about_other_authority = Some(OtherAuthority::UdbetalingDanmark);
            },
            Referred,
            &["other-authority"],
            Some("udbetaling-danmark"),
        ),
        case(
            "a wrong tax assessment is referred to Skattestyrelsen",
            "Min forskudsopgørelse er forkert, og nu skylder jeg penge i restskat.",
            |f| {
                f.department = "borgmesterforvaltningen".into();
                f.about_other_authority = Some(OtherAuthority::Skat);
            },
            Referred,
            &["other-authority"],
            Some("skattestyrelsen"),
        ),
        case(
            "a contact arrangement is referred to Familieretshuset rather than the department",
            "Min eksmand overholder ikke samværsaftalen, og kommunen gør ingenting.",
            |f| {
                f.department = "boern-og-unge".into();
                f.about_other_authority = Some(OtherAuthority::Familieretshuset);
                f.prior_dialogue_held = false;
            },
            Referred,
            &["no-prior-dialogue", "other-authority"],
            Some("familieretshuset"),
        ),
        case(
            "a hospital waiting time is referred to the region",
            "Jeg venter på en operation på Odense Universitetshospital og har fået flyttet tiden \
             tre gange.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.about_other_authority = Some(OtherAuthority::Regionen);
            },
            Referred,
            &["other-authority"],
            Some("region-syddanmark"),
        ),
        case(
            "a planning appeal is referred to Nævnenes Hus and planklagenævnet is no signal",
            "Jeg er uenig i afslaget på dispensation fra lokalplanen til min tilbygning, og \
             planklagenævnet har sagen nu.",
            |f| f.about_other_authority = Some(OtherAuthority::NaevnenesHus),
            Referred,
            &["other-authority"],
            Some("naevnenes-hus"),
        ),
        case(
            "referral to another authority beats out of scope",
            "Skat har sat min ejendomsvurdering alt for højt, og den skal sættes ned.",
            |f| {
                f.about_other_authority = Some(OtherAuthority::Skat);
                f.wants_decision_changed = true;
                f.complaint_themes.clear();
            },
            Referred,
            &["decision-change-out-of-scope", "other-authority"],
            Some("skattestyrelsen"),
        ),
        // Rule 6.
        case(
            "a matter closed two years ago is out of scope",
            "For to år siden fik jeg en regning for rottebekæmpelse, som jeg stadig mener er \
             forkert.",
            |f| f.department_closed_matter_on = Some(date(2024, 11, 20)),
            OutOfScope,
            &["matter-closed-long-ago"],
            None,
        ),
        case(
            "a matter closed eleven months ago is accepted",
            "Sagen om min søns fritidsplads blev lukket sidste vinter, men ingen har forklaret \
             mig hvorfor.",
            |f| {
                f.department = "boern-og-unge".into();
                f.department_closed_matter_on = Some(date(2025, 12, 20));
            },
            Accepted,
            &[],
            None,
        ),
        // Rule 7.
        case(
            "cleaning every third week decided by the city council is out of scope",
            "Byrådet har besluttet, at der kun skal gøres rent hver tredje uge i hjemmeplejen. \
             Det er uanstændigt.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.about_political_decision = true;
            },
            OutOfScope,
            &["political-decision"],
            None,
        ),
        case(
            "a suggestion about the snow clearing service level is out of scope",
            "Jeg synes, serviceniveauet for snerydning på cykelstierne er alt for lavt.",
            |f| {
                f.request_type = Some(RequestType::ImprovementSuggestion);
                f.about_political_decision = true;
                f.complaint_themes.clear();
            },
            OutOfScope,
            &["political-decision"],
            None,
        ),
        case(
            "out of scope beats accepting in part",
            "Jeg forstår ikke, hvorfor mit barn ikke kan få bus til skolen. Politikerne har \
             ændret afstandskravet, og det skal laves om.",
            |f| {
                f.department = "boern-og-unge".into();
                f.request_type = Some(RequestType::DecisionExplanation);
                f.wants_decision_changed = true;
                f.about_political_decision = true;
            },
            OutOfScope,
            &["decision-change-in-part", "political-decision"],
            None,
        ),
        // Rule 8: free text that contradicts the form.
        case(
            "talk of my boss in a non-employment inquiry needs review",
            "Min chef på jobcentret har givet mig en advarsel, og jeg er bange for at blive \
             fyret.",
            |f| f.department = "beskaeftigelse-og-social".into(),
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "savings on special needs teaching in a non-political inquiry need review",
            "Besparelserne på specialundervisningen betyder, at min søn ikke får den støtte, han \
             har brug for.",
            |f| {
                f.department = "boern-og-unge".into();
                f.complaint_themes = vec![ComplaintTheme::CaseInvestigation];
            },
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "a complaint to Ankestyrelsen the form does not mention needs review",
            "Jeg har allerede klaget til Ankestyrelsen over afslaget på hjælpemidler, men de har \
             ikke svaret.",
            |f| f.department = "aeldre-og-handicap".into(),
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "a lawyer's summons the form does not mention needs review",
            "Min advokat har stævnet kommunen på grund af byggetilladelsen til naboens hus.",
            |_| {},
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "a CPR number in the description needs review",
            "Mit CPR-nummer er 010190-1234, og jeg har ikke fået svar på min ansøgning om \
             kontanthjælp.",
            |f| f.department = "beskaeftigelse-og-social".into(),
            NeedsReview,
            &["cpr-in-free-text"],
            None,
        ),
        case(
            "review keeps the department as the suggested target",
            "Min leder i hjemmeplejen har ændret min vagtplan uden at spørge.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.prior_dialogue_held = false;
            },
            NeedsReview,
            &["no-prior-dialogue", "free-text-contradicts-form"],
            Some("aeldre-og-handicap"),
        ),
        case(
            "review beats referral to another authority",
            "Udbetaling Danmark har stoppet min pension, og nu er der en retssag i byretten.",
            |f| f.about_other_authority = Some(OtherAuthority::UdbetalingDanmark),
            NeedsReview,
            &["other-authority", "free-text-contradicts-form"],
            Some("udbetaling-danmark"),
        ),
        case(
            "review beats out of scope",
            "Byrådet har sparet på hjemmeplejen, og nu siger min chef, at jeg bliver opsagt.",
            |f| {
                f.department = "aeldre-og-handicap".into();
                f.department_closed_matter_on = Some(date(2023, 1, 5));
            },
            NeedsReview,
            &["matter-closed-long-ago", "free-text-contradicts-form"],
            None,
        ),
        case(
            "a job centre case mentioning wages goes to review as a known false alarm",
            "Jobcentret har trukket min løn fra i kontanthjælpen, selvom jeg kun arbejdede to \
             dage.",
            |f| f.department = "beskaeftigelse-og-social".into(),
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        // Tricky non-matches and signals that agree with the form.
        case(
            "lønsom does not match the signal løn",
            "Det er ikke lønsomt for mig at tage det job, jobcentret har fundet, og nu truer de \
             med at stoppe min ydelse.",
            |f| f.department = "beskaeftigelse-og-social".into(),
            Accepted,
            &[],
            None,
        ),
        case(
            "a councillor calling is not a political decision",
            "Et byrådsmedlem ringede til mig og sagde, at jeg skulle skrive til jer om kørslen \
             til dagcentret.",
            |f| f.department = "aeldre-og-handicap".into(),
            Accepted,
            &[],
            None,
        ),
        case(
            "a rude member of staff is not about employment",
            "En ansat i Borgerservice var meget uhøflig over for min far, da han skulle have nyt \
             pas.",
            |f| {
                f.department = "borgmesterforvaltningen".into();
                f.complaint_themes = vec![ComplaintTheme::ServiceAndConduct];
            },
            Accepted,
            &[],
            None,
        ),
        case(
            "having complained to the school is not another complaint body",
            "Jeg har klaget til skolens leder over mobningen af min datter, men intet sker.",
            |f| f.department = "boern-og-unge".into(),
            Accepted,
            &[],
            None,
        ),
        case(
            "employment words agree with a form that says employment",
            "Jeg er ansat i kommunen, og min chef har givet mig en advarsel.",
            |f| f.about_employment = true,
            OutOfScope,
            &["employment"],
            None,
        ),
        case(
            "appeal words agree with a form that says the decision was appealed",
            "Jeg har anket afgørelsen om min kontanthjælp og venter på svar.",
            |f| {
                f.department = "beskaeftigelse-og-social".into();
                f.decision_appealed = true;
            },
            Referred,
            &["appeal-pending"],
            Some("beskaeftigelse-og-social"),
        ),
        // The same in English: people write to the office in either language.
        case(
            "an English complaint about a dismissal from a municipal job needs review",
            "I was dismissed from my job at the municipal nursing home last month and my manager \
             never explained why.",
            |f| f.department = "aeldre-og-handicap".into(),
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "an English lawsuit against the municipality needs review",
            "My lawyer has filed a lawsuit against the municipality over the building permit for \
             my neighbour's extension.",
            |_| {},
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "an English complaint already with the Parliamentary Ombudsman needs review",
            "My complaint about the home help is already with the Parliamentary Ombudsman, but I \
             have heard nothing for months.",
            |f| f.department = "aeldre-og-handicap".into(),
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "English talk of budget cuts in a complaint needs review",
            "The city council's budget cuts mean my son no longer gets the support he needs at \
             school.",
            |f| {
                f.department = "boern-og-unge".into();
                f.complaint_themes = vec![ComplaintTheme::CaseInvestigation];
            },
            NeedsReview,
            &["free-text-contradicts-form"],
            None,
        ),
        case(
            "an ordinary English complaint is accepted",
            "I have waited six months for an answer about my building permit, and nobody at the \
             department answers my e-mails.",
            |_| {},
            Accepted,
            &[],
            None,
        ),
        case(
            "English employment words agree with a form that says employment",
            "I am employed by the municipality and my boss has given me a warning.",
            |f| f.about_employment = true,
            OutOfScope,
            &["employment"],
            None,
        ),
        // A wish to be answered by SMS: the person is told, the caseworker sees it.
        case(
            "a Danish wish for an answer by SMS is a notice and a signal",
            "Jeg har ventet i otte måneder på min byggetilladelse. Svar mig gerne på SMS, jeg \
             læser ikke Digital Post.",
            |_| {},
            Accepted,
            &["sms-requested"],
            None,
        ),
        case(
            "an English wish for an answer by SMS is a notice and a signal",
            "I have waited eight months for my building permit. Please reply by SMS, I never \
             read my Digital Post.",
            |_| {},
            Accepted,
            &["sms-requested"],
            None,
        ),
        case(
            "a word on a text message from the municipality is not a wish for an answer by SMS",
            "Kommunen sendte mig en påmindelse om afhentning af storskrald, men bilen kom aldrig.",
            |f| f.complaint_themes = vec![ComplaintTheme::PracticalTasks],
            Accepted,
            &[],
            None,
        ),
        // Everything at once.
        case(
            "a complaint body beats every other target and all rules are listed in order",
            "",
            |f| {
                f.prior_dialogue_held = false;
                f.brought_before = Some(OtherBody::Ankestyrelsen);
                f.about_employment = true;
                f.about_political_decision = true;
                f.about_other_authority = Some(OtherAuthority::NaevnenesHus);
            },
            Referred,
            &[
                "no-prior-dialogue",
                "other-complaint-body",
                "employment",
                "other-authority",
                "political-decision",
            ],
            Some("ankestyrelsen"),
        ),
    ]
}

#[test]
fn every_realistic_inquiry_gets_the_expected_outcome_rules_and_target() {
    let rules = RuleSet::default_rules().unwrap();
    let calendar = Calendar::danish_default();
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let mut facts = base(case.text);
        (case.form)(&mut facts);
        let got = assess(&rules, &facts, today(), &calendar);
        let ids = got.fired_rule_ids();
        if got.outcome != case.outcome
            || ids != case.fired
            || got.referral_target.as_deref() != case.target
        {
            failures.push(format!(
                "{}:\n  expected {:?} {:?} {:?}\n  got      {:?} {:?} {:?} {:?}",
                case.name,
                case.outcome,
                case.fired,
                case.target,
                got.outcome,
                ids,
                got.referral_target,
                got.review_signals
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn case_names_are_unique() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len());
}

fn assess_default(facts: &Facts) -> super::engine::Assessment {
    let rules = RuleSet::default_rules().unwrap();
    assess(&rules, facts, today(), &Calendar::danish_default())
}

#[test]
fn referral_back_names_the_department_and_says_why() {
    let mut facts = base("");
    facts.prior_dialogue_held = false;
    let got = assess_default(&facts);
    let rule = &got.fired_rules[0];
    assert!(rule.explanation_da.contains("By- og Kulturforvaltningen"));
    assert!(rule.explanation_da.contains("kender din sag"));
    assert!(rule.explanation_en.contains("City and Culture Department"));
    assert!(!rule.explanation_da.contains('{'));
}

#[test]
fn referral_to_a_complaint_body_gives_its_name_and_web_address() {
    for (body, name, url) in [
        (OtherBody::Ankestyrelsen, "Ankestyrelsen", "https://ast.dk"),
        (
            OtherBody::MunicipalSupervision,
            "Ankestyrelsens kommunetilsyn",
            "https://ast.dk/tilsyn",
        ),
        (
            OtherBody::Ombudsmand,
            "Folketingets Ombudsmand",
            "https://www.ombudsmanden.dk",
        ),
        (OtherBody::Court, "domstolene", "https://www.domstol.dk"),
    ] {
        let mut facts = base("");
        facts.brought_before = Some(body);
        let got = assess_default(&facts);
        let text = &got.fired_rules[0].explanation_da;
        assert!(text.contains(name) && text.contains(url), "{text}");
    }
}

#[test]
fn referral_to_another_authority_gives_its_name_and_web_address() {
    let mut facts = base("");
    facts.about_other_authority = Some(OtherAuthority::Familieretshuset);
    let got = assess_default(&facts);
    let text = &got.fired_rules[0].explanation_en;
    assert!(text.contains("Familieretshuset") && text.contains("https://familieretshuset.dk"));
}

#[test]
fn an_urgent_appeal_deadline_is_flagged_and_stated_with_the_working_days_left() {
    let mut facts = base("");
    facts.appeal_deadline = Some(date(2026, 11, 27));
    let got = assess_default(&facts);
    assert!(got.urgent);
    assert_eq!(got.appeal_deadline, Some(date(2026, 11, 27)));
    let rule = &got.fired_rules[0];
    assert!(
        rule.explanation_da.contains("27. november 2026"),
        "{}",
        rule.explanation_da
    );
    assert!(rule.explanation_da.contains("om 2 arbejdsdage"));
    assert!(rule.explanation_en.contains("27 November 2026"));
}

#[test]
fn an_appeal_deadline_ten_days_away_is_stated_but_not_urgent() {
    let mut facts = base("");
    facts.appeal_deadline = Some(date(2026, 12, 5));
    let got = assess_default(&facts);
    assert!(!got.urgent);
    assert_eq!(got.appeal_deadline, Some(date(2026, 12, 5)));
    assert!(
        got.fired_rules[0]
            .explanation_da
            .contains("5. december 2026")
    );
}

#[test]
fn an_appeal_deadline_today_is_still_open_and_urgent() {
    let mut facts = base("");
    facts.appeal_deadline = Some(today());
    let got = assess_default(&facts);
    assert!(got.urgent);
    assert_eq!(got.fired_rule_ids(), ["appeal-deadline-urgent"]);
}

#[test]
fn an_already_appealed_decision_has_no_deadline_to_state() {
    let mut facts = base("");
    facts.decision_appealed = true;
    facts.appeal_deadline = Some(date(2026, 11, 27));
    let got = assess_default(&facts);
    assert!(!got.urgent);
    assert_eq!(got.appeal_deadline, None);
    assert_eq!(got.fired_rule_ids(), ["appeal-pending"]);
}

#[test]
fn christmas_days_do_not_count_towards_the_urgent_working_days() {
    // From Tuesday 22 December 2026 to Tuesday 29 December: juleaftensdag, both Christmas
    // days and the weekend leave three working days (23, 28 and 29 December).
    let rules = RuleSet::default_rules().unwrap();
    let mut facts = base("");
    facts.appeal_deadline = Some(date(2026, 12, 29));
    let before_christmas = date(2026, 12, 22);
    let danish = assess(
        &rules,
        &facts,
        before_christmas,
        &Calendar::danish_default(),
    );
    assert!(danish.urgent);
    assert!(
        danish.fired_rules[0]
            .explanation_da
            .contains("om 3 arbejdsdage")
    );
    let weekends_only = assess(&rules, &facts, before_christmas, &Calendar::weekends_only());
    assert!(!weekends_only.urgent);
}

#[test]
fn the_urgent_threshold_comes_from_the_rule_file() {
    let yaml = super::config::DEFAULT_RULES_YAML.replace(
        "urgent_appeal_working_days: 3",
        "urgent_appeal_working_days: 10",
    );
    let rules = RuleSet::from_yaml(&yaml).unwrap();
    let mut facts = base("");
    facts.appeal_deadline = Some(date(2026, 12, 5));
    assert!(assess(&rules, &facts, today(), &Calendar::danish_default()).urgent);
}

#[test]
fn the_closed_matter_age_comes_from_the_rule_file() {
    let yaml = super::config::DEFAULT_RULES_YAML.replace(
        "closed_matter_max_age_days: 365",
        "closed_matter_max_age_days: 30",
    );
    let rules = RuleSet::from_yaml(&yaml).unwrap();
    let mut facts = base("");
    facts.department_closed_matter_on = Some(date(2026, 9, 1));
    let got = assess(&rules, &facts, today(), &Calendar::danish_default());
    assert_eq!(got.fired_rule_ids(), ["matter-closed-long-ago"]);
    assert!(
        got.fired_rules[0]
            .explanation_da
            .contains("1. september 2026")
    );
}

#[test]
fn a_matter_closed_exactly_a_year_ago_is_still_in_scope() {
    let mut facts = base("");
    facts.department_closed_matter_on = Some(date(2025, 11, 25));
    assert_eq!(assess_default(&facts).outcome, Outcome::Accepted);
    facts.department_closed_matter_on = Some(date(2025, 11, 24));
    assert_eq!(assess_default(&facts).outcome, Outcome::OutOfScope);
}

#[test]
fn contradictions_name_the_topics_to_the_person_and_the_signals_to_the_caseworker() {
    let got = assess_default(&base(
        "Byrådet har sparet på hjemmeplejen, og nu siger min chef, at jeg bliver opsagt.",
    ));
    let kinds: Vec<SignalKind> = got.review_signals.iter().map(|hit| hit.kind).collect();
    assert_eq!(
        kinds,
        [SignalKind::Employment, SignalKind::PoliticalDecision]
    );
    assert_eq!(got.review_signals[0].signal, "min chef");
    assert_eq!(got.review_signals[1].signal, "byrådet");
    let text = &got.fired_rules[0].explanation_da;
    assert!(
        text.contains("et ansættelsesforhold og en politisk beslutning"),
        "{text}"
    );
}

#[test]
fn signals_are_found_whatever_the_case() {
    let got = assess_default(&base("MIN CHEF HAR FYRET MIG"));
    assert_eq!(got.outcome, Outcome::NeedsReview);
}

#[test]
fn political_decisions_offer_to_pass_the_inquiry_on_as_a_suggestion() {
    let mut facts = base("");
    facts.about_political_decision = true;
    let got = assess_default(&facts);
    assert!(
        got.fired_rules[0]
            .explanation_da
            .contains("forslag til forbedring")
    );
    assert!(
        got.fired_rules[0]
            .explanation_en
            .contains("suggestion for improvement")
    );
}

#[test]
fn employment_points_to_hr_and_the_union() {
    let mut facts = base("");
    facts.about_employment = true;
    let got = assess_default(&facts);
    assert!(got.fired_rules[0].explanation_da.contains("HR"));
    assert!(got.fired_rules[0].explanation_da.contains("fagforening"));
}

#[test]
fn the_rule_set_version_is_stamped_on_the_assessment() {
    let rules = RuleSet::default_rules().unwrap();
    let got = assess(&rules, &base(""), today(), &Calendar::danish_default());
    assert_eq!(got.rule_set_version, rules.version);
    assert_eq!(got.rule_set_version, "2026.12-1");
}

#[test]
fn the_assessment_converts_to_the_service_s_domain_type() {
    let mut facts = base("");
    facts.prior_dialogue_held = false;
    let got = assess_default(&facts);
    let domain: domain::Assessment = got.clone().into();
    assert_eq!(domain.outcome, got.outcome);
    assert_eq!(domain.fired_rules, got.fired_rules);
    assert_eq!(domain.referral_target.as_deref(), Some("by-og-kultur"));
}

#[test]
fn the_same_inquiry_always_gets_the_same_assessment() {
    let mut facts = base("Min chef har fyret mig, og byrådet er ligeglad. 010190-1234");
    facts.prior_dialogue_held = false;
    facts.appeal_deadline = Some(date(2026, 11, 30));
    assert_eq!(assess_default(&facts), assess_default(&facts));
}

#[test]
fn every_signal_topic_has_english_keywords_beside_the_danish_ones() {
    let rules = RuleSet::default_rules().unwrap();
    let topics = &rules.signals;
    for (name, topic) in [
        ("employment", &topics.employment),
        ("political_decision", &topics.political_decision),
        ("other_body", &topics.other_body),
        ("lawsuit", &topics.lawsuit),
        ("sms_answer", &topics.sms_answer),
    ] {
        assert!(!topic.danish().is_empty(), "{name}: Danish keywords");
        assert!(!topic.english().is_empty(), "{name}: English keywords");
    }
}

#[test]
fn an_sms_wish_shows_the_caseworker_the_signal_and_tells_the_person_the_channel() {
    let got = assess_default(&base(
        "Kan I ikke bare sende mig en sms, når sagen er afgjort?",
    ));
    let kinds: Vec<SignalKind> = got.review_signals.iter().map(|hit| hit.kind).collect();
    assert_eq!(kinds, [SignalKind::SmsAnswer]);
    assert_eq!(got.review_signals[0].signal, "sende mig en sms");
    assert_eq!(
        got.outcome,
        Outcome::Accepted,
        "the wish changes no outcome"
    );
    let rule = &got.fired_rules[0];
    assert!(rule.explanation_da.contains("svarer ikke på SMS"));
    assert!(
        rule.explanation_en
            .contains("does not answer by text message")
    );
}

#[test]
fn an_sms_wish_beside_a_contradiction_leaves_the_review_to_the_contradiction() {
    let got = assess_default(&base("Min chef har fyret mig. Svar på sms, tak."));
    let kinds: Vec<SignalKind> = got.review_signals.iter().map(|hit| hit.kind).collect();
    assert_eq!(kinds, [SignalKind::Employment, SignalKind::SmsAnswer]);
    assert_eq!(
        got.fired_rule_ids(),
        ["free-text-contradicts-form", "sms-requested"]
    );
    assert_eq!(got.outcome, Outcome::NeedsReview);
    assert!(
        !got.fired_rules[0].explanation_da.contains("sms"),
        "the contradiction names only its own topics: {}",
        got.fired_rules[0].explanation_da
    );
}
