//! Driving the authorization flow through the harness's browser: a provider with external
//! login, consent and error pages, a client allowed every response type, accept bodies,
//! redirect accessors, and the steps of a flow taken by hand.

use bytes::Bytes;
use http::{Response, StatusCode};
use oauth2_provider::model::client::Client;
use oauth2_provider::testing::{Harness, UserAgent, location, redirect_param};
use oauth2_provider::{AcceptConsentRequest, AcceptLoginRequest, Config, Provider};
use serde_json::Value;

use super::{ISSUER, basic_form_request, body_json, q};

/// The redirect URI of [`flow_client`].
pub const CB: &str = "https://app.example.com/cb";
/// The host's login page.
pub const LOGIN: &str = "https://login.example.com/login";
/// The host's consent page.
pub const CONSENT: &str = "https://login.example.com/consent";
/// The host's error page.
pub const ERROR: &str = "https://login.example.com/error";
/// The secret of the client `app` that [`harness`] registers.
pub const APP_SECRET: &str = "secret";

/// A response of the provider.
pub type Res = Response<Bytes>;

/// The configuration with the host's login, consent and error pages.
pub fn config() -> Config {
    let mut config = Config::new(ISSUER).unwrap();
    config.login_url = LOGIN.into();
    config.consent_url = CONSENT.into();
    config.error_url = ERROR.into();
    config
}

/// A harness with the standard config and the client `app` (every response type).
pub async fn harness() -> Harness {
    harness_with(config()).await
}

/// A harness with `config` and the client `app` (every response type).
pub async fn harness_with(config: Config) -> Harness {
    let h = Harness::new(config).await.unwrap();
    h.register(flow_client("app"), Some(APP_SECRET))
        .await
        .unwrap();
    h
}

/// A confidential client allowed every response type and grant, redirecting to [`CB`].
pub fn flow_client(id: &str) -> Client {
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

/// The basic code-flow query for `app`, with `extra` added or replacing a default.
pub fn code_query(extra: &[(&str, &str)]) -> String {
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

// Accept bodies.

/// Accepts the login as `subject`.
pub fn login_as(subject: &str) -> AcceptLoginRequest {
    AcceptLoginRequest {
        subject: subject.into(),
        ..Default::default()
    }
}

/// Accepts the login as `subject` and remembers it.
pub fn remembered_login(subject: &str) -> AcceptLoginRequest {
    AcceptLoginRequest {
        subject: subject.into(),
        remember: true,
        ..Default::default()
    }
}

/// Accepts the consent, granting `scopes`.
pub fn consent_to(scopes: &[&str]) -> AcceptConsentRequest {
    AcceptConsentRequest {
        grant_scope: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// Accepts the consent, granting `scopes`, and remembers it.
pub fn remembered_consent_to(scopes: &[&str]) -> AcceptConsentRequest {
    AcceptConsentRequest {
        remember: true,
        ..consent_to(scopes)
    }
}

// Redirects.

/// The location, which must exist.
pub fn loc(res: &Res) -> String {
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
pub fn param(res: &Res, name: &str) -> String {
    redirect_param(res, name).unwrap_or_else(|| panic!("no {name} in {:?}", location(res)))
}

/// Asserts a redirect to the client carrying `error`, the state and `iss`.
pub fn assert_client_error(res: &Res, error: &str) {
    let l = loc(res);
    assert!(l.starts_with(CB), "expected the client, got {l}");
    assert_eq!(param(res, "error"), error, "location {l}");
    assert_eq!(param(res, "iss"), ISSUER);
    assert!(redirect_param(res, "code").is_none());
}

/// Asserts a redirect to the error URL with `error`.
pub fn assert_error_page(res: &Res, error: &str) {
    let l = loc(res);
    assert!(l.starts_with(ERROR), "expected the error URL, got {l}");
    assert!(!l.contains("app.example.com"));
    assert_eq!(param(res, "error"), error, "location {l}");
}

// Stepping through a flow by hand.

/// Starts a flow and returns the login challenge.
pub async fn login_challenge(ua: &mut UserAgent, query: &str) -> String {
    let res = ua.authorize(query).await;
    assert!(loc(&res).starts_with(LOGIN), "{}", loc(&res));
    param(&res, "login_challenge")
}

/// Accepts the login and follows the browser; returns where it stopped.
pub async fn accept_login(
    h: &Harness,
    ua: &mut UserAgent,
    challenge: &str,
    body: AcceptLoginRequest,
) -> Res {
    let done = h.provider.accept_login(challenge, body).await.unwrap();
    ua.get(&done.redirect_to).await
}

/// Accepts the consent and follows the browser; returns where it stopped.
pub async fn accept_consent(
    h: &Harness,
    ua: &mut UserAgent,
    challenge: &str,
    body: AcceptConsentRequest,
) -> Res {
    let done = h.provider.accept_consent(challenge, body).await.unwrap();
    ua.get(&done.redirect_to).await
}

/// The consent challenge of a redirect to the consent page.
pub fn consent_challenge(res: &Res) -> String {
    assert!(loc(res).starts_with(CONSENT), "{}", loc(res));
    param(res, "consent_challenge")
}

/// An ID token for `subject` from an implicit flow in a fresh browser.
pub async fn id_token_for(h: &Harness, subject: &str) -> String {
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
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    param(&res, "id_token")
}

/// A browser that has a remembered login of `subject` and a remembered consent for
/// `openid offline`.
pub async fn remembered_browser(h: &Harness, subject: &str) -> UserAgent {
    let mut ua = h.user_agent();
    let code = ua
        .code(
            &code_query(&[]),
            remembered_login(subject),
            remembered_consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    assert!(!code.is_empty());
    ua
}

/// `POST /oauth2/token` on `provider` by the client `app` ([`APP_SECRET`], Basic); the
/// status and the JSON body.
pub async fn app_token(provider: &Provider, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
    let req = basic_form_request("/oauth2/token", "app", APP_SECRET, pairs);
    let res = provider.public().handle(req).await;
    (res.status(), body_json(&res))
}
