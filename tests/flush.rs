//! `POST /oauth2/flush`: deletes only what expired before `notAfter` (clamped to now), in
//! batches (reference §3.14, catalog item 54, checklist RL-7).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::seed;
use common::*;
use http::{Method, StatusCode};
use oauth2_provider::store::{CodeRecord, IssuedTokens, TokenKind};
use oauth2_provider::{Clock, FlushSummary, Provider};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

async fn flush(p: &Provider, body: serde_json::Value) {
    let res = p
        .admin()
        .handle(json_request(Method::POST, "/oauth2/flush", &body))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(res.body())
    );
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

async fn access_exists(p: &Provider, token: &str) -> bool {
    p.store()
        .access_token(&seed::signature(token))
        .await
        .is_ok()
}

/// Inserts an access token issued `age` ago that lived one hour; returns it.
async fn access_token_aged(p: &Provider, now: OffsetDateTime, age: Duration) -> String {
    let grant = seed::grant("app", "alice", &["core"], now - age);
    let (token, record) = seed::token_record(
        TokenKind::AccessToken,
        &grant,
        now - age,
        Some(Duration::hours(1)),
    );
    p.store()
        .insert_tokens(IssuedTokens {
            access: record,
            refresh: None,
        })
        .await
        .unwrap();
    token
}

#[tokio::test]
async fn hydra_catalog_54_not_after_bounds_what_is_removed() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let now = clock.now();
    // Expired 2 h ago, expired 30 min ago, and still active for 30 min.
    let oldest = access_token_aged(&p, now, Duration::hours(3)).await;
    let older = access_token_aged(&p, now, Duration::minutes(90)).await;
    let active = access_token_aged(&p, now, Duration::minutes(30)).await;

    flush(&p, json!({"notAfter": rfc3339(now - Duration::hours(24))})).await;
    assert!(access_exists(&p, &oldest).await && access_exists(&p, &older).await);

    flush(&p, json!({"notAfter": rfc3339(now - Duration::hours(1))})).await;
    assert!(!access_exists(&p, &oldest).await, "expired before notAfter");
    assert!(access_exists(&p, &older).await, "expired after notAfter");

    flush(&p, json!({"notAfter": rfc3339(now)})).await;
    assert!(!access_exists(&p, &older).await);
    assert!(access_exists(&p, &active).await);
    assert!(seed::is_active(&p, &active).await);
}

#[tokio::test]
async fn empty_body_and_empty_object_mean_now() {
    for body in [
        "",
        "{}",
        r#"{"notAfter":null}"#,
        r#"{"notAfter":"0001-01-01T00:00:00Z"}"#,
    ] {
        let (p, clock) = provider().await;
        seed::client(&p, "app").await;
        let expired = access_token_aged(&p, clock.now(), Duration::hours(2)).await;
        let active = access_token_aged(&p, clock.now(), Duration::minutes(1)).await;
        let res = p
            .admin()
            .handle(raw_request(
                Method::POST,
                "/oauth2/flush",
                "application/json",
                body,
            ))
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "body {body:?}");
        assert!(!access_exists(&p, &expired).await, "body {body:?}");
        assert!(access_exists(&p, &active).await, "body {body:?}");
    }
}

#[tokio::test]
async fn a_future_not_after_never_deletes_active_tokens() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let now = clock.now();
    let active = access_token_aged(&p, now, Duration::minutes(1)).await;
    let grant = seed::grant("app", "alice", &["core", "offline"], now);
    let issued = seed::tokens(&p, &grant, now, Duration::hours(1)).await;
    flush(&p, json!({"notAfter": rfc3339(now + Duration::days(365))})).await;
    let summary = p.flush(Some(now + Duration::days(3650))).await.unwrap();
    assert_eq!(summary, FlushSummary::default());
    for token in [&active, &issued.access, &issued.refresh] {
        assert!(seed::is_active(&p, token).await);
    }
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let (p, _clock) = provider().await;
    for body in [
        "{",
        "[]",
        r#"{"notAfter":"yesterday"}"#,
        r#"{"notAfter":12}"#,
        r#"{"not_after":"2020-01-01T00:00:00Z"}"#,
    ] {
        let res = p
            .admin()
            .handle(raw_request(
                Method::POST,
                "/oauth2/flush",
                "application/json",
                body,
            ))
            .await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let res = p
        .public()
        .handle(json_request(Method::POST, "/oauth2/flush", &json!({})))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "admin only");
}

#[tokio::test]
async fn flush_drains_many_batches_and_other_expired_records() {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    let now = clock.now();
    let grant = seed::grant("app", "alice", &["core"], now);
    for _ in 0..2_500 {
        let (_, record) = seed::token_record(
            TokenKind::AccessToken,
            &grant,
            now,
            Some(Duration::minutes(5)),
        );
        p.store()
            .insert_tokens(IssuedTokens {
                access: record,
                refresh: None,
            })
            .await
            .unwrap();
    }
    let keep = access_token_aged(&p, now, Duration::ZERO).await;
    p.store()
        .insert_code(CodeRecord {
            signature: seed::random(),
            grant: grant.clone(),
            redirect_uri: None,
            effective_redirect_uri: "https://app.example/cb".into(),
            code_challenge: None,
            nonce: None,
            issued_at: now,
            expires_at: now + Duration::minutes(10),
            used: false,
        })
        .await
        .unwrap();
    seed::login_session(&p, "alice", now).await; // lives a day
    let challenge = seed::consent(&p, "alice", "app", false, 0, now).await; // lives 15 min
    clock.advance(Duration::minutes(20));
    let summary = p.flush(None).await.unwrap();
    assert_eq!(summary.tokens, 2_501, "2 500 tokens and the code");
    assert_eq!(summary.requests, 1);
    assert_eq!(summary.login_sessions, 0);
    assert!(p.store().consent_request(&challenge).await.is_err());
    assert!(access_exists(&p, &keep).await);
    clock.advance(Duration::days(1));
    let summary = p.flush(None).await.unwrap();
    assert_eq!(summary.login_sessions, 1);
    assert_eq!(summary.tokens, 1);
}
