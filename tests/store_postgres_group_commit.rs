//! Group commit of token inserts on PostgreSQL: concurrent `insert_tokens` calls share
//! statements and lose nothing; a batch whose connection dies fails its callers and reports
//! nothing as stored that is not; a caller that goes away does not fail the rest of its batch;
//! and at the token endpoint, a database dropped while requests wait is a 5xx for each of
//! them. Skips with a printed reason when no PostgreSQL is reachable, except in CI (see
//! `common/postgres.rs`).
#![cfg(all(feature = "postgres", feature = "testing"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::postgres::ScratchDb;
use common::seed::{client_model, create_confidential};
use oauth2_provider::store::sql::PostgresStore;
use oauth2_provider::store::{IssuedTokens, TokenKind, TokenStore};
use oauth2_provider::testing::fixtures;
use oauth2_provider::{Config, StoreError};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use time::OffsetDateTime;

/// Tokens of one grant step: an access token, and every third one a refresh token too.
fn issued(n: usize) -> IssuedTokens {
    let now = OffsetDateTime::now_utc();
    let grant = fixtures::grant("machine", "machine", &["read"], now);
    let ttl = Some(time::Duration::hours(1));
    let (_, access) = fixtures::token_record(TokenKind::AccessToken, &grant, now, ttl);
    let refresh =
        (n % 3 == 0).then(|| fixtures::token_record(TokenKind::RefreshToken, &grant, now, None).1);
    IssuedTokens { access, refresh }
}

/// Whether every token of `tokens` is stored as it was issued; panics on a half-stored pair.
async fn stored(store: &PostgresStore, tokens: &IssuedTokens) -> bool {
    let access = match store.access_token(&tokens.access.signature).await {
        Ok(found) => {
            assert_eq!(found, tokens.access);
            true
        }
        Err(StoreError::NotFound) => false,
        Err(e) => panic!("reading an access token: {e}"),
    };
    if let Some(refresh) = &tokens.refresh {
        match store.refresh_token(&refresh.signature).await {
            Ok(found) => {
                assert_eq!(&found, refresh);
                assert!(access, "a refresh token stored without its access token");
            }
            Err(StoreError::NotFound) => assert!(!access, "a pair stored by half"),
            Err(e) => panic!("reading a refresh token: {e}"),
        }
    }
    access
}

/// Ends [`ScratchDb::lock_tokens`]'s transaction: the waiting inserts go ahead.
async fn unlock(locker: &mut PgConnection) {
    sqlx::raw_sql("ROLLBACK").execute(locker).await.unwrap();
}

/// The backends of this database waiting for the lock with an `INSERT` of tokens.
const BLOCKED_INSERTS: &str = "SELECT pid FROM pg_stat_activity \
    WHERE datname = current_database() AND wait_event_type = 'Lock' \
    AND query LIKE 'INSERT INTO oauth2_tokens%'";

/// Waits until some insert is blocked on the lock and the callers behind it have queued.
async fn wait_for_blocked_inserts(url: &str) -> Vec<i32> {
    let mut observer = PgConnection::connect(url).await.unwrap();
    for _ in 0..200 {
        let blocked: Vec<i32> = sqlx::query_scalar(BLOCKED_INSERTS)
            .fetch_all(&mut observer)
            .await
            .unwrap();
        if !blocked.is_empty() {
            // Let every spawned caller reach the store and queue.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return sqlx::query_scalar(BLOCKED_INSERTS)
                .fetch_all(&mut observer)
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no insert ever waited for the lock");
}

/// Spawns one `insert_tokens` task per element of `batch`.
fn spawn_inserts(
    store: &PostgresStore,
    batch: &[IssuedTokens],
) -> Vec<tokio::task::JoinHandle<Result<(), StoreError>>> {
    batch
        .iter()
        .map(|tokens| {
            let store = store.clone();
            let tokens = tokens.clone();
            tokio::spawn(async move { store.insert_tokens(tokens).await })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_issuers_share_statements_and_every_token_is_stored() {
    let Some(db) = ScratchDb::create("group_commit").await else {
        return;
    };
    // Every connection the store takes from the pool, new or idle, is counted.
    let taken = Arc::new(AtomicUsize::new(0));
    let (on_connect, on_acquire) = (taken.clone(), taken.clone());
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .after_connect(move |_, _| {
            on_connect.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        })
        .before_acquire(move |_, _| {
            on_acquire.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(true) })
        })
        .connect(&db.url)
        .await
        .unwrap();
    let store = PostgresStore::from_pool(pool).await.unwrap();

    const N: usize = 300;
    let batch: Vec<IssuedTokens> = (0..N).map(issued).collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(N + 1));
    let tasks: Vec<_> = batch
        .iter()
        .map(|tokens| {
            let (store, tokens, barrier) = (store.clone(), tokens.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.insert_tokens(tokens).await
            })
        })
        .collect();
    let before = taken.load(Ordering::SeqCst);
    barrier.wait().await;
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let statements = taken.load(Ordering::SeqCst) - before;
    assert!(
        statements <= N / 10,
        "{N} concurrent inserts took {statements} connections: they were not written together"
    );

    for tokens in &batch {
        assert!(stored(&store, tokens).await, "a token was lost");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth2_tokens")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let expected = batch.iter().map(|t| 1 + usize::from(t.refresh.is_some()));
    assert_eq!(rows, i64::try_from(expected.sum::<usize>()).unwrap());

    // Alone, a call is written at once and in full, pair or not.
    for n in 0..3 {
        let tokens = issued(n);
        store.insert_tokens(tokens.clone()).await.unwrap();
        assert!(stored(&store, &tokens).await);
    }
    // A known signature is still a conflict, and fails only its own batch.
    let again = store.insert_tokens(batch[0].clone()).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict), "{again:?}");

    store.pool().close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_whose_connection_dies_fails_its_callers_and_stores_none_of_them() {
    let Some(db) = ScratchDb::create("group_commit_kill").await else {
        return;
    };
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let mut locker = db.lock_tokens().await;
    let batch: Vec<IssuedTokens> = (0..60).map(issued).collect();
    let tasks = spawn_inserts(&store, &batch);

    // The batches being written wait for the lock; their connections are killed.
    let blocked = wait_for_blocked_inserts(&db.url).await;
    for pid in &blocked {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut locker)
            .await
            .unwrap();
    }
    unlock(&mut locker).await;

    let mut failed = 0;
    for (task, tokens) in tasks.into_iter().zip(&batch) {
        let outcome = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every caller is answered")
            .unwrap();
        match outcome {
            Ok(()) => assert!(stored(&store, tokens).await, "reported stored, but is not"),
            Err(e) => {
                assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
                assert!(!stored(&store, tokens).await, "reported failed, but stored");
                failed += 1;
            }
        }
    }
    assert!(
        failed >= blocked.len(),
        "the killed batches' callers failed"
    );
    assert!(
        failed < batch.len(),
        "the callers queued behind them were written"
    );

    store.pool().close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callers_that_go_away_do_not_fail_the_rest_of_their_batch() {
    let Some(db) = ScratchDb::create("group_commit_cancel").await else {
        return;
    };
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let mut locker = db.lock_tokens().await;
    let batch: Vec<IssuedTokens> = (0..60).map(issued).collect();
    let tasks = spawn_inserts(&store, &batch);
    wait_for_blocked_inserts(&db.url).await;

    // Every other caller goes away, among them the first ones, whose batches are being
    // written: whoever is left drives the writes to the end.
    let mut kept = Vec::new();
    for (n, (task, tokens)) in tasks.into_iter().zip(&batch).enumerate() {
        if n % 2 == 0 {
            task.abort();
        } else {
            kept.push((task, tokens));
        }
    }
    unlock(&mut locker).await;
    for (task, tokens) in kept {
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every remaining caller is answered")
            .unwrap()
            .unwrap();
        assert!(stored(&store, tokens).await);
    }

    store.pool().close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_dropped_mid_batch_is_a_5xx_for_every_waiting_token_request() {
    let Some(db) = ScratchDb::create("group_commit_drop").await else {
        return;
    };
    let url = db.url.clone();
    let store = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let (p, _clock) = common::provider_on(Config::new(common::ISSUER).unwrap(), store).await;
    create_confidential(&p, client_model("machine", &["client_credentials"], "read")).await;
    let mut locker = db.lock_tokens().await;

    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let p = p.clone();
            let req = common::token_request(
                "machine",
                &[("grant_type", "client_credentials"), ("scope", "read")],
            );
            tokio::spawn(async move { p.public().handle(req).await })
        })
        .collect();
    wait_for_blocked_inserts(&url).await;
    // The waiting inserts die while the lock still holds them, then the database goes.
    db.cut_off_all_but(&mut locker).await;
    db.drop_now().await;

    for task in tasks {
        let res = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every request is answered")
            .unwrap();
        assert!(
            res.status().is_server_error(),
            "status {} for a token that was never stored",
            res.status()
        );
        assert!(common::body_json(&res).get("access_token").is_none());
    }
}
