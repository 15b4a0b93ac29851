//! Verifying bearer tokens: the provider's keys are found by OpenID Connect discovery (issuer →
//! `jwks_uri`), cached, and fetched again when a token names a key the cache lacks (the
//! provider rotated its keys); issuer, audience, expiry and not-before are checked with a small
//! allowance for clock skew, against the injected clock. A token whose signature was checked is
//! trusted for a minute without checking it again; its expiry is checked on every call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::{Mutex, RwLock};

use super::http::HttpClient;
use super::{AuthSettings, Principal, Rejection};
use crate::clock::SharedClock;

/// A token naming an unknown key fetches the keys again at most this often, so a flood of
/// forged tokens cannot turn into a flood of requests to the provider.
const MIN_REFETCH: Duration = Duration::from_secs(10);

/// Signature algorithms accepted: asymmetric only (a shared-secret HS256 token could be forged by
/// anyone holding the secret, and `none` by anyone).
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How long a verified token is taken on trust before its signature is checked again.
const VERIFIED_FOR: Duration = Duration::from_secs(60);

/// How many verified tokens are kept; past that the cache starts afresh.
const VERIFIED_CAPACITY: usize = 4096;

pub struct Verifier {
    settings: AuthSettings,
    clock: SharedClock,
    http: HttpClient,
    keys: RwLock<KeySet>,
    /// One fetch at a time; others wait for its result.
    fetching: Mutex<()>,
    /// Tokens whose signature, issuer and audience were checked lately: a web form or a service
    /// sends the same token with every call, and a signature check costs more than the rest of a
    /// submission's handling in the service. Expiry is checked on every call all the same.
    verified: std::sync::Mutex<HashMap<String, Verified>>,
}

#[derive(Clone)]
struct Verified {
    principal: Principal,
    expires: i64,
    not_before: Option<i64>,
    at: Instant,
}

#[derive(Default)]
struct KeySet {
    jwks_uri: Option<String>,
    keys: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    /// A key without `kid`, used for tokens without one (providers with a single key).
    anonymous: Option<(DecodingKey, Option<Algorithm>)>,
    fetched_at: Option<Instant>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.settings.issuer)
            .field("audience", &self.settings.audience)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn new(settings: AuthSettings) -> anyhow::Result<Arc<Self>> {
        let clock = settings.clock.clone();
        super::http::check_scheme(&settings.issuer).context("AUTH_ISSUER")?;
        let http = HttpClient::new(settings.ca_file.as_deref())?;
        Ok(Arc::new(Self {
            settings,
            clock,
            http,
            keys: RwLock::default(),
            fetching: Mutex::new(()),
            verified: std::sync::Mutex::default(),
        }))
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Fetches the provider's keys now, so the first call does not wait for them and a
    /// misconfigured issuer shows at start. A failure is reported, not fatal: verification tries
    /// again on the next call.
    pub async fn prefetch(&self) {
        if let Err(error) = self.fetch_keys(true).await {
            tracing::warn!(
                issuer = %self.settings.issuer,
                error = format!("{error:#}"),
                "cannot fetch the identity provider's keys yet; calls are refused until it answers"
            );
        }
    }

    /// The caller a bearer token names, if the token is valid.
    pub async fn verify(&self, token: &str) -> Result<Principal, Rejection> {
        if let Some(known) = self.recently_verified(token) {
            self.check_times(known.expires, known.not_before)?;
            return Ok(known.principal);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(Rejection::Algorithm(format!("{:?}", header.alg)));
        }
        // Another provider's token names keys this provider does not publish: say that it comes
        // from another issuer, not that its key is unknown, and fetch no keys for it. It is
        // refused either way; nothing else is read from the token before its signature is checked.
        let issuer = jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Value>(token)
            .ok()
            .and_then(|claims| claims.get("iss")?.as_str().map(str::to_owned));
        if issuer.is_some_and(|issuer| issuer != self.settings.issuer) {
            return Err(Rejection::Issuer);
        }
        let (key, key_alg) = self.key_for(header.kid.as_deref()).await?;
        if key_alg.is_some_and(|alg| alg != header.alg) {
            return Err(Rejection::Signature);
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        // Expiry and not-before are checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = ["iss", "aud", "sub", "exp"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::InvalidIssuer => Rejection::Issuer,
                    ErrorKind::InvalidAudience => Rejection::Audience,
                    ErrorKind::InvalidSignature
                    | ErrorKind::InvalidAlgorithm
                    | ErrorKind::InvalidKeyFormat => Rejection::Signature,
                    ErrorKind::MissingRequiredClaim(claim) if claim == "sub" => {
                        Rejection::NoSubject
                    }
                    ErrorKind::MissingRequiredClaim(claim) => {
                        Rejection::MissingClaim(claim.clone())
                    }
                    _ => Rejection::Malformed,
                }
            })?
            .claims;
        let time = |name: &str| claims.get(name).and_then(serde_json::Value::as_i64);
        let expires = time("exp").ok_or(Rejection::MissingClaim("exp".into()))?;
        let not_before = time("nbf");
        self.check_times(expires, not_before)?;
        let principal = Principal::from_claims(
            &claims,
            &self.settings.roles_claim,
            &self.settings.departments_claim,
        )
        .ok_or(Rejection::NoSubject)?;
        self.remember(
            token,
            Verified {
                principal: principal.clone(),
                expires,
                not_before,
                at: Instant::now(),
            },
        );
        Ok(principal)
    }

    fn check_times(&self, expires: i64, not_before: Option<i64>) -> Result<(), Rejection> {
        let now = self.clock.now().timestamp();
        let leeway = i64::try_from(self.settings.leeway.as_secs()).unwrap_or(i64::MAX);
        if now > expires.saturating_add(leeway) {
            return Err(Rejection::Expired);
        }
        if not_before.is_some_and(|not_before| now.saturating_add(leeway) < not_before) {
            return Err(Rejection::NotYetValid);
        }
        Ok(())
    }

    fn recently_verified(&self, token: &str) -> Option<Verified> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified
            .get(token)
            .filter(|known| known.at.elapsed() < VERIFIED_FOR)
            .cloned()
    }

    fn remember(&self, token: &str, known: Verified) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= VERIFIED_CAPACITY {
            verified.retain(|_, known| known.at.elapsed() < VERIFIED_FOR);
            // Still full: many callers at once. Start afresh rather than track ages.
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(token.to_owned(), known);
    }

    async fn key_for(
        &self,
        kid: Option<&str>,
    ) -> Result<(DecodingKey, Option<Algorithm>), Rejection> {
        if let Some(found) = self.cached(kid).await {
            return Ok(found);
        }
        self.fetch_keys(false)
            .await
            .map_err(|error| Rejection::Unavailable(format!("{error:#}")))?;
        self.cached(kid).await.ok_or(Rejection::UnknownKey)
    }

    async fn cached(&self, kid: Option<&str>) -> Option<(DecodingKey, Option<Algorithm>)> {
        let keys = self.keys.read().await;
        match kid {
            Some(kid) => keys.keys.get(kid).cloned(),
            None => keys.anonymous.clone(),
        }
    }

    /// Fetches discovery (once) and the key set; unless `force`, not again within
    /// [`MIN_REFETCH`] of the last fetch.
    async fn fetch_keys(&self, force: bool) -> anyhow::Result<()> {
        let _one_at_a_time = self.fetching.lock().await;
        let (jwks_uri, fetched_at) = {
            let keys = self.keys.read().await;
            (keys.jwks_uri.clone(), keys.fetched_at)
        };
        if !force && fetched_at.is_some_and(|at| at.elapsed() < MIN_REFETCH) {
            return Ok(());
        }
        let jwks_uri = match jwks_uri {
            Some(uri) => uri,
            None => self.discover().await?,
        };
        let set = self.http.get_json(&jwks_uri).await?;
        let (keys, anonymous) = parse_key_set(&set)?;
        tracing::debug!(keys = keys.len(), "fetched the identity provider's keys");
        let mut cache = self.keys.write().await;
        cache.jwks_uri = Some(jwks_uri);
        cache.keys = keys;
        cache.anonymous = anonymous;
        cache.fetched_at = Some(Instant::now());
        Ok(())
    }

    async fn discover(&self) -> anyhow::Result<String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let document = self.http.get_json(&url).await?;
        let issuer = document.get("issuer").and_then(|v| v.as_str());
        // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
        anyhow::ensure!(
            issuer == Some(self.settings.issuer.as_str()),
            "{url} names the issuer {issuer:?}, not {:?}",
            self.settings.issuer
        );
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .with_context(|| format!("{url} names no jwks_uri"))?
            .to_owned();
        super::http::check_scheme(&jwks_uri)?;
        Ok(jwks_uri)
    }
}

/// A key and the algorithm it is published for, if it says.
type Key = (DecodingKey, Option<Algorithm>);
type Keys = HashMap<String, Key>;

/// The signing keys of a JWK set; encryption keys and keys of kinds this service cannot use are
/// skipped (a provider may publish both).
fn parse_key_set(set: &serde_json::Value) -> anyhow::Result<(Keys, Option<Key>)> {
    let entries = set
        .get("keys")
        .and_then(|keys| keys.as_array())
        .context("the key set holds no `keys` array")?;
    let mut keys = HashMap::new();
    let mut anonymous = None;
    for entry in entries {
        if entry.get("use").and_then(|v| v.as_str()) == Some("enc") {
            continue;
        }
        let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(entry.clone()) else {
            continue;
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        let alg = jwk
            .common
            .key_algorithm
            .and_then(|alg| alg.to_string().parse::<Algorithm>().ok());
        match jwk.common.key_id {
            Some(kid) => {
                keys.insert(kid, (key, alg));
            }
            None => anonymous = Some((key, alg)),
        }
    }
    Ok((keys, anonymous))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone as _;

    use super::*;
    use crate::auth::Role;
    use crate::clock::ManualClock;

    fn verifier(clock: Arc<ManualClock>) -> Arc<Verifier> {
        // No provider answers there: these tests never reach it.
        Verifier::new(AuthSettings {
            clock,
            ..AuthSettings::new("http://127.0.0.1:9")
        })
        .expect("verifier")
    }

    fn start() -> chrono::DateTime<chrono::Utc> {
        chrono::Utc
            .with_ymd_and_hms(2026, 12, 8, 9, 0, 0)
            .single()
            .expect("valid time")
    }

    fn web_form() -> Principal {
        Principal {
            subject: "web-form".into(),
            client: Some("web-form".into()),
            roles: BTreeSet::from([Role::WebForm]),
            departments: BTreeSet::new(),
        }
    }

    /// A web form's token checked just now, valid from `not_before` until `expires`.
    fn checked(expires: i64, not_before: Option<i64>) -> Verified {
        Verified {
            principal: web_form(),
            expires,
            not_before,
            at: Instant::now(),
        }
    }

    #[test]
    fn expiry_and_not_before_allow_a_minute_of_skew_and_no_more() {
        let clock = ManualClock::new(start());
        let verifier = verifier(clock.clone());
        let now = start().timestamp();
        assert_eq!(verifier.check_times(now - 59, None), Ok(()));
        assert_eq!(
            verifier.check_times(now - 61, None),
            Err(Rejection::Expired)
        );
        assert_eq!(verifier.check_times(now + 600, Some(now + 59)), Ok(()));
        assert_eq!(
            verifier.check_times(now + 600, Some(now + 61)),
            Err(Rejection::NotYetValid)
        );
    }

    #[tokio::test]
    async fn a_token_checked_before_is_refused_once_it_expires() {
        let clock = ManualClock::new(start());
        let verifier = verifier(clock.clone());
        let token = "header.claims.signature";
        verifier.remember(token, checked(start().timestamp() + 300, None));
        assert_eq!(verifier.verify(token).await, Ok(web_form()));
        clock.advance(chrono::Duration::minutes(10));
        assert_eq!(verifier.verify(token).await, Err(Rejection::Expired));
    }

    #[tokio::test]
    async fn a_token_not_valid_yet_is_refused_though_its_signature_was_checked() {
        let clock = ManualClock::new(start());
        let verifier = verifier(clock.clone());
        let token = "header.claims.signature";
        verifier.remember(
            token,
            checked(start().timestamp() + 3600, Some(start().timestamp() + 600)),
        );
        assert_eq!(verifier.verify(token).await, Err(Rejection::NotYetValid));
        clock.advance(chrono::Duration::minutes(10));
        assert_eq!(verifier.verify(token).await, Ok(web_form()));
    }

    #[test]
    fn the_cache_of_checked_tokens_stays_bounded() {
        let verifier = verifier(ManualClock::new(start()));
        for n in 0..VERIFIED_CAPACITY + 10 {
            verifier.remember(
                &format!("token-{n}"),
                checked(start().timestamp() + 300, None),
            );
        }
        let held = verifier
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        assert!(held <= VERIFIED_CAPACITY, "{held}");
    }
}
