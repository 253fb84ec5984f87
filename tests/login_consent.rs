//! The login and consent state machine (Hydra reference §3.2–3.5, test catalog §4 items
//! 1–38): challenges, verifiers, CSRF, sessions, remembered consent, prompt/max_age/
//! id_token_hint, expiry, pairwise subjects, and the admin HTTP layer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod flow_support;

use bytes::Bytes;
use flow_support::*;
use http::{Method, StatusCode};
use oauth2_provider::Clock;
use oauth2_provider::store::{HandledConsent, HandledLogin};
use oauth2_provider::testing::{Harness, UserAgent, redirect_param};
use oauth2_provider::{
    AcceptConsentRequest, AcceptLoginRequest, ConsentRequestSession, Error, RejectRequest,
};
use serde_json::json;
use time::Duration;

type Res = http::Response<Bytes>;

/// Starts a flow and returns the login challenge.
async fn login_challenge(ua: &mut UserAgent, query: &str) -> String {
    let res = ua.authorize(query).await;
    assert!(loc(&res).starts_with(LOGIN), "{}", loc(&res));
    param(&res, "login_challenge")
}

/// Accepts the login and follows the browser; returns where it stopped.
async fn accept_login(
    h: &Harness,
    ua: &mut UserAgent,
    challenge: &str,
    body: AcceptLoginRequest,
) -> Res {
    let done = h.provider.accept_login(challenge, body).await.unwrap();
    ua.get(&done.redirect_to).await
}

async fn accept_consent(
    h: &Harness,
    ua: &mut UserAgent,
    challenge: &str,
    body: AcceptConsentRequest,
) -> Res {
    let done = h.provider.accept_consent(challenge, body).await.unwrap();
    ua.get(&done.redirect_to).await
}

fn consent_challenge(res: &Res) -> String {
    assert!(loc(res).starts_with(CONSENT), "{}", loc(res));
    param(res, "consent_challenge")
}

/// An ID token for `subject` from an implicit flow in a fresh browser.
async fn id_token_for(h: &Harness, subject: &str) -> String {
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
async fn remembered_browser(h: &Harness, subject: &str) -> UserAgent {
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

#[tokio::test]
async fn code_flow_stores_a_code_with_the_whole_grant() {
    // Catalog 9: session data round-trips; acr is the accepted one; no remember → no sid.
    let h = harness().await;
    let mut ua = h.user_agent();
    let query = code_query(&[
        ("redirect_uri", CB),
        ("nonce", "nonce-abc"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let challenge = login_challenge(&mut ua, &query).await;
    let res = accept_login(
        &h,
        &mut ua,
        &challenge,
        AcceptLoginRequest {
            acr: "urn:mfa".into(),
            ..login_as("user")
        },
    )
    .await;
    let cc = consent_challenge(&res);
    let consent = h.provider.consent_request(&cc).await.unwrap();
    assert_eq!(consent.subject, "user");
    assert_eq!(consent.login_challenge, challenge);
    assert_eq!(consent.acr, "urn:mfa");
    assert!(consent.client.client_secret.is_none());
    let mut session = ConsentRequestSession::default();
    session.access_token.insert("foo".into(), json!("bar"));
    session.id_token.insert("bar".into(), json!("baz"));
    let res = accept_consent(
        &h,
        &mut ua,
        &cc,
        AcceptConsentRequest {
            grant_scope: vec!["openid".into()],
            session,
            ..Default::default()
        },
    )
    .await;
    let l = loc(&res);
    assert!(l.starts_with(&format!("{CB}?code=op_ac_")), "{l}");
    assert_eq!(param(&res, "state"), "state-123");
    assert_eq!(param(&res, "iss"), ISSUER);
    assert_eq!(param(&res, "scope"), "openid");
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    let now = h.clock.now();
    assert_eq!(record.grant.grant_id, cc);
    assert_eq!(record.grant.client_id, "app");
    assert_eq!(record.grant.subject, "user");
    assert_eq!(record.grant.subject_identifier, "user");
    assert_eq!(record.grant.granted_scope, ["openid"]);
    assert_eq!(record.grant.access_token_extra["foo"], "bar");
    assert_eq!(record.grant.id_token_extra["bar"], "baz");
    assert_eq!(record.grant.acr, "urn:mfa");
    assert_eq!(record.grant.auth_time, Some(now));
    assert_eq!(record.grant.session_id, None);
    assert_eq!(record.redirect_uri.as_deref(), Some(CB));
    assert_eq!(record.effective_redirect_uri, CB);
    assert_eq!(
        record.code_challenge.as_deref(),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
    assert_eq!(record.nonce.as_deref(), Some("nonce-abc"));
    assert_eq!(record.expires_at, now + Duration::minutes(10));
    assert!(!record.used);
    // No refresh or access token leaves the front channel of a code flow.
    assert!(redirect_param(&res, "access_token").is_none());
    // The CSRF cookies were consumed.
    assert!(
        ua.cookie_names().iter().all(|n| !n.contains("csrf")),
        "{:?}",
        ua.cookie_names()
    );
}

#[tokio::test]
async fn omitted_redirect_uri_is_not_bound_to_the_code() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let code = ua
        .code(&code_query(&[]), login_as("u"), grant(&[]))
        .await
        .unwrap();
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(record.redirect_uri, None);
    assert_eq!(record.effective_redirect_uri, CB);
}

#[tokio::test]
async fn challenges_and_verifiers_are_random_and_purpose_bound() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert_eq!(lc.len(), 32);
    assert!(lc.bytes().all(|b| b.is_ascii_hexdigit()));
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let login_verifier = redirect_url_param(&done.redirect_to, "login_verifier");
    assert!(login_verifier.starts_with("op_vf_"));
    assert_ne!(login_verifier, lc);
    // A login challenge is not a consent challenge.
    assert!(matches!(
        h.provider.consent_request(&lc).await,
        Err(Error::NotFound(_))
    ));
    // A login verifier presented as a consent verifier is unknown.
    let swapped = ua
        .authorize(&format!(
            "{}&consent_verifier={login_verifier}",
            code_query(&[])
        ))
        .await;
    assert_client_error(&swapped, "access_denied");
    // The challenge presented as a verifier is unknown.
    let res = ua
        .authorize(&format!("{}&login_verifier={lc}", code_query(&[])))
        .await;
    assert_client_error(&res, "access_denied");
    let res = ua.get(&done.redirect_to).await;
    let cc = consent_challenge(&res);
    assert_ne!(cc, lc);
    assert!(matches!(
        h.provider.login_request(&cc).await,
        Err(Error::NotFound(_))
    ));
    let done = h.provider.accept_consent(&cc, grant(&[])).await.unwrap();
    let consent_verifier = redirect_url_param(&done.redirect_to, "consent_verifier");
    assert_ne!(consent_verifier, login_verifier);
    // The consent verifier presented as a login verifier is unknown.
    let res = ua
        .authorize(&format!(
            "{}&login_verifier={consent_verifier}",
            code_query(&[])
        ))
        .await;
    assert_client_error(&res, "access_denied");
    // The right one still works (the failed attempts did not consume it).
    let res = ua.get(&done.redirect_to).await;
    assert!(redirect_param(&res, "code").is_some());
}

fn redirect_url_param(url: &str, name: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn unknown_verifiers_are_access_denied() {
    // Catalog 1, 2, 7.
    let h = harness().await;
    let mut ua = h.user_agent();
    for name in ["login_verifier", "consent_verifier"] {
        let res = ua
            .authorize(&format!("{}&{name}=op_vf_nope", code_query(&[])))
            .await;
        assert_client_error(&res, "access_denied");
        assert_eq!(param(&res, "state"), "state-123");
    }
}

#[tokio::test]
async fn used_verifiers_are_invalid_request() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    consent_challenge(&ua.get(&done.redirect_to).await);
    assert_client_error(&ua.get(&done.redirect_to).await, "invalid_request");
}

#[tokio::test]
async fn fresh_request_shows_the_login_request() {
    // Catalog 3.
    let h = harness().await;
    let mut ua = h.user_agent();
    let query = code_query(&[
        ("display", "page"),
        ("ui_locales", "de en"),
        ("scope", "openid offline"),
    ]);
    let lc = login_challenge(&mut ua, &query).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    assert_eq!(login.challenge, lc);
    assert_eq!(login.client.client_id, "app");
    assert!(login.client.client_secret.is_none());
    assert_eq!(login.requested_scope, ["openid", "offline"]);
    assert!(!login.skip);
    assert_eq!(login.subject, "");
    assert_eq!(login.session_id, "");
    assert_eq!(
        login.request_url,
        format!("https://auth.example.com/oauth2/auth?{query}")
    );
    assert_eq!(login.oidc_context.display, "page");
    assert_eq!(login.oidc_context.ui_locales, ["de", "en"]);
}

#[tokio::test]
async fn rejected_login_sends_the_error_to_the_client() {
    // Catalog 4.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h
        .provider
        .reject_login(
            &lc,
            RejectRequest {
                error: "interaction_required".into(),
                error_description: "line one\r\nline \"two\"".into(),
                error_hint: "ask again".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "interaction_required");
    assert_eq!(param(&res, "state"), "state-123");
    assert_eq!(param(&res, "error_description"), "line one  line  two ");
    assert_eq!(param(&res, "error_hint"), "ask again");
    // No consent request was ever created.
    assert!(loc(&res).starts_with(CB));
}

#[tokio::test]
async fn reject_defaults_to_access_denied_and_validates_the_error() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let bad = h
        .provider
        .reject_login(
            &lc,
            RejectRequest {
                error: "bad error\"".into(),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(Error::BadRequest(_))));
    let done = h
        .provider
        .reject_login(&lc, RejectRequest::default())
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "access_denied");
    assert!(!param(&res, "error_description").is_empty());
}

#[tokio::test]
async fn rejected_consent_sends_the_error_to_the_client() {
    // Catalog 8.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    let done = h
        .provider
        .reject_consent(
            &cc,
            RejectRequest {
                error: "interaction_required".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "interaction_required");
    assert_eq!(param(&res, "state"), "state-123");
}

#[tokio::test]
async fn missing_csrf_cookie_is_request_forbidden() {
    // Catalog 5: the consent page is never reached.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let mut other = h.user_agent();
    let res = other.get(&done.redirect_to).await;
    assert_client_error(&res, "request_forbidden");
    // Same at the consent step.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    let done = h.provider.accept_consent(&cc, grant(&[])).await.unwrap();
    let res = h.user_agent().get(&done.redirect_to).await;
    assert_client_error(&res, "request_forbidden");
}

#[tokio::test]
async fn a_tampered_csrf_cookie_is_request_forbidden() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let name = ua
        .cookie_names()
        .into_iter()
        .find(|n| n.contains("csrf"))
        .unwrap();
    let value = ua.cookie(&name).unwrap().to_owned();
    ua.set_cookie(&name, &value.replacen('.', "x.", 1));
    let res = accept_login(&h, &mut ua, &lc, login_as("u")).await;
    assert_client_error(&res, "request_forbidden");
}

#[tokio::test]
async fn two_flows_in_one_browser_do_not_break_each_other() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let first = login_challenge(&mut ua, &code_query(&[])).await;
    let second = login_challenge(&mut ua, &code_query(&[("nonce", "other-flow")])).await;
    let cc_first = consent_challenge(&accept_login(&h, &mut ua, &first, login_as("u")).await);
    let cc_second = consent_challenge(&accept_login(&h, &mut ua, &second, login_as("u")).await);
    let res = accept_consent(&h, &mut ua, &cc_first, grant(&[])).await;
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
    let res = accept_consent(&h, &mut ua, &cc_second, grant(&[])).await;
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
}

#[tokio::test]
async fn another_flows_csrf_cookie_does_not_count() {
    let h = harness().await;
    let mut victim = h.user_agent();
    let victim_lc = login_challenge(&mut victim, &code_query(&[])).await;
    let mut attacker = h.user_agent();
    login_challenge(&mut attacker, &code_query(&[])).await;
    // The attacker's browser holds a valid CSRF cookie — of its own flow.
    let done = h
        .provider
        .accept_login(&victim_lc, login_as("u"))
        .await
        .unwrap();
    let res = attacker.get(&done.redirect_to).await;
    assert_client_error(&res, "request_forbidden");
}

#[tokio::test]
async fn a_changed_request_on_return_is_refused() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let tampered = done
        .redirect_to
        .replace("scope=openid+offline", "scope=openid+offline+profile");
    assert_ne!(tampered, done.redirect_to);
    let res = ua.get(&tampered).await;
    assert_client_error(&res, "invalid_request");
}

#[tokio::test]
async fn consent_request_carries_subject_and_acr_values() {
    // Catalog 6.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[("acr_values", "1 2")])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    let consent = h.provider.consent_request(&cc).await.unwrap();
    assert_eq!(consent.subject, "user");
    assert!(!consent.skip);
    assert_eq!(consent.oidc_context.acr_values, ["1", "2"]);
    assert_eq!(consent.requested_scope, ["openid", "offline"]);
}

#[tokio::test]
async fn remembered_login_and_consent_are_skipped_next_time() {
    // Catalog 10, 13.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let cookie = ua
        .cookie("oauth2_authentication_session")
        .unwrap()
        .to_owned();
    assert!(!cookie.is_empty());
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    assert!(login.skip);
    assert_eq!(login.subject, "user");
    assert!(!login.session_id.is_empty());
    assert!(login.client.client_secret.is_none());
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    let consent = h.provider.consent_request(&cc).await.unwrap();
    assert!(consent.skip);
    assert_eq!(consent.login_session_id, login.session_id);
    let res = accept_consent(&h, &mut ua, &cc, grant(&["openid", "offline"])).await;
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    // sid = the login session; auth_time = the session's.
    assert_eq!(
        record.grant.session_id.as_deref(),
        Some(login.session_id.as_str())
    );
}

#[tokio::test]
async fn session_cookie_is_signed_http_only_and_secure() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h
        .provider
        .accept_login(
            &lc,
            AcceptLoginRequest {
                remember_for: 3600,
                ..remembered_login("u")
            },
        )
        .await
        .unwrap();
    let url = done
        .redirect_to
        .strip_prefix("https://auth.example.com")
        .unwrap()
        .to_owned();
    // Send the request by hand to look at the Set-Cookie header.
    let csrf = ua
        .cookie_names()
        .into_iter()
        .find(|n| n.contains("csrf"))
        .unwrap();
    let req = http::Request::builder()
        .uri(url)
        .header("cookie", format!("{csrf}={}", ua.cookie(&csrf).unwrap()))
        .body(Bytes::new())
        .unwrap();
    let res = h.provider.public().handle(req).await;
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("oauth2_authentication_session="))
        .unwrap();
    for attr in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=3600",
    ] {
        assert!(session.contains(attr), "{session}");
    }
    let sessions = h
        .provider
        .store()
        .delete_login_sessions_of("u")
        .await
        .unwrap();
    assert_eq!(sessions, 1);
}

#[tokio::test]
async fn remember_for_is_capped_by_the_login_session_lifespan() {
    let mut config = config();
    config.lifespans.login_session = Duration::hours(1);
    let h = harness_with(config).await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        AcceptLoginRequest {
            remember_for: 86_400,
            ..remembered_login("u")
        },
        grant(&[]),
    )
    .await
    .unwrap();
    h.clock.advance(Duration::minutes(59));
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert!(h.provider.login_request(&lc).await.unwrap().skip);
    h.clock.advance(Duration::minutes(2));
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert!(
        !h.provider.login_request(&lc).await.unwrap().skip,
        "session expired"
    );
}

#[tokio::test]
async fn public_native_client_never_skips_consent() {
    // Catalog 11.
    let h = harness().await;
    let mut native = client("native");
    native.token_endpoint_auth_method = "none".into();
    native.redirect_uris = vec!["com.example.app:/cb".into()];
    h.register(native, None).await.unwrap();
    let query = |extra: &[(&str, &str)]| {
        let mut v = vec![
            ("client_id", "native"),
            ("response_type", "code"),
            ("scope", "openid"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ];
        v.extend_from_slice(extra);
        q(&v)
    };
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &query(&[]),
            remembered_login("u"),
            remembered_grant(&["openid"]),
        )
        .await
        .unwrap();
    assert!(
        loc(&res).starts_with("com.example.app:/cb?code="),
        "{}",
        loc(&res)
    );
    let res = ua
        .authorize_and_consent(
            &query(&[("prompt", "none")]),
            login_as("u"),
            grant(&["openid"]),
        )
        .await
        .unwrap();
    assert!(loc(&res).starts_with("com.example.app:/cb?"));
    assert_eq!(param(&res, "error"), "consent_required");
}

#[tokio::test]
async fn skip_requests_must_be_accepted_with_the_session_subject_and_without_remember() {
    // Catalog 12, 17.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let other = h.provider.accept_login(&lc, login_as("someone-else")).await;
    assert!(matches!(other, Err(Error::BadRequest(_))));
    let remember = h.provider.accept_login(&lc, remembered_login("user")).await;
    assert!(matches!(remember, Err(Error::BadRequest(_))));
    // Nothing was stored: a correct accept still works.
    let res = accept_login(&h, &mut ua, &lc, login_as("user")).await;
    let cc = consent_challenge(&res);
    // Catalog 18: consent skip + remember → 400 before storing.
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
    let remember = h
        .provider
        .accept_consent(&cc, remembered_grant(&["openid"]))
        .await;
    assert!(matches!(remember, Err(Error::BadRequest(_))));
    let res = accept_consent(&h, &mut ua, &cc, grant(&["openid"])).await;
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn prompt_login_and_consent_force_the_pages() {
    // Catalog 14.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[("prompt", "login consent")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(!h.provider.consent_request(&cc).await.unwrap().skip);
    let res = accept_consent(&h, &mut ua, &cc, grant(&["openid"])).await;
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn prompt_login_alone_still_skips_a_remembered_consent() {
    // Catalog 36.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[("prompt", "login")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
}

#[tokio::test]
async fn max_age_exceeded_forces_a_new_login() {
    // Catalog 15.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    h.clock.advance(Duration::seconds(2));
    let lc = login_challenge(&mut ua, &code_query(&[("max_age", "1")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
    let res = accept_consent(&h, &mut ua, &cc, grant(&["openid"])).await;
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(
        record.grant.auth_time,
        Some(h.clock.now()),
        "auth_time is the new login"
    );
}

#[tokio::test]
async fn max_age_zero_forces_a_new_login() {
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[("max_age", "0")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
}

#[tokio::test]
async fn max_age_exceeded_with_prompt_none_is_login_required() {
    // Catalog 16, 35.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    h.clock.advance(Duration::seconds(2));
    let res = ua
        .authorize(&code_query(&[("max_age", "1"), ("prompt", "none")]))
        .await;
    assert_client_error(&res, "login_required");
    assert_eq!(param(&res, "state"), "state-123");
}

#[tokio::test]
async fn prompt_none_with_session_and_consent_succeeds_silently() {
    // Catalog 33: both skip; auth_time unchanged.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let first_auth = h.clock.now();
    h.clock.advance(Duration::seconds(2));
    let res = ua
        .authorize_and_consent(
            &code_query(&[("prompt", "none"), ("max_age", "60")]),
            login_as("user"),
            grant(&["openid", "offline"]),
        )
        .await
        .unwrap();
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(record.grant.auth_time, Some(first_auth));
    assert_eq!(record.grant.granted_scope, ["openid", "offline"]);
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required() {
    // Catalog 19, 34: no code, no login request.
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = ua.authorize(&code_query(&[("prompt", "none")])).await;
    assert_client_error(&res, "login_required");
}

#[tokio::test]
async fn prompt_none_without_remembered_consent_is_consent_required() {
    // Catalog 20.
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        remembered_login("user"),
        grant(&["openid"]),
    )
    .await
    .unwrap();
    let res = ua
        .authorize_and_consent(
            &code_query(&[("prompt", "none")]),
            login_as("user"),
            grant(&[]),
        )
        .await
        .unwrap();
    assert_client_error(&res, "consent_required");
}

#[tokio::test]
async fn remembered_consent_must_cover_every_requested_scope() {
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[("scope", "openid")]),
        remembered_login("user"),
        remembered_grant(&["openid"]),
    )
    .await
    .unwrap();
    let lc = login_challenge(&mut ua, &code_query(&[("scope", "openid a")])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(!h.provider.consent_request(&cc).await.unwrap().skip);
}

#[tokio::test]
async fn remembered_consent_expires_after_remember_for() {
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        AcceptLoginRequest {
            remember_for: 0,
            ..remembered_login("user")
        },
        AcceptConsentRequest {
            remember_for: 60,
            ..remembered_grant(&["openid", "offline"])
        },
    )
    .await
    .unwrap();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
    h.clock.advance(Duration::seconds(61));
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(!h.provider.consent_request(&cc).await.unwrap().skip);
}

#[tokio::test]
async fn id_token_hint_rules() {
    // Catalog 21, 22, 23, 31, 37.
    let h = harness().await;
    let hint = id_token_for(&h, "foouser").await;
    // 21: prompt=none, no session.
    let mut ua = h.user_agent();
    let res = ua
        .authorize(&code_query(&[("prompt", "none"), ("id_token_hint", &hint)]))
        .await;
    assert_client_error(&res, "login_required");
    // 31: the claims are shown to the login app; 22: another user logs in.
    let lc = login_challenge(&mut ua, &code_query(&[("id_token_hint", &hint)])).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    let claims = login.oidc_context.id_token_hint_claims.unwrap();
    assert_eq!(claims["sub"], "foouser");
    let res = accept_login(&h, &mut ua, &lc, login_as("not-foouser")).await;
    assert_client_error(&res, "login_required");
    // 23: the right user.
    let res = ua
        .authorize_and_consent(
            &code_query(&[("id_token_hint", &hint)]),
            login_as("foouser"),
            grant(&["openid"]),
        )
        .await
        .unwrap();
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn id_token_hint_with_a_matching_session_succeeds_silently() {
    let h = harness().await;
    let mut ua = remembered_browser(&h, "foouser").await;
    let hint = id_token_for(&h, "foouser").await;
    let res = ua
        .authorize_and_consent(
            &code_query(&[("prompt", "none"), ("id_token_hint", &hint)]),
            login_as("foouser"),
            grant(&["openid", "offline"]),
        )
        .await
        .unwrap();
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
    // A hint for someone else with prompt=none: the session does not match.
    let other = id_token_for(&h, "other").await;
    let res = ua
        .authorize(&code_query(&[
            ("prompt", "none"),
            ("id_token_hint", &other),
        ]))
        .await;
    assert_client_error(&res, "login_required");
}

#[tokio::test]
async fn expired_id_token_hint_is_tolerated() {
    let h = harness().await;
    let hint = id_token_for(&h, "foouser").await;
    h.clock.advance(Duration::hours(5));
    let mut ua = h.user_agent();
    login_challenge(&mut ua, &code_query(&[("id_token_hint", &hint)])).await;
}

fn pairwise_config() -> oauth2_provider::Config {
    let mut config = config();
    config.pairwise_salt = Some(oauth2_provider::model::secret::Secret::new(
        b"76d5d2bf-747f-4592-9fbd-d2b895a54b3a".to_vec(),
    ));
    config
}

async fn pairwise_harness() -> Harness {
    let h = harness_with(pairwise_config()).await;
    let mut c = client("pw");
    c.subject_type = "pairwise".into();
    c.sector_identifier_uri = Some("foo".into());
    h.register(c, Some("secret")).await.unwrap();
    h
}

fn pw_query(extra: &[(&str, &str)]) -> String {
    let mut v = vec![
        ("client_id", "pw"),
        ("response_type", "code id_token"),
        ("scope", "openid"),
        ("nonce", "nonce-12345678"),
        ("state", "state-123"),
    ];
    v.extend_from_slice(extra);
    q(&v)
}

const HYDRA_PAIRWISE: &str = "c737d5e1fec8896d096d49f6b1a73eb45ac7becb87de9ac3f0a350bad2a9c9fd";

#[tokio::test]
async fn pairwise_subject_reproduces_hydras_worked_example() {
    // Catalog 24, 25.
    let h = pairwise_harness().await;
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &pw_query(&[]),
            remembered_login("auth-user"),
            grant(&["openid"]),
        )
        .await
        .unwrap();
    let id_token = param(&res, "id_token");
    assert_eq!(jwt_claims(&id_token)["sub"], HYDRA_PAIRWISE);
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(record.grant.subject, "auth-user");
    assert_eq!(record.grant.subject_identifier, HYDRA_PAIRWISE);
    // The consent app sees the real subject.
    // 25: a hint carrying the pairwise sub matches the session.
    let res = ua
        .authorize_and_consent(
            &pw_query(&[("id_token_hint", &id_token), ("prompt", "none")]),
            login_as("auth-user"),
            grant(&["openid"]),
        )
        .await
        .unwrap();
    assert_client_error_or_consent(&res);
}

/// prompt=none without remembered consent ends in consent_required — the login (and thus
/// the hint) was accepted.
fn assert_client_error_or_consent(res: &Res) {
    assert_eq!(param(res, "error"), "consent_required", "{}", loc(res));
}

#[tokio::test]
async fn forced_subject_identifier_overrides_and_is_remembered() {
    // Catalog 26, 27.
    let h = pairwise_harness().await;
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &pw_query(&[]),
            AcceptLoginRequest {
                force_subject_identifier: "forced-auth-user".into(),
                ..login_as("auth-user")
            },
            grant(&["openid"]),
        )
        .await
        .unwrap();
    let id_token = param(&res, "id_token");
    assert_eq!(jwt_claims(&id_token)["sub"], "forced-auth-user");
    let forced = h
        .provider
        .store()
        .forced_subject("pw", "auth-user")
        .await
        .unwrap();
    assert_eq!(forced.as_deref(), Some("forced-auth-user"));
    // 27: a hint with the forced identifier matches a later login of the same user.
    let res = ua
        .authorize_and_consent(
            &pw_query(&[("id_token_hint", &id_token)]),
            login_as("auth-user"),
            grant(&["openid"]),
        )
        .await
        .unwrap();
    assert_eq!(
        jwt_claims(&param(&res, "id_token"))["sub"],
        "forced-auth-user"
    );
}

#[tokio::test]
async fn login_as_another_user_revokes_the_old_session() {
    // Catalog 28, 29.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let old_sid = h.provider.login_request(&lc).await.unwrap().session_id;
    let lc = login_challenge(&mut ua, &code_query(&[("prompt", "login")])).await;
    let res = accept_login(&h, &mut ua, &lc, login_as("other-user")).await;
    consent_challenge(&res);
    assert!(h.provider.store().login_session(&old_sid).await.is_err());
    assert!(ua.cookie("oauth2_authentication_session").is_none());
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    assert!(!login.skip);
    assert_eq!(login.subject, "");
}

#[tokio::test]
async fn cookie_of_a_deleted_session_does_not_skip() {
    // Catalog 30.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    h.provider
        .store()
        .delete_login_sessions_of("user")
        .await
        .unwrap();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
}

#[tokio::test]
async fn slow_login_and_consent_within_max_age_still_succeed() {
    // Catalog 38: auth_time is stamped at accept.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[("max_age", "3")])).await;
    h.clock.advance(Duration::seconds(5));
    let res = accept_login(&h, &mut ua, &lc, login_as("u")).await;
    let cc = consent_challenge(&res);
    h.clock.advance(Duration::seconds(5));
    let res = accept_consent(&h, &mut ua, &cc, grant(&["openid"])).await;
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
}

#[tokio::test]
async fn accepting_twice_is_a_conflict_and_unknown_challenges_are_not_found() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    assert!(matches!(
        h.provider.accept_login(&lc, login_as("u")).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.provider.reject_login(&lc, RejectRequest::default()).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.provider.login_request(&lc).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.provider.login_request("nope").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.accept_login("nope", login_as("u")).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.consent_request("nope").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.accept_consent("nope", grant(&[])).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider
            .reject_consent("nope", RejectRequest::default())
            .await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn invalid_accept_bodies_are_refused_and_nothing_is_stored() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    for bad in [
        login_as(""),
        AcceptLoginRequest {
            remember_for: -1,
            ..login_as("u")
        },
    ] {
        assert!(matches!(
            h.provider.accept_login(&lc, bad).await,
            Err(Error::BadRequest(_))
        ));
    }
    let record = h.provider.store().login_request(&lc).await.unwrap();
    assert!(record.handled.is_none());
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    for bad in [
        grant(&["openid", "profile"]),
        grant(&["admin"]),
        AcceptConsentRequest {
            remember_for: -5,
            ..grant(&[])
        },
    ] {
        assert!(matches!(
            h.provider.accept_consent(&cc, bad).await,
            Err(Error::BadRequest(_))
        ));
    }
    let record = h.provider.store().consent_request(&cc).await.unwrap();
    assert!(record.handled.is_none());
    let res = accept_consent(&h, &mut ua, &cc, grant(&["offline"])).await;
    assert_eq!(param(&res, "scope"), "offline");
}

#[tokio::test]
async fn expired_requests_fail_at_accept_with_410_and_at_return_with_request_unauthorized() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.clock.advance(Duration::minutes(31));
    let err = h
        .provider
        .accept_login(&lc, login_as("u"))
        .await
        .unwrap_err();
    let wire = oauth2_provider::OAuthError::from(err);
    assert_eq!(wire.status, StatusCode::GONE);
    assert_eq!(wire.error, "request_expired");
    assert!(h.provider.login_request(&lc).await.is_err());
    let record = h.provider.store().login_request(&lc).await.unwrap();
    assert!(record.handled.is_none());
    // Accepted in time, but the browser comes back too late.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    h.clock.advance(Duration::minutes(31));
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "request_unauthorized");
    // The consent shares the request's lifespan.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.clock.advance(Duration::minutes(20));
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    h.clock.advance(Duration::minutes(11));
    let err = h
        .provider
        .accept_consent(&cc, grant(&[]))
        .await
        .unwrap_err();
    assert_eq!(
        oauth2_provider::OAuthError::from(err).status,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn expired_consent_at_return_is_request_unauthorized() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    let done = h.provider.accept_consent(&cc, grant(&[])).await.unwrap();
    h.clock.advance(Duration::minutes(31));
    assert_client_error(&ua.get(&done.redirect_to).await, "request_unauthorized");
}

#[tokio::test]
async fn lifespan_of_requests_is_configurable() {
    let mut config = config();
    config.lifespans.login_consent_request = Duration::minutes(2);
    let h = harness_with(config).await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.clock.advance(Duration::minutes(3));
    assert!(h.provider.accept_login(&lc, login_as("u")).await.is_err());
}

#[tokio::test]
async fn stored_records_hold_digests_not_verifiers() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let verifier = redirect_url_param(&done.redirect_to, "login_verifier");
    let record = h.provider.store().login_request(&lc).await.unwrap();
    assert_eq!(record.verifier_digest, signature(&verifier));
    assert!(!serde_json::to_string(&record).unwrap().contains(&verifier));
    assert!(matches!(record.handled, Some(HandledLogin::Accepted(_))));
    let cc = consent_challenge(&ua.get(&done.redirect_to).await);
    let record = h.provider.store().consent_request(&cc).await.unwrap();
    assert!(record.handled.is_none());
    h.provider.accept_consent(&cc, grant(&[])).await.unwrap();
    let record = h.provider.store().consent_request(&cc).await.unwrap();
    assert!(matches!(record.handled, Some(HandledConsent::Accepted(_))));
}

async fn admin(h: &Harness, method: Method, path: &str, body: Option<serde_json::Value>) -> Res {
    let mut b = http::Request::builder().method(method).uri(path);
    let bytes = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Bytes::from(serde_json::to_vec(&v).unwrap())
        }
        None => Bytes::new(),
    };
    h.provider.admin().handle(b.body(bytes).unwrap()).await
}

fn body(res: &Res) -> serde_json::Value {
    serde_json::from_slice(res.body()).unwrap()
}

#[tokio::test]
async fn admin_http_endpoints_mirror_the_typed_api() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let path = format!("/oauth2/auth/requests/login/{lc}");
    let res = admin(&h, Method::GET, &path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let login = body(&res);
    assert_eq!(login["challenge"], lc.as_str());
    assert_eq!(login["skip"], false);
    assert_eq!(login["client"]["client_id"], "app");
    assert!(login["client"].get("client_secret").is_none());
    assert!(
        login["request_url"]
            .as_str()
            .unwrap()
            .contains("/oauth2/auth?")
    );
    // Unknown fields → 400, nothing stored.
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"subject": "u", "bogus": 1})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(&res)["error"], "invalid_request");
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"subject": "u", "remember": false})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let redirect_to = body(&res)["redirect_to"].as_str().unwrap().to_owned();
    assert!(redirect_to.contains("login_verifier=op_vf_"));
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"subject": "u"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = admin(&h, Method::GET, "/oauth2/auth/requests/login/nope", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(&res)["error"], "not_found");
    let res = admin(
        &h,
        Method::PUT,
        "/oauth2/auth/requests/consent/nope/accept",
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let cc = consent_challenge(&ua.get(&redirect_to).await);
    let path = format!("/oauth2/auth/requests/consent/{cc}");
    let res = admin(&h, Method::GET, &path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let consent = body(&res);
    assert_eq!(consent["subject"], "u");
    assert_eq!(consent["login_challenge"], lc.as_str());
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"grant_scope": ["nope"]})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/reject"),
        Some(json!({"error": "access_denied", "error_description": "no thanks"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let redirect_to = body(&res)["redirect_to"].as_str().unwrap().to_owned();
    let res = ua.get(&redirect_to).await;
    assert_client_error(&res, "access_denied");
    assert_eq!(param(&res, "error_description"), "no thanks");
    // Reject with a bad body.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let res = admin(
        &h,
        Method::PUT,
        &format!("/oauth2/auth/requests/login/{lc}/reject"),
        Some(json!({"status_code": 200})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = admin(
        &h,
        Method::PUT,
        &format!("/oauth2/auth/requests/login/{lc}/reject"),
        Some(json!("x")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn default_fallback_login_url_receives_the_challenge() {
    let h = Harness::new(oauth2_provider::Config::new(ISSUER).unwrap())
        .await
        .unwrap();
    h.register(client("app"), Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    let res = ua.authorize(&code_query(&[])).await;
    assert!(
        loc(&res).starts_with("https://auth.example.com/oauth2/fallbacks/consent?login_challenge=")
    );
}
