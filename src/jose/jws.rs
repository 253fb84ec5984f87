//! Compact JWS verification against the provider's own key set.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::jwk::JwkSet;
use super::keys::{PublicKey, SigningKey};
use super::{Algorithm, JoseError, b64url_decode};

/// Largest compact JWS accepted by [`VerifyingKeys::verify_jwt`], in bytes.
///
/// Checked before any decoding so oversized input costs nothing to reject.
pub(crate) const MAX_TOKEN_LEN: usize = 64 * 1024;

/// The longest signature any supported key makes: RSA-8192.
const MAX_SIGNATURE_LEN: usize = 1024;

/// The header fields verification looks at. Anything else — in particular
/// `jwk`, `jku`, `x5u` and `x5c` — is ignored: keys come only from our set.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    /// RFC 7515 §4.1.11: we understand no extensions, so any `crit` is fatal.
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// A set of public keys that tokens are verified against, each pinned to
/// its algorithm.
///
/// Verification checks only the signature and the header; it does **not**
/// check `exp`, `nbf`, `iat`, `iss` or `aud`. Callers must validate those on
/// the returned claims.
#[derive(Clone)]
pub struct VerifyingKeys {
    keys: Vec<(String, PublicKey)>,
}

impl fmt::Debug for VerifyingKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|(kid, k)| (kid, k.algorithm())))
            .finish()
    }
}

impl VerifyingKeys {
    /// Builds the verification set from the provider's own signing keys.
    pub fn from_signing_keys(keys: &[SigningKey]) -> VerifyingKeys {
        VerifyingKeys {
            keys: keys
                .iter()
                .map(|k| (k.kid().to_owned(), k.public_key()))
                .collect(),
        }
    }

    /// Builds the verification set from a JWK set (e.g. one persisted or
    /// published earlier); any invalid or inconsistent key is an error.
    pub fn from_jwk_set(set: &JwkSet) -> Result<VerifyingKeys, JoseError> {
        let keys = set
            .keys
            .iter()
            .map(|jwk| Ok((jwk.kid.clone(), jwk.to_public_key()?)))
            .collect::<Result<_, JoseError>>()?;
        Ok(VerifyingKeys { keys })
    }

    /// Verifies a compact JWS and returns its claims object.
    ///
    /// The key is selected by the header `kid` only, and the header `alg`
    /// must equal the algorithm pinned to that key; embedded keys (`jwk`,
    /// `jku`, `x5u`, `x5c`) are ignored. Time-based and audience/issuer claims
    /// are **not** checked — that is the caller's job.
    pub fn verify_jwt(&self, token: &str) -> Result<Map<String, Value>, JoseError> {
        self.verify(token).map(|(_, claims)| claims)
    }

    /// Like [`VerifyingKeys::verify_jwt`], and the header's `typ` must name `typ` (compared
    /// without case, with or without the `application/` prefix, RFC 7515 §4.1.9): a token of
    /// one kind (an RFC 9068 `at+jwt` access token) is never taken for another.
    pub fn verify_jwt_of_type(
        &self,
        token: &str,
        typ: &str,
    ) -> Result<Map<String, Value>, JoseError> {
        let (header, claims) = self.verify(token)?;
        let named = header.typ.as_deref().unwrap_or("");
        let named = match named.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &named[12..],
            _ => named,
        };
        if named.eq_ignore_ascii_case(typ) {
            Ok(claims)
        } else {
            Err(JoseError::Malformed("unexpected token type"))
        }
    }

    fn verify(&self, token: &str) -> Result<(Header, Map<String, Value>), JoseError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JoseError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("expected three segments"));
        };

        let header: Header = serde_json::from_slice(&b64url_decode(header_b64)?)
            .map_err(|_| JoseError::Malformed("invalid header"))?;
        if header.crit.is_some() {
            return Err(JoseError::Malformed("unsupported critical header"));
        }
        let kid = header.kid.as_deref().ok_or(JoseError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key)
            .ok_or(JoseError::UnknownKey)?;
        let alg = header
            .alg
            .parse::<Algorithm>()
            .map_err(|_| JoseError::AlgorithmMismatch)?;
        if alg != key.algorithm() {
            return Err(JoseError::AlgorithmMismatch);
        }

        // ES256 and EdDSA signatures are 64 bytes, RSA ones at most 1024 (8192 bits).
        let mut sig = [0u8; MAX_SIGNATURE_LEN];
        if sig_b64.len() > (MAX_SIGNATURE_LEN * 4).div_ceil(3) {
            return Err(JoseError::BadSignature);
        }
        let len = URL_SAFE_NO_PAD
            .decode_slice(sig_b64, &mut sig)
            .map_err(|_| JoseError::BadSignature)?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        key.verify(signing_input.as_bytes(), &sig[..len])?;

        let claims = serde_json::from_slice(&b64url_decode(payload_b64)?)
            .map_err(|_| JoseError::Malformed("claims are not a JSON object"))?;
        Ok((header, claims))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::jose::b64url_encode;
    use p256::ecdsa::signature::{Signer as _, Verifier as _};
    use serde_json::json;

    fn claims() -> Value {
        json!({
            "iss": "https://issuer.example",
            "sub": "user-1",
            "aud": ["client-1"],
            "exp": 2_000_000_000u64,
            "iat": 1_700_000_000u64,
            "nonce": "n-0S6_WzA2Mj",
        })
    }

    /// A key of every algorithm this build has.
    fn keys() -> Vec<SigningKey> {
        Algorithm::ALL
            .into_iter()
            .filter(|alg| alg.is_compiled())
            .map(|alg| SigningKey::generate(alg, alg.as_str()[..2].to_lowercase()).unwrap())
            .collect()
    }

    /// Assembles a token from a raw header, payload and signer.
    fn forge(header: &Value, payload: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            b64url_encode(serde_json::to_vec(header).unwrap()),
            b64url_encode(serde_json::to_vec(payload).unwrap())
        );
        let sig = sign(input.as_bytes());
        format!("{input}.{}", b64url_encode(sig))
    }

    fn segment(token: &str, i: usize) -> Vec<u8> {
        b64url_decode(token.split('.').nth(i).unwrap()).unwrap()
    }

    #[test]
    fn round_trip_both_algorithms() {
        let keys = keys();
        let set = VerifyingKeys::from_signing_keys(&keys);
        for key in &keys {
            let token = key.sign_jwt("JWT", &claims()).unwrap();
            let header: Value = serde_json::from_slice(&segment(&token, 0)).unwrap();
            let expected = format!(
                r#"{{"alg":"{}","kid":"{}","typ":"JWT"}}"#,
                key.algorithm(),
                key.kid()
            );
            assert_eq!(segment(&token, 0), expected.as_bytes());
            assert_eq!(header["alg"], key.algorithm().as_str());
            let signature_len = if key.algorithm().is_rsa() { 256 } else { 64 };
            assert_eq!(segment(&token, 2).len(), signature_len);
            assert!(!token.contains('='));
            let got = set.verify_jwt(&token).unwrap();
            assert_eq!(Value::Object(got), claims());
        }
    }

    #[test]
    fn verifies_via_published_jwks() {
        let keys = keys();
        let jwks = JwkSet {
            keys: keys.iter().map(SigningKey::public_jwk).collect(),
        };
        let json = serde_json::to_string(&jwks).unwrap();
        let set = VerifyingKeys::from_jwk_set(&serde_json::from_str(&json).unwrap()).unwrap();
        for key in &keys {
            let token = key.sign_jwt("at+jwt", &claims()).unwrap();
            assert!(set.verify_jwt(&token).is_ok());
        }
    }

    #[test]
    fn pkcs8_round_trip() {
        for key in keys() {
            let der = key.to_pkcs8_der().unwrap();
            let back = SigningKey::from_pkcs8_der(key.algorithm(), key.kid().into(), &der).unwrap();
            assert_eq!(back.public_jwk(), key.public_jwk());
            assert_eq!(back.to_pkcs8_der().unwrap(), der);
            let token = back.sign_jwt("JWT", &claims()).unwrap();
            assert!(
                VerifyingKeys::from_signing_keys(&[key])
                    .verify_jwt(&token)
                    .is_ok()
            );
        }
        // DER of one type is refused under the other algorithm.
        let es = SigningKey::generate(Algorithm::ES256, "x".into()).unwrap();
        let der = es.to_pkcs8_der().unwrap();
        assert!(matches!(
            SigningKey::from_pkcs8_der(Algorithm::EdDSA, "x".into(), &der),
            Err(JoseError::Key(_))
        ));
        assert!(SigningKey::from_pkcs8_der(Algorithm::ES256, "x".into(), b"junk").is_err());
    }

    #[test]
    fn ed25519_pkcs8_matches_rfc8410_example() {
        // RFC 8410 §10.3 example private key ("MC4CAQAwBQYDK2VwBCIEINTuctv5...").
        let der = base64::engine::general_purpose::STANDARD
            .decode("MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC")
            .unwrap();
        let key = SigningKey::from_pkcs8_der(Algorithm::EdDSA, "rfc".into(), &der).unwrap();
        assert_eq!(key.to_pkcs8_der().unwrap(), der);
        // The matching public key from RFC 8410 §10.1 (SubjectPublicKeyInfo tail).
        let spki = base64::engine::general_purpose::STANDARD
            .decode("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=")
            .unwrap();
        assert_eq!(
            b64url_decode(key.public_jwk().x.unwrap()).unwrap(),
            spki[12..]
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = SigningKey::generate(Algorithm::ES256, "kid-1".into()).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("kid-1") && dbg.contains("ES256"), "{dbg}");
        assert!(
            !dbg.to_lowercase().contains("secret") && !dbg.contains("scalar"),
            "{dbg}"
        );
    }

    #[test]
    fn tampering_is_rejected() {
        let keys = keys();
        let set = VerifyingKeys::from_signing_keys(&keys);
        for key in &keys {
            let token = key.sign_jwt("JWT", &claims()).unwrap();
            let parts: Vec<&str> = token.split('.').collect();

            let mut evil = claims();
            evil["sub"] = json!("admin");
            let forged_payload = b64url_encode(serde_json::to_vec(&evil).unwrap());
            let t = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
            assert_eq!(set.verify_jwt(&t), Err(JoseError::BadSignature));

            let mut sig = segment(&token, 2);
            sig[10] ^= 1;
            let t = format!("{}.{}.{}", parts[0], parts[1], b64url_encode(&sig));
            assert_eq!(set.verify_jwt(&t), Err(JoseError::BadSignature));

            let t = format!("{}.{}.", parts[0], parts[1]);
            assert_eq!(set.verify_jwt(&t), Err(JoseError::BadSignature));
            let t = format!("{}.{}", parts[0], parts[1]);
            assert!(matches!(set.verify_jwt(&t), Err(JoseError::Malformed(_))));
            let t = format!("{token}.x");
            assert!(matches!(set.verify_jwt(&t), Err(JoseError::Malformed(_))));
            let t = format!("{token}=");
            assert!(set.verify_jwt(&t).is_err());
        }
    }

    #[test]
    fn algorithm_is_pinned_per_key() {
        let keys = keys();
        let set = VerifyingKeys::from_signing_keys(&keys);
        // Header says EdDSA and is genuinely signed by our Ed25519 key, but names the ES256 kid.
        let raw_ed = <ed25519_dalek::SigningKey as p256::pkcs8::DecodePrivateKey>::from_pkcs8_der(
            &keys[1].to_pkcs8_der().unwrap(),
        )
        .unwrap();
        let t = forge(&json!({"alg": "EdDSA", "kid": "es"}), &claims(), |m| {
            raw_ed.sign(m).to_bytes().to_vec()
        });
        assert_eq!(set.verify_jwt(&t), Err(JoseError::AlgorithmMismatch));
        let t = forge(&json!({"alg": "ES256", "kid": "ed"}), &claims(), |_| {
            vec![0u8; 64]
        });
        assert_eq!(set.verify_jwt(&t), Err(JoseError::AlgorithmMismatch));
        for alg in ["HS256", "RS256", "es256", "none"] {
            let t = forge(&json!({"alg": alg, "kid": "es"}), &claims(), |_| {
                vec![0u8; 64]
            });
            assert_eq!(
                set.verify_jwt(&t),
                Err(JoseError::AlgorithmMismatch),
                "{alg}"
            );
        }
    }

    #[test]
    fn alg_none_is_rejected() {
        let set = VerifyingKeys::from_signing_keys(&keys());
        for header in [
            json!({"alg": "none"}),
            json!({"alg": "none", "kid": "es"}),
            json!({"alg": "none", "kid": "ed"}),
        ] {
            let input = format!(
                "{}.{}.",
                b64url_encode(serde_json::to_vec(&header).unwrap()),
                b64url_encode(serde_json::to_vec(&claims()).unwrap())
            );
            assert!(set.verify_jwt(&input).is_err(), "{header}");
        }
    }

    #[test]
    fn unknown_or_missing_kid_is_rejected() {
        let keys = keys();
        let set = VerifyingKeys::from_signing_keys(&keys[..1]);
        let other = SigningKey::generate(Algorithm::ES256, "other".into()).unwrap();
        let t = other.sign_jwt("JWT", &claims()).unwrap();
        assert_eq!(set.verify_jwt(&t), Err(JoseError::UnknownKey));
        // Same kid but a different key: signature must fail.
        let impostor = SigningKey::generate(Algorithm::ES256, "es".into()).unwrap();
        let t = impostor.sign_jwt("JWT", &claims()).unwrap();
        assert_eq!(set.verify_jwt(&t), Err(JoseError::BadSignature));
        let t = forge(&json!({"alg": "ES256"}), &claims(), |_| vec![0u8; 64]);
        assert_eq!(set.verify_jwt(&t), Err(JoseError::UnknownKey));
    }

    #[test]
    fn oversize_token_is_rejected_before_decoding() {
        let set = VerifyingKeys::from_signing_keys(&keys());
        // Not valid base64 or JWS at all: only the size check can produce TooLarge.
        let huge = "!".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(set.verify_jwt(&huge), Err(JoseError::TooLarge));
        let at_limit = "!".repeat(MAX_TOKEN_LEN);
        assert!(matches!(
            set.verify_jwt(&at_limit),
            Err(JoseError::Malformed(_))
        ));
    }

    #[test]
    fn embedded_jwk_header_is_ignored() {
        let ours = SigningKey::generate(Algorithm::ES256, "es".into()).unwrap();
        let set = VerifyingKeys::from_signing_keys(std::slice::from_ref(&ours));
        let foreign = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let foreign_jwk = SigningKey::from_pkcs8_der(
            Algorithm::ES256,
            "es".into(),
            p256::pkcs8::EncodePrivateKey::to_pkcs8_der(&foreign)
                .unwrap()
                .as_bytes(),
        )
        .unwrap()
        .public_jwk();
        let sign = |m: &[u8]| {
            let s: p256::ecdsa::Signature = foreign.sign(m);
            s.to_bytes().to_vec()
        };
        for header in [
            json!({"alg": "ES256", "kid": "es", "jwk": foreign_jwk}),
            json!({"alg": "ES256", "jwk": foreign_jwk}),
            json!({"alg": "ES256", "kid": "es", "jku": "https://evil.example/jwks"}),
        ] {
            let t = forge(&header, &claims(), sign);
            assert!(set.verify_jwt(&t).is_err(), "{header}");
        }
        // A `crit` header is refused even with a valid signature.
        let t = forge(
            &json!({"alg": "ES256", "kid": "es", "crit": ["exp"]}),
            &claims(),
            |_| vec![0u8; 64],
        );
        assert!(matches!(set.verify_jwt(&t), Err(JoseError::Malformed(_))));
    }

    #[test]
    fn es256_interoperates_with_raw_p256() {
        // Independent path 1: sign with p256 directly, verify through our JWK set.
        let raw = p256::ecdsa::SigningKey::from_slice(&[0x42u8; 32]).unwrap();
        let point = raw.verifying_key().to_sec1_point(false);
        let jwk = crate::jose::Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(b64url_encode(point.x().unwrap())),
            y: Some(b64url_encode(point.y().unwrap())),
            n: None,
            e: None,
            kid: "raw".into(),
            use_: "sig".into(),
            alg: Algorithm::ES256,
        };
        let set = VerifyingKeys::from_jwk_set(&JwkSet { keys: vec![jwk] }).unwrap();
        let t = forge(
            &json!({"alg": "ES256", "kid": "raw", "typ": "JWT"}),
            &claims(),
            |m| {
                let s: p256::ecdsa::Signature = raw.sign(m);
                let bytes = s.to_bytes().to_vec();
                assert_eq!(bytes.len(), 64);
                bytes
            },
        );
        assert_eq!(Value::Object(set.verify_jwt(&t).unwrap()), claims());

        // A DER-encoded signature of the same input is refused.
        let t_der = {
            let input = t.rsplit_once('.').unwrap().0;
            let s: p256::ecdsa::DerSignature = raw.sign(input.as_bytes());
            format!("{input}.{}", b64url_encode(s.as_bytes()))
        };
        assert!(set.verify_jwt(&t_der).is_err());

        // Independent path 2: our ES256 token verifies with p256 directly as r||s.
        let ours = SigningKey::generate(Algorithm::ES256, "k".into()).unwrap();
        let token = ours.sign_jwt("JWT", &claims()).unwrap();
        let jwk = ours.public_jwk();
        let mut sec1 = vec![4u8];
        sec1.extend(b64url_decode(jwk.x.as_deref().unwrap()).unwrap());
        sec1.extend(b64url_decode(jwk.y.as_ref().unwrap()).unwrap());
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = b64url_decode(sig).unwrap();
        assert_eq!(sig.len(), 64);
        let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
        vk.verify(input.as_bytes(), &sig).unwrap();
    }

    #[test]
    fn eddsa_interoperates_with_raw_dalek() {
        let ours = SigningKey::generate(Algorithm::EdDSA, "k".into()).unwrap();
        let token = ours.sign_jwt("JWT", &claims()).unwrap();
        let x: [u8; 32] = b64url_decode(ours.public_jwk().x.unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig: [u8; 64] = b64url_decode(sig).unwrap().try_into().unwrap();
        vk.verify(
            input.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .unwrap();
    }

    #[test]
    fn non_object_claims_are_rejected() {
        let key = SigningKey::generate(Algorithm::EdDSA, "ed".into()).unwrap();
        let set = VerifyingKeys::from_signing_keys(std::slice::from_ref(&key));
        let t = key
            .sign_jwt("JWT", &json!(["not", "an", "object"]))
            .unwrap();
        assert!(matches!(set.verify_jwt(&t), Err(JoseError::Malformed(_))));
    }

    #[test]
    fn private_jwks_round_trip_and_must_match_their_public_members() {
        for key in keys() {
            let private = key.private_jwk().unwrap();
            let json = serde_json::to_string(&private).unwrap();
            assert!(
                !format!("{private:?}").contains(&private.d),
                "Debug redacts d"
            );
            let back = SigningKey::from_private_jwk(&serde_json::from_str(&json).unwrap()).unwrap();
            assert_eq!(back.public_jwk(), key.public_jwk());
            let token = back.sign_jwt("JWT", &claims()).unwrap();
            assert!(
                VerifyingKeys::from_signing_keys(std::slice::from_ref(&key))
                    .verify_jwt(&token)
                    .is_ok()
            );
            // The private key of one key with the public members of another is refused.
            let other = SigningKey::generate(key.algorithm(), "other".into()).unwrap();
            let mut mixed = other.private_jwk().unwrap();
            mixed.public = key.public_jwk();
            assert!(
                SigningKey::from_private_jwk(&mixed).is_err(),
                "{}",
                key.algorithm()
            );
        }
    }

    #[cfg(feature = "rsa")]
    #[test]
    fn rsa_keys_are_pinned_to_one_padding_and_refuse_short_moduli() {
        let rs = SigningKey::generate(Algorithm::RS256, "rs".into()).unwrap();
        let jwk = serde_json::to_value(rs.public_jwk()).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(
            b64url_decode(jwk["n"].as_str().unwrap()).unwrap().len(),
            256
        );
        assert!(jwk.get("crv").is_none() && jwk.get("x").is_none());

        // The same RSA key material announced as PS256 verifies no RS256 signature.
        let token = rs.sign_jwt("JWT", &claims()).unwrap();
        let mut as_pss = rs.public_jwk();
        as_pss.alg = Algorithm::PS256;
        let pss_set =
            VerifyingKeys::from_jwk_set(&crate::jose::JwkSet { keys: vec![as_pss] }).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let relabelled = forge(
            &json!({"alg": "PS256", "kid": "rs", "typ": "JWT"}),
            &claims(),
            |_| b64url_decode(parts[2]).unwrap(),
        );
        assert_eq!(
            pss_set.verify_jwt(&relabelled),
            Err(JoseError::BadSignature)
        );

        // A 1024-bit modulus is refused.
        let mut short = rs.public_jwk();
        short.n = Some(b64url_encode([0xc5u8; 128]));
        assert!(VerifyingKeys::from_jwk_set(&crate::jose::JwkSet { keys: vec![short] }).is_err());

        // Bigger keys on request.
        let big =
            SigningKey::generate_sized(Algorithm::PS256, "ps".into(), crate::model::RsaBits::B3072)
                .unwrap();
        let n = big.public_jwk().n.unwrap();
        assert_eq!(b64url_decode(n).unwrap().len(), 384);
    }
}
