//! Store faults and races (checklist RL-8, peer vulnerability #3 — fosite CVE-2020-15223).
//!
//! A [`FaultyStore`] delegates every call to a [`MemoryStore`] and fails the n-th one with
//! `StoreError::Backend` *before* it reaches the inner store. Each operation is run once per
//! store call it makes, failing that call: every run must answer 5xx (never a false success,
//! never `active:false`), and afterwards, with faults off, the state must be what it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::seed::{self, Issued};
use common::*;
use http::{Method, Response, StatusCode};
use oauth2_provider::store::TokenKind;
use oauth2_provider::testing::FaultyStore;
use oauth2_provider::{Clock, ManualClock, Provider};
use time::Duration;

/// Runs `op` failing its 1st, 2nd, … store call until a run makes no failing call; each
/// failing run must answer 5xx and leave `unchanged` true. Returns the failed calls' names.
async fn fail_each_call(
    store: &FaultyStore,
    op: impl AsyncFn() -> Response<Bytes>,
    unchanged: impl AsyncFn() -> bool,
) -> Vec<&'static str> {
    let mut failed = Vec::new();
    for n in 1..=64 {
        store.fail_call(n);
        let res = op().await;
        let Some(call) = store.disarm() else {
            assert!(!failed.is_empty(), "the operation made no store call");
            return failed;
        };
        assert!(
            res.status().is_server_error(),
            "failing {call} (call {n}) answered {}: {}",
            res.status(),
            String::from_utf8_lossy(res.body())
        );
        assert!(unchanged().await, "state changed after failing {call}");
        failed.push(call);
    }
    panic!("more than 64 store calls");
}

async fn seeded() -> (Provider, Arc<FaultyStore>, Arc<ManualClock>, Issued) {
    let (p, store, clock) = faulty_provider().await;
    seed::client(&p, "app").await;
    let grant = seed::grant("app", "alice", &["core", "offline"], clock.now());
    let issued = seed::tokens(&p, &grant, clock.now(), Duration::hours(1)).await;
    (p, store, clock, issued)
}

async fn both_active(p: &Provider, issued: &Issued) -> bool {
    seed::is_active(p, &issued.access).await && seed::is_active(p, &issued.refresh).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_revocation_is_5xx_and_the_token_stays_valid() {
    let (p, store, clock, _) = seeded().await;
    for kind in [TokenKind::AccessToken, TokenKind::RefreshToken] {
        let grant = seed::grant("app", "alice", &["core", "offline"], clock.now());
        let issued = seed::tokens(&p, &grant, clock.now(), Duration::hours(1)).await;
        let token = match kind {
            TokenKind::AccessToken => &issued.access,
            TokenKind::RefreshToken => &issued.refresh,
        };
        let failed = fail_each_call(
            &store,
            async || {
                p.public()
                    .handle(revoke_request("app", &[("token", token)]))
                    .await
            },
            async || both_active(&p, &issued).await,
        )
        .await;
        let lookup = match kind {
            TokenKind::AccessToken => "access_token",
            TokenKind::RefreshToken => "refresh_token",
        };
        assert_eq!(failed, ["client", lookup, "revoke_grant"]);
        // The run without a fault revoked the grant.
        assert!(!seed::is_active(&p, &issued.access).await);
        assert!(!seed::is_active(&p, &issued.refresh).await);
    }
    // The failure of the revoking call itself is retryable: 503 temporarily_unavailable.
    let grant = seed::grant("app", "alice", &["core", "offline"], clock.now());
    let issued = seed::tokens(&p, &grant, clock.now(), Duration::hours(1)).await;
    store.fail_call(3);
    let res = p
        .public()
        .handle(revoke_request("app", &[("token", &issued.access)]))
        .await;
    assert_eq!(store.disarm(), Some("revoke_grant"));
    assert_error(
        &res,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(both_active(&p, &issued).await);
    let res = p
        .public()
        .handle(revoke_request("app", &[("token", &issued.access)]))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!both_active(&p, &issued).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_introspection_is_500_never_inactive() {
    let (p, store, _clock, issued) = seeded().await;
    for token in [&issued.access, &issued.refresh] {
        let failed = fail_each_call(
            &store,
            async || {
                p.admin()
                    .handle(form_request("/oauth2/introspect", &[("token", token)]))
                    .await
            },
            async || both_active(&p, &issued).await,
        )
        .await;
        assert_eq!(failed.len(), 2, "token and client lookups: {failed:?}");
    }
    store.fail_call(1);
    let res = p
        .admin()
        .handle(form_request(
            "/oauth2/introspect",
            &[("token", &issued.access)],
        ))
        .await;
    store.disarm();
    assert_error(&res, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_flush_is_500_and_deletes_nothing_usable() {
    let (p, store, clock, issued) = seeded().await;
    let old = seed::grant("app", "bob", &["core"], clock.now() - Duration::hours(3));
    let expired = seed::tokens(
        &p,
        &old,
        clock.now() - Duration::hours(3),
        Duration::hours(1),
    )
    .await;
    let failed = fail_each_call(
        &store,
        async || {
            p.admin()
                .handle(empty_request(Method::POST, "/oauth2/flush"))
                .await
        },
        async || both_active(&p, &issued).await,
    )
    .await;
    assert_eq!(
        failed,
        vec!["flush_tokens", "flush_requests", "flush_login_sessions"]
    );
    assert!(both_active(&p, &issued).await);
    assert!(
        p.store()
            .access_token(&seed::signature(&expired.access))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_session_operations_are_5xx_and_change_nothing() {
    let (p, store, clock, _) = seeded().await;
    let now = clock.now();
    let challenge = seed::consent(&p, "alice", "app", true, 0, now).await;
    let tokens = seed::consent_tokens(&p, &challenge, "alice", "app", now).await;
    let session = seed::login_session(&p, "alice", now).await;

    let failed = fail_each_call(
        &store,
        async || {
            p.admin()
                .handle(empty_request(
                    Method::GET,
                    "/oauth2/auth/sessions/consent/alice",
                ))
                .await
        },
        async || true,
    )
    .await;
    assert_eq!(failed, vec!["consent_sessions", "client"]);

    let failed = fail_each_call(
        &store,
        async || {
            p.admin()
                .handle(empty_request(
                    Method::DELETE,
                    "/oauth2/auth/sessions/login/alice",
                ))
                .await
        },
        async || p.store().login_session(&session).await.is_ok(),
    )
    .await;
    assert_eq!(failed, vec!["end_login_sessions"]);
    assert!(p.store().login_session(&session).await.is_err());

    // Consent revocation is one store call: failing it changes nothing.
    store.fail_call(1);
    let res = p
        .admin()
        .handle(empty_request(
            Method::DELETE,
            "/oauth2/auth/sessions/consent/alice",
        ))
        .await;
    assert_eq!(store.disarm(), Some("revoke_consents"));
    assert_error(&res, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert!(p.store().consent_request(&challenge).await.is_ok());
    assert!(both_active(&p, &tokens).await);
    // The retry finds the consent again and revokes it with its tokens.
    let res = p
        .admin()
        .handle(empty_request(
            Method::DELETE,
            "/oauth2/auth/sessions/consent/alice",
        ))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(p.store().consent_request(&challenge).await.is_err());
    assert!(!seed::is_active(&p, &tokens.access).await);
    assert!(!seed::is_active(&p, &tokens.refresh).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_preflight_lookup_allows_nothing() {
    let (p, store, _clock, _) = seeded().await;
    seed::client_with_origins(&p, "spa", vec!["https://spa.example".into()]).await;
    store.fail_call(1);
    let mut req = empty_request(Method::OPTIONS, "/oauth2/token");
    req.headers_mut()
        .insert("origin", "https://spa.example".parse().unwrap());
    let res = p.public().handle(req).await;
    assert_eq!(store.disarm(), Some("origin_allowed"));
    assert!(res.status().is_server_error());
    assert!(!res.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_code_exchange_is_5xx_and_issues_nothing() {
    let (p, store, clock) = faulty_provider().await;
    seed::code_client(&p, "app").await;
    let (code, _) = seed::issue_code(&p, &clock, "app", &["openid", "offline"]).await;
    let failed = fail_each_call(
        &store,
        async || p.public().handle(code_exchange("app", &code)).await,
        // Nothing was redeemed: the code is still unused, so no token of it exists.
        async || !p.store().code(&seed::signature(&code)).await.unwrap().used,
    )
    .await;
    assert_eq!(failed, ["client", "code", "redeem_code"]);
    // The run without a fault redeemed it.
    let res = p.public().handle(code_exchange("app", &code)).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "the code is used now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_refresh_is_5xx_and_keeps_the_old_pair() {
    let (p, store, clock) = faulty_provider().await;
    seed::code_client(&p, "app").await;
    let first = seed::tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    let access = first["access_token"].as_str().unwrap().to_owned();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let failed = fail_each_call(
        &store,
        async || p.public().handle(refresh_request("app", &refresh)).await,
        async || {
            seed::access_active(&p, &clock, &access).await
                && seed::refresh_active(&p, &clock, &refresh).await
        },
    )
    .await;
    assert_eq!(failed, ["client", "refresh_token", "rotate_refresh_token"]);
    // The clean run rotated: the old pair is dead now.
    assert!(!seed::refresh_active(&p, &clock, &refresh).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_client_credentials_is_5xx() {
    let (p, store, _clock) = faulty_provider().await;
    seed::create_confidential(
        &p,
        seed::client_model("machine", &["client_credentials"], "core"),
    )
    .await;
    let request = || {
        token_request(
            "machine",
            &[("grant_type", "client_credentials"), ("scope", "core")],
        )
    };
    let failed = fail_each_call(
        &store,
        async || p.public().handle(request()).await,
        async || true,
    )
    .await;
    assert_eq!(failed, ["client", "insert_tokens"]);
    let res = p.public().handle(request()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// The refresh grant and the revocation endpoint racing over HTTP: whichever wins, no token
/// of the grant is active afterwards — revoking a token that rotation already killed still
/// revokes its grant, including the pair the rotation minted.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn revocation_racing_with_refresh_over_http_leaves_no_active_token() {
    let (p, _store, clock) = faulty_provider().await;
    seed::code_client(&p, "app").await;
    for round in 0..50 {
        let first = seed::tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
        let access = first["access_token"].as_str().unwrap().to_owned();
        let refresh = first["refresh_token"].as_str().unwrap().to_owned();
        let barrier = Arc::new(tokio::sync::Barrier::new(3));
        let spawn = |req: http::Request<Bytes>| {
            let (p, barrier) = (p.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                p.public().handle(req).await
            })
        };
        let refreshed = spawn(refresh_request("app", &refresh));
        let revoked_by_access = spawn(revoke_request("app", &[("token", &access)]));
        let revoked_by_refresh = spawn(revoke_request("app", &[("token", &refresh)]));
        let refreshed = refreshed.await.unwrap();
        assert_eq!(revoked_by_access.await.unwrap().status(), StatusCode::OK);
        assert_eq!(revoked_by_refresh.await.unwrap().status(), StatusCode::OK);
        let mut all = vec![access, refresh];
        match refreshed.status() {
            StatusCode::OK => {
                let body = body_json(&refreshed);
                all.push(body["access_token"].as_str().unwrap().to_owned());
                all.push(body["refresh_token"].as_str().unwrap().to_owned());
            }
            StatusCode::BAD_REQUEST => {}
            other => panic!("round {round}: refresh answered {other}"),
        }
        for token in &all {
            assert!(
                !seed::is_active(&p, token).await,
                "round {round}: {token} of the revoked grant is active"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_revocations_of_one_token_all_succeed() {
    let (p, _store, _clock, issued) = seeded().await;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (p, token) = (p.clone(), issued.refresh.clone());
            tokio::spawn(async move {
                p.public()
                    .handle(revoke_request("app", &[("token", &token)]))
                    .await
                    .status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert!(!seed::is_active(&p, &issued.access).await);
    assert!(!seed::is_active(&p, &issued.refresh).await);
}
