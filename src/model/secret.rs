//! Secret bytes: redacted `Debug`, no `Display`, constant-time comparison.

use std::fmt;

/// Secret key material (system secret, pairwise salt).
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the given bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// 32 random bytes.
    pub fn generate() -> Self {
        Self(crate::crypto::random_bytes::<32>().to_vec())
    }

    /// The raw bytes, for keyed hashing.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        crate::crypto::constant_time_eq(&self.0, &other.0)
    }
}

impl Eq for Secret {}
