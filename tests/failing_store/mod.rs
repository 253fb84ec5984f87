//! A store that delegates to a [`MemoryStore`] but fails chosen operations on demand, to
//! check that a store failure is a 5xx and never a false success.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};

use oauth2_provider::async_trait;
use oauth2_provider::model::client::ClientRecord;
use oauth2_provider::store::{
    ClientStore, CodeRecord, ConsentRequestRecord, FlowStore, HandledConsent, HandledLogin,
    IssuedTokens, KeyRecord, KeyStore, LoginRequestRecord, LoginSessionRecord, SessionStore,
    TokenRecord, TokenStore,
};
use oauth2_provider::{MemoryStore, StoreError};
use time::OffsetDateTime;

type Result<T> = std::result::Result<T, StoreError>;

/// A memory store with switches that make operations fail with a backend error.
#[derive(Debug, Default)]
pub struct FailingStore {
    pub inner: MemoryStore,
    /// Every client operation fails.
    pub fail_clients: AtomicBool,
    /// `revoke_client_tokens` fails.
    pub fail_revoke: AtomicBool,
}

impl FailingStore {
    fn check(&self, switch: &AtomicBool) -> Result<()> {
        if switch.load(Ordering::SeqCst) {
            Err(StoreError::backend("injected failure"))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ClientStore for FailingStore {
    async fn create_client(&self, record: ClientRecord) -> Result<()> {
        self.check(&self.fail_clients)?;
        self.inner.create_client(record).await
    }
    async fn client(&self, client_id: &str) -> Result<ClientRecord> {
        self.check(&self.fail_clients)?;
        self.inner.client(client_id).await
    }
    async fn update_client(&self, record: ClientRecord) -> Result<()> {
        self.check(&self.fail_clients)?;
        self.inner.update_client(record).await
    }
    async fn delete_client(&self, client_id: &str) -> Result<()> {
        self.check(&self.fail_clients)?;
        self.inner.delete_client(client_id).await
    }
    async fn list_clients(&self, limit: usize, offset: usize) -> Result<Vec<ClientRecord>> {
        self.check(&self.fail_clients)?;
        self.inner.list_clients(limit, offset).await
    }
}

#[async_trait]
impl KeyStore for FailingStore {
    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        self.inner.keys().await
    }
    async fn insert_initial_keys(&self, initial: Vec<KeyRecord>) -> Result<Vec<KeyRecord>> {
        self.inner.insert_initial_keys(initial).await
    }
    async fn insert_key(&self, key: KeyRecord) -> Result<()> {
        self.inner.insert_key(key).await
    }
}

#[async_trait]
impl FlowStore for FailingStore {
    async fn create_login_request(&self, request: LoginRequestRecord) -> Result<()> {
        self.inner.create_login_request(request).await
    }
    async fn login_request(&self, challenge: &str) -> Result<LoginRequestRecord> {
        self.inner.login_request(challenge).await
    }
    async fn handle_login_request(
        &self,
        challenge: &str,
        handled: HandledLogin,
    ) -> Result<LoginRequestRecord> {
        self.inner.handle_login_request(challenge, handled).await
    }
    async fn consume_login_verifier(&self, verifier_digest: &str) -> Result<LoginRequestRecord> {
        self.inner.consume_login_verifier(verifier_digest).await
    }
    async fn create_consent_request(&self, request: ConsentRequestRecord) -> Result<()> {
        self.inner.create_consent_request(request).await
    }
    async fn consent_request(&self, challenge: &str) -> Result<ConsentRequestRecord> {
        self.inner.consent_request(challenge).await
    }
    async fn handle_consent_request(
        &self,
        challenge: &str,
        handled: HandledConsent,
    ) -> Result<ConsentRequestRecord> {
        self.inner.handle_consent_request(challenge, handled).await
    }
    async fn consume_consent_verifier(
        &self,
        verifier_digest: &str,
    ) -> Result<ConsentRequestRecord> {
        self.inner.consume_consent_verifier(verifier_digest).await
    }
    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Vec<ConsentRequestRecord>> {
        self.inner.remembered_consents(subject, client_id).await
    }
    async fn consent_sessions(
        &self,
        subject: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConsentRequestRecord>> {
        self.inner.consent_sessions(subject, limit, offset).await
    }
    async fn delete_consents(&self, subject: &str, client_id: Option<&str>) -> Result<Vec<String>> {
        self.inner.delete_consents(subject, client_id).await
    }
    async fn flush_requests(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
        self.inner.flush_requests(before, limit).await
    }
}

#[async_trait]
impl SessionStore for FailingStore {
    async fn create_login_session(&self, session: LoginSessionRecord) -> Result<()> {
        self.inner.create_login_session(session).await
    }
    async fn login_session(&self, id: &str) -> Result<LoginSessionRecord> {
        self.inner.login_session(id).await
    }
    async fn delete_login_session(&self, id: &str) -> Result<()> {
        self.inner.delete_login_session(id).await
    }
    async fn delete_login_sessions_of(&self, subject: &str) -> Result<u64> {
        self.inner.delete_login_sessions_of(subject).await
    }
    async fn flush_login_sessions(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
        self.inner.flush_login_sessions(before, limit).await
    }
    async fn set_forced_subject(&self, client_id: &str, subject: &str, forced: &str) -> Result<()> {
        self.inner
            .set_forced_subject(client_id, subject, forced)
            .await
    }
    async fn forced_subject(&self, client_id: &str, subject: &str) -> Result<Option<String>> {
        self.inner.forced_subject(client_id, subject).await
    }
}

#[async_trait]
impl TokenStore for FailingStore {
    async fn insert_code(&self, code: CodeRecord) -> Result<()> {
        self.inner.insert_code(code).await
    }
    async fn code(&self, signature: &str) -> Result<CodeRecord> {
        self.inner.code(signature).await
    }
    async fn redeem_code(&self, signature: &str, tokens: IssuedTokens) -> Result<()> {
        self.inner.redeem_code(signature, tokens).await
    }
    async fn insert_tokens(&self, tokens: IssuedTokens) -> Result<()> {
        self.inner.insert_tokens(tokens).await
    }
    async fn access_token(&self, signature: &str) -> Result<TokenRecord> {
        self.inner.access_token(signature).await
    }
    async fn refresh_token(&self, signature: &str) -> Result<TokenRecord> {
        self.inner.refresh_token(signature).await
    }
    async fn rotate_refresh_token(&self, signature: &str, tokens: IssuedTokens) -> Result<()> {
        self.inner.rotate_refresh_token(signature, tokens).await
    }
    async fn revoke_grant(&self, grant_id: &str) -> Result<u64> {
        self.inner.revoke_grant(grant_id).await
    }
    async fn revoke_client_tokens(&self, client_id: &str) -> Result<u64> {
        self.check(&self.fail_revoke)?;
        self.inner.revoke_client_tokens(client_id).await
    }
    async fn flush_tokens(&self, not_after: OffsetDateTime, limit: usize) -> Result<u64> {
        self.inner.flush_tokens(not_after, limit).await
    }
}
