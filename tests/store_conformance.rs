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
    use oauth2_provider::store::ClientStore;
    use oauth2_provider::store::sql::{self, SqliteStore};
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
        };
        first.create_client(client.clone()).await.unwrap();
        first.pool().close().await;

        // A second start is a no-op and the data is still there.
        let second = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(second.client("kept").await.unwrap(), client);
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM oauth2_provider_schema_version")
                .fetch_all(second.pool())
                .await
                .unwrap();
        assert_eq!(versions, [1], "each migration is recorded exactly once");

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

    #[tokio::test(flavor = "multi_thread")]
    async fn connect_chooses_the_store_by_url_scheme() {
        let db = TempDir::new("connect");
        let file = db.sqlite_url("store.db");
        for url in ["memory", "sqlite::memory:", file.as_str()] {
            let store = sql::connect(url).await.unwrap();
            let record = ClientRecord {
                client: oauth2_provider::Client::default(),
                secret_hash: None,
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
