//! Static checks of `docker-compose.yml` and the files under `deploy/` it refers to.
//!
//! There is no Docker engine in CI, so these tests read the files as data and
//! check the properties the stack relies on: start order, health checks,
//! persisted JetStream and Postgres data, that every referenced file exists, and
//! the security of the stack: no default secret, TLS on every gRPC port from
//! mounted secrets, and no published port for the database, NATS or the collector.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
// Read as JSON values: YAML maps with string keys, which is all compose and the collector use.
use serde_json::Value;

const APP_SERVICES: [&str; 4] = ["intake", "eligibility", "deadline-monitoring", "reporting"];
const INFRA_SERVICES: [&str; 5] = ["nats", "postgres", "otel-collector", "jaeger", "keycloak"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("deploy/ has a parent directory")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The compose file with `<<` merge keys applied (the parser merges them), as docker-compose
/// sees it.
fn compose() -> Value {
    serde_saphyr::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|s| s.get(name))
        .unwrap_or_else(|| panic!("service {name} is defined"))
}

/// Scalars as compose treats them: `50051` and `"50051"` mean the same.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `environment:` as a map, whether written as a map or as a list of `KEY=VALUE`.
fn environment(service: &Value) -> BTreeMap<String, String> {
    match service.get("environment") {
        None => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), scalar(v).unwrap_or_default()))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let entry = item.as_str().expect("environment entries are strings");
                match entry.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (entry.to_string(), String::new()),
                }
            })
            .collect(),
        Some(other) => panic!("environment must be a map or a list, got {other:?}"),
    }
}

/// Published ports as (host port, container port), from the short or the long syntax.
fn ports(service: &Value) -> Vec<(Option<u16>, u16)> {
    let Some(items) = service.get("ports").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(_) => {
                let target = item
                    .get("target")
                    .and_then(scalar)
                    .and_then(|t| t.parse().ok())
                    .expect("long-syntax port has a numeric target");
                let published = item
                    .get("published")
                    .and_then(scalar)
                    .and_then(|p| p.parse().ok());
                (published, target)
            }
            _ => {
                let text = scalar(item).expect("short-syntax port is a scalar");
                let text = text.split('/').next().unwrap_or_default();
                // "[ip:]host:container" or just "container".
                let parts: Vec<&str> = text.rsplitn(3, ':').collect();
                let container = parts[0].parse().expect("container port is a number");
                let host = parts
                    .get(1)
                    .map(|h| h.parse().expect("host port is a number"));
                (host, container)
            }
        })
        .collect()
}

/// `depends_on:` as service -> condition; the list form means `service_started`.
fn depends_on(service: &Value) -> BTreeMap<String, String> {
    match service.get("depends_on") {
        None => BTreeMap::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let name = scalar(i).expect("depends_on entries are names");
                (name, "service_started".to_string())
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let name = k.clone();
                let condition = v
                    .get("condition")
                    .and_then(scalar)
                    .unwrap_or_else(|| "service_started".to_string());
                (name, condition)
            })
            .collect(),
        Some(other) => panic!("depends_on must be a map or a list, got {other:?}"),
    }
}

#[derive(Debug)]
enum Mount {
    Named { volume: String, target: String },
    Bind { source: String, target: String },
}

fn is_host_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

/// `volumes:` of a service, from the short (`src:dst[:mode]`) or the long syntax.
fn mounts(service: &Value) -> Vec<Mount> {
    let Some(items) = service.get("volumes").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let (kind, source, target) = match item {
                Value::Object(_) => (
                    item.get("type").and_then(scalar),
                    item.get("source").and_then(scalar)?,
                    item.get("target").and_then(scalar)?,
                ),
                _ => {
                    let text = scalar(item)?;
                    let mut parts = text.splitn(3, ':');
                    let source = parts.next()?.to_string();
                    // An anonymous volume has no source; nothing to check about it.
                    let target = parts.next()?.to_string();
                    (None, source, target)
                }
            };
            let bind = match kind.as_deref() {
                Some(kind) => kind == "bind",
                None => is_host_path(&source),
            };
            Some(if bind {
                Mount::Bind { source, target }
            } else {
                Mount::Named {
                    volume: source,
                    target,
                }
            })
        })
        .collect()
}

fn declared_volumes(compose: &Value) -> BTreeSet<String> {
    compose
        .get("volumes")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The `host:port` part of a URL such as `nats://nats:4222` or `postgres://u:p@host:5432/db`.
fn url_host_port(url: &str) -> (String, u16) {
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("{url} has a scheme"));
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = host_port
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{url} names a port"));
    (
        host.to_string(),
        port.parse()
            .unwrap_or_else(|_| panic!("{url} has a numeric port")),
    )
}

fn healthcheck_test(service: &Value) -> Vec<String> {
    match service.get("healthcheck").and_then(|h| h.get("test")) {
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => vec![scalar(other).expect("healthcheck test is a string or a list")],
        None => Vec::new(),
    }
}

#[test]
fn all_nine_services_are_defined() {
    let compose = compose();
    let defined: BTreeSet<String> = compose
        .get("services")
        .and_then(Value::as_object)
        .expect("services is a map")
        .keys()
        .cloned()
        .collect();
    for name in APP_SERVICES.iter().chain(&INFRA_SERVICES) {
        assert!(defined.contains(*name), "service {name} is missing");
    }
    assert_eq!(defined.len(), 9, "unexpected services: {defined:?}");
}

#[test]
fn every_app_service_is_built_from_the_shared_dockerfile_with_its_own_name() {
    let compose = compose();
    for name in APP_SERVICES {
        let build = service(&compose, name)
            .get("build")
            .unwrap_or_else(|| panic!("{name} has a build section"));
        let context = build.get("context").and_then(scalar).unwrap_or_default();
        assert_eq!(context, ".", "{name} builds from the workspace root");
        let dockerfile = build.get("dockerfile").and_then(scalar);
        assert_eq!(dockerfile.as_deref(), Some("deploy/Dockerfile"), "{name}");
        let arg = match build.get("args") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(scalar)
                .find_map(|a| a.strip_prefix("SERVICE=").map(str::to_string)),
            Some(args) => args.get("SERVICE").and_then(scalar),
            None => None,
        };
        assert_eq!(arg.as_deref(), Some(name), "{name} passes SERVICE={name}");
        assert!(
            repo_root().join("services").join(name).is_dir(),
            "services/{name} exists, so the binary does"
        );
    }
    assert!(repo_root().join("deploy/Dockerfile").is_file());
}

#[test]
fn the_dockerfile_builds_the_chosen_service_with_the_cli_for_its_healthcheck() {
    let dockerfile = read("deploy/Dockerfile");
    for needle in [
        "ARG SERVICE",
        "--locked",
        "--bin \"${SERVICE}\" --bin borgerraad",
        "/usr/local/bin/service",
        "/usr/local/bin/borgerraad",
        "HEALTHCHECK",
        "borgerraad health --addr",
        "USER 10001",
        "ENTRYPOINT [\"/usr/local/bin/service\"]",
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle:?}");
    }
    // deploy/ is a workspace member; excluding it would break `cargo build` in the image.
    let ignore = read(".dockerignore");
    assert!(
        !ignore
            .lines()
            .any(|l| l.trim().trim_matches('/') == "deploy"),
        ".dockerignore must not exclude deploy/"
    );
}

#[test]
fn the_image_gets_the_two_binaries_and_nothing_else_from_the_build() {
    let dockerfile = read("deploy/Dockerfile");
    // The builder stage copies exactly these out of the target dir (no `.dwp`, no `.d` files).
    assert!(
        dockerfile.contains("cp \"target/release/${SERVICE}\" target/release/borgerraad /out/"),
        "the builder copies the service and the CLI only"
    );
    let from_builder: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("COPY --from=builder"))
        .collect();
    assert_eq!(
        from_builder,
        [
            "COPY --from=builder /out/${SERVICE} /usr/local/bin/service",
            "COPY --from=builder /out/borgerraad /usr/local/bin/borgerraad",
        ]
    );
}

#[test]
fn every_app_service_has_a_healthcheck_that_probes_its_own_grpc_port() {
    let compose = compose();
    for name in APP_SERVICES {
        let svc = service(&compose, name);
        let port = environment(svc)
            .get("GRPC_PORT")
            .cloned()
            .unwrap_or_else(|| panic!("{name} sets GRPC_PORT"));
        let test = healthcheck_test(svc);
        let expected = [
            "CMD",
            "borgerraad",
            "health",
            "--addr",
            &format!("https://127.0.0.1:{port}"),
        ];
        assert_eq!(test, expected, "{name} healthcheck");
        let hc = svc.get("healthcheck").expect("healthcheck present");
        for (key, value) in [
            ("interval", "10s"),
            ("timeout", "3s"),
            ("retries", "5"),
            ("start_period", "20s"),
        ] {
            assert_eq!(
                hc.get(key).and_then(scalar).as_deref(),
                Some(value),
                "{name} healthcheck {key}"
            );
        }
    }
}

#[test]
fn every_service_waits_for_healthy_nats_and_postgres() {
    let compose = compose();
    for name in APP_SERVICES {
        let deps = depends_on(service(&compose, name));
        for infra in ["nats", "postgres"] {
            assert_eq!(
                deps.get(infra).map(String::as_str),
                Some("service_healthy"),
                "{name} waits for a healthy {infra}"
            );
            // A service_healthy condition on something without a healthcheck never clears.
            assert!(
                service(&compose, infra).get("healthcheck").is_some(),
                "{infra} has a healthcheck"
            );
        }
        assert!(
            deps.contains_key("otel-collector"),
            "{name} starts after the collector"
        );
    }
}

#[test]
fn every_app_service_is_told_where_postgres_nats_and_the_collector_are() {
    let compose = compose();
    for name in APP_SERVICES {
        let env = environment(service(&compose, name));
        for (key, host, port) in [
            ("DATABASE_URL", "postgres", 5432),
            ("NATS_URL", "nats", 4222),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "otel-collector", 4317),
        ] {
            let url = env.get(key).unwrap_or_else(|| panic!("{name} sets {key}"));
            assert_eq!(url_host_port(url), (host.to_string(), port), "{name} {key}");
        }
        assert_eq!(
            env.get("OTEL_SERVICE_NAME").map(String::as_str),
            Some(name),
            "{name} reports traces under its own name"
        );
    }
}

#[test]
fn every_app_service_listens_on_the_port_it_publishes() {
    let compose = compose();
    for name in APP_SERVICES {
        let svc = service(&compose, name);
        let env = environment(svc);
        let addr = env
            .get("GRPC_ADDR")
            .unwrap_or_else(|| panic!("{name} sets GRPC_ADDR"));
        let (_, listen) = addr
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{name} GRPC_ADDR {addr} has a port"));
        let listen: u16 = listen.parse().expect("GRPC_ADDR port is a number");
        assert_eq!(
            env.get("GRPC_PORT").map(String::as_str),
            Some(listen.to_string().as_str()),
            "{name} GRPC_PORT agrees with GRPC_ADDR"
        );
        assert_eq!(
            ports(svc),
            vec![(Some(listen), listen)],
            "{name} publishes its gRPC port on the same host port"
        );
    }
}

#[test]
fn app_services_publish_distinct_ports() {
    let compose = compose();
    let mut seen = BTreeMap::new();
    for name in APP_SERVICES {
        for (host, _) in ports(service(&compose, name)) {
            let host = host.unwrap_or_else(|| panic!("{name} publishes on a fixed host port"));
            if let Some(other) = seen.insert(host, name) {
                panic!("{name} and {other} both publish host port {host}");
            }
        }
    }
    assert_eq!(seen.len(), APP_SERVICES.len());
}

#[test]
fn nats_persists_jetstream_to_a_named_volume_with_fsync_on_every_write() {
    let compose = compose();
    let nats = service(&compose, "nats");
    let declared = declared_volumes(&compose);
    let mounts = mounts(nats);

    let data_dir = mounts
        .iter()
        .find_map(|m| match m {
            Mount::Named { volume, target } if declared.contains(volume) => Some(target.clone()),
            _ => None,
        })
        .expect("nats mounts a declared named volume");

    // The config file is whichever bind mount the -c argument points at.
    let command: Vec<String> = match nats.get("command") {
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    let config_path = command
        .windows(2)
        .find(|w| w[0] == "-c" || w[0] == "--config")
        .map(|w| w[1].clone())
        .expect("nats is started with -c <config>");
    let config_source = mounts
        .iter()
        .find_map(|m| match m {
            Mount::Bind { source, target } if *target == config_path => Some(source.clone()),
            _ => None,
        })
        .expect("the nats config file is bind-mounted");
    assert_eq!(config_source, "./deploy/nats.conf");

    let config = read("deploy/nats.conf");
    let setting = |name: &str| {
        config.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(name)?;
            let value = rest.trim_start().trim_start_matches([':', '=']).trim();
            Some(value.trim_matches('"').to_string())
        })
    };
    assert_eq!(setting("sync_interval").as_deref(), Some("always"));
    let store_dir = setting("store_dir").expect("nats.conf sets store_dir");
    assert!(
        Path::new(&store_dir).starts_with(&data_dir),
        "store_dir {store_dir} lies inside the persisted volume at {data_dir}"
    );
}

#[test]
fn postgres_keeps_its_data_in_a_named_volume_and_has_a_healthcheck() {
    let compose = compose();
    let postgres = service(&compose, "postgres");
    let declared = declared_volumes(&compose);
    assert!(
        mounts(postgres).iter().any(|m| matches!(
            m,
            Mount::Named { volume, target }
                if declared.contains(volume) && target == "/var/lib/postgresql/data"
        )),
        "postgres keeps /var/lib/postgresql/data in a declared named volume"
    );
    let test = healthcheck_test(postgres);
    assert!(
        test.iter().any(|t| t.contains("pg_isready")),
        "postgres healthcheck uses pg_isready, got {test:?}"
    );
}

#[test]
fn every_named_volume_in_use_is_declared_at_top_level() {
    let compose = compose();
    let declared = declared_volumes(&compose);
    for (name, svc) in compose
        .get("services")
        .and_then(Value::as_object)
        .expect("services is a map")
    {
        for mount in mounts(svc) {
            if let Mount::Named { volume, .. } = mount {
                assert!(
                    declared.contains(&volume),
                    "{name:?} uses volume {volume} that is not declared"
                );
            }
        }
    }
}

#[test]
fn every_file_mounted_from_deploy_exists() {
    let compose = compose();
    let mut checked = 0;
    for (name, svc) in compose
        .get("services")
        .and_then(Value::as_object)
        .expect("services is a map")
    {
        for mount in mounts(svc) {
            if let Mount::Bind { source, .. } = mount {
                let relative = source.trim_start_matches("./");
                if relative.starts_with("deploy/") {
                    assert!(
                        repo_root().join(relative).is_file(),
                        "{name:?} mounts {source}, which does not exist"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 2,
        "expected the nats and collector configs to be mounted"
    );
}

/// The parts of the collector config that decide where data goes.
#[derive(Deserialize)]
struct CollectorConfig {
    receivers: BTreeMap<String, Value>,
    #[serde(default)]
    processors: BTreeMap<String, Value>,
    exporters: BTreeMap<String, Value>,
    service: CollectorService,
}

#[derive(Deserialize)]
struct CollectorService {
    pipelines: BTreeMap<String, Pipeline>,
}

#[derive(Deserialize)]
struct Pipeline {
    receivers: Vec<String>,
    #[serde(default)]
    processors: Vec<String>,
    exporters: Vec<String>,
}

#[test]
fn the_collector_config_parses_and_exports_traces_to_jaeger() {
    let compose = compose();
    let collector = service(&compose, "otel-collector");
    let mounted = mounts(collector).iter().any(|m| {
        matches!(m, Mount::Bind { source, target }
            if source == "./deploy/otel-collector.yaml" && target == "/etc/otelcol/config.yaml")
    });
    assert!(
        mounted,
        "the collector config is mounted where --config points"
    );

    let config: CollectorConfig = serde_saphyr::from_str(&read("deploy/otel-collector.yaml"))
        .expect("otel-collector.yaml parses");

    // The collector refuses to start if a pipeline names a component that is not defined.
    for (pipeline_name, pipeline) in &config.service.pipelines {
        for r in &pipeline.receivers {
            assert!(
                config.receivers.contains_key(r),
                "{pipeline_name}: receiver {r}"
            );
        }
        for p in &pipeline.processors {
            assert!(
                config.processors.contains_key(p),
                "{pipeline_name}: processor {p}"
            );
        }
        for e in &pipeline.exporters {
            assert!(
                config.exporters.contains_key(e),
                "{pipeline_name}: exporter {e}"
            );
        }
        if pipeline.processors.iter().any(|p| p == "memory_limiter") {
            assert_eq!(
                pipeline.processors.first().map(String::as_str),
                Some("memory_limiter"),
                "{pipeline_name}: memory_limiter must come first"
            );
        }
    }

    let traces = config
        .service
        .pipelines
        .get("traces")
        .expect("a traces pipeline");
    let to_jaeger = traces.exporters.iter().any(|e| {
        e.starts_with("otlp")
            && config.exporters[e]
                .get("endpoint")
                .and_then(Value::as_str)
                .is_some_and(|endpoint| {
                    endpoint
                        .trim_start_matches("http://")
                        .starts_with("jaeger:")
                })
    });
    assert!(to_jaeger, "traces are exported over OTLP to jaeger");
    assert!(
        config.service.pipelines.contains_key("metrics"),
        "a metrics pipeline"
    );
    assert!(
        depends_on(collector).contains_key("jaeger"),
        "the collector starts after jaeger"
    );
}

/// Every `${…}` interpolation in `text`, as written between the braces.
fn interpolations(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("an interpolation is closed");
        found.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    found
}

/// The lines of `docker-compose.yml` that are not comments.
fn compose_without_comments() -> String {
    read("docker-compose.yml")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_secret_has_a_default_every_one_must_come_from_the_operator() {
    let text = compose_without_comments();
    let found = interpolations(&text);
    assert!(!found.is_empty(), "the secrets are interpolated from .env");
    for interpolation in &found {
        let (name, rule) = interpolation
            .split_once(':')
            .unwrap_or((interpolation.as_str(), ""));
        assert!(
            rule.starts_with('?'),
            "${{{interpolation}}}: {name} must be required (${{{name}:?message}}), not defaulted"
        );
    }
    let required: BTreeSet<&str> = found
        .iter()
        .map(|i| i.split(':').next().unwrap_or_default())
        .collect();
    for name in ["POSTGRES_PASSWORD", "PERSONAL_DATA_KEYS", "GRPC_TLS_DIR"] {
        assert!(required.contains(name), "{name} comes from .env");
    }

    let compose = compose();
    let postgres = environment(service(&compose, "postgres"));
    assert!(
        postgres
            .get("POSTGRES_PASSWORD")
            .is_some_and(|v| v.starts_with("${POSTGRES_PASSWORD:?")),
        "the database password comes from .env: {postgres:?}"
    );
    let intake = environment(service(&compose, "intake"));
    assert!(
        intake
            .get("PERSONAL_DATA_KEYS")
            .is_some_and(|v| v.starts_with("${PERSONAL_DATA_KEYS:?")),
        "the personal data key comes from .env"
    );
    for name in APP_SERVICES {
        let env = environment(service(&compose, name));
        let url = env.get("DATABASE_URL").expect("DATABASE_URL");
        let credentials = url
            .split_once("://")
            .and_then(|(_, rest)| rest.rsplit_once('@'))
            .map(|(credentials, _)| credentials)
            .unwrap_or_else(|| panic!("{name}: {url} names a user"));
        let password = credentials.split_once(':').map(|(_, p)| p).unwrap_or("");
        assert!(
            password.starts_with("${POSTGRES_PASSWORD:?"),
            "{name}: the password in DATABASE_URL comes from .env, not {password:?}"
        );
        if name != "intake" {
            assert!(
                !env.contains_key("PERSONAL_DATA_KEYS"),
                "{name} has no use for the key"
            );
        }
    }
}

#[test]
fn the_example_env_file_names_every_required_variable_and_holds_no_real_secret() {
    let example = read("deploy/env.example");
    let assigned: BTreeMap<&str, &str> = example
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && line.contains('='))
        .filter_map(|line| line.split_once('='))
        .collect();
    let required: BTreeSet<String> = interpolations(&compose_without_comments())
        .iter()
        .map(|i| i.split(':').next().unwrap_or_default().to_string())
        .collect();
    let named: BTreeSet<String> = assigned.keys().map(|k| k.to_string()).collect();
    assert_eq!(
        named, required,
        "env.example names exactly what compose requires"
    );
    for (name, value) in &assigned {
        if *name != "GRPC_TLS_DIR" {
            assert!(
                value.to_lowercase().contains("replace"),
                "{name} in env.example is a placeholder, not {value:?}"
            );
        }
    }
    let ignored = read(".gitignore");
    assert!(
        ignored
            .lines()
            .any(|l| l.trim() == "/.env" || l.trim() == ".env"),
        "the operator's .env is never committed"
    );
    assert!(
        read(".dockerignore").lines().any(|l| l.trim() == ".env"),
        "nor copied into an image"
    );
}

#[test]
fn the_database_nats_and_the_collector_publish_no_port_and_jaeger_only_on_loopback() {
    let compose = compose();
    for name in ["postgres", "nats", "otel-collector"] {
        assert!(
            service(&compose, name).get("ports").is_none(),
            "{name} is reachable inside the compose network only"
        );
    }
    let jaeger = service(&compose, "jaeger")
        .get("ports")
        .and_then(Value::as_array)
        .expect("the Jaeger UI is published");
    for port in jaeger {
        let text = scalar(port).expect("short syntax");
        assert!(
            text.starts_with("127.0.0.1:"),
            "the Jaeger UI has no login: loopback only, not {text}"
        );
    }
}

#[test]
fn every_app_service_serves_tls_from_mounted_secrets_and_calls_intake_over_tls() {
    let compose = compose();
    let declared = compose
        .get("secrets")
        .and_then(Value::as_object)
        .expect("top-level secrets");
    for name in APP_SERVICES {
        let svc = service(&compose, name);
        let env = environment(svc);
        assert!(
            !env.contains_key("GRPC_PLAINTEXT"),
            "{name} does not serve plain text"
        );
        let mounted: BTreeMap<String, String> = svc
            .get("secrets")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name} mounts its TLS files as secrets"))
            .iter()
            .map(|secret| {
                let source = secret.get("source").and_then(scalar).expect("source");
                let target = secret.get("target").and_then(scalar).expect("target");
                (format!("/run/secrets/{target}"), source)
            })
            .collect();
        for variable in [
            "GRPC_TLS_CERT_FILE",
            "GRPC_TLS_KEY_FILE",
            "GRPC_TLS_CA_FILE",
        ] {
            let path = env
                .get(variable)
                .unwrap_or_else(|| panic!("{name} sets {variable}"));
            let source = mounted
                .get(path)
                .unwrap_or_else(|| panic!("{name}: {variable} {path} is a mounted secret"));
            let file = declared
                .get(source)
                .and_then(|s| s.get("file"))
                .and_then(scalar)
                .unwrap_or_else(|| panic!("secret {source} is declared with a file"));
            assert!(
                file.starts_with("${GRPC_TLS_DIR:?"),
                "secret {source} comes from the operator's folder, not {file}"
            );
        }
        // Its own certificate, not another service's.
        let cert = &mounted[&env["GRPC_TLS_CERT_FILE"]];
        assert_eq!(cert, &format!("{name}-cert"));
        if let Some(url) = env.get("INTAKE_URL") {
            assert!(url.starts_with("https://"), "{name} calls intake over TLS");
        }
    }
}

#[test]
fn docker_compose_refuses_the_file_without_the_operators_secrets_and_takes_the_example() {
    let installed = std::process::Command::new("sh")
        .args(["-c", "command -v docker-compose"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("docker-compose is not installed: checked statically only");
        return;
    }
    let config = |env_file: &str| {
        std::process::Command::new("docker-compose")
            .current_dir(repo_root())
            .args([
                "--env-file",
                env_file,
                "-f",
                "docker-compose.yml",
                "config",
                "-q",
            ])
            .env_remove("POSTGRES_PASSWORD")
            .env_remove("PERSONAL_DATA_KEYS")
            .env_remove("GRPC_TLS_DIR")
            .env_remove("KC_ADMIN_PASSWORD")
            .output()
            .expect("docker-compose runs")
    };
    let folder = tempfile::tempdir().expect("a folder");
    let empty = folder.path().join("empty.env");
    fs::write(&empty, "").expect("written");
    let without = config(empty.to_str().expect("UTF-8 path"));
    assert!(!without.status.success(), "no secrets, no start");
    let said = String::from_utf8_lossy(&without.stderr);
    assert!(said.contains("in .env"), "{said}");
    let example = config("deploy/env.example");
    assert!(
        example.status.success(),
        "{}",
        String::from_utf8_lossy(&example.stderr)
    );
}
/// Each service's NATS user and the variable its password comes from, as `deploy/nats.conf`
/// names them.
const NATS_USERS: [(&str, &str); 4] = [
    ("intake", "NATS_INTAKE_PASSWORD"),
    ("eligibility", "NATS_ELIGIBILITY_PASSWORD"),
    ("deadline-monitoring", "NATS_DEADLINE_MONITORING_PASSWORD"),
    ("reporting", "NATS_REPORTING_PASSWORD"),
];

#[test]
fn nats_lets_in_only_the_services_users_with_passwords_from_the_environment() {
    let config = read("deploy/nats.conf");
    assert!(
        config.contains("include \"nats-permissions.conf\""),
        "the permissions are included"
    );
    let permissions = read("deploy/nats-permissions.conf");
    for (user, variable) in NATS_USERS {
        let permission_set = format!("{}_PERMISSIONS", user.to_uppercase().replace('-', "_"));
        assert!(
            config.contains(&format!(
                "{{ user: \"{user}\", password: ${variable}, permissions: ${permission_set} }}"
            )),
            "{user} in nats.conf"
        );
        assert!(
            permissions.contains(&format!("{permission_set} = {{")),
            "{permission_set} defined"
        );
    }
    assert!(!config.contains("password: \""), "no password in the file");

    let compose = compose();
    let nats = service(&compose, "nats");
    let env = environment(nats);
    for (_, variable) in NATS_USERS {
        assert_eq!(
            env.get(variable).map(String::as_str),
            Some(format!("${{{variable}:?set {variable} in .env}}").as_str()),
            "nats gets {variable} from .env, without a default"
        );
    }
    let mounted: Vec<String> = mounts(nats)
        .into_iter()
        .filter_map(|mount| match mount {
            Mount::Bind { source, target } => Some(format!("{source}:{target}")),
            Mount::Named { .. } => None,
        })
        .collect();
    assert!(
        mounted.contains(&"./deploy/nats-permissions.conf:/etc/nats/nats-permissions.conf".into()),
        "{mounted:?}"
    );
}

#[test]
fn every_app_service_logs_in_to_nats_as_its_own_user() {
    let compose = compose();
    for (user, variable) in NATS_USERS {
        let env = environment(service(&compose, user));
        assert_eq!(env.get("NATS_USER").map(String::as_str), Some(user));
        assert_eq!(
            env.get("NATS_PASSWORD").map(String::as_str),
            Some(format!("${{{variable}:?set {variable} in .env}}").as_str()),
            "{user}"
        );
    }
}

#[test]
fn every_app_service_checks_tokens_of_the_provider_and_the_callers_of_intake_have_their_own_identity()
 {
    let compose = compose();
    let realm: Value =
        serde_json::from_str(&read("deploy/keycloak/borgerraad-realm.json")).expect("the realm");
    let clients: Vec<&str> = realm["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .filter_map(|client| client["clientId"].as_str())
        .collect();
    for name in APP_SERVICES {
        let env = environment(service(&compose, name));
        assert_eq!(
            env.get("AUTH_ISSUER").map(String::as_str),
            Some("https://keycloak:8443/realms/borgerraad"),
            "{name}"
        );
        assert_eq!(
            env.get("AUTH_ROLES_CLAIM").map(String::as_str),
            Some("realm_access.roles")
        );
        assert!(depends_on(service(&compose, name)).contains_key("keycloak"));
    }
    for name in ["eligibility", "deadline-monitoring"] {
        let env = environment(service(&compose, name));
        assert_eq!(env.get("AUTH_CLIENT_ID").map(String::as_str), Some(name));
        assert!(clients.contains(&name), "{name} is a client of the realm");
        let secret = env.get("AUTH_CLIENT_SECRET").expect("a secret");
        assert!(
            secret.starts_with("${KC_SECRET_"),
            "{secret} comes from .env"
        );
    }
    // The realm's client secrets are placeholders Keycloak fills from its environment.
    for client in realm["clients"].as_array().expect("clients") {
        let secret = client["secret"].as_str().unwrap_or_default();
        assert!(
            secret.starts_with("${KC_SECRET_") && secret.ends_with('}'),
            "{secret}"
        );
    }
}
