//! Consent and login sessions (admin) and the browser logout (reference §3.13, catalog items
//! 60–63).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::seed;
use common::*;
use http::{Method, StatusCode};
use oauth2_provider::store::{HandledConsent, RejectedRequest};
use oauth2_provider::{Clock, Config, Provider};
use serde_json::{Value, json};
use time::Duration;

async fn list(p: &Provider, uri: &str) -> Value {
    let res = p.admin().handle(empty_request(Method::GET, uri)).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(res.body())
    );
    body_json(&res)
}

async fn delete(p: &Provider, uri: &str) -> StatusCode {
    p.admin()
        .handle(empty_request(Method::DELETE, uri))
        .await
        .status()
}

fn challenges(sessions: &Value) -> Vec<String> {
    sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["consent_request"]["challenge"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn only_remembered_unexpired_accepted_consents_are_listed() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let now = clock.now();
    let hour_ago = now - Duration::hours(1);
    let forever = seed::consent(&p, "alice", "app", true, 0, hour_ago).await;
    let for_two_hours = seed::consent(&p, "alice", "app", true, 7200, hour_ago).await;
    seed::consent(&p, "alice", "app", true, 1, hour_ago).await; // ran out
    seed::consent(&p, "alice", "app", false, 0, now).await; // not remembered
    seed::consent(&p, "bob", "app", true, 0, now).await; // another subject
    let body = list(&p, "/oauth2/auth/sessions/consent/alice").await;
    let mut found = challenges(&body);
    found.sort();
    let mut expected = vec![forever.clone(), for_two_hours.clone()];
    expected.sort();
    assert_eq!(found, expected);
    // After another hour the two-hour consent has run out.
    clock.advance(Duration::hours(1));
    let body = list(&p, "/oauth2/auth/sessions/consent/alice").await;
    assert_eq!(challenges(&body), vec![forever]);
    assert_eq!(
        list(&p, "/oauth2/auth/sessions/consent/carol").await,
        json!([])
    );
}

#[tokio::test]
async fn rejected_consents_are_not_listed() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let challenge = seed::consent(&p, "alice", "app", true, 0, clock.now()).await;
    // Turn the record into a rejected one with a new challenge.
    let mut record = p.store().consent_request(&challenge).await.unwrap();
    p.store().revoke_consents("alice", None).await.unwrap();
    record.challenge = seed::random();
    record.verifier_digest = seed::random();
    record.handled = None;
    let rejected = record.challenge.clone();
    p.store().create_consent_request(record).await.unwrap();
    p.store()
        .handle_consent_request(
            &rejected,
            HandledConsent::Rejected(RejectedRequest::default()),
        )
        .await
        .unwrap();
    assert_eq!(
        list(&p, "/oauth2/auth/sessions/consent/alice").await,
        json!([])
    );
}

#[tokio::test]
async fn consent_sessions_have_hydra_shape_without_client_secret() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let challenge = seed::consent(&p, "alice", "app", true, 3600, clock.now()).await;
    let body = list(&p, "/oauth2/auth/sessions/consent/alice").await;
    let session = &body[0];
    assert_eq!(session["consent_request"]["challenge"], challenge.as_str());
    assert_eq!(session["consent_request"]["subject"], "alice");
    assert_eq!(session["consent_request"]["skip"], false);
    assert_eq!(
        session["consent_request"]["requested_scope"],
        json!(["openid", "core"])
    );
    assert!(session["consent_request"]["request_url"].is_string());
    assert!(session["consent_request"]["oidc_context"].is_object());
    let client = &session["consent_request"]["client"];
    assert_eq!(client["client_id"], "app");
    assert!(client.get("client_secret").is_none());
    assert_eq!(session["grant_scope"], json!(["openid", "core"]));
    assert_eq!(session["session"]["access_token"], json!({"foo": "bar"}));
    assert_eq!(session["session"]["id_token"], json!({}));
    assert_eq!(session["remember"], true);
    assert_eq!(session["remember_for"], 3600);
    // The typed API agrees.
    let typed = p.consent_sessions("alice", 10, 0).await.unwrap();
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].challenge(), challenge);
    assert_eq!(typed[0].client().client_id, "app");
    assert_eq!(typed[0].remember_for(), 3600);
}

#[tokio::test]
async fn consent_sessions_paginate() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    for i in 0..3 {
        seed::consent(
            &p,
            "alice",
            "app",
            true,
            0,
            clock.now() - Duration::minutes(i),
        )
        .await;
    }
    let all = challenges(&list(&p, "/oauth2/auth/sessions/consent/alice").await);
    assert_eq!(all.len(), 3);
    let page = challenges(&list(&p, "/oauth2/auth/sessions/consent/alice?limit=1&offset=1").await);
    assert_eq!(page, vec![all[1].clone()]);
    let res = p
        .admin()
        .handle(empty_request(
            Method::GET,
            "/oauth2/auth/sessions/consent/alice?limit=x",
        ))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn revoking_consents_revokes_their_tokens() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    seed::client(&p, "other").await;
    let now = clock.now();
    let c1 = seed::consent(&p, "alice", "app", true, 0, now).await;
    let c2 = seed::consent(&p, "alice", "other", false, 0, now).await;
    let c3 = seed::consent(&p, "bob", "app", true, 0, now).await;
    let t1 = seed::consent_tokens(&p, &c1, "alice", "app", now).await;
    let t2 = seed::consent_tokens(&p, &c2, "alice", "other", now).await;
    let t3 = seed::consent_tokens(&p, &c3, "bob", "app", now).await;

    // One client of alice.
    assert_eq!(
        delete(&p, "/oauth2/auth/sessions/consent/alice/other").await,
        StatusCode::NO_CONTENT
    );
    assert!(p.store().consent_request(&c2).await.is_err());
    assert!(!seed::is_active(&p, &t2.access).await && !seed::is_active(&p, &t2.refresh).await);
    assert!(seed::is_active(&p, &t1.access).await);
    assert_eq!(
        delete(&p, "/oauth2/auth/sessions/consent/alice/other").await,
        StatusCode::NOT_FOUND
    );

    // All of alice.
    assert_eq!(
        delete(&p, "/oauth2/auth/sessions/consent/alice").await,
        StatusCode::NO_CONTENT
    );
    assert!(p.store().consent_request(&c1).await.is_err());
    assert!(!seed::is_active(&p, &t1.access).await && !seed::is_active(&p, &t1.refresh).await);
    assert_eq!(
        list(&p, "/oauth2/auth/sessions/consent/alice").await,
        json!([])
    );
    assert_eq!(
        delete(&p, "/oauth2/auth/sessions/consent/alice").await,
        StatusCode::NOT_FOUND
    );

    // Bob untouched.
    assert!(p.store().consent_request(&c3).await.is_ok());
    assert!(seed::is_active(&p, &t3.access).await && seed::is_active(&p, &t3.refresh).await);
    assert!(p.revoke_consent_sessions("bob", Some("app")).await.is_ok());
    assert!(!seed::is_active(&p, &t3.refresh).await);
}

#[tokio::test]
async fn revoking_login_sessions_leaves_tokens() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let now = clock.now();
    let a1 = seed::login_session(&p, "alice", now).await;
    let a2 = seed::login_session(&p, "alice", now).await;
    let b = seed::login_session(&p, "bob", now).await;
    let c = seed::consent(&p, "alice", "app", true, 0, now).await;
    let tokens = seed::consent_tokens(&p, &c, "alice", "app", now).await;
    assert_eq!(
        delete(&p, "/oauth2/auth/sessions/login/alice").await,
        StatusCode::NO_CONTENT
    );
    assert!(p.store().login_session(&a1).await.is_err());
    assert!(p.store().login_session(&a2).await.is_err());
    assert!(p.store().login_session(&b).await.is_ok());
    assert!(seed::is_active(&p, &tokens.access).await);
    assert_eq!(
        list(&p, "/oauth2/auth/sessions/consent/alice")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let res = p
        .admin()
        .handle(empty_request(
            Method::DELETE,
            "/oauth2/auth/sessions/login/alice",
        ))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    assert!(p.revoke_login_sessions("bob").await.is_ok());
}

#[tokio::test]
async fn logout_without_a_valid_cookie_still_clears_and_redirects() {
    let mut config = Config::new(ISSUER).unwrap();
    config.logout_redirect_url = "https://app.example/logged-out".into();
    let (p, clock) = provider_with(config).await;
    let session = seed::login_session(&p, "alice", clock.now()).await;
    for cookie in [
        None,
        Some(format!("__Host-oauth2_authentication_session={session}")),
        Some("__Host-oauth2_authentication_session=forged.123.abc".to_owned()),
    ] {
        let mut req = empty_request(Method::GET, "/oauth2/auth/sessions/login/revoke");
        if let Some(cookie) = cookie {
            req.headers_mut().insert("cookie", cookie.parse().unwrap());
        }
        let res = p.public().handle(req).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(res.headers()["location"], "https://app.example/logged-out");
        let set_cookie = res.headers()["set-cookie"].to_str().unwrap();
        assert!(set_cookie.starts_with("__Host-oauth2_authentication_session=;"));
        assert!(set_cookie.contains("Max-Age=0"));
        assert!(set_cookie.contains("Secure"));
    }
    // An unsigned session id cannot end someone's session.
    assert!(p.store().login_session(&session).await.is_ok());
    // The admin API does not serve it (there the path names the user "revoke").
    let res = p
        .admin()
        .handle(empty_request(
            Method::GET,
            "/oauth2/auth/sessions/login/revoke",
        ))
        .await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}
