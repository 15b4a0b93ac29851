//! SQL on the `eligibility` schema.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{
    Assessment, FiredRule, HistoryEntry, HistoryKind, Outcome, Override, ReviewSignal,
    StoredAssessment, Verdict,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

const COLUMNS: &str = "seq, inquiry_id, department, inquiry_version, rules_outcome, fired_rules, \
     rules_referral_target, urgent, appeal_deadline, review_signals, rule_set_version, \
     override_outcome, override_referral_target, override_reason, override_actor, override_at, \
     revision, assessed_at";

#[derive(sqlx::FromRow)]
struct AssessmentRow {
    seq: i64,
    inquiry_id: Uuid,
    department: String,
    inquiry_version: i64,
    rules_outcome: String,
    fired_rules: Json<Vec<FiredRule>>,
    rules_referral_target: Option<String>,
    urgent: bool,
    appeal_deadline: Option<NaiveDate>,
    review_signals: Json<Vec<ReviewSignal>>,
    rule_set_version: String,
    override_outcome: Option<String>,
    override_referral_target: Option<String>,
    override_reason: Option<String>,
    override_actor: Option<String>,
    override_at: Option<DateTime<Utc>>,
    revision: i64,
    assessed_at: DateTime<Utc>,
}

fn outcome(code: &str) -> anyhow::Result<Outcome> {
    Outcome::from_code(code).with_context(|| format!("unknown outcome {code:?}"))
}

impl AssessmentRow {
    fn into_stored(self) -> anyhow::Result<(i64, StoredAssessment)> {
        let override_ = match (self.override_outcome, self.override_at) {
            (Some(code), Some(at)) => Some(Override {
                outcome: outcome(&code)?,
                referral_target: self.override_referral_target,
                reason: self.override_reason.unwrap_or_default(),
                actor: self.override_actor.unwrap_or_default(),
                at,
            }),
            _ => None,
        };
        Ok((
            self.seq,
            StoredAssessment {
                inquiry_id: self.inquiry_id,
                department: self.department,
                inquiry_version: self.inquiry_version,
                verdict: Verdict {
                    assessment: Assessment {
                        outcome: outcome(&self.rules_outcome)?,
                        fired_rules: self.fired_rules.0,
                        referral_target: self.rules_referral_target,
                    },
                    urgent: self.urgent,
                    appeal_deadline: self.appeal_deadline,
                    review_signals: self.review_signals.0,
                    rule_set_version: self.rule_set_version,
                },
                override_,
                revision: self.revision,
                assessed_at: self.assessed_at,
            },
        ))
    }
}

/// The inquiry's assessment, locked until the transaction ends so changes happen one at a time.
pub async fn lock_assessment(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
) -> anyhow::Result<Option<StoredAssessment>> {
    let row: Option<AssessmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assessments WHERE inquiry_id = $1 FOR UPDATE"
    )))
    .bind(inquiry_id)
    .fetch_optional(connection)
    .await
    .context("cannot read assessment")?;
    row.map(|row| row.into_stored().map(|(_, stored)| stored))
        .transpose()
}

pub async fn get_assessment(
    pool: &PgPool,
    inquiry_id: Uuid,
) -> anyhow::Result<Option<StoredAssessment>> {
    let row: Option<AssessmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assessments WHERE inquiry_id = $1"
    )))
    .bind(inquiry_id)
    .fetch_optional(pool)
    .await
    .context("cannot read assessment")?;
    row.map(|row| row.into_stored().map(|(_, stored)| stored))
        .transpose()
}

/// Stores the assessment (insert or replace) and its history line.
pub async fn save_assessment(
    connection: &mut PgConnection,
    stored: &StoredAssessment,
    history: &HistoryEntry,
) -> sqlx::Result<()> {
    let verdict = &stored.verdict;
    let o = stored.override_.as_ref();
    sqlx::query(
        "INSERT INTO assessments (inquiry_id, department, inquiry_version, outcome, referral_target, \
           rules_outcome, fired_rules, rules_referral_target, urgent, appeal_deadline, \
           review_signals, rule_set_version, override_outcome, override_referral_target, \
           override_reason, override_actor, override_at, revision, assessed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (inquiry_id) DO UPDATE SET department = EXCLUDED.department, \
           inquiry_version = EXCLUDED.inquiry_version, outcome = EXCLUDED.outcome, \
           referral_target = EXCLUDED.referral_target, rules_outcome = EXCLUDED.rules_outcome, \
           fired_rules = EXCLUDED.fired_rules, rules_referral_target = EXCLUDED.rules_referral_target, \
           urgent = EXCLUDED.urgent, appeal_deadline = EXCLUDED.appeal_deadline, \
           review_signals = EXCLUDED.review_signals, rule_set_version = EXCLUDED.rule_set_version, \
           override_outcome = EXCLUDED.override_outcome, \
           override_referral_target = EXCLUDED.override_referral_target, \
           override_reason = EXCLUDED.override_reason, override_actor = EXCLUDED.override_actor, \
           override_at = EXCLUDED.override_at, revision = EXCLUDED.revision, \
           assessed_at = EXCLUDED.assessed_at",
    )
    .bind(stored.inquiry_id)
    .bind(&stored.department)
    .bind(stored.inquiry_version)
    .bind(stored.outcome().as_str())
    .bind(stored.referral_target())
    .bind(verdict.assessment.outcome.as_str())
    .bind(Json(&verdict.assessment.fired_rules))
    .bind(&verdict.assessment.referral_target)
    .bind(verdict.urgent)
    .bind(verdict.appeal_deadline)
    .bind(Json(&verdict.review_signals))
    .bind(&verdict.rule_set_version)
    .bind(o.map(|o| o.outcome.as_str()))
    .bind(o.and_then(|o| o.referral_target.clone()))
    .bind(o.map(|o| o.reason.clone()))
    .bind(o.map(|o| o.actor.clone()))
    .bind(o.map(|o| o.at))
    .bind(stored.revision)
    .bind(stored.assessed_at)
    .execute(&mut *connection)
    .await?;
    sqlx::query(
        "INSERT INTO assessment_history (inquiry_id, revision, kind, outcome, referral_target, \
           fired_rule_ids, rule_set_version, actor, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(stored.inquiry_id)
    .bind(history.revision)
    .bind(history.kind.as_str())
    .bind(history.outcome.as_str())
    .bind(&history.referral_target)
    .bind(&history.fired_rule_ids)
    .bind(&history.rule_set_version)
    .bind(&history.actor)
    .bind(&history.reason)
    .bind(history.at)
    .execute(connection)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    revision: i64,
    kind: String,
    outcome: String,
    referral_target: Option<String>,
    fired_rule_ids: Vec<String>,
    rule_set_version: String,
    actor: String,
    reason: Option<String>,
    at: DateTime<Utc>,
}

pub async fn history(pool: &PgPool, inquiry_id: Uuid) -> anyhow::Result<Vec<HistoryEntry>> {
    let rows: Vec<HistoryRow> = sqlx::query_as(
        "SELECT revision, kind, outcome, referral_target, fired_rule_ids, rule_set_version, \
         actor, reason, at FROM assessment_history WHERE inquiry_id = $1 ORDER BY revision",
    )
    .bind(inquiry_id)
    .fetch_all(pool)
    .await
    .context("cannot read the assessment's history")?;
    rows.into_iter()
        .map(|row| {
            Ok(HistoryEntry {
                revision: row.revision,
                kind: HistoryKind::from_code(&row.kind)
                    .with_context(|| format!("unknown history kind {:?}", row.kind))?,
                outcome: outcome(&row.outcome)?,
                referral_target: row.referral_target,
                fired_rule_ids: row.fired_rule_ids,
                rule_set_version: row.rule_set_version,
                actor: row.actor,
                reason: row.reason,
                at: row.at,
            })
        })
        .collect()
}

/// Which assessments a listing shows; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub outcome: Option<Outcome>,
    pub department: Option<String>,
    pub needs_review_queue: bool,
}

/// Up to `limit` matching assessments after position `after`, in the order first assessed.
pub async fn list_assessments(
    pool: &PgPool,
    filter: &Filter,
    after: i64,
    limit: i64,
) -> anyhow::Result<Vec<(i64, StoredAssessment)>> {
    let rows: Vec<AssessmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM assessments WHERE seq > $1 \
         AND ($3::text IS NULL OR outcome = $3) \
         AND ($4::text IS NULL OR department = $4) \
         AND (NOT $5 OR (rules_outcome = 'needs_review' AND override_outcome IS NULL)) \
         ORDER BY seq LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .bind(filter.outcome.map(Outcome::as_str))
    .bind(&filter.department)
    .bind(filter.needs_review_queue)
    .fetch_all(pool)
    .await
    .context("cannot list assessments")?;
    rows.into_iter().map(AssessmentRow::into_stored).collect()
}

/// Drops what the assessment holds of an erased inquiry's personal data: override reasons (in
/// force and in the history) and the words that matched in its description, keeping each
/// signal's topic. Nothing happens to an inquiry never assessed.
pub async fn erase_personal_data(
    connection: &mut PgConnection,
    inquiry_id: Uuid,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "WITH history AS (\
           UPDATE assessment_history SET reason = NULL \
           WHERE inquiry_id = $1 AND reason IS NOT NULL) \
         UPDATE assessments SET override_reason = NULL, personal_data_erased_at = $2, \
           review_signals = (SELECT coalesce(jsonb_agg(jsonb_set(s, '{signal}', '\"\"')), '[]') \
             FROM jsonb_array_elements(review_signals) s) \
         WHERE inquiry_id = $1",
    )
    .bind(inquiry_id)
    .bind(at)
    .execute(connection)
    .await
    .context("cannot erase the assessment's personal data")?;
    Ok(())
}
