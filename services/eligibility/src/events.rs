//! Reacts to `inquiry.received` and `inquiry.amended`: reads the description from intake when
//! the person wrote one (free text never travels on NATS), runs the rules, stores the
//! assessment with its history and publishes `eligibility.assessed`, all in the consumer's
//! transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use borgerraad_messaging::{EventHandler, EventType, HandlerError, Outbox, new_event};
use borgerraad_platform::auth::AuthorizedChannel;
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_platform::grpc::TraceContextInterceptor;
use borgerraad_proto::v1::intake_service_client::IntakeServiceClient;
use borgerraad_proto::v1::{self as pb, event::Data};
use sqlx::PgConnection;
use tonic::service::interceptor::InterceptedService;
use uuid::Uuid;
use working_days::Calendar;

use crate::convert::{facts_from_answers, outcome};
use crate::db;
use crate::domain::{HistoryEntry, HistoryKind, StoredAssessment, Verdict, reassess};
use crate::rules::{self, RuleSet};

pub type IntakeClient =
    IntakeServiceClient<InterceptedService<AuthorizedChannel, TraceContextInterceptor>>;

/// The actor named in the history for the rules' own assessments.
pub const RULES_ACTOR: &str = "eligibility-rules";

pub struct AssessInquiry {
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub rules: Arc<RuleSet>,
    pub calendar: Arc<Calendar>,
    pub intake: IntakeClient,
    /// Descriptions fetched for a batch by `prepare`, taken by `handle`; in memory only, and
    /// dropped after a minute if no assessment took them.
    pub prepared: Mutex<HashMap<Uuid, (Instant, String)>>,
}

/// How long a prepared description waits for its assessment.
const PREPARED_FOR: Duration = Duration::from_secs(60);

/// The inquiry whose description an event's assessment needs, if any.
fn needs_description(event: &pb::Event) -> Option<Uuid> {
    let answers = match &event.data {
        Some(Data::InquiryReceived(received)) => received,
        Some(Data::InquiryAmended(amended)) => amended.answers.as_ref()?,
        _ => return None,
    };
    answers
        .has_description
        .then(|| Uuid::parse_str(&answers.inquiry_id).ok())
        .flatten()
}

impl AssessInquiry {
    pub fn new(
        outbox: Outbox,
        clock: SharedClock,
        rules: Arc<RuleSet>,
        calendar: Arc<Calendar>,
        intake: IntakeClient,
    ) -> Self {
        Self {
            outbox,
            clock,
            rules,
            calendar,
            intake,
            prepared: Mutex::new(HashMap::new()),
        }
    }

    fn take_prepared(&self, inquiry_id: Uuid) -> Option<String> {
        let mut prepared = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        prepared
            .remove(&inquiry_id)
            .map(|(_, description)| description)
    }

    /// The person's description, read from intake for this assessment only. Intake shows any
    /// CPR number in it masked (`DDMMYY-XXXX`), which `cpr-in-free-text` still finds, so the
    /// number itself never reaches this service.
    async fn description(&self, inquiry_id: Uuid) -> Result<Option<String>, HandlerError> {
        if let Some(description) = self.take_prepared(inquiry_id) {
            return Ok(Some(description));
        }
        let mut intake = self.intake.clone();
        let request = pb::GetInquiryRequest {
            inquiry_id: inquiry_id.to_string(),
            ..Default::default()
        };
        match intake.get_inquiry(request).await {
            Ok(inquiry) => Ok(Some(inquiry.into_inner().description)),
            Err(status) if status.code() == tonic::Code::NotFound => Err(HandlerError::Poison(
                "intake does not know the inquiry".into(),
            )),
            // Intake down or busy: try again later rather than assess without the text.
            Err(status) => Err(HandlerError::Retry(anyhow::anyhow!(
                "cannot read the description from intake: {}",
                status.code()
            ))),
        }
    }
}

impl EventHandler for AssessInquiry {
    /// One `BatchGetInquiries` for the batch's descriptions instead of a call per event; what
    /// fails here is fetched again, one by one, by `handle`.
    async fn prepare(&self, events: &[&pb::Event]) {
        let ids: Vec<String> = events
            .iter()
            .filter_map(|event| needs_description(event))
            .map(|id| id.to_string())
            .collect();
        if ids.len() < 2 {
            return;
        }
        let mut intake = self.intake.clone();
        let fetched = match intake
            .batch_get_inquiries(pb::BatchGetInquiriesRequest { inquiry_ids: ids })
            .await
        {
            Ok(response) => response.into_inner().inquiries,
            Err(status) => {
                tracing::warn!(code = ?status.code(), "cannot read descriptions in one call");
                return;
            }
        };
        let now = Instant::now();
        let mut prepared = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        prepared.retain(|_, (at, _)| now.duration_since(*at) < PREPARED_FOR);
        for inquiry in fetched {
            if let Ok(id) = Uuid::parse_str(&inquiry.inquiry_id) {
                prepared.insert(id, (now, inquiry.description));
            }
        }
    }

    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let (answers, inquiry_version) = match &event.data {
            Some(Data::InquiryReceived(received)) => (received, 1),
            Some(Data::InquiryAmended(pb::InquiryAmended {
                answers: Some(answers),
                version,
                ..
            })) => (answers, *version),
            Some(Data::InquiryAmended(_)) => {
                return Err(HandlerError::Poison("amendment without answers".into()));
            }
            Some(Data::InquiryPersonalDataErased(erased)) => {
                let inquiry_id = Uuid::parse_str(&erased.inquiry_id)
                    .map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))?;
                let at = erased
                    .erased_at
                    .as_ref()
                    .and_then(borgerraad_platform::convert::from_timestamp)
                    .ok_or_else(|| HandlerError::Poison("erased_at is missing".into()))?;
                // A description read for an assessment in hand is not kept past it.
                drop(self.take_prepared(inquiry_id));
                return db::erase_personal_data(transaction, inquiry_id, at)
                    .await
                    .map_err(HandlerError::Retry);
            }
            _ => return Ok(()),
        };
        let inquiry_id = Uuid::parse_str(&answers.inquiry_id)
            .map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))?;
        let previous = db::lock_assessment(transaction, inquiry_id)
            .await
            .map_err(HandlerError::Retry)?;
        if previous
            .as_ref()
            .is_some_and(|p| p.inquiry_version >= inquiry_version)
        {
            return Ok(());
        }
        let description = if answers.has_description {
            self.description(inquiry_id).await?
        } else {
            None
        };
        let facts = facts_from_answers(answers, description).map_err(HandlerError::Poison)?;
        let now = self.clock.now();
        let today = working_days::copenhagen_date(now);
        let verdict = Verdict::from(rules::assess(&self.rules, &facts, today, &self.calendar));
        drop(facts);
        let Some(stored) = reassess(
            previous.as_ref(),
            inquiry_id,
            answers.department.clone(),
            inquiry_version,
            verdict,
            now,
        ) else {
            return Ok(());
        };
        let history = HistoryEntry {
            revision: stored.revision,
            kind: HistoryKind::Assessment,
            outcome: stored.verdict.assessment.outcome,
            referral_target: stored.verdict.assessment.referral_target.clone(),
            fired_rule_ids: stored
                .verdict
                .assessment
                .fired_rules
                .iter()
                .map(|rule| rule.rule_id.clone())
                .collect(),
            rule_set_version: stored.verdict.rule_set_version.clone(),
            actor: RULES_ACTOR.to_owned(),
            reason: None,
            at: now,
        };
        db::save_assessment(transaction, &stored, &history).await?;
        self.outbox
            .enqueue(transaction, &assessed_event(&stored))
            .await?;
        tracing::info!(
            %inquiry_id,
            outcome = stored.outcome().as_str(),
            revision = stored.revision,
            "inquiry assessed"
        );
        Ok(())
    }
}

/// `eligibility.assessed` for the assessment as it now stands (after an assessment or override).
pub fn assessed_event(stored: &StoredAssessment) -> pb::Event {
    let at = stored
        .override_
        .as_ref()
        .map_or(stored.assessed_at, |o| o.at.max(stored.assessed_at));
    new_event(
        borgerraad_messaging::Producer::Eligibility.source(),
        EventType::EligibilityAssessed,
        stored.inquiry_id,
        at,
        Data::EligibilityAssessed(pb::EligibilityAssessed {
            inquiry_id: stored.inquiry_id.to_string(),
            department: stored.department.clone(),
            outcome: outcome(stored.outcome()).into(),
            fired_rule_ids: stored
                .verdict
                .assessment
                .fired_rules
                .iter()
                .map(|rule| rule.rule_id.clone())
                .collect(),
            referral_target: stored.referral_target().unwrap_or_default().to_owned(),
            rule_set_version: stored.verdict.rule_set_version.clone(),
            assessed_at: Some(timestamp(at)),
            revision: stored.revision,
            overridden: stored.override_.is_some(),
            urgent: stored.verdict.urgent,
            appeal_deadline: stored.verdict.appeal_deadline.map(date),
        }),
    )
}
