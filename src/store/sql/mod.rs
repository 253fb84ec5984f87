//! Durable stores on SQL databases: [`SqliteStore`] (feature `sqlite`: one process, no
//! server) and [`PostgresStore`] (feature `postgres`: many provider instances sharing one
//! database — anything speaking the PostgreSQL protocol).
//!
//! Both apply the migrations shipped in the crate when they connect (recorded in
//! `oauth2_provider_schema_version`; a second start is a no-op; a schema newer than this
//! build knows is refused with a clear error). Both use sqlx's runtime query API, so building
//! needs no live database.
//!
//! Design, shared by both dialects:
//! - The SQL text of every statement is written once (module `queries`) with `$n` placeholders,
//!   which SQLite and PostgreSQL both accept; values are always bound, never formatted in.
//! - Each table keeps the columns that lookups, filters, ordering and atomic updates need
//!   (ids, digests, client, subject, grant, expiry, status and used flags); the rest of a
//!   record is its serde JSON. Mutable state (used flags, token status, the host's answer) lives
//!   in columns and overrides the JSON when a record is read.
//! - Every atomic trait call is one conditional statement (`UPDATE … WHERE used = FALSE`,
//!   `… AND handled IS NULL RETURNING …`) or one transaction that starts with one, so
//!   single use holds across processes.
//!
//! ```no_run
//! # async fn run() -> Result<(), oauth2_provider::StoreError> {
//! // `sqlite://path` (created if missing), `sqlite::memory:`, `postgres://…`, or `memory`.
//! let store = oauth2_provider::store::sql::connect("sqlite://oauth2.db").await?;
//! # let _ = store; Ok(()) }
//! ```

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::{MemoryStore, Store};
use crate::error::StoreError;

mod client_cache;
#[cfg(feature = "postgres")]
mod group_commit;
#[macro_use]
mod operations;
#[cfg(feature = "postgres")]
mod postgres;
pub(crate) mod queries;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use client_cache::DEFAULT_CLIENT_CACHE_TTL;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;

type Result<T> = std::result::Result<T, StoreError>;

/// Opens the store a `DATABASE_URL` names, choosing by scheme: `memory` (a [`MemoryStore`]),
/// `sqlite://path` (created if missing) or `sqlite::memory:`, `postgres://…` or
/// `postgresql://…`. Migrations are applied before it returns.
///
/// Errors never echo the URL (it may hold a password): an unknown scheme or a scheme whose
/// cargo feature is off names only the scheme.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>> {
    let scheme = database_url.split(':').next().unwrap_or_default();
    match scheme {
        "memory" if database_url == "memory" => Ok(Arc::new(MemoryStore::new())),
        "sqlite" => open_sqlite(database_url).await,
        "postgres" | "postgresql" => open_postgres(database_url).await,
        _ => Err(StoreError::backend(format!(
            "unsupported DATABASE_URL scheme `{scheme}`: use memory, sqlite:// or postgres://"
        ))),
    }
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqliteStore::connect(url).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_url: &str) -> Result<Arc<dyn Store>> {
    Err(missing_feature("sqlite"))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(PostgresStore::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<dyn Store>> {
    Err(missing_feature("postgres"))
}

#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn missing_feature(feature: &str) -> StoreError {
    StoreError::backend(format!(
        "this DATABASE_URL needs oauth2-provider built with the cargo feature `{feature}`"
    ))
}

/// The newest schema version this build knows.
fn latest_schema_version() -> i64 {
    queries::MIGRATIONS
        .last()
        .map_or(0, |(version, _)| *version)
}

/// The refusal to run on a schema written by a newer version of the crate: its tables may
/// mean something this code does not know, so guessing could lose or leak data.
#[derive(Debug)]
struct SchemaTooNew {
    found: i64,
}

impl std::fmt::Display for SchemaTooNew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the database schema is at version {}, newer than the version {} this build of \
             oauth2-provider knows; upgrade oauth2-provider (or point it at another database)",
            self.found,
            latest_schema_version()
        )
    }
}

impl std::error::Error for SchemaTooNew {}

/// Checks the recorded schema version; `Ok` with the migrations still to apply.
fn pending_migrations(current: Option<i64>) -> Result<&'static [(i64, &'static str)]> {
    let current = current.unwrap_or(0);
    if current > latest_schema_version() {
        return Err(StoreError::backend(SchemaTooNew { found: current }));
    }
    let applied = queries::MIGRATIONS
        .iter()
        .take_while(|(version, _)| *version <= current)
        .count();
    Ok(&queries::MIGRATIONS[applied..])
}

/// A unique violation is a [`StoreError::Conflict`]; every other failure is a backend error.
fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::backend(error),
    }
}

/// How many times a transaction aborted by a concurrent write is run in all.
const CONFLICT_ATTEMPTS: usize = 8;

/// Runs `attempt` (which begins, writes and commits one transaction) again when the database
/// aborted it for a concurrent write: a serialization failure of a PostgreSQL revocation (see
/// `begin_revocation`) or a deadlock. A rolled-back transaction changed nothing, so running it
/// again is safe; after [`CONFLICT_ATTEMPTS`] the failure is the caller's 5xx.
async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut left = CONFLICT_ATTEMPTS;
    loop {
        match attempt().await {
            Err(e) if left > 1 && is_write_conflict(&e) => left -= 1,
            outcome => return outcome,
        }
    }
}

/// SQLSTATE 40001 (serialization_failure) or 40P01 (deadlock_detected).
fn is_write_conflict(error: &StoreError) -> bool {
    let StoreError::Backend(source) = error else {
        return false;
    };
    match source.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}

/// A time as Unix microseconds: exact enough for ordering and expiry, and an `i64` covers
/// any date a record can carry.
fn micros(at: OffsetDateTime) -> i64 {
    let micros = at.unix_timestamp_nanos() / 1_000;
    i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
}

/// The JSON (RFC 3339) of a time kept as Unix microseconds in a column.
fn micros_json(micros: i64) -> Result<serde_json::Value> {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(StoreError::backend)?;
    let text = at
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(StoreError::backend)?;
    Ok(text.into())
}

/// A page size or offset as the `BIGINT` SQL expects.
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn rows(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

/// Reads a record from its JSON, with the fields kept in columns overriding the JSON.
fn from_json<T: DeserializeOwned>(
    json: &str,
    overrides: &[(&str, serde_json::Value)],
) -> Result<T> {
    if overrides.is_empty() {
        return serde_json::from_str(json).map_err(StoreError::backend);
    }
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(StoreError::backend)?;
    let serde_json::Value::Object(fields) = &mut value else {
        return Err(StoreError::backend("stored record is not a JSON object"));
    };
    for (name, field) in overrides {
        fields.insert((*name).to_owned(), field.clone());
    }
    serde_json::from_value(value).map_err(StoreError::backend)
}

/// The state columns of a login or consent request row.
#[derive(Debug)]
struct RequestRow {
    record: String,
    handled: Option<String>,
    verifier_used: bool,
}

impl RequestRow {
    fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        let handled = match &self.handled {
            Some(json) => serde_json::from_str(json).map_err(StoreError::backend)?,
            None => serde_json::Value::Null,
        };
        from_json(
            &self.record,
            &[
                ("handled", handled),
                ("verifier_used", self.verifier_used.into()),
            ],
        )
    }

    /// Why a conditional update on this request matched nothing.
    fn verifier_refusal(&self) -> StoreError {
        if self.handled.is_some() && self.verifier_used {
            StoreError::AlreadyUsed
        } else {
            StoreError::NotFound
        }
    }
}
