//! Secrets: key material with a redacted `Debug`, no `Display` and constant-time
//! comparison, and the hashes client secrets are kept as.

use std::fmt;

use serde::{Deserialize, Serialize};

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

/// How a client secret is kept: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecretHash {
    /// SHA-256 of a server-generated 256-bit secret: brute force is hopeless, so a fast hash
    /// is as safe as a slow one and keeps client authentication in the microseconds.
    Sha256 {
        /// Lowercase hex digest.
        digest: String,
    },
    /// PBKDF2-HMAC-SHA256 of a secret chosen by a person, which may be guessable.
    Pbkdf2Sha256 {
        /// Iteration count.
        iterations: u32,
        /// Lowercase hex salt.
        salt: String,
        /// Lowercase hex derived key.
        digest: String,
    },
}

/// PBKDF2 iterations for secrets chosen by people (OWASP 2023 guidance for HMAC-SHA256).
const PBKDF2_ITERATIONS: u32 = 600_000;

impl SecretHash {
    /// The hash of a secret the server generated (256 random bits): plain SHA-256.
    pub fn of_generated(secret: &str) -> Self {
        use sha2::Digest;
        Self::Sha256 {
            digest: crate::crypto::hex(&sha2::Sha256::digest(secret.as_bytes())),
        }
    }

    /// The hash of a secret chosen by a person: salted PBKDF2-HMAC-SHA256.
    pub fn of_chosen(secret: &str) -> Self {
        let salt = crate::crypto::random_bytes::<16>();
        let digest = pbkdf2_sha256(secret.as_bytes(), &salt, PBKDF2_ITERATIONS);
        Self::Pbkdf2Sha256 {
            iterations: PBKDF2_ITERATIONS,
            salt: crate::crypto::hex(&salt),
            digest: crate::crypto::hex(&digest),
        }
    }

    /// Whether checking a secret against this hash is slow on purpose (PBKDF2): such checks
    /// run off the async executor.
    pub(crate) fn is_slow(&self) -> bool {
        matches!(self, Self::Pbkdf2Sha256 { .. })
    }

    /// Every stored part of the hash in one string, to key remembered checks by.
    pub(crate) fn stored_form(&self) -> String {
        match self {
            Self::Sha256 { digest } => format!("sha256${digest}"),
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                digest,
            } => format!("pbkdf2-sha256${iterations}${salt}${digest}"),
        }
    }

    /// Whether `presented` is the secret, compared in constant time. A PBKDF2 check takes
    /// about 0.1 s of CPU; the endpoints run it off the executor.
    pub fn verify(&self, presented: &str) -> bool {
        use crate::crypto::{constant_time_eq, hex, sha256_hex_array, unhex};
        match self {
            Self::Sha256 { digest } => {
                constant_time_eq(&sha256_hex_array(presented.as_bytes()), digest.as_bytes())
            }
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                digest,
            } => {
                let Some(salt) = unhex(salt) else {
                    return false;
                };
                let actual = pbkdf2_sha256(presented.as_bytes(), &salt, *iterations);
                constant_time_eq(hex(&actual).as_bytes(), digest.as_bytes())
            }
        }
    }
}

fn pbkdf2_sha256(secret: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret, salt, iterations, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_verify_fast_path() {
        let hash = SecretHash::of_generated("s3cret-generated");
        assert!(matches!(hash, SecretHash::Sha256 { .. }));
        assert!(hash.verify("s3cret-generated"));
        assert!(!hash.verify("s3cret-generatee"));
        assert!(!hash.verify(""));
    }

    #[test]
    fn chosen_secrets_use_salted_pbkdf2() {
        let a = SecretHash::of_chosen("correct horse");
        let b = SecretHash::of_chosen("correct horse");
        assert_ne!(a, b, "salts must differ");
        assert!(a.verify("correct horse"));
        assert!(!a.verify("correct horsf"));
    }
}
