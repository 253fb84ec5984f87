//! The JWS signature algorithms the provider signs with: protocol vocabulary shared by the
//! client model, the key records of the store and the JOSE code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A JWS signature algorithm supported by the provider.
///
/// Each key is pinned to exactly one algorithm, so a token's `alg` header can
/// never downgrade verification to a weaker scheme.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256 (RFC 7518 §3.4); the interoperable default.
    ES256,
    /// Ed25519 signatures (RFC 8037); small and fast.
    EdDSA,
}

impl Algorithm {
    /// The JOSE `alg` name, as it appears in JWS headers and JWKs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = UnsupportedAlgorithm;

    /// Parses the exact, case-sensitive JOSE name (`"ES256"` or `"EdDSA"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ES256" => Ok(Self::ES256),
            "EdDSA" => Ok(Self::EdDSA),
            _ => Err(UnsupportedAlgorithm),
        }
    }
}

/// A name that is not one of the supported [`Algorithm`]s (e.g. `none`, `HS256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedAlgorithm;

impl fmt::Display for UnsupportedAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unsupported algorithm")
    }
}

impl std::error::Error for UnsupportedAlgorithm {}
