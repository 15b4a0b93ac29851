//! What a caller finds on each port without the protos (grpcurl over reflection): its own
//! service, health and reflection; the error details' types; a precise status for a call to
//! another service's method, an enum number the proto does not define or text the database
//! would refuse.

use borgerraad_e2e::{STAFF, TestSystem, violated_fields};
use borgerraad_proto::v1 as pb;
use prost::Message as _;
use tonic::Code;
use tonic::transport::Channel;
use tonic_reflection::pb::{v1, v1alpha};

const SHARED: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// One reflection request over the v1 protocol.
async fn reflect_v1(
    channel: Channel,
    request: v1::server_reflection_request::MessageRequest,
) -> Result<v1::server_reflection_response::MessageResponse, tonic::Status> {
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner()
        .message()
        .await
        .map(|response| {
            response
                .and_then(|response| response.message_response)
                .expect("a message")
        })
}

/// The services a v1 client lists, sorted.
async fn services_v1(channel: Channel) -> Vec<String> {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let Ok(MessageResponse::ListServicesResponse(list)) =
        reflect_v1(channel, MessageRequest::ListServices(String::new())).await
    else {
        panic!("not a service list")
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

/// The services a v1alpha client (grpcurl 1.8) lists, sorted.
async fn services_v1alpha(channel: Channel) -> Vec<String> {
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let response = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner()
        .message()
        .await
        .expect("a response")
        .and_then(|response| response.message_response);
    let Some(MessageResponse::ListServicesResponse(list)) = response else {
        panic!("not a service list")
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

/// The file that declares `symbol`, or `None` when reflection does not know it.
async fn file_containing(
    channel: Channel,
    symbol: &str,
) -> Option<prost_types::FileDescriptorProto> {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    match reflect_v1(channel, MessageRequest::FileContainingSymbol(symbol.into())).await {
        Ok(MessageResponse::FileDescriptorResponse(files)) => {
            let file = files.file_descriptor_proto.first().expect("a file");
            Some(prost_types::FileDescriptorProto::decode(file.as_slice()).expect("a descriptor"))
        }
        Err(status) if status.code() == Code::NotFound => None,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn each_port_describes_and_serves_its_own_service_only() {
    let system = TestSystem::start().await.expect("system starts");
    let ports = system.ports;
    let channel = |port| system.channel(port).expect("channel");
    let services = [
        ("borgerraad.v1.IntakeService", ports.intake),
        ("borgerraad.v1.EligibilityService", ports.eligibility),
        ("borgerraad.v1.DeadlineMonitoringService", ports.deadlines),
        ("borgerraad.v1.ReportingService", ports.reporting),
    ];
    for (service, port) in services {
        let mut expected: Vec<String> = SHARED.iter().map(|s| s.to_string()).collect();
        expected.push(service.into());
        expected.sort();
        assert_eq!(
            services_v1(channel(port)).await,
            expected,
            "v1 on {service}'s port"
        );
        assert_eq!(
            services_v1alpha(channel(port)).await,
            expected,
            "v1alpha on {service}'s port"
        );

        // The error details statuses carry can be decoded, e.g. by grpcurl.
        let details = file_containing(channel(port), "google.rpc.BadRequest")
            .await
            .expect("google.rpc.BadRequest is known");
        assert_eq!(details.name(), "google/rpc/error_details.proto");
        assert!(
            details
                .message_type
                .iter()
                .any(|m| m.name() == "BadRequest")
        );
        assert!(
            file_containing(channel(port), "google.rpc.Status")
                .await
                .is_some()
        );
        assert!(file_containing(channel(port), service).await.is_some());
    }
    // Another service's descriptors are not served (only files a port's own proto imports are).
    assert!(
        file_containing(channel(ports.intake), "borgerraad.v1.ReportingService")
            .await
            .is_none()
    );

    // A call to reporting's method on intake's port says where the caller went wrong.
    let mut misdirected = pb::reporting_service_client::ReportingServiceClient::new(
        system.idp.channel(channel(ports.intake), STAFF),
    );
    let status = misdirected
        .get_summary(pb::GetSummaryRequest::default())
        .await
        .expect_err("not served here");
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(
        status.message(),
        "this port serves borgerraad.v1.IntakeService; borgerraad.v1.ReportingService is not \
         served here"
    );
    let mut misdirected = pb::intake_service_client::IntakeServiceClient::new(
        system.idp.channel(channel(ports.deadlines), STAFF),
    );
    let status = misdirected
        .list_inquiries(pb::ListInquiriesRequest::default())
        .await
        .expect_err("not served here");
    assert_eq!(status.code(), Code::Unimplemented);
    assert!(
        status
            .message()
            .starts_with("this port serves borgerraad.v1.DeadlineMonitoringService;")
    );
    system.stop().await.expect("system stops");
}

#[tokio::test]
async fn unknown_enum_numbers_and_text_the_database_would_refuse_are_the_callers_mistake() {
    let system = TestSystem::start().await.expect("system starts");
    let mut eligibility = system.eligibility.clone();

    let listed = eligibility
        .list_assessments(pb::ListAssessmentsRequest {
            outcome: 77,
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(listed.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&listed), ["outcome"]);
    assert!(
        listed.message().contains("77 is not a known outcome"),
        "{listed:?}"
    );

    // Not an enum, but text the database would refuse: the caller's mistake all the same.
    let nul = eligibility
        .list_assessments(pb::ListAssessmentsRequest {
            department: "by-og\0kultur".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(violated_fields(&nul), ["department"]);

    let overridden = eligibility
        .override_assessment(pb::OverrideAssessmentRequest {
            inquiry_id: "0195f0f0-0000-7000-8000-000000000000".into(),
            actor: STAFF.into(),
            outcome: 77,
            reason: "r".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(overridden.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&overridden), ["outcome"]);
    assert!(overridden.message().contains("77 is not a known outcome"));

    let mut reporting = system.reporting.clone();
    let Err(exported) = reporting
        .export_annual_report(pb::ExportAnnualReportRequest {
            year: 2026,
            format: 77,
            department: String::new(),
        })
        .await
    else {
        panic!("refused")
    };
    assert_eq!(exported.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&exported), ["format"]);
    system.stop().await.expect("system stops");
}
