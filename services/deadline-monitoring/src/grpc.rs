//! The `DeadlineMonitoringService` gRPC adapter.

use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, from_date, from_timestamp, timestamp};
use borgerraad_platform::grpc::{FieldViolation, invalid_argument, parse_id, unexpected};
use borgerraad_proto::v1::{
    self as pb, deadline_monitoring_service_server::DeadlineMonitoringService,
};
use chrono::{Datelike, NaiveDate};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use working_days::{Calendar, DayKind, answer_deadline, copenhagen_date};

use crate::apply::{reason_to_proto, result_to_proto};
use crate::db::{self, StoredDeadline, days};
use crate::domain::{SlaState, replay, standing};
use crate::scheduler::{kind_to_proto, recipient_to_proto};

/// The widest date range `ListNonWorkingDays` answers.
const MAX_RANGE_DAYS: i64 = 1100;
const MAX_AT_RISK_DAYS: i32 = 60;

#[derive(Clone)]
pub struct DeadlineApi {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub calendar: Calendar,
    pub working_days: u32,
}

impl DeadlineApi {
    /// The summary of a deadline, without pauses and notices; `breach_stands` when it is
    /// paused by a pause begun after the due date (it counts as overdue then).
    fn summary(&self, deadline: &StoredDeadline, breach_stands: bool) -> pb::Deadline {
        let counts = deadline.state == SlaState::Running
            || (deadline.state == SlaState::Paused && breach_stands);
        let (left, overdue) = if counts {
            standing(
                &self.calendar,
                deadline.due_date,
                deadline.due_at,
                self.clock.now(),
            )
        } else {
            (0, 0)
        };
        pb::Deadline {
            inquiry_id: deadline.receipt.inquiry_id.to_string(),
            department: deadline.receipt.department.clone(),
            received_at: Some(timestamp(deadline.receipt.received_at)),
            due_date: Some(date(deadline.due_date)),
            due_at: Some(timestamp(deadline.due_at)),
            working_days: days(deadline.working_days),
            state: match deadline.state {
                SlaState::Running => pb::DeadlineState::Running,
                SlaState::Paused => pb::DeadlineState::Paused,
                SlaState::Stopped => pb::DeadlineState::Stopped,
            }
            .into(),
            reference: deadline.receipt.reference.clone(),
            caseworker_id: deadline.caseworker_id.clone(),
            revision: deadline.revision,
            clock_started_at: Some(timestamp(deadline.clock_started_at)),
            paused_working_days: days(deadline.paused_working_days),
            working_days_left: days(left),
            working_days_overdue: days(overdue),
            pauses: Vec::new(),
            notices: Vec::new(),
            outcome: deadline.outcome.map(|outcome| pb::DeadlineOutcome {
                reason: reason_to_proto(outcome.reason).into(),
                stopped_at: Some(timestamp(outcome.stopped_at)),
                result: result_to_proto(outcome.result).into(),
                working_days_over: days(outcome.working_days_over),
                working_days_used: days(outcome.working_days_used),
            }),
        }
    }
}

fn optional(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

fn day_kind(kind: DayKind) -> &'static str {
    match kind {
        DayKind::Weekend => "weekend",
        DayKind::PublicHoliday(_) => "public_holiday",
        DayKind::ClosingDay(_) => "closing_day",
        DayKind::LocalClosingDay => "local_closing_day",
    }
}

fn parse_date(
    field: &str,
    value: Option<&pb::Date>,
    violations: &mut Vec<FieldViolation>,
) -> Option<NaiveDate> {
    match value.map(|d| (d, from_date(d))) {
        None => {
            violations.push(FieldViolation::new(field, "is required"));
            None
        }
        Some((_, None)) => {
            violations.push(FieldViolation::new(field, "is not a date"));
            None
        }
        Some((_, Some(day))) if !(1900..=2200).contains(&day.year()) => {
            violations.push(FieldViolation::new(field, "must be between 1900 and 2200"));
            None
        }
        Some((_, Some(day))) => Some(day),
    }
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
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|error| unexpected(&error.into()))?;
        let (steps, _) = db::load_steps(&mut connection, inquiry_id)
            .await
            .map_err(|error| unexpected(&error))?;
        drop(connection);
        let sla = replay(
            &self.calendar,
            deadline.working_days,
            deadline.receipt.received_at,
            &steps,
        );
        let notices = db::notices(&self.pool, inquiry_id)
            .await
            .map_err(|error| unexpected(&error))?;
        let mut reply = self.summary(&deadline, sla.breach_stands());
        reply.pauses = sla
            .pauses
            .iter()
            .map(|pause| pb::DeadlinePause {
                paused_at: Some(timestamp(pause.paused_at)),
                resumed_at: pause.resumed_at.map(timestamp),
                working_days: days(pause.working_days),
            })
            .collect();
        reply.notices = notices
            .into_iter()
            .map(|notice| pb::DeadlineNoticeRecord {
                step: notice.step,
                kind: kind_to_proto(notice.kind).into(),
                recipient: recipient_to_proto(notice.recipient).into(),
                revision: notice.revision,
                fire_at: Some(timestamp(notice.fire_at)),
                fired_at: notice.fired_at.map(timestamp),
                // A skipped notice shows as one delivery with status "skipped" and no channel.
                deliveries: if notice.skipped {
                    vec![pb::NoticeDelivery {
                        channel: String::new(),
                        status: "skipped".into(),
                        attempts: 0,
                    }]
                } else {
                    notice
                        .deliveries
                        .into_iter()
                        .map(|(channel, status, attempts)| pb::NoticeDelivery {
                            channel,
                            status,
                            attempts,
                        })
                        .collect()
                },
            })
            .collect();
        Ok(Response::new(reply))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn list_at_risk(
        &self,
        request: Request<pb::ListAtRiskRequest>,
    ) -> Result<Response<pb::ListAtRiskResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Vec::new();
        if !(0..=MAX_AT_RISK_DAYS).contains(&request.within_working_days) {
            violations.push(FieldViolation::new(
                "within_working_days",
                format!("must be between 0 and {MAX_AT_RISK_DAYS}"),
            ));
        }
        if !(0..=1000).contains(&request.page_size) {
            violations.push(FieldViolation::new(
                "page_size",
                "must be between 0 and 1000",
            ));
        }
        for (field, value) in [
            ("department", &request.department),
            ("caseworker_id", &request.caseworker_id),
        ] {
            if value.len() > 100 || value.chars().any(char::is_control) {
                violations.push(FieldViolation::new(
                    field,
                    "must be at most 100 characters without control characters",
                ));
            }
        }
        if !violations.is_empty() {
            return Err(invalid_argument(&violations));
        }
        let today = copenhagen_date(self.clock.now());
        // Due within N working days: on or before the Nth working day after today.
        let due_by = self.calendar.add_working_days(
            today,
            u32::try_from(request.within_working_days).unwrap_or(0),
        );
        let limit = if request.page_size == 0 {
            100
        } else {
            i64::from(request.page_size)
        };
        let deadlines = db::at_risk(
            &self.pool,
            due_by,
            self.clock.now(),
            optional(&request.department),
            optional(&request.caseworker_id),
            limit,
        )
        .await
        .map_err(|error| unexpected(&error))?;
        Ok(Response::new(pb::ListAtRiskResponse {
            // Paused deadlines are listed only when their breach stands.
            deadlines: deadlines.iter().map(|d| self.summary(d, true)).collect(),
        }))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn preview_deadline(
        &self,
        request: Request<pb::PreviewDeadlineRequest>,
    ) -> Result<Response<pb::PreviewDeadlineResponse>, Status> {
        let request = request.into_inner();
        let received_at = match request.received_at.as_ref().map(from_timestamp) {
            None => Err("is required"),
            Some(None) => Err("is not a valid timestamp"),
            Some(Some(at)) if !(2000..=2100).contains(&at.year()) => {
                Err("must be between 2000 and 2100")
            }
            Some(Some(at)) => Ok(at),
        }
        .map_err(|problem| invalid_argument(&[FieldViolation::new("received_at", problem)]))?;
        let due = answer_deadline(&self.calendar, received_at, self.working_days);
        Ok(Response::new(pb::PreviewDeadlineResponse {
            due_date: Some(date(due.due_date)),
            due_at: Some(timestamp(due.due_at)),
            working_days: days(self.working_days),
            first_counted_day: Some(date(due.first_counted_day)),
        }))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn list_non_working_days(
        &self,
        request: Request<pb::ListNonWorkingDaysRequest>,
    ) -> Result<Response<pb::ListNonWorkingDaysResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Vec::new();
        let from = parse_date("from", request.from.as_ref(), &mut violations);
        let to = parse_date("to", request.to.as_ref(), &mut violations);
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                violations.push(FieldViolation::new("to", "must not be before from"));
            } else if (to - from).num_days() > MAX_RANGE_DAYS {
                violations.push(FieldViolation::new(
                    "to",
                    format!("must be at most {MAX_RANGE_DAYS} days after from"),
                ));
            }
        }
        let (Some(from), Some(to), true) = (from, to, violations.is_empty()) else {
            return Err(invalid_argument(&violations));
        };
        Ok(Response::new(pb::ListNonWorkingDaysResponse {
            days: self
                .calendar
                .non_working_days(from, to)
                .into_iter()
                .map(|day| pb::NonWorkingDay {
                    date: Some(date(day.date)),
                    kind: day_kind(day.kind).into(),
                    name_da: day.name_da.into(),
                    name_en: day.name_en.into(),
                })
                .collect(),
        }))
    }
}
