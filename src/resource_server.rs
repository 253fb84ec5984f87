//! For resource servers: verifying the provider's RFC 9068 JWT access tokens without another
//! JOSE library and without a call per request.
//!
//! [`AccessTokenVerifier`] checks what RFC 9068 §4 asks of a resource server: the signature
//! by `kid` against the provider's published keys (pinned to each key's algorithm; `none`,
//! HMAC and embedded keys are never accepted), `typ` `at+jwt`, `iss` byte for byte, `aud`
//! naming this resource, and `exp`/`nbf` within a leeway. The keys come from a
//! [`JwksSource`] the host implements (an HTTP GET of the `jwks_uri`, or the [`Provider`]
//! itself in-process), cached for [`AccessTokenVerifier::with_max_age`] and fetched again
//! when a token names a key the cache does not know, at most once per
//! [`MIN_REFETCH_INTERVAL`].
//!
//! What a verifier cannot see: a JWT access token stays valid until it expires, whatever
//! happened since it was issued. Revocation, logout with `TokensAtLogout::RevokeGrants` and
//! client deletion are visible only through introspection, which finds a JWT access token
//! by its digest like an opaque one. Keep access-token lifespans short where that matters.
//!
//! [`Provider`]: crate::Provider

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::clock::{Clock, SystemClock};
use crate::jose::{JoseError, JwkSet, VerifyingKeys};
use crate::store::JsonObject;

/// The `typ` of RFC 9068 access tokens.
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The shortest time between two fetches of the key set for an unknown `kid`, so that
/// tokens with made-up key ids cannot make the verifier hammer the provider.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::seconds(10);

/// Where an [`AccessTokenVerifier`] gets the provider's JWK Set.
#[async_trait::async_trait]
pub trait JwksSource: Send + Sync + fmt::Debug {
    /// The current key set (the provider's `jwks_uri`), or why it could not be read.
    async fn fetch(&self) -> Result<JwkSet, String>;
}

/// Why a token was refused. Answer every variant but [`VerifyError::KeysUnavailable`] with
/// 401 `invalid_token` (RFC 6750 §3.1); that one is the resource server's own outage (503).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a well-formed, correctly signed `at+jwt` of a known key.
    Invalid(String),
    /// Issued by another issuer.
    WrongIssuer,
    /// Not meant for this resource: `aud` does not name it.
    WrongAudience,
    /// Expired, or not valid yet.
    Expired,
    /// The key set could not be fetched (and none is cached).
    KeysUnavailable(String),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(why) => write!(f, "invalid access token: {why}"),
            Self::WrongIssuer => f.write_str("the access token is from another issuer"),
            Self::WrongAudience => f.write_str("the access token is not for this resource"),
            Self::Expired => f.write_str("the access token is expired or not yet valid"),
            Self::KeysUnavailable(why) => write!(f, "the signing keys are unavailable: {why}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// The claims of a verified access token (RFC 9068 §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenClaims {
    /// The subject as the client sees it (pairwise or forced; the client id for client
    /// credentials).
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The granted scopes.
    pub scope: Vec<String>,
    /// The resources the token is for.
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// The token's unique id.
    pub jti: String,
    /// When the user authenticated, if a user did.
    pub auth_time: Option<i64>,
    /// The authentication context class reached, if any.
    pub acr: Option<String>,
    /// Every claim, including the consent's `ext` data.
    pub all: JsonObject,
}

/// The cached key set and when it was fetched.
#[derive(Debug)]
struct Cache {
    keys: Option<(VerifyingKeys, OffsetDateTime)>,
    last_fetch: Option<OffsetDateTime>,
}

/// Verifies the provider's JWT access tokens for one resource. Cheap to share (`Arc`); one
/// per resource server.
#[derive(Debug)]
pub struct AccessTokenVerifier {
    issuer: String,
    audience: String,
    source: Arc<dyn JwksSource>,
    clock: Arc<dyn Clock>,
    leeway: Duration,
    max_age: Duration,
    cache: Mutex<Cache>,
}

impl AccessTokenVerifier {
    /// A verifier for tokens of `issuer` (exactly as the provider's discovery names it) meant
    /// for `audience` (this resource's URI, as clients send it in `resource`). Defaults: a
    /// leeway of 60 seconds for clock skew, keys cached for 5 minutes.
    pub fn new(issuer: &str, audience: &str, source: Arc<dyn JwksSource>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            source,
            clock: Arc::new(SystemClock),
            leeway: Duration::seconds(60),
            max_age: Duration::minutes(5),
            cache: Mutex::new(Cache {
                keys: None,
                last_fetch: None,
            }),
        }
    }

    /// The clock `exp` and `nbf` are checked against (tests pass a `ManualClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The tolerated clock skew for `exp` and `nbf`.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long a fetched key set is used before it is fetched again. Keep it below the
    /// provider's key rotation period: the provider publishes its next key one period ahead,
    /// so a verifier that refreshes within a period knows every key before it signs.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Verifies `token` (the bearer string) and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<AccessTokenClaims, VerifyError> {
        let now = self.clock.now();
        let keys = self.keys(now, false).await?;
        let claims = match keys.verify_jwt_of_type(token, ACCESS_TOKEN_TYP) {
            Err(JoseError::UnknownKey) => {
                // A key published after our fetch: fetch again, once, rate-limited.
                let keys = self.keys(now, true).await?;
                keys.verify_jwt_of_type(token, ACCESS_TOKEN_TYP)
            }
            other => other,
        }
        .map_err(|e| VerifyError::Invalid(e.to_string()))?;
        self.check(claims, now)
    }

    /// The claim checks after the signature: issuer, audience, times, required claims.
    fn check(
        &self,
        all: JsonObject,
        now: OffsetDateTime,
    ) -> Result<AccessTokenClaims, VerifyError> {
        if all.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(VerifyError::WrongIssuer);
        }
        let aud = match all.get("aud") {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if !aud.contains(&self.audience) {
            return Err(VerifyError::WrongAudience);
        }
        let int = |name: &'static str| {
            all.get(name)
                .and_then(Value::as_i64)
                .ok_or_else(|| VerifyError::Invalid(format!("the {name} claim is missing")))
        };
        let text = |name: &'static str| {
            all.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| VerifyError::Invalid(format!("the {name} claim is missing")))
        };
        let (exp, iat) = (int("exp")?, int("iat")?);
        let now = now.unix_timestamp();
        let leeway = self.leeway.whole_seconds();
        let nbf = all.get("nbf").and_then(Value::as_i64).unwrap_or(iat);
        if now >= exp.saturating_add(leeway) || nbf > now.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        Ok(AccessTokenClaims {
            sub: text("sub")?,
            client_id: text("client_id")?,
            scope: text("scope")
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            aud,
            exp,
            iat,
            jti: text("jti")?,
            auth_time: all.get("auth_time").and_then(Value::as_i64),
            acr: all.get("acr").and_then(Value::as_str).map(str::to_owned),
            all,
        })
    }

    /// The key set: the cached one while fresh (and, for `unknown_kid`, unless the last fetch
    /// was under [`MIN_REFETCH_INTERVAL`] ago), else fetched. A failed fetch keeps serving
    /// the cached keys, if any.
    async fn keys(
        &self,
        now: OffsetDateTime,
        unknown_kid: bool,
    ) -> Result<VerifyingKeys, VerifyError> {
        let cached = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = cache
                .keys
                .as_ref()
                .filter(|(_, at)| now - *at < self.max_age && !unknown_kid)
                .map(|(keys, _)| keys.clone());
            if let Some(keys) = fresh {
                return Ok(keys);
            }
            let recently = cache
                .last_fetch
                .is_some_and(|at| now - at < MIN_REFETCH_INTERVAL);
            if let Some((keys, _)) = cache.keys.as_ref().filter(|_| recently) {
                return Ok(keys.clone());
            }
            cache.last_fetch = Some(now);
            cache.keys.as_ref().map(|(k, _)| k.clone())
        };
        let fetched = self
            .source
            .fetch()
            .await
            .and_then(|set| VerifyingKeys::from_jwk_set(&set).map_err(|e| e.to_string()));
        match (fetched, cached) {
            (Ok(keys), _) => {
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                cache.keys = Some((keys.clone(), now));
                Ok(keys)
            }
            (Err(_), Some(stale)) => Ok(stale),
            (Err(why), None) => Err(VerifyError::KeysUnavailable(why)),
        }
    }
}
