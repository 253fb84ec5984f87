//! Persistence, as small async traits the host implements (or [`MemoryStore`]).
//!
//! Every security-critical step is **one** call, so that a store can make it atomic with one
//! conditional write or one transaction: handling a login or consent request, consuming a
//! verifier, redeeming a code while inserting its tokens, rotating a refresh token, revoking a
//! grant, revoking consent sessions with their tokens, deleting a client with everything kept
//! under its id. The core never relies on a transaction spanning several calls.
//!
//! Secrets never reach a store in plaintext: tokens, codes and verifiers are keyed by a
//! SHA-256 digest ([`TokenRecord::signature`]), client secrets by a hash.

use std::fmt::Debug;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{ErrorCode, StoreError};
use crate::model::TokensAtLogout;
use crate::model::client::ClientRecord;

mod keys;
pub use keys::{KeyChange, KeyRecord, KeyRotation, KeyState};
pub mod memory;
pub use memory::MemoryStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub mod sql;

type Result<T> = std::result::Result<T, StoreError>;

/// A JSON object of extra claims or session data.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// OAuth 2.0 clients.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync + Debug {
    /// Inserts a new client; [`StoreError::Conflict`] if the id exists.
    async fn create_client(&self, record: ClientRecord) -> Result<()>;
    /// The client with this id; [`StoreError::NotFound`] if none. Shared, not copied: every
    /// token request authenticates its client and every introspection checks it, so a store
    /// that keeps records in memory hands out its own.
    async fn client(&self, client_id: &str) -> Result<Arc<ClientRecord>>;
    /// Replaces an existing client; [`StoreError::NotFound`] if none.
    async fn update_client(&self, record: ClientRecord) -> Result<()>;
    /// Deletes a client **and everything kept under its id**, in one atomic step: revokes
    /// every token and unused code issued to it (as [`TokenStore::revoke_client_tokens`]),
    /// deletes its login and consent requests — pending, handled and remembered consents
    /// alike — and its forced subject identifiers (see [`SessionStore::set_forced_subject`]),
    /// and drops its origins from [`ClientStore::origin_allowed`].
    ///
    /// A client registered later under the same id must start from nothing: a remembered
    /// consent that outlived its client would let the new one skip the consent page. Like
    /// [`FlowStore::revoke_consents`] this call spans several traits, so a store that keeps
    /// them apart must still make all changes together. The leftovers are removed even when
    /// the client itself is gone already (a retry, or an earlier partial delete), and then
    /// [`StoreError::NotFound`] is returned.
    async fn delete_client(&self, client_id: &str) -> Result<()>;
    /// A page of clients ordered by (`created_at`, `client_id`).
    async fn list_clients(&self, limit: usize, offset: usize) -> Result<Vec<ClientRecord>>;
    /// Whether any client lists `origin` in its `allowed_cors_origins` (exact match). Every
    /// CORS preflight of the token, revocation and userinfo endpoints asks, before any
    /// authentication (a preflight carries no credentials), so an anonymous caller decides
    /// how often this runs.
    ///
    /// The default pages through [`ClientStore::list_clients`]: O(clients) per preflight, one
    /// record decoded per client. It is kept so that a third-party store works unchanged, but
    /// such a store should override it with an index on origins kept in step with client
    /// writes, as [`MemoryStore`] (an origin → clients count) and the SQL stores (a table
    /// keyed by origin, written in the same transaction as the client) do.
    async fn origin_allowed(&self, origin: &str) -> Result<bool> {
        const PAGE: usize = 500;
        let mut offset = 0;
        loop {
            let page = self.list_clients(PAGE, offset).await?;
            if page
                .iter()
                .any(|r| r.client.allowed_cors_origins.iter().any(|o| o == origin))
            {
                return Ok(true);
            }
            if page.len() < PAGE {
                return Ok(false);
            }
            offset += PAGE;
        }
    }
}

/// Signing keys, persisted so that a durable store keeps them across restarts.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync + Debug {
    /// All keys, oldest first.
    async fn keys(&self) -> Result<Vec<KeyRecord>>;
    /// Applies `change` with [`KeyChange::apply`] to all keys (oldest first) and stores the
    /// result, atomically (one lock or one transaction), then returns all keys. When `apply`
    /// fails, nothing changes and its error is returned.
    async fn change_keys(&self, change: KeyChange) -> Result<Vec<KeyRecord>>;
    /// Answers when the store can serve requests: `/health/ready` asks it on every probe,
    /// so it should be the cheapest round trip to the backend (the SQL stores read one key
    /// row). The default reads the keys.
    async fn ping(&self) -> Result<()> {
        self.keys().await.map(drop)
    }
}

/// Login and consent requests: the challenge state machine.
#[async_trait::async_trait]
pub trait FlowStore: Send + Sync + Debug {
    /// Stores a new login request.
    async fn create_login_request(&self, request: LoginRequestRecord) -> Result<()>;
    /// The login request with this challenge; [`StoreError::NotFound`] if none.
    async fn login_request(&self, challenge: &str) -> Result<LoginRequestRecord>;
    /// Records the host's answer. Atomic: [`StoreError::Conflict`] if the request was already
    /// handled, [`StoreError::NotFound`] if unknown. Returns the updated record.
    async fn handle_login_request(
        &self,
        challenge: &str,
        handled: HandledLogin,
    ) -> Result<LoginRequestRecord>;
    /// Consumes the login verifier (by its digest) once. Atomic: [`StoreError::AlreadyUsed`]
    /// on a second call, [`StoreError::NotFound`] if unknown or not yet handled.
    async fn consume_login_verifier(&self, verifier_digest: &str) -> Result<LoginRequestRecord>;

    /// Stores a new consent request.
    async fn create_consent_request(&self, request: ConsentRequestRecord) -> Result<()>;
    /// The consent request with this challenge; [`StoreError::NotFound`] if none.
    async fn consent_request(&self, challenge: &str) -> Result<ConsentRequestRecord>;
    /// Records the host's answer; same contract as [`FlowStore::handle_login_request`].
    async fn handle_consent_request(
        &self,
        challenge: &str,
        handled: HandledConsent,
    ) -> Result<ConsentRequestRecord>;
    /// Consumes the consent verifier once; same contract as
    /// [`FlowStore::consume_login_verifier`].
    async fn consume_consent_verifier(&self, verifier_digest: &str)
    -> Result<ConsentRequestRecord>;

    /// Stores a new logout request.
    async fn create_logout_request(&self, request: LogoutRequestRecord) -> Result<()>;
    /// The logout request with this challenge; [`StoreError::NotFound`] if none.
    async fn logout_request(&self, challenge: &str) -> Result<LogoutRequestRecord>;
    /// Records the host's answer; same contract as [`FlowStore::handle_login_request`].
    async fn handle_logout_request(
        &self,
        challenge: &str,
        handled: HandledLogout,
    ) -> Result<LogoutRequestRecord>;
    /// Consumes the logout verifier once; same contract as
    /// [`FlowStore::consume_login_verifier`].
    async fn consume_logout_verifier(&self, verifier_digest: &str) -> Result<LogoutRequestRecord>;

    /// Accepted consents of `subject` for `client_id` with `remember = true` and not `skip`,
    /// newest first; the caller checks `remember_for` expiry.
    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Vec<ConsentRequestRecord>>;
    /// A page of accepted, remembered, non-skip consents of `subject` (newest first);
    /// the caller filters expired ones.
    async fn consent_sessions(
        &self,
        subject: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConsentRequestRecord>>;
    /// Revokes consent sessions, in one atomic step: deletes every handled consent of
    /// `subject` (for one client, or all) **and** revokes every active token and unused code
    /// of their grants (a consent's challenge is the grant id of the tokens issued through
    /// it), as [`TokenStore::revoke_grant`] does. Returns how many consents were deleted.
    ///
    /// This is the one call that spans two traits: a consent must never disappear while its
    /// tokens stay active (a retry would no longer find it), so a host store that keeps flows
    /// and tokens apart must still make both changes together.
    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64>;
    /// Deletes login, consent and logout requests that expired before `before`; at most
    /// `limit`.
    async fn flush_requests(&self, before: OffsetDateTime, limit: usize) -> Result<u64>;
}

/// Login sessions (the "remember me" of the login page) and forced subject identifiers.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + Debug {
    /// Stores a new login session.
    async fn create_login_session(&self, session: LoginSessionRecord) -> Result<()>;
    /// The session with this id; [`StoreError::NotFound`] if none.
    async fn login_session(&self, id: &str) -> Result<LoginSessionRecord>;
    /// Deletes one session; [`StoreError::NotFound`] if none.
    async fn delete_login_session(&self, id: &str) -> Result<()>;
    /// Deletes every session of `subject`, returning how many there were.
    async fn delete_login_sessions_of(&self, subject: &str) -> Result<u64>;
    /// Deletes sessions that expired before `before`; at most `limit`.
    async fn flush_login_sessions(&self, before: OffsetDateTime, limit: usize) -> Result<u64>;
    /// Remembers the subject identifier a login forced for (client, subject).
    async fn set_forced_subject(&self, client_id: &str, subject: &str, forced: &str) -> Result<()>;
    /// The forced subject identifier for (client, subject), if any.
    async fn forced_subject(&self, client_id: &str, subject: &str) -> Result<Option<String>>;
}

/// Logout: which clients took part in a login session, ending sessions, and the outbox of
/// back-channel logout deliveries (the core records them; the host's
/// [`LogoutNotifier`](crate::LogoutNotifier) sends them).
#[async_trait::async_trait]
pub trait LogoutStore: Send + Sync + Debug {
    /// Records that `client_id` received the tokens of grant `grant_id` in login session
    /// `session_id`, if that session exists; recording a grant twice keeps one.
    async fn add_session_grant(
        &self,
        session_id: &str,
        client_id: &str,
        grant_id: &str,
    ) -> Result<()>;
    /// Ends login sessions in one atomic step: deletes the session `which` names (or every
    /// session of a subject) with its recorded grants, queues one pending [`LogoutDelivery`]
    /// per (session, client), due at `now`, and with [`TokensAtLogout::RevokeGrants`] revokes
    /// every token and unused code of those grants (as [`TokenStore::revoke_grant`]). Returns
    /// the ended sessions with their clients and grants (empty when none existed).
    async fn end_login_sessions(
        &self,
        which: SessionsToEnd<'_>,
        now: OffsetDateTime,
        tokens: TokensAtLogout,
    ) -> Result<Vec<EndedSession>>;
    /// Claims up to `limit` pending deliveries due at `now` (earliest first) by moving their
    /// `next_attempt_at` to `lease_until`, atomically, so that two workers never claim one
    /// delivery at the same time; a claimed delivery whose worker died is due again then.
    async fn claim_logout_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<LogoutDelivery>>;
    /// Deletes a delivery that succeeded (or needs no sending);
    /// [`StoreError::NotFound`] if none.
    async fn delete_logout_delivery(&self, session_id: &str, client_id: &str) -> Result<()>;
    /// Replaces a delivery after a failed attempt (attempts, next attempt, status, error);
    /// [`StoreError::NotFound`] if none.
    async fn update_logout_delivery(&self, delivery: LogoutDelivery) -> Result<()>;
    /// A page of deliveries not yet delivered, pending and failed, ordered by
    /// (`created_at`, `session_id`, `client_id`).
    async fn logout_deliveries(&self, limit: usize, offset: usize) -> Result<Vec<LogoutDelivery>>;
}

/// Which login sessions [`LogoutStore::end_login_sessions`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionsToEnd<'a> {
    /// The session with this id.
    Id(&'a str),
    /// Every session of this subject.
    Subject(&'a str),
}

/// A login session that was ended, with the clients that took part in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    /// The session as it was.
    pub session: LoginSessionRecord,
    /// The clients recorded with [`LogoutStore::add_session_grant`], each once, sorted.
    pub client_ids: Vec<String>,
    /// The grants recorded with [`LogoutStore::add_session_grant`], sorted.
    pub grant_ids: Vec<String>,
}

/// Where a back-channel logout delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Every attempt failed; it is not retried.
    Failed,
}

/// A back-channel logout notification owed to one client for one ended session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutDelivery {
    /// The ended login session (`sid`).
    pub session_id: String,
    /// The client to notify.
    pub client_id: String,
    /// The session's subject (not pairwise).
    pub subject: String,
    /// The logout token's `jti`, the same on every attempt.
    pub jti: String,
    /// When the session ended.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    /// Pending or failed.
    pub status: DeliveryStatus,
    /// Why the last attempt failed.
    pub last_error: String,
}

impl LogoutDelivery {
    /// A new pending delivery to `client_id` for an ended `session`, due at `now`.
    pub fn new(session: &LoginSessionRecord, client_id: &str, now: OffsetDateTime) -> Self {
        Self {
            session_id: session.id.clone(),
            client_id: client_id.to_owned(),
            subject: session.subject.clone(),
            jti: crate::crypto::random_id(),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            status: DeliveryStatus::Pending,
            last_error: String::new(),
        }
    }
}

/// Authorization codes, access tokens and refresh tokens.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + Debug {
    /// Stores a new authorization code.
    async fn insert_code(&self, code: CodeRecord) -> Result<()>;
    /// The code with this signature (used or not); [`StoreError::NotFound`] if none.
    async fn code(&self, signature: &str) -> Result<CodeRecord>;
    /// Marks the code used **and** inserts the tokens it buys, atomically.
    /// [`StoreError::AlreadyUsed`] (nothing inserted) if it was used before: the caller then
    /// revokes the grant. [`StoreError::NotFound`] if unknown.
    async fn redeem_code(&self, signature: &str, tokens: IssuedTokens) -> Result<()>;
    /// Inserts tokens not bought by a code or refresh token (implicit, client credentials).
    async fn insert_tokens(&self, tokens: IssuedTokens) -> Result<()>;
    /// The access token with this signature (any status); [`StoreError::NotFound`] if none.
    async fn access_token(&self, signature: &str) -> Result<TokenRecord>;
    /// The refresh token with this signature (any status); [`StoreError::NotFound`] if none.
    async fn refresh_token(&self, signature: &str) -> Result<TokenRecord>;
    /// Rotates a refresh token, atomically: if it is active, marks it rotated, revokes every
    /// other active token of its grant, and inserts `tokens`. [`StoreError::AlreadyUsed`]
    /// (nothing inserted) if it was rotated before — reuse: the caller revokes the grant.
    /// [`StoreError::NotFound`] if unknown or revoked.
    async fn rotate_refresh_token(&self, signature: &str, tokens: IssuedTokens) -> Result<()>;
    /// Revokes every token and unused code of the grant, returning how many changed.
    async fn revoke_grant(&self, grant_id: &str) -> Result<u64>;
    /// Revokes every token and unused code issued to the client.
    async fn revoke_client_tokens(&self, client_id: &str) -> Result<u64>;
    /// Deletes access tokens that expired before `not_after`, and codes and refresh tokens
    /// that can never be used again (expired before `not_after`); at most `limit` rows.
    async fn flush_tokens(&self, not_after: OffsetDateTime, limit: usize) -> Result<u64>;
}

/// `Ok(None)` when the store has no such record; other store errors pass through.
pub(crate) fn found<T>(
    result: std::result::Result<T, StoreError>,
) -> std::result::Result<Option<T>, StoreError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everything a [`Provider`](crate::Provider) persists. Implemented automatically for any
/// type that implements the six store traits.
pub trait Store:
    ClientStore + KeyStore + FlowStore + SessionStore + LogoutStore + TokenStore
{
}

impl<T: ClientStore + KeyStore + FlowStore + SessionStore + LogoutStore + TokenStore> Store for T {}

/// The OpenID Connect parameters of an authorization request, shown to the login and
/// consent apps (`oidc_context`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcContext {
    /// Requested ACR values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// Preferred UI locales.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ui_locales: Vec<String>,
    /// The `display` parameter.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display: String,
    /// Claims of a valid `id_token_hint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_hint_claims: Option<JsonObject>,
    /// The `login_hint` parameter.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub login_hint: String,
}

/// A login request: the browser is at the host's login page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequestRecord {
    /// The login challenge (public id, given to the login app).
    pub challenge: String,
    /// SHA-256 hex of the login verifier (returned to the browser after accept/reject).
    pub verifier_digest: String,
    /// The CSRF value bound to the browser by a signed cookie.
    pub csrf: String,
    /// The client that started the flow.
    pub client_id: String,
    /// Scopes requested.
    pub requested_scope: Vec<String>,
    /// Resources requested (RFC 8707 `resource`); Hydra v2's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_access_token_audience: Vec<String>,
    /// Whether a valid login session already authenticated the user.
    pub skip: bool,
    /// The subject of that session, when `skip`.
    pub subject: String,
    /// The OIDC parameters of the request.
    pub oidc_context: OidcContext,
    /// The original authorization URL (issuer + `/oauth2/auth?` + query).
    pub request_url: String,
    /// The login session that allowed `skip`, if any.
    pub session_id: Option<String>,
    /// When the authorization request arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// After this the request can no longer be completed.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The host's answer, once given.
    pub handled: Option<HandledLogin>,
    /// Whether the verifier was consumed.
    pub verifier_used: bool,
}

/// What login and consent requests share as stored records: a challenge, the digest of the
/// verifier returned once the host answered, the answer (given once), whether the verifier
/// was consumed (once), and the [`FlowStore`] calls of their kind. Stores and the flow use it
/// to treat both alike.
pub(crate) trait ChallengeRecord: Clone + Send + Sync {
    /// The host's answer: [`HandledLogin`], [`HandledConsent`] or [`HandledLogout`].
    type Handled;
    /// What the host's acceptance stored: [`AcceptedLogin`] or [`AcceptedConsent`].
    type Accepted;

    /// The challenge: the record's key.
    fn challenge(&self) -> &str;
    /// SHA-256 hex of the verifier: the second key.
    fn verifier_digest(&self) -> &str;
    /// The client that started the flow.
    fn client_id(&self) -> &str;
    /// The original authorization URL.
    fn request_url(&self) -> &str;
    /// The CSRF value bound to the browser.
    fn csrf(&self) -> &str;
    /// When the authorization request arrived.
    fn requested_at(&self) -> OffsetDateTime;
    /// After this the request can no longer be completed.
    fn expires_at(&self) -> OffsetDateTime;
    /// Whether the host has answered.
    fn is_handled(&self) -> bool;
    /// The host's answer: accepted, rejected, or none yet.
    fn outcome(&self) -> Option<std::result::Result<&Self::Accepted, &RejectedRequest>>;
    /// Records the host's answer.
    fn set_handled(&mut self, handled: Self::Handled);
    /// A rejection as this kind stores it.
    fn rejected(rejection: RejectedRequest) -> Self::Handled;
    /// Whether the verifier was consumed.
    fn verifier_used(&self) -> bool;
    /// Marks the verifier consumed.
    fn use_verifier(&mut self);

    /// [`FlowStore::create_login_request`] or [`FlowStore::create_consent_request`].
    fn create(self, store: &dyn FlowStore) -> impl std::future::Future<Output = Result<()>> + Send;
    /// [`FlowStore::login_request`] or [`FlowStore::consent_request`].
    fn load(
        store: &dyn FlowStore,
        challenge: &str,
    ) -> impl std::future::Future<Output = Result<Self>> + Send;
    /// [`FlowStore::handle_login_request`] or [`FlowStore::handle_consent_request`].
    fn answer(
        store: &dyn FlowStore,
        challenge: &str,
        handled: Self::Handled,
    ) -> impl std::future::Future<Output = Result<Self>> + Send;
    /// [`FlowStore::consume_login_verifier`] or [`FlowStore::consume_consent_verifier`].
    fn consume(
        store: &dyn FlowStore,
        verifier_digest: &str,
    ) -> impl std::future::Future<Output = Result<Self>> + Send;
}

/// Implements [`ChallengeRecord`] for a request record with the shared field names and the
/// [`FlowStore`] methods of its kind.
macro_rules! challenge_record {
    (
        $record:ty,
        $handled:ident,
        $accepted:ty,
        $create:ident,
        $load:ident,
        $answer:ident,
        $consume:ident
    ) => {
        impl ChallengeRecord for $record {
            type Handled = $handled;
            type Accepted = $accepted;

            fn challenge(&self) -> &str {
                &self.challenge
            }
            fn verifier_digest(&self) -> &str {
                &self.verifier_digest
            }
            fn client_id(&self) -> &str {
                &self.client_id
            }
            fn request_url(&self) -> &str {
                &self.request_url
            }
            fn csrf(&self) -> &str {
                &self.csrf
            }
            fn requested_at(&self) -> OffsetDateTime {
                self.requested_at
            }
            fn expires_at(&self) -> OffsetDateTime {
                self.expires_at
            }
            fn is_handled(&self) -> bool {
                self.handled.is_some()
            }
            fn outcome(&self) -> Option<std::result::Result<&$accepted, &RejectedRequest>> {
                match self.handled.as_ref()? {
                    $handled::Accepted(accepted) => Some(Ok(accepted)),
                    $handled::Rejected(rejection) => Some(Err(rejection)),
                }
            }
            fn set_handled(&mut self, handled: $handled) {
                self.handled = Some(handled);
            }
            fn rejected(rejection: RejectedRequest) -> $handled {
                $handled::Rejected(rejection)
            }
            fn verifier_used(&self) -> bool {
                self.verifier_used
            }
            fn use_verifier(&mut self) {
                self.verifier_used = true;
            }
            async fn create(self, store: &dyn FlowStore) -> Result<()> {
                store.$create(self).await
            }
            async fn load(store: &dyn FlowStore, challenge: &str) -> Result<Self> {
                store.$load(challenge).await
            }
            async fn answer(
                store: &dyn FlowStore,
                challenge: &str,
                handled: $handled,
            ) -> Result<Self> {
                store.$answer(challenge, handled).await
            }
            async fn consume(store: &dyn FlowStore, verifier_digest: &str) -> Result<Self> {
                store.$consume(verifier_digest).await
            }
        }
    };
}

challenge_record!(
    LoginRequestRecord,
    HandledLogin,
    AcceptedLogin,
    create_login_request,
    login_request,
    handle_login_request,
    consume_login_verifier
);
challenge_record!(
    ConsentRequestRecord,
    HandledConsent,
    AcceptedConsent,
    create_consent_request,
    consent_request,
    handle_consent_request,
    consume_consent_verifier
);

challenge_record!(
    LogoutRequestRecord,
    HandledLogout,
    AcceptedLogout,
    create_logout_request,
    logout_request,
    handle_logout_request,
    consume_logout_verifier
);

/// A logout request (OpenID Connect RP-Initiated Logout, or the user's own): the browser
/// is at the host's logout page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutRequestRecord {
    /// The logout challenge (public id, given to the logout app).
    pub challenge: String,
    /// SHA-256 hex of the logout verifier.
    pub verifier_digest: String,
    /// The CSRF value bound to the browser by a signed cookie.
    pub csrf: String,
    /// The relying party that asked, if one was identified (empty otherwise).
    pub client_id: String,
    /// The subject of the session to end (not pairwise).
    pub subject: String,
    /// The login session to end (`sid`).
    pub session_id: String,
    /// Whether a relying party initiated the logout.
    pub rp_initiated: bool,
    /// The original logout URL (issuer + `/oauth2/sessions/logout`, with its query).
    pub request_url: String,
    /// Where the browser goes once the logout is done: the validated
    /// `post_logout_redirect_uri` with `state`, or the configured default.
    pub post_logout_redirect: String,
    /// The `ui_locales` of the request, for the logout page.
    pub ui_locales: Vec<String>,
    /// When the logout request arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// After this the request can no longer be completed.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The host's answer, once given.
    pub handled: Option<HandledLogout>,
    /// Whether the verifier was consumed.
    pub verifier_used: bool,
}

/// The host's answer to a logout request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HandledLogout {
    /// The user confirmed the logout.
    Accepted(AcceptedLogout),
    /// The logout was refused; the session stays.
    Rejected(RejectedRequest),
}

/// A confirmed logout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedLogout {
    /// When the host accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub handled_at: OffsetDateTime,
}

/// The host's answer to a login request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HandledLogin {
    /// The user authenticated.
    Accepted(AcceptedLogin),
    /// The login was refused; the error goes to the client.
    Rejected(RejectedRequest),
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedLogin {
    /// The authenticated subject.
    pub subject: String,
    /// Whether to remember the login in a session cookie.
    pub remember: bool,
    /// Seconds to remember it; 0 means as long as the browser session (capped by config).
    pub remember_for: i64,
    /// The authentication context class reached.
    pub acr: String,
    /// A subject identifier to use instead of the pairwise one.
    pub force_subject_identifier: String,
    /// When the user authenticated.
    #[serde(with = "time::serde::rfc3339")]
    pub authenticated_at: OffsetDateTime,
}

/// A refused login or consent, delivered to the client as an OAuth error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedRequest {
    /// The error code (default `access_denied`).
    pub error: ErrorCode,
    /// A description for the client.
    pub error_description: String,
    /// A hint.
    pub error_hint: String,
    /// Debug detail.
    pub error_debug: String,
    /// HTTP status semantics of the error.
    pub status_code: u16,
}

impl Default for RejectedRequest {
    /// An `access_denied` with no description, hint or debug detail and the default status.
    fn default() -> Self {
        Self {
            error: ErrorCode::AccessDenied,
            error_description: String::new(),
            error_hint: String::new(),
            error_debug: String::new(),
            status_code: 0,
        }
    }
}

/// A consent request: the browser is at the host's consent page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRequestRecord {
    /// The consent challenge; also the grant id of every token issued from this consent.
    pub challenge: String,
    /// SHA-256 hex of the consent verifier.
    pub verifier_digest: String,
    /// The CSRF value bound to the browser by a signed cookie.
    pub csrf: String,
    /// The client that started the flow.
    pub client_id: String,
    /// Scopes requested.
    pub requested_scope: Vec<String>,
    /// Resources requested (RFC 8707 `resource`); Hydra v2's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_access_token_audience: Vec<String>,
    /// Whether a remembered consent already covers the requested scopes.
    pub skip: bool,
    /// The authenticated subject (not pairwise).
    pub subject: String,
    /// The OIDC parameters of the request.
    pub oidc_context: OidcContext,
    /// The original authorization URL.
    pub request_url: String,
    /// The login challenge this consent follows.
    pub login_challenge: String,
    /// The login session, if the login was remembered or skipped.
    pub login_session_id: Option<String>,
    /// The accepted ACR of the login.
    pub acr: String,
    /// The subject identifier forced at login, if any.
    pub force_subject_identifier: String,
    /// When the user authenticated.
    #[serde(with = "time::serde::rfc3339")]
    pub authenticated_at: OffsetDateTime,
    /// When the authorization request arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    /// After this the request can no longer be completed.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The host's answer, once given.
    pub handled: Option<HandledConsent>,
    /// Whether the verifier was consumed.
    pub verifier_used: bool,
}

/// The host's answer to a consent request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HandledConsent {
    /// The user granted (some) scopes.
    Accepted(AcceptedConsent),
    /// The consent was refused.
    Rejected(RejectedRequest),
}

/// A granted consent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedConsent {
    /// The scopes granted (a subset of the requested ones).
    pub grant_scope: Vec<String>,
    /// The resources granted (a subset of the requested ones); Hydra v2's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_access_token_audience: Vec<String>,
    /// Whether to remember the grant for later requests.
    pub remember: bool,
    /// Seconds to remember it; 0 means forever.
    pub remember_for: i64,
    /// Extra data for access tokens (`ext` in introspection).
    pub access_token_extra: JsonObject,
    /// Extra claims for ID tokens and userinfo.
    pub id_token_extra: JsonObject,
    /// When the consent was given.
    #[serde(with = "time::serde::rfc3339")]
    pub handled_at: OffsetDateTime,
}

/// A remembered login of a browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSessionRecord {
    /// Session id (the `sid` claim and the session cookie's value).
    pub id: String,
    /// The authenticated subject.
    pub subject: String,
    /// When the user authenticated.
    #[serde(with = "time::serde::rfc3339")]
    pub authenticated_at: OffsetDateTime,
    /// After this the session no longer skips the login page.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What every token of one grant (one consent, or one client-credentials request) shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantData {
    /// The grant id: the consent challenge, or a random id for client credentials. Revoking
    /// the grant revokes every code and token carrying it.
    pub grant_id: String,
    /// The client the tokens belong to.
    pub client_id: String,
    /// The real subject (the client id for client credentials).
    pub subject: String,
    /// The subject as the client sees it (`sub` of ID tokens and userinfo; pairwise or forced).
    pub subject_identifier: String,
    /// Granted scopes.
    pub granted_scope: Vec<String>,
    /// Granted resources (RFC 8707), the `aud` of the access tokens. In an access token's
    /// own record, the audience that token was issued for: a token request may narrow it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted_audience: Vec<String>,
    /// Extra data of access tokens (`ext`).
    pub access_token_extra: JsonObject,
    /// Extra ID-token claims.
    pub id_token_extra: JsonObject,
    /// When the user authenticated (absent for client credentials).
    #[serde(with = "time::serde::rfc3339::option")]
    pub auth_time: Option<OffsetDateTime>,
    /// The accepted ACR.
    pub acr: String,
    /// The login session id (`sid`), if any.
    pub session_id: Option<String>,
    /// When the authorization request arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
}

/// An authorization code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// SHA-256 hex of the code.
    pub signature: String,
    /// The grant the code belongs to.
    pub grant: GrantData,
    /// The `redirect_uri` sent in the authorization request, which the token request must
    /// repeat; `None` if it was omitted.
    pub redirect_uri: Option<String>,
    /// The redirect URI the code was delivered to.
    pub effective_redirect_uri: String,
    /// The S256 PKCE challenge, if one was sent.
    pub code_challenge: Option<String>,
    /// The OIDC nonce, for the ID token.
    pub nonce: Option<String>,
    /// When the code was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// After this the code cannot be redeemed.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether the code was redeemed (or revoked with its grant).
    pub used: bool,
}

/// Whether a token is an access or a refresh token. Its spelling (in JSON, in SQL rows, and
/// from [`TokenKind::as_str`]) is the RFC 7009 / RFC 7662 token type: `access_token`,
/// `refresh_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

impl TokenKind {
    /// The token type name: `access_token` or `refresh_token`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }

    /// The kind a token type name (a `token_type_hint`) names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::AccessToken, Self::RefreshToken]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// The token of `kind` with this signature, from the store method for that kind.
pub(crate) async fn token_of_kind(
    store: &(impl TokenStore + ?Sized),
    kind: TokenKind,
    signature: &str,
) -> Result<TokenRecord> {
    match kind {
        TokenKind::AccessToken => store.access_token(signature).await,
        TokenKind::RefreshToken => store.refresh_token(signature).await,
    }
}

/// The life state of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    /// Usable until it expires.
    Active,
    /// A refresh token that was exchanged for a new one; presenting it again is reuse.
    Rotated,
    /// Revoked; never usable again.
    Revoked,
}

impl TokenStatus {
    /// The status as JSON and SQL rows spell it: `active`, `rotated`, `revoked`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotated => "rotated",
            Self::Revoked => "revoked",
        }
    }
}

/// An access or refresh token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// SHA-256 hex of the token.
    pub signature: String,
    /// Access or refresh.
    pub kind: TokenKind,
    /// The grant the token belongs to.
    pub grant: GrantData,
    /// When the token was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// When the token expires; `None` never (refresh tokens only).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Active, rotated or revoked.
    pub status: TokenStatus,
}

impl TokenRecord {
    /// Whether the token is active and unexpired at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.status == TokenStatus::Active && self.expires_at.is_none_or(|exp| now < exp)
    }
}

/// The tokens one grant step issues together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedTokens {
    /// The access token.
    pub access: TokenRecord,
    /// The refresh token, when `offline`/`offline_access` was granted.
    pub refresh: Option<TokenRecord>,
}
