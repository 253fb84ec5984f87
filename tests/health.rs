//! Readiness that means something (issue 13, item 6): `/health/ready` asks the store and is a
//! 503 with Hydra's `{"errors":{"database":…}}` while it fails, `/health/alive` never asks
//! it — in-process on a store whose calls fail, and for real: an example server on
//! PostgreSQL whose database is dropped under it, and one on SQLite whose file is destroyed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use http::{Method, StatusCode};

#[tokio::test]
async fn ready_asks_the_store_and_alive_never_does() {
    let (provider, store, _) = faulty_provider().await;
    let admin = |path: &'static str| {
        let provider = provider.clone();
        async move {
            provider
                .admin()
                .handle(empty_request(Method::GET, path))
                .await
        }
    };
    let res = admin("/health/ready").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_json(&res), serde_json::json!({"status": "ok"}));

    store.fail_operations(&["ping"]);
    let res = admin("/health/ready").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reason = body_json(&res)["errors"]["database"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("injected fault in ping"), "{reason}");
    assert_eq!(store.disarm(), Some("ping"));

    // Alive makes no store call: the very next call would fail, and none does.
    store.fail_call(1);
    let res = admin("/health/alive").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(store.disarm(), None);
}

/// Starts `example` on `database_url`, checks it is ready, breaks the database with
/// `break_it`, and checks that ready turns 503 naming the database while alive stays 200.
#[cfg(unix)]
fn ready_follows_the_database(database_url: &str, break_it: impl FnOnce()) {
    use common::process::{Server, http};
    let server = Server::start(
        "hyper_server",
        &[
            ("DATABASE_URL", database_url),
            ("SYSTEM_SECRET", "a-test-secret-of-32-bytes-length"),
            ("FLUSH_INTERVAL", "0"),
        ],
    );
    assert_eq!(http(&server.admin, "GET", "/health/ready", b"").0, 200);
    break_it();
    let (status, body) = http(&server.admin, "GET", "/health/ready", b"");
    assert_eq!(status, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(body["errors"]["database"].is_string(), "{body}");
    assert_eq!(http(&server.admin, "GET", "/health/alive", b"").0, 200);
    assert_eq!(server.terminate(), Some(0));
}

#[cfg(all(unix, feature = "postgres"))]
#[tokio::test(flavor = "multi_thread")]
async fn ready_turns_503_when_the_postgres_database_is_dropped() {
    let Some(db) = common::postgres::ScratchDb::create("health").await else {
        return;
    };
    let url = db.url.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        ready_follows_the_database(&url, || runtime.block_on(db.drop_now()));
    })
    .await
    .unwrap();
}

#[cfg(all(unix, feature = "sqlite"))]
#[test]
fn ready_turns_503_when_the_sqlite_file_is_destroyed() {
    let dir = TempDir::new("health");
    let url = dir.sqlite_url("provider.db");
    let file = dir.path().join("provider.db");
    ready_follows_the_database(&url, || {
        // Garbage over every file, in place: truncating the memory-mapped `-shm` index
        // would make SQLite's next access to it a SIGBUS instead of an error.
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", file.display());
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) {
                use std::io::Write as _;
                let _ = f.write_all(&[0x5a; 8192]);
            }
        }
    });
}
