//! Provider configuration: issuer, URLs of the host's login/consent/error pages, lifespans and
//! policies. Everything weaker than the secure default lives under [`Dangerous`].

use std::fmt;

use time::Duration;

mod registration;

pub use crate::model::TokensAtLogout;
use crate::model::redirect_uri::is_loopback_host;
use crate::model::secret::Secret;
use crate::model::{AccessTokenStrategy, Algorithm, RsaBits};
pub use registration::{
    DynamicRegistration, InitialAccessTokens, RegistrationDecision, RegistrationHook,
    RegistrationPolicy, RegistrationRequest,
};

/// The configuration of a [`Provider`](crate::Provider).
///
/// Build it with [`Config::new`], then adjust the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The issuer identifier, used byte-for-byte in discovery, `iss` claims and the `iss`
    /// authorization response parameter.
    pub issuer: String,
    /// The host's login page; the browser arrives there with `login_challenge`.
    pub login_url: String,
    /// The host's consent page; the browser arrives there with `consent_challenge`.
    pub consent_url: String,
    /// Where errors go while the client's redirect URI is not yet trusted.
    pub error_url: String,
    /// The host's logout page; the browser arrives there with `logout_challenge`.
    pub logout_url: String,
    /// Where logout sends the browser when no relying party asked for its own
    /// `post_logout_redirect_uri`.
    pub logout_redirect_url: String,
    /// What ending a login session does to the tokens issued in it (default: keep them).
    pub tokens_at_logout: TokensAtLogout,
    /// Token, code and request lifespans.
    pub lifespans: Lifespans,
    /// The kind of access token of clients that name none (their `access_token_strategy`):
    /// opaque by default, or RFC 9068 JWTs (Hydra's `strategies.access_token`).
    pub access_token_strategy: AccessTokenStrategy,
    /// Key for HMAC-signed cookies and token signatures (at least 16 bytes).
    pub system_secret: Secret,
    /// Earlier system secrets, during a rotation (Hydra's semantics: the first secret signs
    /// and seals, all verify and open). Cookies and flow verifiers made with them stay valid,
    /// and signing keys sealed with them are re-sealed under `system_secret` at start; remove
    /// them once the longest cookie has expired.
    pub old_system_secrets: Vec<Secret>,
    /// Salt for pairwise subject identifiers; pairwise subjects are enabled when set.
    pub pairwise_salt: Option<Secret>,
    /// Render `error_debug` in error responses (never in production).
    pub share_error_debug: bool,
    /// The largest request body accepted; larger bodies get 413.
    pub max_body_bytes: usize,
    /// The largest authorization request accepted at `/oauth2/auth`: its query plus, for a
    /// POST, its form body (default 16 KiB). Every open flow stores its request, so this
    /// bounds what one anonymous request can make the store hold.
    pub max_authorization_request_bytes: usize,
    /// Origins allowed to read discovery, RFC 8414 metadata and JWKS cross-origin (exact
    /// match).
    pub discovery_cors_origins: Vec<String>,
    /// Scopes advertised in discovery and RFC 8414 metadata besides `openid` and `offline`.
    pub scopes_supported: Vec<String>,
    /// Claims advertised in discovery besides `sub`.
    pub claims_supported: Vec<String>,
    /// The userinfo URL advertised in discovery, when it is not the provider's own.
    pub userinfo_endpoint: Option<String>,
    /// Dynamic client registration (RFC 7591/7592) at `/oauth2/register`: `None` (the
    /// default) serves none, as Hydra with `oidc.dynamic_client_registration.enabled` false.
    pub dynamic_client_registration: Option<DynamicRegistration>,
    /// Accept unregistered public clients that identify themselves by a Client ID Metadata
    /// Document (draft-ietf-oauth-client-id-metadata-document, as MCP uses it): a `client_id`
    /// that is an https URL is resolved by fetching its document through the
    /// [`ClientMetadataFetcher`](crate::ClientMetadataFetcher) set on the builder, which
    /// [`ProviderBuilder::build`](crate::ProviderBuilder::build) then requires. The metadata
    /// advertises `client_id_metadata_document_supported`. Default: off.
    pub client_id_metadata_documents: bool,
    /// The signing keys: algorithms, RSA size, scheduled rotation.
    pub keys: KeyConfig,
    /// Opt-outs from secure defaults. Each one weakens the server.
    pub dangerous: Dangerous,
}

/// The provider's signing keys. Each enabled algorithm has an active key (signs) and a next
/// key (published ahead); rotation promotes the next key, and the retired one stays published
/// until every token it signed has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyConfig {
    /// The algorithms the provider signs with, listed in discovery in this order; the first
    /// is the default of clients that name none. Default: ES256 and EdDSA. RS256 and PS256
    /// need the `rsa` feature; OpenID Connect certification requires RS256.
    pub algorithms: Vec<Algorithm>,
    /// The modulus size of generated RSA keys (default 2048 bits).
    pub rsa_bits: RsaBits,
    /// Scheduled rotation: rotate an algorithm's keys once its active key has signed this
    /// long, at the next [`Provider::maintain_keys`](crate::Provider::maintain_keys) call.
    /// Empty (the default): only [`Provider::rotate_keys`](crate::Provider::rotate_keys) rotates.
    pub rotation_periods: Vec<(Algorithm, Duration)>,
    /// Allowed clock difference between the provider and relying parties; a retired key stays
    /// published this much longer than its tokens live (default 5 minutes).
    pub clock_leeway: Duration,
    /// How old a provider's view of the key set may get before signing reloads it, so that an
    /// instance sharing the store with one that rotated stops signing with a retired key
    /// (default 30 seconds; removal of retired keys waits this long too).
    pub refresh_interval: Duration,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA],
            rsa_bits: RsaBits::default(),
            rotation_periods: Vec::new(),
            clock_leeway: Duration::minutes(5),
            refresh_interval: Duration::seconds(30),
        }
    }
}

impl KeyConfig {
    /// The algorithm of clients that name none: the first enabled one.
    pub(crate) fn default_algorithm(&self) -> Algorithm {
        self.algorithms.first().copied().unwrap_or(Algorithm::ES256)
    }

    /// The algorithm of `client`'s ID tokens (and logout tokens).
    pub(crate) fn id_token_alg(&self, client: &crate::model::client::Client) -> Algorithm {
        client
            .id_token_signed_response_alg
            .unwrap_or(self.default_algorithm())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError("keys.algorithms must not be empty".into()));
        }
        for (i, alg) in self.algorithms.iter().enumerate() {
            if !alg.is_compiled() {
                return Err(ConfigError(format!(
                    "keys.algorithms: {alg} needs the `rsa` feature of oauth2-provider"
                )));
            }
            if self.algorithms[..i].contains(alg) {
                return Err(ConfigError(format!("keys.algorithms lists {alg} twice")));
            }
        }
        for (alg, period) in &self.rotation_periods {
            if !self.algorithms.contains(alg) {
                return Err(ConfigError(format!(
                    "keys.rotation_periods names {alg}, which is not in keys.algorithms"
                )));
            }
            check_lifespan(&format!("{alg} key rotation period"), *period)?;
        }
        for (name, d) in [
            ("keys.clock_leeway", self.clock_leeway),
            ("keys.refresh_interval", self.refresh_interval),
        ] {
            if d.is_negative() || d > MAX_LIFESPAN {
                return Err(ConfigError(format!(
                    "{name} must be between 0 and 10 years"
                )));
            }
        }
        Ok(())
    }
}

/// Lifespans of codes, tokens, login/consent requests and sessions. [`Config::validate`]
/// requires each to be positive and at most [`MAX_LIFESPAN`] (ten years).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lifespans {
    /// Access tokens (default 1 h).
    pub access_token: Duration,
    /// ID tokens, also when refreshed (default 1 h).
    pub id_token: Duration,
    /// Authorization codes (default 10 min).
    pub auth_code: Duration,
    /// Refresh tokens; `None` never expires (default 30 days).
    pub refresh_token: Option<Duration>,
    /// Login and consent requests, from the authorization request to the verifier's
    /// return (default 30 min).
    pub login_consent_request: Duration,
    /// The longest a remembered login session lasts, also when `remember_for` is 0
    /// (default 30 days).
    pub login_session: Duration,
}

impl Default for Lifespans {
    fn default() -> Self {
        Self {
            access_token: Duration::hours(1),
            id_token: Duration::hours(1),
            auth_code: Duration::minutes(10),
            refresh_token: Some(Duration::days(30)),
            login_consent_request: Duration::minutes(30),
            login_session: Duration::days(30),
        }
    }
}

/// Opt-outs from secure defaults, spelled so they stand out in review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dangerous {
    /// Allow a plain-`http` issuer on a non-loopback host (TLS terminated elsewhere).
    pub allow_http_issuer: bool,
    /// Let the JSON Web Key API (`GET /keys/…`) return private key material, as Hydra does.
    /// Off, private members never leave the provider; anyone with the admin API could
    /// otherwise copy the signing keys.
    pub expose_private_keys: bool,
    /// Also accept `http://127.0.0.1:PORT/…` and `http://[::1]:PORT/…` as Client ID Metadata
    /// Document URLs, which the draft's SSRF section allows only for development with the
    /// server itself on loopback: for tests of clients on one machine, never in production.
    /// The fetcher must be told to reach loopback as well.
    pub http_loopback_client_metadata: bool,
}

/// A configuration value was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// A configuration for `issuer` with secure defaults and a random system secret.
    ///
    /// The login, consent, error and logout URLs default to the built-in fallback pages
    /// under the issuer (`/oauth2/fallbacks/…`); set them to the host's own pages.
    pub fn new(issuer: &str) -> Result<Self, ConfigError> {
        let base = issuer.trim_end_matches('/');
        let config = Self {
            issuer: issuer.to_owned(),
            login_url: format!("{base}/oauth2/fallbacks/consent"),
            consent_url: format!("{base}/oauth2/fallbacks/consent"),
            error_url: format!("{base}/oauth2/fallbacks/error"),
            logout_url: format!("{base}/oauth2/fallbacks/consent"),
            logout_redirect_url: format!("{base}/oauth2/fallbacks/logout"),
            tokens_at_logout: TokensAtLogout::default(),
            lifespans: Lifespans::default(),
            access_token_strategy: AccessTokenStrategy::default(),
            system_secret: Secret::generate(),
            old_system_secrets: Vec::new(),
            pairwise_salt: None,
            share_error_debug: false,
            max_body_bytes: 64 * 1024,
            max_authorization_request_bytes: 16 * 1024,
            discovery_cors_origins: Vec::new(),
            scopes_supported: Vec::new(),
            claims_supported: Vec::new(),
            userinfo_endpoint: None,
            client_id_metadata_documents: false,
            keys: KeyConfig::default(),
            dynamic_client_registration: None,
            dangerous: Dangerous::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the whole configuration; [`ProviderBuilder::build`](crate::ProviderBuilder::build)
    /// calls it again.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.issuer).map_err(|e| {
            ConfigError(format!(
                "issuer {:?} is not an absolute URL: {e}",
                self.issuer
            ))
        })?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(ConfigError(
                "issuer must not have a query or fragment".into(),
            ));
        }
        match issuer.scheme() {
            "https" => {}
            "http" if self.dangerous.allow_http_issuer || is_loopback_host(&issuer) => {}
            "http" => {
                return Err(ConfigError(
                    "an http issuer is only allowed on a loopback host (set dangerous.allow_http_issuer to override)".into(),
                ));
            }
            other => {
                return Err(ConfigError(format!(
                    "issuer scheme {other:?} is not http(s)"
                )));
            }
        }
        for (name, value) in [
            ("login_url", &self.login_url),
            ("consent_url", &self.consent_url),
            ("error_url", &self.error_url),
            ("logout_url", &self.logout_url),
            ("logout_redirect_url", &self.logout_redirect_url),
        ] {
            url::Url::parse(value).map_err(|e| {
                ConfigError(format!("{name} {value:?} is not an absolute URL: {e}"))
            })?;
        }
        if self.system_secrets().any(|secret| secret.len() < 16) {
            return Err(ConfigError(
                "system secret must be at least 16 bytes".into(),
            ));
        }
        if let Some(salt) = &self.pairwise_salt {
            if salt.expose().len() < 8 {
                return Err(ConfigError("pairwise salt must be at least 8 bytes".into()));
            }
        }
        let l = &self.lifespans;
        for (name, d) in [
            ("access token", l.access_token),
            ("ID token", l.id_token),
            ("authorization code", l.auth_code),
            ("login/consent request", l.login_consent_request),
            ("login session", l.login_session),
        ] {
            check_lifespan(name, d)?;
        }
        if let Some(d) = l.refresh_token {
            check_lifespan("refresh token", d)?;
        }
        self.keys.validate()?;
        if self.max_body_bytes == 0 {
            return Err(ConfigError("max_body_bytes must be positive".into()));
        }
        if self.max_authorization_request_bytes == 0 {
            return Err(ConfigError(
                "max_authorization_request_bytes must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Whether cookies get the `Secure` attribute: when the issuer is https.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https:")
    }

    /// The issuer without a trailing slash, to which endpoint paths are appended.
    pub(crate) fn base_url(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// The issuer's path as written, without its terminating `/`: `""` for
    /// `https://auth.example.com/`, `/tenant1` for `https://auth.example.com/tenant1/`. RFC 8414
    /// §3.1 inserts the well-known suffix between the host and this path.
    pub(crate) fn issuer_path(&self) -> &str {
        let base = self.base_url();
        // Found bytewise: the router asks on every request, and a substring search's set-up
        // cost more than the rest of routing.
        let authority_and_path = base
            .as_bytes()
            .windows(3)
            .position(|w| w == b"://")
            .map_or(base, |at| &base[at + 3..]);
        authority_and_path
            .find('/')
            .map_or("", |start| &authority_and_path[start..])
    }

    /// Every system secret, the current one first.
    pub(crate) fn system_secrets(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&self.system_secret)
            .chain(&self.old_system_secrets)
            .map(Secret::expose)
    }

    /// Whether pairwise subject identifiers are enabled.
    pub(crate) fn pairwise_enabled(&self) -> bool {
        self.pairwise_salt.is_some()
    }

    /// The scopes the metadata advertises (`scopes_supported`): `offline_access`, `offline`,
    /// `openid`, then [`Config::scopes_supported`]. Also what a client of a Client ID Metadata
    /// Document may request at most.
    pub(crate) fn advertised_scopes(&self) -> Vec<&str> {
        let mut scopes = vec!["offline_access", "offline", "openid"];
        scopes.extend(self.scopes_supported.iter().map(String::as_str));
        scopes
    }

    /// The rules a client must pass, registered or described by a metadata document.
    pub(crate) fn registration_policy(&self) -> crate::model::registration::Policy<'_> {
        crate::model::registration::Policy {
            pairwise_enabled: self.pairwise_enabled(),
            signing_algorithms: &self.keys.algorithms,
        }
    }
}

/// The longest lifespan [`Config::validate`] accepts: ten years. Expiry instants are the
/// current time plus a lifespan; the bound keeps them far inside what `time` represents (and
/// what SQL timestamps hold). A refresh token that should never expire has `None`.
pub const MAX_LIFESPAN: Duration = Duration::days(3653);

/// A lifespan is positive and at most [`MAX_LIFESPAN`].
fn check_lifespan(name: &str, d: Duration) -> Result<(), ConfigError> {
    if d <= Duration::ZERO {
        return Err(ConfigError(format!("{name} lifespan must be positive")));
    }
    if d > MAX_LIFESPAN {
        return Err(ConfigError(format!(
            "{name} lifespan must be at most 10 years (3653 days), not {} days",
            d.whole_days()
        )));
    }
    Ok(())
}

/// Parses a Hydra-style duration such as `1h`, `10m`, `30s`, `1h30m` or `720h`.
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let err = || ConfigError(format!("{text:?} is not a duration like 1h, 10m or 30s"));
    if text.is_empty() {
        return Err(err());
    }
    let mut total = Duration::ZERO;
    let mut digits = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms"
        } else {
            match c {
                'h' => "h",
                'm' => "m",
                's' => "s",
                _ => return Err(err()),
            }
        };
        let n: i64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        // `Duration::hours` and `minutes` panic past `i64::MAX` seconds: multiply checked.
        let part = match unit {
            "h" => n.checked_mul(3600).map(Duration::seconds),
            "m" => n.checked_mul(60).map(Duration::seconds),
            "s" => Some(Duration::seconds(n)),
            _ => Some(Duration::milliseconds(n)),
        }
        .ok_or_else(err)?;
        total = total.checked_add(part).ok_or_else(err)?;
    }
    if !digits.is_empty() {
        return Err(err());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_hydra() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::hours(1));
        assert_eq!(parse_duration("10m").unwrap(), Duration::minutes(10));
        assert_eq!(parse_duration("1h30m15s").unwrap(), Duration::seconds(5415));
        assert_eq!(
            parse_duration("250ms").unwrap(),
            Duration::milliseconds(250)
        );
        for bad in [
            "",
            "10",
            "h",
            "1d",
            "-1h",
            "1.5h",
            "99999999999999999999h",
            // Fit an i64, but not once in seconds: these panicked in `Duration::hours`.
            "9223372036854775807h",
            "999999999999999999m",
            "9223372036854775807s1s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn issuer_rules() {
        assert!(Config::new("https://auth.example.com/").is_ok());
        assert!(Config::new("http://127.0.0.1:4444/").is_ok());
        assert!(Config::new("http://localhost:4444").is_ok());
        assert!(Config::new("http://auth.example.com/").is_err());
        assert!(Config::new("https://auth.example.com/?x=1").is_err());
        assert!(Config::new("not a url").is_err());
        assert!(Config::new("ftp://auth.example.com/").is_err());
    }

    #[test]
    fn issuer_path_is_the_path_as_written_without_its_terminating_slash() {
        for (issuer, path) in [
            ("https://auth.example.com/", ""),
            ("https://auth.example.com", ""),
            ("http://127.0.0.1:4444/", ""),
            ("https://auth.example.com/tenant1", "/tenant1"),
            ("https://auth.example.com/tenant1/", "/tenant1"),
            ("https://auth.example.com/a/t%20b", "/a/t%20b"),
        ] {
            assert_eq!(Config::new(issuer).unwrap().issuer_path(), path, "{issuer}");
        }
    }

    #[test]
    fn lifespans_are_bounded() {
        let base = Config::new("https://auth.example.com/").unwrap();
        let huge = [Duration::MAX, MAX_LIFESPAN + Duration::SECOND];
        let setters: [fn(&mut Lifespans, Duration); 6] = [
            |l, d| l.access_token = d,
            |l, d| l.id_token = d,
            |l, d| l.auth_code = d,
            |l, d| l.refresh_token = Some(d),
            |l, d| l.login_consent_request = d,
            |l, d| l.login_session = d,
        ];
        for set in setters {
            for d in huge.into_iter().chain([Duration::ZERO, Duration::MIN]) {
                let mut config = base.clone();
                set(&mut config.lifespans, d);
                let err = config.validate().unwrap_err();
                assert!(err.0.contains("lifespan must be"), "{err}");
            }
            let mut config = base.clone();
            set(&mut config.lifespans, MAX_LIFESPAN);
            assert!(config.validate().is_ok());
        }
    }

    #[test]
    fn short_system_secret_is_rejected() {
        let mut config = Config::new("https://auth.example.com/").unwrap();
        config.system_secret = Secret::new(b"too short".to_vec());
        assert!(config.validate().is_err());
    }
}
