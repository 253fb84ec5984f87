//! Concurrency of the login/consent state machine (issue 4 item 7): N parallel answers to
//! one challenge — typed or over the admin API — have exactly one winner; the others get a
//! 4xx (409), never a 5xx, and the winner's answer is the one the flow continues with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::flow::{consent_to, login_as};
use common::{ISSUER, json_request};
use http::{Method, StatusCode};
use oauth2_provider::testing::{Harness, redirect_param};
use oauth2_provider::{Client, Config, Error};
use serde_json::json;

const N: usize = 32;

async fn harness() -> Harness {
    let harness = Harness::new(Config::new(ISSUER).unwrap()).await.unwrap();
    let client = Client {
        client_id: "app".into(),
        redirect_uris: vec!["https://app.example.com/cb".into()],
        scope: "openid offline".into(),
        ..Client::default()
    };
    harness
        .register(client, Some("a-secret-of-sixteen-chars"))
        .await
        .unwrap();
    harness
}

/// Every task's output, in order (a panicking task fails the test).
async fn joined<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

/// Exactly one `Ok`, every other result a conflict.
fn one_winner<T: std::fmt::Debug>(results: Vec<Result<T, Error>>) -> T {
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(value) => winners.push(value),
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("a losing answer must be a conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one answer must win");
    winners.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_typed_accepts_of_one_login_and_consent_have_one_winner() {
    let harness = Arc::new(harness().await);
    let mut browser = harness.user_agent();
    let res = browser
        .authorize("client_id=app&response_type=code&scope=openid&state=state-1234")
        .await;
    let login = redirect_param(&res, "login_challenge").unwrap();

    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let harness = harness.clone();
            let login = login.clone();
            tokio::spawn(async move {
                let body = login_as(&format!("user-{i}"));
                harness.provider.accept_login(&login, body).await
            })
        })
        .collect();
    let done = one_winner(joined(tasks).await);

    // The flow continues with the winner's subject, whichever task that was.
    let res = browser.get(&done.redirect_to).await;
    let consent = redirect_param(&res, "consent_challenge").unwrap();
    let subject = harness
        .provider
        .consent_request(&consent)
        .await
        .unwrap()
        .subject;
    assert!(subject.starts_with("user-"), "{subject}");

    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let harness = harness.clone();
            let consent = consent.clone();
            tokio::spawn(async move {
                let body = consent_to(&["openid"]);
                harness.provider.accept_consent(&consent, body).await
            })
        })
        .collect();
    let done = one_winner(joined(tasks).await);
    let res = browser.get(&done.redirect_to).await;
    assert!(
        redirect_param(&res, "code").is_some(),
        "the winner's consent yields a code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_http_accepts_of_one_login_challenge_get_one_200_and_409s() {
    let harness = Arc::new(harness().await);
    let mut browser = harness.user_agent();
    let res = browser
        .authorize("client_id=app&response_type=code&scope=openid&state=state-1234")
        .await;
    let login = redirect_param(&res, "login_challenge").unwrap();
    let body = json!({"subject": "alice"});

    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let admin = harness.provider.admin();
            let path = format!("/oauth2/auth/requests/login/{login}/accept");
            let req = json_request(Method::PUT, &path, &body);
            tokio::spawn(async move { admin.handle(req).await.status() })
        })
        .collect();
    let statuses = joined(tasks).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, N - 1), "{statuses:?}");
}
