//! Reacts to intake's events (`borgerraad.inquiry.>`): the receipt and amendments give the
//! receipt facts, lifecycle steps are recorded by version; then the deadline is re-derived and
//! its changes published, all in the consumer's transaction.

use borgerraad_messaging::{EventHandler, HandlerError, Outbox};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::from_timestamp;
use borgerraad_proto::v1::{self as pb, event::Data};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::apply::{Rules, apply};
use crate::db::{self, Receipt};
use crate::domain::{InquiryStatus, Step, step_kind};

pub struct TrackInquiries {
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub rules: Rules,
}

fn inquiry_id(raw: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(raw).map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))
}

/// The receipt facts of an `InquiryReceived` (also the shape of an amendment's answers).
pub fn receipt_of(
    received: &pb::InquiryReceived,
    answers_version: i64,
) -> Result<Receipt, HandlerError> {
    Ok(Receipt {
        inquiry_id: inquiry_id(&received.inquiry_id)?,
        department: received.department.clone(),
        reference: received.reference.clone(),
        received_at: received
            .received_at
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| HandlerError::Poison("received_at is missing or out of range".into()))?,
        answers_version,
    })
}

pub fn status_of(status: pb::InquiryStatus) -> InquiryStatus {
    use pb::InquiryStatus as S;
    match status {
        S::Received => InquiryStatus::Received,
        S::Assessed => InquiryStatus::Assessed,
        S::Assigned => InquiryStatus::Assigned,
        S::InProgress => InquiryStatus::InProgress,
        S::AwaitingRequester => InquiryStatus::AwaitingRequester,
        S::Answered => InquiryStatus::Answered,
        S::Closed => InquiryStatus::Closed,
        S::Withdrawn => InquiryStatus::Withdrawn,
        S::Unspecified => InquiryStatus::Unknown,
    }
}

impl EventHandler for TrackInquiries {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let (id, receipt) = match &event.data {
            Some(Data::InquiryReceived(received)) => {
                let receipt = receipt_of(received, 0)?;
                (receipt.inquiry_id, Some(receipt))
            }
            Some(Data::InquiryAmended(amended)) => {
                let answers = amended
                    .answers
                    .as_ref()
                    .ok_or_else(|| HandlerError::Poison("amendment without answers".into()))?;
                let receipt = receipt_of(answers, amended.version.max(1))?;
                (receipt.inquiry_id, Some(receipt))
            }
            Some(Data::InquiryStepTaken(taken)) => {
                let id = inquiry_id(&taken.inquiry_id)?;
                let at =
                    taken.at.as_ref().and_then(from_timestamp).ok_or_else(|| {
                        HandlerError::Poison("at is missing or out of range".into())
                    })?;
                let step = Step {
                    version: taken.version,
                    at,
                    kind: step_kind(
                        status_of(taken.status_before()),
                        status_of(taken.status_after()),
                    ),
                };
                db::lock_inquiry(transaction, id).await?;
                db::insert_step(transaction, id, &step, &taken.caseworker_id).await?;
                (id, None)
            }
            _ => return Ok(()),
        };
        apply(
            transaction,
            &self.rules,
            &self.outbox,
            id,
            receipt,
            self.clock.now(),
        )
        .await?;
        Ok(())
    }
}
