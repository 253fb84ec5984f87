//! JOSE: signing keys, JWS compact serialization, JWK sets.
//!
//! This module is deliberately small: the provider signs its own tokens
//! (ID tokens, JWT access tokens, logout tokens) with keys it generated
//! itself, and verifies tokens only against keys from its own set. Four
//! asymmetric algorithms are supported, `ES256`, `EdDSA` (Ed25519), and with
//! the `rsa` feature `RS256` and `PS256`; `none` and the HMAC family are never
//! accepted.
//!
//! Public signatures never expose the underlying cryptography crates, so they
//! can be upgraded without breaking callers.

mod jwk;
mod jws;
mod keys;
#[cfg(feature = "rsa")]
mod rsa;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Digest as _;

pub use jwk::PrivateJwk;
pub use jwk::{Jwk, JwkSet};
pub use jws::VerifyingKeys;
pub use keys::SigningKey;
pub(crate) use keys::{attach_signature, signing_input};

pub(crate) use crate::model::Algorithm;

/// Errors from key handling, signing and verification.
///
/// Verification failures are intentionally coarse: callers should treat every
/// variant as "token invalid" and not echo details back to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoseError {
    /// The token or one of its parts is not well-formed (the reason is static text).
    Malformed(&'static str),
    /// The token exceeds 64 KiB; it was rejected before decoding.
    TooLarge,
    /// The token names no `kid`, or a `kid` that is not in the key set.
    UnknownKey,
    /// The header `alg` differs from the algorithm pinned to the key.
    AlgorithmMismatch,
    /// The algorithm name is not one this crate supports (e.g. `none`, `HS256`).
    UnsupportedAlgorithm,
    /// The signature does not verify.
    BadSignature,
    /// A key could not be generated, encoded, decoded or used.
    Key(String),
    /// Claims could not be serialized to JSON.
    Serialization(String),
}

impl fmt::Display for JoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed token: {why}"),
            Self::TooLarge => f.write_str("token too large"),
            Self::UnknownKey => f.write_str("unknown signing key"),
            Self::AlgorithmMismatch => f.write_str("token algorithm does not match the key"),
            Self::UnsupportedAlgorithm => f.write_str("unsupported algorithm"),
            Self::BadSignature => f.write_str("invalid signature"),
            Self::Key(msg) => write!(f, "key error: {msg}"),
            Self::Serialization(msg) => write!(f, "serialization error: {msg}"),
        }
    }
}

impl std::error::Error for JoseError {}

/// Encodes bytes as base64url without padding (RFC 7515 §2), the encoding
/// used throughout JOSE and for opaque tokens elsewhere in the crate.
pub(crate) fn b64url_encode(data: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes strict base64url without padding; padding, non-canonical trailing
/// bits and characters outside the URL-safe alphabet are rejected.
pub(crate) fn b64url_decode(data: impl AsRef<[u8]>) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| JoseError::Malformed("invalid base64url"))
}

/// Computes an OIDC `at_hash` / `c_hash` (OIDC Core §3.1.3.6, §3.3.2.11):
/// the left-most half of the hash of the ASCII `value`, base64url-encoded.
///
/// The hash is the one paired with the signing algorithm: SHA-256 for
/// `ES256`, `RS256` and `PS256`, SHA-512 for `EdDSA` (the common practice for Ed25519).
// Consumed by the OIDC ID-token issuer, which lives outside this module.
pub(crate) fn left_half_hash(alg: Algorithm, value: &str) -> String {
    match alg {
        Algorithm::ES256 | Algorithm::RS256 | Algorithm::PS256 => {
            let digest = sha2::Sha256::digest(value.as_bytes());
            b64url_encode(&digest[..digest.len() / 2])
        }
        Algorithm::EdDSA => {
            let digest = sha2::Sha512::digest(value.as_bytes());
            b64url_encode(&digest[..digest.len() / 2])
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.as_str()));
            assert_eq!(serde_json::from_str::<Algorithm>(&json).unwrap(), alg);
        }
        for bad in ["es256", "EDDSA", "none", "HS256", "rs256", "RS512", ""] {
            assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Algorithm>("\"none\"").is_err());
    }

    #[test]
    fn b64url_round_trip_and_strictness() {
        let data = [0xfbu8, 0xff, 0x00, 0x10];
        let enc = b64url_encode(data);
        assert_eq!(enc, "-_8AEA");
        assert_eq!(b64url_decode(&enc).unwrap(), data);
        assert!(b64url_decode("-_8AEA==").is_err(), "padding rejected");
        assert!(
            b64url_decode("+/8AEA").is_err(),
            "standard alphabet rejected"
        );
        assert!(
            b64url_decode("-_8AEB").is_err(),
            "non-canonical bits rejected"
        );
    }

    #[test]
    fn at_hash_known_answer() {
        // OIDC Core 1.0, Appendix A.3/A.4 examples (SHA-256, left 128 bits).
        let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            left_half_hash(Algorithm::ES256, access_token),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
        assert_eq!(
            left_half_hash(Algorithm::ES256, code),
            "LDktKdoQak3Pk0cnXxCltA"
        );

        // Independent computation with sha2 + base64 directly.
        let full = sha2::Sha256::digest(access_token.as_bytes());
        let mut left = [0u8; 16];
        left.copy_from_slice(&full[..16]);
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(left),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );

        let full512 = sha2::Sha512::digest(access_token.as_bytes());
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&full512[..32]);
        let got = left_half_hash(Algorithm::EdDSA, access_token);
        assert_eq!(got, expected);
        assert_eq!(got.len(), 43, "256 bits -> 43 base64url chars");
    }
}
