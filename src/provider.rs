//! The [`Provider`]: configuration, store, clock and keys behind one cheap-to-clone handle,
//! with the public and admin HTTP handlers and the typed admin API.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, StoreError};
use crate::http::cookies::CookieKey;
use crate::http::{Request, Response};
use crate::jose::sealing::KeySealer;
use crate::jose::{Algorithm, JwkSet, SigningKey, VerifyingKeys};
use crate::store::{KeyRecord, MemoryStore, Store};

/// An OAuth 2.0 / OpenID Connect provider. Clone it freely: clones share everything.
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) inner: Arc<Inner>,
}

/// The shared state of a provider.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cookie_key: CookieKey,
    /// Seals private keys before they reach the store, opens them when loaded.
    key_sealer: KeySealer,
    keys: RwLock<Arc<KeyRing>>,
    /// The discovery document, rendered once.
    pub(crate) discovery: Bytes,
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
                    .open(&r.kid, r.alg, &r.sealed_private_key)
                    .map_err(|e| unreadable(&e))?;
                SigningKey::from_pkcs8_der(r.alg, r.kid.clone(), &der).map_err(|e| unreadable(&e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let set = JwkSet {
            keys: keys.iter().map(SigningKey::public_jwk).collect(),
        };
        let jwks = serde_json::to_vec(&set)
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
}

fn new_key_record(
    alg: Algorithm,
    now: OffsetDateTime,
    sealer: &KeySealer,
) -> Result<KeyRecord, Error> {
    let kid = crate::model::random_id();
    let key = SigningKey::generate(alg, kid.clone());
    let failed =
        |e: &dyn std::fmt::Display| Error::Internal(format!("key encoding failed: {e}").into());
    let der = key.to_pkcs8_der().map_err(|e| failed(&e))?;
    let sealed_private_key = sealer.seal(&kid, alg, &der).map_err(|e| failed(&e))?;
    Ok(KeyRecord {
        kid,
        alg,
        sealed_private_key,
        created_at: now,
    })
}

/// Builds a [`Provider`]; see [`Provider::builder`].
#[derive(Debug)]
pub struct ProviderBuilder {
    config: Config,
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
}

impl ProviderBuilder {
    /// The store (default: a fresh [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the configuration and loads the signing keys from the store, generating an
    /// ES256 and an EdDSA key on first start.
    pub async fn build(self) -> Result<Provider, Error> {
        self.config
            .validate()
            .map_err(|e| Error::BadRequest(e.to_string().into()))?;
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>);
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::new(SystemClock) as Arc<dyn Clock>);
        let key_sealer = KeySealer::new(self.config.system_secret.expose());
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
        let discovery = crate::endpoint::discovery::document(&self.config)?;
        Ok(Provider {
            inner: Arc::new(Inner {
                cookie_key: CookieKey::derive(self.config.system_secret.expose()),
                key_sealer,
                config: self.config,
                store,
                clock,
                keys: RwLock::new(Arc::new(ring)),
                discovery,
            }),
        })
    }
}

impl Provider {
    /// Starts building a provider from `config`.
    pub fn builder(config: Config) -> ProviderBuilder {
        ProviderBuilder {
            config,
            store: None,
            clock: None,
        }
    }

    /// The public API (authorize, token, revoke, userinfo, discovery, JWKS, logout).
    pub fn public(&self) -> PublicApi {
        PublicApi {
            provider: self.clone(),
        }
    }

    /// The admin API (clients, login/consent requests, sessions, introspection, flush).
    /// Never expose it to the internet.
    pub fn admin(&self) -> AdminApi {
        AdminApi {
            provider: self.clone(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Adds a new signing key for `alg`, which signs from now on; older public keys stay
    /// published in the JWKS so tokens they signed still verify. Returns the new `kid`.
    pub async fn rotate_keys(&self, alg: Algorithm) -> Result<String, Error> {
        let record = new_key_record(alg, self.inner.clock.now(), &self.inner.key_sealer)?;
        let kid = record.kid.clone();
        self.inner.store.insert_key(record).await?;
        self.reload_keys().await?;
        Ok(kid)
    }

    /// Reloads the signing keys from the store, e.g. after another instance sharing the
    /// database rotated them.
    pub async fn reload_keys(&self) -> Result<(), Error> {
        let records = self.inner.store.keys().await?;
        if records.is_empty() {
            return Err(Error::Store(StoreError::NotFound));
        }
        let ring = Arc::new(KeyRing::load(&records, &self.inner.key_sealer)?);
        *self
            .inner
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = ring;
        Ok(())
    }
}

impl Inner {
    /// The key ring in force (a cheap `Arc` clone; rotation swaps it).
    pub(crate) fn keys(&self) -> Arc<KeyRing> {
        Arc::clone(
            &self
                .keys
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The current instant.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Renders an error response, sharing debug detail only if configured.
    pub(crate) fn error_response(&self, err: &crate::error::OAuthError) -> Response {
        crate::http::response::error(err, self.config.share_error_debug)
    }
}

/// The public HTTP API of a provider; mount it on the internet-facing listener.
#[derive(Debug, Clone)]
pub struct PublicApi {
    pub(crate) provider: Provider,
}

impl PublicApi {
    /// Handles one request. Never panics; every failure is an HTTP error response.
    pub async fn handle(&self, req: Request) -> Response {
        crate::router::public(&self.provider, req).await
    }
}

/// The admin HTTP API of a provider; mount it on a private listener only.
#[derive(Debug, Clone)]
pub struct AdminApi {
    pub(crate) provider: Provider,
}

impl AdminApi {
    /// Handles one request. Never panics; every failure is an HTTP error response.
    pub async fn handle(&self, req: Request) -> Response {
        crate::router::admin(&self.provider, req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_newest_key_of_each_algorithm_signs() {
        let p = Provider::builder(Config::new("https://auth.example.com/").unwrap())
            .build()
            .await
            .unwrap();
        let signing_kid = |alg| {
            p.inner
                .keys()
                .signing_key(alg)
                .map(|k| k.kid().to_owned())
                .unwrap()
        };
        let initial_eddsa = signing_kid(Algorithm::EdDSA);
        let es256 = p.rotate_keys(Algorithm::ES256).await.unwrap();
        assert_eq!(signing_kid(Algorithm::ES256), es256);
        assert_eq!(signing_kid(Algorithm::EdDSA), initial_eddsa);
        let next = p.rotate_keys(Algorithm::ES256).await.unwrap();
        assert_eq!(signing_kid(Algorithm::ES256), next);
        assert_eq!(p.inner.keys().keys.len(), 4);
    }

    #[tokio::test]
    async fn stored_keys_are_sealed_with_the_system_secret() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let config = Config::new("https://auth.example.com/").unwrap();
        let first = Provider::builder(config.clone())
            .store(Arc::clone(&store))
            .build()
            .await
            .unwrap();
        first.rotate_keys(Algorithm::EdDSA).await.unwrap();
        let records = store.keys().await.unwrap();
        assert_eq!(records.len(), 3);
        for (record, key) in records.iter().zip(&first.inner.keys().keys) {
            let der = key.to_pkcs8_der().unwrap();
            assert!(
                !record
                    .sealed_private_key
                    .windows(16)
                    .any(|w| der.windows(16).any(|d| d == w)),
                "the store holds private key material in the clear"
            );
        }

        // The same secret (a restart, another instance) opens them.
        let again = Provider::builder(config.clone())
            .store(Arc::clone(&store))
            .build()
            .await
            .unwrap();
        assert_eq!(again.inner.keys().jwks, first.inner.keys().jwks);

        // Another secret refuses to start, naming the reason.
        let mut other = config;
        other.system_secret =
            crate::model::secret::Secret::new(b"another system secret, 32 bytes".to_vec());
        let refused = Provider::builder(other)
            .store(store)
            .build()
            .await
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("sealed with another system secret"),
            "{refused}"
        );
    }
}
