//! Who calls, and what they may do. Every call but health and reflection carries an OAuth 2.0
//! bearer access token (a JWT) from the municipality's identity provider; [`Verifier`] checks
//! it against the provider's published keys, [`policy`] says which roles may call which
//! method, and [`AuthLayer`] enforces both in front of every service. Handlers read the caller
//! with [`principal`] and record [`Principal::subject`] as the person who acts.
//!
//! Any standard provider works (Keycloak, Entra ID, the municipalities' common access-control
//! service): which claim holds the roles and which the departments is configuration.

#[cfg(feature = "unauthenticated-baseline")]
pub mod baseline;
mod http;
mod layer;
pub mod policy;
mod principal;
mod token;
mod verifier;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tonic::Status;

pub use layer::{AuthLayer, Authenticate};
pub use principal::{Principal, Role};
pub use token::{AuthorizedChannel, Bearer, ClientCredentials, Credentials, TokenSource};
pub use verifier::Verifier;

use crate::clock::{SharedClock, SystemClock};
use crate::settings::{Secret, parsed_var, secret_var, var};

/// How a service finds and checks tokens.
#[derive(Clone)]
pub struct AuthSettings {
    /// The provider's issuer URL; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The `aud` a token must name.
    pub audience: String,
    /// Dotted path of the claim holding the roles, e.g. `roles` or `realm_access.roles`.
    pub roles_claim: String,
    /// Dotted path of the claim holding a department system's department codes.
    pub departments_claim: String,
    /// Allowance for clock skew between the provider and this service.
    pub leeway: Duration,
    /// The CA that signed the provider's certificate, when it is not a public one.
    pub ca_file: Option<PathBuf>,
    /// The clock expiry is checked against.
    pub clock: SharedClock,
    /// This service's own client at the provider, for the services it calls
    /// (`AUTH_CLIENT_ID`, `AUTH_CLIENT_SECRET`).
    pub client: Option<ClientCredentials>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("roles_claim", &self.roles_claim)
            .field("departments_claim", &self.departments_claim)
            .field("leeway", &self.leeway)
            .field("client", &self.client.as_ref().map(|c| &c.client_id))
            .finish_non_exhaustive()
    }
}

impl AuthSettings {
    /// Settings with the defaults for `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: "borgerraad".into(),
            roles_claim: "roles".into(),
            departments_claim: "departments".into(),
            leeway: Duration::from_secs(60),
            ca_file: None,
            clock: Arc::new(SystemClock),
            client: None,
        }
    }

    /// Reads `AUTH_ISSUER` (required), `AUTH_AUDIENCE`, `AUTH_ROLES_CLAIM`,
    /// `AUTH_DEPARTMENTS_CLAIM`, `AUTH_LEEWAY_SECONDS`, `AUTH_CA_FILE`, and the service's own
    /// client (`AUTH_CLIENT_ID` with `AUTH_CLIENT_SECRET` or `AUTH_CLIENT_SECRET_FILE`).
    pub fn from_env() -> anyhow::Result<Self> {
        let issuer = var("AUTH_ISSUER").context(
            "AUTH_ISSUER must name the identity provider whose tokens this service accepts \
             (its issuer URL, e.g. https://login.odense.dk/realms/borgerraad); \
             scripts/run-local.sh starts a development provider",
        )?;
        let defaults = Self::new(issuer);
        Ok(Self {
            audience: var("AUTH_AUDIENCE").unwrap_or(defaults.audience.clone()),
            roles_claim: var("AUTH_ROLES_CLAIM").unwrap_or(defaults.roles_claim.clone()),
            departments_claim: var("AUTH_DEPARTMENTS_CLAIM")
                .unwrap_or(defaults.departments_claim.clone()),
            leeway: Duration::from_secs(parsed_var("AUTH_LEEWAY_SECONDS", 60u64)?),
            ca_file: var("AUTH_CA_FILE").map(PathBuf::from),
            client: match var("AUTH_CLIENT_ID") {
                Some(_) => Some(ClientCredentials::from_env()?),
                None => None,
            },
            ..defaults
        })
    }

    /// A channel to another service that sends this service's own tokens with every call.
    pub fn authorized(
        &self,
        channel: tonic::transport::Channel,
    ) -> anyhow::Result<AuthorizedChannel> {
        let client = self.client.clone().context(
            "AUTH_CLIENT_ID and AUTH_CLIENT_SECRET must name this service's own client at the \
             identity provider: it calls another service",
        )?;
        let source = TokenSource::new(&self.issuer, client, self.ca_file.as_deref())?;
        Ok(Bearer::new(channel, Credentials::Source(source)))
    }
}

impl ClientCredentials {
    /// Reads `AUTH_CLIENT_ID` and `AUTH_CLIENT_SECRET` (or `AUTH_CLIENT_SECRET_FILE`): the
    /// service's own identity at the provider. Both are required.
    pub fn from_env() -> anyhow::Result<Self> {
        let client_id = var("AUTH_CLIENT_ID")
            .context("AUTH_CLIENT_ID must name this service's client at the identity provider")?;
        let client_secret = secret_var("AUTH_CLIENT_SECRET")?
            .context("AUTH_CLIENT_SECRET (or AUTH_CLIENT_SECRET_FILE) must hold this service's client secret")?;
        Ok(Self {
            client_id,
            client_secret: Secret::new(client_secret),
        })
    }
}

/// Why a token was not accepted: the reason an UNAUTHENTICATED status gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no access token: send the header `authorization: Bearer <access token>`")]
    Missing,
    #[error("the authorization header is not `Bearer <access token>`")]
    NotBearer,
    #[error("the access token is not a well-formed JWT")]
    Malformed,
    #[error("the access token is signed with {0}, which is not accepted")]
    Algorithm(String),
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
    #[error("the access token was issued by another issuer")]
    Issuer,
    #[error("the access token is meant for another audience")]
    Audience,
    #[error("the access token's signature is invalid")]
    Signature,
    #[error("the access token is signed with a key the identity provider does not publish")]
    UnknownKey,
    #[error("the access token names no subject")]
    NoSubject,
    #[error("the access token lacks the claim {0}")]
    MissingClaim(String),
    /// Not the caller's fault: the provider's keys cannot be fetched.
    #[error("the identity provider does not answer: {0}")]
    Unavailable(String),
}

/// The verified caller of a request. Every method but health and reflection has one; its absence
/// means the service was wired without [`AuthLayer`], a fault of the service.
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("a call reached a handler without a verified caller");
            Status::internal("the caller was not authenticated")
        })
}

/// The person who acts: the token's subject. A request may repeat it in `field` (older callers
/// send an actor); one that names someone else is refused.
pub fn acting_subject(
    principal: &Principal,
    requested: &str,
    field: &str,
) -> Result<String, crate::grpc::FieldViolation> {
    let requested = requested.trim();
    if requested.is_empty() || requested == principal.subject {
        return Ok(principal.subject.clone());
    }
    Err(crate::grpc::FieldViolation::new(
        field,
        format!(
            "names {requested:?}, but the access token's subject is {:?}: the person who acts is \
             the one the token names (leave the field empty)",
            principal.subject
        ),
    ))
}
