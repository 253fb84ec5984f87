//! JSON Web Keys (RFC 7517) for publishing the provider's public keys.

use serde::{Deserialize, Serialize};

use super::keys::{PublicKey, SigningKey};
use super::{Algorithm, JoseError, b64url_decode, b64url_encode};

/// A public JSON Web Key, as published in the provider's JWK set.
///
/// Only the two key types the provider signs with are represented:
/// `EC`/`P-256` (with `x` and `y`) and `OKP`/`Ed25519` (with `x` only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `"EC"` or `"OKP"`.
    pub kty: String,
    /// Curve: `"P-256"` or `"Ed25519"`.
    pub crv: String,
    /// Base64url x coordinate (EC) or the raw public key (OKP).
    pub x: String,
    /// Base64url y coordinate; present for EC keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Key id, matched against the `kid` of JWS headers.
    pub kid: String,
    /// Intended use; always `"sig"` for keys produced here.
    #[serde(rename = "use")]
    pub use_: String,
    /// The one algorithm this key may be used with.
    pub alg: Algorithm,
}

/// A JWK set document (`{"keys":[...]}`), served at the `jwks_uri`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The public keys, in publication order.
    pub keys: Vec<Jwk>,
}

/// Builds the public JWK set for `keys`, so private material is never published.
pub(crate) fn public_key_set(keys: &[SigningKey]) -> JwkSet {
    JwkSet {
        keys: keys.iter().map(SigningKey::public_jwk).collect(),
    }
}

impl SigningKey {
    /// The public half of this key as a JWK, for publishing at `/.well-known/jwks.json`.
    pub fn public_jwk(&self) -> Jwk {
        Jwk::of(&self.public_key(), self.kid())
    }
}

impl Jwk {
    /// The JWK of a public key.
    pub(super) fn of(key: &PublicKey, kid: &str) -> Jwk {
        let (kty, crv, x, y) = match key {
            PublicKey::Es256(k) => {
                let point = k.to_sec1_point(false);
                // An uncompressed point on a valid key always has both coordinates.
                let x = point.x().map(b64url_encode).unwrap_or_default();
                let y = point.y().map(b64url_encode);
                ("EC", "P-256", x, y)
            }
            PublicKey::EdDsa(k) => ("OKP", "Ed25519", b64url_encode(k.as_bytes()), None),
        };
        Jwk {
            kty: kty.to_owned(),
            crv: crv.to_owned(),
            x,
            y,
            kid: kid.to_owned(),
            use_: "sig".to_owned(),
            alg: key.algorithm(),
        }
    }

    /// Parses this JWK into a verification key, checking that `kty`, `crv` and
    /// `alg` agree so a key can never be used with another algorithm.
    pub(super) fn to_public_key(&self) -> Result<PublicKey, JoseError> {
        if self.use_ != "sig" {
            return Err(JoseError::Key(format!(
                "JWK {}: use is not \"sig\"",
                self.kid
            )));
        }
        let bad = |what: &str| JoseError::Key(format!("JWK {}: {what}", self.kid));
        match (self.alg, self.kty.as_str(), self.crv.as_str()) {
            (Algorithm::ES256, "EC", "P-256") => {
                let y = self.y.as_deref().ok_or_else(|| bad("missing y"))?;
                let x = b64url_decode(&self.x).map_err(|_| bad("invalid x"))?;
                let y = b64url_decode(y).map_err(|_| bad("invalid y"))?;
                if x.len() != 32 || y.len() != 32 {
                    return Err(bad("coordinates must be 32 bytes"));
                }
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map(PublicKey::Es256)
                    .map_err(|_| bad("point is not on P-256"))
            }
            (Algorithm::EdDSA, "OKP", "Ed25519") => {
                if self.y.is_some() {
                    return Err(bad("unexpected y for OKP key"));
                }
                let x: [u8; 32] = b64url_decode(&self.x)
                    .map_err(|_| bad("invalid x"))?
                    .try_into()
                    .map_err(|_| bad("x must be 32 bytes"))?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map(PublicKey::EdDsa)
                    .map_err(|_| bad("invalid Ed25519 public key"))
            }
            _ => Err(bad("kty/crv do not match alg")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn jwk_shapes() {
        let ec = SigningKey::generate(Algorithm::ES256, "ec-1".into()).public_jwk();
        let v = serde_json::to_value(&ec).unwrap();
        assert_eq!(v["kty"], "EC");
        assert_eq!(v["crv"], "P-256");
        assert_eq!(v["use"], "sig");
        assert_eq!(v["alg"], "ES256");
        assert_eq!(v["kid"], "ec-1");
        assert_eq!(v["x"].as_str().unwrap().len(), 43);
        assert_eq!(v["y"].as_str().unwrap().len(), 43);
        assert!(v.get("d").is_none());

        let ed = SigningKey::generate(Algorithm::EdDSA, "ed-1".into()).public_jwk();
        let v = serde_json::to_value(&ed).unwrap();
        assert_eq!(v["kty"], "OKP");
        assert_eq!(v["crv"], "Ed25519");
        assert_eq!(v["alg"], "EdDSA");
        assert_eq!(v["x"].as_str().unwrap().len(), 43);
        assert!(v.get("y").is_none(), "y must be omitted for OKP");
        assert!(v.get("d").is_none());

        let set = JwkSet {
            keys: vec![ec.clone(), ed.clone()],
        };
        let json = serde_json::to_string(&set).unwrap();
        let back: JwkSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        assert_eq!(Jwk::of(&ec.to_public_key().unwrap(), "ec-1"), ec);
        assert_eq!(Jwk::of(&ed.to_public_key().unwrap(), "ed-1"), ed);
    }

    #[test]
    fn jwk_with_mismatched_alg_is_rejected() {
        let mut ec = SigningKey::generate(Algorithm::ES256, "k".into()).public_jwk();
        ec.alg = Algorithm::EdDSA;
        assert!(ec.to_public_key().is_err());
        let mut ed = SigningKey::generate(Algorithm::EdDSA, "k".into()).public_jwk();
        ed.alg = Algorithm::ES256;
        assert!(ed.to_public_key().is_err());
    }
}
