//! Reacts to `inquiry.received`: assesses the inquiry, stores the assessment and publishes
//! `eligibility.assessed`, all in the consumer's transaction.

use borgerraad_messaging::{EventHandler, EventType, HandlerError, Outbox, new_event};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::timestamp;
use borgerraad_proto::v1::{self as pb, event::Data};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db;
use crate::domain::{self, InquiryFacts, Outcome, RULE_SET_VERSION, StoredAssessment};

pub struct AssessOnReceipt {
    pub outbox: Outbox,
    pub clock: SharedClock,
}

impl EventHandler for AssessOnReceipt {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let Some(Data::InquiryReceived(received)) = &event.data else {
            return Ok(());
        };
        let inquiry_id = Uuid::parse_str(&received.inquiry_id)
            .map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))?;
        let facts = InquiryFacts {
            department: received.department.clone(),
            prior_dialogue_held: received.prior_dialogue_held,
        };
        let stored = StoredAssessment {
            inquiry_id,
            department: facts.department.clone(),
            assessment: domain::assess(&facts),
            rule_set_version: RULE_SET_VERSION.to_owned(),
            assessed_at: self.clock.now(),
        };
        db::upsert_assessment(transaction, &stored).await?;
        self.outbox
            .enqueue(transaction, &assessed_event(&stored))
            .await?;
        tracing::info!(%inquiry_id, outcome = stored.assessment.outcome.as_str(), "inquiry assessed");
        Ok(())
    }
}

pub fn outcome(outcome: Outcome) -> pb::EligibilityOutcome {
    match outcome {
        Outcome::Accepted => pb::EligibilityOutcome::Accepted,
        Outcome::AcceptedInPart => pb::EligibilityOutcome::AcceptedInPart,
        Outcome::Referred => pb::EligibilityOutcome::Referred,
        Outcome::OutOfScope => pb::EligibilityOutcome::OutOfScope,
        Outcome::NeedsReview => pb::EligibilityOutcome::NeedsReview,
    }
}

fn assessed_event(stored: &StoredAssessment) -> pb::Event {
    new_event(
        "/borgerraad/eligibility",
        EventType::EligibilityAssessed,
        stored.inquiry_id,
        stored.assessed_at,
        Data::EligibilityAssessed(pb::EligibilityAssessed {
            inquiry_id: stored.inquiry_id.to_string(),
            department: stored.department.clone(),
            outcome: outcome(stored.assessment.outcome).into(),
            fired_rule_ids: stored
                .assessment
                .fired_rules
                .iter()
                .map(|rule| rule.rule_id.clone())
                .collect(),
            referral_target: stored
                .assessment
                .referral_target
                .clone()
                .unwrap_or_default(),
            rule_set_version: stored.rule_set_version.clone(),
            assessed_at: Some(timestamp(stored.assessed_at)),
        }),
    )
}
