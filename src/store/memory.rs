//! The embedded default store: everything in process memory, correct under concurrent use.
//!
//! Each aggregate sits behind its own `RwLock`; every trait call takes the lock once, does
//! its work synchronously and releases it, so no lock is ever held across an `.await` and
//! every multi-step operation (redeem, rotate, handle) is atomic. The calls that span
//! aggregates (`delete_client`, `revoke_consents`, `end_login_sessions`) hold their locks
//! together, always taken in the order clients, flows, sessions, tokens, deliveries, so they
//! cannot deadlock.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use time::OffsetDateTime;

use super::{
    ChallengeRecord, ClientStore, CodeRecord, ConsentRequestRecord, DeliveryStatus, EndedSession,
    FlowStore, HandledConsent, HandledLogin, HandledLogout, IssuedTokens, KeyChange, KeyRecord,
    KeyStore, LoginRequestRecord, LoginSessionRecord, LogoutDelivery, LogoutRequestRecord,
    LogoutStore, SessionStore, SessionsToEnd, TokenKind, TokenRecord, TokenStore,
};
use crate::error::StoreError;
use crate::model::TokensAtLogout;
use crate::model::client::ClientRecord;
use tokens::Tokens;

mod sharded;
mod tokens;

type Result<T> = std::result::Result<T, StoreError>;

/// An in-memory [`Store`](super::Store). Cheap to create; everything is lost on drop.
///
/// Open login and consent requests clean themselves up: each new one evicts requests that
/// have expired, and at most [`max_open_requests`](Self::max_open_requests) of each kind are
/// held (the earliest to expire goes first), so anonymous authorization requests cannot
/// grow memory without bound and no flush is needed for them.
#[derive(Debug)]
pub struct MemoryStore {
    max_open_requests: usize,
    clients: RwLock<Clients>,
    keys: RwLock<Vec<KeyRecord>>,
    flows: RwLock<Flows>,
    sessions: RwLock<Sessions>,
    tokens: RwLock<Tokens>,
    /// (session id, client id) → the back-channel logout owed.
    deliveries: RwLock<HashMap<(String, String), LogoutDelivery>>,
}

#[derive(Debug, Default)]
struct Clients {
    by_id: HashMap<String, Arc<ClientRecord>>,
    /// (created_at, client_id) → client_id, for a stable list order.
    order: BTreeMap<(i128, String), ()>,
    /// origin → how many clients list it in `allowed_cors_origins`: a CORS preflight asks
    /// whether any client allows an origin, and must not scan every client to find out.
    origins: HashMap<String, usize>,
}

impl Clients {
    /// Counts the origins of a client that was added.
    fn index_origins(&mut self, record: &ClientRecord) {
        for origin in distinct_origins(record) {
            *self.origins.entry(origin.to_owned()).or_default() += 1;
        }
    }

    /// Uncounts the origins of a client that was replaced or removed.
    fn unindex_origins(&mut self, record: &ClientRecord) {
        for origin in distinct_origins(record) {
            if let Entry::Occupied(mut count) = self.origins.entry(origin.to_owned()) {
                *count.get_mut() -= 1;
                if *count.get() == 0 {
                    count.remove();
                }
            }
        }
    }
}

/// The origins a client lists, each once (a list may repeat one).
fn distinct_origins(record: &ClientRecord) -> BTreeSet<&str> {
    record
        .client
        .allowed_cors_origins
        .iter()
        .map(String::as_str)
        .collect()
}

#[derive(Debug, Default)]
struct Flows {
    login: Requests<LoginRequestRecord>,
    consent: Requests<ConsentRequestRecord>,
    logout: Requests<LogoutRequestRecord>,
    /// subject → challenges of its remembered consents: every authorization asks for them,
    /// and scanning all consent requests instead made each flow O(requests stored).
    remembered: HashMap<String, BTreeSet<String>>,
}

impl Flows {
    /// The remembered consents of `subject` (the index may only be ahead of a removal).
    fn remembered_of<'a>(
        &'a self,
        subject: &str,
    ) -> impl Iterator<Item = &'a ConsentRequestRecord> + 'a {
        self.remembered
            .get(subject)
            .into_iter()
            .flatten()
            .filter_map(|challenge| self.consent.by_challenge.get(challenge))
            .filter(|c| is_remembered(c))
    }

    fn remove_consent(&mut self, challenge: &str) {
        let Some(record) = self.consent.remove(challenge) else {
            return;
        };
        if let Some(challenges) = self.remembered.get_mut(&record.subject) {
            challenges.remove(challenge);
            if challenges.is_empty() {
                self.remembered.remove(&record.subject);
            }
        }
    }

    /// Removes every login and consent request of a client, in any state.
    fn remove_client(&mut self, client_id: &str) {
        for challenge in challenges_of(&self.login, client_id) {
            self.login.remove(&challenge);
        }
        for challenge in challenges_of(&self.consent, client_id) {
            self.remove_consent(&challenge);
        }
        for challenge in challenges_of(&self.logout, client_id) {
            self.logout.remove(&challenge);
        }
    }
}

/// The challenges of a client's requests.
fn challenges_of<R: ChallengeRecord>(requests: &Requests<R>, client_id: &str) -> Vec<String> {
    requests
        .by_challenge
        .values()
        .filter(|r| r.client_id() == client_id)
        .map(|r| r.challenge().to_owned())
        .collect()
}

/// Login or consent requests: by challenge, the challenge by verifier digest, and the open
/// ones by expiry.
///
/// Every insert evicts what it can with bounded work, so the table cleans itself without a
/// flush: up to [`EVICT_PER_INSERT`] requests that expired before the new one arrived, then
/// the earliest to expire while more than `max_open` are open. Remembered consents are
/// taken out of the expiry order when accepted: they are what later requests skip on.
#[derive(Debug)]
struct Requests<R> {
    by_challenge: HashMap<String, R>,
    by_verifier: HashMap<String, String>,
    /// (expires_at, challenge) of every request that eviction and flush may remove.
    by_expiry: BTreeSet<(OffsetDateTime, String)>,
}

/// How many expired requests one insert evicts at most: more than the one it adds, so a
/// table drains under any steady traffic.
const EVICT_PER_INSERT: usize = 8;

/// The default of [`MemoryStore::max_open_requests`].
pub const DEFAULT_MAX_OPEN_REQUESTS: usize = 10_000;

impl<R> Default for Requests<R> {
    fn default() -> Self {
        Self {
            by_challenge: HashMap::new(),
            by_verifier: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }
}

impl<R: ChallengeRecord> Requests<R> {
    /// Inserts a request after evicting expired ones, and the earliest to expire while more
    /// than `max_open` would be open.
    fn create(&mut self, request: R, max_open: usize) -> Result<()> {
        if self.by_challenge.contains_key(request.challenge()) {
            return Err(StoreError::Conflict);
        }
        self.evict_expired(request.requested_at(), EVICT_PER_INSERT);
        while self.by_expiry.len() >= max_open.max(1) {
            let Some((_, challenge)) = self.by_expiry.pop_first() else {
                break;
            };
            self.remove(&challenge);
        }
        self.by_verifier.insert(
            request.verifier_digest().to_owned(),
            request.challenge().to_owned(),
        );
        self.by_expiry
            .insert((request.expires_at(), request.challenge().to_owned()));
        self.by_challenge
            .insert(request.challenge().to_owned(), request);
        Ok(())
    }

    fn get(&self, challenge: &str) -> Result<R> {
        self.by_challenge
            .get(challenge)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    /// Records the host's answer once; a second answer is a conflict.
    fn handle(&mut self, challenge: &str, handled: R::Handled) -> Result<&R> {
        let request = self
            .by_challenge
            .get_mut(challenge)
            .ok_or(StoreError::NotFound)?;
        if request.is_handled() {
            return Err(StoreError::Conflict);
        }
        request.set_handled(handled);
        Ok(request)
    }

    /// Consumes the verifier of an answered request once.
    fn consume(&mut self, verifier_digest: &str) -> Result<R> {
        let request = self
            .by_verifier
            .get(verifier_digest)
            .and_then(|challenge| self.by_challenge.get_mut(challenge))
            .ok_or(StoreError::NotFound)?;
        if !request.is_handled() {
            return Err(StoreError::NotFound);
        }
        if request.verifier_used() {
            return Err(StoreError::AlreadyUsed);
        }
        request.use_verifier();
        Ok(request.clone())
    }

    fn remove(&mut self, challenge: &str) -> Option<R> {
        let record = self.by_challenge.remove(challenge)?;
        self.by_verifier.remove(record.verifier_digest());
        self.by_expiry
            .remove(&(record.expires_at(), challenge.to_owned()));
        Some(record)
    }

    /// Keeps a request for good: neither eviction nor flush will remove it.
    fn keep(&mut self, challenge: &str) {
        if let Some(record) = self.by_challenge.get(challenge) {
            self.by_expiry
                .remove(&(record.expires_at(), challenge.to_owned()));
        }
    }

    /// Removes at most `limit` requests that expired before `before`, earliest first; how
    /// many it removed.
    fn evict_expired(&mut self, before: OffsetDateTime, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit && self.by_expiry.first().is_some_and(|(at, _)| *at < before) {
            if let Some((_, challenge)) = self.by_expiry.pop_first() {
                self.remove(&challenge);
            }
            removed += 1;
        }
        if removed > 0 {
            self.give_back_memory();
        }
        removed
    }

    /// Shrinks the tables once they are mostly empty, so a flood of requests that expired
    /// does not keep its memory.
    fn give_back_memory(&mut self) {
        let len = self.by_challenge.len();
        if self.by_challenge.capacity() > 64 && len < self.by_challenge.capacity() / 4 {
            self.by_challenge.shrink_to(len * 2);
            self.by_verifier.shrink_to(len * 2);
        }
    }
}

#[derive(Debug, Default)]
struct Sessions {
    login: HashMap<String, LoginSessionRecord>,
    /// session id → the grants issued in it (grant id → client id).
    grants: HashMap<String, BTreeMap<String, String>>,
    forced_subjects: HashMap<(String, String), String>,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn order_key(record: &ClientRecord) -> (i128, String) {
    let created = record
        .client
        .created_at
        .map_or(0, OffsetDateTime::unix_timestamp_nanos);
    (created, record.client.client_id.clone())
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            max_open_requests: DEFAULT_MAX_OPEN_REQUESTS,
            clients: RwLock::default(),
            keys: RwLock::default(),
            flows: RwLock::default(),
            sessions: RwLock::default(),
            tokens: RwLock::default(),
            deliveries: RwLock::default(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Holds at most `max` open login requests and as many open consent requests (default
    /// [`DEFAULT_MAX_OPEN_REQUESTS`]); beyond it, a new request evicts the one that expires
    /// first. With requests bounded by
    /// [`Config::max_authorization_request_bytes`](crate::Config::max_authorization_request_bytes),
    /// this bounds the memory open flows hold (see the README).
    pub fn max_open_requests(mut self, max: usize) -> Self {
        self.max_open_requests = max;
        self
    }
}

#[async_trait::async_trait]
impl ClientStore for MemoryStore {
    async fn create_client(&self, record: ClientRecord) -> Result<()> {
        let mut clients = write(&self.clients);
        if clients.by_id.contains_key(&record.client.client_id) {
            return Err(StoreError::Conflict);
        }
        clients.order.insert(order_key(&record), ());
        clients.index_origins(&record);
        clients
            .by_id
            .insert(record.client.client_id.clone(), Arc::new(record));
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Result<Arc<ClientRecord>> {
        read(&self.clients)
            .by_id
            .get(client_id)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn update_client(&self, record: ClientRecord) -> Result<()> {
        let mut clients = write(&self.clients);
        let Some(old) = clients.by_id.remove(&record.client.client_id) else {
            return Err(StoreError::NotFound);
        };
        clients.order.remove(&order_key(&old));
        clients.unindex_origins(&old);
        clients.order.insert(order_key(&record), ());
        clients.index_origins(&record);
        clients
            .by_id
            .insert(record.client.client_id.clone(), Arc::new(record));
        Ok(())
    }

    async fn delete_client(&self, client_id: &str) -> Result<()> {
        let mut clients = write(&self.clients);
        let mut flows = write(&self.flows);
        let mut sessions = write(&self.sessions);
        let mut tokens = write(&self.tokens);
        flows.remove_client(client_id);
        sessions
            .forced_subjects
            .retain(|(client, _), _| client != client_id);
        tokens.revoke_client(client_id);
        let Some(old) = clients.by_id.remove(client_id) else {
            return Err(StoreError::NotFound);
        };
        clients.order.remove(&order_key(&old));
        clients.unindex_origins(&old);
        Ok(())
    }

    async fn origin_allowed(&self, origin: &str) -> Result<bool> {
        Ok(read(&self.clients).origins.contains_key(origin))
    }

    async fn list_clients(&self, limit: usize, offset: usize) -> Result<Vec<ClientRecord>> {
        let clients = read(&self.clients);
        Ok(clients
            .order
            .keys()
            .skip(offset)
            .take(limit)
            .filter_map(|(_, id)| clients.by_id.get(id).map(|r| ClientRecord::clone(r)))
            .collect())
    }
}

#[async_trait::async_trait]
impl KeyStore for MemoryStore {
    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        Ok(read(&self.keys).clone())
    }

    async fn change_keys(&self, change: KeyChange) -> Result<Vec<KeyRecord>> {
        let mut keys = write(&self.keys);
        let mut changed = keys.clone();
        change.apply(&mut changed)?;
        *keys = changed;
        Ok(keys.clone())
    }
}

#[async_trait::async_trait]
impl FlowStore for MemoryStore {
    async fn create_login_request(&self, request: LoginRequestRecord) -> Result<()> {
        write(&self.flows)
            .login
            .create(request, self.max_open_requests)
    }

    async fn login_request(&self, challenge: &str) -> Result<LoginRequestRecord> {
        read(&self.flows).login.get(challenge)
    }

    async fn handle_login_request(
        &self,
        challenge: &str,
        handled: HandledLogin,
    ) -> Result<LoginRequestRecord> {
        write(&self.flows).login.handle(challenge, handled).cloned()
    }

    async fn consume_login_verifier(&self, verifier_digest: &str) -> Result<LoginRequestRecord> {
        write(&self.flows).login.consume(verifier_digest)
    }

    async fn create_consent_request(&self, request: ConsentRequestRecord) -> Result<()> {
        write(&self.flows)
            .consent
            .create(request, self.max_open_requests)
    }

    async fn consent_request(&self, challenge: &str) -> Result<ConsentRequestRecord> {
        read(&self.flows).consent.get(challenge)
    }

    async fn handle_consent_request(
        &self,
        challenge: &str,
        handled: HandledConsent,
    ) -> Result<ConsentRequestRecord> {
        let mut flows = write(&self.flows);
        let request = flows.consent.handle(challenge, handled)?.clone();
        if is_remembered(&request) {
            flows.consent.keep(challenge);
            flows
                .remembered
                .entry(request.subject.clone())
                .or_default()
                .insert(request.challenge.clone());
        }
        Ok(request)
    }

    async fn consume_consent_verifier(
        &self,
        verifier_digest: &str,
    ) -> Result<ConsentRequestRecord> {
        write(&self.flows).consent.consume(verifier_digest)
    }

    async fn create_logout_request(&self, request: LogoutRequestRecord) -> Result<()> {
        write(&self.flows)
            .logout
            .create(request, self.max_open_requests)
    }

    async fn logout_request(&self, challenge: &str) -> Result<LogoutRequestRecord> {
        read(&self.flows).logout.get(challenge)
    }

    async fn handle_logout_request(
        &self,
        challenge: &str,
        handled: HandledLogout,
    ) -> Result<LogoutRequestRecord> {
        write(&self.flows)
            .logout
            .handle(challenge, handled)
            .cloned()
    }

    async fn consume_logout_verifier(&self, verifier_digest: &str) -> Result<LogoutRequestRecord> {
        write(&self.flows).logout.consume(verifier_digest)
    }

    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Vec<ConsentRequestRecord>> {
        let flows = read(&self.flows);
        let mut found: Vec<ConsentRequestRecord> = flows
            .remembered_of(subject)
            .filter(|c| c.client_id == client_id)
            .cloned()
            .collect();
        found.sort_by_key(|c| std::cmp::Reverse(c.requested_at));
        Ok(found)
    }

    async fn consent_sessions(
        &self,
        subject: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConsentRequestRecord>> {
        let flows = read(&self.flows);
        let mut found: Vec<&ConsentRequestRecord> = flows.remembered_of(subject).collect();
        found.sort_by(|a, b| {
            b.requested_at
                .cmp(&a.requested_at)
                .then_with(|| a.challenge.cmp(&b.challenge))
        });
        Ok(found
            .into_iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64> {
        // Flows before tokens: the lock order of the module docs.
        let mut flows = write(&self.flows);
        let doomed: Vec<String> = flows
            .consent
            .by_challenge
            .values()
            .filter(|c| {
                c.subject == subject
                    && c.handled.is_some()
                    && client_id.is_none_or(|id| c.client_id == id)
            })
            .map(|c| c.challenge.clone())
            .collect();
        let mut tokens = write(&self.tokens);
        for challenge in &doomed {
            tokens.revoke_grant(challenge);
            flows.remove_consent(challenge);
        }
        Ok(doomed.len() as u64)
    }

    async fn flush_requests(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
        // Remembered, accepted consents are not in the expiry order: they are what later
        // requests skip on.
        let mut flows = write(&self.flows);
        let logins = flows.login.evict_expired(before, limit);
        let consents = flows
            .consent
            .evict_expired(before, limit.saturating_sub(logins));
        let logouts = flows
            .logout
            .evict_expired(before, limit.saturating_sub(logins + consents));
        Ok((logins + consents + logouts) as u64)
    }
}

/// Accepted with `remember`, and not itself a skipped (re-confirmed) consent.
fn is_remembered(c: &ConsentRequestRecord) -> bool {
    !c.skip && matches!(&c.handled, Some(HandledConsent::Accepted(a)) if a.remember)
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn create_login_session(&self, session: LoginSessionRecord) -> Result<()> {
        let mut sessions = write(&self.sessions);
        if sessions.login.contains_key(&session.id) {
            return Err(StoreError::Conflict);
        }
        sessions.login.insert(session.id.clone(), session);
        Ok(())
    }

    async fn login_session(&self, id: &str) -> Result<LoginSessionRecord> {
        read(&self.sessions)
            .login
            .get(id)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn delete_login_session(&self, id: &str) -> Result<()> {
        let mut sessions = write(&self.sessions);
        sessions.grants.remove(id);
        sessions
            .login
            .remove(id)
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    async fn delete_login_sessions_of(&self, subject: &str) -> Result<u64> {
        let mut sessions = write(&self.sessions);
        Ok(sessions.remove(SessionsToEnd::Subject(subject)).len() as u64)
    }

    async fn flush_login_sessions(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
        let mut sessions = write(&self.sessions);
        let doomed: Vec<String> = sessions
            .login
            .values()
            .filter(|s| s.expires_at < before)
            .take(limit)
            .map(|s| s.id.clone())
            .collect();
        for id in &doomed {
            sessions.login.remove(id);
            sessions.grants.remove(id);
        }
        Ok(doomed.len() as u64)
    }

    async fn set_forced_subject(&self, client_id: &str, subject: &str, forced: &str) -> Result<()> {
        write(&self.sessions).forced_subjects.insert(
            (client_id.to_owned(), subject.to_owned()),
            forced.to_owned(),
        );
        Ok(())
    }

    async fn forced_subject(&self, client_id: &str, subject: &str) -> Result<Option<String>> {
        Ok(read(&self.sessions)
            .forced_subjects
            .get(&(client_id.to_owned(), subject.to_owned()))
            .cloned())
    }
}

impl Sessions {
    /// Removes the sessions `which` names, returning each with its clients.
    fn remove(&mut self, which: SessionsToEnd<'_>) -> Vec<EndedSession> {
        let ids: Vec<String> = match which {
            SessionsToEnd::Id(id) => vec![id.to_owned()],
            SessionsToEnd::Subject(subject) => self
                .login
                .values()
                .filter(|s| s.subject == subject)
                .map(|s| s.id.clone())
                .collect(),
        };
        ids.iter()
            .filter_map(|id| {
                let grants = self.grants.remove(id).unwrap_or_default();
                let clients: BTreeSet<String> = grants.values().cloned().collect();
                Some(EndedSession {
                    session: self.login.remove(id)?,
                    client_ids: clients.into_iter().collect(),
                    grant_ids: grants.into_keys().collect(),
                })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl LogoutStore for MemoryStore {
    async fn add_session_grant(
        &self,
        session_id: &str,
        client_id: &str,
        grant_id: &str,
    ) -> Result<()> {
        let mut sessions = write(&self.sessions);
        if sessions.login.contains_key(session_id) {
            sessions
                .grants
                .entry(session_id.to_owned())
                .or_default()
                .insert(grant_id.to_owned(), client_id.to_owned());
        }
        Ok(())
    }

    async fn end_login_sessions(
        &self,
        which: SessionsToEnd<'_>,
        now: OffsetDateTime,
        revoke: TokensAtLogout,
    ) -> Result<Vec<EndedSession>> {
        // Sessions, tokens, then deliveries: the lock order of the module docs.
        let mut sessions = write(&self.sessions);
        let mut tokens = write(&self.tokens);
        let mut deliveries = write(&self.deliveries);
        let ended = sessions.remove(which);
        if revoke == TokensAtLogout::RevokeGrants {
            for grant_id in ended.iter().flat_map(|end| &end.grant_ids) {
                tokens.revoke_grant(grant_id);
            }
        }
        for end in &ended {
            for client_id in &end.client_ids {
                let key = (end.session.id.clone(), client_id.clone());
                deliveries
                    .entry(key)
                    .or_insert_with(|| LogoutDelivery::new(&end.session, client_id, now));
            }
        }
        Ok(ended)
    }

    async fn claim_logout_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<LogoutDelivery>> {
        let mut deliveries = write(&self.deliveries);
        let mut due: Vec<&mut LogoutDelivery> = deliveries
            .values_mut()
            .filter(|d| d.status == DeliveryStatus::Pending && d.next_attempt_at <= now)
            .collect();
        due.sort_by_key(|d| d.next_attempt_at);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|d| {
                d.next_attempt_at = lease_until;
                d.clone()
            })
            .collect())
    }

    async fn delete_logout_delivery(&self, session_id: &str, client_id: &str) -> Result<()> {
        write(&self.deliveries)
            .remove(&(session_id.to_owned(), client_id.to_owned()))
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    async fn update_logout_delivery(&self, delivery: LogoutDelivery) -> Result<()> {
        let mut deliveries = write(&self.deliveries);
        let key = (delivery.session_id.clone(), delivery.client_id.clone());
        let slot = deliveries.get_mut(&key).ok_or(StoreError::NotFound)?;
        *slot = delivery;
        Ok(())
    }

    async fn logout_deliveries(&self, limit: usize, offset: usize) -> Result<Vec<LogoutDelivery>> {
        let deliveries = read(&self.deliveries);
        let mut all: Vec<&LogoutDelivery> = deliveries.values().collect();
        all.sort_by(|a, b| {
            (a.created_at, &a.session_id, &a.client_id).cmp(&(
                b.created_at,
                &b.session_id,
                &b.client_id,
            ))
        });
        Ok(all.into_iter().skip(offset).take(limit).cloned().collect())
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryStore {
    async fn insert_code(&self, code: CodeRecord) -> Result<()> {
        write(&self.tokens).insert_code(code)
    }

    async fn code(&self, signature: &str) -> Result<CodeRecord> {
        read(&self.tokens).code(signature)
    }

    async fn redeem_code(&self, signature: &str, issued: IssuedTokens) -> Result<()> {
        write(&self.tokens).redeem_code(signature, issued)
    }

    async fn insert_tokens(&self, issued: IssuedTokens) -> Result<()> {
        write(&self.tokens).insert(issued);
        Ok(())
    }

    async fn access_token(&self, signature: &str) -> Result<TokenRecord> {
        read(&self.tokens).token(TokenKind::AccessToken, signature)
    }

    async fn refresh_token(&self, signature: &str) -> Result<TokenRecord> {
        read(&self.tokens).token(TokenKind::RefreshToken, signature)
    }

    async fn rotate_refresh_token(&self, signature: &str, issued: IssuedTokens) -> Result<()> {
        write(&self.tokens).rotate_refresh_token(signature, issued)
    }

    async fn revoke_grant(&self, grant_id: &str) -> Result<u64> {
        Ok(write(&self.tokens).revoke_grant(grant_id))
    }

    async fn revoke_client_tokens(&self, client_id: &str) -> Result<u64> {
        Ok(write(&self.tokens).revoke_client(client_id))
    }

    async fn flush_tokens(&self, not_after: OffsetDateTime, limit: usize) -> Result<u64> {
        Ok(write(&self.tokens).flush(not_after, limit))
    }
}

#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[cfg(all(test, feature = "testing"))]
mod open_requests {
    use time::Duration;

    use super::*;
    use crate::testing::conformance::{accepted_consent, consent_request, now};

    fn open(store: &MemoryStore) -> usize {
        read(&store.flows).consent.by_challenge.len()
    }

    async fn insert(store: &MemoryStore, at: OffsetDateTime, lifespan: Duration) -> String {
        let record = consent_request("alice", "app", at, at + lifespan);
        let challenge = record.challenge.clone();
        store.create_consent_request(record).await.unwrap();
        challenge
    }

    #[tokio::test]
    async fn each_insert_evicts_expired_requests_and_remembered_consents_stay() {
        // Issue 10, item 1: a flood of requests nobody finishes is gone once it expired,
        // without a flush call, as ordinary traffic goes on.
        let store = MemoryStore::new();
        let t0 = now();
        let mut flood = Vec::new();
        for _ in 0..1000 {
            flood.push(insert(&store, t0, Duration::minutes(30)).await);
        }
        store
            .handle_consent_request(&flood[0], accepted_consent(true))
            .await
            .unwrap();
        let full = read(&store.flows).consent.by_challenge.capacity();
        let later = t0 + Duration::minutes(31);
        for _ in 0..(1000 / EVICT_PER_INSERT + 1) {
            insert(&store, later, Duration::minutes(30)).await;
        }
        assert_eq!(open(&store), 1000 / EVICT_PER_INSERT + 1 + 1);
        let remembered = store.remembered_consents("alice", "app").await.unwrap();
        assert_eq!(remembered.len(), 1, "a remembered consent is never evicted");
        assert_eq!(remembered[0].challenge, flood[0]);
        assert!(store.consent_request(&flood[1]).await.is_err());
        let now_capacity = read(&store.flows).consent.by_challenge.capacity();
        assert!(now_capacity <= full / 4, "{full} → {now_capacity}");
    }

    #[tokio::test]
    async fn at_most_max_open_requests_are_held_and_the_first_to_expire_goes_first() {
        let store = MemoryStore::new().max_open_requests(10);
        let t0 = now();
        let first = insert(&store, t0, Duration::minutes(1)).await;
        let mut rest = Vec::new();
        for i in 0..24 {
            rest.push(insert(&store, t0, Duration::minutes(2 + i)).await);
        }
        assert_eq!(open(&store), 10);
        assert!(store.consent_request(&first).await.is_err());
        assert!(store.consent_request(&rest[13]).await.is_err());
        assert!(store.consent_request(&rest[14]).await.is_ok());
        // Remembered consents are not open requests: they neither count nor go.
        store
            .handle_consent_request(&rest[23], accepted_consent(true))
            .await
            .unwrap();
        for _ in 0..10 {
            insert(&store, t0, Duration::hours(1)).await;
        }
        assert!(store.consent_request(&rest[23]).await.is_ok());
        assert_eq!(open(&store), 11);
    }

    #[tokio::test]
    async fn flush_removes_expired_requests_in_expiry_order() {
        let store = MemoryStore::new();
        let t0 = now();
        for i in 0..20 {
            insert(&store, t0, Duration::seconds(i)).await;
        }
        let flushed = store
            .flush_requests(t0 + Duration::seconds(10), 100)
            .await
            .unwrap();
        assert_eq!(flushed, 10);
        assert_eq!(open(&store), 10);
        let flushed = store
            .flush_requests(t0 + Duration::hours(1), 3)
            .await
            .unwrap();
        assert_eq!(flushed, 3, "the limit holds");
    }
}
