//! A webhook delivery: one JSON POST over HTTPS (HTTP/1.1), the receiver's certificate checked;
//! any 2xx answer is a delivery.
//!
//! Every POST is signed so the receiver can tell it came from us and is fresh:
//! `Borgerraad-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">` with the
//! shared `WEBHOOK_SIGNING_SECRET`; `Borgerraad-Delivery-Id` carries the notice id, the same on
//! every retry, so a receiver can drop a notice it already has. Plain `http://` only with
//! `WEBHOOK_PLAINTEXT=true` (development).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use borgerraad_platform::settings::Secret;
use bytes::Bytes;
use hmac::{KeyInit as _, Mac as _};
use http_body_util::{BodyExt as _, Full};
use hyper::rt::{Read, Write};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use uuid::Uuid;

pub const SIGNATURE_HEADER: &str = "borgerraad-signature";
pub const DELIVERY_ID_HEADER: &str = "borgerraad-delivery-id";

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `WEBHOOK_SIGNING_SECRET(_FILE)`, shared with the receiver.
    pub signing_secret: Secret,
    /// `WEBHOOK_TLS_CA_FILE`: the only CA trusted for the receiver when set; otherwise the
    /// public web roots.
    pub ca_file: Option<PathBuf>,
    /// `WEBHOOK_PLAINTEXT=true`: allows `http://` URLs (development only).
    pub plaintext: bool,
}

/// Checks a webhook URL at start: https://, or http:// when plain text is allowed.
pub fn check_url(url: &str, plaintext: bool) -> anyhow::Result<()> {
    let uri: http::Uri = url.parse().context("NOTICE_WEBHOOK_URL is not a URL")?;
    anyhow::ensure!(uri.host().is_some(), "NOTICE_WEBHOOK_URL has no host");
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if plaintext => Ok(()),
        Some("http") => bail!(
            "NOTICE_WEBHOOK_URL must be https:// (plain http:// only with WEBHOOK_PLAINTEXT=true, \
             for development)"
        ),
        _ => bail!("NOTICE_WEBHOOK_URL must be https://"),
    }
}

/// The `Borgerraad-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Posts signed notices; cheap to clone.
#[derive(Clone)]
pub struct WebhookClient {
    tls: TlsConnector,
    secret: Arc<Secret>,
    plaintext: bool,
}

impl WebhookClient {
    /// Reads the CA file; refuses an empty signing secret.
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !settings.signing_secret.expose().is_empty(),
            "WEBHOOK_SIGNING_SECRET is empty"
        );
        let config = super::tls::client_config(
            settings.ca_file.as_deref(),
            "WEBHOOK_TLS_CA_FILE",
            &[b"http/1.1"],
        )?;
        Ok(Self {
            tls: TlsConnector::from(config),
            secret: Arc::new(settings.signing_secret.clone()),
            plaintext: settings.plaintext,
        })
    }

    /// POSTs `json` to `url`, signed, with the notice id as `Borgerraad-Delivery-Id`.
    pub async fn post_json(&self, url: &str, json: &str, notice_id: Uuid) -> anyhow::Result<()> {
        let uri: http::Uri = url.parse().context("the webhook URL is not a URL")?;
        let host = uri
            .host()
            .context("the webhook URL has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if self.plaintext => false,
            _ => bail!("the webhook URL must be https://"),
        };
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let stream = TcpStream::connect((host.as_str(), port))
            .await
            .context("cannot connect to the webhook")?;
        let _ = stream.set_nodelay(true);
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(
                http::header::HOST,
                uri.authority().map_or(host.as_str(), |a| a.as_str()),
            )
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .header(http::header::USER_AGENT, "borgerraad-deadline-monitoring")
            .header(
                SIGNATURE_HEADER,
                signature(self.secret.expose().as_bytes(), timestamp, json.as_bytes()),
            )
            .header(DELIVERY_ID_HEADER, notice_id.to_string())
            .body(Full::new(Bytes::from(json.to_owned())))
            .context("cannot build the webhook request")?;
        if https {
            let name = ServerName::try_from(host.clone())
                .context("the webhook URL's host is not a valid TLS server name")?;
            let stream = self
                .tls
                .connect(name, stream)
                .await
                .context("TLS with the webhook failed")?;
            send(TokioIo::new(stream), request).await
        } else {
            send(TokioIo::new(stream), request).await
        }
    }
}

async fn send<T>(io: T, request: http::Request<Full<Bytes>>) -> anyhow::Result<()>
where
    T: Read + Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .context("HTTP handshake failed")?;
    let connection = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .context("the webhook call failed")?;
    let status = response.status();
    // Read the (small) answer so the connection ends cleanly.
    let _ = response.into_body().collect().await;
    connection.abort();
    if !status.is_success() {
        bail!("the webhook answered {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_an_hmac_sha256_over_the_timestamp_and_the_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac hemmelig
        assert_eq!(
            signature(b"hemmelig", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=896c4491137871ab815a6a65a114d8fdc6a8bc5c19ba2014bd10eefc7a36133b"
        );
    }

    #[test]
    fn webhook_urls_must_be_https_unless_plain_text_is_allowed() {
        assert!(check_url("https://hooks.example/frister", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/frister", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/frister", true).is_ok());
        assert!(check_url("ftp://hooks.example", true).is_err());
        assert!(check_url("not a url", false).is_err());
    }
}
