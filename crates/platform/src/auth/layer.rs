//! The server side: every call but health and reflection must carry a valid bearer token whose
//! roles the method's grant names; the verified [`Principal`] rides in the request's
//! extensions to the handler.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::Status;

use super::{Principal, Rejection, Verifier, policy};

#[derive(Clone)]
pub struct AuthLayer {
    verifier: Arc<Verifier>,
}

impl AuthLayer {
    pub fn new(verifier: Arc<Verifier>) -> Self {
        Self { verifier }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

impl<S, B> tower::Service<http::Request<B>> for Authenticate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was not polled ready stays here; the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            if policy::is_public(&path) {
                return inner.call(request).await;
            }
            match admit(&verifier, request.headers(), &path).await {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

async fn admit(
    verifier: &Verifier,
    headers: &http::HeaderMap,
    path: &str,
) -> Result<Principal, Status> {
    #[cfg(not(feature = "unauthenticated-baseline"))]
    let principal = {
        let token = bearer_token(headers).map_err(rejected)?;
        verifier.verify(token).await.map_err(rejected)?
    };
    #[cfg(feature = "unauthenticated-baseline")]
    let principal = {
        let _ = (verifier, headers);
        super::baseline::principal()
    };
    policy::authorize(&principal, path)
        .map_err(|refusal| Status::permission_denied(refusal.to_string()))?;
    Ok(principal)
}

#[cfg_attr(feature = "unauthenticated-baseline", allow(dead_code))]
fn bearer_token(headers: &http::HeaderMap) -> Result<&str, Rejection> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(Rejection::Missing)?
        .to_str()
        .map_err(|_| Rejection::NotBearer)?;
    let (scheme, token) = value.split_once(' ').ok_or(Rejection::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Rejection::NotBearer);
    }
    Ok(token.trim())
}

#[cfg_attr(feature = "unauthenticated-baseline", allow(dead_code))]
fn rejected(rejection: Rejection) -> Status {
    match rejection {
        Rejection::Unavailable(why) => {
            tracing::warn!(error = %why, "cannot check a token: the identity provider does not answer");
            Status::unavailable(
                "cannot check the access token now: the identity provider does not answer",
            )
        }
        rejection => Status::unauthenticated(rejection.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn reads_a_bearer_token_in_any_case() {
        assert_eq!(
            bearer_token(&headers("Bearer abc.def.ghi")).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(&headers("bearer  abc")).unwrap(), "abc");
        assert!(matches!(
            bearer_token(&http::HeaderMap::new()),
            Err(Rejection::Missing)
        ));
        assert!(matches!(
            bearer_token(&headers("Basic dXNlcjpwdw==")),
            Err(Rejection::NotBearer)
        ));
        assert!(matches!(
            bearer_token(&headers("Bearer ")),
            Err(Rejection::NotBearer)
        ));
    }
}
