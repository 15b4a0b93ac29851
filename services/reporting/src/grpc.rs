//! The `ReportingService` gRPC adapter.

use borgerraad_platform::grpc::unexpected;
use borgerraad_proto::v1::{self as pb, reporting_service_server::ReportingService};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::db;

#[derive(Clone)]
pub struct ReportingApi {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn get_summary(
        &self,
        _request: Request<pb::GetSummaryRequest>,
    ) -> Result<Response<pb::Summary>, Status> {
        let rows = db::summary(&self.pool)
            .await
            .map_err(|error| unexpected(&error))?;
        Ok(Response::new(pb::Summary {
            total_inquiries: rows.total_inquiries,
            by_department: rows
                .by_department
                .into_iter()
                .map(|(department, count)| pb::DepartmentCount { department, count })
                .collect(),
            by_eligibility_outcome: rows
                .by_eligibility_outcome
                .into_iter()
                .map(|(outcome, count)| pb::OutcomeCount {
                    outcome: pb::EligibilityOutcome::from_str_name(&format!(
                        "ELIGIBILITY_OUTCOME_{}",
                        outcome.to_ascii_uppercase()
                    ))
                    .unwrap_or(pb::EligibilityOutcome::Unspecified)
                    .into(),
                    count,
                })
                .collect(),
        }))
    }
}
