//! A small SMTP client (RFC 5321): one message per connection to the municipality's internal
//! relay, plain text in UTF-8. No TLS or authentication: the relay is expected on the internal
//! network (`SMTP_URL=smtp://relay:25`).

use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// The sender address (`SMTP_FROM`).
    pub from: String,
    /// The name given in EHLO.
    pub helo: String,
    pub timeout: Duration,
}

impl SmtpSettings {
    /// Parses `smtp://host:port` (port 25 by default).
    pub fn parse(url: &str, from: String) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("smtp://")
            .context("SMTP_URL must look like smtp://host:port")?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().context("SMTP_URL has an invalid port")?),
            None => (rest, 25),
        };
        anyhow::ensure!(!host.is_empty(), "SMTP_URL has no host");
        anyhow::ensure!(from.contains('@'), "SMTP_FROM must be an e-mail address");
        Ok(Self {
            host: host.to_owned(),
            port,
            from,
            helo: "deadline-monitoring".into(),
            timeout: Duration::from_secs(20),
        })
    }
}

/// A reply: its code, and its text lines for error messages.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> anyhow::Result<(u16, String)> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            bail!("the SMTP server closed the connection");
        }
        let line = line.trim_end();
        let code: u16 = line
            .get(..3)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("not an SMTP reply: {line:?}"))?;
        text.push_str(line);
        // "250-..." continues, "250 ..." (or a bare code) ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, text));
        }
        text.push(' ');
    }
}

async fn expect<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    what: &str,
    accepted: &[u16],
) -> anyhow::Result<()> {
    let (code, text) = reply(reader).await?;
    if !accepted.contains(&code) {
        bail!("SMTP {what} refused: {text}");
    }
    Ok(())
}

fn encoded_header(value: &str) -> String {
    if value.is_ascii() {
        value.to_owned()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// The message, with CRLF line ends and leading dots doubled (RFC 5321 4.5.2).
fn message(from: &str, to: &str, subject: &str, body: &str) -> String {
    let mut data = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@deadline-monitoring>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n",
        encoded_header(subject),
        chrono::Utc::now().to_rfc2822(),
        uuid::Uuid::new_v4().simple(),
    );
    for line in body.lines() {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    data
}

/// Sends one message; any refusal or broken connection is an error (to be retried).
pub async fn send(
    settings: &SmtpSettings,
    to: &str,
    subject: &str,
    body: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !to.contains(['\r', '\n', '<', '>']) && to.contains('@'),
        "not an e-mail address"
    );
    let stream = tokio::time::timeout(
        settings.timeout,
        TcpStream::connect((settings.host.as_str(), settings.port)),
    )
    .await
    .context("SMTP connect timed out")?
    .context("cannot connect to the SMTP server")?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    expect(&mut reader, "greeting", &[220]).await?;
    write
        .write_all(format!("EHLO {}\r\n", settings.helo).as_bytes())
        .await?;
    expect(&mut reader, "EHLO", &[250]).await?;
    write
        .write_all(format!("MAIL FROM:<{}>\r\n", settings.from).as_bytes())
        .await?;
    expect(&mut reader, "MAIL FROM", &[250]).await?;
    write
        .write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
        .await?;
    expect(&mut reader, "RCPT TO", &[250, 251]).await?;
    write.write_all(b"DATA\r\n").await?;
    expect(&mut reader, "DATA", &[354]).await?;
    write
        .write_all(message(&settings.from, to, subject, body).as_bytes())
        .await?;
    expect(&mut reader, "message", &[250]).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = write.write_all(b"QUIT\r\n").await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_and_bad_ones_are_refused() {
        let settings = SmtpSettings::parse("smtp://relay.internal:2525", "frist@example.dk".into())
            .expect("valid");
        assert_eq!(
            (settings.host.as_str(), settings.port),
            ("relay.internal", 2525)
        );
        assert_eq!(
            SmtpSettings::parse("smtp://relay", "a@b".into())
                .expect("valid")
                .port,
            25
        );
        assert!(SmtpSettings::parse("http://relay", "a@b".into()).is_err());
        assert!(SmtpSettings::parse("smtp://relay:x", "a@b".into()).is_err());
        assert!(SmtpSettings::parse("smtp://relay", "nobody".into()).is_err());
    }

    #[test]
    fn danish_subjects_are_encoded_and_leading_dots_doubled() {
        let data = message("a@b", "c@d", "Fristen udløber i dag", "linje\n.punktum");
        assert!(data.contains("Subject: =?UTF-8?B?"));
        assert!(data.contains("\r\n..punktum\r\n.\r\n"));
    }
}
