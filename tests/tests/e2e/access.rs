//! Who may call what: every call but health and reflection needs a valid access token from the
//! identity provider (a real OpenID Connect provider, started by the harness), each role reaches
//! exactly the methods the table grants, a department system sees only its own department, and
//! every answer carrying personal data is in the access log before it leaves.

use std::sync::Arc;

use base64::Engine as _;
use borgerraad_e2e::{STAFF, TestSystem, test_keyring, valid_submission};
use borgerraad_platform::auth::policy::GRANTS;
use borgerraad_platform::auth::{AuthSettings, Bearer, ClientCredentials, Credentials, Role};
use borgerraad_platform::clock::ManualClock;
use borgerraad_platform::settings::Secret;
use borgerraad_proto::v1 as pb;
use tonic::Code;

/// Calls `path` with an empty request: enough to see whether the call gets past the door
/// (any refusal of the request itself comes after).
async fn knock<S>(channel: S, path: &'static str) -> tonic::Status
where
    S: tonic::client::GrpcService<tonic::body::Body>,
    S::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <S::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
    S::Error: Into<tonic::codegen::StdError>,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    if let Err(error) = grpc.ready().await {
        return tonic::Status::unavailable(format!("{}", error.into()));
    }
    let answer = grpc
        .unary::<(), (), _>(
            tonic::Request::new(()),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            borgerraad_proto::codec::ProtoCodec::default(),
        )
        .await;
    match answer {
        Ok(_) => tonic::Status::ok(""),
        Err(status) => status,
    }
}

fn port_of(system: &TestSystem, method: &str) -> u16 {
    match method.split_once('/').map(|(service, _)| service) {
        Some("borgerraad.v1.IntakeService") => system.ports.intake,
        Some("borgerraad.v1.EligibilityService") => system.ports.eligibility,
        Some("borgerraad.v1.DeadlineMonitoringService") => system.ports.deadlines,
        _ => system.ports.reporting,
    }
}

fn static_path(method: &str) -> &'static str {
    Box::leak(format!("/{method}").into_boxed_str())
}

#[tokio::test]
async fn each_role_reaches_exactly_the_methods_the_table_grants() {
    let system = TestSystem::start().await.expect("system starts");
    for grant in GRANTS {
        let path = static_path(grant.method);
        for role in Role::ALL {
            let plain = system
                .channel(port_of(&system, grant.method))
                .expect("channel");
            let status = knock(system.idp.channel(plain, role.as_str()), path).await;
            let granted = grant.roles.contains(&role);
            assert_eq!(
                status.code() == Code::PermissionDenied,
                !granted,
                "{role} calling {}: {status:?}",
                grant.method
            );
            assert_ne!(status.code(), Code::Unauthenticated, "{status:?}");
            if !granted {
                assert!(
                    status.message().contains(&format!("the token has {role}")),
                    "the refusal names what the caller holds: {status:?}"
                );
                assert!(
                    grant
                        .roles
                        .iter()
                        .all(|needed| status.message().contains(needed.as_str())),
                    "the refusal names the roles that would do: {status:?}"
                );
            }
        }
    }
    system.stop().await.expect("clean shutdown");
}

/// A token re-encoded with `header` in place of its own, signature kept.
fn with_header(token: &str, header: &serde_json::Value) -> String {
    let (_, rest) = token.split_once('.').expect("a JWT");
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(header).expect("json"));
    format!("{header}.{rest}")
}

/// A token re-encoded with `claims` in place of its own, header and signature kept.
fn with_payload(token: &str, claims: &serde_json::Value) -> String {
    let mut parts = token.split('.');
    let (header, _, signature) = (parts.next(), parts.next(), parts.next());
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(claims).expect("json"));
    format!(
        "{}.{claims}.{}",
        header.expect("a JWT"),
        signature.expect("a JWT")
    )
}

fn payload_of(token: &str) -> serde_json::Value {
    let claims = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

fn header_of(token: &str) -> serde_json::Value {
    let header = token.split('.').next().expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// Intake as a second replica on the system's database, checking tokens with `auth`.
async fn intake_checking_with(
    system: &TestSystem,
    auth: AuthSettings,
) -> (u16, tokio_util::sync::CancellationToken) {
    let mut common = system.common_settings("intake").expect("settings");
    common.auth = auth;
    let application = intake::Application::build(
        intake::Settings {
            common,
            departments: borgerraad_platform::departments::Departments::odense(),
            personal_data_keys: Arc::new(test_keyring()),
            retention: Default::default(),
        },
        system.clock.clone(),
    )
    .await
    .expect("intake starts");
    let port = application.port();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(application.run_until(stop.clone()));
    (port, stop)
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated_with_the_reason_and_change_nothing() {
    let system = TestSystem::start().await.expect("system starts");
    let token = system.idp.token(STAFF).await.expect("a token");
    const LIST: &str = "/borgerraad.v1.IntakeService/ListInquiries";
    const SUBMIT: &str = "/borgerraad.v1.IntakeService/SubmitInquiry";
    let intake = || async { system.channel(system.ports.intake).expect("channel") };
    let with =
        |token: String| async move { Bearer::new(intake().await, Credentials::token(token)) };

    let mut refused = Vec::new();
    refused.push(("no token", knock(intake().await, LIST).await));
    refused.push(("not a JWT", knock(with("abc".into()).await, LIST).await));
    // A character inside the signature changed: the content no longer matches it. (Not the
    // last one, whose low bits are padding: a change there may only make the base64 invalid.)
    let mut forged = token.clone().into_bytes();
    let inside = forged.len() - 10;
    forged[inside] = if forged[inside] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("base64url is ASCII");
    refused.push(("wrong signature", knock(with(forged).await, SUBMIT).await));
    let mut header = header_of(&token);
    header["kid"] = "a-retired-key".into();
    refused.push((
        "unknown key",
        knock(with(with_header(&token, &header)).await, SUBMIT).await,
    ));
    // Another provider's token: its own issuer, signed with a key of its own.
    let mut header = header_of(&token);
    header["kid"] = "another-providers-key".into();
    let mut claims = payload_of(&token);
    claims["iss"] = "https://login.another-municipality.example".into();
    refused.push((
        "another issuer",
        knock(
            with(with_payload(&with_header(&token, &header), &claims)).await,
            SUBMIT,
        )
        .await,
    ));
    let mut header = header_of(&token);
    header["alg"] = "HS256".into();
    refused.push((
        "a shared-secret algorithm",
        knock(with(with_header(&token, &header)).await, SUBMIT).await,
    ));
    let reasons = [
        "no access token",
        "not a well-formed JWT",
        "signature is invalid",
        "key the identity provider does not publish",
        "issued by another issuer",
        "HS256, which is not accepted",
    ];
    for ((what, status), reason) in refused.iter().zip(reasons) {
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
        assert!(status.message().contains(reason), "{what}: {status:?}");
    }

    // Expired by the clock of the service checking it, or meant for another audience.
    let clock = ManualClock::new(chrono::Utc::now());
    let (expired_port, stop_expired) = intake_checking_with(
        &system,
        AuthSettings {
            clock: clock.clone(),
            ..system.idp.auth_settings()
        },
    )
    .await;
    // Accepted while valid; once its time is up, the same token is refused, though the service
    // has checked its signature before.
    let accepted = knock(
        Bearer::new(
            system.channel(expired_port).expect("channel"),
            Credentials::token(token.clone()),
        ),
        LIST,
    )
    .await;
    assert_ne!(accepted.code(), Code::Unauthenticated, "{accepted:?}");
    clock.advance(chrono::Duration::hours(2));
    let (audience_port, stop_audience) = intake_checking_with(
        &system,
        AuthSettings {
            audience: "another-api".into(),
            ..system.idp.auth_settings()
        },
    )
    .await;
    for (port, reason) in [
        (expired_port, "the access token has expired"),
        (audience_port, "meant for another audience"),
    ] {
        let plain = system.channel(port).expect("channel");
        let status = knock(Bearer::new(plain, Credentials::token(token.clone())), LIST).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(status.message().contains(reason), "{status:?}");
    }
    stop_expired.cancel();
    stop_audience.cancel();

    // Health and reflection answer without a token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(intake().await);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health needs no token");

    // Nothing was submitted, nothing read, nothing logged.
    let counts = system.event_counts().await.expect("counts");
    assert_eq!(counts.get("borgerraad.inquiry.received"), None);
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM intake.access_log")
        .fetch_one(&system.database.pool("intake").await.expect("pool"))
        .await
        .expect("counted");
    assert_eq!(logged, 0);
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_service_identity_is_of_no_use_without_its_secret_or_beyond_its_grant() {
    let system = TestSystem::start().await.expect("system starts");
    let source = borgerraad_platform::auth::TokenSource::new(
        system.idp.issuer(),
        ClientCredentials {
            client_id: "eligibility".into(),
            client_secret: Secret::new("a guess"),
        },
        None,
    )
    .expect("a loopback issuer");
    let refused = source
        .token()
        .await
        .expect_err("no token for a wrong secret");
    assert!(
        format!("{refused:#}").contains("eligibility"),
        "{refused:#}"
    );
    // Its own token reads what it assesses, and takes no step.
    let mut as_eligibility = system.intake_as("eligibility").await;
    let submitted = system
        .intake
        .clone()
        .submit_inquiry(valid_submission())
        .await
        .expect("accepted")
        .into_inner();
    let read = as_eligibility
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: submitted.inquiry_id.clone(),
            ..Default::default()
        })
        .await
        .expect("eligibility reads the description")
        .into_inner();
    assert!(!read.description.is_empty());
    assert_eq!(
        read.requester.unwrap_or_default().name,
        "",
        "but not who wrote it"
    );
    let status = as_eligibility
        .add_note(pb::AddNoteRequest {
            inquiry_id: submitted.inquiry_id.clone(),
            expected_version: 1,
            text: "Forsøg".into(),
            ..Default::default()
        })
        .await
        .expect_err("no steps");
    assert_eq!(status.code(), Code::PermissionDenied);
    // Deadline-monitoring sees the state, no personal data at all.
    let state = system
        .intake_as("deadline-monitoring")
        .await
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: submitted.inquiry_id.clone(),
            ..Default::default()
        })
        .await
        .expect("deadline-monitoring reads the state")
        .into_inner();
    assert_eq!((state.description.as_str(), state.status != 0), ("", true));
    system.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_department_system_sees_only_its_own_department_cpr_masked_and_cannot_reveal() {
    let system = TestSystem::start().await.expect("system starts");
    let mut intake = system.intake.clone();
    let submit = |department: &str| pb::SubmitInquiryRequest {
        department: department.into(),
        requester: Some(pb::Requester {
            name: "Karen Jensen".into(),
            cpr: "0101901234".into(),
            ..Default::default()
        }),
        ..valid_submission()
    };
    let own = intake
        .submit_inquiry(submit("by-og-kultur"))
        .await
        .expect("accepted")
        .into_inner();
    let other = intake
        .submit_inquiry(submit("boern-og-unge"))
        .await
        .expect("accepted")
        .into_inner();
    let mut department = system.intake_for_department("by-og-kultur").await;

    let listed = department
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect("listed")
        .into_inner()
        .inquiries;
    assert_eq!(
        listed
            .iter()
            .map(|i| i.inquiry_id.as_str())
            .collect::<Vec<_>>(),
        [own.inquiry_id.as_str()]
    );
    let asked_for_other = department
        .list_inquiries(pb::ListInquiriesRequest {
            department: "boern-og-unge".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .inquiries;
    assert!(asked_for_other.is_empty());

    let read = department
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: own.inquiry_id.clone(),
            ..Default::default()
        })
        .await
        .expect("its own")
        .into_inner();
    assert_eq!(read.requester.unwrap_or_default().cpr, "010190-XXXX");

    // Another department's inquiry is refused exactly like one that does not exist.
    let hidden = department
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: other.inquiry_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("not its own");
    let missing = department
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        })
        .await
        .expect_err("no such inquiry");
    assert_eq!(
        (hidden.code(), hidden.message()),
        (missing.code(), missing.message())
    );
    assert_eq!(hidden.code(), Code::NotFound);
    let by_reference = department
        .get_inquiry(pb::GetInquiryRequest {
            reference: other.reference.clone(),
            ..Default::default()
        })
        .await
        .expect_err("not its own");
    assert_eq!(by_reference.code(), Code::NotFound);
    let batch = department
        .batch_get_inquiries(pb::BatchGetInquiriesRequest {
            inquiry_ids: vec![other.inquiry_id.clone(), own.inquiry_id.clone()],
        })
        .await
        .expect("batch")
        .into_inner()
        .inquiries;
    assert_eq!(
        batch
            .iter()
            .map(|i| i.inquiry_id.as_str())
            .collect::<Vec<_>>(),
        [own.inquiry_id.as_str()]
    );

    let reveal = department
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: own.inquiry_id.clone(),
            reveal_cpr: true,
            purpose: "Sagsbehandling".into(),
            ..Default::default()
        })
        .await
        .expect_err("no reveal");
    assert_eq!(reveal.code(), Code::PermissionDenied);
    assert!(reveal.message().contains("caseworker"), "{reveal:?}");

    // A caseworker may reveal, but only saying why.
    let status = intake
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: own.inquiry_id.clone(),
            reveal_cpr: true,
            ..Default::default()
        })
        .await
        .expect_err("no purpose");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(borgerraad_e2e::violated_fields(&status), ["purpose"]);
    system.stop().await.expect("clean shutdown");
}

/// How many entries the access log holds for the caller `subject`.
async fn logged_for(system: &TestSystem, subject: &str) -> i64 {
    let pool = system.database.pool("intake").await.expect("pool");
    let count = sqlx::query_scalar("SELECT count(*) FROM access_log WHERE subject = $1")
        .bind(subject)
        .fetch_one(&pool)
        .await
        .expect("counted");
    pool.close().await;
    count
}

#[tokio::test]
async fn every_answer_with_personal_data_in_a_day_of_work_is_in_the_access_log_and_a_changed_entry_is_found()
 {
    let system = TestSystem::start().await.expect("system starts");
    let mut form = system.intake_as("web-form").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            form.submit_inquiry(valid_submission())
                .await
                .expect("accepted")
                .into_inner()
                .inquiry_id,
        );
    }
    // A submission answers with ids only: nothing to log.
    assert_eq!(logged_for(&system, "web-form").await, 0);
    let version = system.settled_version(&ids[0]).await;
    let before = logged_for(&system, STAFF).await;

    // The caseworker's day: the list (3 inquiries), each one opened (3), one step (its answer
    // shows the inquiry: 1), one reveal (1), a department system's read (1).
    let mut intake = system.intake.clone();
    let listed = intake
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect("listed")
        .into_inner()
        .inquiries;
    assert_eq!(listed.len(), 3);
    for id in &ids {
        intake
            .get_inquiry(pb::GetInquiryRequest {
                inquiry_id: id.clone(),
                ..Default::default()
            })
            .await
            .expect("read");
    }
    intake
        .add_note(pb::AddNoteRequest {
            inquiry_id: ids[0].clone(),
            expected_version: version,
            text: "Ringede til borgeren.".into(),
            ..Default::default()
        })
        .await
        .expect("noted");
    intake
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: ids[0].clone(),
            reveal_cpr: true,
            purpose: "Partshøring".into(),
            ..Default::default()
        })
        .await
        .expect("revealed");
    system
        .intake_for_department("by-og-kultur")
        .await
        .get_inquiry(pb::GetInquiryRequest {
            inquiry_id: ids[1].clone(),
            ..Default::default()
        })
        .await
        .expect("its own department");
    assert_eq!(logged_for(&system, STAFF).await - before, 3 + 3 + 1 + 1);
    assert_eq!(logged_for(&system, "department-system").await, 1);

    let verified = system
        .intake_as("operator")
        .await
        .verify_audit_log(pb::VerifyAuditLogRequest::default())
        .await
        .expect("verified")
        .into_inner();
    assert!(verified.intact, "{verified:?}");

    // Someone with the database's owner rights gets round the trigger and changes an entry.
    let pool = system.database.pool("intake").await.expect("pool");
    let position: i64 =
        sqlx::query_scalar("SELECT position FROM access_log WHERE purpose = 'Partshøring'")
            .fetch_one(&pool)
            .await
            .expect("the reveal's entry");
    let mut transaction = pool.begin().await.expect("begin");
    for statement in [
        "ALTER TABLE access_log DISABLE TRIGGER access_log_no_update_or_delete",
        "UPDATE access_log SET purpose = 'Rutinekontrol' WHERE purpose = 'Partshøring'",
        "ALTER TABLE access_log ENABLE TRIGGER access_log_no_update_or_delete",
    ] {
        sqlx::query(statement)
            .execute(&mut *transaction)
            .await
            .expect(statement);
    }
    transaction.commit().await.expect("committed");
    pool.close().await;
    let verified = system
        .intake_as("operator")
        .await
        .verify_audit_log(pb::VerifyAuditLogRequest::default())
        .await
        .expect("verified")
        .into_inner();
    assert!(!verified.intact);
    assert_eq!(verified.first_broken_position, position);
    system.stop().await.expect("clean shutdown");
}
