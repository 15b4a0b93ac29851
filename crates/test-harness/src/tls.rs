//! Certificates for tests: a fresh CA per [`TestPki`], a server certificate for 127.0.0.1 and
//! localhost, and client certificates, all written as PEM files to a temporary folder (services
//! read their certificates from files, as an operator configures them).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate and its key, as PEM text and as files.
#[derive(Debug, Clone)]
pub struct CertifiedKey {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// A CA of one test run with a server certificate (127.0.0.1, localhost) it signed; removed with
/// its folder when dropped.
pub struct TestPki {
    folder: tempfile::TempDir,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    pub ca_pem: String,
    pub ca_file: PathBuf,
    pub server: CertifiedKey,
}

impl TestPki {
    /// A fresh CA named `name` (in its subject) and a server certificate for 127.0.0.1 and
    /// localhost.
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let folder = tempfile::tempdir().context("cannot create a folder for certificates")?;
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_pem = ca_params.self_signed(&ca_key)?.pem();
        let ca_file = write(folder.path(), "ca.pem", &ca_pem)?;
        let mut pki = Self {
            server: CertifiedKey {
                cert_pem: String::new(),
                key_pem: String::new(),
                cert_file: PathBuf::new(),
                key_file: PathBuf::new(),
            },
            folder,
            ca_params,
            ca_key,
            ca_pem,
            ca_file,
        };
        pki.server = pki.issue(
            "server",
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        Ok(pki)
    }

    /// A client certificate signed by this CA, for servers that require one.
    pub fn client(&self, name: &str) -> anyhow::Result<CertifiedKey> {
        self.issue(name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// The folder the PEM files are in.
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    fn issue(
        &self,
        name: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> anyhow::Result<CertifiedKey> {
        let key = KeyPair::generate()?;
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert_pem = params.signed_by(&key, &issuer)?.pem();
        let key_pem = key.serialize_pem();
        Ok(CertifiedKey {
            cert_file: write(self.folder(), &format!("{name}.pem"), &cert_pem)?,
            key_file: write(self.folder(), &format!("{name}-key.pem"), &key_pem)?,
            cert_pem,
            key_pem,
        })
    }
}

fn write(folder: &Path, name: &str, content: &str) -> anyhow::Result<PathBuf> {
    let path = folder.join(name);
    std::fs::write(&path, content).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
