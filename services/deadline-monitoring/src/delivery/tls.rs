//! Trust for the notice channels: a configured CA file (a private CA, or a test's) is the only
//! anchor when set; otherwise the public web roots (`webpki-roots`), which need no system store.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// The certificates in the PEM file `path`, named in errors by its variable `setting`.
pub fn ca_certificates(path: &Path, setting: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("{setting}: cannot read {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| {
            format!(
                "{setting}: {} is not a PEM certificate file",
                path.display()
            )
        })?;
    anyhow::ensure!(
        !certificates.is_empty(),
        "{setting}: {} holds no certificate",
        path.display()
    );
    Ok(certificates)
}

/// A rustls client configuration (ring, TLS 1.2 and 1.3) trusting `ca_file` or the web roots.
pub fn client_config(
    ca_file: Option<&Path>,
    setting: &str,
    alpn: &[&[u8]],
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for certificate in ca_certificates(path, setting)? {
                roots
                    .add(certificate)
                    .with_context(|| format!("{setting}: {} is not a CA", path.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("no TLS protocol version available")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}
