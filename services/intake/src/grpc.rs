//! The `IntakeService` gRPC adapter: converts proto ⇄ domain and writes through [`crate::db`].

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use borgerraad_messaging::{Outbox, OutboxRow, new_event};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, from_date, timestamp};
use borgerraad_platform::grpc::{FieldViolation, parse_id};
use borgerraad_proto::v1::{self as pb, intake_service_server::IntakeService};
use chrono::Datelike;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::db;
use crate::domain::{
    self, ContactChannel, Inquiry, InquiryStatus, RequestType, RequestedChannel, RequesterKind,
    Submission,
};
use crate::error::IntakeError;

const DEFAULT_PAGE_SIZE: i32 = 50;
const MAX_PAGE_SIZE: i32 = 500;

#[derive(Clone)]
pub struct IntakeApi {
    pub pool: PgPool,
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub departments: Arc<[String]>,
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn submit_inquiry(
        &self,
        request: Request<pb::SubmitInquiryRequest>,
    ) -> Result<Response<pb::SubmitInquiryResponse>, Status> {
        let received_at = self.clock.now();
        let today = working_days::copenhagen_date(received_at);
        let details = domain::validate(submission(request.into_inner()), &self.departments, today)
            .map_err(IntakeError::Invalid)?;

        let number = db::next_number(&self.pool)
            .await
            .map_err(IntakeError::from)?;
        let inquiry = Inquiry {
            inquiry_id: Uuid::now_v7(),
            number,
            reference: domain::reference(today.year(), number),
            details,
            status: InquiryStatus::Received,
            received_at,
        };
        tracing::Span::current().record("inquiry_id", tracing::field::display(inquiry.inquiry_id));
        let event = OutboxRow::new(&inquiry_received(&inquiry)).map_err(IntakeError::from)?;
        db::insert_inquiry(&self.pool, &inquiry, event)
            .await
            .map_err(IntakeError::from)?;
        self.outbox.wake();
        tracing::info!(
            reference = %inquiry.reference,
            department = %inquiry.details.department,
            request_type = inquiry.details.request_type.as_str(),
            "inquiry received"
        );
        Ok(Response::new(pb::SubmitInquiryResponse {
            inquiry_id: inquiry.inquiry_id.to_string(),
            reference: inquiry.reference,
            received_at: Some(timestamp(received_at)),
        }))
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn get_inquiry(
        &self,
        request: Request<pb::GetInquiryRequest>,
    ) -> Result<Response<pb::Inquiry>, Status> {
        let inquiry_id = parse_id("inquiry_id", &request.get_ref().inquiry_id)?;
        // Recorded only once it is known to be an id: callers' raw text never reaches a span.
        tracing::Span::current().record("inquiry_id", tracing::field::display(inquiry_id));
        let inquiry = db::get_inquiry(&self.pool, inquiry_id)
            .await
            .map_err(IntakeError::from)?
            .ok_or(IntakeError::NotFound)?;
        Ok(Response::new(to_proto(inquiry)))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn list_inquiries(
        &self,
        request: Request<pb::ListInquiriesRequest>,
    ) -> Result<Response<pb::ListInquiriesResponse>, Status> {
        let request = request.into_inner();
        let page_size = match request.page_size {
            size if size < 0 => {
                return Err(IntakeError::Invalid(vec![FieldViolation::new(
                    "page_size",
                    "must not be negative",
                )])
                .into());
            }
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        };
        let after = decode_page_token(&request.page_token).ok_or_else(|| {
            IntakeError::Invalid(vec![FieldViolation::new(
                "page_token",
                "is not a token from a previous page",
            )])
        })?;
        // One extra row tells whether another page follows.
        let mut inquiries = db::list_inquiries(&self.pool, after, i64::from(page_size) + 1)
            .await
            .map_err(IntakeError::from)?;
        let next_page_token = if inquiries.len() > page_size as usize {
            inquiries.truncate(page_size as usize);
            inquiries
                .last()
                .map(|last| encode_page_token(last.number))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListInquiriesResponse {
            inquiries: inquiries.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}

fn submission(request: pb::SubmitInquiryRequest) -> Submission {
    let dialogue = request.prior_dialogue.unwrap_or_default();
    Submission {
        requester_kind: match pb::RequesterKind::try_from(request.requester_kind) {
            Ok(pb::RequesterKind::Citizen) => Some(RequesterKind::Citizen),
            Ok(pb::RequesterKind::Association) => Some(RequesterKind::Association),
            Ok(pb::RequesterKind::Business) => Some(RequesterKind::Business),
            Ok(pb::RequesterKind::Unspecified) | Err(_) => None,
        },
        department: request.department,
        request_type: match pb::RequestType::try_from(request.request_type) {
            Ok(pb::RequestType::Advice) => Some(RequestType::Advice),
            Ok(pb::RequestType::Complaint) => Some(RequestType::Complaint),
            Ok(pb::RequestType::ComplaintGuidance) => Some(RequestType::ComplaintGuidance),
            Ok(pb::RequestType::DecisionExplanation) => Some(RequestType::DecisionExplanation),
            Ok(pb::RequestType::DialogueOrMediation) => Some(RequestType::DialogueOrMediation),
            Ok(pb::RequestType::ImprovementSuggestion) => Some(RequestType::ImprovementSuggestion),
            Ok(pb::RequestType::Unspecified) | Err(_) => None,
        },
        description: request.description,
        prior_dialogue_held: dialogue.held,
        prior_dialogue_date: match &dialogue.date {
            None => Ok(None),
            Some(date) => from_date(date).map(Some).ok_or(()),
        },
        contact_channel: match pb::ContactChannel::try_from(request.contact_channel) {
            Ok(pb::ContactChannel::DigitalPost) => {
                RequestedChannel::Allowed(ContactChannel::DigitalPost)
            }
            Ok(pb::ContactChannel::Email) => RequestedChannel::Allowed(ContactChannel::Email),
            Ok(pb::ContactChannel::Letter) => RequestedChannel::Allowed(ContactChannel::Letter),
            Ok(pb::ContactChannel::Phone) => RequestedChannel::Allowed(ContactChannel::Phone),
            Ok(pb::ContactChannel::Sms) => RequestedChannel::Sms,
            Ok(pb::ContactChannel::Unspecified) | Err(_) => RequestedChannel::Unspecified,
        },
    }
}

fn requester_kind(kind: RequesterKind) -> pb::RequesterKind {
    match kind {
        RequesterKind::Citizen => pb::RequesterKind::Citizen,
        RequesterKind::Association => pb::RequesterKind::Association,
        RequesterKind::Business => pb::RequesterKind::Business,
    }
}

fn request_type(kind: RequestType) -> pb::RequestType {
    match kind {
        RequestType::Advice => pb::RequestType::Advice,
        RequestType::Complaint => pb::RequestType::Complaint,
        RequestType::ComplaintGuidance => pb::RequestType::ComplaintGuidance,
        RequestType::DecisionExplanation => pb::RequestType::DecisionExplanation,
        RequestType::DialogueOrMediation => pb::RequestType::DialogueOrMediation,
        RequestType::ImprovementSuggestion => pb::RequestType::ImprovementSuggestion,
    }
}

fn contact_channel(channel: ContactChannel) -> pb::ContactChannel {
    match channel {
        ContactChannel::DigitalPost => pb::ContactChannel::DigitalPost,
        ContactChannel::Email => pb::ContactChannel::Email,
        ContactChannel::Letter => pb::ContactChannel::Letter,
        ContactChannel::Phone => pb::ContactChannel::Phone,
    }
}

fn to_proto(inquiry: Inquiry) -> pb::Inquiry {
    let details = inquiry.details;
    pb::Inquiry {
        inquiry_id: inquiry.inquiry_id.to_string(),
        reference: inquiry.reference,
        requester_kind: requester_kind(details.requester_kind).into(),
        department: details.department,
        request_type: request_type(details.request_type).into(),
        description: details.description,
        prior_dialogue: Some(pb::PriorDialogue {
            held: details.prior_dialogue.held,
            date: details.prior_dialogue.date.map(date),
        }),
        contact_channel: contact_channel(details.contact_channel).into(),
        received_at: Some(timestamp(inquiry.received_at)),
        status: match inquiry.status {
            InquiryStatus::Received => pb::InquiryStatus::Received.into(),
        },
    }
}

/// The `inquiry.received` event: categories and ids only, never the description.
fn inquiry_received(inquiry: &Inquiry) -> pb::Event {
    let details = &inquiry.details;
    new_event(
        "/borgerraad/intake",
        inquiry.inquiry_id,
        inquiry.received_at,
        pb::event::Data::InquiryReceived(pb::InquiryReceived {
            inquiry_id: inquiry.inquiry_id.to_string(),
            reference: inquiry.reference.clone(),
            requester_kind: requester_kind(details.requester_kind).into(),
            department: details.department.clone(),
            request_type: request_type(details.request_type).into(),
            prior_dialogue_held: details.prior_dialogue.held,
            contact_channel: contact_channel(details.contact_channel).into(),
            received_at: Some(timestamp(inquiry.received_at)),
        }),
    )
}

fn encode_page_token(last_number: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{last_number}"))
}

/// The inquiry number a page starts after; 0 for the first page, `None` for a forged token.
fn decode_page_token(token: &str) -> Option<i64> {
    if token.is_empty() {
        return Some(0);
    }
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    decoded
        .strip_prefix("after:")?
        .parse()
        .ok()
        .filter(|n: &i64| *n >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_forged_ones_are_refused() {
        assert_eq!(decode_page_token(&encode_page_token(42)), Some(42));
        assert_eq!(decode_page_token(""), Some(0));
        assert_eq!(decode_page_token("not a token"), None);
        assert_eq!(decode_page_token(&URL_SAFE_NO_PAD.encode("after:-5")), None);
    }
}
