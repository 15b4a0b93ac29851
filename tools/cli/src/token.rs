//! Access tokens for the command line: which client of the identity provider acts for a role,
//! fetching its tokens by the client-credentials grant, and a cache so a script of many calls
//! asks the provider once per role.
//!
//! The provider and its clients come from, in order:
//! - `BORGERRAAD_TOKEN`: a token got elsewhere, used as it is;
//! - `AUTH_ISSUER` with `AUTH_CLIENT_ID` and `AUTH_CLIENT_SECRET` (or `_FILE`): one client, for
//!   whatever roles the provider gives it;
//! - the development provider's file (`BORGERRAAD_IDP_FILE`, default `.local/dev-idp/cli.json`
//!   of the checkout, written by `scripts/run-local.sh`): its issuer and a client per role.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// A cached token is used only while it has at least this long to live.
const CACHE_MARGIN: Duration = Duration::from_secs(60);

/// The development provider's file, relative to the checkout run-local.sh ran in.
pub const DEV_IDP_FILE: &str = ".local/dev-idp/cli.json";

/// The development provider as `scripts/run-local.sh` describes it for the CLI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevIdpFile {
    pub issuer: String,
    /// Client id → secret; the client ids are the role names.
    pub clients: BTreeMap<String, String>,
}

/// Where tokens come from.
#[derive(Debug, Clone)]
pub enum TokenOrigin {
    Given(String),
    Client {
        issuer: String,
        client_id: String,
        client_secret: String,
    },
    DevIdp(DevIdpFile),
}

impl TokenOrigin {
    /// From the environment, as the module documentation says.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(token) = var("BORGERRAAD_TOKEN") {
            return Ok(TokenOrigin::Given(token.trim().to_owned()));
        }
        if let (Some(issuer), Some(client_id)) = (var("AUTH_ISSUER"), var("AUTH_CLIENT_ID")) {
            let client_secret = match (var("AUTH_CLIENT_SECRET"), var("AUTH_CLIENT_SECRET_FILE")) {
                (Some(secret), None) => secret,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("AUTH_CLIENT_SECRET_FILE: cannot read {path}"))?
                    .trim_end()
                    .to_owned(),
                (Some(_), Some(_)) => {
                    bail!("set AUTH_CLIENT_SECRET or AUTH_CLIENT_SECRET_FILE, not both")
                }
                (None, None) => bail!("AUTH_CLIENT_ID is set: AUTH_CLIENT_SECRET must be too"),
            };
            return Ok(TokenOrigin::Client {
                issuer,
                client_id,
                client_secret,
            });
        }
        let path = var("BORGERRAAD_IDP_FILE").unwrap_or_else(|| DEV_IDP_FILE.to_owned());
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no access token: set BORGERRAAD_TOKEN, or AUTH_ISSUER with AUTH_CLIENT_ID and \
                 AUTH_CLIENT_SECRET, or run from the checkout where scripts/run-local.sh runs \
                 (it writes {DEV_IDP_FILE}; BORGERRAAD_IDP_FILE names another) — cannot read {path}"
            )
        })?;
        let file: DevIdpFile = serde_json::from_str(&text)
            .with_context(|| format!("{path} is not a development provider's file"))?;
        Ok(TokenOrigin::DevIdp(file))
    }

    /// The issuer, client id and secret that act as `role` (and for `department`).
    fn client(&self, role: &str) -> anyhow::Result<(String, String, String)> {
        match self {
            TokenOrigin::Given(_) => bail!("a given token has no client"),
            TokenOrigin::Client {
                issuer,
                client_id,
                client_secret,
            } => Ok((issuer.clone(), client_id.clone(), client_secret.clone())),
            TokenOrigin::DevIdp(file) => {
                let secret = file.clients.get(role).with_context(|| {
                    format!(
                        "the development provider has no client for the role {role:?}; it has {}",
                        file.clients.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                })?;
                Ok((file.issuer.clone(), role.to_owned(), secret.clone()))
            }
        }
    }

    /// A token acting as `role` (for `department`, as a department system), from the cache
    /// while it lives, else from the provider.
    pub async fn token(&self, role: &str, department: Option<&str>) -> anyhow::Result<String> {
        if let TokenOrigin::Given(token) = self {
            return Ok(token.clone());
        }
        let (issuer, client_id, client_secret) = self.client(role)?;
        let key = format!("{issuer} {client_id} {}", department.unwrap_or(""));
        let cache = cache_path();
        if let Some(token) = cache.as_deref().and_then(|path| cached(path, &key)) {
            return Ok(token);
        }
        let extra = department
            .map(|code| vec![("department".to_owned(), code.to_owned())])
            .unwrap_or_default();
        let source = borgerraad_platform::auth::TokenSource::with_parameters(
            &issuer,
            borgerraad_platform::auth::ClientCredentials {
                client_id,
                client_secret: borgerraad_platform::settings::Secret::new(client_secret),
            },
            std::env::var_os("AUTH_CA_FILE")
                .map(PathBuf::from)
                .as_deref(),
            extra,
        )?;
        let token = source.token().await?;
        if let Some(path) = cache.as_deref()
            && let Err(error) = store(path, &key, &token)
        {
            eprintln!(
                "note: cannot cache the token in {}: {error:#}",
                path.display()
            );
        }
        Ok(token)
    }
}

/// `$XDG_CACHE_HOME/borgerraad/tokens.json`, or under `~/.cache`.
fn cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("borgerraad").join("tokens.json"))
}

type Cache = BTreeMap<String, String>;

fn cached(path: &Path, key: &str) -> Option<String> {
    let cache: Cache = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let token = cache.get(key)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    (expiry(token)? > now + CACHE_MARGIN.as_secs()).then(|| token.clone())
}

fn store(path: &Path, key: &str, token: &str) -> anyhow::Result<()> {
    let mut cache: Cache = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Expired tokens go, so the file does not grow.
    cache.retain(|_, token| expiry(token).is_some_and(|exp| exp > now));
    cache.insert(key.to_owned(), token.to_owned());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("json.tmp");
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            // Tokens are credentials: readable by their owner only.
            options.mode(0o600);
        }
        let mut file = options.open(&temporary)?;
        file.write_all(&serde_json::to_vec(&cache)?)?;
    }
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// A JWT's `exp`, read without checking the signature (the services check it; this only
/// decides whether to ask for a new one).
pub fn expiry(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_expiring_at(exp: u64) -> String {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"sub":"x","exp":{exp}}}"#));
        format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")
    }

    #[test]
    fn reads_the_expiry_of_a_token() {
        assert_eq!(
            expiry(&token_expiring_at(1_796_171_475)),
            Some(1_796_171_475)
        );
        assert_eq!(expiry("not-a-token"), None);
    }

    #[test]
    fn a_cached_token_is_used_while_it_lives_and_not_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let fresh = token_expiring_at(now + 600);
        let stale = token_expiring_at(now + 10);
        store(&path, "fresh", &fresh).unwrap();
        store(&path, "stale", &stale).unwrap();
        assert_eq!(cached(&path, "fresh"), Some(fresh));
        assert_eq!(cached(&path, "stale"), None);
        assert_eq!(cached(&path, "other"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read the cache");
        }
    }
}
