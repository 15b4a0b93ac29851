//! The `EligibilityService` gRPC adapter.

use std::sync::Arc;

use borgerraad_messaging::Outbox;
use borgerraad_platform::auth::{self, Principal};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::timestamp;
use borgerraad_platform::departments::Departments;
use borgerraad_platform::grpc::paging::Page;
use borgerraad_platform::grpc::{FieldViolation, invalid_argument, parse_id, unexpected};
use borgerraad_proto::v1::{self as pb, eligibility_service_server::EligibilityService};
use inquiry_form::{TextKind, checked_text};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use working_days::Calendar;

use crate::convert::{self, facts_from_draft, outcome, outcome_from_proto};
use crate::db;
use crate::domain::{
    HistoryEntry, HistoryKind, Outcome, Override, OverrideChange, OverrideRefused,
    StoredAssessment, Verdict, apply_override,
};
use crate::events::assessed_event;
use crate::rules::{self, Category, RuleId, RuleSet};

const MAX_ACTOR_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 2_000;

#[derive(Clone)]
pub struct EligibilityApi {
    pub pool: PgPool,
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub rules: Arc<RuleSet>,
    pub calendar: Arc<Calendar>,
    pub departments: Departments,
}

fn history_entry(entry: HistoryEntry) -> pb::AssessmentHistoryEntry {
    pb::AssessmentHistoryEntry {
        revision: entry.revision,
        kind: entry.kind.as_str().to_owned(),
        outcome: outcome(entry.outcome).into(),
        referral_target: entry.referral_target.unwrap_or_default(),
        fired_rule_ids: entry.fired_rule_ids,
        rule_set_version: entry.rule_set_version,
        actor: entry.actor,
        reason: entry.reason.unwrap_or_default(),
        at: Some(timestamp(entry.at)),
    }
}

/// An outcome number the proto does not define: a mistake, or a client built from a newer proto.
fn unknown_outcome(value: i32) -> FieldViolation {
    FieldViolation::new("outcome", format!("{value} is not a known outcome"))
}

/// A checked override request.
fn override_change(
    request: &pb::OverrideAssessmentRequest,
    principal: &Principal,
    rules: &RuleSet,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<OverrideChange, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    // The caseworker who decides is the token's subject; an actor field may only repeat it (and
    // is checked as every text is first, so an unreadable one is named as such).
    let actor = checked_text("actor", &request.actor, MAX_ACTOR_CHARS, TextKind::OneLine)
        .and_then(|requested| {
            auth::acting_subject(principal, &requested.unwrap_or_default(), "actor")
        })
        .unwrap_or_else(|violation| {
            violations.push(violation);
            String::new()
        });
    // Checked as every text a service takes (inquiry-form's `checked_text`); required here.
    let mut text =
        |field: &str, value: &str, max: usize, kind: TextKind, what: &str| match checked_text(
            field, value, max, kind,
        ) {
            Ok(Some(value)) => value,
            Ok(None) => {
                violations.push(FieldViolation::new(
                    field,
                    format!("{what} (at most {max} characters)"),
                ));
                String::new()
            }
            Err(violation) => {
                violations.push(violation);
                String::new()
            }
        };
    let reason = text(
        "reason",
        &request.reason,
        MAX_REASON_CHARS,
        TextKind::FreeText,
        "give the reason for the decision",
    );
    let target = request.referral_target.trim().to_owned();
    if request.expected_revision < 0 {
        violations.push(FieldViolation::new(
            "expected_revision",
            "send the revision you last read, or 0",
        ));
    }
    if request.clear {
        if request.outcome != 0 || !target.is_empty() {
            violations.push(FieldViolation::new(
                "outcome",
                "clearing an override takes no outcome or referral target",
            ));
        }
        return if violations.is_empty() {
            Ok(OverrideChange::Clear { actor, reason, at })
        } else {
            Err(violations)
        };
    }
    let decided = outcome_from_proto(request.outcome);
    match decided {
        None if pb::EligibilityOutcome::try_from(request.outcome).is_err() => {
            violations.push(unknown_outcome(request.outcome));
        }
        None => violations.push(FieldViolation::new(
            "outcome",
            "name the outcome the caseworker decides",
        )),
        Some(Outcome::Referred) if target.is_empty() => violations.push(FieldViolation::new(
            "referral_target",
            "say where the person is referred",
        )),
        _ => {}
    }
    if !target.is_empty() {
        if !matches!(decided, Some(Outcome::Referred | Outcome::NeedsReview)) {
            violations.push(FieldViolation::new(
                "referral_target",
                "only a referral (or a review) names where the person is sent",
            ));
        } else if !rules.is_referral_target(&target) {
            // Codes only: a name or a note typed here would travel on NATS and into reports.
            violations.push(FieldViolation::new(
                "referral_target",
                "must be a department, complaint body or authority code from the rule set",
            ));
        }
    }
    match decided {
        Some(outcome) if violations.is_empty() => Ok(OverrideChange::Set(Override {
            outcome,
            referral_target: (!target.is_empty()).then_some(target),
            reason,
            actor,
            at,
        })),
        _ => Err(violations),
    }
}

impl EligibilityApi {
    async fn with_history(&self, stored: &StoredAssessment) -> Result<pb::Assessment, Status> {
        let mut assessment = convert::assessment(stored);
        assessment.history = db::history(&self.pool, stored.inquiry_id)
            .await
            .map_err(|error| unexpected(&error))?
            .into_iter()
            .map(history_entry)
            .collect();
        Ok(assessment)
    }
}

#[tonic::async_trait]
impl EligibilityService for EligibilityApi {
    /// Never logs or stores the draft: it may hold a person's own words and numbers.
    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn evaluate(
        &self,
        request: Request<pb::EvaluateRequest>,
    ) -> Result<Response<pb::Assessment>, Status> {
        let draft = request.get_ref();
        let now = self.clock.now();
        // The very rules SubmitInquiry applies, so the pre-check and the submission agree.
        let submission = inquiry_form::proto::draft(draft);
        let unreadable = submission.unreadable_fields();
        let violations = inquiry_form::validate(submission, &self.departments, now)
            .err()
            .unwrap_or_default();
        if !unreadable.is_empty() {
            let unreadable: Vec<FieldViolation> = violations
                .into_iter()
                .filter(|v| unreadable.contains(&v.field.as_str()))
                .collect();
            return Err(invalid_argument(&unreadable));
        }
        let facts = facts_from_draft(draft);
        let verdict = Verdict::from(rules::assess(
            &self.rules,
            &facts,
            working_days::copenhagen_date(now),
            &self.calendar,
        ));
        let assessed = StoredAssessment {
            inquiry_id: Uuid::nil(),
            department: facts.department.clone(),
            inquiry_version: 0,
            verdict,
            override_: None,
            revision: 0,
            assessed_at: now,
        };
        let mut assessment = convert::assessment(&assessed);
        assessment.inquiry_id.clear();
        assessment.violations = violations
            .into_iter()
            .map(|v| pb::DraftViolation {
                field: v.field,
                description: v.description,
            })
            .collect();
        Ok(Response::new(assessment))
    }

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
        Ok(Response::new(self.with_history(&stored).await?))
    }

    #[tracing::instrument(skip_all, err(level = "info", Display))]
    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Result<Response<pb::ListAssessmentsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Vec::new();
        let page = Page::read(request.page_size, &request.page_token, &mut violations);
        let outcome = match request.outcome {
            0 => None,
            value => outcome_from_proto(value).or_else(|| {
                violations.push(unknown_outcome(value));
                None
            }),
        };
        let department = request.department.trim().to_owned();
        if department.len() > 100 || department.chars().any(char::is_control) {
            violations.push(FieldViolation::new(
                "department",
                "must be a department code: at most 100 characters without control characters",
            ));
        }
        if !violations.is_empty() {
            return Err(invalid_argument(&violations));
        }
        let filter = db::Filter {
            outcome,
            department: (!department.is_empty()).then_some(department),
            needs_review_queue: request.needs_review_queue,
        };
        let mut rows = db::list_assessments(&self.pool, &filter, page.after, page.fetch_limit())
            .await
            .map_err(|error| unexpected(&error))?;
        let next_page_token = page.finish(&mut rows, |(seq, _)| *seq);
        Ok(Response::new(pb::ListAssessmentsResponse {
            assessments: rows
                .iter()
                .map(|(_, stored)| convert::assessment(stored))
                .collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(inquiry_id = tracing::field::Empty), err(level = "info", Display))]
    async fn override_assessment(
        &self,
        request: Request<pb::OverrideAssessmentRequest>,
    ) -> Result<Response<pb::Assessment>, Status> {
        let principal = auth::principal(&request)?;
        let request = request.into_inner();
        let id = Uuid::parse_str(&request.inquiry_id).ok();
        let change = override_change(&request, &principal, &self.rules, self.clock.now());
        let (id, change) = match (id, change) {
            (Some(id), Ok(change)) => (id, change),
            (id, change) => {
                let mut violations = Vec::new();
                if id.is_none() {
                    violations.push(FieldViolation::new("inquiry_id", "must be a UUID"));
                }
                violations.extend(change.err().unwrap_or_default());
                return Err(invalid_argument(&violations));
            }
        };
        tracing::Span::current().record("inquiry_id", tracing::field::display(id));
        let mut transaction = self.pool.begin().await.map_err(|e| unexpected(&e.into()))?;
        let current = db::lock_assessment(&mut transaction, id)
            .await
            .map_err(|error| unexpected(&error))?
            .ok_or_else(|| Status::not_found("no assessment for that inquiry (yet)"))?;
        let (kind, actor, reason, at) = match &change {
            OverrideChange::Set(o) => (
                HistoryKind::Override,
                o.actor.clone(),
                o.reason.clone(),
                o.at,
            ),
            OverrideChange::Clear { actor, reason, at } => (
                HistoryKind::OverrideCleared,
                actor.clone(),
                reason.clone(),
                *at,
            ),
        };
        let next =
            apply_override(&current, change, request.expected_revision).map_err(|refused| {
                match refused {
                    OverrideRefused::Stale { .. } => Status::aborted(refused.to_string()),
                    OverrideRefused::NothingToClear => {
                        Status::failed_precondition(refused.to_string())
                    }
                }
            })?;
        let history = HistoryEntry {
            revision: next.revision,
            kind,
            outcome: next.outcome(),
            referral_target: next.referral_target().map(str::to_owned),
            fired_rule_ids: Vec::new(),
            rule_set_version: next.verdict.rule_set_version.clone(),
            actor,
            reason: Some(reason),
            at,
        };
        db::save_assessment(&mut transaction, &next, &history)
            .await
            .map_err(|e| unexpected(&e.into()))?;
        self.outbox
            .enqueue(&mut transaction, &assessed_event(&next))
            .await
            .map_err(|e| unexpected(&e.into()))?;
        transaction
            .commit()
            .await
            .map_err(|e| unexpected(&e.into()))?;
        self.outbox.wake();
        tracing::info!(
            outcome = next.outcome().as_str(),
            revision = next.revision,
            kind = kind.as_str(),
            "assessment overridden"
        );
        Ok(Response::new(self.with_history(&next).await?))
    }

    async fn list_rules(
        &self,
        _request: Request<pb::ListRulesRequest>,
    ) -> Result<Response<pb::ListRulesResponse>, Status> {
        let rules = RuleId::ALL
            .into_iter()
            .map(|id| {
                let text = self.rules.text(id);
                pb::Rule {
                    rule_id: id.as_str().to_owned(),
                    category: category(Category::of(id)).to_owned(),
                    text_da: text.map(|t| t.da.as_str().to_owned()).unwrap_or_default(),
                    text_en: text.map(|t| t.en.as_str().to_owned()).unwrap_or_default(),
                }
            })
            .collect();
        Ok(Response::new(pb::ListRulesResponse {
            rule_set_version: self.rules.version.clone(),
            rules,
        }))
    }
}

const fn category(category: Category) -> &'static str {
    match category {
        Category::NeedsReview => "needs_review",
        Category::ExternalReferral => "external_referral",
        Category::OutOfScope => "out_of_scope",
        Category::DepartmentReferral => "department_referral",
        Category::AcceptedInPart => "accepted_in_part",
        Category::Notice => "notice",
    }
}
