//! The shared state of a provider — configuration, store, clock, signing keys, the cookie key,
//! the key sealer, the slow secret checks and the counters — as one struct every layer above
//! takes by reference. The [`Provider`](crate::Provider) is an `Arc` of it; nothing below the
//! provider ever sees the provider itself.

use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::audit::{Audit, AuditEvent, AuditKind};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, OAuthError};
use crate::http::Response;
use crate::http::cookies::CookieKey;
use crate::model::Algorithm;
use crate::store::Store;

pub(crate) mod client_metadata;
pub(crate) mod counters;
pub(crate) mod keys;
pub(crate) mod secret_check;

pub(crate) use client_metadata::{ClientLookupError, ClientSource};
pub use client_metadata::{ClientMetadataError, ClientMetadataFetcher, MAX_CLIENT_METADATA_BYTES};
use counters::Counters;
pub use keys::{KeyMaintenance, Signer, SignerError, SignerKey};
pub(crate) use keys::{KeyRing, Keys};
use secret_check::SecretChecks;

/// The shared state of a provider.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cookie_key: CookieKey,
    /// The signing keys and their lifecycle.
    pub(crate) signing_keys: Keys,
    /// The metadata documents, rendered once.
    pub(crate) well_known: WellKnown,
    /// Where slow client-secret checks run, and which successes are remembered.
    pub(crate) secret_checks: SecretChecks,
    /// The queue to the host's audit event sink, if any.
    pub(crate) audit: Audit,
    /// The host's fetcher of Client ID Metadata Documents: set exactly when they are on.
    pub(crate) client_metadata: Option<Arc<dyn ClientMetadataFetcher>>,
    /// What the host's metrics read.
    pub(crate) counters: Counters,
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

impl Context {
    /// The state of a new provider: loads the signing keys (from the host's signer, or from
    /// the store, generating an active and a next key for each enabled algorithm that has
    /// none). `config` must be validated already.
    pub(crate) async fn load(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        signer: Option<Arc<dyn Signer>>,
        well_known: WellKnown,
        secret_checks: SecretChecks,
        audit: Audit,
    ) -> Result<Self, Error> {
        let signing_keys = Keys::load(&config, store.as_ref(), signer, clock.now()).await?;
        Ok(Self {
            cookie_key: CookieKey::derive(
                config.system_secret.expose(),
                config.old_system_secrets.iter().map(|s| s.expose()),
            ),
            signing_keys,
            config,
            store,
            clock,
            well_known,
            secret_checks,
            audit,
            client_metadata: None,
            counters: Counters::default(),
        })
    }

    /// The key ring in force (a cheap `Arc` clone; rotation swaps it).
    pub(crate) fn keys(&self) -> Arc<KeyRing> {
        self.signing_keys.ring()
    }

    /// Rotates `alg`'s keys now (next → active → retired, a new next); returns the `kid`
    /// that signs from now on.
    pub(crate) async fn rotate_keys(&self, alg: Algorithm) -> Result<String, Error> {
        let kid = self
            .signing_keys
            .rotate(&self.config, self.store.as_ref(), alg, self.now())
            .await?;
        self.audit(|| AuditKind::KeyRotated {
            kid: kid.clone(),
            alg,
        });
        Ok(kid)
    }

    /// Reloads the signing keys from the store (or the host's signer).
    pub(crate) async fn reload_keys(&self) -> Result<(), Error> {
        self.signing_keys
            .reload(self.store.as_ref(), self.now())
            .await
            .map(drop)
    }

    /// Signs `claims` as a compact JWS of type `typ` with the active key of `alg`: the one
    /// door through which every JWT the provider issues is signed. A missing key or a failed
    /// signature is a `server_error` (a failing external signer `temporarily_unavailable`),
    /// never an unsigned token.
    pub(crate) async fn sign_jwt<T: serde::Serialize + ?Sized>(
        &self,
        alg: Algorithm,
        typ: &str,
        claims: &T,
    ) -> Result<String, OAuthError> {
        self.signing_keys
            .sign_jwt(
                &self.config,
                self.store.as_ref(),
                self.now(),
                (alg, typ),
                claims,
            )
            .await
    }

    /// Verifies a JWT this provider signed (any published key) and returns its claims. Only
    /// the signature is checked: the caller checks `iss`, `aud` and times as its use needs.
    pub(crate) async fn verify_jwt(
        &self,
        token: &str,
    ) -> Result<crate::store::JsonObject, crate::jose::JoseError> {
        self.signing_keys
            .verify_jwt(self.store.as_ref(), self.now(), token)
            .await
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
        self.counters.error_rendered(err);
        crate::http::response::error(err, self.config.share_error_debug)
    }
}
