//! The [`Provider`]: the builder, the public and admin HTTP handlers, and the whole typed
//! API on one page. Every method is a short call into the feature module that implements it;
//! the state they share is the [`Context`] below.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::admin::{self, Introspection, JsonWebKeySetGeneratorRequest};
use crate::audit::{self, Audit, EventSink};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::context::secret_check::{SecretCheckExecutor, SecretCheckOptions, SecretChecks};
use crate::context::{ClientMetadataFetcher, Context, KeyMaintenance, Signer};
use crate::error::Error;
use crate::flow::{
    self, AcceptConsentRequest, AcceptLoginRequest, CompletedRequest, ConsentRequest,
    DeliveryReport, LoginRequest, LogoutNotifier, LogoutRequest, RejectRequest,
};
use crate::http::{Request, Response};
use crate::jose::{Jwk, JwkSet, PrivateJwk};
use crate::model::Algorithm;
use crate::model::client::Client;
use crate::store::{LogoutDelivery, MemoryStore, Store};
use crate::{endpoint, grant, router};

/// An OAuth 2.0 / OpenID Connect provider. Clone it freely: clones share everything.
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) cx: Arc<Context>,
}

/// Builds a [`Provider`]; see [`Provider::builder`].
#[derive(Debug)]
pub struct ProviderBuilder {
    config: Config,
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
    signer: Option<Arc<dyn Signer>>,
    secret_checks: SecretCheckOptions,
    event_sink: Option<Arc<dyn EventSink>>,
    event_queue: usize,
    client_metadata: Option<Arc<dyn ClientMetadataFetcher>>,
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

    /// Keeps the signing keys in the host's [`Signer`] (a KMS or HSM) instead of sealed in
    /// the store; the provider then publishes and signs with the keys it reports and never
    /// rotates them itself.
    pub fn signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// Threads that check client secrets a person chose (PBKDF2, about 0.1 s of CPU each),
    /// so that no request waits for a hash on the async executor (default: half the cores,
    /// at least one; must be at least one). The provider starts them on the first such check.
    pub fn secret_check_workers(mut self, workers: usize) -> Self {
        self.secret_checks.workers = workers;
        self
    }

    /// Such checks that may wait for a thread; a request beyond fails at once with 503
    /// `temporarily_unavailable` (default: 32).
    pub fn secret_check_queue(mut self, queue: usize) -> Self {
        self.secret_checks.queue = queue;
        self
    }

    /// How long a successful check of a chosen secret is remembered, so that the client does
    /// not pay for the hash on every request (default: 10 minutes; zero: never remembered).
    pub fn secret_check_remember_for(mut self, remember_for: Duration) -> Self {
        self.secret_checks.remember_for = remember_for;
        self
    }

    /// Runs the checks of chosen secrets on the host's executor (for example
    /// `tokio::task::spawn_blocking`) instead of the provider's own threads; the worker and
    /// queue settings then do not apply.
    pub fn secret_check_executor(mut self, executor: Arc<dyn SecretCheckExecutor>) -> Self {
        self.secret_checks.executor = Some(executor);
        self
    }

    /// Sends audit events (clients, logins, consents, tokens, keys) to `sink`, on a thread of
    /// the provider's; requests never wait for it (default: none). See [`crate::audit`].
    pub fn event_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.event_sink = Some(sink);
        self
    }

    /// Fetches Client ID Metadata Documents, which
    /// [`Config::client_id_metadata_documents`] turns on; without that switch it is never
    /// called.
    pub fn client_metadata_fetcher(mut self, fetcher: Arc<dyn ClientMetadataFetcher>) -> Self {
        self.client_metadata = Some(fetcher);
        self
    }

    /// How many audit events may wait for a slow sink; beyond, new events are dropped and
    /// counted in [`Provider::events_dropped`] (default: 1024; must be at least 1).
    pub fn event_queue(mut self, queue: usize) -> Self {
        self.event_queue = queue;
        self
    }

    /// Validates the configuration and loads the signing keys from the store (generating an
    /// active and a next key for each enabled algorithm that has none) or from the signer.
    pub async fn build(self) -> Result<Provider, Error> {
        self.config
            .validate()
            .map_err(|e| Error::BadRequest(e.to_string().into()))?;
        if self.secret_checks.workers == 0 && self.secret_checks.executor.is_none() {
            return Err(Error::BadRequest(
                "secret_check_workers must be at least 1".into(),
            ));
        }
        if self.event_queue == 0 {
            return Err(Error::BadRequest("event_queue must be at least 1".into()));
        }
        let client_metadata = match (
            self.config.client_id_metadata_documents,
            self.client_metadata,
        ) {
            (false, _) => None,
            (true, Some(fetcher)) => Some(fetcher),
            (true, None) => {
                return Err(Error::BadRequest(
                    "client_id_metadata_documents needs a client_metadata_fetcher".into(),
                ));
            }
        };
        let audit = match self.event_sink {
            Some(sink) => Audit::new(sink, self.event_queue).map_err(|e| {
                Error::Internal(format!("the audit event thread did not start: {e}").into())
            })?,
            None => Audit::default(),
        };
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>);
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::new(SystemClock) as Arc<dyn Clock>);
        let well_known = endpoint::discovery::documents(&self.config)?;
        let secret_checks = SecretChecks::new(self.secret_checks);
        let mut cx = Context::load(
            self.config,
            store,
            clock,
            self.signer,
            well_known,
            secret_checks,
            audit,
        )
        .await?;
        cx.client_metadata = client_metadata;
        Ok(Provider { cx: Arc::new(cx) })
    }
}

/// Construction, the HTTP handlers, configuration and keys.
impl Provider {
    /// Starts building a provider from `config`.
    pub fn builder(config: Config) -> ProviderBuilder {
        ProviderBuilder {
            config,
            store: None,
            clock: None,
            signer: None,
            secret_checks: SecretCheckOptions::default(),
            event_sink: None,
            event_queue: audit::DEFAULT_QUEUE,
            client_metadata: None,
        }
    }

    /// The public API (authorize, token, revoke, userinfo, discovery and RFC 8414 metadata,
    /// JWKS, logout).
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
        &self.cx.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.cx.store
    }

    /// Checks of chosen client secrets queued or running now (see
    /// [`ProviderBuilder::secret_check_queue`]): a gauge for the operator.
    pub fn secret_checks_in_flight(&self) -> usize {
        self.cx.secret_checks.in_flight()
    }

    /// Audit events dropped so far because the sink fell behind by more than
    /// [`ProviderBuilder::event_queue`] events.
    pub fn events_dropped(&self) -> u64 {
        self.cx.audit.dropped()
    }

    /// What this provider counted since it was built, with the two gauges above: the source
    /// of a host's metrics (see the README's Metrics section). Reading it takes a few relaxed
    /// loads; counting costs each request an atomic add, and no tracing subscriber is needed.
    /// Requests by route, status and latency are the host's to count around `handle`, with
    /// the [`Route`](crate::Route) every response carries.
    pub fn counts(&self) -> crate::Counts {
        crate::Counts {
            secret_checks_in_flight: self.secret_checks_in_flight(),
            events_dropped: self.events_dropped(),
            ..self.cx.counters.snapshot()
        }
    }

    /// Rotates `alg`'s keys at once, as one atomic store change: the next key (published
    /// since the last rotation) signs from now on, the active key retires (it stays in the
    /// JWKS until every token it signed has expired) and a new next key is published.
    /// Returns the `kid` that now signs. With a host [`Signer`] this is refused.
    pub async fn rotate_keys(&self, alg: Algorithm) -> Result<String, Error> {
        self.cx.rotate_keys(alg).await
    }

    /// Key maintenance, for the host to call periodically (the example servers do every
    /// minute): rotates each algorithm whose active key has signed for its
    /// [`KeyConfig::rotation_periods`](crate::KeyConfig::rotation_periods) entry, removes
    /// retired keys whose tokens have all expired, and reloads the keys, so instances sharing
    /// a store converge. Instances calling it together rotate once.
    pub async fn maintain_keys(&self) -> Result<KeyMaintenance, Error> {
        let done = self
            .cx
            .signing_keys
            .maintain(&self.cx.config, self.cx.store.as_ref(), self.cx.now())
            .await?;
        for (alg, kid) in &done.rotated {
            self.cx.audit(|| crate::audit::AuditKind::KeyRotated {
                kid: kid.clone(),
                alg: *alg,
            });
        }
        Ok(done)
    }

    /// Reloads the signing keys from the store (or the signer), e.g. after another instance
    /// sharing the database rotated them.
    pub async fn reload_keys(&self) -> Result<(), Error> {
        self.cx.reload_keys().await
    }
}

/// JSON Web Keys (`/keys`, Hydra's JSON Web Key API). The set
/// [`SIGNING_SET`](crate::admin::SIGNING_SET) is the provider's own signing keys; every
/// other set is storage for the host. These methods return public keys only.
impl Provider {
    /// The public keys of `set` (`GET /keys/{set}`); [`Error::NotFound`] if it has none.
    pub async fn json_web_key_set(&self, set: &str) -> Result<JwkSet, Error> {
        admin::keys::get_set(&self.cx, set, None).await
    }

    /// The public key `kid` of `set`, as a set (`GET /keys/{set}/{kid}`).
    pub async fn json_web_key(&self, set: &str, kid: &str) -> Result<JwkSet, Error> {
        admin::keys::get_set(&self.cx, set, Some(kid)).await
    }

    /// Generates a key in `set` (`POST /keys/{set}`) and returns its public JWK. In the
    /// signing set this rotates: the next key signs, the generated one becomes the next key.
    pub async fn create_json_web_key(
        &self,
        set: &str,
        request: JsonWebKeySetGeneratorRequest,
    ) -> Result<Jwk, Error> {
        Ok(admin::keys::create(&self.cx, set, request)
            .await?
            .public_jwk())
    }

    /// Imports a private key into `set` (`PUT /keys/{set}/{kid}`), replacing one with its
    /// `kid`. In the signing set it becomes the next key of its algorithm.
    pub async fn update_json_web_key(&self, set: &str, key: &PrivateJwk) -> Result<Jwk, Error> {
        admin::keys::put(&self.cx, set, key).await
    }

    /// Deletes key `kid` of `set`, or the whole set (`DELETE /keys/{set}[/{kid}]`). In the
    /// signing set only a retired key can be deleted ([`Error::Conflict`] otherwise).
    pub async fn delete_json_web_key(&self, set: &str, kid: Option<&str>) -> Result<(), Error> {
        admin::keys::delete(&self.cx, set, kid).await
    }
}

/// Clients (`/clients`).
impl Provider {
    /// Registers a client (`POST /clients`) and returns it with its plaintext secret, which
    /// is shown this once: the one sent, or a generated 256-bit secret when none was sent.
    /// A missing `client_id` is generated (UUID v4).
    ///
    /// Invalid input is [`Error::BadRequest`] with the reason, an existing id
    /// [`Error::Conflict`]; in both cases nothing is stored. The rules are listed in
    /// [`model::client`](crate::model::client).
    pub async fn create_client(&self, client: Client) -> Result<Client, Error> {
        admin::clients::create_client(&self.cx, client).await
    }

    /// The client with this id, without its secret; [`Error::NotFound`] if none.
    pub async fn client(&self, client_id: &str) -> Result<Client, Error> {
        admin::clients::client(&self.cx, client_id).await
    }

    /// A page of clients, ordered by creation time then id, without secrets. `limit` is
    /// clamped to 1..=500.
    pub async fn list_clients(&self, limit: usize, offset: usize) -> Result<Vec<Client>, Error> {
        admin::clients::list_clients(&self.cx, limit, offset).await
    }

    /// Replaces the client `client_id` (`PUT /clients/{id}`); the `client_id` in `client` is
    /// ignored. An absent or empty `client_secret` keeps the stored secret; a new one is
    /// stored hashed and returned this once. `created_at` is kept, `updated_at` set.
    /// [`Error::NotFound`] if there is no such client, [`Error::BadRequest`] on invalid
    /// input (nothing changes).
    pub async fn update_client(&self, client_id: &str, client: Client) -> Result<Client, Error> {
        admin::clients::update_client(&self.cx, client_id, client).await
    }

    /// Deletes the client with everything kept under its id, in one atomic store call
    /// ([`ClientStore::delete_client`](crate::store::ClientStore::delete_client)): every token
    /// and unused code issued to it is revoked, and its login and consent requests (remembered
    /// consents included) and forced subject identifiers are deleted, so a client registered
    /// later under the same id starts with no consent to skip on. [`Error::NotFound`] if there
    /// is no such client.
    ///
    /// The leftovers are removed even when the client is already gone, so retrying a delete
    /// that failed with an [`Error::Store`] is safe.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), Error> {
        admin::clients::delete_client(&self.cx, client_id).await
    }

    /// Authenticates the client of a request to a token-like endpoint (RFC 6749 §2.3.1) —
    /// for hosts that serve endpoints of their own. Reads the form body itself.
    ///
    /// `client_secret_basic` (form-urlencoded id and secret inside `Authorization: Basic`),
    /// `client_secret_post` (`client_id` and `client_secret` in the form) or `none`
    /// (`client_id` only); the method must be the one the client registered. Failure is a
    /// 401 `invalid_client`; two methods at once, a repeated parameter or a body that is
    /// not a form is a 400 `invalid_request`; a store failure a 500.
    pub async fn authenticate_client(&self, req: &Request) -> Result<Client, Error> {
        grant::client_auth::authenticate_client(&self.cx, req).await
    }
}

/// The login and consent flow (`/oauth2/auth/requests/…`).
impl Provider {
    /// The login request of `challenge`, for the login page. Unknown → [`Error::NotFound`];
    /// already handled → [`Error::Conflict`]; expired → 410 `request_expired`.
    pub async fn login_request(&self, challenge: &str) -> Result<LoginRequest, Error> {
        flow::login::login_request(&self.cx, challenge).await
    }

    /// Accepts a login: the user authenticated as `body.subject`. Returns where to send the
    /// browser. Refused with [`Error::BadRequest`] (nothing stored) for an empty subject,
    /// `remember` on a `skip` request, another subject than a `skip` request's, or a negative
    /// `remember_for`.
    pub async fn accept_login(
        &self,
        challenge: &str,
        body: AcceptLoginRequest,
    ) -> Result<CompletedRequest, Error> {
        flow::login::accept_login(&self.cx, challenge, body).await
    }

    /// Rejects a login; the client receives `body.error` (default `access_denied`).
    pub async fn reject_login(
        &self,
        challenge: &str,
        body: RejectRequest,
    ) -> Result<CompletedRequest, Error> {
        flow::login::reject_login(&self.cx, challenge, body).await
    }

    /// The consent request of `challenge`, for the consent page. Unknown →
    /// [`Error::NotFound`]; already handled → [`Error::Conflict`]; expired → 410
    /// `request_expired`.
    pub async fn consent_request(&self, challenge: &str) -> Result<ConsentRequest, Error> {
        flow::consent::consent_request(&self.cx, challenge).await
    }

    /// Accepts a consent: the user granted `body.grant_scope`. Returns where to send the
    /// browser. Refused with [`Error::BadRequest`] (nothing stored) when a granted scope was
    /// not requested, for `remember` on a `skip` request, or a negative `remember_for`.
    pub async fn accept_consent(
        &self,
        challenge: &str,
        body: AcceptConsentRequest,
    ) -> Result<CompletedRequest, Error> {
        flow::consent::accept_consent(&self.cx, challenge, body).await
    }

    /// Rejects a consent; the client receives `body.error` (default `access_denied`).
    pub async fn reject_consent(
        &self,
        challenge: &str,
        body: RejectRequest,
    ) -> Result<CompletedRequest, Error> {
        flow::consent::reject_consent(&self.cx, challenge, body).await
    }

    /// The logout request of `challenge`, for the host's logout page.
    pub async fn logout_request(&self, challenge: &str) -> Result<LogoutRequest, Error> {
        flow::logout::logout_request(&self.cx, challenge).await
    }

    /// Confirms a logout: the browser goes to `redirect_to`, where its session ends, the
    /// relying parties are told, and it continues to the relying party's
    /// `post_logout_redirect_uri` (or the configured default).
    pub async fn accept_logout(&self, challenge: &str) -> Result<CompletedRequest, Error> {
        flow::logout::accept_logout(&self.cx, challenge).await
    }

    /// Refuses a logout: the session stays, and the host sends the browser where it likes.
    pub async fn reject_logout(&self, challenge: &str) -> Result<(), Error> {
        flow::logout::reject_logout(&self.cx, challenge).await
    }
}

/// Sessions (`/oauth2/auth/sessions/…`).
impl Provider {
    /// A page of the subject's remembered, unexpired, accepted consents, newest first;
    /// consents whose client was deleted are left out. `limit` and `offset` count the
    /// sessions listed, so a page is short only at the end: expired consents stay stored
    /// (they still name the grants that revocation must reach) and are skipped here, reading
    /// the store in pages of 100.
    pub async fn consent_sessions(
        &self,
        subject: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<admin::PreviousConsentSession>, Error> {
        admin::sessions::consent_sessions(&self.cx, subject, limit, offset).await
    }

    /// Deletes the subject's handled consents (for one client, or all) and revokes every
    /// token issued through them. [`Error::NotFound`] when nothing matched.
    pub async fn revoke_consent_sessions(
        &self,
        subject: &str,
        client_id: Option<&str>,
    ) -> Result<(), Error> {
        admin::sessions::revoke_consent_sessions(&self.cx, subject, client_id).await
    }

    /// Deletes every login session of the subject, so that the next authorization shows
    /// the login page, and queues back-channel logout for their relying parties. Tokens
    /// stay valid. [`Error::NotFound`] when there was none.
    pub async fn revoke_login_sessions(&self, subject: &str) -> Result<(), Error> {
        admin::sessions::revoke_login_sessions(&self.cx, subject).await
    }

    /// Sends up to `limit` due back-channel logout notifications through `notifier` and
    /// reschedules the failed ones with back-off. Call it periodically (every few seconds);
    /// the core never sends on its own.
    pub async fn deliver_logouts(
        &self,
        notifier: &dyn LogoutNotifier,
        limit: usize,
    ) -> Result<DeliveryReport, Error> {
        flow::backchannel::deliver(&self.cx, notifier, limit).await
    }

    /// A page of back-channel logout deliveries not yet delivered: pending (with their next
    /// attempt) and failed (with the last error).
    pub async fn logout_deliveries(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<LogoutDelivery>, Error> {
        flow::backchannel::deliveries(&self.cx, limit, offset).await
    }
}

/// Tokens: introspection, revocation, flush.
impl Provider {
    /// Introspects an access or refresh token (RFC 7662). With `scope`, the token is reported
    /// active only if its granted scopes cover every listed scope (wildcards apply).
    ///
    /// Errors only when the store fails; every kind of dead token is
    /// [`Introspection::inactive`].
    pub async fn introspect(
        &self,
        token: &str,
        scope: Option<&str>,
    ) -> Result<Introspection, Error> {
        admin::introspect::introspect(&self.cx, token, scope).await
    }

    /// Revokes the grant of `token` if it is an access or refresh token issued to
    /// `client_id`. Returns whether any token changed state; an unknown or foreign token is
    /// `Ok(false)`. The caller authenticates the client.
    pub async fn revoke_token(&self, client_id: &str, token: &str) -> Result<bool, Error> {
        endpoint::revoke::revoke_token(&self.cx, client_id, token).await
    }

    /// Deletes tokens, codes, login/consent requests and login sessions that expired before
    /// `not_after` (default and upper bound: now).
    pub async fn flush(
        &self,
        not_after: Option<OffsetDateTime>,
    ) -> Result<admin::FlushSummary, Error> {
        admin::flush::flush(&self.cx, not_after).await
    }
}

/// In-process, a provider is the key source of its own resource servers: the key set its
/// `jwks_uri` serves, without a request.
#[async_trait::async_trait]
impl crate::resource_server::JwksSource for Provider {
    async fn fetch(&self) -> Result<JwkSet, String> {
        serde_json::from_slice(&self.cx.keys().jwks).map_err(|e| e.to_string())
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
        router::public(&self.provider.cx, &req).await
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
        router::admin(&self.provider.cx, &req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyState;

    #[tokio::test]
    async fn rotation_promotes_the_published_next_key() {
        let p = Provider::builder(Config::new("https://auth.example.com/").unwrap())
            .build()
            .await
            .unwrap();
        let ring = p.cx.keys();
        let next = ring.next_kid(Algorithm::ES256).unwrap().to_owned();
        let first = ring.active_kid(Algorithm::ES256).unwrap().to_owned();
        let eddsa = ring.active_kid(Algorithm::EdDSA).unwrap().to_owned();
        assert_eq!(
            ring.states().count(),
            4,
            "an active and a next key per algorithm"
        );

        assert_eq!(p.rotate_keys(Algorithm::ES256).await.unwrap(), next);
        let ring = p.cx.keys();
        assert_eq!(ring.active_kid(Algorithm::ES256), Some(next.as_str()));
        assert_eq!(ring.active_kid(Algorithm::EdDSA), Some(eddsa.as_str()));
        let state_of = |kid: &str| ring.states().find(|(k, ..)| *k == kid).map(|(.., s)| s);
        assert_eq!(state_of(&first), Some(KeyState::Retired));
        assert_ne!(ring.next_kid(Algorithm::ES256), Some(next.as_str()));
        assert_eq!(ring.states().count(), 5);
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
        assert_eq!(records.len(), 5);
        let ring = first.cx.keys();
        for record in &records {
            let der = ring
                .private_key(&record.kid)
                .unwrap()
                .to_pkcs8_der()
                .unwrap();
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
        assert_eq!(again.cx.keys().jwks, first.cx.keys().jwks);

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
