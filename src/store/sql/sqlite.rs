//! The SQLite dialect: a durable store for one process, with no database server.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use super::client_cache::{ClientCache, DEFAULT_CLIENT_CACHE_TTL};

/// A [`Store`](crate::Store) on SQLite (feature `sqlite`).
///
/// Opened in WAL mode with a busy timeout, so concurrent readers never block and concurrent
/// writers wait for each other instead of failing with `SQLITE_BUSY`; every write
/// transaction takes the write lock up front (`BEGIN IMMEDIATE`).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    clients: Arc<ClientCache>,
}

/// How long a writer waits for another writer before the call fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections of a file database: readers run in parallel, writers take turns.
const FILE_POOL_SIZE: u32 = 8;

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` — `sqlite://path`,
    /// `sqlite:///absolute/path` or `sqlite::memory:` — and applies the migrations.
    ///
    /// An in-memory database lives in one connection the pool keeps open for the store's
    /// lifetime, so it is private to this store and lost on drop.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(StoreError::backend)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (the host chose its options) and applies the migrations. The
    /// connections should have a busy timeout, and the database should be in WAL mode.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self> {
        let store = Self {
            pool,
            clients: Arc::new(ClientCache::new(DEFAULT_CLIENT_CACHE_TTL)),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The pool, for the host's own queries or to close it.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a transaction holding the write lock, so that it can never fail half-way
    /// with `SQLITE_BUSY` when upgrading from reading to writing.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::backend)
    }

    /// The write lock already serialises a revocation with every other writer.
    async fn begin_revocation(&self) -> Result<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    /// The write lock already serialises concurrent migrations.
    async fn begin_migration(&self) -> Result<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    /// One statement per call: SQLite commits locally, with no round trip to share.
    async fn write_tokens(&self, tokens: IssuedTokens) -> Result<()> {
        insert_issued(&tokens)?
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

impl_sql_store!(SqliteStore, sqlx::Sqlite);
