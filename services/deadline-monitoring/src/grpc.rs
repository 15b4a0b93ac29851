//! The `DeadlineMonitoringService` gRPC adapter.

use borgerraad_platform::convert::{date, timestamp};
use borgerraad_platform::grpc::{parse_id, unexpected};
use borgerraad_proto::v1::{
    self as pb, deadline_monitoring_service_server::DeadlineMonitoringService,
};
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::db;
use crate::domain::DeadlineState;

#[derive(Clone)]
pub struct DeadlineApi {
    pub pool: PgPool,
}

#[tonic::async_trait]
impl DeadlineMonitoringService for DeadlineApi {
    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn get_deadline(
        &self,
        request: Request<pb::GetDeadlineRequest>,
    ) -> Result<Response<pb::Deadline>, Status> {
        let inquiry_id = parse_id("inquiry_id", &request.get_ref().inquiry_id)?;
        // Recorded only once it is known to be an id: callers' raw text never reaches a span.
        tracing::Span::current().record("inquiry_id", tracing::field::display(inquiry_id));
        let deadline = db::get_deadline(&self.pool, inquiry_id)
            .await
            .map_err(|error| unexpected(&error))?
            .ok_or_else(|| Status::not_found("no deadline for that inquiry (yet)"))?;
        Ok(Response::new(pb::Deadline {
            inquiry_id: deadline.inquiry_id.to_string(),
            department: deadline.department,
            received_at: Some(timestamp(deadline.received_at)),
            due_date: Some(date(deadline.due_date)),
            due_at: Some(timestamp(deadline.due_at)),
            working_days: i32::try_from(deadline.working_days).unwrap_or(i32::MAX),
            state: match deadline.state {
                DeadlineState::Running => pb::DeadlineState::Running.into(),
            },
        }))
    }
}
