//! A map keyed by SHA-256 digests, split into many hash tables so that growing never pauses
//! for long.
//!
//! A `HashMap` grows by rehashing every entry at once: with a million tokens that is a pause of
//! several hundred milliseconds, during which a one-core server answers nothing (the load
//! benchmark saw p99 ≈ 300 ms for `client_credentials`). Split in [`SHARDS`] tables that grow
//! independently, each pause is that much shorter, and after a flush each table gives its
//! memory back on its own.
//!
//! Keys are 32-byte digests, not their 64-character hex, and are not hashed again: a digest is
//! already uniform, so a table takes 8 of its bytes as the hash and another byte picks the
//! shard (SipHash over the hex string was ~3 % of a `client_credentials` request). This is
//! sound against hash flooding because nobody chooses where a key lands: what is inserted is
//! the digest of a credential minted from 256 random bits (or of some other signature string),
//! and a lookup of a presented credential digests it first and only probes, never inserts.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

/// Measured with the load benchmark at ~1.4 million live tokens (`client_credentials` p99):
/// 64 shards 6.8–8.4 ms, 256 shards 3.6–3.8 ms, 1024 shards 3.4–4.0 ms — but 1024 made
/// introspection ~30% slower (more scattered tables). An empty map costs nothing worth
/// counting: no table allocates until used.
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
            decode_lower_hex(signature)
                .unwrap_or_else(|| crate::crypto::sha256(signature.as_bytes())),
        )
    }
}

/// The 32 bytes of a 64-character lowercase hex string. Uppercase is refused so that two
/// spellings never share a key.
fn decode_lower_hex(text: &str) -> Option<[u8; 32]> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

/// Passes a [`Key`]'s 8 bytes through as the hash.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    /// Only [`Key`] is hashed here, through `write_u64`; any other input is folded in
    /// (FNV-1a) so that the hasher stays correct for it.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The capacity a table of `len` entries shrinks to once it is mostly empty (after a flush).
/// It keeps twice its length, so it shrinks again only once it halved again: amortised O(1).
fn shrunk_capacity(len: usize, capacity: usize) -> Option<usize> {
    (capacity > MIN_SHRINK_CAPACITY && len < capacity / 4).then_some(len * 2)
}

/// Hashes a [`Key`] by passing 8 of its bytes through.
pub(super) type KeyHashing = BuildHasherDefault<KeyHasher>;

/// A `HashMap<K, V, S>` in [`SHARDS`] parts. Keys are [`Key`]s by default; other keys (the
/// grant index's ids) use a keyed hasher such as `RandomState`.
#[derive(Debug)]
pub(super) struct Sharded<K, V, S = KeyHashing> {
    picker: S,
    shards: Vec<HashMap<K, V, S>>,
}

impl<K, V, S: Default> Default for Sharded<K, V, S> {
    fn default() -> Self {
        Self {
            picker: S::default(),
            shards: (0..SHARDS).map(|_| HashMap::default()).collect(),
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Sharded<K, V, S> {
    fn index<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        // Bits 32–39 of the hash: a table takes its bucket from the low bits and its tags
        // from the top seven, so within a shard the keys still differ in both.
        ((self.picker.hash_one(key) >> 32) as usize) % SHARDS
    }

    pub(super) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.index(key)].get(key)
    }

    pub(super) fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.index(key)].get_key_value(key)
    }

    pub(super) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.index(key);
        self.shards[index].get_mut(key)
    }

    pub(super) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.index(key)].contains_key(key)
    }

    pub(super) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let index = self.index(&key);
        self.shards[index].insert(key, value)
    }

    pub(super) fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let index = self.index(&key);
        self.shards[index].entry(key)
    }

    pub(super) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let index = self.index(key);
        self.shards[index].remove(key)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flatten()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(HashMap::values)
    }

    /// Gives memory back from every table that is mostly empty (after a flush).
    pub(super) fn shrink_if_sparse(&mut self) {
        for shard in &mut self.shards {
            if let Some(capacity) = shrunk_capacity(shard.len(), shard.capacity()) {
                shard.shrink_to(capacity);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hex_digest_is_its_bytes_and_any_other_signature_is_hashed() {
        let hex = crate::crypto::sha256_hex(b"op_at_token");
        let key = Key::of(&hex);
        assert_eq!(crate::crypto::hex(&key.0), hex);
        // Another spelling of the same bytes is another signature, so another key.
        assert_ne!(Key::of(&hex.to_uppercase()), key);
        assert_eq!(Key::of("sig-1").0, crate::crypto::sha256(b"sig-1"));
        assert_ne!(Key::of("sig-1"), Key::of("sig-2"));
        assert_eq!(decode_lower_hex(&hex[..62]), None);
        assert_eq!(decode_lower_hex(&format!("{}g", &hex[..63])), None);
    }

    #[test]
    fn keys_spread_over_shards_and_find_their_values() {
        let mut map: Sharded<Key, u32> = Sharded::default();
        for i in 0..10_000u32 {
            let key = Key::of(&crate::crypto::sha256_hex(&i.to_le_bytes()));
            assert_eq!(map.insert(key, i), None);
        }
        assert_eq!(map.len(), 10_000);
        let used = map.shards.iter().filter(|s| !s.is_empty()).count();
        assert_eq!(used, SHARDS, "10,000 uniform keys leave no shard empty");
        for i in 0..10_000u32 {
            let key = Key::of(&crate::crypto::sha256_hex(&i.to_le_bytes()));
            assert_eq!(map.get(&key), Some(&i));
        }
    }
}
