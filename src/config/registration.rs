//! Dynamic client registration settings (RFC 7591, managed by RFC 7592): who may register a
//! client at `POST /oauth2/register`, and the host's hook that reviews each registration.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::ConfigError;
use crate::error::OAuthError;
use crate::model::client::Client;

/// Dynamic client registration (RFC 7591) at `POST /oauth2/register`, and its management
/// (RFC 7592) at `GET|PUT|DELETE /oauth2/register/{id}` with the registration access token
/// the registration returned: Hydra v2's `oidc.dynamic_client_registration`. Off unless
/// [`Config::dynamic_client_registration`](crate::Config::dynamic_client_registration) is set;
/// discovery then advertises the `registration_endpoint`.
///
/// A dynamically registered client passes the rules of the admin API
/// ([`model::client`](crate::model::client)); in addition its `client_id` is always
/// generated and its secret too (one sent is refused), and metadata this server does not
/// know is ignored (RFC 7591 §2).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DynamicRegistration {
    /// Who may register.
    pub policy: RegistrationPolicy,
    /// The scope of a client that registers none (Hydra's
    /// `oidc.dynamic_client_registration.default_scope`; default: `offline_access offline
    /// openid`). A client may register any scope it names: RFC 7591 has no allow-list of
    /// scopes, so restrict them in a [`RegistrationHook`] when that matters.
    pub default_scope: Vec<String>,
}

impl DynamicRegistration {
    /// Registration under `policy`, with Hydra's default scope.
    pub fn new(policy: RegistrationPolicy) -> Self {
        Self {
            policy,
            default_scope: ["offline_access", "offline", "openid"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Who may register a client dynamically.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RegistrationPolicy {
    /// Anyone who can reach the public API (RFC 7591 §3: "open registration").
    Open,
    /// Only a request with one of the host's initial access tokens as its bearer token
    /// (RFC 7591 §3); without one, or with another, 401 `invalid_token`.
    InitialAccessToken(InitialAccessTokens),
    /// The host's [`RegistrationHook`] sees every create and update request and approves,
    /// edits or refuses it (so it can also rate-limit, authenticate or restrict scopes).
    Hook(Arc<dyn RegistrationHook>),
}

/// The initial access tokens the host accepts. Only their SHA-256 digests are kept, and a
/// presented token is compared with each in constant time.
#[derive(Clone)]
pub struct InitialAccessTokens {
    digests: Vec<[u8; 32]>,
}

/// Shortest initial access token accepted: it must resist guessing like a client secret.
const MIN_TOKEN_LEN: usize = 16;

impl InitialAccessTokens {
    /// The accepted tokens: at least one, each at least 16 characters long.
    pub fn new<I, S>(tokens: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut digests = Vec::new();
        for token in tokens {
            let token = token.as_ref();
            if token.chars().count() < MIN_TOKEN_LEN {
                return Err(ConfigError(format!(
                    "an initial access token must be at least {MIN_TOKEN_LEN} characters long"
                )));
            }
            digests.push(crate::crypto::sha256(token.as_bytes()));
        }
        if digests.is_empty() {
            return Err(ConfigError(
                "the initial access token policy needs at least one token".into(),
            ));
        }
        Ok(Self { digests })
    }

    /// Whether `presented` is one of the tokens (every digest is compared, in constant time).
    pub(crate) fn accepts(&self, presented: &str) -> bool {
        let digest = crate::crypto::sha256(presented.as_bytes());
        self.digests.iter().fold(false, |found, d| {
            found | crate::crypto::constant_time_eq(d, &digest)
        })
    }
}

/// Redacted: the digests are not secrets, but nothing about the tokens belongs in a log.
impl fmt::Debug for InitialAccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InitialAccessTokens({} tokens)", self.digests.len())
    }
}

/// The host's review of dynamic registrations ([`RegistrationPolicy::Hook`]). It runs on each
/// create (`POST /oauth2/register`) and update (`PUT /oauth2/register/{id}`, after the
/// registration access token was checked), before the admin API's rules are applied to the
/// metadata it approves, and before anything is stored.
#[async_trait::async_trait]
pub trait RegistrationHook: Send + Sync + fmt::Debug {
    /// Decides on one registration request.
    async fn review(&self, request: RegistrationRequest<'_>) -> RegistrationDecision;
}

/// A registration the [`RegistrationHook`] reviews.
#[derive(Debug)]
#[non_exhaustive]
pub struct RegistrationRequest<'a> {
    /// The HTTP request as the host handed it to the public API: method, URI, headers (an
    /// `Authorization` header of the host's own scheme, a forwarded address) and extensions
    /// (where a server puts the peer's address), for authentication and rate limiting.
    pub http: &'a http::Request<Bytes>,
    /// The client being updated; `None` on create.
    pub client_id: Option<&'a str>,
    /// The submitted metadata (unknown fields already dropped; no secret, and on create no
    /// `client_id` yet).
    pub metadata: &'a Client,
}

/// What a [`RegistrationHook`] decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum RegistrationDecision {
    /// Register the metadata as submitted.
    Approve,
    /// Register this metadata instead (RFC 7591 §3.2.1: the server may replace requested
    /// values); it must still pass the rules, and its `client_id` is ignored.
    ApproveWith(Box<Client>),
    /// Refuse with this error, rendered as Hydra's error JSON with its status: e.g.
    /// `OAuthError::new("invalid_client_metadata", …, 400)`, or 429 to rate-limit.
    Refuse(OAuthError),
}
