//! A store wrapper that fails on demand, to prove that a storage failure is a 5xx and never
//! a false success (checklist RL-8; fosite CVE-2020-15223) — for our tests and a host's.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use crate::error::StoreError;
use crate::model::TokensAtLogout;
use crate::model::client::ClientRecord;
use crate::store::{
    ClientStore, CodeRecord, ConsentRequestRecord, EndedSession, FlowStore, HandledConsent,
    HandledLogin, HandledLogout, IssuedTokens, KeyChange, KeyRecord, KeyStore, LoginRequestRecord,
    LoginSessionRecord, LogoutDelivery, LogoutRequestRecord, LogoutStore, MemoryStore,
    SessionStore, SessionsToEnd, Store, TokenRecord, TokenStore,
};

/// Never fail.
const OFF: usize = usize::MAX;

/// Delegates every call to an inner store (a [`MemoryStore`] by default) and fails chosen
/// calls with [`StoreError::Backend`] *before* they reach it, so a failed call changes
/// nothing.
///
/// Two switches: [`FaultyStore::fail_call`] fails the n-th call from now on (walk n = 1, 2, …
/// over an operation to fail each of its steps in turn); [`FaultyStore::fail_operations`]
/// fails every call of the named trait methods until [`FaultyStore::disarm`].
///
/// ```
/// # async fn demo() {
/// use std::sync::Arc;
/// use oauth2_provider::testing::FaultyStore;
/// use oauth2_provider::store::ClientStore;
///
/// let store = Arc::new(FaultyStore::new());
/// store.fail_operations(&["client"]);
/// assert!(store.client("app").await.is_err());
/// assert_eq!(store.disarm(), Some("client"));
/// # }
/// ```
#[derive(Debug)]
pub struct FaultyStore<S = MemoryStore> {
    inner: S,
    calls: AtomicUsize,
    fail_at: AtomicUsize,
    failing_operations: Mutex<HashSet<&'static str>>,
    failed: Mutex<Option<&'static str>>,
}

impl FaultyStore<MemoryStore> {
    /// A faulty store over a fresh [`MemoryStore`], with faults off.
    pub fn new() -> Self {
        Self::wrapping(MemoryStore::new())
    }
}

impl Default for FaultyStore<MemoryStore> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Store> FaultyStore<S> {
    /// A faulty store over `inner`, with faults off.
    pub fn wrapping(inner: S) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(OFF),
            failing_operations: Mutex::new(HashSet::new()),
            failed: Mutex::new(None),
        }
    }

    /// The wrapped store, to inspect state without tripping a fault.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Fails the n-th store call from now on (1-based), once.
    pub fn fail_call(&self, n: usize) {
        *lock(&self.failed) = None;
        self.calls.store(0, Ordering::SeqCst);
        self.fail_at.store(n, Ordering::SeqCst);
    }

    /// Fails every call of these trait methods (e.g. `"redeem_code"`) until disarmed.
    pub fn fail_operations(&self, operations: &[&'static str]) {
        *lock(&self.failed) = None;
        lock(&self.failing_operations).extend(operations.iter().copied());
    }

    /// Turns all faults off; returns the last call that failed, if any did.
    pub fn disarm(&self) -> Option<&'static str> {
        self.fail_at.store(OFF, Ordering::SeqCst);
        lock(&self.failing_operations).clear();
        lock(&self.failed).take()
    }

    fn tick(&self, call: &'static str) -> Result<(), StoreError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) || lock(&self.failing_operations).contains(call)
        {
            *lock(&self.failed) = Some(call);
            return Err(StoreError::backend(format!("injected fault in {call}")));
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Implements a store trait by delegation, each call checked against the faults first.
macro_rules! delegate {
    ($trait:ident { $(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* }) => {
        #[async_trait::async_trait]
        impl<S: Store> $trait for FaultyStore<S> {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, StoreError> {
                    self.tick(stringify!($name))?;
                    self.inner.$name($($arg),*).await
                }
            )*
        }
    };
}

delegate!(ClientStore {
    fn create_client(record: ClientRecord) -> ();
    fn client(client_id: &str) -> Arc<ClientRecord>;
    fn update_client(record: ClientRecord) -> ();
    fn delete_client(client_id: &str) -> ();
    fn list_clients(limit: usize, offset: usize) -> Vec<ClientRecord>;
    fn origin_allowed(origin: &str) -> bool;
});

delegate!(KeyStore {
    fn keys() -> Vec<KeyRecord>;
    fn change_keys(change: KeyChange) -> Vec<KeyRecord>;
    fn ping() -> ();
});

delegate!(FlowStore {
    fn create_login_request(request: LoginRequestRecord) -> ();
    fn login_request(challenge: &str) -> LoginRequestRecord;
    fn handle_login_request(challenge: &str, handled: HandledLogin) -> LoginRequestRecord;
    fn consume_login_verifier(verifier_digest: &str) -> LoginRequestRecord;
    fn create_consent_request(request: ConsentRequestRecord) -> ();
    fn consent_request(challenge: &str) -> ConsentRequestRecord;
    fn handle_consent_request(challenge: &str, handled: HandledConsent) -> ConsentRequestRecord;
    fn consume_consent_verifier(verifier_digest: &str) -> ConsentRequestRecord;
    fn create_logout_request(request: LogoutRequestRecord) -> ();
    fn logout_request(challenge: &str) -> LogoutRequestRecord;
    fn handle_logout_request(challenge: &str, handled: HandledLogout) -> LogoutRequestRecord;
    fn consume_logout_verifier(verifier_digest: &str) -> LogoutRequestRecord;
    fn remembered_consents(subject: &str, client_id: &str) -> Vec<ConsentRequestRecord>;
    fn consent_sessions(subject: &str, limit: usize, offset: usize) -> Vec<ConsentRequestRecord>;
    fn revoke_consents(subject: &str, client_id: Option<&str>) -> u64;
    fn flush_requests(before: OffsetDateTime, limit: usize) -> u64;
});

delegate!(SessionStore {
    fn create_login_session(session: LoginSessionRecord) -> ();
    fn login_session(id: &str) -> LoginSessionRecord;
    fn delete_login_session(id: &str) -> ();
    fn delete_login_sessions_of(subject: &str) -> u64;
    fn flush_login_sessions(before: OffsetDateTime, limit: usize) -> u64;
    fn set_forced_subject(client_id: &str, subject: &str, forced: &str) -> ();
    fn forced_subject(client_id: &str, subject: &str) -> Option<String>;
});

delegate!(LogoutStore {
    fn add_session_grant(session_id: &str, client_id: &str, grant_id: &str) -> ();
    fn end_login_sessions(which: SessionsToEnd<'_>, now: OffsetDateTime, tokens: TokensAtLogout) -> Vec<EndedSession>;
    fn claim_logout_deliveries(now: OffsetDateTime, lease_until: OffsetDateTime, limit: usize) -> Vec<LogoutDelivery>;
    fn delete_logout_delivery(session_id: &str, client_id: &str) -> ();
    fn update_logout_delivery(delivery: LogoutDelivery) -> ();
    fn logout_deliveries(limit: usize, offset: usize) -> Vec<LogoutDelivery>;
});

delegate!(TokenStore {
    fn insert_code(code: CodeRecord) -> ();
    fn code(signature: &str) -> CodeRecord;
    fn redeem_code(signature: &str, tokens: IssuedTokens) -> ();
    fn insert_tokens(tokens: IssuedTokens) -> ();
    fn access_token(signature: &str) -> TokenRecord;
    fn refresh_token(signature: &str) -> TokenRecord;
    fn rotate_refresh_token(signature: &str, tokens: IssuedTokens) -> ();
    fn revoke_grant(grant_id: &str) -> u64;
    fn revoke_client_tokens(client_id: &str) -> u64;
    fn flush_tokens(not_after: OffsetDateTime, limit: usize) -> u64;
});
