//! SQL on the `eligibility` schema.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Assessment, FiredRule, Outcome, StoredAssessment};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Stores the latest assessment of an inquiry, replacing an earlier one.
pub async fn upsert_assessment(
    connection: &mut PgConnection,
    stored: &StoredAssessment,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO assessments (inquiry_id, department, outcome, fired_rules, referral_target, \
         rule_set_version, assessed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (inquiry_id) DO UPDATE SET department = EXCLUDED.department, \
         outcome = EXCLUDED.outcome, fired_rules = EXCLUDED.fired_rules, \
         referral_target = EXCLUDED.referral_target, rule_set_version = EXCLUDED.rule_set_version, \
         assessed_at = EXCLUDED.assessed_at",
    )
    .bind(stored.inquiry_id)
    .bind(&stored.department)
    .bind(stored.assessment.outcome.as_str())
    .bind(Json(&stored.assessment.fired_rules))
    .bind(&stored.assessment.referral_target)
    .bind(&stored.rule_set_version)
    .bind(stored.assessed_at)
    .execute(connection)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AssessmentRow {
    inquiry_id: Uuid,
    department: String,
    outcome: String,
    fired_rules: Json<Vec<FiredRule>>,
    referral_target: Option<String>,
    rule_set_version: String,
    assessed_at: DateTime<Utc>,
}

pub async fn get_assessment(
    pool: &PgPool,
    inquiry_id: Uuid,
) -> anyhow::Result<Option<StoredAssessment>> {
    let row: Option<AssessmentRow> = sqlx::query_as(
        "SELECT inquiry_id, department, outcome, fired_rules, referral_target, rule_set_version, \
         assessed_at FROM assessments WHERE inquiry_id = $1",
    )
    .bind(inquiry_id)
    .fetch_optional(pool)
    .await
    .context("cannot read assessment")?;
    row.map(|row| {
        Ok(StoredAssessment {
            inquiry_id: row.inquiry_id,
            department: row.department,
            assessment: Assessment {
                outcome: Outcome::from_code(&row.outcome)
                    .with_context(|| format!("unknown outcome {:?}", row.outcome))?,
                fired_rules: row.fired_rules.0,
                referral_target: row.referral_target,
            },
            rule_set_version: row.rule_set_version,
            assessed_at: row.assessed_at,
        })
    })
    .transpose()
}
