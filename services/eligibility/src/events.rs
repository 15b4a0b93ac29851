//! Reacts to `inquiry.received` and `inquiry.amended`: reads the description from intake when
//! the person wrote one (free text never travels on NATS), runs the rules, stores the
//! assessment with its history and publishes `eligibility.assessed`, all in the consumer's
//! transaction.

use std::sync::Arc;

use borgerraad_messaging::{EventHandler, EventType, HandlerError, Outbox, new_event};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, timestamp};
use borgerraad_platform::grpc::TraceContextInterceptor;
use borgerraad_proto::v1::intake_service_client::IntakeServiceClient;
use borgerraad_proto::v1::{self as pb, event::Data};
use sqlx::PgConnection;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;
use working_days::Calendar;

use crate::convert::{facts_from_answers, outcome};
use crate::db;
use crate::domain::{HistoryEntry, HistoryKind, StoredAssessment, Verdict, reassess};
use crate::rules::{self, RuleSet};

pub type IntakeClient = IntakeServiceClient<InterceptedService<Channel, TraceContextInterceptor>>;

/// The actor named in the history for the rules' own assessments.
pub const RULES_ACTOR: &str = "eligibility-rules";

pub struct AssessInquiry {
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub rules: Arc<RuleSet>,
    pub calendar: Arc<Calendar>,
    pub intake: IntakeClient,
}

impl AssessInquiry {
    /// The person's description, read from intake for this assessment only.
    async fn description(&self, inquiry_id: Uuid) -> Result<Option<String>, HandlerError> {
        let mut intake = self.intake.clone();
        let request = pb::GetInquiryRequest {
            inquiry_id: inquiry_id.to_string(),
            reveal_cpr: false,
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
        "/borgerraad/eligibility",
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
