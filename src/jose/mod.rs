//! JOSE: signing keys, JWS compact serialization, JWK sets. (Placeholder API; replaced by
//! the real module.)
use serde::{Deserialize, Serialize};

/// Signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA P-256 SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

/// Error.
#[derive(Debug)]
pub struct JoseError;
impl std::fmt::Display for JoseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("jose")
    }
}

/// Key.
#[derive(Debug)]
pub struct SigningKey {
    alg: Algorithm,
}
impl SigningKey {
    /// gen
    pub fn generate(alg: Algorithm, _kid: String) -> Self {
        Self { alg }
    }
    /// der
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, JoseError> {
        Err(JoseError)
    }
    /// der
    pub fn from_pkcs8_der(alg: Algorithm, _kid: String, _der: &[u8]) -> Result<Self, JoseError> {
        Ok(Self { alg })
    }
    /// alg
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
    /// jwk
    pub fn public_jwk(&self) -> Jwk {
        Jwk {}
    }
}
/// Jwk.
#[derive(Debug, Serialize)]
pub struct Jwk {}
/// Set.
#[derive(Debug, Serialize)]
pub struct JwkSet {
    /// keys
    pub keys: Vec<Jwk>,
}
/// Verifier.
#[derive(Debug)]
pub struct VerifyingKeys;
impl VerifyingKeys {
    /// new
    pub fn new(_k: &[SigningKey]) -> Self {
        Self
    }
}
impl SigningKey {
    /// sign
    pub fn sign_jwt<T: Serialize>(&self, _typ: &str, _claims: &T) -> Result<String, JoseError> {
        Err(JoseError)
    }
    /// kid
    pub fn kid(&self) -> &str {
        ""
    }
}
/// hash
pub(crate) fn left_half_hash(_alg: Algorithm, _v: &str) -> String {
    String::new()
}
