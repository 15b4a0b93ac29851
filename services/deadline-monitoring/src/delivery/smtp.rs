//! E-mail through the municipality's relay with `lettre`: encrypted (STARTTLS required, or TLS
//! from the first byte), authenticated, the relay's certificate checked against a configured CA
//! (or the public roots), and the Danish texts MIME-encoded (RFC 2047 subject, UTF-8 body).
//!
//! `SMTP_URL=smtp://relay:587` upgrades with STARTTLS and fails when the relay does not offer it;
//! `smtps://relay:465` speaks TLS from the start. Plain SMTP only with `SMTP_PLAINTEXT=true`, for
//! a development relay on the same machine.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use borgerraad_platform::settings::Secret;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use uuid::Uuid;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: plain greeting, then STARTTLS before anything else; refused if not offered.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
    /// `smtp://` with `SMTP_PLAINTEXT=true`: no encryption (development only).
    Plaintext,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The sender address (`SMTP_FROM`).
    pub from: String,
    /// `SMTP_USER` and `SMTP_PASSWORD(_FILE)`.
    pub credentials: Option<(String, Secret)>,
    /// `SMTP_TLS_CA_FILE`: the only CA trusted for the relay's certificate when set (a private
    /// CA); otherwise the public web roots.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

impl SmtpSettings {
    /// Parses `smtp://host[:port]` (STARTTLS, port 587 by default; port 25 with `plaintext`)
    /// or `smtps://host[:port]` (implicit TLS, port 465 by default).
    pub fn parse(url: &str, from: String, plaintext: bool) -> anyhow::Result<Self> {
        let (security, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
            anyhow::ensure!(
                !plaintext,
                "SMTP_PLAINTEXT=true contradicts an smtps:// SMTP_URL"
            );
            (SmtpSecurity::ImplicitTls, rest)
        } else if let Some(rest) = url.strip_prefix("smtp://") {
            let security = if plaintext {
                SmtpSecurity::Plaintext
            } else {
                SmtpSecurity::StartTls
            };
            (security, rest)
        } else {
            anyhow::bail!("SMTP_URL must look like smtp://host:port or smtps://host:port");
        };
        let rest = rest.trim_end_matches('/');
        let default_port = match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::Plaintext => 25,
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().context("SMTP_URL has an invalid port")?),
            None => (rest, default_port),
        };
        anyhow::ensure!(!host.is_empty(), "SMTP_URL has no host");
        anyhow::ensure!(
            !host.contains(['@', '/', '?']),
            "SMTP_URL holds only host and port; the user and password are SMTP_USER and \
             SMTP_PASSWORD(_FILE)"
        );
        from.parse::<Mailbox>()
            .context("SMTP_FROM must be an e-mail address")?;
        Ok(Self {
            host: host.to_owned(),
            port,
            security,
            from,
            credentials: None,
            ca_file: None,
            timeout: Duration::from_secs(20),
        })
    }
}

/// Sends notices through a pool of authenticated connections to the relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Reads the CA file and prepares the pool; connects only when the first notice is sent.
    pub fn new(settings: &SmtpSettings) -> anyhow::Result<Self> {
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(settings)?),
            SmtpSecurity::ImplicitTls => Tls::Wrapper(tls_parameters(settings)?),
            SmtpSecurity::Plaintext => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings
                .from
                .parse()
                .context("SMTP_FROM must be an e-mail address")?,
        })
    }

    /// Sends one notice; any refusal or broken connection is an error (to be retried). The
    /// Message-ID is the notice's, so a mail client shows a retried notice once.
    pub async fn send(
        &self,
        notice_id: Uuid,
        to: &str,
        subject: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let message = message(&self.from, notice_id, to, subject, body)?;
        self.transport
            .send(message)
            .await
            .context("the SMTP relay did not take the notice")?;
        Ok(())
    }
}

fn tls_parameters(settings: &SmtpSettings) -> anyhow::Result<TlsParameters> {
    let builder = TlsParameters::builder(settings.host.clone());
    let builder = match &settings.ca_file {
        Some(path) => super::tls::ca_certificates(path, "SMTP_TLS_CA_FILE")?
            .into_iter()
            .try_fold(
                builder.certificate_store(CertificateStore::None),
                |builder, der| {
                    Certificate::from_der(der.to_vec())
                        .map(|certificate| builder.add_root_certificate(certificate))
                },
            )
            .context("SMTP_TLS_CA_FILE holds an unusable certificate")?,
        None => builder.certificate_store(CertificateStore::WebpkiRoots),
    };
    builder
        .build_rustls()
        .context("cannot set up TLS for the SMTP relay")
}

/// The notice as a MIME message: lettre encodes a non-ASCII subject as an RFC 2047 word and
/// picks quoted-printable or base64 for the UTF-8 body.
fn message(
    from: &Mailbox,
    notice_id: Uuid,
    to: &str,
    subject: &str,
    body: &str,
) -> anyhow::Result<Message> {
    let to: Mailbox = to.parse().context("not an e-mail address")?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!(
            "<{notice_id}@deadline-monitoring.borgerraad>"
        )))
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .context("cannot build the notice e-mail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_the_protection_and_bad_ones_are_refused() {
        let from = || "frist@example.dk".to_owned();
        let settings =
            SmtpSettings::parse("smtp://relay.internal:2525", from(), false).expect("ok");
        assert_eq!(
            (settings.host.as_str(), settings.port, settings.security),
            ("relay.internal", 2525, SmtpSecurity::StartTls)
        );
        let implicit = SmtpSettings::parse("smtps://relay", from(), false).expect("ok");
        assert_eq!(
            (implicit.port, implicit.security),
            (465, SmtpSecurity::ImplicitTls)
        );
        assert_eq!(
            SmtpSettings::parse("smtp://relay", from(), false)
                .expect("ok")
                .port,
            587
        );
        let plain = SmtpSettings::parse("smtp://relay", from(), true).expect("ok");
        assert_eq!((plain.port, plain.security), (25, SmtpSecurity::Plaintext));
        assert!(SmtpSettings::parse("smtps://relay", from(), true).is_err());
        assert!(SmtpSettings::parse("http://relay", from(), false).is_err());
        assert!(SmtpSettings::parse("smtp://relay:x", from(), false).is_err());
        assert!(SmtpSettings::parse("smtp://user:pw@relay:587", from(), false).is_err());
        assert!(SmtpSettings::parse("smtp://relay", "nobody".into(), false).is_err());
    }

    #[test]
    fn danish_subjects_and_bodies_are_mime_encoded() {
        let from: Mailbox = "frist@example.dk".parse().expect("mailbox");
        let id = Uuid::nil();
        let mail = message(
            &from,
            id,
            "cw-17@example.dk",
            "Fristen udløber i dag: henvendelse BR-1",
            "Henvendelse BR-1 skal besvares i dag.\nBorgerrådgiveren",
        )
        .expect("message");
        let raw = String::from_utf8(mail.formatted()).expect("ascii");
        assert!(raw.is_ascii(), "only 7-bit on the wire: {raw}");
        assert!(
            raw.contains("Subject: Fristen =?utf-8?b?dWRsw7hiZXI=?= i dag"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
        assert!(raw.contains(&format!(
            "Message-ID: <{id}@deadline-monitoring.borgerraad>"
        )));
        assert!(message(&from, id, "a b@x\r\nBcc: y@z", "s", "b").is_err());
    }
}
