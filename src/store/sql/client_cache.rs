//! A short-lived cache of client records in front of a SQL store.
//!
//! Every token request authenticates its client and every introspection checks that the
//! token's client still exists: with PostgreSQL that lookup was half the round trips of an
//! introspection and of a `client_credentials` grant. Clients change rarely, so the
//! SQL stores keep each record they read for a short TTL (RL-6 of the security checklist):
//!
//! * writes through this store (update, delete) drop the entry at once, so one instance
//!   never serves its own stale client;
//! * another instance on the same database sees a change within the TTL
//!   ([`DEFAULT_CLIENT_CACHE_TTL`], set per store, zero turns the cache off);
//! * only clients that exist are cached, so unknown ids cannot fill it, and it holds at most
//!   [`MAX_ENTRIES`] records.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::model::client::ClientRecord;

/// How long a client read from the database is served from memory by default.
pub const DEFAULT_CLIENT_CACHE_TTL: Duration = Duration::from_secs(1);

/// At most this many clients are cached; beyond it, expired entries are dropped, and if
/// none had expired the cache starts afresh.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct ClientCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, Cached>>,
    /// Bumped by every invalidation. A reader notes it before going to the database and
    /// caches what it read only if no invalidation happened meanwhile, so a record read
    /// before an update never outlives the update.
    generation: AtomicU64,
}

#[derive(Debug)]
struct Cached {
    fetched_at: Instant,
    record: Arc<ClientRecord>,
}

impl ClientCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached record, if it is younger than the TTL.
    pub(crate) fn get(&self, client_id: &str) -> Option<Arc<ClientRecord>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|c| c.fetched_at.elapsed() < self.ttl)
            .map(|c| c.record.clone())
    }

    /// The generation to pass to [`ClientCache::put`] for a read that starts now.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a record read from the database, unless an invalidation happened since
    /// `generation` was taken.
    pub(crate) fn put(&self, generation: u64, record: &Arc<ClientRecord>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, c| c.fetched_at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            record.client.client_id.clone(),
            Cached {
                fetched_at: Instant::now(),
                record: record.clone(),
            },
        );
    }

    /// Drops the client after a write (and keeps reads in flight from caching it again).
    pub(crate) fn forget(&self, client_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;

    fn record(id: &str, name: &str) -> Arc<ClientRecord> {
        Arc::new(ClientRecord {
            client: Client {
                client_id: id.to_owned(),
                client_name: name.to_owned(),
                ..Client::default()
            },
            secret_hash: None,
            registration_token: None,
        })
    }

    #[test]
    fn serves_a_read_until_the_ttl_and_never_after_a_write() {
        let cache = ClientCache::new(Duration::from_secs(60));
        assert!(cache.get("app").is_none());
        cache.put(cache.generation(), &record("app", "v1"));
        assert_eq!(cache.get("app").unwrap().client.client_name, "v1");
        cache.forget("app");
        assert!(cache.get("app").is_none());
    }

    #[test]
    fn a_read_that_raced_with_a_write_is_not_cached() {
        let cache = ClientCache::new(Duration::from_secs(60));
        let before_update = cache.generation();
        cache.forget("app");
        cache.put(before_update, &record("app", "stale"));
        assert!(cache.get("app").is_none());
    }

    #[test]
    fn expired_entries_and_a_zero_ttl_are_never_served() {
        let cache = ClientCache::new(Duration::from_millis(1));
        cache.put(cache.generation(), &record("app", "v1"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get("app").is_none());
        let off = ClientCache::new(Duration::ZERO);
        off.put(off.generation(), &record("app", "v1"));
        assert!(off.get("app").is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = ClientCache::new(Duration::from_secs(60));
        for i in 0..=MAX_ENTRIES {
            cache.put(cache.generation(), &record(&format!("c{i}"), "x"));
        }
        let len = cache.entries.read().unwrap().len();
        assert!(len <= MAX_ENTRIES, "{len}");
        assert!(cache.get(&format!("c{MAX_ENTRIES}")).is_some());
    }
}
