//! The authorization flow: request validation, Hydra's login and consent state machine, and
//! the authorization response.
//!
//! A browser arrives at `/oauth2/auth` ([`request`] validates it), is sent to the host's login
//! page with a login challenge ([`login`]), comes back with a login verifier, is sent to the
//! consent page with a consent challenge ([`consent`]), comes back with a consent verifier, and
//! finally gets its code or tokens ([`issue`], rendered by [`response`]).
//!
//! Challenges are random 128-bit ids. Verifiers are `op_vf_` + HMAC-SHA256 of the challenge
//! under a key derived from the system secret and a purpose label, so a login verifier is never
//! a consent verifier and neither can be computed from a challenge; stores keep only their
//! SHA-256. Each flow binds the browser with its own signed CSRF cookie named after the
//! challenge, so two flows in one browser never disturb each other; a browser keeps at most
//! [`MAX_CSRF_COOKIES`] of them, so abandoned flows cannot grow its `Cookie` header without
//! bound. With an https issuer every cookie name carries the `__Host-` prefix
//! ([`crate::http::cookies::name`]).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use http::StatusCode;

use time::OffsetDateTime;

use crate::context::counters::{self, FlowCounters};
use crate::context::{ClientLookupError, ClientSource, Context};
use crate::error::{Error, ErrorCode, OAuthError, StoreError};
use crate::flow::request::AuthorizeRequest;
use crate::http::Request;
use crate::store::RejectedRequest;

pub(crate) mod backchannel;
pub(crate) mod consent;
mod half;
pub(crate) mod issue;
pub(crate) mod login;
pub(crate) mod logout;
mod models;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod subject;

pub use backchannel::{DeliveryReport, LogoutNotifier};
pub use models::{
    AcceptConsentRequest, AcceptLoginRequest, CompletedRequest, ConsentRequest,
    ConsentRequestSession, LoginRequest, LogoutRequest, RejectRequest,
};

/// The login-session cookie's name before [`crate::http::cookies::name`] prefixes it; its
/// value is the login session id (the logout endpoint reads it).
const SESSION_COOKIE: &str = "oauth2_authentication_session";

/// The name of the login-session cookie of this provider: `__Host-oauth2_authentication_session`
/// with an https issuer, `oauth2_authentication_session` with an http one.
pub(crate) fn session_cookie(config: &crate::config::Config) -> String {
    crate::http::cookies::name(SESSION_COOKIE, config.secure_cookies())
}

/// The most per-flow CSRF cookies one browser holds. Each is about 140 bytes and lives as
/// long as its request (`Lifespans::login_consent_request`); without a bound, abandoned flows
/// would pile up and push the `Cookie` header past what proxies accept (often 4–8 KiB), so
/// starting a flow expires the oldest beyond this. The flow that loses its cookie fails with
/// `request_forbidden` if it ever returns: this many flows can run in parallel in one browser.
pub(crate) const MAX_CSRF_COOKIES: usize = 5;

/// Which half of the flow a challenge, verifier or CSRF cookie belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Login,
    Consent,
    Logout,
}

impl Stage {
    /// Counts one more request of this stage in `counters` (started or completed).
    fn count(self, counters: &FlowCounters) {
        counters::bump(match self {
            Stage::Login => &counters.login,
            Stage::Consent => &counters.consent,
            Stage::Logout => &counters.logout,
        });
    }

    fn label(self) -> &'static [u8] {
        match self {
            Stage::Login => b"login",
            Stage::Consent => b"consent",
            Stage::Logout => b"logout",
        }
    }

    /// How this stage's CSRF cookie names start, before [`crate::http::cookies::name`].
    fn csrf_prefix(self) -> &'static str {
        match self {
            Stage::Login => "oauth2_authentication_csrf_",
            Stage::Consent => "oauth2_consent_csrf_",
            Stage::Logout => "oauth2_logout_csrf_",
        }
    }

    /// The name of the per-flow CSRF cookie for `challenge` (`secure`: an https issuer).
    pub(crate) fn csrf_cookie(self, challenge: &str, secure: bool) -> String {
        let digest = crate::crypto::sha256_hex(challenge.as_bytes());
        let base = format!("{}{}", self.csrf_prefix(), &digest[..16]);
        crate::http::cookies::name(&base, secure)
    }

    /// The host's page for this stage, and the query parameter that carries the challenge
    /// there.
    fn page(self, config: &crate::config::Config) -> (&str, &'static str) {
        match self {
            Stage::Login => (&config.login_url, "login_challenge"),
            Stage::Consent => (&config.consent_url, "consent_challenge"),
            Stage::Logout => (&config.logout_url, "logout_challenge"),
        }
    }

    /// The query parameter that carries this stage's verifier back to `/oauth2/auth`.
    pub(crate) fn verifier_param(self) -> &'static str {
        match self {
            Stage::Login => "login_verifier",
            Stage::Consent => "consent_verifier",
            Stage::Logout => "logout_verifier",
        }
    }

    /// The name of the request for error messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Stage::Login => "login request",
            Stage::Consent => "consent request",
            Stage::Logout => "logout request",
        }
    }
}

/// The verifier of `challenge` at `stage`: unguessable without the system secret and bound
/// to its stage.
pub(crate) fn verifier(p: &Context, stage: Stage, challenge: &str) -> String {
    verifier_under(p.config.system_secret.expose(), stage, challenge)
}

/// The verifier of a stored request: the one whose digest it keeps, made with whichever system
/// secret was current when the request started (a rotation may have happened since).
pub(crate) fn stored_verifier(p: &Context, stage: Stage, challenge: &str, digest: &str) -> String {
    p.config
        .system_secrets()
        .map(|secret| verifier_under(secret, stage, challenge))
        .find(|verifier| crate::token::signature(verifier) == digest)
        .unwrap_or_else(|| verifier(p, stage, challenge))
}

fn verifier_under(secret: &[u8], stage: Stage, challenge: &str) -> String {
    let key = crate::crypto::derive_key(secret, b"oauth2-provider flow verifier v1");
    let mac = crate::crypto::hmac_sha256(&key, &[stage.label(), &[0], challenge.as_bytes()]);
    let mut token = String::from(crate::token::CredentialKind::Verifier.prefix());
    URL_SAFE_NO_PAD.encode_string(mac, &mut token);
    token
}

/// Where [`with_params`] puts its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlPart {
    /// After the query `url` already has, before its fragment.
    Query,
    /// As the fragment (registered redirect URIs never have one of their own).
    Fragment,
}

/// `url` with `params` urlencoded into its query or its fragment.
pub(crate) fn with_params<K, V>(url: &str, part: UrlPart, params: &[(K, V)]) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let (base, fragment) = match (part, url.split_once('#')) {
        (UrlPart::Query, Some((base, fragment))) => (base, Some(fragment)),
        _ => (url, None),
    };
    let mut out = String::with_capacity(url.len() + 2 + encoded.len());
    out.push_str(base);
    match part {
        UrlPart::Fragment => out.push('#'),
        UrlPart::Query if !base.contains('?') => out.push('?'),
        UrlPart::Query if !base.ends_with('?') && !base.ends_with('&') => out.push('&'),
        UrlPart::Query => {}
    }
    out.push_str(&encoded);
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The typed-API error for a login, consent or logout request past its lifespan: 410 Gone,
/// because the request existed but can never be completed; the flow must restart.
pub(crate) fn expired_error(stage: Stage) -> Error {
    Error::OAuth(OAuthError {
        description: format!(
            "The {} has expired; the authorization flow must be restarted.",
            stage.noun()
        )
        .into(),
        ..OAuthError::request_expired("")
    })
}

/// `Set-Cookie` values gathered while handling one request; attached to whatever response
/// (success or error) the request ends with.
#[derive(Debug, Default)]
pub(crate) struct SetCookies {
    values: Vec<HeaderValue>,
    /// The names this response deletes.
    cleared: BTreeSet<String>,
}

impl SetCookies {
    /// Adds a cookie.
    pub(crate) fn push(&mut self, cookie: HeaderValue) {
        self.values.push(cookie);
    }

    /// Deletes the cookie `name` in the browser.
    pub(crate) fn clear(&mut self, name: &str, secure: bool) {
        if self.cleared.insert(name.to_owned()) {
            self.values.push(crate::http::cookies::clear(name, secure));
        }
    }

    /// Attaches the cookies to `res`.
    pub(crate) fn apply(self, mut res: crate::http::Response) -> crate::http::Response {
        for cookie in self.values {
            res.headers_mut().append(http::header::SET_COOKIE, cookie);
        }
        res
    }
}

/// Before a new flow sets its CSRF cookie: deletes the oldest CSRF cookies this browser sent
/// (by the expiry their signed values carry; this response's deletions aside), so that with
/// the new one it holds at most [`MAX_CSRF_COOKIES`].
pub(crate) fn evict_csrf_cookies(p: &Context, req: &Request, cookies: &mut SetCookies) {
    let secure = p.config.secure_cookies();
    let prefixes = [Stage::Login, Stage::Consent, Stage::Logout]
        .map(|stage| crate::http::cookies::name(stage.csrf_prefix(), secure));
    let mut held: BTreeMap<&str, i64> = BTreeMap::new();
    for (name, value) in crate::http::cookies::request_cookies(req) {
        if cookies.cleared.contains(name) || !prefixes.iter().any(|p| name.starts_with(p.as_str()))
        {
            continue;
        }
        let expiry = crate::http::cookies::signed_expiry(value).unwrap_or(i64::MIN);
        let latest = held.entry(name).or_insert(expiry);
        *latest = (*latest).max(expiry);
    }
    let Some(excess) = (held.len() + 1).checked_sub(MAX_CSRF_COOKIES) else {
        return;
    };
    let mut oldest_first: Vec<(i64, &str)> = held
        .into_iter()
        .map(|(name, expiry)| (expiry, name))
        .collect();
    oldest_first.sort_unstable();
    for (_, name) in oldest_first.into_iter().take(excess) {
        cookies.clear(name, secure);
    }
}

/// Ends the login sessions `which` names, queuing their back-channel deliveries in the same
/// store call: the one way a session ends (logout, a fresh login replacing it, the admin API).
pub(crate) async fn end_sessions(
    p: &Context,
    which: crate::store::SessionsToEnd<'_>,
) -> Result<Vec<crate::store::EndedSession>, StoreError> {
    let ended = p
        .store
        .end_login_sessions(which, p.now(), p.config.tokens_at_logout)
        .await?;
    if !ended.is_empty() {
        crate::trace::event!(INFO, sessions = ended.len(), "login sessions ended");
    }
    Ok(ended)
}

/// Fails unless a login or consent request can still be answered: not expired (410) and not
/// answered before (409).
pub(crate) fn check_open(
    stage: Stage,
    expires_at: OffsetDateTime,
    handled: bool,
    now: OffsetDateTime,
) -> Result<(), Error> {
    if handled {
        return Err(already_handled(stage));
    }
    if expires_at <= now {
        return Err(expired_error(stage));
    }
    Ok(())
}

fn already_handled(stage: Stage) -> Error {
    Error::Conflict(format!("The {} was already handled.", stage.noun()).into())
}

/// The client of a login or consent request as the login and consent pages see it: without
/// its secret, and, when it is not registered, the URL of the metadata document that
/// describes it (its id), so that the page can say so. A client deleted since the request
/// was made, or whose document is no longer accepted, is [`Error::NotFound`].
pub(crate) async fn client_for_page(
    p: &Context,
    client_id: &str,
) -> Result<(crate::Client, Option<String>), Error> {
    match p.resolve_client(client_id).await {
        Ok((record, source)) => Ok((
            record.client.without_secret(),
            (source == ClientSource::MetadataDocument).then(|| client_id.to_owned()),
        )),
        Err(ClientLookupError::NotFound | ClientLookupError::Refused(_)) => {
            Err(Error::NotFound("client"))
        }
        Err(ClientLookupError::Store(other)) => Err(Error::Store(other)),
    }
}

/// Maps the store's answer to loading or handling a request onto the typed API's errors.
pub(crate) fn request_store_error(stage: Stage, e: StoreError) -> Error {
    match e {
        StoreError::NotFound => Error::NotFound(stage.noun()),
        StoreError::Conflict | StoreError::AlreadyUsed => already_handled(stage),
        other => Error::Store(other),
    }
}

/// Checks a reject body and turns it into the stored rejection. An empty `error` means
/// `access_denied` (the user refused: what FAPI and the conformance suite expect; Hydra
/// beta.8 defaulted to `invalid_request`).
pub(crate) fn rejected_request(body: RejectRequest) -> Result<RejectedRequest, Error> {
    if !body
        .error
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(Error::BadRequest(
            "error must consist of letters, digits, '_', '-' and '.'.".into(),
        ));
    }
    if body.status_code != 0 && !(400..=599).contains(&body.status_code) {
        return Err(Error::BadRequest(
            "status_code must be an HTTP error status (400-599).".into(),
        ));
    }
    let error = if body.error.is_empty() {
        ErrorCode::AccessDenied
    } else {
        ErrorCode::from(body.error)
    };
    Ok(RejectedRequest {
        error,
        error_description: body.error_description,
        error_hint: body.error_hint,
        error_debug: body.error_debug,
        status_code: body.status_code,
    })
}

/// The OAuth error a rejection delivers to the client.
pub(crate) fn rejection_error(r: &RejectedRequest) -> OAuthError {
    let denied = r.error == ErrorCode::AccessDenied;
    let status = StatusCode::from_u16(r.status_code)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(if denied {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        });
    let description = if r.error_description.is_empty() && denied {
        OAuthError::access_denied("").description
    } else {
        r.error_description.clone().into()
    };
    let mut err =
        OAuthError::new(r.error.clone(), description, status).with_hint(r.error_hint.clone());
    if !r.error_debug.is_empty() {
        err = err.with_debug(&r.error_debug);
    }
    err
}

/// Maps the failure to consume a returning verifier: unknown → `access_denied`, used before
/// → `invalid_request`.
pub(crate) fn verifier_error(stage: Stage, e: StoreError) -> OAuthError {
    match e {
        StoreError::NotFound => {
            crate::trace::event!(WARN, stage = stage.noun(), "unknown verifier");
            OAuthError::access_denied(format!("The {} is unknown.", stage.verifier_param()))
        }
        StoreError::AlreadyUsed | StoreError::Conflict => {
            crate::trace::event!(WARN, stage = stage.noun(), "verifier reused");
            OAuthError::invalid_request(format!(
                "The {} has already been used.",
                stage.verifier_param()
            ))
        }
        other => OAuthError::store_failure(other),
    }
}

/// What a returning verifier is checked against: the request it was issued for.
#[derive(Debug)]
pub(crate) struct Pending<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) request_url: &'a str,
    pub(crate) challenge: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) expires_at: OffsetDateTime,
}

/// Checks a returning verifier's request: it belongs to this very authorization request
/// (same client, same parameters: `invalid_request`), has not expired
/// (`request_unauthorized`), and this browser holds its CSRF cookie (`request_forbidden`).
pub(crate) fn check_return(
    p: &Context,
    req: &Request,
    areq: &AuthorizeRequest,
    stage: Stage,
    pending: Pending<'_>,
    cookies: &mut SetCookies,
) -> Result<(), OAuthError> {
    let original = pending
        .request_url
        .split_once('?')
        .map(|(_, q)| crate::http::params::Params::parse(q.as_bytes()))
        .unwrap_or_default();
    if pending.client_id != areq.client.client_id
        || request::fingerprint(&original) != areq.fingerprint
    {
        crate::trace::event!(WARN,
            client_id = %areq.client.client_id,
            stage = stage.noun(),
            "verifier mismatch: it belongs to another authorization request"
        );
        return Err(OAuthError::invalid_request(
            "The verifier belongs to another authorization request.",
        ));
    }
    if pending.expires_at <= p.now() {
        return Err(OAuthError::request_unauthorized(format!(
            "The {} has expired; start the authorization again.",
            stage.noun()
        )));
    }
    check_csrf(p, req, stage, pending.challenge, pending.csrf, cookies)
}

/// The `Set-Cookie` binding a new login or consent request to this browser.
pub(crate) fn csrf_cookie(
    p: &Context,
    stage: Stage,
    challenge: &str,
    csrf: &str,
    now: OffsetDateTime,
    expires: OffsetDateTime,
) -> HeaderValue {
    let secure = p.config.secure_cookies();
    p.cookie_key.set(
        &stage.csrf_cookie(challenge, secure),
        csrf,
        now,
        expires,
        true,
        p.config.secure_cookies(),
    )
}

/// Checks (and clears) the CSRF cookie of a returning verifier: `request_forbidden` unless
/// the browser holds the cookie of this very request.
pub(crate) fn check_csrf(
    p: &Context,
    req: &Request,
    stage: Stage,
    challenge: &str,
    expected: &str,
    cookies: &mut SetCookies,
) -> Result<(), OAuthError> {
    let secure = p.config.secure_cookies();
    let name = stage.csrf_cookie(challenge, secure);
    let presented = p.cookie_key.read(req, &name, p.now());
    cookies.clear(&name, secure);
    match presented {
        Some(value) if crate::crypto::constant_time_eq(value.as_bytes(), expected.as_bytes()) => {
            Ok(())
        }
        _ => {
            crate::trace::event!(
                WARN,
                stage = stage.noun(),
                "CSRF cookie missing or mismatched"
            );
            Err(OAuthError::request_forbidden(format!(
                "The CSRF cookie of this {} is missing or does not match; the flow must run in one browser.",
                stage.noun()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_params_keeps_existing_query_and_encodes() {
        let one = |url, value| with_params(url, UrlPart::Query, &[("c", value)]);
        assert_eq!(
            one("https://a.example/login", "x y"),
            "https://a.example/login?c=x+y"
        );
        assert_eq!(
            one("https://a.example/login?lang=de", "1&2"),
            "https://a.example/login?lang=de&c=1%262"
        );
        assert_eq!(
            one("https://a.example/login?", "1"),
            "https://a.example/login?c=1"
        );
        assert_eq!(
            one("https://a.example/error#top", "1"),
            "https://a.example/error?c=1#top"
        );
        let params = [("code", "a b+c"), ("state", "s")];
        assert_eq!(
            with_params("https://c.example/cb?x=1", UrlPart::Query, &params),
            "https://c.example/cb?x=1&code=a+b%2Bc&state=s"
        );
        assert_eq!(
            with_params("https://c.example/cb", UrlPart::Fragment, &params),
            "https://c.example/cb#code=a+b%2Bc&state=s"
        );
    }

    #[test]
    fn csrf_cookie_names_differ_per_stage_and_challenge() {
        let a = Stage::Login.csrf_cookie("abc", false);
        assert!(a.starts_with("oauth2_authentication_csrf_"));
        assert_eq!(a.len(), "oauth2_authentication_csrf_".len() + 16);
        assert_ne!(a, Stage::Login.csrf_cookie("abd", false));
        assert!(
            Stage::Consent
                .csrf_cookie("abc", false)
                .starts_with("oauth2_consent_csrf_")
        );
        assert_eq!(Stage::Login.csrf_cookie("abc", true), format!("__Host-{a}"));
    }
}
