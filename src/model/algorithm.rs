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
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3): the algorithm OpenID Connect requires
    /// every OP to offer. Needs the `rsa` feature.
    RS256,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256 (RFC 7518 §3.5). Needs the `rsa` feature.
    PS256,
}

impl Algorithm {
    /// Every algorithm the crate knows, whether or not this build can sign with it.
    pub const ALL: [Algorithm; 4] = [Self::ES256, Self::EdDSA, Self::RS256, Self::PS256];

    /// The JOSE `alg` name, as it appears in JWS headers and JWKs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
        }
    }

    /// Whether this build can sign and verify with it: the RSA algorithms need the `rsa`
    /// feature (AWS-LC's constant-time RSA).
    pub const fn is_compiled(self) -> bool {
        match self {
            Self::ES256 | Self::EdDSA => true,
            Self::RS256 | Self::PS256 => cfg!(feature = "rsa"),
        }
    }

    /// Whether keys of this algorithm are RSA keys.
    pub const fn is_rsa(self) -> bool {
        matches!(self, Self::RS256 | Self::PS256)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = UnsupportedAlgorithm;

    /// Parses the exact, case-sensitive JOSE name (`"ES256"`, `"EdDSA"`, `"RS256"` or
    /// `"PS256"`), whether or not this build can use it (see [`Algorithm::is_compiled`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or(UnsupportedAlgorithm)
    }
}

/// The RSA modulus sizes the provider generates: 2048 bits by default, 3072 and 4096 for
/// hosts that want a larger margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RsaBits {
    /// 2048-bit modulus (the default).
    #[default]
    B2048,
    /// 3072-bit modulus.
    B3072,
    /// 4096-bit modulus (what Hydra v1.0.0-beta.8 generated).
    B4096,
}

impl RsaBits {
    /// The size for a number of bits, if it is one of the supported ones.
    pub fn from_bits(bits: u32) -> Option<RsaBits> {
        match bits {
            2048 => Some(Self::B2048),
            3072 => Some(Self::B3072),
            4096 => Some(Self::B4096),
            _ => None,
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
