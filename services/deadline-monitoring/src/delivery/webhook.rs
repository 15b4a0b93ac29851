//! A webhook delivery: one JSON POST over HTTP/1.1; any 2xx answer is a delivery.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// POSTs `json` to `url` (`http://host[:port]/path`).
pub async fn post_json(url: &str, json: &str) -> anyhow::Result<()> {
    let uri: http::Uri = url.parse().context("the webhook URL is not a URL")?;
    if uri.scheme_str() != Some("http") {
        bail!("the webhook URL must be http://");
    }
    let host = uri
        .host()
        .context("the webhook URL has no host")?
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .context("cannot connect to the webhook")?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    let connection = tokio::spawn(connection);
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or(host);
    let request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .header(http::header::USER_AGENT, "borgerraad-deadline-monitoring")
        .body(Full::new(Bytes::from(json.to_owned())))
        .context("cannot build the webhook request")?;
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
