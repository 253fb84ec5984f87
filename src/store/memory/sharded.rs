//! A string-keyed map split into many hash tables, so that growing never pauses for long.
//!
//! A `HashMap` grows by rehashing every entry at once, reading each key from the heap: with a
//! million tokens that is a pause of several hundred milliseconds, during which a one-core
//! server answers nothing (the load benchmark saw p99 ≈ 300 ms for `client_credentials`). Split
//! in [`SHARDS`] tables that grow independently, each pause is that much shorter, and after a
//! flush each table gives its memory back on its own.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::BuildHasher;

/// Measured with the load benchmark at ~1.4 million live tokens (`client_credentials` p99):
/// 64 shards 6.8–8.4 ms, 256 shards 3.6–3.8 ms, 1024 shards 3.4–4.0 ms — but 1024 made
/// introspection ~30% slower (more scattered tables). An empty map costs nothing worth
/// counting: no table allocates until used.
const SHARDS: usize = 256;

/// Below this capacity a table is never shrunk: not worth the rehash.
const MIN_SHRINK_CAPACITY: usize = 64;

/// A `HashMap<String, V>` in [`SHARDS`] parts, picked by a keyed hash of the key.
#[derive(Debug)]
pub(super) struct Sharded<V> {
    picker: RandomState,
    shards: Vec<HashMap<String, V>>,
}

impl<V> Default for Sharded<V> {
    fn default() -> Self {
        Self {
            picker: RandomState::new(),
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
        }
    }
}

impl<V> Sharded<V> {
    fn index(&self, key: &str) -> usize {
        // `str` and `String` hash alike, so lookups by `&str` find entries keyed by `String`.
        (self.picker.hash_one(key) % SHARDS as u64) as usize
    }

    fn shard(&self, key: &str) -> &HashMap<String, V> {
        &self.shards[self.index(key)]
    }

    fn shard_mut(&mut self, key: &str) -> &mut HashMap<String, V> {
        let index = self.index(key);
        &mut self.shards[index]
    }

    pub(super) fn get(&self, key: &str) -> Option<&V> {
        self.shard(key).get(key)
    }

    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.shard_mut(key).get_mut(key)
    }

    pub(super) fn contains_key(&self, key: &str) -> bool {
        self.shard(key).contains_key(key)
    }

    pub(super) fn insert(&mut self, key: String, value: V) -> Option<V> {
        self.shard_mut(&key).insert(key, value)
    }

    pub(super) fn entry(&mut self, key: String) -> Entry<'_, String, V> {
        self.shard_mut(&key).entry(key)
    }

    pub(super) fn remove(&mut self, key: &str) -> Option<V> {
        self.shard_mut(key).remove(key)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(HashMap::values)
    }

    /// Gives memory back from every table that is mostly empty (after a flush). A table keeps
    /// twice its length, so it shrinks again only once it halved again: amortised O(1).
    pub(super) fn shrink_if_sparse(&mut self) {
        for shard in &mut self.shards {
            if shard.capacity() > MIN_SHRINK_CAPACITY && shard.len() < shard.capacity() / 4 {
                shard.shrink_to(shard.len() * 2);
            }
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.shards.iter().map(HashMap::capacity).sum()
    }
}
