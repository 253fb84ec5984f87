//! Races at the token endpoint on the multi-threaded runtime: one code redeemed by many
//! requests at once, one refresh token refreshed by many requests at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::seed::*;
use common::*;
use http::Response;
use oauth2_provider::Provider;

const N: usize = 32;

/// Sends `N` copies of a request at once, released together by a barrier.
async fn race(p: &Provider, make: impl Fn() -> http::Request<Bytes>) -> Vec<Response<Bytes>> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let p = p.clone();
            let req = make();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                p.public().handle(req).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(N);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

fn split(responses: &[Response<Bytes>]) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for res in responses {
        assert!(
            res.status() == 200 || res.status() == 400,
            "status {}",
            res.status()
        );
        assert_no_store(res);
        if res.status() == 200 {
            ok.push(body_json(res));
        } else {
            failed.push(body_json(res));
        }
    }
    (ok, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_redemptions_of_one_code_yield_one_success_and_revoke_it() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid", "offline"]).await;
    let responses = race(&p, || code_exchange("app", &code)).await;
    let (ok, failed) = split(&responses);
    assert_eq!(ok.len(), 1, "exactly one redemption wins");
    assert_eq!(failed.len(), N - 1);
    assert!(failed.iter().all(|e| e["error"] == "invalid_grant"));
    let winner = &ok[0];
    assert!(
        !access_active(&p, &clock, winner["access_token"].as_str().unwrap()).await,
        "the losers' reuse revoked the winner's access token"
    );
    assert!(!refresh_active(&p, &clock, winner["refresh_token"].as_str().unwrap()).await);
}

/// Documented behaviour: with rotation and reuse detection, parallel refreshes with one
/// token are indistinguishable from a replay by a thief. One request rotates; every other
/// one is reuse and revokes the whole family — including the winner's new pair. Never a
/// 500, never two live pairs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_refreshes_yield_one_pair_and_end_with_the_family_revoked() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let responses = race(&p, || refresh_request("app", &rt)).await;
    let (ok, failed) = split(&responses);
    assert_eq!(ok.len(), 1, "exactly one refresh rotates the token");
    assert!(failed.iter().all(|e| e["error"] == "invalid_grant"));
    let winner = &ok[0];
    assert!(!access_active(&p, &clock, winner["access_token"].as_str().unwrap()).await);
    assert!(!refresh_active(&p, &clock, winner["refresh_token"].as_str().unwrap()).await);
    assert!(!access_active(&p, &clock, first["access_token"].as_str().unwrap()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_client_credentials_each_get_their_own_token() {
    let (p, clock) = common::provider().await;
    create_confidential(&p, client_model("machine", &["client_credentials"], "read")).await;
    let responses = race(&p, || {
        token_request(
            "machine",
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
    })
    .await;
    let (ok, failed) = split(&responses);
    assert_eq!(ok.len(), N);
    assert!(failed.is_empty());
    let mut tokens: Vec<&str> = ok
        .iter()
        .map(|b| b["access_token"].as_str().unwrap())
        .collect();
    for t in &tokens {
        assert!(access_active(&p, &clock, t).await);
    }
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), N);
}

/// Revocation racing with refresh never leaves an active token of the revoked grant: either
/// the revocation comes first and the refresh fails, or the refresh comes first and the new
/// pair — which keeps the grant id — is revoked with the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocation_racing_with_refresh_leaves_nothing_active() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    for _ in 0..50 {
        let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
        let rt = first["refresh_token"].as_str().unwrap().to_owned();
        let grant_id = p
            .store()
            .refresh_token(&signature(&rt))
            .await
            .unwrap()
            .grant
            .grant_id;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let refresh = {
            let (p, barrier, req) = (p.clone(), barrier.clone(), refresh_request("app", &rt));
            tokio::spawn(async move {
                barrier.wait().await;
                p.public().handle(req).await
            })
        };
        let revoke = {
            let (p, barrier) = (p.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                p.store().revoke_grant(&grant_id).await.unwrap()
            })
        };
        let res = refresh.await.unwrap();
        revoke.await.unwrap();
        assert!(
            res.status() == 200 || res.status() == 400,
            "{}",
            res.status()
        );
        if res.status() == 200 {
            let body = body_json(&res);
            assert!(!access_active(&p, &clock, body["access_token"].as_str().unwrap()).await);
            assert!(!refresh_active(&p, &clock, body["refresh_token"].as_str().unwrap()).await);
        }
        assert!(!access_active(&p, &clock, first["access_token"].as_str().unwrap()).await);
        assert!(!refresh_active(&p, &clock, &rt).await);
    }
}
