//! Encrypted gRPC, for serving and for calling: TLS through rustls, trusting only the CA an
//! operator configures (no system roots: the services, the CLI and the load generator speak to
//! the municipality's own certificates).
//!
//! - [`ServerTransport`]: TLS with `GRPC_TLS_CERT_FILE` + `GRPC_TLS_KEY_FILE`, client
//!   certificates required when `GRPC_TLS_CLIENT_CA_FILE` is set; plain text only with
//!   `GRPC_PLAINTEXT=true` (development, logged as a warning at start). Neither: the service
//!   refuses to start.
//! - [`ClientTls`] and [`client_endpoint`]: an `https://` URL is called over TLS trusting
//!   `GRPC_TLS_CA_FILE`, presenting `GRPC_TLS_CLIENT_CERT_FILE`/`GRPC_TLS_CLIENT_KEY_FILE` when
//!   set; an `http://` URL only with `GRPC_PLAINTEXT=true`.
//!
//! Files are read once, at start, so a missing or unreadable one stops the process with the
//! variable and path at fault; a renewed certificate takes effect at the next restart.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::settings::{Secret, var};

pub const CERT_FILE: &str = "GRPC_TLS_CERT_FILE";
pub const KEY_FILE: &str = "GRPC_TLS_KEY_FILE";
pub const CLIENT_CA_FILE: &str = "GRPC_TLS_CLIENT_CA_FILE";
pub const PLAINTEXT: &str = "GRPC_PLAINTEXT";
pub const CA_FILE: &str = "GRPC_TLS_CA_FILE";
pub const CLIENT_CERT_FILE: &str = "GRPC_TLS_CLIENT_CERT_FILE";
pub const CLIENT_KEY_FILE: &str = "GRPC_TLS_CLIENT_KEY_FILE";

/// How long a peer may take over the TLS handshake before the connection is dropped, so a
/// connection that never finishes one cannot hold a server's slot.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a variable: the environment in services, a map in tests.
type Lookup = dyn Fn(&str) -> Option<String>;

/// How a gRPC server accepts connections.
#[derive(Debug, Clone)]
pub enum ServerTransport {
    Tls(ServerTls),
    /// Plain text: for development on one machine only.
    Plaintext,
}

impl ServerTransport {
    /// Reads `GRPC_TLS_CERT_FILE`, `GRPC_TLS_KEY_FILE`, `GRPC_TLS_CLIENT_CA_FILE` and
    /// `GRPC_PLAINTEXT`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(&var)
    }

    fn from_lookup(get: &Lookup) -> anyhow::Result<Self> {
        let plaintext = plaintext_from(get)?;
        if plaintext && get(CERT_FILE).is_some() {
            bail!(
                "both {CERT_FILE} and {PLAINTEXT}=true are set: choose TLS (unset {PLAINTEXT}) \
                 or plain text (unset the certificate)"
            );
        }
        match ServerTls::from_lookup(get)? {
            Some(tls) => Ok(Self::Tls(tls)),
            None if plaintext => Ok(Self::Plaintext),
            None => bail!(
                "no transport security configured: set {CERT_FILE} and {KEY_FILE} (PEM files) to \
                 serve gRPC over TLS, or {PLAINTEXT}=true to serve plain text on a development \
                 machine"
            ),
        }
    }

    /// The tonic server builder for this transport. Plain text is logged as a warning, once per
    /// server, so it shows in every service's log at start.
    pub fn server_builder(&self) -> anyhow::Result<tonic::transport::Server> {
        let builder = tonic::transport::Server::builder();
        match self {
            Self::Tls(tls) => builder
                .tls_config(tls.config())
                .context("the TLS certificate or key cannot be used"),
            Self::Plaintext => {
                tracing::warn!(
                    "serving gRPC in plain text ({PLAINTEXT}=true): for development only; \
                     set {CERT_FILE} and {KEY_FILE} anywhere else"
                );
                Ok(builder)
            }
        }
    }
}

/// A server's certificate chain and key, and the CA its clients' certificates must come from.
#[derive(Clone)]
pub struct ServerTls {
    cert_pem: String,
    key_pem: Secret,
    client_ca_pem: Option<String>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("key", &self.key_pem)
            .field(
                "client_certificates_required",
                &self.requires_client_certificates(),
            )
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// `GRPC_TLS_CERT_FILE` + `GRPC_TLS_KEY_FILE` (+ `GRPC_TLS_CLIENT_CA_FILE`), or `None` when
    /// no certificate is configured.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        Self::from_lookup(&var)
    }

    fn from_lookup(get: &Lookup) -> anyhow::Result<Option<Self>> {
        let client_ca = get(CLIENT_CA_FILE);
        match (get(CERT_FILE), get(KEY_FILE)) {
            (None, None) => {
                if client_ca.is_some() {
                    bail!("{CLIENT_CA_FILE} is set but {CERT_FILE} and {KEY_FILE} are not");
                }
                Ok(None)
            }
            (Some(cert), Some(key)) => {
                let client_ca = client_ca
                    .map(|path| read_pem(CLIENT_CA_FILE, &path))
                    .transpose()?;
                Self::from_pem(
                    read_pem(CERT_FILE, &cert)?,
                    read_pem(KEY_FILE, &key)?,
                    client_ca,
                )
                .map(Some)
            }
            (Some(_), None) => bail!("{CERT_FILE} is set but {KEY_FILE} is not: set both"),
            (None, Some(_)) => bail!("{KEY_FILE} is set but {CERT_FILE} is not: set both"),
        }
    }

    /// A certificate chain and its key (PEM), requiring client certificates signed by
    /// `client_ca_pem` when given. Checked here, so a broken file stops the service at start.
    pub fn from_pem(
        cert_pem: impl Into<String>,
        key_pem: impl Into<String>,
        client_ca_pem: Option<String>,
    ) -> anyhow::Result<Self> {
        let tls = Self {
            cert_pem: cert_pem.into(),
            key_pem: Secret::new(key_pem.into()),
            client_ca_pem,
        };
        tonic::transport::Server::builder()
            .tls_config(tls.config())
            .context("the TLS certificate, its key or the client CA cannot be used")?;
        Ok(tls)
    }

    pub fn requires_client_certificates(&self) -> bool {
        self.client_ca_pem.is_some()
    }

    fn config(&self) -> ServerTlsConfig {
        let config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, self.key_pem.expose()))
            .timeout(HANDSHAKE_TIMEOUT);
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }
}

/// What a gRPC client trusts and presents.
#[derive(Clone, Default)]
pub struct ClientTls {
    ca_pem: Option<String>,
    identity: Option<(String, Secret)>,
    plaintext_allowed: bool,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_configured", &self.ca_pem.is_some())
            .field("client_certificate", &self.identity.is_some())
            .field("plaintext_allowed", &self.plaintext_allowed)
            .finish()
    }
}

impl ClientTls {
    /// Reads `GRPC_TLS_CA_FILE`, `GRPC_TLS_CLIENT_CERT_FILE`, `GRPC_TLS_CLIENT_KEY_FILE` and
    /// `GRPC_PLAINTEXT`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(&var)
    }

    fn from_lookup(get: &Lookup) -> anyhow::Result<Self> {
        let mut tls = Self {
            ca_pem: get(CA_FILE)
                .map(|path| read_pem(CA_FILE, &path))
                .transpose()?,
            identity: None,
            plaintext_allowed: plaintext_from(get)?,
        };
        match (get(CLIENT_CERT_FILE), get(CLIENT_KEY_FILE)) {
            (None, None) => {}
            (Some(cert), Some(key)) => {
                tls = tls.with_identity(
                    read_pem(CLIENT_CERT_FILE, &cert)?,
                    read_pem(CLIENT_KEY_FILE, &key)?,
                );
            }
            (Some(_), None) => bail!("{CLIENT_CERT_FILE} is set but {CLIENT_KEY_FILE} is not"),
            (None, Some(_)) => bail!("{CLIENT_KEY_FILE} is set but {CLIENT_CERT_FILE} is not"),
        }
        Ok(tls)
    }

    /// Trusts the CA certificate(s) in `ca_pem` for `https://` URLs.
    pub fn trusting(ca_pem: impl Into<String>) -> Self {
        Self {
            ca_pem: Some(ca_pem.into()),
            ..Self::default()
        }
    }

    /// Calls `http://` URLs in plain text (development only).
    pub fn plaintext() -> Self {
        Self {
            plaintext_allowed: true,
            ..Self::default()
        }
    }

    /// Presents this certificate chain and key to servers that require client certificates.
    pub fn with_identity(
        mut self,
        cert_pem: impl Into<String>,
        key_pem: impl Into<String>,
    ) -> Self {
        self.identity = Some((cert_pem.into(), Secret::new(key_pem.into())));
        self
    }

    /// The scheme a default address takes: `http` for a plain-text-only client, else `https`.
    pub fn default_scheme(&self) -> &'static str {
        if self.plaintext_allowed && self.ca_pem.is_none() {
            "http"
        } else {
            "https"
        }
    }
}

/// An endpoint for `url` (named by `variable` in errors, e.g. `INTAKE_URL`): TLS for `https://`,
/// trusting only the configured CA; plain text for `http://` where the client allows it. The
/// caller adds its timeouts and connects.
pub fn client_endpoint(variable: &str, url: &str, tls: &ClientTls) -> anyhow::Result<Endpoint> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("{variable} {url:?} is not a URL"))?;
    match endpoint.uri().scheme_str() {
        Some("https") => {
            let Some(ca) = &tls.ca_pem else {
                bail!(
                    "{variable} {url} is called over TLS, but no CA is configured: set {CA_FILE} \
                     to the CA certificate that signed the server's certificate"
                );
            };
            let mut config = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca))
                .timeout(HANDSHAKE_TIMEOUT);
            if let Some((cert, key)) = &tls.identity {
                config = config.identity(Identity::from_pem(cert, key.expose()));
            }
            endpoint
                .tls_config(config)
                .with_context(|| format!("cannot use the TLS settings for {variable} {url}"))
        }
        Some("http") if tls.plaintext_allowed => Ok(endpoint),
        Some("http") => bail!(
            "{variable} {url} would be called in plain text: use an https:// address with \
             {CA_FILE}, or set {PLAINTEXT}=true on a development machine"
        ),
        _ => bail!("{variable} {url:?} must start with https:// (or http:// in development)"),
    }
}

/// `GRPC_PLAINTEXT`: `true` or `false` (default).
fn plaintext_from(get: &Lookup) -> anyhow::Result<bool> {
    match get(PLAINTEXT).as_deref().map(str::trim) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => bail!("{PLAINTEXT} must be true or false, not {other:?}"),
    }
}

/// A PEM file named by `variable`, read whole.
fn read_pem(variable: &str, path: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(Path::new(path))
        .with_context(|| format!("cannot read {variable} {path}"))?;
    if !text.contains("-----BEGIN ") {
        bail!("{variable} {path} holds no PEM block");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_address_is_refused_unless_plain_text_is_allowed() {
        let error = client_endpoint("INTAKE_URL", "http://intake:50051", &ClientTls::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("GRPC_PLAINTEXT=true"), "{error}");
        assert!(
            client_endpoint("INTAKE_URL", "http://intake:50051", &ClientTls::plaintext()).is_ok()
        );
    }

    #[test]
    fn an_https_address_needs_a_configured_ca() {
        let error = client_endpoint(
            "INTAKE_URL",
            "https://intake:50051",
            &ClientTls::plaintext(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("no CA is configured: set GRPC_TLS_CA_FILE"),
            "{error}"
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        let error = client_endpoint("INTAKE_URL", "ftp://intake:50051", &ClientTls::plaintext())
            .unwrap_err()
            .to_string();
        assert!(error.contains("must start with https://"), "{error}");
    }

    #[test]
    fn default_addresses_are_https_unless_the_client_only_speaks_plain_text() {
        assert_eq!(ClientTls::default().default_scheme(), "https");
        assert_eq!(ClientTls::plaintext().default_scheme(), "http");
        assert_eq!(ClientTls::trusting("ca").default_scheme(), "https");
    }

    #[test]
    fn a_file_without_a_pem_block_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-cert.pem");
        std::fs::write(&path, "hello").unwrap();
        let error = read_pem(CA_FILE, path.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("GRPC_TLS_CA_FILE"), "{error}");
        assert!(error.contains("no PEM block"), "{error}");
        let missing = read_pem(CA_FILE, "/nonexistent/ca.pem")
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("cannot read GRPC_TLS_CA_FILE /nonexistent/ca.pem"),
            "{missing}"
        );
    }

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn a_server_without_a_certificate_or_the_plain_text_switch_refuses_to_start() {
        let error = ServerTransport::from_lookup(&lookup(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("no transport security configured: set GRPC_TLS_CERT_FILE"),
            "{error}"
        );
        assert!(error.contains("GRPC_PLAINTEXT=true"), "{error}");
        let refused = ServerTransport::from_lookup(&lookup(&[("GRPC_PLAINTEXT", "false")]));
        assert!(refused.is_err());
    }

    #[test]
    fn plain_text_is_served_only_when_asked_for() {
        let transport = ServerTransport::from_lookup(&lookup(&[("GRPC_PLAINTEXT", "true")]));
        assert!(matches!(transport, Ok(ServerTransport::Plaintext)));
        let error = ServerTransport::from_lookup(&lookup(&[("GRPC_PLAINTEXT", "yes please")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("must be true or false"), "{error}");
    }

    #[test]
    fn half_a_server_configuration_is_refused_by_name() {
        let cases: [(&[(&str, &str)], &str); 4] = [
            (&[("GRPC_TLS_CERT_FILE", "/c")], "GRPC_TLS_KEY_FILE is not"),
            (&[("GRPC_TLS_KEY_FILE", "/k")], "GRPC_TLS_CERT_FILE is not"),
            (
                &[
                    ("GRPC_TLS_CLIENT_CA_FILE", "/ca"),
                    ("GRPC_PLAINTEXT", "true"),
                ],
                "GRPC_TLS_CLIENT_CA_FILE is set but",
            ),
            (
                &[
                    ("GRPC_TLS_CERT_FILE", "/c"),
                    ("GRPC_TLS_KEY_FILE", "/k"),
                    ("GRPC_PLAINTEXT", "true"),
                ],
                "both GRPC_TLS_CERT_FILE and GRPC_PLAINTEXT=true are set",
            ),
        ];
        for (vars, expected) in cases {
            let error = format!(
                "{:#}",
                ServerTransport::from_lookup(&lookup(vars)).unwrap_err()
            );
            assert!(error.contains(expected), "{vars:?}: {error}");
        }
    }

    #[test]
    fn half_a_client_identity_is_refused_by_name() {
        let error = ClientTls::from_lookup(&lookup(&[("GRPC_TLS_CLIENT_CERT_FILE", "/c")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("GRPC_TLS_CLIENT_KEY_FILE is not"), "{error}");
        let plain = ClientTls::from_lookup(&lookup(&[("GRPC_PLAINTEXT", "true")])).unwrap();
        assert_eq!(plain.default_scheme(), "http");
    }

    #[test]
    fn debug_output_holds_no_key() {
        let tls = ClientTls::trusting("CA").with_identity("CERT", "PRIVATE KEY MATERIAL");
        let printed = format!("{tls:?}");
        assert!(!printed.contains("PRIVATE"), "{printed}");
    }
}
