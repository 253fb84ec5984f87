//! Issue 10, item 8: with an https issuer every cookie is a `__Host-` cookie (`Secure`,
//! `Path=/`, no `Domain`), so a sibling subdomain cannot plant one; with an http (loopback)
//! issuer the names stay as they were. One browser holds a bounded number of per-flow CSRF
//! cookies, however many flows it abandons.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::flow::*;
use oauth2_provider::Config;
use oauth2_provider::testing::{Harness, UserAgent};
use time::Duration;

/// Every `Set-Cookie` of a response as (name, attributes).
fn set_cookies(res: &Res) -> Vec<(String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap();
            let (name, _) = text.split_once('=').unwrap();
            let attributes = text.split_once(';').map_or("", |(_, a)| a);
            (name.to_owned(), attributes.to_owned())
        })
        .collect()
}

fn assert_host_cookies(res: &Res, what: &str) -> Vec<String> {
    let cookies = set_cookies(res);
    assert!(!cookies.is_empty(), "{what}: no Set-Cookie");
    for (name, attributes) in &cookies {
        let attrs: Vec<String> = attributes
            .split(';')
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        assert!(name.starts_with("__Host-"), "{what}: {name}");
        assert!(
            attrs.iter().any(|a| a == "secure"),
            "{what}: {name}{attributes}"
        );
        assert!(
            attrs.iter().any(|a| a == "path=/"),
            "{what}: {name}{attributes}"
        );
        assert!(
            !attrs.iter().any(|a| a.starts_with("domain")),
            "{what}: {name}{attributes}"
        );
    }
    cookies.into_iter().map(|(name, _)| name).collect()
}

#[tokio::test]
async fn an_https_issuer_sets_host_prefixed_cookies_through_a_whole_flow() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = ua.authorize(&code_query(&[])).await;
    let names = assert_host_cookies(&res, "authorize");
    assert!(
        names[0].starts_with("__Host-oauth2_authentication_csrf_"),
        "{names:?}"
    );
    let lc = param(&res, "login_challenge");

    let res = accept_login(&h, &mut ua, &lc, remembered_login("alice")).await;
    let names = assert_host_cookies(&res, "login verifier");
    assert!(
        names.contains(&"__Host-oauth2_authentication_session".to_owned()),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("__Host-oauth2_consent_csrf_")),
        "{names:?}"
    );
    let cc = consent_challenge(&res);

    let res = accept_consent(&h, &mut ua, &cc, consent_to(&["openid"])).await;
    assert_host_cookies(&res, "consent verifier");
    assert!(redirect_param_of(&res, "code").is_some(), "{}", loc(&res));
    assert_eq!(ua.cookie_names(), ["__Host-oauth2_authentication_session"]);

    // The remembered session is read back under its prefixed name: the login is skipped.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert!(h.provider.login_request(&lc).await.unwrap().skip);

    // Logout reads and clears the prefixed cookie.
    let logout = http::Request::get("/oauth2/auth/sessions/login/revoke")
        .header("cookie", cookie_header(&ua))
        .body(bytes::Bytes::new())
        .unwrap();
    let res = h.provider.public().handle(logout).await;
    let names = assert_host_cookies(&res, "logout");
    assert_eq!(names, ["__Host-oauth2_authentication_session"]);
    let lc = login_challenge(&mut h.user_agent(), &code_query(&[])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
}

fn redirect_param_of(res: &Res, name: &str) -> Option<String> {
    oauth2_provider::testing::redirect_param(res, name)
}

#[tokio::test]
async fn an_http_loopback_issuer_keeps_the_plain_names() {
    let mut config = Config::new("http://127.0.0.1:4444/").unwrap();
    config.login_url = LOGIN.into();
    config.consent_url = CONSENT.into();
    config.error_url = ERROR.into();
    let h = harness_with(config).await;
    let mut ua = h.user_agent();
    let res = ua.authorize(&code_query(&[])).await;
    let cookies = set_cookies(&res);
    assert_eq!(cookies.len(), 1);
    let (name, attributes) = &cookies[0];
    assert!(name.starts_with("oauth2_authentication_csrf_"), "{name}");
    assert!(!attributes.contains("Secure"), "{attributes}");
    let lc = param(&res, "login_challenge");
    let res = accept_login(&h, &mut ua, &lc, remembered_login("alice")).await;
    let names: Vec<String> = set_cookies(&res).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"oauth2_authentication_session".to_owned()),
        "{names:?}"
    );
    assert_consent_gives_a_code(&h, &mut ua, &res).await;
}

/// Accepts the consent `res` redirected to and checks that the client gets a code.
async fn assert_consent_gives_a_code(h: &Harness, ua: &mut UserAgent, res: &Res) {
    let res = accept_consent(h, ua, &consent_challenge(res), consent_to(&["openid"])).await;
    assert!(redirect_param_of(&res, "code").is_some(), "{}", loc(&res));
}

/// The `Cookie` header the browser sends: every cookie of its jar.
fn cookie_header(ua: &UserAgent) -> String {
    ua.cookie_names()
        .iter()
        .map(|name| format!("{name}={}", ua.cookie(name).unwrap()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn abandoned_flows_do_not_grow_the_cookie_header_without_bound() {
    const FLOWS: usize = 20;
    let h = harness().await;
    let mut ua = h.user_agent();
    let mut challenges = Vec::new();
    for i in 0..FLOWS {
        // One second apart, so that "oldest" is well defined.
        h.clock.advance(Duration::seconds(1));
        let state = format!("abandoned-{i:04}");
        challenges.push(login_challenge(&mut ua, &code_query(&[("state", state.as_str())])).await);
    }
    let header = cookie_header(&ua);
    let csrf = ua
        .cookie_names()
        .iter()
        .filter(|n| n.contains("_csrf_"))
        .count();
    eprintln!(
        "after {FLOWS} abandoned flows: {csrf} CSRF cookies, Cookie header {} bytes",
        header.len()
    );
    assert!(csrf <= 5, "{csrf} CSRF cookies in one browser");
    assert!(
        header.len() < 1024,
        "Cookie header of {} bytes",
        header.len()
    );

    // The latest flows still complete, at the login and at the consent step …
    let latest = challenges.last().unwrap();
    let res = accept_login(&h, &mut ua, latest, login_as("alice")).await;
    assert_consent_gives_a_code(&h, &mut ua, &res).await;
    let oldest_kept = &challenges[FLOWS - 5];
    let res = accept_login(&h, &mut ua, oldest_kept, login_as("alice")).await;
    consent_challenge(&res);
    // … while the oldest one lost its cookie and is refused as from another browser.
    let res = accept_login(&h, &mut ua, &challenges[0], login_as("alice")).await;
    assert_client_error(&res, "request_forbidden");
    let csrf = ua
        .cookie_names()
        .iter()
        .filter(|n| n.contains("_csrf_"))
        .count();
    assert!(csrf <= 5, "{csrf} CSRF cookies in one browser");
}
