//! Two writers applying facts of the same inquiry at once, on a real PostgreSQL: what two
//! reporting replicas (or two chunks in flight) do when an inquiry's first events arrive together.

use std::time::Duration;

use borgerraad_test_harness::{TestDatabase, eventually};
use chrono::{TimeZone as _, Utc};
use reporting::domain::state::{Answers, Fact};
use reporting::projection::apply_facts;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn the_first_facts_of_a_new_inquiry_applied_at_once_are_both_kept() {
    let database = TestDatabase::create().await.expect("database");
    let pool = borgerraad_platform::db::connect_and_migrate(
        &database.url(),
        "reporting",
        4,
        &reporting::db::MIGRATOR,
    )
    .await
    .expect("migrated");
    let id = Uuid::now_v7();
    let received = Fact::Answers {
        version: 1,
        answers: Answers {
            department: "social".into(),
            request_type: Some("complaint".into()),
            requester_kind: Some("citizen".into()),
            arrival_channel: Some("web_form".into()),
            complaint_themes: vec![],
            received_at: Utc
                .with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
                .single()
                .expect("a time"),
        },
    };
    let assessed = Fact::Eligibility {
        revision: 1,
        outcome: Some("accepted".into()),
        referral_target: None,
    };

    // The receipt is applied and not yet committed when the assessment comes in.
    let mut first = pool.begin().await.expect("begin");
    apply_facts(&mut first, &[(id, received)])
        .await
        .expect("received applied");
    let second = tokio::spawn({
        let pool = pool.clone();
        async move {
            let mut second = pool.begin().await?;
            apply_facts(&mut second, &[(id, assessed)])
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            second.commit().await?;
            anyhow::Ok(())
        }
    });
    eventually("the second writer to wait for the first", WAIT, || {
        let pool = pool.clone();
        async move {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&pool)
            .await
            .ok()?;
            (waiting > 0).then_some(())
        }
    })
    .await;
    first.commit().await.expect("first committed");
    second.await.expect("joined").expect("second committed");

    // Both facts stand: the inquiry is received, open, and counted as accepted.
    let counters: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT dimension, value, count FROM counters WHERE count <> 0 \
         AND dimension IN ('received', 'eligibility_outcome') ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .expect("counters");
    assert_eq!(
        counters,
        [
            ("eligibility_outcome".into(), "accepted".into(), 1),
            ("received".into(), String::new(), 1)
        ]
    );
    let (department, open): (Option<String>, bool) =
        sqlx::query_as("SELECT department, open FROM inquiry_facts WHERE inquiry_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("state row");
    assert_eq!((department.as_deref(), open), (Some("social"), true));
}
