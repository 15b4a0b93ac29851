//! Intake's errors and the gRPC status each one becomes.

use borgerraad_platform::grpc::{FieldViolation, invalid_argument, unexpected};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the request is invalid")]
    Invalid(Vec<FieldViolation>),
    #[error("no inquiry has that id")]
    NotFound,
    #[error("the client_request_id was used for inquiry {reference} with other content")]
    ClientRequestReused { inquiry_id: Uuid, reference: String },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<personal_data::FormatError> for IntakeError {
    fn from(error: personal_data::FormatError) -> Self {
        Self::Unexpected(anyhow::anyhow!(
            "stored personal data cannot be read: {error}"
        ))
    }
}

impl From<crate::domain::personal::SealError> for IntakeError {
    fn from(error: crate::domain::personal::SealError) -> Self {
        Self::Unexpected(anyhow::anyhow!(error).context("stored personal data cannot be used"))
    }
}

impl From<sqlx::Error> for IntakeError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unexpected(error.into())
    }
}

impl From<IntakeError> for Status {
    fn from(error: IntakeError) -> Self {
        match error {
            IntakeError::Invalid(violations) => invalid_argument(&violations),
            IntakeError::NotFound => Status::not_found("no inquiry has that id"),
            IntakeError::ClientRequestReused {
                inquiry_id,
                reference,
            } => Status::with_error_details(
                Code::AlreadyExists,
                format!(
                    "client_request_id was already used for inquiry {reference} \
                     ({inquiry_id}) with other content; a new inquiry needs a new \
                     client_request_id, and a retry must repeat the first request unchanged"
                ),
                ErrorDetails::with_resource_info(
                    "borgerraad.v1.Inquiry",
                    inquiry_id.to_string(),
                    "",
                    "the inquiry the client_request_id was first used for",
                ),
            ),
            IntakeError::Unexpected(error) => unexpected(&error),
        }
    }
}
