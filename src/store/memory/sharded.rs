//! Hash tables split into many shards so that growing never pauses for long, keyed by hashes
//! the caller computes.
//!
//! A hash table grows by rehashing every entry at once: with a million tokens that is a pause
//! of several hundred milliseconds, during which a one-core server answers nothing (the load
//! benchmark saw p99 ≈ 300 ms for `client_credentials`). Split in [`SHARDS`] tables that grow
//! independently, each pause is that much shorter, and after a flush each table gives its
//! memory back on its own.
//!
//! The tables hold bare values (`hashbrown`'s `HashTable`), not key–value pairs: a token is
//! found by the key inside it, so a slot is one pointer, and a second table can find the same
//! token by its grant — several entries may share a hash, which makes a grant's tokens one
//! probe sequence rather than a list per grant.
//!
//! Keys are 32-byte digests, not their 64-character hex, and are not hashed again: a digest is
//! already uniform, so a table takes 8 of its bytes as the hash and another byte picks the
//! shard (SipHash over the hex string was ~3 % of a `client_credentials` request). This is
//! sound against hash flooding because nobody chooses where a key lands: what is inserted is
//! the digest of a credential minted from 256 random bits (or of some other signature string),
//! and a lookup of a presented credential digests it first and only probes, never inserts.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

/// Measured with the load benchmark at ~1.4 million live tokens (`client_credentials` p99):
/// 64 shards 6.8–8.4 ms, 256 shards 3.6–3.8 ms, 1024 shards 3.4–4.0 ms — but 1024 made
/// introspection ~30% slower (more scattered tables). An empty table costs nothing worth
/// counting: none allocates until used.
const SHARDS: usize = 256;

/// Below this capacity a table is never shrunk: not worth the rehash.
const MIN_SHRINK_CAPACITY: usize = 64;

/// The digest a signature stands for: the SHA-256 its lowercase hex spells (every signature
/// the crate makes), or, for a signature in another form (a host's own, a test's), the SHA-256
/// of the string itself — distinct signatures keep distinct keys unless SHA-256 collides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key([u8; 32]);

impl Key {
    pub(super) fn of(signature: &str) -> Self {
        Self(
            crate::crypto::unhex_lower(signature)
                .unwrap_or_else(|| crate::crypto::sha256(signature.as_bytes())),
        )
    }

    /// Its first 8 bytes: uniform already, so they are its hash.
    pub(super) fn hash(&self) -> u64 {
        uniform_hash(&self.0)
    }

    /// Whether it begins with `prefix`, which then has its hash.
    pub(super) fn starts_with(&self, prefix: &[u8]) -> bool {
        self.0.starts_with(prefix)
    }
}

/// The first 8 bytes of bytes that are uniformly random (a digest, a random id), as a hash.
pub(super) fn uniform_hash(bytes: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(first)
}

/// The capacity a table of `len` entries shrinks to once it is mostly empty (after a flush).
/// It keeps twice its length, so it shrinks again only once it halved again: amortised O(1).
fn shrunk_capacity(len: usize, capacity: usize) -> Option<usize> {
    (capacity > MIN_SHRINK_CAPACITY && len < capacity / 4).then_some(len * 2)
}

/// `T`s in [`SHARDS`] hash tables. Every call names the entry's hash; calls that may move
/// entries (insert, shrink) also take the function that computes it from an entry.
#[derive(Debug)]
pub(super) struct ShardedTable<T> {
    shards: Box<[HashTable<T>]>,
}

impl<T> Default for ShardedTable<T> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
        }
    }
}

impl<T> ShardedTable<T> {
    /// Bits 32–39 of the hash: a table takes its bucket from the low bits and its tags from
    /// the top seven, so within a shard the entries still differ in both.
    fn shard(hash: u64) -> usize {
        ((hash >> 32) as usize) % SHARDS
    }

    pub(super) fn find(&self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&T> {
        self.shards[Self::shard(hash)].find(hash, eq)
    }

    pub(super) fn find_mut(&mut self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&mut T> {
        self.shards[Self::shard(hash)].find_mut(hash, eq)
    }

    /// The entries that may have this hash: every one that has it, and perhaps others, so the
    /// caller checks each.
    pub(super) fn candidates(&self, hash: u64) -> impl Iterator<Item = &T> {
        self.shards[Self::shard(hash)].iter_hash(hash)
    }

    /// Adds `value` even if an equal one is there: the caller removes that first if it must.
    pub(super) fn insert(&mut self, hash: u64, value: T, rehash: impl Fn(&T) -> u64) {
        self.shards[Self::shard(hash)].insert_unique(hash, value, rehash);
    }

    /// Puts `value` in place of the entry `eq` finds, or adds it; returns the replaced entry.
    /// One probe, where removing and then inserting would take two.
    pub(super) fn replace(
        &mut self,
        hash: u64,
        value: T,
        eq: impl FnMut(&T) -> bool,
        rehash: impl Fn(&T) -> u64,
    ) -> Option<T> {
        match self.shards[Self::shard(hash)].entry(hash, eq, rehash) {
            Entry::Occupied(mut entry) => Some(std::mem::replace(entry.get_mut(), value)),
            Entry::Vacant(entry) => {
                entry.insert(value);
                None
            }
        }
    }

    pub(super) fn remove(&mut self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<T> {
        match self.shards[Self::shard(hash)].find_entry(hash, eq) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.shards.iter().flatten()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.shards.iter_mut().flat_map(HashTable::iter_mut)
    }

    /// Removes and returns up to `limit` entries that `doomed` picks.
    pub(super) fn extract(&mut self, limit: usize, mut doomed: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut out = Vec::new();
        for shard in self.shards.iter_mut() {
            let room = limit - out.len();
            if room == 0 {
                break;
            }
            out.extend(shard.extract_if(|entry| doomed(entry)).take(room));
        }
        out
    }

    /// Gives memory back from every table that is mostly empty (after a flush).
    pub(super) fn shrink_if_sparse(&mut self, rehash: impl Fn(&T) -> u64) {
        for shard in self.shards.iter_mut() {
            if let Some(capacity) = shrunk_capacity(shard.len(), shard.capacity()) {
                shard.shrink_to(capacity, &rehash);
            }
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.shards.iter().map(HashTable::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex_lower;

    #[test]
    fn a_hex_digest_is_its_bytes_and_any_other_signature_is_hashed() {
        let hex = crate::crypto::sha256_hex(b"op_at_token");
        let key = Key::of(&hex);
        assert_eq!(crate::crypto::hex(&key.0), hex);
        // Another spelling of the same bytes is another signature, so another key.
        assert_ne!(Key::of(&hex.to_uppercase()), key);
        assert_eq!(Key::of("sig-1").0, crate::crypto::sha256(b"sig-1"));
        assert_ne!(Key::of("sig-1"), Key::of("sig-2"));
        assert_eq!(unhex_lower::<32>(&hex[..62]), None);
        assert_eq!(unhex_lower::<32>(&format!("{}g", &hex[..63])), None);
        assert_eq!(unhex_lower::<2>("0aff"), Some([0x0a, 0xff]));
        for bad in ["0aFf", "/aff", "0:ff", "0a`f", "0afg", "é0a"] {
            assert_eq!(unhex_lower::<2>(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_spread_over_shards_and_find_their_values() {
        let mut table: ShardedTable<(Key, u32)> = ShardedTable::default();
        let key = |i: u32| Key::of(&crate::crypto::sha256_hex(&i.to_le_bytes()));
        for i in 0..10_000u32 {
            table.insert(key(i).hash(), (key(i), i), |(k, _)| k.hash());
        }
        assert_eq!(table.len(), 10_000);
        let used = table.shards.iter().filter(|s| !s.is_empty()).count();
        assert_eq!(used, SHARDS, "10,000 uniform keys leave no shard empty");
        for i in 0..10_000u32 {
            let k = key(i);
            assert_eq!(table.find(k.hash(), |(e, _)| *e == k), Some(&(k, i)));
        }
    }

    #[test]
    fn entries_sharing_a_hash_are_all_candidates_and_removed_one_by_one() {
        let mut table: ShardedTable<u32> = ShardedTable::default();
        let shared = 0x1234_5678_9abc_def0;
        for i in 0..40 {
            table.insert(shared, i, |_| shared);
        }
        table.insert(7, 1000, |&v| if v == 1000 { 7 } else { shared });
        let mut found: Vec<u32> = table.candidates(shared).copied().collect();
        found.sort_unstable();
        assert_eq!(found, (0..40).collect::<Vec<_>>());
        assert_eq!(table.replace(shared, 3, |&v| v == 3, |_| shared), Some(3));
        assert_eq!(table.candidates(shared).count(), 40);
        assert_eq!(table.remove(shared, |&v| v == 3), Some(3));
        assert_eq!(table.remove(shared, |&v| v == 3), None);
        assert_eq!(table.candidates(shared).count(), 39);
        let odd = table.extract(5, |&v| v % 2 == 1);
        assert_eq!(odd.len(), 5);
        assert_eq!(table.len(), 40 - 5);
        assert_eq!(table.find(7, |&v| v == 1000), Some(&1000));
    }
}
