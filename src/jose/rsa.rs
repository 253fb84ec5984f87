//! RS256 and PS256 on AWS-LC (feature `rsa`).
//!
//! Why AWS-LC and not the pure-Rust `rsa` crate: `rsa` 0.10 replaced the variable-time
//! arithmetic behind RUSTSEC-2023-0071 (the Marvin attack) with `crypto-bigint`, but signs
//! only ~400 RSA-2048 signatures per second per core on our CI machine, against a target of
//! 1,000; AWS-LC (constant-time, the BoringSSL lineage) signs ~3,500. Only this file names
//! the crate, so it can be swapped.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};

use super::{Algorithm, JoseError};
use crate::model::RsaBits;

fn key_size(bits: RsaBits) -> KeySize {
    match bits {
        RsaBits::B2048 => KeySize::Rsa2048,
        RsaBits::B3072 => KeySize::Rsa3072,
        RsaBits::B4096 => KeySize::Rsa4096,
    }
}

/// A private RSA key (shared: AWS-LC keys are not `Clone`).
#[derive(Clone)]
pub(super) struct PrivateRsa(Arc<RsaKeyPair>);

/// A public RSA key: the modulus and exponent, big-endian without leading zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PublicRsa {
    pub(super) n: Vec<u8>,
    pub(super) e: Vec<u8>,
}

/// The private members of an RSA JWK (RFC 7518 §6.3.2), big-endian.
pub(super) struct RsaPrivateParts {
    pub(super) d: Vec<u8>,
    pub(super) p: Vec<u8>,
    pub(super) q: Vec<u8>,
    pub(super) dp: Vec<u8>,
    pub(super) dq: Vec<u8>,
    pub(super) qi: Vec<u8>,
}

fn key_error(what: &str) -> JoseError {
    JoseError::Key(format!("RSA: {what}"))
}

impl PrivateRsa {
    pub(super) fn generate(bits: RsaBits) -> Result<Self, JoseError> {
        RsaKeyPair::generate(key_size(bits))
            .map(|k| Self(Arc::new(k)))
            .map_err(|_| key_error("key generation failed"))
    }

    pub(super) fn from_pkcs8(der: &[u8]) -> Result<Self, JoseError> {
        RsaKeyPair::from_pkcs8(der)
            .map(|k| Self(Arc::new(k)))
            .map_err(|e| key_error(&format!("invalid PKCS#8 key: {e}")))
    }

    pub(super) fn to_pkcs8(&self) -> Result<Vec<u8>, JoseError> {
        self.0
            .as_der()
            .map(|der| der.as_ref().to_vec())
            .map_err(|_| key_error("PKCS#8 encoding failed"))
    }

    /// Builds a key from its JWK members; AWS-LC checks that they are consistent.
    pub(super) fn from_parts(
        public: &PublicRsa,
        private: &RsaPrivateParts,
    ) -> Result<Self, JoseError> {
        let components = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: public.n.as_slice(),
                e: public.e.as_slice(),
            },
            d: private.d.as_slice(),
            p: private.p.as_slice(),
            q: private.q.as_slice(),
            dP: private.dp.as_slice(),
            dQ: private.dq.as_slice(),
            qInv: private.qi.as_slice(),
        };
        RsaKeyPair::from_components(&components)
            .map(|k| Self(Arc::new(k)))
            .map_err(|e| key_error(&format!("inconsistent or unsupported key: {e}")))
    }

    pub(super) fn public(&self) -> PublicRsa {
        let key = self.0.public_key();
        PublicRsa {
            n: key.modulus().big_endian_without_leading_zero().to_vec(),
            e: key.exponent().big_endian_without_leading_zero().to_vec(),
        }
    }

    /// The private members, read from the key's PKCS#8 document (AWS-LC exposes them only
    /// there): `RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dP, dQ, qInv }`.
    pub(super) fn private_parts(&self) -> Result<RsaPrivateParts, JoseError> {
        let der = self.to_pkcs8()?;
        let malformed = || key_error("unexpected PKCS#8 layout");
        let mut info = der::Reader::new(&der).sequence().ok_or_else(malformed)?;
        info.integer().ok_or_else(malformed)?; // version
        info.sequence().ok_or_else(malformed)?; // algorithm
        let inner = info.octet_string().ok_or_else(malformed)?;
        let mut key = der::Reader::new(inner).sequence().ok_or_else(malformed)?;
        let mut next = || key.integer().map(<[u8]>::to_vec).ok_or_else(malformed);
        let (_version, _n, _e) = (next()?, next()?, next()?);
        Ok(RsaPrivateParts {
            d: next()?,
            p: next()?,
            q: next()?,
            dp: next()?,
            dq: next()?,
            qi: next()?,
        })
    }

    /// Signs `message`; the signature is as long as the modulus.
    pub(super) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let encoding: &'static dyn signature::RsaEncoding = match alg {
            Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
            Algorithm::PS256 => &signature::RSA_PSS_SHA256,
            Algorithm::ES256 | Algorithm::EdDSA => return Err(JoseError::AlgorithmMismatch),
        };
        let mut sig = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                encoding,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| key_error("signing failed"))?;
        Ok(sig)
    }
}

impl PublicRsa {
    /// Builds a public key from JWK members, refusing moduli under 2048 bits.
    pub(super) fn new(n: Vec<u8>, e: Vec<u8>) -> Result<Self, JoseError> {
        let significant = |v: &[u8]| !v.is_empty() && v[0] != 0;
        if !significant(&n) || !significant(&e) {
            return Err(key_error("n and e must be positive without leading zeros"));
        }
        if n.len() < 256 || n.len() > 1024 {
            return Err(key_error("the modulus must have 2048 to 8192 bits"));
        }
        Ok(Self { n, e })
    }

    pub(super) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), JoseError> {
        let params = match alg {
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Algorithm::ES256 | Algorithm::EdDSA => return Err(JoseError::AlgorithmMismatch),
        };
        PublicKeyComponents {
            n: self.n.as_slice(),
            e: self.e.as_slice(),
        }
        .verify(params, message, sig)
        .map_err(|_| JoseError::BadSignature)
    }
}

/// Just enough DER to walk a PKCS#8 RSA key we encoded ourselves.
mod der {
    pub(super) struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        pub(super) fn new(bytes: &'a [u8]) -> Self {
            Self(bytes)
        }

        /// The next element's contents if its tag is `tag`.
        fn element(&mut self, tag: u8) -> Option<&'a [u8]> {
            let (&found, rest) = self.0.split_first()?;
            let (&first, rest) = rest.split_first()?;
            let (len, rest) = if first < 0x80 {
                (usize::from(first), rest)
            } else {
                let count = usize::from(first & 0x7f);
                if count == 0 || count > 4 || rest.len() < count {
                    return None;
                }
                let len = rest[..count]
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                (len, &rest[count..])
            };
            if found != tag || rest.len() < len {
                return None;
            }
            let (contents, rest) = rest.split_at(len);
            self.0 = rest;
            Some(contents)
        }

        pub(super) fn sequence(&mut self) -> Option<Reader<'a>> {
            self.element(0x30).map(Reader)
        }

        pub(super) fn octet_string(&mut self) -> Option<&'a [u8]> {
            self.element(0x04)
        }

        /// A non-negative INTEGER, without the sign byte.
        pub(super) fn integer(&mut self) -> Option<&'a [u8]> {
            let bytes = self.element(0x02)?;
            Some(match bytes {
                [0, rest @ ..] if !rest.is_empty() => rest,
                _ => bytes,
            })
        }
    }
}
