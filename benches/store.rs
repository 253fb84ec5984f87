//! Store throughput under concurrency: the store side of client_credentials (one
//! `insert_tokens`) and of introspection (one `access_token` lookup), on memory, SQLite and
//! PostgreSQL (`TEST_DATABASE_URL`, default the local server's `oauth2_test` database; skipped
//! if unreachable). Prints operations per second; run with
//! `cargo bench --features sqlite,postgres --bench store`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2_provider::store::{
    GrantData, IssuedTokens, JsonObject, TokenKind, TokenRecord, TokenStatus,
};
use oauth2_provider::{MemoryStore, Store};
use time::OffsetDateTime;

/// Concurrent callers, like requests in flight on a busy server.
const TASKS: usize = 32;
const RUN_FOR: Duration = Duration::from_secs(3);

fn tokens(tag: &str, n: usize) -> IssuedTokens {
    let now = OffsetDateTime::now_utc();
    let grant = GrantData {
        grant_id: format!("bench-grant-{tag}-{n}"),
        client_id: "bench-client".into(),
        subject: "bench-client".into(),
        subject_identifier: "bench-client".into(),
        granted_scope: vec!["read".into()],
        granted_audience: Vec::new(),
        access_token_extra: JsonObject::new(),
        id_token_extra: JsonObject::new(),
        auth_time: None,
        acr: String::new(),
        session_id: None,
        requested_at: now,
    };
    IssuedTokens {
        access: TokenRecord {
            signature: format!("bench-{tag}-{n}"),
            kind: TokenKind::AccessToken,
            grant,
            issued_at: now,
            expires_at: Some(now + time::Duration::hours(1)),
            status: TokenStatus::Active,
        },
        refresh: None,
    }
}

/// Runs `TASKS` loops of `op(task, i)` for `RUN_FOR`; returns operations per second.
async fn throughput<F, Fut>(op: F) -> f64
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let op = op.clone();
        tasks.spawn(async move {
            let mut done = 0;
            while start.elapsed() < RUN_FOR {
                op(task, done).await;
                done += 1;
            }
            done
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

async fn bench(name: &str, store: Arc<dyn Store>) {
    let run = OffsetDateTime::now_utc().unix_timestamp_nanos().to_string();
    let (s, r) = (store.clone(), run.clone());
    let inserts = throughput(move |task, i| {
        let (s, tag) = (s.clone(), format!("{r}-{task}"));
        async move { s.insert_tokens(tokens(&tag, i)).await.unwrap() }
    })
    .await;
    // Look up tokens that exist: those the first task inserted.
    let (s, r) = (store.clone(), run.clone());
    let lookups = throughput(move |task, i| {
        let (s, signature) = (
            s.clone(),
            format!("bench-{r}-0-{}", (i * TASKS + task) % 100),
        );
        async move { assert!(s.access_token(&signature).await.is_ok()) }
    })
    .await;
    println!("{name:>10}: insert_tokens {inserts:>9.0}/s   access_token {lookups:>9.0}/s");
}

#[tokio::main]
async fn main() {
    bench("memory", Arc::new(MemoryStore::new())).await;
    #[cfg(feature = "sqlite")]
    {
        let dir = std::env::temp_dir().join(format!("oauth2-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        bench(
            "sqlite",
            oauth2_provider::store::sql::connect(&url).await.unwrap(),
        )
        .await;
        let _ = std::fs::remove_dir_all(&dir);
    }
    #[cfg(feature = "postgres")]
    {
        let url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/oauth2_test".into());
        match oauth2_provider::store::sql::connect(&url).await {
            Ok(store) => bench("postgres", store).await,
            Err(error) => println!("  postgres: skipped ({error})"),
        }
    }
}
