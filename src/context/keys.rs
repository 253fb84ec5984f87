//! The signing keys in force: their lifecycle (next, active, retired), loading and rotation,
//! and the one door through which every JWT is signed, with keys sealed in the store (the
//! default) or held by a host's [`Signer`] (a KMS or HSM).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use time::OffsetDateTime;

use crate::config::Config;
use crate::crypto::sealing::KeySealer;
use crate::error::{Error, OAuthError, StoreError};
use crate::jose::{self, JoseError, Jwk, JwkSet, SigningKey, VerifyingKeys};
use crate::model::Algorithm;
use crate::store::{JsonObject, KeyChange, KeyRecord, KeyRotation, KeyState, Store};

/// Keeps private keys outside the process — a KMS, an HSM — and signs on request.
///
/// The provider publishes the public keys it reports and signs with the newest `active` key
/// of an algorithm; lifecycle and rotation are the host's (rotation through the provider is
/// refused). Every signature it returns is verified against that key before a token leaves,
/// so a failing, slow or wrong signer yields a 503 `temporarily_unavailable`, never an
/// unsigned or wrongly signed token. The core has no timer: a signer bounds its own calls.
#[async_trait::async_trait]
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The keys, public halves only, oldest first, each with its state.
    async fn keys(&self) -> Result<Vec<SignerKey>, SignerError>;
    /// The JOSE signature (ES256 as 64-byte `r||s`) of `message` with key `kid`.
    async fn sign(&self, kid: &str, alg: Algorithm, message: &[u8])
    -> Result<Vec<u8>, SignerError>;
}

/// A key a [`Signer`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerKey {
    /// Its public JWK (`kid`, `alg`, `use: sig`).
    pub jwk: Jwk,
    /// Where it is in its lifecycle.
    pub state: KeyState,
}

/// A [`Signer`] failed; the reason is for logs, never for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerError(pub String);

impl std::fmt::Display for SignerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "signer failed: {}", self.0)
    }
}

impl std::error::Error for SignerError {}

/// What a maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyMaintenance {
    /// The algorithms rotated, with the `kid` that now signs.
    pub rotated: Vec<(Algorithm, String)>,
    /// How many retired keys were removed from the JWKS.
    pub removed: usize,
}

/// One key of the ring.
#[derive(Debug)]
struct RingKey {
    kid: String,
    alg: Algorithm,
    state: KeyState,
    /// The private key when it is sealed in the store; `None` with a [`Signer`].
    private: Option<SigningKey>,
    /// When it became active (scheduled rotation counts from here).
    active_since: Option<OffsetDateTime>,
}

/// The signing keys in force, with their JWKS rendered once.
#[derive(Debug)]
pub(crate) struct KeyRing {
    /// Oldest first.
    keys: Vec<RingKey>,
    /// Verifies our own tokens (`id_token_hint`) with any published key.
    pub(crate) verifier: VerifyingKeys,
    /// `GET /.well-known/jwks.json`, pre-encoded: active keys first, then next, then retired.
    pub(crate) jwks: Bytes,
    /// The public JWK set in the same order.
    pub(crate) public_set: JwkSet,
    /// When it was loaded (signing reloads it once it is older than the refresh interval).
    loaded_at: OffsetDateTime,
}

impl KeyRing {
    fn new(
        keys: Vec<RingKey>,
        public: Vec<(KeyState, Jwk)>,
        now: OffsetDateTime,
    ) -> Result<Self, Error> {
        let order = |state| match state {
            KeyState::Active => 0,
            KeyState::Next => 1,
            KeyState::Retired => 2,
        };
        let mut public = public;
        public.sort_by_key(|(state, _)| order(*state));
        let public_set = JwkSet {
            keys: public.into_iter().map(|(_, jwk)| jwk).collect(),
        };
        let verifier = VerifyingKeys::from_jwk_set(&public_set)
            .map_err(|e| Error::Internal(format!("signing key unusable: {e}").into()))?;
        let jwks = serde_json::to_vec(&public_set)
            .map_err(|e| Error::Internal(format!("JWKS encoding failed: {e}").into()))?;
        Ok(Self {
            keys,
            verifier,
            jwks: Bytes::from(jwks),
            public_set,
            loaded_at: now,
        })
    }

    fn from_records(
        records: &[KeyRecord],
        sealer: &KeySealer,
        now: OffsetDateTime,
    ) -> Result<Self, Error> {
        let mut keys = Vec::with_capacity(records.len());
        let mut public = Vec::with_capacity(records.len());
        for r in records.iter().filter(|r| r.is_signing_key()) {
            let unreadable = |why: &dyn std::fmt::Display| {
                Error::Internal(
                    format!("stored signing key {} cannot be opened: {why}", r.kid).into(),
                )
            };
            let der = sealer
                .open(&r.kid, r.alg.as_str(), &r.sealed_private_key)
                .map_err(|e| unreadable(&e))?;
            let key = SigningKey::from_pkcs8_der(r.alg, r.kid.clone(), &der)
                .map_err(|e| unreadable(&e))?;
            public.push((r.state, key.public_jwk()));
            keys.push(RingKey {
                kid: r.kid.clone(),
                alg: r.alg,
                state: r.state,
                private: Some(key),
                active_since: r.activated_at.or(Some(r.created_at)),
            });
        }
        Self::new(keys, public, now)
    }

    fn from_signer(signer_keys: Vec<SignerKey>, now: OffsetDateTime) -> Result<Self, Error> {
        let keys = signer_keys
            .iter()
            .map(|k| RingKey {
                kid: k.jwk.kid.clone(),
                alg: k.jwk.alg,
                state: k.state,
                private: None,
                active_since: None,
            })
            .collect();
        let public = signer_keys.into_iter().map(|k| (k.state, k.jwk)).collect();
        Self::new(keys, public, now)
    }

    /// The key that signs with `alg`: the newest active one.
    fn active(&self, alg: Algorithm) -> Option<&RingKey> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.state == KeyState::Active)
    }

    /// The `kid` of the key that signs with `alg`.
    pub(crate) fn active_kid(&self, alg: Algorithm) -> Option<&str> {
        self.active(alg).map(|k| k.kid.as_str())
    }

    /// The `kid` of `alg`'s next key.
    pub(crate) fn next_kid(&self, alg: Algorithm) -> Option<&str> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.state == KeyState::Next)
            .map(|k| k.kid.as_str())
    }

    /// Each key's id, algorithm and state, oldest first.
    #[cfg(test)]
    pub(crate) fn states(&self) -> impl Iterator<Item = (&str, Algorithm, KeyState)> {
        self.keys.iter().map(|k| (k.kid.as_str(), k.alg, k.state))
    }

    /// A key's private half, when it is sealed in the store.
    pub(crate) fn private_key(&self, kid: &str) -> Option<&SigningKey> {
        self.keys
            .iter()
            .find(|k| k.kid == kid)
            .and_then(|k| k.private.as_ref())
    }
}

/// The key ring and how it is kept current.
#[derive(Debug)]
pub(crate) struct Keys {
    ring: RwLock<Arc<KeyRing>>,
    /// Seals private keys before they reach the store, opens them when loaded.
    sealer: KeySealer,
    signer: Option<Arc<dyn Signer>>,
    /// Set while one request reloads a stale ring, so the others do not pile on.
    reloading: AtomicBool,
    /// When an unknown `kid` last made verification reload (at most once a second).
    unknown_kid_reload: Mutex<Option<OffsetDateTime>>,
}

fn new_record(
    alg: Algorithm,
    state: KeyState,
    config: &Config,
    now: OffsetDateTime,
    sealer: &KeySealer,
) -> Result<KeyRecord, Error> {
    record_of(&generate(alg, config)?, state, now, sealer)
}

/// A new key of `alg` with a random kid.
fn generate(alg: Algorithm, config: &Config) -> Result<SigningKey, Error> {
    SigningKey::generate_sized(alg, crate::crypto::random_id(), config.keys.rsa_bits)
        .map_err(|e| Error::Internal(format!("key generation failed: {e}").into()))
}

/// The store record of `key`, sealed.
pub(crate) fn record_of(
    key: &SigningKey,
    state: KeyState,
    now: OffsetDateTime,
    sealer: &KeySealer,
) -> Result<KeyRecord, Error> {
    let failed =
        |e: &dyn std::fmt::Display| Error::Internal(format!("key encoding failed: {e}").into());
    let der = key.to_pkcs8_der().map_err(|e| failed(&e))?;
    let sealed_private_key = sealer
        .seal(key.kid(), key.algorithm().as_str(), &der)
        .map_err(|e| failed(&e))?;
    Ok(KeyRecord {
        kid: key.kid().to_owned(),
        alg: key.algorithm(),
        sealed_private_key,
        created_at: now,
        state,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
        set: None,
    })
}

/// The error of a signer that failed or gave a bad signature: retry later.
fn signer_unavailable(why: impl std::fmt::Display) -> OAuthError {
    OAuthError::temporarily_unavailable("The signing service is unavailable; try again later.")
        .with_debug(why.to_string())
}

impl Keys {
    /// Loads the keys: from the host's signer, or from the store, where each enabled
    /// algorithm gets an active and a next key if it has none.
    pub(crate) async fn load(
        config: &Config,
        store: &dyn Store,
        signer: Option<Arc<dyn Signer>>,
        now: OffsetDateTime,
    ) -> Result<Self, Error> {
        let sealer = KeySealer::new(config.system_secrets());
        let ring = match &signer {
            Some(signer) => load_from_signer(signer.as_ref(), now).await?,
            None => {
                let records = ensure_keys(config, store, &sealer, now).await?;
                let records = reseal(store, records, &sealer).await?;
                KeyRing::from_records(&records, &sealer, now)?
            }
        };
        Ok(Self {
            ring: RwLock::new(Arc::new(ring)),
            sealer,
            signer,
            reloading: AtomicBool::new(false),
            unknown_kid_reload: Mutex::new(None),
        })
    }

    /// The ring in force (a cheap `Arc` clone).
    pub(crate) fn ring(&self) -> Arc<KeyRing> {
        Arc::clone(
            &self
                .ring
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The sealer of private keys (the JSON Web Key API seals imported keys with it).
    pub(crate) fn sealer(&self) -> &KeySealer {
        &self.sealer
    }

    /// Whether a host's signer holds the keys (then the provider never rotates them).
    pub(crate) fn external(&self) -> bool {
        self.signer.is_some()
    }

    /// Reloads the ring from the store or the signer.
    pub(crate) async fn reload(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<Arc<KeyRing>, Error> {
        let ring = Arc::new(match &self.signer {
            Some(signer) => load_from_signer(signer.as_ref(), now).await?,
            None => KeyRing::from_records(&store.keys().await?, &self.sealer, now)?,
        });
        *self
            .ring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::clone(&ring);
        Ok(ring)
    }

    /// The ring, reloaded first when older than the refresh interval (by one request at a
    /// time; the others use the current one meanwhile).
    async fn fresh(
        &self,
        config: &Config,
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<Arc<KeyRing>, Error> {
        let ring = self.ring();
        if ring.loaded_at.saturating_add(config.keys.refresh_interval) > now
            || self.reloading.swap(true, Ordering::AcqRel)
        {
            return Ok(ring);
        }
        let reloaded = self.reload(store, now).await;
        self.reloading.store(false, Ordering::Release);
        reloaded
    }

    /// Signs `claims` with the active key of `alg`.
    pub(crate) async fn sign_jwt<T: serde::Serialize + ?Sized>(
        &self,
        config: &Config,
        store: &dyn Store,
        now: OffsetDateTime,
        (alg, typ): (Algorithm, &str),
        claims: &T,
    ) -> Result<String, OAuthError> {
        let ring = self
            .fresh(config, store, now)
            .await
            .map_err(|e| OAuthError::server_error("").with_debug(e))?;
        let key = ring.active(alg).ok_or_else(|| {
            OAuthError::server_error("").with_debug(format!("no active signing key for {alg}"))
        })?;
        match (&key.private, &self.signer) {
            (Some(private), _) => private
                .sign_jwt(typ, claims)
                .map_err(|e| OAuthError::server_error("").with_debug(e)),
            (None, Some(signer)) => {
                let input = jose::signing_input(alg, &key.kid, typ, claims)
                    .map_err(|e| OAuthError::server_error("").with_debug(e))?;
                let signature = signer
                    .sign(&key.kid, alg, input.as_bytes())
                    .await
                    .map_err(signer_unavailable)?;
                let token = jose::attach_signature(input, &signature);
                ring.verifier.verify_jwt(&token).map_err(|e| {
                    signer_unavailable(format!("the signer's signature does not verify: {e}"))
                })?;
                Ok(token)
            }
            (None, None) => Err(OAuthError::server_error("").with_debug("no private key")),
        }
    }

    /// Verifies a JWT we signed; a `kid` we do not know makes the ring reload (at most once a
    /// second), since another instance may have published a key since.
    pub(crate) async fn verify_jwt(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
        token: &str,
    ) -> Result<JsonObject, JoseError> {
        match self.ring().verifier.verify_jwt(token) {
            Err(JoseError::UnknownKey) => {}
            other => return other,
        }
        {
            let mut last = self
                .unknown_kid_reload
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if last.is_some_and(|at| at.saturating_add(time::Duration::SECOND) > now) {
                return Err(JoseError::UnknownKey);
            }
            *last = Some(now);
        }
        match self.reload(store, now).await {
            Ok(ring) => ring.verifier.verify_jwt(token),
            Err(_) => Err(JoseError::UnknownKey),
        }
    }

    /// Rotates `alg`: its next key signs from now on, the active one retires and a new next
    /// key is published. Returns the `kid` that now signs. Another instance rotating at the
    /// same moment makes this one a no-op: one rotation is what was asked for.
    pub(crate) async fn rotate(
        &self,
        config: &Config,
        store: &dyn Store,
        alg: Algorithm,
        now: OffsetDateTime,
    ) -> Result<String, Error> {
        self.rotate_to(config, store, &generate(alg, config)?, now)
            .await
    }

    /// Like [`Keys::rotate`], with `next` as the new next key (generated through the JSON
    /// Web Key API, with the kid asked for).
    pub(crate) async fn rotate_to(
        &self,
        config: &Config,
        store: &dyn Store,
        next: &SigningKey,
        now: OffsetDateTime,
    ) -> Result<String, Error> {
        let alg = next.algorithm();
        if self.external() {
            return Err(Error::BadRequest(
                "the signing keys are held by the host's signer, which rotates them".into(),
            ));
        }
        if !config.keys.algorithms.contains(&alg) {
            return Err(Error::BadRequest(
                format!("{alg} is not an enabled signing algorithm").into(),
            ));
        }
        let ring = self.reload(store, now).await?;
        if ring.keys.iter().any(|k| k.kid == next.kid()) {
            return Err(Error::Conflict(
                "A signing key with this kid exists already.".into(),
            ));
        }
        let rotation = KeyRotation {
            expected_next: ring.next_kid(alg).map(str::to_owned),
            promote: ring.next_kid(alg).is_some(),
            new_next: record_of(next, KeyState::Next, now, &self.sealer)?,
            now,
        };
        match store.change_keys(KeyChange::Rotate(rotation)).await {
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        let ring = self.reload(store, now).await?;
        let kid = ring
            .active_kid(alg)
            .ok_or_else(|| Error::Internal(format!("no active {alg} key after rotation").into()))?
            .to_owned();
        crate::trace::event!(INFO, kid = %kid, alg = alg.as_str(), "signing key rotated");
        Ok(kid)
    }

    /// Replaces `alg`'s next key by `key` (imported through the JSON Web Key API): it is
    /// published now and signs from the next rotation.
    pub(crate) async fn set_next(
        &self,
        store: &dyn Store,
        key: &SigningKey,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let ring = self.reload(store, now).await?;
        let rotation = KeyRotation {
            expected_next: ring.next_kid(key.algorithm()).map(str::to_owned),
            promote: false,
            new_next: record_of(key, KeyState::Next, now, &self.sealer)?,
            now,
        };
        store.change_keys(KeyChange::Rotate(rotation)).await?;
        self.reload(store, now).await?;
        Ok(())
    }

    /// Removes one retired key from the JWKS at once (e.g. after a compromise).
    pub(crate) async fn remove_retired(
        &self,
        store: &dyn Store,
        kid: &str,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        store
            .change_keys(KeyChange::RemoveRetired(kid.to_owned()))
            .await?;
        self.reload(store, now).await?;
        Ok(())
    }

    /// Scheduled rotation and removal of expired retired keys; see
    /// [`Provider::maintain_keys`](crate::Provider::maintain_keys).
    pub(crate) async fn maintain(
        &self,
        config: &Config,
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<KeyMaintenance, Error> {
        let ring = self.reload(store, now).await?;
        let mut report = KeyMaintenance::default();
        if self.external() {
            return Ok(report);
        }
        for &(alg, period) in &config.keys.rotation_periods {
            let due = ring
                .active(alg)
                .and_then(|k| k.active_since)
                .is_none_or(|since| since.saturating_add(period) <= now);
            if due {
                report
                    .rotated
                    .push((alg, self.rotate(config, store, alg, now).await?));
            }
        }
        let before = now.saturating_sub(retired_key_lifetime(config));
        let expired = |keys: &[KeyRecord]| {
            keys.iter()
                .filter(|k| {
                    k.is_signing_key()
                        && k.state == KeyState::Retired
                        && k.retired_at.is_some_and(|at| at < before)
                })
                .count()
        };
        // Only a due removal writes: SQL stores rewrite the key rows on every change.
        let due = expired(&store.keys().await?);
        if due > 0 {
            let after = store
                .change_keys(KeyChange::RemoveRetiredBefore(before))
                .await?;
            report.removed = due.saturating_sub(expired(&after));
        }
        self.reload(store, now).await?;
        Ok(report)
    }
}

/// How long a retired key stays published: the longest a token it signed lives (ID tokens,
/// and access tokens once they are JWTs), plus the clock leeway and the refresh interval
/// (an instance may sign with it that long after it retired).
fn retired_key_lifetime(config: &Config) -> time::Duration {
    let l = &config.lifespans;
    l.id_token
        .max(l.access_token)
        .saturating_add(config.keys.clock_leeway)
        .saturating_add(config.keys.refresh_interval)
}

/// Re-seals under the current system secret every stored key an old one sealed (after a
/// rotation of `SYSTEM_SECRET`), so the old secret can be dropped later.
async fn reseal(
    store: &dyn Store,
    records: Vec<KeyRecord>,
    sealer: &KeySealer,
) -> Result<Vec<KeyRecord>, Error> {
    let mut stale = Vec::new();
    for record in &records {
        let opened =
            sealer.open_with_age(&record.kid, record.alg.as_str(), &record.sealed_private_key);
        if let Ok((der, true)) = opened {
            let sealed_private_key = sealer
                .seal(&record.kid, record.alg.as_str(), &der)
                .map_err(|e| Error::Internal(format!("key sealing failed: {e}").into()))?;
            stale.push(KeyRecord {
                sealed_private_key,
                ..record.clone()
            });
        }
    }
    if stale.is_empty() {
        return Ok(records);
    }
    Ok(store.change_keys(KeyChange::Reseal(stale)).await?)
}

async fn load_from_signer(signer: &dyn Signer, now: OffsetDateTime) -> Result<KeyRing, Error> {
    let keys = signer
        .keys()
        .await
        .map_err(|e| Error::Internal(format!("{e}").into()))?;
    KeyRing::from_signer(keys, now)
}

/// The stored keys, after giving every enabled algorithm an active key and a next key.
async fn ensure_keys(
    config: &Config,
    store: &dyn Store,
    sealer: &KeySealer,
    now: OffsetDateTime,
) -> Result<Vec<KeyRecord>, Error> {
    let mut records = store.keys().await?;
    let has = |records: &[KeyRecord], alg, state| {
        records.iter().any(|k| k.alg == alg && k.state == state)
    };
    let mut initial = Vec::new();
    for &alg in &config.keys.algorithms {
        if !has(&records, alg, KeyState::Active) {
            initial.push(new_record(alg, KeyState::Active, config, now, sealer)?);
            initial.push(new_record(alg, KeyState::Next, config, now, sealer)?);
        }
    }
    if !initial.is_empty() {
        records = store.change_keys(KeyChange::Initial(initial)).await?;
    }
    // Keys stored before the lifecycle have no next key: publish one now.
    for &alg in &config.keys.algorithms {
        if !has(&records, alg, KeyState::Next) {
            let rotation = KeyRotation {
                expected_next: None,
                promote: false,
                new_next: new_record(alg, KeyState::Next, config, now, sealer)?,
                now,
            };
            records = match store.change_keys(KeyChange::Rotate(rotation)).await {
                Ok(records) => records,
                Err(StoreError::Conflict) => store.keys().await?,
                Err(e) => return Err(e.into()),
            };
        }
    }
    Ok(records)
}
