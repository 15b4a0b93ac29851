//! Certificates for tests: a fresh certificate authority per test, and server certificates it
//! signs for `127.0.0.1` and `localhost`, as PEM strings and as files in a temporary directory
//! (removed with the [`TestCa`]).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// A certificate authority of one test; nothing outside the test trusts it.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
    cert_file: PathBuf,
}

/// A server certificate and its private key, signed by a [`TestCa`].
#[derive(Clone)]
pub struct ServerCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TestCa {
    /// A new CA named `name`; its certificate is written to `<name>-ca.pem`.
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        let dir = tempfile::tempdir().context("cannot create a directory for certificates")?;
        let cert_file = dir.path().join(format!("{name}-ca.pem"));
        std::fs::write(&cert_file, issuer.pem()).context("cannot write the CA certificate")?;
        Ok(Self {
            issuer,
            dir,
            cert_file,
        })
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA certificate as a PEM file, for a client's "CA to trust" setting.
    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// A server certificate for `127.0.0.1` and `localhost`, written to `<name>.crt` and
    /// `<name>.key` beside the CA's.
    pub fn server_cert(&self, name: &str) -> anyhow::Result<ServerCert> {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let server = ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_file: self.dir.path().join(format!("{name}.crt")),
            key_file: self.dir.path().join(format!("{name}.key")),
        };
        std::fs::write(&server.cert_file, &server.cert_pem)
            .context("cannot write the server certificate")?;
        std::fs::write(&server.key_file, &server.key_pem).context("cannot write the server key")?;
        Ok(server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_certificate_and_its_ca_are_written_as_pem_files() {
        let ca = TestCa::new("unit").expect("ca");
        let server = ca.server_cert("server").expect("server cert");
        let ca_file = std::fs::read_to_string(ca.cert_file()).expect("ca file");
        assert_eq!(ca_file, ca.cert_pem());
        assert!(ca_file.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(server.key_pem.contains("PRIVATE KEY"));
        assert_eq!(
            std::fs::read_to_string(&server.cert_file).expect("cert file"),
            server.cert_pem
        );
        assert_ne!(server.cert_pem, ca.cert_pem());
    }
}
