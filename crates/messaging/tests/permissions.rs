//! The bus is not a back door: on a NATS server secured with the deployment's users and
//! permissions (`deploy/nats-permissions.conf`), each service can do what it needs with its own
//! identity (declare the stream, publish its own events with their acknowledgement, consume
//! through its own durable consumer) and nothing more: another service's subjects, the stream's
//! administration and other consumers are refused by the server, as is a client without
//! credentials.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use borgerraad_messaging::stream::{STREAM_NAME, ensure_stream};
use borgerraad_messaging::{
    Consumer, ConsumerSpec, EventHandler, EventType, HandlerError, Producer, new_event,
};
use borgerraad_platform::settings::{NatsCredentials, NatsSettings, Secret};
use borgerraad_proto::v1::{Event, event::Data};
use borgerraad_test_harness::{NatsServer, TestDatabase, eventually};
use futures::StreamExt as _;
use prost::Message as _;
use sqlx::PgConnection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const SETTLE: Duration = Duration::from_secs(15);

/// The services' consumers as their `startup.rs` declare them: (user, durable, filter).
const CONSUMERS: [(&str, &str, &str); 5] = [
    ("intake", "intake", "borgerraad.eligibility.assessed"),
    ("intake", "intake-deadlines", "borgerraad.deadline.>"),
    (
        "eligibility",
        "eligibility-inquiries",
        "borgerraad.inquiry.received",
    ),
    (
        "deadline-monitoring",
        "deadline-monitoring-inquiries",
        "borgerraad.inquiry.>",
    ),
    ("reporting", "reporting", "borgerraad.>"),
];

/// A service's connection, made by the messaging crate from settings as a service makes it.
async fn connect_as(nats: &NatsServer, user: &str) -> async_nats::Client {
    let identity = nats.identity(user).expect("a user of the secured server");
    let settings = NatsSettings {
        credentials: NatsCredentials::UserPassword {
            user: identity.user.clone(),
            password: Secret::new(identity.password()),
        },
        ..Default::default()
    };
    borgerraad_messaging::stream::connect(&nats.url(), user, &settings)
        .await
        .expect("connects")
}

/// A JetStream context whose acknowledgements fail fast: a refused publish gets none.
fn jetstream_of(client: async_nats::Client) -> jetstream::Context {
    let mut context = jetstream::new(client);
    context.set_timeout(Duration::from_secs(2));
    context
}

fn event_of(event_type: EventType) -> Event {
    let data = match event_type.producer() {
        Producer::Intake => Data::InquiryReceived(Default::default()),
        Producer::Eligibility => Data::EligibilityAssessed(Default::default()),
        Producer::DeadlineMonitoring if event_type == EventType::DeadlineStopped => {
            Data::DeadlineStopped(Default::default())
        }
        Producer::DeadlineMonitoring => Data::DeadlineNotice(Default::default()),
    };
    new_event(
        event_type.producer().source(),
        event_type,
        Uuid::now_v7(),
        chrono::Utc::now(),
        data,
    )
}

/// Publishes `event` on `subject` and waits for JetStream's acknowledgement.
async fn publish(context: &jetstream::Context, subject: &str, event: &Event) -> anyhow::Result<()> {
    context
        .publish(subject.to_owned(), event.encode_to_vec().into())
        .await?
        .await?;
    Ok(())
}

/// How many messages the stream holds on `subject`, as the observer sees it.
async fn messages_on(observer: &jetstream::Context, subject: &str) -> u64 {
    let stream = observer.get_stream(STREAM_NAME).await.expect("the stream");
    let info = stream
        .info_with_subjects(subject)
        .await
        .expect("stream info")
        .next()
        .await;
    match info {
        Some(Ok((_, count))) => count as u64,
        _ => 0,
    }
}

/// Hands every event it is given to the test.
struct Forward(mpsc::UnboundedSender<Event>);

impl EventHandler for Forward {
    async fn handle(
        &self,
        event: &Event,
        _transaction: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let _ = self.0.send(event.clone());
        Ok(())
    }
}

/// A schema with the consumer's bookkeeping tables, as every service's first migration has.
async fn consumer_tables(database: &TestDatabase, schema: &str) -> sqlx::PgPool {
    let admin = database.pool("public").await.expect("a pool");
    for statement in [
        format!("CREATE SCHEMA \"{schema}\""),
        format!(
            "CREATE TABLE \"{schema}\".applied_events (event_id uuid PRIMARY KEY, \
             event_type text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE TABLE \"{schema}\".dead_letters (dead_letter_id bigint GENERATED ALWAYS AS \
             IDENTITY PRIMARY KEY, consumer text NOT NULL, subject text NOT NULL, \
             stream_sequence bigint NOT NULL, reason text NOT NULL, payload bytea NOT NULL, \
             recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (consumer, stream_sequence))"
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&admin)
            .await
            .expect("tables");
    }
    database.pool(schema).await.expect("a pool")
}

#[tokio::test]
async fn a_client_without_the_right_credentials_is_refused() {
    let nats = NatsServer::start_secured().await.expect("nats");
    assert!(
        async_nats::connect(nats.url()).await.is_err(),
        "no credentials"
    );
    let wrong = async_nats::ConnectOptions::new()
        .user_and_password("intake".into(), "guessed".into())
        .connect(nats.url())
        .await;
    assert!(wrong.is_err(), "a wrong password");
    assert!(nats.client().await.is_ok(), "the observer gets in");
}

#[tokio::test]
async fn each_service_declares_the_stream_publishes_its_events_and_consumes_with_its_own_user() {
    let nats = NatsServer::start_secured().await.expect("nats");
    let database = TestDatabase::create().await.expect("database");
    let shutdown = CancellationToken::new();
    let mut inboxes = Vec::new();
    for (user, durable, filter) in CONSUMERS {
        let client = connect_as(&nats, user).await;
        let context = jetstream_of(client);
        ensure_stream(&context).await.expect("declares the stream");
        let (sender, receiver) = mpsc::unbounded_channel();
        let schema = format!("consumer_{}", durable.replace('-', "_"));
        let consumer = Consumer::new(
            ConsumerSpec {
                durable_name: durable,
                filter_subject: filter,
                concurrency: 2,
                batch_size: 8,
            },
            consumer_tables(&database, &schema).await,
            context,
            Forward(sender),
            None,
        );
        tokio::spawn(consumer.run(shutdown.clone()));
        inboxes.push((durable, receiver));
    }

    // Each producer publishes one event of its own, acknowledged by JetStream.
    let mut published = Vec::new();
    for (user, event_type) in [
        ("intake", EventType::InquiryReceived),
        ("eligibility", EventType::EligibilityAssessed),
        ("deadline-monitoring", EventType::DeadlineStopped),
    ] {
        let context = jetstream_of(connect_as(&nats, user).await);
        let event = event_of(event_type);
        publish(&context, event_type.as_str(), &event)
            .await
            .unwrap_or_else(|error| panic!("{user} publishes {event_type}: {error}"));
        published.push(event);
    }

    // Each consumer receives what its filter takes, through its own user's inbox.
    for (durable, receiver) in &mut inboxes {
        let (_, _, filter) = CONSUMERS
            .iter()
            .find(|(_, d, _)| d == durable)
            .expect("known");
        let wanted = published
            .iter()
            .filter(|e| match filter.strip_suffix('>') {
                Some(family) => e.r#type.starts_with(family),
                None => e.r#type == *filter,
            })
            .count();
        assert!(wanted > 0, "{durable} consumes something");
        let mut got = 0;
        while got < wanted {
            tokio::time::timeout(SETTLE, receiver.recv())
                .await
                .unwrap_or_else(|_| panic!("{durable} received {got} of {wanted} events"))
                .expect("the consumer runs");
            got += 1;
        }
    }

    // And acknowledged them: nothing stays pending on any consumer.
    let observer = jetstream_of(nats.client().await.expect("observer"));
    for (_, durable, _) in CONSUMERS {
        eventually(&format!("{durable} acknowledged"), SETTLE, || {
            let observer = observer.clone();
            async move {
                let mut consumer: jetstream::consumer::PullConsumer = observer
                    .get_consumer_from_stream(durable, STREAM_NAME)
                    .await
                    .ok()?;
                let info = consumer.info().await.ok()?;
                (info.num_ack_pending == 0 && info.num_pending == 0).then_some(())
            }
        })
        .await;
    }
    shutdown.cancel();
}

#[tokio::test]
async fn reporting_replays_the_stream_with_an_ordered_consumer() {
    let nats = NatsServer::start_secured().await.expect("nats");
    let intake = jetstream_of(connect_as(&nats, "intake").await);
    ensure_stream(&intake).await.expect("stream");
    publish(
        &intake,
        EventType::InquiryReceived.as_str(),
        &event_of(EventType::InquiryReceived),
    )
    .await
    .expect("published");

    let reporting = jetstream_of(connect_as(&nats, "reporting").await);
    let stream = ensure_stream(&reporting).await.expect("stream");
    let mut messages = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: "borgerraad.>".into(),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .expect("an ordered consumer")
        .messages()
        .await
        .expect("messages");
    let message = tokio::time::timeout(SETTLE, messages.next())
        .await
        .expect("a message in time")
        .expect("a message")
        .expect("readable");
    assert_eq!(
        message.subject.as_str(),
        EventType::InquiryReceived.as_str()
    );
}

#[tokio::test]
async fn no_identity_can_publish_on_a_subject_it_does_not_own() {
    let nats = NatsServer::start_secured().await.expect("nats");
    let observer = jetstream_of(nats.client().await.expect("observer"));
    ensure_stream(&observer).await.expect("stream");

    let attempts = [
        ("intake", EventType::DeadlineBreached),
        ("intake", EventType::EligibilityAssessed),
        ("eligibility", EventType::InquiryReceived),
        ("eligibility", EventType::DeadlineStopped),
        ("deadline-monitoring", EventType::InquiryReceived),
        ("reporting", EventType::InquiryReceived),
        ("reporting", EventType::DeadlineStopped),
        ("reporting", EventType::EligibilityAssessed),
    ];
    for (user, event_type) in attempts {
        let context = jetstream_of(connect_as(&nats, user).await);
        let refused = publish(&context, event_type.as_str(), &event_of(event_type)).await;
        assert!(
            refused.is_err(),
            "{user} must not publish {event_type}, yet JetStream acknowledged it"
        );
    }
    // Not even outside the known event types.
    let intake = jetstream_of(connect_as(&nats, "intake").await);
    assert!(
        publish(
            &intake,
            "borgerraad.deadline.x",
            &event_of(EventType::DeadlineStopped)
        )
        .await
        .is_err()
    );
    for subject in [
        "borgerraad.deadline.breached",
        "borgerraad.deadline.stopped",
        "borgerraad.deadline.x",
        "borgerraad.inquiry.received",
        "borgerraad.eligibility.assessed",
    ] {
        assert_eq!(
            messages_on(&observer, subject).await,
            0,
            "{subject} stays empty"
        );
    }
}

#[tokio::test]
async fn no_service_can_administer_the_stream_or_another_services_consumer() {
    let nats = NatsServer::start_secured().await.expect("nats");
    let observer = jetstream_of(nats.client().await.expect("observer"));
    ensure_stream(&observer).await.expect("stream");
    let intake = jetstream_of(connect_as(&nats, "intake").await);
    assert!(
        intake.delete_stream(STREAM_NAME).await.is_err(),
        "delete the stream"
    );
    let mut stream = observer.get_stream(STREAM_NAME).await.expect("still there");
    assert!(stream.info().await.is_ok());
    let stream = stream;
    let hijack = intake
        .get_stream(STREAM_NAME)
        .await
        .expect("intake may look the stream up")
        .create_consumer(pull::Config {
            durable_name: Some("deadline-monitoring-inquiries".into()),
            filter_subject: "borgerraad.inquiry.>".into(),
            ..Default::default()
        })
        .await;
    assert!(hijack.is_err(), "create another service's consumer");
    // Reporting may delete the consumers its rebuild makes, but not a service's durable one.
    observer
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("intake".into()),
                filter_subject: "borgerraad.eligibility.assessed".into(),
                ..Default::default()
            },
            STREAM_NAME,
        )
        .await
        .expect("intake's consumer");
    let reporting = jetstream_of(connect_as(&nats, "reporting").await);
    assert!(
        reporting
            .delete_consumer_from_stream("intake", STREAM_NAME)
            .await
            .is_err(),
        "reporting deletes another service's consumer"
    );
    assert!(
        stream.consumer_info("intake").await.is_ok(),
        "intake's consumer is still there"
    );
    let purged = intake
        .get_stream(STREAM_NAME)
        .await
        .expect("intake may look the stream up")
        .purge()
        .await;
    assert!(purged.is_err(), "purge the stream");
}

#[tokio::test]
async fn the_backup_user_reads_the_streams_messages_and_can_change_nothing() {
    let nats = NatsServer::start_secured().await.expect("nats");
    let observer = jetstream_of(nats.client().await.expect("observer"));
    ensure_stream(&observer).await.expect("stream");
    let event = event_of(EventType::InquiryReceived);
    publish(&observer, "borgerraad.inquiry.received", &event)
        .await
        .expect("published");
    let backup = jetstream_of(connect_as(&nats, borgerraad_test_harness::BACKUP).await);

    let stream = backup
        .get_stream(STREAM_NAME)
        .await
        .expect("the backup user looks the stream up");
    let message = stream
        .get_raw_message(1)
        .await
        .expect("and reads its messages");
    assert_eq!(message.payload, event.encode_to_vec());

    let forged = event_of(EventType::InquiryReceived);
    assert!(
        publish(&backup, "borgerraad.inquiry.received", &forged)
            .await
            .is_err(),
        "publish an event"
    );
    assert!(
        backup.delete_stream(STREAM_NAME).await.is_err(),
        "delete the stream"
    );
    assert!(stream.purge().await.is_err(), "purge the stream");
    assert_eq!(messages_on(&observer, "borgerraad.>").await, 1);
}
