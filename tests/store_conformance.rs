//! The store conformance kit against every store the crate ships: memory (always), SQLite
//! (feature `sqlite`, a temporary file) and PostgreSQL (feature `postgres`, a fresh scratch
//! database on the server `TEST_DATABASE_URL` / `DATABASE_URL` names, see
//! `common/postgres.rs`). Without a reachable PostgreSQL the test prints
//! "skipping PostgreSQL conformance: <reason>" and passes — unless `CI` is set, where it fails.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use oauth2_provider::MemoryStore;
use oauth2_provider::testing::conformance;

#[tokio::test(flavor = "multi_thread")]
async fn memory_store_conforms() {
    conformance::run_all(&MemoryStore::new()).await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use oauth2_provider::StoreError;
    use oauth2_provider::model::client::ClientRecord;
    use oauth2_provider::store::sql::{self, SqliteStore};
    use oauth2_provider::store::{ClientStore, SessionStore};
    use oauth2_provider::testing::conformance;

    use super::common::TempDir;

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_file_store_conforms() {
        let db = TempDir::new("conformance");
        let store = SqliteStore::connect(&db.sqlite_url("store.db"))
            .await
            .unwrap();
        conformance::run_all(&store).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_memory_store_conforms() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        conformance::run_all(&store).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn migrations_run_once_survive_restarts_and_refuse_newer_schemas() {
        let db = TempDir::new("migrations");
        let url = db.sqlite_url("store.db");
        let first = SqliteStore::connect(&url).await.unwrap();
        let client = ClientRecord {
            client: oauth2_provider::Client {
                client_id: "kept".into(),
                ..Default::default()
            },
            secret_hash: None,
            registration_token: None,
        };
        first.create_client(client.clone()).await.unwrap();
        first.pool().close().await;

        // A second start is a no-op and the data is still there.
        let second = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(*second.client("kept").await.unwrap(), client);
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM oauth2_provider_schema_version")
                .fetch_all(second.pool())
                .await
                .unwrap();
        assert_eq!(
            versions,
            [1, 2, 3],
            "each migration is recorded exactly once"
        );

        // A schema from the future is refused with a clear error.
        sqlx::query(
            "INSERT INTO oauth2_provider_schema_version (version, applied_at) VALUES (999, 0)",
        )
        .execute(second.pool())
        .await
        .unwrap();
        second.pool().close().await;
        let error = SqliteStore::connect(&url).await.unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, StoreError::Backend(_)));
        assert!(
            message.contains("version 999") && message.contains("newer"),
            "unclear error: {message}"
        );
    }

    /// Schema version 2 (issue 10, items 4 and 7) on a database version 1 left: the CORS
    /// origin index and the login requests' `client_id` are filled from the records' JSON, and
    /// what deleted clients left behind (consents, forced subjects, login requests) is gone.
    #[tokio::test(flavor = "multi_thread")]
    async fn version_2_backfills_the_new_columns_and_drops_deleted_clients_leftovers() {
        use std::str::FromStr;

        use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

        let db = TempDir::new("backfill");
        let url = db.sqlite_url("store.db");
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let old = SqlitePool::connect_with(options).await.unwrap();
        sqlx::raw_sql(include_str!("../src/store/sql/migrations/0001_initial.sql"))
            .execute(&old)
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE oauth2_provider_schema_version \
             (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL); \
             INSERT INTO oauth2_provider_schema_version VALUES (1, 0)",
        )
        .execute(&old)
        .await
        .unwrap();
        let kept = ClientRecord {
            client: oauth2_provider::Client {
                client_id: "kept".into(),
                allowed_cors_origins: [
                    "https://a.example",
                    "https://b.example",
                    "https://a.example",
                ]
                .map(String::from)
                .to_vec(),
                ..Default::default()
            },
            secret_hash: None,
            registration_token: None,
        };
        sqlx::query(
            "INSERT INTO oauth2_clients (client_id, created_at, record) VALUES ($1, 0, $2)",
        )
        .bind("kept")
        .bind(serde_json::to_string(&kept).unwrap())
        .execute(&old)
        .await
        .unwrap();
        for (challenge, client) in [("login-kept", "kept"), ("login-gone", "gone")] {
            sqlx::query(
                "INSERT INTO oauth2_login_requests \
                 (challenge, verifier_digest, expires_at, record) VALUES ($1, $1, 0, $2)",
            )
            .bind(challenge)
            .bind(serde_json::json!({ "client_id": client }).to_string())
            .execute(&old)
            .await
            .unwrap();
        }
        for client in ["kept", "gone"] {
            sqlx::query(
                "INSERT INTO oauth2_consent_requests (challenge, verifier_digest, client_id, \
                 subject, skip, requested_at, expires_at, remembered, record) \
                 VALUES ($1, $1, $2, 'alice', FALSE, 0, 0, TRUE, '{}')",
            )
            .bind(format!("consent-{client}"))
            .bind(client)
            .execute(&old)
            .await
            .unwrap();
            sqlx::query("INSERT INTO oauth2_forced_subjects VALUES ($1, 'alice', 'forced')")
                .bind(client)
                .execute(&old)
                .await
                .unwrap();
        }
        old.close().await;

        let store = SqliteStore::connect(&url).await.unwrap();
        async fn count(pool: &SqlitePool, sql: &'static str) -> i64 {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
        }
        let pool = store.pool();
        assert_eq!(
            count(pool, "SELECT COUNT(*) FROM oauth2_client_cors_origins").await,
            2
        );
        assert!(store.origin_allowed("https://a.example").await.unwrap());
        assert!(store.origin_allowed("https://b.example").await.unwrap());
        assert!(!store.origin_allowed("https://c.example").await.unwrap());
        let login_client: Vec<String> =
            sqlx::query_scalar("SELECT client_id FROM oauth2_login_requests ORDER BY challenge")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(login_client, ["kept"], "backfilled, and the orphan dropped");
        let consents: Vec<String> =
            sqlx::query_scalar("SELECT client_id FROM oauth2_consent_requests")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(consents, ["kept"]);
        assert_eq!(store.forced_subject("gone", "alice").await.unwrap(), None);
        assert!(
            store
                .forced_subject("kept", "alice")
                .await
                .unwrap()
                .is_some()
        );

        // Deleting the client now finds its backfilled login request too.
        store.delete_client("kept").await.unwrap();
        assert_eq!(
            count(pool, "SELECT COUNT(*) FROM oauth2_login_requests").await,
            0
        );
        assert_eq!(
            count(pool, "SELECT COUNT(*) FROM oauth2_consent_requests").await,
            0
        );
        assert_eq!(
            count(pool, "SELECT COUNT(*) FROM oauth2_client_cors_origins").await,
            0
        );
        assert!(!store.origin_allowed("https://a.example").await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn connect_chooses_the_store_by_url_scheme() {
        let db = TempDir::new("connect");
        let file = db.sqlite_url("store.db");
        for url in ["memory", "sqlite::memory:", file.as_str()] {
            let store = sql::connect(url).await.unwrap();
            let record = ClientRecord {
                client: oauth2_provider::Client::default(),
                secret_hash: None,
                registration_token: None,
            };
            store.create_client(record).await.unwrap();
        }
        let error = sql::connect("mysql://user:secret@host/db")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`mysql`") && !error.contains("secret"),
            "{error}"
        );
        let missing = TempDir::new("missing");
        let nested = format!("sqlite://{}/no/such/dir/db", missing.path().display());
        assert!(
            sql::connect(&nested).await.is_err(),
            "an unopenable path is an error"
        );
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn postgres_store_conforms() {
    use oauth2_provider::store::sql::PostgresStore;

    let Some(db) = common::postgres::ScratchDb::create("conformance").await else {
        return;
    };
    let store = PostgresStore::connect(&db.url).await.unwrap();
    conformance::run_all(&store).await;
    // A second instance on the same database: migrations are a no-op, data is shared.
    let again = PostgresStore::connect(&db.url).await.unwrap();
    conformance::run_all(&again).await;
    store.pool().close().await;
    again.pool().close().await;
    db.drop_now().await;
}
