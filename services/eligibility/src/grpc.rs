//! The `EligibilityService` gRPC adapter.

use borgerraad_platform::convert::timestamp;
use borgerraad_platform::grpc::{parse_id, unexpected};
use borgerraad_proto::v1::{self as pb, eligibility_service_server::EligibilityService};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::db;
use crate::events::outcome;

#[derive(Clone)]
pub struct EligibilityApi {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl EligibilityService for EligibilityApi {
    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn get_assessment(
        &self,
        request: Request<pb::GetAssessmentRequest>,
    ) -> Result<Response<pb::Assessment>, Status> {
        let inquiry_id = parse_id("inquiry_id", &request.get_ref().inquiry_id)?;
        // Recorded only once it is known to be an id: callers' raw text never reaches a span.
        tracing::Span::current().record("inquiry_id", tracing::field::display(inquiry_id));
        let stored = db::get_assessment(&self.pool, inquiry_id)
            .await
            .map_err(|error| unexpected(&error))?
            .ok_or_else(|| Status::not_found("no assessment for that inquiry (yet)"))?;
        Ok(Response::new(pb::Assessment {
            inquiry_id: stored.inquiry_id.to_string(),
            outcome: outcome(stored.assessment.outcome).into(),
            fired_rules: stored
                .assessment
                .fired_rules
                .into_iter()
                .map(|rule| pb::FiredRule {
                    rule_id: rule.rule_id,
                    explanation_da: rule.explanation_da,
                    explanation_en: rule.explanation_en,
                })
                .collect(),
            referral_target: stored.assessment.referral_target.unwrap_or_default(),
            rule_set_version: stored.rule_set_version,
            assessed_at: Some(timestamp(stored.assessed_at)),
        }))
    }
}
