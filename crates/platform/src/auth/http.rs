//! The little HTTP the identity provider needs: discovery, its keys and its token endpoint, over
//! HTTPS verified against the system's web roots or a configured CA. Plain HTTP only to a
//! loopback address, where a development provider runs.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// How long one request to the provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents and key sets are small; anything larger is not one.
const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
pub(crate) struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    /// A client trusting `ca_file` (PEM) when given, else the web's public roots.
    pub(crate) fn new(ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(path) => {
                for certificate in CertificateDer::pem_file_iter(path)
                    .with_context(|| format!("cannot read the CA file {}", path.display()))?
                {
                    roots
                        .add(certificate.with_context(|| {
                            format!("the CA file {} is not PEM", path.display())
                        })?)
                        .context("the CA file holds an unusable certificate")?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .context("no TLS protocol version in common with rustls")?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    pub(crate) async fn get_json(&self, url: &str) -> anyhow::Result<serde_json::Value> {
        check_scheme(url)?;
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Full::default())?;
        self.send(request).await
    }

    /// A form POST with HTTP basic authentication, as token endpoints take it.
    pub(crate) async fn post_form(
        &self,
        url: &str,
        basic: (&str, &str),
        form: &[(&str, &str)],
    ) -> anyhow::Result<serde_json::Value> {
        use base64::Engine as _;
        check_scheme(url)?;
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form_encode(basic.0),
            form_encode(basic.1)
        ));
        let body = form
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request = http::Request::post(url)
            .header(http::header::AUTHORIZATION, format!("Basic {credentials}"))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))?;
        self.send(request).await
    }

    async fn send(&self, request: http::Request<Full<Bytes>>) -> anyhow::Result<serde_json::Value> {
        let uri = request.uri().clone();
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
            .await
            .with_context(|| format!("{uri} did not answer within {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("cannot reach {uri}"))?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|error| anyhow::anyhow!("cannot read the answer of {uri}: {error}"))?
            .to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body)
            .with_context(|| format!("{uri} answered {status} without JSON"))?;
        if !status.is_success() {
            // OAuth error answers say why in `error` and `error_description`.
            let why = ["error_description", "error"]
                .into_iter()
                .find_map(|field| json.get(field).and_then(|v| v.as_str()))
                .unwrap_or("no reason given");
            bail!("{uri} answered {status}: {why}");
        }
        Ok(json)
    }
}

/// HTTPS, or HTTP to this machine only (a development provider).
pub(crate) fn check_scheme(url: &str) -> anyhow::Result<()> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("{url:?} is not a URL"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(uri.host().unwrap_or_default()) => Ok(()),
        _ => bail!(
            "{url} must be an https:// URL (plain http:// only to 127.0.0.1 or localhost, for development)"
        ),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `application/x-www-form-urlencoded` (also what basic authentication wants of client ids and
/// secrets, RFC 6749 §2.3.1).
fn form_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                encoded.push(byte as char)
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(check_scheme("https://login.example.dk/realms/odense").is_ok());
        assert!(check_scheme("http://127.0.0.1:8080").is_ok());
        assert!(check_scheme("http://localhost:8080/x").is_ok());
        assert!(check_scheme("http://[::1]:8080/x").is_ok());
        assert!(check_scheme("http://login.example.dk").is_err());
        assert!(check_scheme("ftp://127.0.0.1").is_err());
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(form_encode("a b&c=d/æ"), "a+b%26c%3Dd%2F%C3%A6");
    }
}
