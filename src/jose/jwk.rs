//! JSON Web Keys (RFC 7517) for publishing the provider's public keys.

use serde::{Deserialize, Serialize};

use super::keys::{PrivateParts, PublicKey, SigningKey};
use super::{Algorithm, JoseError, b64url_decode, b64url_encode};

/// A public JSON Web Key, as published in the provider's JWK set.
///
/// Only the key types the provider signs with are represented: `EC`/`P-256` (`crv`, `x`
/// and `y`), `OKP`/`Ed25519` (`crv` and `x`) and `RSA` (`n` and `e`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `"EC"`, `"OKP"` or `"RSA"`.
    pub kty: String,
    /// Curve: `"P-256"` or `"Ed25519"`; absent for RSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Base64url x coordinate (EC) or the raw public key (OKP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Base64url y coordinate; present for EC keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Base64url RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// Base64url RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
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

/// A JWK with its private members (RFC 7518 §6.2.2 and §6.3.2, RFC 8037 §2): what the JSON
/// Web Key API imports, and exports only where the host allows it. `Debug` redacts them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateJwk {
    /// The public members.
    #[serde(flatten)]
    pub public: Jwk,
    /// The private key (EC scalar, Ed25519 seed) or the RSA private exponent.
    pub d: String,
    /// RSA: the first prime factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// RSA: the second prime factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// RSA: the first factor's CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// RSA: the second factor's CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// RSA: the first CRT coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
}

impl std::fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// This key as a private JWK (with its `kid`, `alg` and `use`).
    pub fn private_jwk(&self) -> Result<PrivateJwk, JoseError> {
        let mut jwk = PrivateJwk {
            public: self.public_jwk(),
            d: String::new(),
            p: None,
            q: None,
            dp: None,
            dq: None,
            qi: None,
        };
        match self.private_parts()? {
            PrivateParts::Ec(d) | PrivateParts::Okp(d) => jwk.d = b64url_encode(d),
            #[cfg(feature = "rsa")]
            PrivateParts::Rsa(_, parts) => {
                jwk.d = b64url_encode(&parts.d);
                jwk.p = Some(b64url_encode(&parts.p));
                jwk.q = Some(b64url_encode(&parts.q));
                jwk.dp = Some(b64url_encode(&parts.dp));
                jwk.dq = Some(b64url_encode(&parts.dq));
                jwk.qi = Some(b64url_encode(&parts.qi));
            }
        }
        Ok(jwk)
    }

    /// The key a private JWK holds. Its public members must be those of the private key,
    /// and `kty`, `crv` and `alg` must agree, as for [`Jwk`].
    pub fn from_private_jwk(jwk: &PrivateJwk) -> Result<SigningKey, JoseError> {
        let public = jwk.public.to_public_key()?;
        let bad = |what: &str| JoseError::Key(format!("JWK {}: {what}", jwk.public.kid));
        let member = |value: &str, name: &str| {
            b64url_decode(value).map_err(|_| bad(&format!("invalid {name}")))
        };
        let d = member(&jwk.d, "d")?;
        let parts = match &public {
            PublicKey::Es256(_) => PrivateParts::Ec(d),
            PublicKey::EdDsa(_) => PrivateParts::Okp(d),
            #[cfg(feature = "rsa")]
            PublicKey::Rsa(_, key) => {
                let required = |value: &Option<String>, name: &str| {
                    member(
                        value
                            .as_deref()
                            .ok_or_else(|| bad(&format!("missing {name}")))?,
                        name,
                    )
                };
                PrivateParts::Rsa(
                    key.clone(),
                    super::rsa::RsaPrivateParts {
                        d,
                        p: required(&jwk.p, "p")?,
                        q: required(&jwk.q, "q")?,
                        dp: required(&jwk.dp, "dp")?,
                        dq: required(&jwk.dq, "dq")?,
                        qi: required(&jwk.qi, "qi")?,
                    },
                )
            }
        };
        let key = SigningKey::from_private_parts(jwk.public.alg, jwk.public.kid.clone(), &parts)?;
        if key.public_key() != public {
            return Err(bad("the public members do not belong to the private key"));
        }
        Ok(key)
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
        let mut jwk = Jwk {
            kty: String::new(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            kid: kid.to_owned(),
            use_: "sig".to_owned(),
            alg: key.algorithm(),
        };
        match key {
            PublicKey::Es256(k) => {
                let point = k.to_sec1_point(false);
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = point.x().map(b64url_encode);
                jwk.y = point.y().map(b64url_encode);
            }
            PublicKey::EdDsa(k) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(b64url_encode(k.as_bytes()));
            }
            #[cfg(feature = "rsa")]
            PublicKey::Rsa(_, k) => {
                jwk.kty = "RSA".into();
                jwk.n = Some(b64url_encode(&k.n));
                jwk.e = Some(b64url_encode(&k.e));
            }
        }
        jwk
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
        let member = |value: &Option<String>, name: &str| {
            let text = value
                .as_deref()
                .ok_or_else(|| bad(&format!("missing {name}")))?;
            b64url_decode(text).map_err(|_| bad(&format!("invalid {name}")))
        };
        let ec_or_okp = self.n.is_none() && self.e.is_none();
        match (self.alg, self.kty.as_str(), self.crv.as_deref()) {
            (Algorithm::ES256, "EC", Some("P-256")) if ec_or_okp => {
                let x = member(&self.x, "x")?;
                let y = member(&self.y, "y")?;
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
            (Algorithm::EdDSA, "OKP", Some("Ed25519")) if ec_or_okp => {
                if self.y.is_some() {
                    return Err(bad("unexpected y for OKP key"));
                }
                let x: [u8; 32] = member(&self.x, "x")?
                    .try_into()
                    .map_err(|_| bad("x must be 32 bytes"))?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map(PublicKey::EdDsa)
                    .map_err(|_| bad("invalid Ed25519 public key"))
            }
            #[cfg(feature = "rsa")]
            (Algorithm::RS256 | Algorithm::PS256, "RSA", None)
                if self.x.is_none() && self.y.is_none() =>
            {
                let key = super::rsa::PublicRsa::new(member(&self.n, "n")?, member(&self.e, "e")?)?;
                Ok(PublicKey::Rsa(self.alg, key))
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
        let ec = SigningKey::generate(Algorithm::ES256, "ec-1".into())
            .unwrap()
            .public_jwk();
        let v = serde_json::to_value(&ec).unwrap();
        assert_eq!(v["kty"], "EC");
        assert_eq!(v["crv"], "P-256");
        assert_eq!(v["use"], "sig");
        assert_eq!(v["alg"], "ES256");
        assert_eq!(v["kid"], "ec-1");
        assert_eq!(v["x"].as_str().unwrap().len(), 43);
        assert_eq!(v["y"].as_str().unwrap().len(), 43);
        assert!(v.get("d").is_none());

        let ed = SigningKey::generate(Algorithm::EdDSA, "ed-1".into())
            .unwrap()
            .public_jwk();
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
        let mut ec = SigningKey::generate(Algorithm::ES256, "k".into())
            .unwrap()
            .public_jwk();
        ec.alg = Algorithm::EdDSA;
        assert!(ec.to_public_key().is_err());
        let mut ed = SigningKey::generate(Algorithm::EdDSA, "k".into())
            .unwrap()
            .public_jwk();
        ed.alg = Algorithm::ES256;
        assert!(ed.to_public_key().is_err());
    }
}
