//! The `ReportingService` gRPC adapter: checks requests, reads counters in one snapshot, and
//! turns the pure figures into proto messages, departments and categories with Danish names.

use std::pin::Pin;

use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::timestamp;
use borgerraad_platform::departments::{Departments, is_well_formed_code};
use borgerraad_platform::grpc::{FieldViolation, invalid_argument, unexpected};
use borgerraad_proto::v1::{self as pb, reporting_service_server::ReportingService};
use futures::Stream;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::db;
use crate::domain::export::{self, AnnualReport};
use crate::domain::figures::{self, Counts, Figures};
use crate::domain::labels::category_da;
use crate::domain::state::Dimension;
use crate::domain::{Month, MonthRange};
use crate::rebuild::{RebuildState, RebuildStatus, Rebuilder};

/// The bytes of an exported report per streamed chunk.
const CHUNK: usize = 32 * 1024;

#[derive(Clone)]
pub struct ReportingApi {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub rebuilder: Rebuilder,
    /// The departments a request may name, and their Danish names.
    pub departments: Departments,
}

fn month_from(
    field: &str,
    month: Option<&pb::YearMonth>,
    violations: &mut Vec<FieldViolation>,
) -> Option<Month> {
    let Some(month) = month else {
        violations.push(FieldViolation::new(field, "is required"));
        return None;
    };
    let valid = u32::try_from(month.month)
        .ok()
        .filter(|_| (1900..=2200).contains(&month.year))
        .and_then(|m| Month::new(month.year, m));
    if valid.is_none() {
        violations.push(FieldViolation::new(
            field,
            "must be a month (1 to 12) of a year from 1900 to 2200",
        ));
    }
    valid
}

/// The period asked for, `Ok(None)` for "every month", or every field that is wrong.
pub fn period_from(
    period: Option<&pb::MonthRange>,
) -> Result<Option<MonthRange>, Vec<FieldViolation>> {
    let Some(period) = period else {
        return Ok(None);
    };
    let mut violations = vec![];
    let first = month_from("period.first", period.first.as_ref(), &mut violations);
    let last = month_from("period.last", period.last.as_ref(), &mut violations);
    if let (Some(first), Some(last)) = (first, last) {
        match MonthRange::new(first, last) {
            Some(range) if range.month_count() <= 1200 => return Ok(Some(range)),
            Some(_) => violations.push(FieldViolation::new("period", "must be at most 100 years")),
            None => violations.push(FieldViolation::new(
                "period.last",
                "must not be before period.first",
            )),
        }
    }
    Err(violations)
}

fn department_from(department: &str) -> Option<&str> {
    Some(department.trim()).filter(|d| !d.is_empty())
}

fn year_month(month: Month) -> pb::YearMonth {
    pb::YearMonth {
        year: month.year,
        month: month.month as i32,
    }
}

fn month_range(range: MonthRange) -> pb::MonthRange {
    pb::MonthRange {
        first: Some(year_month(range.first)),
        last: Some(year_month(range.last)),
    }
}

/// The figures as the API shows them, every code with its Danish name.
fn figures_to_proto(f: &Figures, departments: &Departments) -> pb::Figures {
    let counts = |dimension: Dimension, counts: &Counts| -> Vec<pb::CategoryCount> {
        counts
            .iter()
            .map(|(code, count)| pb::CategoryCount {
                code: code.clone(),
                count: *count,
                name: category_da(dimension, code, departments).to_owned(),
            })
            .collect()
    };
    pb::Figures {
        received: f.received,
        by_department: counts(Dimension::Received, &f.by_department),
        by_request_type: counts(Dimension::RequestType, &f.by_request_type),
        by_complaint_theme: counts(Dimension::ComplaintTheme, &f.by_complaint_theme),
        by_requester_kind: counts(Dimension::RequesterKind, &f.by_requester_kind),
        by_arrival_channel: counts(Dimension::ArrivalChannel, &f.by_arrival_channel),
        by_eligibility_outcome: counts(Dimension::EligibilityOutcome, &f.by_eligibility_outcome),
        by_referral_target: counts(Dimension::ReferralTarget, &f.by_referral_target),
        by_closing_outcome: counts(Dimension::ClosingOutcome, &f.by_closing_outcome),
        criticism: f.criticism,
        by_handling_method: counts(Dimension::HandlingMethod, &f.by_handling_method),
        answered: f.answered,
        deadline_met: f.deadline_met,
        deadline_breached: f.deadline_breached,
        share_within_deadline: f.share_within_deadline,
        median_handling_working_days: f.median_handling_working_days,
        p90_handling_working_days: f.p90_handling_working_days,
        overdue: f.overdue,
        mediations_by_stage: counts(Dimension::MediationStage, &f.mediations_by_stage),
        mediations_by_result: counts(Dimension::MediationResult, &f.mediations_by_result),
        improvement_suggestions_by_department: counts(
            Dimension::ImprovementSuggestion,
            &f.improvement_suggestions_by_department,
        ),
    }
}

fn trend_point((month, point): &(Month, figures::TrendPoint)) -> pb::TrendPoint {
    pb::TrendPoint {
        month: Some(year_month(*month)),
        received: point.received,
        answered: point.answered,
        overdue: point.overdue,
        deadline_met: point.deadline_met,
        deadline_breached: point.deadline_breached,
        share_within_deadline: point.share_within_deadline(),
    }
}

impl From<RebuildStatus> for pb::RebuildStatus {
    fn from(status: RebuildStatus) -> Self {
        let state = match status.state {
            RebuildState::Idle => pb::RebuildState::Idle,
            RebuildState::Running => pb::RebuildState::Running,
            RebuildState::Succeeded => pb::RebuildState::Succeeded,
            RebuildState::Failed => pb::RebuildState::Failed,
        };
        pb::RebuildStatus {
            state: state.into(),
            events_replayed: i64::try_from(status.events).unwrap_or(i64::MAX),
            last_sequence: i64::try_from(status.last_sequence).unwrap_or(i64::MAX),
            started_at: status.started_at.map(timestamp),
            finished_at: status.finished_at.map(timestamp),
        }
    }
}

impl ReportingApi {
    fn today(&self) -> chrono::NaiveDate {
        working_days::copenhagen_date(self.clock.now())
    }

    /// The department a request names: `None` (every department) when empty. A configured code
    /// is taken, and so is a code the figures still hold but configuration no longer lists (a
    /// department merged away keeps its history readable); anything else is a violation that
    /// lists the configured codes.
    async fn department(
        &self,
        requested: &str,
        violations: &mut Vec<FieldViolation>,
    ) -> Result<Option<String>, Status> {
        let Some(code) = department_from(requested) else {
            return Ok(None);
        };
        if self.departments.contains(code) {
            return Ok(Some(code.to_owned()));
        }
        // Only a well-formed code can be among the figures (and the database is spared text it
        // would refuse, such as a NUL character).
        let held = is_well_formed_code(code)
            && db::department_has_figures(&self.pool, code)
                .await
                .map_err(|error| unexpected(&error))?;
        if held {
            return Ok(Some(code.to_owned()));
        }
        violations.push(FieldViolation::new(
            "department",
            format!(
                "must be one of: {} (or a former department the figures hold)",
                self.departments.codes_joined()
            ),
        ));
        Ok(None)
    }

    /// The period and department of a request, or every field that is wrong.
    async fn scope(
        &self,
        period: Option<&pb::MonthRange>,
        department: &str,
    ) -> Result<(Option<MonthRange>, Option<String>), Status> {
        let (period, mut violations) = match period_from(period) {
            Ok(period) => (period, vec![]),
            Err(violations) => (None, violations),
        };
        let department = self.department(department, &mut violations).await?;
        if violations.is_empty() {
            Ok((period, department))
        } else {
            Err(invalid_argument(&violations))
        }
    }

    /// The counters of `period` and the one before, or of every month when none is given.
    async fn comparison(
        &self,
        connection: &mut sqlx::PgConnection,
        period: Option<MonthRange>,
        department: Option<&str>,
    ) -> anyhow::Result<Option<figures::Comparison>> {
        let Some(range) = period.or(db::months_with_figures(&mut *connection).await?) else {
            return Ok(None);
        };
        let rows =
            db::counters_by_period(connection, &[range, range.previous()], department).await?;
        Ok(Some(figures::compare(&rows, range)))
    }

    async fn annual_report(
        &self,
        year: i32,
        department: Option<&str>,
    ) -> anyhow::Result<AnnualReport> {
        let range = MonthRange::year(year).ok_or_else(|| anyhow::anyhow!("year out of range"))?;
        let mut snapshot = db::snapshot(&self.pool).await?;
        let comparison = self
            .comparison(&mut snapshot, Some(range), department)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no comparison for a given period"))?;
        let trend_rows = db::trend_counters(&mut snapshot, range, department).await?;
        let (open_now, overdue_now) =
            db::open_and_overdue(&mut snapshot, self.today(), department).await?;
        snapshot.commit().await?;
        Ok(AnnualReport {
            year,
            department: department.map(str::to_owned),
            comparison,
            trend: figures::trend(&trend_rows, range),
            open_now,
            overdue_now,
            made_on: self.today(),
            departments: self.departments.clone(),
        })
    }
}

type ReportStream = Pin<Box<dyn Stream<Item = Result<pb::ReportChunk, Status>> + Send>>;

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn get_summary(
        &self,
        request: Request<pb::GetSummaryRequest>,
    ) -> Result<Response<pb::Summary>, Status> {
        let request = request.into_inner();
        let (period, department) = self
            .scope(request.period.as_ref(), &request.department)
            .await?;
        let department = department.as_deref();
        let read = async {
            let mut snapshot = db::snapshot(&self.pool).await?;
            let comparison = self.comparison(&mut snapshot, period, department).await?;
            let now = db::open_and_overdue(&mut snapshot, self.today(), department).await?;
            snapshot.commit().await?;
            anyhow::Ok((comparison, now))
        };
        let (comparison, (open_now, overdue_now)) =
            read.await.map_err(|error| unexpected(&error))?;
        let current = comparison
            .as_ref()
            .map(|c| c.current.clone())
            .unwrap_or_default();
        Ok(Response::new(pb::Summary {
            period: period.map(month_range),
            figures: Some(figures_to_proto(&current, &self.departments)),
            previous_period: period.map(|p| month_range(p.previous())),
            previous: comparison
                .as_ref()
                .filter(|_| period.is_some())
                .map(|c| figures_to_proto(&c.previous, &self.departments)),
            open_now,
            overdue_now,
            as_of: Some(timestamp(self.clock.now())),
        }))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn get_trend(
        &self,
        request: Request<pb::GetTrendRequest>,
    ) -> Result<Response<pb::Trend>, Status> {
        let request = request.into_inner();
        let (period, department) = self
            .scope(request.period.as_ref(), &request.department)
            .await?;
        let department = department.as_deref();
        let read = async {
            let mut snapshot = db::snapshot(&self.pool).await?;
            let Some(range) = period.or(db::months_with_figures(&mut snapshot).await?) else {
                return anyhow::Ok(None);
            };
            let rows = db::trend_counters(&mut snapshot, range, department).await?;
            snapshot.commit().await?;
            Ok(Some(figures::trend(&rows, range)))
        };
        let Some(trend) = read.await.map_err(|error| unexpected(&error))? else {
            return Ok(Response::new(pb::Trend::default()));
        };
        Ok(Response::new(pb::Trend {
            period: Some(month_range(trend.period)),
            departments: trend
                .departments
                .iter()
                .map(|(department, points)| pb::DepartmentTrend {
                    department: department.clone(),
                    name: self.departments.name_da(department).to_owned(),
                    months: points.iter().map(trend_point).collect(),
                })
                .collect(),
            total: trend.total.iter().map(trend_point).collect(),
        }))
    }

    type ExportAnnualReportStream = ReportStream;

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn export_annual_report(
        &self,
        request: Request<pb::ExportAnnualReportRequest>,
    ) -> Result<Response<Self::ExportAnnualReportStream>, Status> {
        let request = request.into_inner();
        let mut violations = vec![];
        if !(1900..=2200).contains(&request.year) {
            violations.push(FieldViolation::new(
                "year",
                "must be a year from 1900 to 2200",
            ));
        }
        let format = match pb::ReportFormat::try_from(request.format) {
            Ok(pb::ReportFormat::Csv) => Some(pb::ReportFormat::Csv),
            Ok(pb::ReportFormat::Html) => Some(pb::ReportFormat::Html),
            Ok(pb::ReportFormat::Unspecified) => {
                violations.push(FieldViolation::new("format", "must be CSV or HTML"));
                None
            }
            Err(_) => {
                violations.push(FieldViolation::new(
                    "format",
                    format!(
                        "{} is not a known report format; must be CSV or HTML",
                        request.format
                    ),
                ));
                None
            }
        };
        let department = self
            .department(&request.department, &mut violations)
            .await?;
        let (Some(format), true) = (format, violations.is_empty()) else {
            return Err(invalid_argument(&violations));
        };
        let department = department.as_deref();
        let report = self
            .annual_report(request.year, department)
            .await
            .map_err(|error| unexpected(&error))?;
        let suffix = department.map(|d| format!("-{d}")).unwrap_or_default();
        let (body, file_name, content_type) = match format {
            pb::ReportFormat::Csv => (
                export::csv(&report),
                format!("borgerraadgiver-{}{suffix}.csv", request.year),
                "text/csv; charset=utf-8",
            ),
            pb::ReportFormat::Html | pb::ReportFormat::Unspecified => (
                export::html(&report),
                format!("borgerraadgiver-{}{suffix}.html", request.year),
                "text/html; charset=utf-8",
            ),
        };
        let chunks: Vec<Result<pb::ReportChunk, Status>> = body
            .into_bytes()
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, data)| {
                Ok(pb::ReportChunk {
                    data: data.to_vec(),
                    file_name: if i == 0 {
                        file_name.clone()
                    } else {
                        String::new()
                    },
                    content_type: if i == 0 {
                        content_type.into()
                    } else {
                        String::new()
                    },
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn rebuild_projection(
        &self,
        _request: Request<pb::RebuildProjectionRequest>,
    ) -> Result<Response<pb::RebuildStatus>, Status> {
        match self.rebuilder.request().await {
            Ok(Some(status)) => Ok(Response::new(status.into())),
            Ok(None) => Err(Status::failed_precondition("a rebuild is running already")),
            Err(error) => Err(unexpected(&error)),
        }
    }

    async fn get_rebuild_status(
        &self,
        _request: Request<pb::GetRebuildStatusRequest>,
    ) -> Result<Response<pb::RebuildStatus>, Status> {
        Ok(Response::new(self.rebuilder.status().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(year: i32, month: i32) -> Option<pb::YearMonth> {
        Some(pb::YearMonth { year, month })
    }

    #[test]
    fn a_period_ending_before_it_starts_names_its_last_month() {
        let violations = period_from(Some(&pb::MonthRange {
            first: ym(2026, 6),
            last: ym(2026, 5),
        }))
        .expect_err("refused");
        assert_eq!(
            violations,
            [FieldViolation::new(
                "period.last",
                "must not be before period.first"
            )]
        );
    }

    #[test]
    fn every_wrong_field_of_a_period_is_listed() {
        let violations = period_from(Some(&pb::MonthRange {
            first: ym(2026, 13),
            last: None,
        }))
        .expect_err("refused");
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["period.first", "period.last"]);
    }

    #[test]
    fn no_period_means_every_month() {
        assert_eq!(period_from(None), Ok(None));
    }
}
