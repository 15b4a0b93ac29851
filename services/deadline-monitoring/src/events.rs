//! Reacts to `inquiry.received`: schedules the answer deadline and publishes
//! `deadline.scheduled`, in the consumer's transaction.

use borgerraad_messaging::{EventHandler, EventType, HandlerError, Outbox, new_event};
use borgerraad_platform::clock::SharedClock;
use borgerraad_platform::convert::{date, from_timestamp, timestamp};
use borgerraad_proto::v1::{self as pb, event::Data};
use sqlx::PgConnection;
use uuid::Uuid;
use working_days::Calendar;

use crate::db;
use crate::domain::{Deadline, schedule};

pub struct ScheduleOnReceipt {
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub calendar: Calendar,
    pub working_days: u32,
}

impl EventHandler for ScheduleOnReceipt {
    async fn handle(
        &self,
        event: &pb::Event,
        transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let Some(Data::InquiryReceived(received)) = &event.data else {
            return Ok(());
        };
        let inquiry_id = Uuid::parse_str(&received.inquiry_id)
            .map_err(|_| HandlerError::Poison("inquiry_id is not a UUID".into()))?;
        let received_at = received
            .received_at
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| HandlerError::Poison("received_at is missing or out of range".into()))?;
        let deadline = schedule(
            &self.calendar,
            inquiry_id,
            received.department.clone(),
            received_at,
            self.working_days,
        );
        if db::insert_deadline(transaction, &deadline, self.clock.now()).await? {
            self.outbox
                .enqueue(transaction, &scheduled_event(&deadline, self.clock.now()))
                .await?;
            tracing::info!(%inquiry_id, due_date = %deadline.due_date, "deadline scheduled");
        }
        Ok(())
    }
}

fn scheduled_event(deadline: &Deadline, now: chrono::DateTime<chrono::Utc>) -> pb::Event {
    new_event(
        "/borgerraad/deadline-monitoring",
        EventType::DeadlineScheduled,
        deadline.inquiry_id,
        now,
        Data::DeadlineScheduled(pb::DeadlineScheduled {
            inquiry_id: deadline.inquiry_id.to_string(),
            department: deadline.department.clone(),
            received_at: Some(timestamp(deadline.received_at)),
            due_date: Some(date(deadline.due_date)),
            due_at: Some(timestamp(deadline.due_at)),
            working_days: i32::try_from(deadline.working_days).unwrap_or(i32::MAX),
        }),
    )
}
