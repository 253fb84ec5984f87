//! The shared state of a provider — configuration, store, clock, signing keys, the cookie key,
//! the key sealer and the slow secret checks — as one struct every layer above takes by reference. The
//! [`Provider`](crate::Provider) is an `Arc` of it; nothing below the provider ever sees the
//! provider itself.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use time::OffsetDateTime;

use crate::audit::{Audit, AuditEvent, AuditKind};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::sealing::KeySealer;
use crate::error::{Error, OAuthError, StoreError};
use crate::http::Response;
use crate::http::cookies::CookieKey;
use crate::jose::{SigningKey, VerifyingKeys, public_key_set};
use crate::model::Algorithm;
use crate::store::{KeyRecord, Store};

pub(crate) mod secret_check;

use secret_check::SecretChecks;

/// The shared state of a provider.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cookie_key: CookieKey,
    /// Seals private keys before they reach the store, opens them when loaded.
    key_sealer: KeySealer,
    keys: RwLock<Arc<KeyRing>>,
    /// The metadata documents, rendered once.
    pub(crate) well_known: WellKnown,
    /// Where slow client-secret checks run, and which successes are remembered.
    pub(crate) secret_checks: SecretChecks,
    /// The queue to the host's audit event sink, if any.
    pub(crate) audit: Audit,
}

/// The metadata documents of `/.well-known/`, pre-encoded at build (the endpoint layer
/// renders them from the configuration).
#[derive(Debug)]
pub(crate) struct WellKnown {
    /// `GET /.well-known/openid-configuration`.
    pub(crate) openid_configuration: Bytes,
    /// `GET /.well-known/oauth-authorization-server` (RFC 8414).
    pub(crate) authorization_server: Bytes,
}

/// The signing keys in force, with their JWKS rendered once.
#[derive(Debug)]
pub(crate) struct KeyRing {
    /// All keys, oldest first; the newest of each algorithm signs.
    keys: Vec<SigningKey>,
    /// Verifies our own tokens (`id_token_hint`) with any published key.
    pub(crate) verifier: VerifyingKeys,
    /// `GET /.well-known/jwks.json`, pre-encoded.
    pub(crate) jwks: Bytes,
}

impl KeyRing {
    fn load(records: &[KeyRecord], sealer: &KeySealer) -> Result<Self, Error> {
        let keys = records
            .iter()
            .map(|r| {
                let unreadable = |why: &dyn std::fmt::Display| {
                    Error::Internal(
                        format!("stored signing key {} cannot be opened: {why}", r.kid).into(),
                    )
                };
                let der = sealer
                    .open(&r.kid, r.alg.as_str(), &r.sealed_private_key)
                    .map_err(|e| unreadable(&e))?;
                SigningKey::from_pkcs8_der(r.alg, r.kid.clone(), &der).map_err(|e| unreadable(&e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let jwks = serde_json::to_vec(&public_key_set(&keys))
            .map_err(|e| Error::Internal(format!("JWKS encoding failed: {e}").into()))?;
        Ok(Self {
            verifier: VerifyingKeys::from_signing_keys(&keys),
            keys,
            jwks: Bytes::from(jwks),
        })
    }

    /// The key that signs with `alg`: the newest one.
    pub(crate) fn signing_key(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.keys.iter().rev().find(|k| k.algorithm() == alg)
    }

    /// Every key, oldest first.
    #[cfg(test)]
    pub(crate) fn all(&self) -> &[SigningKey] {
        &self.keys
    }
}

fn new_key_record(
    alg: Algorithm,
    now: OffsetDateTime,
    sealer: &KeySealer,
) -> Result<KeyRecord, Error> {
    let kid = crate::crypto::random_id();
    let key = SigningKey::generate(alg, kid.clone());
    let failed =
        |e: &dyn std::fmt::Display| Error::Internal(format!("key encoding failed: {e}").into());
    let der = key.to_pkcs8_der().map_err(|e| failed(&e))?;
    let sealed_private_key = sealer
        .seal(&kid, alg.as_str(), &der)
        .map_err(|e| failed(&e))?;
    Ok(KeyRecord {
        kid,
        alg,
        sealed_private_key,
        created_at: now,
    })
}

impl Context {
    /// The state of a new provider: loads the signing keys from the store, generating an
    /// ES256 and an EdDSA key on first start. `config` must be validated already.
    pub(crate) async fn load(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        well_known: WellKnown,
        secret_checks: SecretChecks,
        audit: Audit,
    ) -> Result<Self, Error> {
        let key_sealer = KeySealer::new(config.system_secret.expose());
        let mut records = store.keys().await?;
        if records.is_empty() {
            let now = clock.now();
            let initial = vec![
                new_key_record(Algorithm::ES256, now, &key_sealer)?,
                new_key_record(Algorithm::EdDSA, now, &key_sealer)?,
            ];
            records = store.insert_initial_keys(initial).await?;
        }
        let ring = KeyRing::load(&records, &key_sealer)?;
        Ok(Self {
            cookie_key: CookieKey::derive(config.system_secret.expose()),
            key_sealer,
            config,
            store,
            clock,
            keys: RwLock::new(Arc::new(ring)),
            well_known,
            secret_checks,
            audit,
        })
    }

    /// The key ring in force (a cheap `Arc` clone; rotation swaps it).
    pub(crate) fn keys(&self) -> Arc<KeyRing> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Adds a new signing key for `alg`, which signs from now on. Returns the new `kid`.
    pub(crate) async fn rotate_keys(&self, alg: Algorithm) -> Result<String, Error> {
        let record = new_key_record(alg, self.now(), &self.key_sealer)?;
        let kid = record.kid.clone();
        self.store.insert_key(record).await?;
        self.reload_keys().await?;
        crate::trace::event!(INFO, kid = %kid, alg = alg.as_str(), "signing key rotated");
        self.audit(|| AuditKind::KeyRotated {
            kid: kid.clone(),
            alg,
        });
        Ok(kid)
    }

    /// Reloads the signing keys from the store.
    pub(crate) async fn reload_keys(&self) -> Result<(), Error> {
        let records = self.store.keys().await?;
        if records.is_empty() {
            return Err(Error::Store(StoreError::NotFound));
        }
        let ring = Arc::new(KeyRing::load(&records, &self.key_sealer)?);
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = ring;
        Ok(())
    }

    /// Signs `claims` as a compact JWS of type `typ` with the active key of `alg`: the one
    /// door through which every JWT the provider issues is signed. A missing key or a failed
    /// signature is a `server_error`, never an unsigned token.
    pub(crate) async fn sign_jwt<T: serde::Serialize + ?Sized>(
        &self,
        alg: Algorithm,
        typ: &str,
        claims: &T,
    ) -> Result<String, OAuthError> {
        let keys = self.keys();
        let key = keys.signing_key(alg).ok_or_else(|| {
            OAuthError::server_error("").with_debug(format!("no signing key for {alg}"))
        })?;
        key.sign_jwt(typ, claims)
            .map_err(|e| OAuthError::server_error("").with_debug(e))
    }

    /// Verifies a JWT this provider signed (any published key) and returns its claims. Only
    /// the signature is checked: the caller checks `iss`, `aud` and times as its use needs.
    pub(crate) async fn verify_jwt(
        &self,
        token: &str,
    ) -> Result<crate::store::JsonObject, crate::jose::JoseError> {
        self.keys().verifier.verify_jwt(token)
    }

    /// The current instant.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Hands the event `kind` builds to the host's sink, stamped now; builds nothing without
    /// a sink, never waits (see [`crate::audit`]).
    #[inline]
    pub(crate) fn audit(&self, kind: impl FnOnce() -> AuditKind) {
        self.audit.emit(|| AuditEvent {
            at: self.now(),
            kind: kind(),
        });
    }

    /// Renders an error response, sharing debug detail only if configured.
    pub(crate) fn error_response(&self, err: &OAuthError) -> Response {
        crate::http::response::error(err, self.config.share_error_debug)
    }
}
