//! `POST /oauth2/introspect` (RFC 7662): active tokens described, everything else exactly
//! `{"active":false}` (reference §3.10, test catalog item 55).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::seed::{self, Issued};
use common::*;
use http::{Method, StatusCode};
use oauth2_provider::store::{IssuedTokens, TokenKind};
use std::sync::Arc;

use oauth2_provider::{Clock, Introspection, ManualClock, Provider};
use serde_json::{Value, json};
use time::Duration;

async fn seeded() -> (Provider, Arc<ManualClock>, Issued) {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let mut grant = seed::grant("app", "alice", &["core", "foo.*", "offline"], clock.now());
    grant
        .access_token_extra
        .insert("foo".into(), Value::from("bar"));
    let issued = seed::tokens(&p, &grant, clock.now(), Duration::hours(1)).await;
    (p, clock, issued)
}

async fn introspect_with(p: &Provider, pairs: &[(&str, &str)]) -> Value {
    let res = p
        .admin()
        .handle(form_request("/oauth2/introspect", pairs))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    body_json(&res)
}

#[tokio::test]
async fn active_access_token_is_described_with_hydra_fields() {
    let (p, _clock, issued) = seeded().await;
    let body = seed::introspect(&p, &issued.access).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "core foo.* offline");
    assert_eq!(body["client_id"], "app");
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["iss"], ISSUER, "issuer byte-for-byte");
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["ext"], json!({"foo": "bar"}));
    let iat = body["iat"].as_i64().unwrap();
    assert_eq!(body["nbf"].as_i64().unwrap(), iat);
    assert_eq!(body["exp"].as_i64().unwrap(), iat + 3600);
    assert!(body.get("aud").is_none(), "no audience is reported");
    assert!(body.get("obfuscated_subject").is_none());
    assert!(body.get("username").is_none());
}

#[tokio::test]
async fn refresh_token_is_described_without_expiry() {
    let (p, _clock, issued) = seeded().await;
    let body = seed::introspect(&p, &issued.refresh).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["sub"], "alice");
    assert!(
        body.get("exp").is_none(),
        "refresh tokens here never expire"
    );
}

#[tokio::test]
async fn dead_tokens_are_exactly_active_false() {
    let (p, _clock, issued) = seeded().await;
    let id_token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
    let swapped_prefix = issued.access.replacen("op_at_", "op_rt_", 1);
    let code = issued.access.replacen("op_at_", "op_ac_", 1);
    let unprefixed = issued.access.trim_start_matches("op_at_").to_owned();
    for token in [
        "garbage",
        "op_at_",
        "op_at_unknown",
        id_token,
        &swapped_prefix,
        &code,
        &unprefixed,
        "\u{0}\u{7f}é",
    ] {
        let body = seed::introspect(&p, token).await;
        assert_eq!(body, json!({"active": false}), "token {token:?}");
    }
}

#[tokio::test]
async fn expired_access_token_is_inactive() {
    let (p, clock, issued) = seeded().await;
    clock.advance(Duration::minutes(59));
    assert!(seed::is_active(&p, &issued.access).await);
    clock.advance(Duration::minutes(1));
    assert_eq!(
        seed::introspect(&p, &issued.access).await,
        json!({"active": false})
    );
    // The refresh token does not expire with it.
    assert!(seed::is_active(&p, &issued.refresh).await);
}

#[tokio::test]
async fn scope_must_be_covered_with_wildcards() {
    let (p, _clock, issued) = seeded().await;
    for (scope, active) in [
        ("core", true),
        ("foo.bar", true),
        ("foo.bar.baz", true),
        ("core foo.bar", true),
        ("bar", false),
        ("core bar", false),
        ("foo", false),
    ] {
        let body = introspect_with(&p, &[("token", &issued.access), ("scope", scope)]).await;
        assert_eq!(body["active"], active, "scope {scope:?}: {body}");
        if !active {
            assert_eq!(body, json!({"active": false}));
        }
    }
}

#[tokio::test]
async fn token_type_hint_is_only_a_hint() {
    let (p, _clock, issued) = seeded().await;
    for (token, hint, kind) in [
        (&issued.access, "refresh_token", "access_token"),
        (&issued.refresh, "access_token", "refresh_token"),
        (&issued.access, "something_else", "access_token"),
    ] {
        let body = introspect_with(&p, &[("token", token), ("token_type_hint", hint)]).await;
        assert_eq!(body["active"], true);
        assert_eq!(body["token_type"], kind);
    }
}

#[tokio::test]
async fn revoked_and_rotated_tokens_are_inactive() {
    let (p, clock, issued) = seeded().await;
    let grant = p
        .store()
        .access_token(&seed::signature(&issued.access))
        .await
        .unwrap()
        .grant;
    // Rotation: the old refresh token and the old access token die, the new pair lives.
    let now = clock.now();
    let (new_access, access) = seed::token_record(
        TokenKind::AccessToken,
        &grant,
        now,
        Some(Duration::hours(1)),
    );
    let (new_refresh, refresh) = seed::token_record(TokenKind::RefreshToken, &grant, now, None);
    p.store()
        .rotate_refresh_token(
            &seed::signature(&issued.refresh),
            IssuedTokens {
                access,
                refresh: Some(refresh),
            },
        )
        .await
        .unwrap();
    assert!(!seed::is_active(&p, &issued.refresh).await);
    assert!(!seed::is_active(&p, &issued.access).await);
    assert!(seed::is_active(&p, &new_access).await);
    assert!(seed::is_active(&p, &new_refresh).await);
    // Revocation of the grant kills the rest of the family.
    p.store().revoke_grant(&grant.grant_id).await.unwrap();
    clock.advance(Duration::seconds(1));
    for token in [&new_access, &new_refresh] {
        assert_eq!(seed::introspect(&p, token).await, json!({"active": false}));
    }
}

#[tokio::test]
async fn pairwise_subject_is_reported_as_obfuscated_subject() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let now = clock.now();
    let mut grant = seed::grant("app", "alice", &["core"], now);
    grant.subject_identifier =
        "c737d5e1fec8896d096d49f6b1a73eb45ac7becb87de9ac3f0a350bad2a9c9fd".into();
    let issued = seed::tokens(&p, &grant, now, Duration::hours(1)).await;
    let body = seed::introspect(&p, &issued.access).await;
    assert_eq!(body["sub"], "alice");
    assert_eq!(
        body["obfuscated_subject"],
        "c737d5e1fec8896d096d49f6b1a73eb45ac7becb87de9ac3f0a350bad2a9c9fd"
    );
}

#[tokio::test]
async fn tokens_of_a_deleted_client_are_inactive() {
    let (p, _clock, issued) = seeded().await;
    assert!(seed::is_active(&p, &issued.access).await);
    // Deleting the client alone already makes its tokens dead …
    p.store().delete_client("app").await.unwrap();
    assert!(!seed::is_active(&p, &issued.access).await);
    assert!(!seed::is_active(&p, &issued.refresh).await);
    // … and with the revocation that accompanies deletion they stay dead when a client with
    // the same id is registered again.
    p.store().revoke_client_tokens("app").await.unwrap();
    seed::client(&p, "app").await;
    assert!(!seed::is_active(&p, &issued.access).await);
    assert!(!seed::is_active(&p, &issued.refresh).await);
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let (p, _clock, issued) = seeded().await;
    let admin = p.admin();
    let res = admin
        .handle(empty_request(Method::POST, "/oauth2/introspect"))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = admin
        .handle(form_request("/oauth2/introspect", &[("scope", "core")]))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = admin
        .handle(form_request(
            "/oauth2/introspect",
            &[("token", &issued.access), ("token", &issued.refresh)],
        ))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = admin
        .handle(raw_request(
            Method::POST,
            "/oauth2/introspect",
            "application/json",
            format!(r#"{{"token":"{}"}}"#, issued.access),
        ))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = admin
        .handle(empty_request(Method::GET, "/oauth2/introspect"))
        .await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Never on the public API.
    let res = p
        .public()
        .handle(form_request(
            "/oauth2/introspect",
            &[("token", &issued.access)],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn typed_api_matches_the_wire() {
    let (p, _clock, issued) = seeded().await;
    let typed = p.introspect(&issued.access, Some("foo.x")).await.unwrap();
    assert!(typed.active);
    assert_eq!(typed.sub, "alice");
    let wire: Introspection =
        serde_json::from_value(seed::introspect(&p, &issued.access).await).unwrap();
    assert_eq!(typed, wire);
    assert_eq!(
        p.introspect("nope", None).await.unwrap(),
        Introspection::inactive()
    );
    assert_eq!(
        serde_json::to_value(Introspection::inactive()).unwrap(),
        json!({"active": false})
    );
}
