//! The client side: an access token on every call. A service identity gets its tokens from the
//! provider by the client-credentials grant and fetches a new one before the old one expires;
//! the command-line client and tests may hand over a token they already hold.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::BoxFuture;
use tokio::sync::Mutex;
use tonic::Status;

use super::http::HttpClient;
use crate::settings::Secret;

/// A token is replaced once less than this much of its life is left (or a fifth of it, if that
/// is less), so a call never leaves with a token that expires on the way.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// A client registered with the identity provider.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Access tokens of one client, fetched by the client-credentials grant and kept until shortly
/// before they expire.
pub struct TokenSource {
    issuer: String,
    credentials: ClientCredentials,
    /// Extra form fields of the token request (e.g. `department` for a department system).
    extra: Vec<(String, String)>,
    http: HttpClient,
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    token_endpoint: Option<String>,
    current: Option<(String, Instant)>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("issuer", &self.issuer)
            .field("client_id", &self.credentials.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    pub fn new(
        issuer: &str,
        credentials: ClientCredentials,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Arc<Self>> {
        Self::with_parameters(issuer, credentials, ca_file, Vec::new())
    }

    pub fn with_parameters(
        issuer: &str,
        credentials: ClientCredentials,
        ca_file: Option<&std::path::Path>,
        extra: Vec<(String, String)>,
    ) -> anyhow::Result<Arc<Self>> {
        super::http::check_scheme(issuer).context("the identity provider's issuer URL")?;
        Ok(Arc::new(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            credentials,
            extra,
            http: HttpClient::new(ca_file)?,
            state: Mutex::default(),
        }))
    }

    /// A token valid for a while yet: the cached one, or a new one from the provider.
    pub async fn token(&self) -> anyhow::Result<String> {
        let mut state = self.state.lock().await;
        if let Some((token, renew_at)) = &state.current
            && Instant::now() < *renew_at
        {
            return Ok(token.clone());
        }
        let endpoint = match &state.token_endpoint {
            Some(endpoint) => endpoint.clone(),
            None => {
                let url = format!("{}/.well-known/openid-configuration", self.issuer);
                let document = self.http.get_json(&url).await?;
                let endpoint = document
                    .get("token_endpoint")
                    .and_then(|v| v.as_str())
                    .with_context(|| format!("{url} names no token_endpoint"))?
                    .to_owned();
                super::http::check_scheme(&endpoint)?;
                state.token_endpoint = Some(endpoint.clone());
                endpoint
            }
        };
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend(
            self.extra
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        let answer = self
            .http
            .post_form(
                &endpoint,
                (
                    &self.credentials.client_id,
                    self.credentials.client_secret.expose(),
                ),
                &form,
            )
            .await
            .with_context(|| {
                format!(
                    "the identity provider gave client {} no token",
                    self.credentials.client_id
                )
            })?;
        let token = answer
            .get("access_token")
            .and_then(|v| v.as_str())
            .context("the token answer holds no access_token")?
            .to_owned();
        let lifetime = Duration::from_secs(
            answer
                .get("expires_in")
                .and_then(|v| v.as_u64())
                .unwrap_or(300),
        );
        let margin = RENEW_BEFORE.min(lifetime / 5);
        state.current = Some((token.clone(), Instant::now() + lifetime - margin));
        Ok(token)
    }
}

/// Where a client's tokens come from.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// A token the caller already holds (the CLI's cache, a test, a script).
    Token(Arc<str>),
    /// Fetched and renewed from the provider.
    Source(Arc<TokenSource>),
}

impl Credentials {
    pub fn token(token: impl Into<String>) -> Self {
        Credentials::Token(Arc::from(token.into()))
    }

    async fn bearer(&self) -> Result<http::HeaderValue, Status> {
        let token = match self {
            Credentials::Token(token) => token.to_string(),
            Credentials::Source(source) => source.token().await.map_err(|error| {
                tracing::warn!(error = format!("{error:#}"), "cannot get an access token");
                Status::unavailable(format!("cannot get an access token: {error:#}"))
            })?,
        };
        http::HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::invalid_argument("the access token is not a header value"))
    }
}

/// A gRPC channel that sends an access token with every call.
#[derive(Clone, Debug)]
pub struct Bearer<S> {
    inner: S,
    credentials: Credentials,
}

impl<S> Bearer<S> {
    pub fn new(inner: S, credentials: Credentials) -> Self {
        Self { inner, credentials }
    }
}

/// The channel type of every client in the project.
pub type AuthorizedChannel = Bearer<tonic::transport::Channel>;

impl<S, B> tower::Service<http::Request<B>> for Bearer<S>
where
    S: tower::Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let credentials = self.credentials.clone();
        Box::pin(async move {
            // tonic turns an error that is a Status into that status for the caller.
            let value = credentials.bearer().await.map_err(Box::new)?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
            inner.call(request).await.map_err(Into::into)
        })
    }
}
