//! Group commit of PostgreSQL token inserts: concurrent `insert_tokens` calls share one
//! multi-row `INSERT`, so that one round trip and one commit (one WAL flush) serve many
//! token responses.
//!
//! Under load a token request spent more time waking the database and waiting for its
//! commit than doing anything else: two round trips per token (the `INSERT`, then sqlx's
//! check of the connection on release) and one commit each. Here rows queue in the *open*
//! batch while [`LANES`] earlier batches are being written, and the open batch is written as
//! one statement when a lane frees up:
//!
//! * durability is unchanged: a caller is answered only when the statement that holds its
//!   rows has committed (autocommit, under the server's `synchronous_commit`);
//! * a failure answers every caller of that batch with the error, never a false success
//!   (the statement is atomic: all its rows or none);
//! * a batch never waits for rows to come: it starts as soon as a lane is free, so a lone
//!   request is written at once, and it is bounded in rows and bytes;
//! * the write is a shared future that every caller of the batch polls, so it completes
//!   while any of them still waits, whichever request is cancelled (a client hanging up
//!   never fails the others' tokens); the store keeps only weak handles, so a batch whose
//!   callers have all gone away is dropped with its connection instead of holding it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared, WeakShared};
use sqlx::postgres::PgPool;

use super::{micros, queries as q, to_json};
use crate::error::StoreError;
use crate::store::{IssuedTokens, TokenRecord};

/// Batches written at the same time. One keeps the database's work in few, large commits;
/// a second overlaps the building and sending of one batch with the commit of the other.
const LANES: usize = 2;
/// At most this many rows in one statement…
const MAX_ROWS: usize = 256;
/// …and at most this many bytes of record JSON (a batch of one call is never refused).
const MAX_BYTES: usize = 512 * 1024;

/// How a batch ended, for each of its callers: the error is shared, so it is counted once.
type Outcome = Result<(), Arc<sqlx::Error>>;
type Batch = Shared<BoxFuture<'static, Outcome>>;
/// What the store keeps of a batch: a handle that does not keep it alive.
type WeakBatch = WeakShared<BoxFuture<'static, Outcome>>;

/// The token inserts of one store.
#[derive(Debug)]
pub(super) struct GroupCommit {
    pool: PgPool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The batch still taking rows (it has not started), if any.
    open: Option<Open>,
    /// The last [`LANES`] batches, oldest first: a new batch starts when the oldest is done
    /// (or gone, with all its callers).
    lanes: VecDeque<WeakBatch>,
}

#[derive(Debug)]
struct Open {
    rows: Arc<Mutex<Option<Rows>>>,
    done: WeakBatch,
}

impl GroupCommit {
    pub(super) fn new(pool: PgPool) -> Self {
        Self {
            pool,
            state: Mutex::default(),
        }
    }

    /// Inserts the tokens of one grant step; `Ok` once the row is committed.
    pub(super) async fn insert(&self, tokens: IssuedTokens) -> Result<(), StoreError> {
        let mut rows = Rows::default();
        for token in std::iter::once(tokens.access).chain(tokens.refresh) {
            rows.push(token)?;
        }
        match self.join(rows).await {
            Ok(()) => Ok(()),
            Err(error) => Err(shared_error(&error)),
        }
    }

    /// Adds `rows` to the open batch, or opens one; the batch's outcome.
    fn join(&self, rows: Rows) -> Batch {
        let mut state = lock(&self.state);
        if let Some(open) = &state.open {
            // A batch nobody waits for any more is gone: its rows go nowhere.
            if let Some(done) = open.done.upgrade() {
                if let Some(taking) = lock(&open.rows).as_mut() {
                    if taking.fits(&rows) {
                        taking.append(rows);
                        return done;
                    }
                }
            }
        }
        let after = if state.lanes.len() >= LANES {
            state.lanes.pop_front().and_then(|lane| lane.upgrade())
        } else {
            None
        };
        let rows = Arc::new(Mutex::new(Some(rows)));
        let done = write(self.pool.clone(), after, Arc::clone(&rows))
            .boxed()
            .shared();
        state.open = done.downgrade().map(|weak| Open { rows, done: weak });
        state.lanes.extend(done.downgrade());
        done
    }
}

/// Waits for the lane's previous batch, closes this one and writes it in one statement.
async fn write(pool: PgPool, after: Option<Batch>, rows: Arc<Mutex<Option<Rows>>>) -> Outcome {
    if let Some(previous) = after {
        // Its callers have their own outcome; this batch only waits for the lane.
        let _ = previous.await;
    }
    let Some(rows) = lock(&rows).take() else {
        return Ok(());
    };
    let mut conn = pool.acquire().await?;
    sqlx::query(q::INSERT_TOKENS_UNNEST)
        .bind(rows.kinds)
        .bind(rows.signatures)
        .bind(rows.grant_ids)
        .bind(rows.client_ids)
        .bind(rows.expires_at)
        .bind(rows.statuses)
        .bind(rows.records)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The columns of a batch's rows, as the arrays `INSERT … SELECT FROM UNNEST` binds: one
/// prepared statement for any number of rows.
#[derive(Debug, Default)]
struct Rows {
    kinds: Vec<&'static str>,
    signatures: Vec<String>,
    grant_ids: Vec<String>,
    client_ids: Vec<String>,
    expires_at: Vec<Option<i64>>,
    statuses: Vec<&'static str>,
    records: Vec<String>,
    bytes: usize,
}

impl Rows {
    /// Takes the token by value: its strings move into the columns instead of being copied.
    fn push(&mut self, token: TokenRecord) -> Result<(), StoreError> {
        let record = to_json(&token)?;
        self.bytes += record.len();
        self.kinds.push(token.kind.as_str());
        self.signatures.push(token.signature);
        self.grant_ids.push(token.grant.grant_id);
        self.client_ids.push(token.grant.client_id);
        self.expires_at.push(token.expires_at.map(micros));
        self.statuses.push(token.status.as_str());
        self.records.push(record);
        Ok(())
    }

    fn len(&self) -> usize {
        self.kinds.len()
    }

    fn fits(&self, more: &Rows) -> bool {
        self.len() + more.len() <= MAX_ROWS && self.bytes + more.bytes <= MAX_BYTES
    }

    fn append(&mut self, more: Rows) {
        self.kinds.extend(more.kinds);
        self.signatures.extend(more.signatures);
        self.grant_ids.extend(more.grant_ids);
        self.client_ids.extend(more.client_ids);
        self.expires_at.extend(more.expires_at);
        self.statuses.extend(more.statuses);
        self.records.extend(more.records);
        self.bytes += more.bytes;
    }
}

/// One caller's error from its batch's: a unique violation is still a
/// [`StoreError::Conflict`], anything else the shared backend error.
fn shared_error(error: &Arc<sqlx::Error>) -> StoreError {
    match &**error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::backend(Arc::clone(error)),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
