//! Shared setup of the authorization-flow tests: a harness with external login/consent
//! pages, a client factory, and small accessors.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use bytes::Bytes;
use http::Response;
use oauth2_provider::model::client::Client;
use oauth2_provider::testing::{Harness, UserAgent, location, redirect_param};
use oauth2_provider::{AcceptConsentRequest, AcceptLoginRequest, Config};
use serde_json::Value;
use sha2::Digest;

pub(crate) const ISSUER: &str = "https://auth.example.com/";
pub(crate) const CB: &str = "https://app.example.com/cb";
pub(crate) const LOGIN: &str = "https://login.example.com/login";
pub(crate) const CONSENT: &str = "https://login.example.com/consent";
pub(crate) const ERROR: &str = "https://login.example.com/error";

pub(crate) fn config() -> Config {
    let mut config = Config::new(ISSUER).unwrap();
    config.login_url = LOGIN.into();
    config.consent_url = CONSENT.into();
    config.error_url = ERROR.into();
    config
}

/// A harness with the standard config and the client `app` (every response type).
pub(crate) async fn harness() -> Harness {
    harness_with(config()).await
}

pub(crate) async fn harness_with(config: Config) -> Harness {
    let h = Harness::new(config).await.unwrap();
    h.register(client("app"), Some("secret")).await.unwrap();
    h
}

/// A confidential client allowed every response type and grant.
pub(crate) fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        redirect_uris: vec![CB.into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "implicit".into(),
        ],
        response_types: [
            "code",
            "token",
            "id_token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token",
        ]
        .map(String::from)
        .to_vec(),
        scope: "openid offline profile foo.* a b".into(),
        ..Client::default()
    }
}

/// An urlencoded query.
pub(crate) fn q(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The basic code-flow query for `app`, with `extra` added or replacing a default.
pub(crate) fn code_query(extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("client_id", "app"),
        ("response_type", "code"),
        ("scope", "openid offline"),
        ("state", "state-123"),
    ];
    for (k, v) in extra {
        match pairs.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => pairs.push((k, v)),
        }
    }
    q(&pairs)
}

pub(crate) fn login_as(subject: &str) -> AcceptLoginRequest {
    AcceptLoginRequest {
        subject: subject.into(),
        ..Default::default()
    }
}

pub(crate) fn remembered_login(subject: &str) -> AcceptLoginRequest {
    AcceptLoginRequest {
        subject: subject.into(),
        remember: true,
        ..Default::default()
    }
}

pub(crate) fn grant(scopes: &[&str]) -> AcceptConsentRequest {
    AcceptConsentRequest {
        grant_scope: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

pub(crate) fn remembered_grant(scopes: &[&str]) -> AcceptConsentRequest {
    AcceptConsentRequest {
        remember: true,
        ..grant(scopes)
    }
}

/// The location, which must exist.
pub(crate) fn loc(res: &Response<Bytes>) -> String {
    location(res)
        .unwrap_or_else(|| {
            panic!(
                "no Location ({}): {}",
                res.status(),
                String::from_utf8_lossy(res.body())
            )
        })
        .to_owned()
}

/// The parameter, which must exist.
pub(crate) fn param(res: &Response<Bytes>, name: &str) -> String {
    redirect_param(res, name).unwrap_or_else(|| panic!("no {name} in {:?}", location(res)))
}

/// Asserts a redirect to the client carrying `error`, the state and `iss`.
pub(crate) fn assert_client_error(res: &Response<Bytes>, error: &str) {
    let l = loc(res);
    assert!(l.starts_with(CB), "expected the client, got {l}");
    assert_eq!(param(res, "error"), error, "location {l}");
    assert_eq!(param(res, "iss"), ISSUER);
    assert!(redirect_param(res, "code").is_none());
}

/// Asserts a redirect to the error URL with `error`.
pub(crate) fn assert_error_page(res: &Response<Bytes>, error: &str) {
    let l = loc(res);
    assert!(l.starts_with(ERROR), "expected the error URL, got {l}");
    assert!(!l.contains("app.example.com"));
    assert_eq!(param(res, "error"), error, "location {l}");
}

/// The store key of a code or token.
pub(crate) fn signature(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The (unverified) claims of a JWT.
pub(crate) fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The (unverified) header of a JWT.
pub(crate) fn jwt_header(jwt: &str) -> Value {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

// Stepping through a flow by hand.

pub(crate) type Res = http::Response<Bytes>;

/// Starts a flow and returns the login challenge.
pub(crate) async fn login_challenge(ua: &mut UserAgent, query: &str) -> String {
    let res = ua.authorize(query).await;
    assert!(loc(&res).starts_with(LOGIN), "{}", loc(&res));
    param(&res, "login_challenge")
}

/// Accepts the login and follows the browser; returns where it stopped.
pub(crate) async fn accept_login(
    h: &Harness,
    ua: &mut UserAgent,
    challenge: &str,
    body: AcceptLoginRequest,
) -> Res {
    let done = h.provider.accept_login(challenge, body).await.unwrap();
    ua.get(&done.redirect_to).await
}

pub(crate) async fn accept_consent(
    h: &Harness,
    ua: &mut UserAgent,
    challenge: &str,
    body: AcceptConsentRequest,
) -> Res {
    let done = h.provider.accept_consent(challenge, body).await.unwrap();
    ua.get(&done.redirect_to).await
}

pub(crate) fn consent_challenge(res: &Res) -> String {
    assert!(loc(res).starts_with(CONSENT), "{}", loc(res));
    param(res, "consent_challenge")
}

/// An ID token for `subject` from an implicit flow in a fresh browser.
pub(crate) async fn id_token_for(h: &Harness, subject: &str) -> String {
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &q(&[
                ("client_id", "app"),
                ("response_type", "id_token"),
                ("scope", "openid"),
                ("nonce", "nonce-12345678"),
            ]),
            login_as(subject),
            grant(&["openid"]),
        )
        .await
        .unwrap();
    param(&res, "id_token")
}

/// A browser that has a remembered login of `subject` and a remembered consent for
/// `openid offline`.
pub(crate) async fn remembered_browser(h: &Harness, subject: &str) -> UserAgent {
    let mut ua = h.user_agent();
    let code = ua
        .code(
            &code_query(&[]),
            remembered_login(subject),
            remembered_grant(&["openid", "offline"]),
        )
        .await
        .unwrap();
    assert!(!code.is_empty());
    ua
}

pub(crate) fn redirect_url_param(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}
