//! Reacts to intake's events (`borgerraad.inquiry.>`): the receipt and amendments give the
//! receipt facts, lifecycle steps are recorded by version; then the deadline is re-derived and
//! its changes published, all in the consumer's transaction. A chunk's changes are applied in
//! rounds of distinct inquiries, a few statements per round instead of several per event.

use std::collections::HashMap;

use borgerraad_messaging::{EventHandler, HandlerError, Outbox};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::from_timestamp;
use borgerraad_proto::v1::{self as pb, event::Data};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::apply::{Change, Rules, apply, apply_all};
use crate::db::Receipt;
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

impl TrackInquiries {
    /// The change an event of intake's brings, if any.
    fn change_of(event: &pb::Event, span: tracing::Span) -> Result<Option<Change>, HandlerError> {
        let (inquiry_id, receipt, steps) = match &event.data {
            Some(Data::InquiryReceived(received)) => {
                let receipt = receipt_of(received, 0)?;
                (receipt.inquiry_id, Some(receipt), vec![])
            }
            Some(Data::InquiryAmended(amended)) => {
                let answers = amended
                    .answers
                    .as_ref()
                    .ok_or_else(|| HandlerError::Poison("amendment without answers".into()))?;
                let receipt = receipt_of(answers, amended.version.max(1))?;
                (receipt.inquiry_id, Some(receipt), vec![])
            }
            Some(Data::InquiryStepTaken(taken)) => {
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
                let caseworker_id = taken.caseworker_id.clone();
                (
                    inquiry_id(&taken.inquiry_id)?,
                    None,
                    vec![(step, caseworker_id)],
                )
            }
            _ => return Ok(None),
        };
        Ok(Some(Change {
            inquiry_id,
            receipt,
            steps,
            span,
        }))
    }
}

/// Splits changes into rounds with one change per inquiry each, keeping each inquiry's order:
/// the first change of every inquiry, then the second, and so on.
pub fn rounds(changes: Vec<Change>) -> Vec<Vec<Change>> {
    let mut rounds: Vec<Vec<Change>> = Vec::new();
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    for change in changes {
        let round = seen.entry(change.inquiry_id).or_insert(0);
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(change);
        *round += 1;
    }
    rounds
}

/// The inquiry and time of an `inquiry.personal_data_erased`, if `event` is one.
fn erasure_of(event: &pb::Event) -> Result<Option<(Uuid, DateTime<Utc>)>, HandlerError> {
    let Some(Data::InquiryPersonalDataErased(erased)) = &event.data else {
        return Ok(None);
    };
    let at = erased
        .erased_at
        .as_ref()
        .and_then(from_timestamp)
        .ok_or_else(|| HandlerError::Poison("erased_at is missing or out of range".into()))?;
    Ok(Some((inquiry_id(&erased.inquiry_id)?, at)))
}

impl EventHandler for TrackInquiries {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        if let Some((inquiry_id, at)) = erasure_of(event)? {
            crate::db::erase_personal_data(transaction, inquiry_id, at).await?;
            return Ok(());
        }
        if let Some(change) = Self::change_of(event, tracing::Span::current())? {
            apply(
                transaction,
                &self.rules,
                &self.outbox,
                change,
                self.clock.now(),
            )
            .await?;
        }
        Ok(())
    }

    /// The chunk's changes in rounds of distinct inquiries, each round in a few statements.
    async fn handle_all(
        &self,
        events: &[(&pb::Event, tracing::Span)],
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let mut changes = Vec::with_capacity(events.len());
        let mut erasures = Vec::new();
        for (event, span) in events {
            erasures.extend(erasure_of(event)?);
            changes.extend(Self::change_of(event, span.clone())?);
        }
        let now = self.clock.now();
        for round in rounds(changes) {
            apply_all(transaction, &self.rules, &self.outbox, round, now).await?;
        }
        // After the chunk's steps: an erasure follows the close it is due to.
        for (inquiry_id, at) in erasures {
            crate::db::erase_personal_data(transaction, inquiry_id, at).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(inquiry_id: Uuid, version: i64) -> Change {
        Change {
            inquiry_id,
            receipt: None,
            steps: vec![(
                Step {
                    version,
                    at: chrono::DateTime::UNIX_EPOCH,
                    kind: crate::domain::StepKind::Other,
                },
                String::new(),
            )],
            span: tracing::Span::none(),
        }
    }

    fn versions(rounds: &[Vec<Change>]) -> Vec<Vec<(Uuid, i64)>> {
        rounds
            .iter()
            .map(|round| {
                round
                    .iter()
                    .map(|c| (c.inquiry_id, c.steps[0].0.version))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rounds_hold_one_change_per_inquiry_in_each_inquirys_order() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let chunk = vec![
            change(a, 1),
            change(b, 1),
            change(a, 2),
            change(a, 3),
            change(c, 1),
            change(b, 2),
        ];
        assert_eq!(
            versions(&rounds(chunk)),
            vec![
                vec![(a, 1), (b, 1), (c, 1)],
                vec![(a, 2), (b, 2)],
                vec![(a, 3)],
            ]
        );
        assert!(rounds(vec![]).is_empty());
    }
}
