//! Graceful shutdown under load (issue 13, item 5): SIGTERM while token requests are in
//! flight, each held in the database (its token table locked by the test) until the signal
//! has arrived. Released, every one gets its 200; held past the drain deadline, every one
//! gets a clean 503 `temporarily_unavailable`. None is reset, and the server exits 0.
#![cfg(all(unix, feature = "postgres"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::postgres::ScratchDb;
use common::process::{Server, exchange, http};

/// Starts the hyper example on a scratch database with a client for `client_credentials`;
/// the server, the database and the client's Basic credentials.
async fn server() -> Option<(Server, ScratchDb, String)> {
    let db = ScratchDb::create("shutdown").await?;
    let server = Server::start(
        "hyper_server",
        &[
            ("DATABASE_URL", &db.url),
            ("SYSTEM_SECRET", "a-test-secret-of-32-bytes-length"),
            ("FLUSH_INTERVAL", "0"),
        ],
    );
    let body = br#"{"client_id":"busy","grant_types":["client_credentials"]}"#;
    let (status, body) = http(&server.admin, "POST", "/clients", body);
    assert_eq!(status, 201, "{body}");
    let secret = serde_json::from_str::<serde_json::Value>(&body).unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("busy:{secret}"));
    Some((server, db, basic))
}

/// Sends `n` token requests on their own connections; each thread returns the status and
/// the body, or panics if the connection was cut before a response.
fn token_requests(
    server: &Server,
    basic: &str,
    n: usize,
) -> Vec<std::thread::JoinHandle<(u16, String)>> {
    (0..n)
        .map(|_| {
            let (addr, basic) = (server.public.clone(), basic.to_owned());
            std::thread::spawn(move || {
                let body = b"grant_type=client_credentials";
                let res = exchange(
                    &addr,
                    "POST",
                    "/oauth2/token",
                    &[
                        ("Authorization", &format!("Basic {basic}")),
                        ("Content-Type", "application/x-www-form-urlencoded"),
                    ],
                    body,
                    body.len(),
                );
                (res.status, res.body)
            })
        })
        .collect()
}

/// Waits until the server handles `n` public requests at once (its metrics say so).
fn wait_in_flight(server: &Server, n: usize) {
    let want = format!("oauth2_requests_in_flight{{api=\"public\"}} {n}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = exchange(&server.admin, "GET", "/metrics/prometheus", &[], b"", 0).body;
        if metrics.lines().any(|l| l == want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never {want}:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_with_50_token_requests_in_flight_answers_every_one() {
    let Some((server, db, basic)) = server().await else {
        return;
    };
    let mut lock = db.lock_tokens().await;
    let requests = token_requests(&server, &basic, 50);
    let server = tokio::task::spawn_blocking(move || {
        wait_in_flight(&server, 50);
        server.signal_term();
        server.wait_for_stderr("shutting down", Duration::from_secs(5));
        server
    })
    .await
    .unwrap();
    // New connections are refused now; the 50 in flight are released.
    sqlx::raw_sql("COMMIT").execute(&mut lock).await.unwrap();
    for request in requests {
        let (status, body) = request.join().expect("a response, not a reset connection");
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_held_past_the_drain_deadline_get_a_clean_503() {
    let Some((server, db, basic)) = server().await else {
        return;
    };
    let _lock = db.lock_tokens().await;
    // At most the pool's 16 connections, so that each one waits for the lock, not the pool.
    let requests = token_requests(&server, &basic, 10);
    let server = tokio::task::spawn_blocking(move || {
        wait_in_flight(&server, 10);
        server.signal_term();
        server
    })
    .await
    .unwrap();
    for request in requests {
        let (status, body) = request.join().expect("a response, not a reset connection");
        assert_eq!(status, 503, "{body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "temporarily_unavailable", "{body}");
    }
    assert_eq!(server.wait_exit(Duration::from_secs(15)), Some(0));
    drop(_lock);
    db.drop_now().await;
}
