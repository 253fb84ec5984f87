//! The PostgreSQL dialect: one database shared by any number of provider instances.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection as _, Postgres, Transaction};

use super::client_cache::{ClientCache, DEFAULT_CLIENT_CACHE_TTL};
use super::group_commit::GroupCommit;

/// A [`Store`](crate::Store) on PostgreSQL (feature `postgres`), or anything speaking its
/// protocol. Several [`Provider`](crate::Provider)s on one database behave as one: every
/// single-use step is one conditional statement or transaction, so it holds across processes.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    clients: Arc<ClientCache>,
    tokens: Arc<GroupCommit>,
}

/// Connections per store: enough to keep two cores busy while some wait on the network.
const POOL_SIZE: u32 = 16;
/// A request waits this long for a connection before failing with a 5xx.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle connection is pinged before use only when it has been idle this long. sqlx pings
/// every connection when it is released, and by default again on every acquire: one extra
/// round trip per query, which halves throughput under load, when connections are idle for
/// microseconds. After a quiet spell the database may have dropped it, so it is tested then.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Arbitrary constant naming the advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x6f61_7574_6832;

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and applies the migrations;
    /// fails if the database is unreachable.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = match PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await
        {
            Ok(pool) => pool,
            // The pool only says it timed out; one direct attempt names the cause (refused,
            // unknown host, authentication) for the operator.
            Err(sqlx::Error::PoolTimedOut) => {
                let cause = match <sqlx::PgConnection as sqlx::Connection>::connect(url).await {
                    Ok(_) => sqlx::Error::PoolTimedOut,
                    Err(cause) => cause,
                };
                return Err(StoreError::backend(cause));
            }
            Err(e) => return Err(StoreError::backend(e)),
        };
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (the host chose its size and timeouts) and applies the
    /// migrations.
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        let store = Self {
            tokens: Arc::new(GroupCommit::new(pool.clone())),
            pool,
            clients: Arc::new(ClientCache::new(DEFAULT_CLIENT_CACHE_TTL)),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The pool, for the host's own queries or to close it.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Row locks taken by the conditional updates serialise concurrent writers; READ
    /// COMMITTED re-checks their conditions after waiting.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(StoreError::backend)
    }

    /// A revocation runs in REPEATABLE READ. In READ COMMITTED, an `UPDATE … WHERE grant_id`
    /// that waits for a refresh rotating the grant re-checks only the rows it saw: it skips
    /// the now-rotated token and never sees the new pair, which stays active. In REPEATABLE
    /// READ that wait ends in a serialization failure instead, and the revocation runs again
    /// on a snapshot that holds the new pair (`retry_on_conflict`).
    async fn begin_revocation(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(StoreError::backend)
    }

    /// Holds an advisory lock for the transaction, so instances starting together migrate
    /// one after the other (even `CREATE TABLE IF NOT EXISTS` races in PostgreSQL).
    async fn begin_migration(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.begin_write().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        Ok(tx)
    }

    /// Concurrent calls share one multi-row `INSERT` (group commit); each returns once the
    /// statement holding its rows has committed.
    async fn write_tokens(&self, tokens: IssuedTokens) -> Result<()> {
        self.tokens.insert(tokens).await
    }
}

impl_sql_store!(PostgresStore, sqlx::Postgres);
