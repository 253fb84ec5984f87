//! Private signing keys at rest: sealed with XChaCha20-Poly1305 under a key derived from the
//! system secret (as Hydra encrypted its JWKs with its system secret), so a copy of the store
//! — a database dump, a backup — does not hold the keys that sign ID tokens. The key id and
//! algorithm are the associated data: a sealed key copied into another record does not open.
//!
//! Sealed form: one version byte, a random 24-byte nonce, then the ciphertext and its tag.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// The first byte of every sealed key.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Seals and opens private keys for the key store: seals with the current system secret,
/// opens with any (during a rotation).
#[derive(Clone)]
pub(crate) struct KeySealer {
    /// One cipher per system secret, the current one first.
    ciphers: Vec<XChaCha20Poly1305>,
}

impl fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySealer(..)")
    }
}

/// Why a sealed key did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Not a sealed key of a known version (written by an older release, or not ours).
    UnknownFormat,
    /// The tag did not verify: another system secret sealed it, or the record was altered.
    WrongSecretOrAltered,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownFormat => "it is not a sealed key of a known format",
            Self::WrongSecretOrAltered => {
                "it was sealed with another system secret, or the record was altered"
            }
        })
    }
}

impl KeySealer {
    /// The sealer of the provider with these system secrets (the current one first).
    pub(crate) fn new<'a>(system_secrets: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let ciphers = system_secrets
            .into_iter()
            .map(|secret| {
                let key = super::derive_key(secret, b"oauth2-provider signing-key sealing v1");
                XChaCha20Poly1305::new(&Key::from(key))
            })
            .collect();
        Self { ciphers }
    }

    /// Seals the PKCS#8 DER of the private key `kid` whose JOSE algorithm is `alg`; both are
    /// bound to the sealed form. Fails only for a message beyond the
    /// cipher's limit (256 GiB).
    pub(crate) fn seal(
        &self,
        kid: &str,
        alg: &str,
        pkcs8: &[u8],
    ) -> Result<Vec<u8>, chacha20poly1305::Error> {
        let nonce = super::random_bytes::<NONCE_LEN>();
        let aad = associated_data(kid, alg);
        let payload = Payload {
            msg: pkcs8,
            aad: &aad,
        };
        let current = self.ciphers.first().ok_or(chacha20poly1305::Error)?;
        let sealed = current.encrypt(&XNonce::from(nonce), payload)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The PKCS#8 DER sealed by [`KeySealer::seal`] for the same `kid` and `alg`, under any
    /// of the secrets.
    pub(crate) fn open(&self, kid: &str, alg: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        self.open_with_age(kid, alg, sealed).map(|(der, _)| der)
    }

    /// Like [`KeySealer::open`], telling also whether an old secret sealed it (then it is
    /// re-sealed under the current one).
    pub(crate) fn open_with_age(
        &self,
        kid: &str,
        alg: &str,
        sealed: &[u8],
    ) -> Result<(Vec<u8>, bool), OpenError> {
        let Some((&VERSION, rest)) = sealed.split_first() else {
            return Err(OpenError::UnknownFormat);
        };
        if rest.len() < NONCE_LEN {
            return Err(OpenError::UnknownFormat);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::UnknownFormat)?;
        let aad = associated_data(kid, alg);
        self.ciphers
            .iter()
            .enumerate()
            .find_map(|(age, cipher)| {
                let payload = Payload {
                    msg: ciphertext,
                    aad: &aad,
                };
                let der = cipher.decrypt(&XNonce::from(nonce), payload).ok()?;
                Some((der, age > 0))
            })
            .ok_or(OpenError::WrongSecretOrAltered)
    }
}

fn associated_data(kid: &str, alg: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(kid.len() + 16);
    aad.extend_from_slice(b"oauth2-provider signing key\0");
    aad.extend_from_slice(alg.as_bytes());
    aad.push(0);
    aad.extend_from_slice(kid.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER: &[u8] = b"0\x82 pretend this is PKCS#8";

    #[test]
    fn a_sealed_key_opens_only_with_its_secret_kid_and_algorithm() {
        let sealer = KeySealer::new([&b"system secret one, 32 bytes long"[..]]);
        let sealed = sealer.seal("kid-1", "ES256", DER).unwrap();
        assert!(
            !sealed.windows(DER.len()).any(|w| w == DER),
            "plaintext in the sealed form"
        );
        assert_eq!(sealer.open("kid-1", "ES256", &sealed).unwrap(), DER);

        let other = KeySealer::new([&b"system secret two, 32 bytes long"[..]]);
        assert_eq!(
            other.open("kid-1", "ES256", &sealed),
            Err(OpenError::WrongSecretOrAltered)
        );
        for (kid, alg) in [("kid-2", "ES256"), ("kid-1", "EdDSA")] {
            assert_eq!(
                sealer.open(kid, alg, &sealed),
                Err(OpenError::WrongSecretOrAltered)
            );
        }
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(
            sealer.open("kid-1", "ES256", &altered),
            Err(OpenError::WrongSecretOrAltered)
        );
    }

    #[test]
    fn sealing_twice_differs_and_foreign_bytes_are_refused() {
        let sealer = KeySealer::new([&b"system secret one, 32 bytes long"[..]]);
        assert_ne!(
            sealer.seal("k", "EdDSA", DER).unwrap(),
            sealer.seal("k", "EdDSA", DER).unwrap()
        );
        for foreign in [&b""[..], DER, &[VERSION, 1, 2, 3]] {
            assert_eq!(
                sealer.open("k", "EdDSA", foreign),
                Err(OpenError::UnknownFormat)
            );
        }
    }

    #[test]
    fn during_a_rotation_the_new_secret_seals_and_both_open() {
        let old = KeySealer::new([&b"system secret one, 32 bytes long"[..]]);
        let sealed_old = old.seal("k", "ES256", DER).unwrap();
        let rotating = KeySealer::new([
            &b"system secret two, 32 bytes long"[..],
            &b"system secret one, 32 bytes long"[..],
        ]);
        assert_eq!(
            rotating.open_with_age("k", "ES256", &sealed_old).unwrap(),
            (DER.to_vec(), true)
        );
        let sealed_new = rotating.seal("k", "ES256", DER).unwrap();
        assert_eq!(
            rotating.open_with_age("k", "ES256", &sealed_new).unwrap(),
            (DER.to_vec(), false)
        );
        assert!(
            old.open("k", "ES256", &sealed_new).is_err(),
            "sealed under the new secret"
        );
    }
}
