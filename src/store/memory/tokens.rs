//! The token tables of [`MemoryStore`](super::MemoryStore): codes, access and refresh tokens
//! by digest, and what each grant holds, kept compact because a busy provider holds millions.
//!
//! A token is not kept as its [`TokenRecord`] but as one [`Token`] allocation that two tables
//! point to: one finds it by its key (the signature's 32 bytes, not 64 hex characters), the
//! other by its grant, so revoking a grant needs no list per grant. What many tokens share —
//! the client, the subject and the granted scope, identical for every `client_credentials`
//! token a client gets for the same scope — is one shared [`Grantee`]. The grant id is kept as
//! the 16 bytes it spells, and the rarely-set parts of a grant (resources, extra claims,
//! `auth_time`, `acr`, the session, a request time before the token's) sit behind one pointer
//! that is null when they are all empty. Reads build the record again.
//!
//! A grant named after one of its tokens — its key is the first 16 bytes of the token's
//! (a `client_credentials` grant is named so: see `grant::client_credentials`) — has that
//! token in the token table only: the grant's hash is the token's, so the grant's probe of
//! the token table finds it. That spares the insert into a second table of millions of
//! entries, a cache miss, which was ~4 % of a `client_credentials` request.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use time::OffsetDateTime;

use super::sharded::{Key, ShardedTable, uniform_hash};
use crate::error::StoreError;
use crate::store::{
    CodeRecord, GrantData, IssuedTokens, JsonObject, TokenKind, TokenRecord, TokenStatus,
};

type Result<T> = std::result::Result<T, StoreError>;

/// The code and token tables, their grant indexes, and the grantees tokens share.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    codes: ShardedTable<Code>,
    /// The key of every code, by its grant's hash.
    codes_by_grant: ShardedTable<(GrantKey, Key)>,
    /// Access and refresh tokens, by their key's hash.
    tokens: ShardedTable<Arc<Token>>,
    /// The same tokens by their grant's hash (a grant's tokens share one hash), but for those
    /// the grant is named after ([`Token::names_its_grant`]) and those a revocation of their
    /// grant (or a rotation, which revokes it) left inactive: nothing can change them any
    /// more, and a refresh token rotated many times would otherwise pile its grant's old
    /// tokens up under one hash, for every later insert to probe past and every growth of the
    /// table to rehash in time quadratic in their number.
    by_grant: ShardedTable<Arc<Token>>,
    /// Each grantee once, while a token holds it.
    grantees: ShardedTable<Arc<Grantee>>,
    /// Hashes grantees, whose names and scopes callers choose: keyed, against flooding.
    hasher: RandomState,
}

#[derive(Debug)]
struct Code {
    key: Key,
    grant: GrantKey,
    record: CodeRecord,
}

/// An access or refresh token.
#[derive(Debug)]
struct Token {
    key: Key,
    grant: GrantKey,
    grantee: Arc<Grantee>,
    issued_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    /// `None` when every field of it is empty (always for client credentials).
    rest: Option<Box<GrantRest>>,
    kind: TokenKind,
    status: Status,
}

/// Who a token speaks for and what it grants: the part of a grant that many tokens share.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Grantee {
    client_id: String,
    subject: String,
    subject_identifier: String,
    granted_scope: Box<[String]>,
}

/// The parts of a grant that user-facing flows set.
#[derive(Debug, Default, PartialEq)]
struct GrantRest {
    /// The grant id when it is not the hex of 16 bytes (a host's own ids).
    grant_id: Option<String>,
    /// When it differs from the token's `issued_at` (a code exchange, a refresh).
    requested_at: Option<OffsetDateTime>,
    granted_audience: Vec<String>,
    access_token_extra: JsonObject,
    id_token_extra: JsonObject,
    auth_time: Option<OffsetDateTime>,
    acr: String,
    session_id: Option<String>,
}

/// A grant id as codes and tokens are found by it: the 16 bytes its hex spells (every grant id
/// the crate makes is 32 lowercase hex digits), or the first 16 bytes of the SHA-256 of any
/// other id. Either way uniform, so 8 of its bytes are its hash, as with [`Key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GrantKey([u8; 16]);

impl GrantKey {
    /// The key of `grant_id`, and whether the key spells it (else the id must be kept).
    fn of(grant_id: &str) -> (Self, bool) {
        match crate::crypto::unhex_lower(grant_id) {
            Some(bytes) => (Self(bytes), true),
            None => {
                let digest = crate::crypto::sha256(grant_id.as_bytes());
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                (Self(bytes), false)
            }
        }
    }

    fn hash(&self) -> u64 {
        uniform_hash(&self.0)
    }
}

/// A token's status, changed through the handle both tables share. Only ever written under
/// the store's write lock, so no ordering is needed.
#[derive(Debug)]
struct Status(AtomicU8);

impl Status {
    fn new(status: TokenStatus) -> Self {
        Self(AtomicU8::new(status as u8))
    }

    fn get(&self) -> TokenStatus {
        match self.0.load(Ordering::Relaxed) {
            s if s == TokenStatus::Active as u8 => TokenStatus::Active,
            s if s == TokenStatus::Rotated as u8 => TokenStatus::Rotated,
            _ => TokenStatus::Revoked,
        }
    }

    fn set(&self, status: TokenStatus) {
        self.0.store(status as u8, Ordering::Relaxed);
    }

    /// Revokes an active token; true if it was active.
    fn revoke(&self) -> bool {
        let active = self.get() == TokenStatus::Active;
        if active {
            self.set(TokenStatus::Revoked);
        }
        active
    }
}

impl Token {
    fn is(&self, kind: TokenKind, key: &Key) -> bool {
        self.kind == kind && self.key == *key
    }

    /// Whether its grant's key is the first 16 bytes of its own, so that the grant's hash is
    /// its key's and the token table alone finds it by its grant.
    fn names_its_grant(&self) -> bool {
        self.key.starts_with(&self.grant.0)
    }

    /// Whether the token belongs to `grant_id`, whose key is `grant` (`spelled` as by
    /// [`GrantKey::of`]).
    fn of_grant(&self, grant: GrantKey, spelled: bool, grant_id: &str) -> bool {
        let own = self.rest.as_deref().and_then(|r| r.grant_id.as_deref());
        self.grant == grant
            && match own {
                Some(own) => own == grant_id,
                None => spelled,
            }
    }

    fn grant_id(&self) -> String {
        match self.rest.as_deref().and_then(|r| r.grant_id.clone()) {
            Some(own) => own,
            None => crate::crypto::hex(&self.grant.0),
        }
    }

    fn record(&self, signature: &str) -> TokenRecord {
        let g = &*self.grantee;
        let rest = self.rest.as_deref();
        TokenRecord {
            signature: signature.to_owned(),
            kind: self.kind,
            grant: GrantData {
                grant_id: self.grant_id(),
                client_id: g.client_id.clone(),
                subject: g.subject.clone(),
                subject_identifier: g.subject_identifier.clone(),
                granted_scope: g.granted_scope.to_vec(),
                granted_audience: rest.map(|r| r.granted_audience.clone()).unwrap_or_default(),
                access_token_extra: rest
                    .map(|r| r.access_token_extra.clone())
                    .unwrap_or_default(),
                id_token_extra: rest.map(|r| r.id_token_extra.clone()).unwrap_or_default(),
                auth_time: rest.and_then(|r| r.auth_time),
                acr: rest.map(|r| r.acr.clone()).unwrap_or_default(),
                session_id: rest.and_then(|r| r.session_id.clone()),
                requested_at: rest.and_then(|r| r.requested_at).unwrap_or(self.issued_at),
            },
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            status: self.status.get(),
        }
    }
}

impl Tokens {
    /// `grantee`, shared with every token that holds an equal one already.
    fn share(&mut self, grantee: Grantee) -> Arc<Grantee> {
        let hash = self.hasher.hash_one(&grantee);
        if let Some(shared) = self.grantees.find(hash, |g| **g == grantee) {
            return shared.clone();
        }
        let shared = Arc::new(grantee);
        let hasher = &self.hasher;
        self.grantees
            .insert(hash, shared.clone(), |g| hasher.hash_one(&**g));
        shared
    }

    /// Forgets a token that both tables let go of, and its grantee if no other token holds
    /// it: two holders left are the set's and this token's.
    fn release(&mut self, token: &Token) {
        if Arc::strong_count(&token.grantee) == 2 {
            let hash = self.hasher.hash_one(&*token.grantee);
            self.grantees
                .remove(hash, |g| Arc::ptr_eq(g, &token.grantee));
        }
    }

    fn compact(&mut self, record: TokenRecord) -> Token {
        let g = record.grant;
        let (grant, spelled) = GrantKey::of(&g.grant_id);
        let rest = GrantRest {
            grant_id: (!spelled).then_some(g.grant_id),
            requested_at: (g.requested_at != record.issued_at).then_some(g.requested_at),
            granted_audience: g.granted_audience,
            access_token_extra: g.access_token_extra,
            id_token_extra: g.id_token_extra,
            auth_time: g.auth_time,
            acr: g.acr,
            session_id: g.session_id,
        };
        let grantee = self.share(Grantee {
            client_id: g.client_id,
            subject: g.subject,
            subject_identifier: g.subject_identifier,
            granted_scope: g.granted_scope.into_boxed_slice(),
        });
        Token {
            key: Key::of(&record.signature),
            grant,
            grantee,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            rest: (rest != GrantRest::default()).then(|| Box::new(rest)),
            kind: record.kind,
            status: Status::new(record.status),
        }
    }

    fn find(&self, kind: TokenKind, signature: &str) -> Option<&Arc<Token>> {
        let key = Key::of(signature);
        self.tokens.find(key.hash(), |t| t.is(kind, &key))
    }

    /// Takes a token out of the grant index (the caller took it out of `tokens`) and releases
    /// it.
    fn unlink(&mut self, token: &Arc<Token>) {
        if !token.names_its_grant() {
            self.by_grant
                .remove(token.grant.hash(), |t| Arc::ptr_eq(t, token));
        }
        self.release(token);
    }

    pub(super) fn insert_code(&mut self, code: CodeRecord) -> Result<()> {
        let key = Key::of(&code.signature);
        if self.codes.find(key.hash(), |c| c.key == key).is_some() {
            return Err(StoreError::Conflict);
        }
        let (grant, _) = GrantKey::of(&code.grant.grant_id);
        self.codes_by_grant
            .insert(grant.hash(), (grant, key), |(g, _)| g.hash());
        let code = Code {
            key,
            grant,
            record: code,
        };
        self.codes.insert(key.hash(), code, |c| c.key.hash());
        Ok(())
    }

    pub(super) fn code(&self, signature: &str) -> Result<CodeRecord> {
        let key = Key::of(signature);
        self.codes
            .find(key.hash(), |c| c.key == key)
            .map(|c| c.record.clone())
            .ok_or(StoreError::NotFound)
    }

    pub(super) fn redeem_code(&mut self, signature: &str, issued: IssuedTokens) -> Result<()> {
        let key = Key::of(signature);
        let code = self
            .codes
            .find_mut(key.hash(), |c| c.key == key)
            .ok_or(StoreError::NotFound)?;
        if code.record.used {
            return Err(StoreError::AlreadyUsed);
        }
        code.record.used = true;
        self.insert(issued);
        Ok(())
    }

    /// Inlined: `issued` is ~670 bytes, and a call by value copies it once more.
    #[inline]
    pub(super) fn insert(&mut self, issued: IssuedTokens) {
        let IssuedTokens { access, refresh } = issued;
        self.insert_token(access);
        if let Some(refresh) = refresh {
            self.insert_token(refresh);
        }
    }

    fn insert_token(&mut self, record: TokenRecord) {
        let token = Arc::new(self.compact(record));
        let (kind, key) = (token.kind, token.key);
        if !token.names_its_grant() {
            self.by_grant
                .insert(token.grant.hash(), token.clone(), |t| t.grant.hash());
        }
        let replaced =
            self.tokens
                .replace(key.hash(), token, |t| t.is(kind, &key), |t| t.key.hash());
        if let Some(replaced) = replaced {
            self.unlink(&replaced);
        }
    }

    pub(super) fn token(&self, kind: TokenKind, signature: &str) -> Result<TokenRecord> {
        self.find(kind, signature)
            .map(|token| token.record(signature))
            .ok_or(StoreError::NotFound)
    }

    pub(super) fn rotate_refresh_token(
        &mut self,
        signature: &str,
        issued: IssuedTokens,
    ) -> Result<()> {
        let old = self
            .find(TokenKind::RefreshToken, signature)
            .ok_or(StoreError::NotFound)?;
        match old.status.get() {
            TokenStatus::Active => {}
            TokenStatus::Rotated => return Err(StoreError::AlreadyUsed),
            TokenStatus::Revoked => return Err(StoreError::NotFound),
        }
        old.status.set(TokenStatus::Rotated);
        let grant_id = old.grant_id();
        self.revoke_grant(&grant_id);
        self.insert(issued);
        Ok(())
    }

    /// Revokes every active token and unused code of the grant; rotated refresh tokens stay
    /// rotated (they are unusable either way, and reuse stays detectable).
    pub(super) fn revoke_grant(&mut self, grant_id: &str) -> u64 {
        let (grant, spelled) = GrantKey::of(grant_id);
        let mut changed = 0;
        let named_after = self
            .tokens
            .candidates(grant.hash())
            .filter(|t| t.names_its_grant());
        for token in self.by_grant.candidates(grant.hash()).chain(named_after) {
            if token.of_grant(grant, spelled, grant_id) && token.status.revoke() {
                changed += 1;
            }
        }
        // All of the grant's tokens are inactive now (see `by_grant`).
        while self
            .by_grant
            .remove(grant.hash(), |t| t.of_grant(grant, spelled, grant_id))
            .is_some()
        {}
        for &(code_grant, key) in self.codes_by_grant.candidates(grant.hash()) {
            if code_grant != grant {
                continue;
            }
            if let Some(code) = self.codes.find_mut(key.hash(), |c| c.key == key) {
                if code.record.grant.grant_id == grant_id && !code.record.used {
                    code.record.used = true;
                    changed += 1;
                }
            }
        }
        changed
    }

    /// Revokes every active token and unused code of every grant of the client (a grant's
    /// codes and tokens all name its client).
    pub(super) fn revoke_client(&mut self, client_id: &str) -> u64 {
        let mut changed = 0;
        for token in self.tokens.iter() {
            if token.grantee.client_id == client_id && token.status.revoke() {
                changed += 1;
            }
        }
        for code in self.codes.iter_mut() {
            if code.record.grant.client_id == client_id && !code.record.used {
                code.record.used = true;
                changed += 1;
            }
        }
        changed
    }

    /// Deletes access tokens, refresh tokens and codes that expired before `not_after`; at
    /// most `limit`.
    pub(super) fn flush(&mut self, not_after: OffsetDateTime, limit: usize) -> u64 {
        let tokens = self
            .tokens
            .extract(limit, |t| t.expires_at.is_some_and(|e| e < not_after));
        let flushed_tokens = tokens.len();
        // Each token is dropped before the next is released, so that the last one holding a
        // grantee sees itself as the last.
        for token in tokens {
            self.unlink(&token);
        }
        let codes = self
            .codes
            .extract(limit - flushed_tokens, |c| c.record.expires_at < not_after);
        for code in &codes {
            self.codes_by_grant
                .remove(code.grant.hash(), |&(_, key)| key == code.key);
        }
        self.tokens.shrink_if_sparse(|t| t.key.hash());
        self.by_grant.shrink_if_sparse(|t| t.grant.hash());
        self.codes.shrink_if_sparse(|c| c.key.hash());
        self.codes_by_grant.shrink_if_sparse(|(g, _)| g.hash());
        let hasher = &self.hasher;
        self.grantees.shrink_if_sparse(|g| hasher.hash_one(&**g));
        (flushed_tokens + codes.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn access_token(signature: String, expires_at: OffsetDateTime) -> IssuedTokens {
        let access = TokenRecord {
            signature: signature.clone(),
            kind: TokenKind::AccessToken,
            grant: GrantData {
                grant_id: signature,
                client_id: "c".into(),
                subject: "c".into(),
                subject_identifier: "c".into(),
                granted_scope: Vec::new(),
                granted_audience: Vec::new(),
                access_token_extra: JsonObject::new(),
                id_token_extra: JsonObject::new(),
                auth_time: None,
                acr: String::new(),
                session_id: None,
                requested_at: expires_at,
            },
            issued_at: expires_at,
            expires_at: Some(expires_at),
            status: TokenStatus::Active,
        };
        IssuedTokens {
            access,
            refresh: None,
        }
    }

    /// An access token and a refresh token of the grant `grant_id`, both expiring at
    /// `expires_at`.
    fn access_and_refresh(
        access: &str,
        refresh: &str,
        grant_id: &str,
        expires_at: OffsetDateTime,
    ) -> IssuedTokens {
        let mut issued = access_token(crate::crypto::sha256_hex(access.as_bytes()), expires_at);
        issued.access.grant.grant_id = grant_id.to_owned();
        let mut refresh_token = issued.access.clone();
        refresh_token.kind = TokenKind::RefreshToken;
        refresh_token.signature = crate::crypto::sha256_hex(refresh.as_bytes());
        issued.refresh = Some(refresh_token);
        issued
    }

    #[test]
    fn flushing_most_tokens_gives_the_table_memory_back() {
        let mut tokens = Tokens::default();
        let now = OffsetDateTime::now_utc();
        for i in 0..20_000 {
            let expires_at = if i < 100 {
                now + Duration::hours(1)
            } else {
                now
            };
            // Even grants are named after their token; odd ones are in the grant index.
            let mut issued = access_token(format!("sig-{i}"), expires_at);
            if i % 2 == 1 {
                issued.access.grant.grant_id = format!("grant-{i}");
            }
            tokens.insert(issued);
        }
        assert_eq!(tokens.by_grant.len(), 10_000);
        let full = tokens.tokens.capacity();
        let mut flushed = 0;
        loop {
            let n = tokens.flush(now + Duration::seconds(1), 1000);
            flushed += n;
            if n < 1000 {
                break;
            }
        }
        assert_eq!(flushed, 19_900);
        assert_eq!(tokens.tokens.len(), 100);
        assert_eq!(tokens.by_grant.len(), 50);
        assert!(
            tokens.tokens.capacity() <= full / 8,
            "{full} → {}",
            tokens.tokens.capacity()
        );
        let kept = tokens.token(TokenKind::AccessToken, "sig-42").unwrap();
        assert_eq!(kept.expires_at, Some(now + Duration::hours(1)));
        assert!(tokens.token(TokenKind::AccessToken, "sig-4242").is_err());
    }

    #[test]
    fn records_come_back_as_inserted_with_or_without_the_rarely_set_parts() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::default();
        let plain = access_token(crate::crypto::sha256_hex(b"plain"), now);
        let mut full = access_token(crate::crypto::sha256_hex(b"full"), now).access;
        full.kind = TokenKind::RefreshToken;
        full.expires_at = None;
        full.grant.subject = "alice".into();
        full.grant.subject_identifier = "pairwise-alice".into();
        full.grant.granted_scope = vec!["openid".into(), "offline".into()];
        full.grant.access_token_extra.insert("a".into(), 1.into());
        full.grant.id_token_extra.insert("b".into(), 2.into());
        full.grant.auth_time = Some(now - Duration::minutes(1));
        full.grant.acr = "mfa".into();
        full.grant.session_id = Some("sid".into());
        tokens.insert(plain.clone());
        tokens.insert(IssuedTokens {
            access: access_token(crate::crypto::sha256_hex(b"other"), now).access,
            refresh: Some(full.clone()),
        });
        let read = |kind, r: &TokenRecord| tokens.token(kind, &r.signature).unwrap();
        assert_eq!(read(TokenKind::AccessToken, &plain.access), plain.access);
        assert_eq!(read(TokenKind::RefreshToken, &full), full);
        assert!(
            tokens
                .token(TokenKind::AccessToken, &full.signature)
                .is_err()
        );
    }

    #[test]
    fn grantees_are_held_once_and_let_go_with_their_last_token() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::default();
        for i in 0..3 {
            tokens.insert(access_token(format!("sig-{i}"), now));
        }
        let mut alice = access_token("sig-alice".into(), now + Duration::hours(1));
        alice.access.grant.subject = "alice".into();
        alice.access.grant.subject_identifier = "alice".into();
        tokens.insert(alice);
        let grantee = |sig: &str| {
            let key = Key::of(sig);
            let token = tokens.tokens.find(key.hash(), |t| t.key == key).unwrap();
            token.grantee.clone()
        };
        assert!(Arc::ptr_eq(&grantee("sig-0"), &grantee("sig-2")));
        assert!(!Arc::ptr_eq(&grantee("sig-0"), &grantee("sig-alice")));
        assert_eq!(tokens.grantees.len(), 2);

        assert_eq!(tokens.flush(now + Duration::seconds(1), 100), 3);
        assert_eq!(tokens.grantees.len(), 1, "alice's token still holds hers");
        assert_eq!(tokens.flush(now + Duration::hours(2), 100), 1);
        assert_eq!(tokens.grantees.len(), 0);
        assert_eq!(tokens.by_grant.len(), 0);
    }

    #[test]
    fn revoking_a_grant_finds_its_tokens_and_codes_and_nothing_else() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::default();
        // A grant id of the crate's form and a host's own, each with two tokens and a code.
        for grant_id in [crate::crypto::random_id(), "host-grant-7".to_owned()] {
            let refresh = format!("r-{grant_id}");
            tokens.insert(access_and_refresh(&grant_id, &refresh, &grant_id, now));
            let code = CodeRecord {
                signature: format!("code-{grant_id}"),
                grant: issued_access_grant(&tokens, &grant_id),
                redirect_uri: None,
                effective_redirect_uri: "https://client.example/cb".into(),
                code_challenge: None,
                nonce: None,
                issued_at: now,
                expires_at: now,
                used: false,
            };
            tokens.insert_code(code).unwrap();
            let unrelated = access_token(crate::crypto::sha256_hex(b"unrelated"), now);
            tokens.insert(unrelated);

            assert_eq!(tokens.revoke_grant(&grant_id), 3, "{grant_id}");
            assert_eq!(tokens.revoke_grant(&grant_id), 0, "{grant_id}");
            let access = crate::crypto::sha256_hex(grant_id.as_bytes());
            let read = tokens.token(TokenKind::AccessToken, &access).unwrap();
            assert_eq!(read.status, TokenStatus::Revoked);
            assert_eq!(read.grant.grant_id, grant_id);
            assert!(tokens.code(&format!("code-{grant_id}")).unwrap().used);
            let other = crate::crypto::sha256_hex(b"unrelated");
            let other = tokens.token(TokenKind::AccessToken, &other).unwrap();
            assert_eq!(other.status, TokenStatus::Active);
        }
        assert_eq!(tokens.revoke_grant("no-such-grant"), 0);
    }

    #[test]
    fn a_token_stored_again_replaces_the_first_everywhere() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::default();
        tokens.insert(access_token("sig".into(), now));
        let mut again = access_token("sig".into(), now);
        again.access.grant.subject = "bob".into();
        tokens.insert(again);
        assert_eq!(tokens.tokens.len(), 1);
        assert_eq!(tokens.by_grant.len(), 0, "its grant is named after it");
        assert_eq!(tokens.grantees.len(), 1, "the first grantee is let go");
        let read = tokens.token(TokenKind::AccessToken, "sig").unwrap();
        assert_eq!(read.grant.subject, "bob");
    }

    #[test]
    fn a_grant_named_after_its_token_is_found_through_the_token_table() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::default();
        let signature = crate::crypto::sha256_hex(b"access");
        // As `client_credentials` names its grants: the first half of the token's signature.
        let grant_id = signature[..32].to_owned();
        let expires_at = now + Duration::hours(1);
        tokens.insert(access_and_refresh(
            "access", "refresh", &grant_id, expires_at,
        ));
        let other = access_token(
            crate::crypto::sha256_hex(b"other"),
            now + Duration::hours(1),
        );
        tokens.insert(other);
        assert_eq!(tokens.tokens.len(), 3);
        assert_eq!(
            tokens.by_grant.len(),
            2,
            "the access token is in the token table only"
        );
        let read = tokens.token(TokenKind::AccessToken, &signature).unwrap();
        assert_eq!(read.grant.grant_id, grant_id);

        assert_eq!(tokens.revoke_grant(&grant_id), 2);
        assert_eq!(tokens.revoke_grant(&grant_id), 0);
        let read = tokens.token(TokenKind::AccessToken, &signature).unwrap();
        assert_eq!(read.status, TokenStatus::Revoked);
        let other = crate::crypto::sha256_hex(b"other");
        let other = tokens.token(TokenKind::AccessToken, &other).unwrap();
        assert_eq!(other.status, TokenStatus::Active);

        assert_eq!(tokens.flush(now + Duration::hours(2), 100), 3);
        assert_holds_nothing(&tokens);
    }

    /// A refresh token rotated again and again leaves its grant's old tokens in the token
    /// table (a rotated one presented again is reuse) but not in the grant index, which keeps
    /// the two active ones: no cluster under one hash grows with the rotations.
    #[test]
    fn rotations_do_not_pile_up_in_the_grant_index() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::default();
        let generation = |i: u32| {
            let (access, refresh) = (format!("access-{i}"), format!("refresh-{i}"));
            access_and_refresh(&access, &refresh, "the-grant", now + Duration::hours(1))
        };
        let refresh = |i: u32| crate::crypto::sha256_hex(format!("refresh-{i}").as_bytes());
        tokens.insert(generation(0));
        const ROTATIONS: u32 = 5_000;
        for i in 1..=ROTATIONS {
            tokens
                .rotate_refresh_token(&refresh(i - 1), generation(i))
                .unwrap();
            assert_eq!(tokens.by_grant.len(), 2, "rotation {i}");
        }
        assert_eq!(tokens.tokens.len(), 2 * (ROTATIONS as usize + 1));
        assert!(matches!(
            tokens.rotate_refresh_token(&refresh(0), generation(0)),
            Err(StoreError::AlreadyUsed)
        ));
        // Reuse revokes the grant: its two active tokens, found through the index.
        assert_eq!(tokens.revoke_grant("the-grant"), 2);
        assert_eq!(tokens.by_grant.len(), 0);
        let latest = tokens
            .token(TokenKind::RefreshToken, &refresh(ROTATIONS))
            .unwrap();
        assert_eq!(latest.status, TokenStatus::Revoked);
        assert_eq!(
            tokens.flush(now + Duration::hours(2), usize::MAX),
            2 * (ROTATIONS as u64 + 1)
        );
        assert_holds_nothing(&tokens);
    }

    /// No token, no grant-index entry and no grantee is left.
    fn assert_holds_nothing(tokens: &Tokens) {
        assert_eq!(tokens.tokens.len(), 0);
        assert_eq!(tokens.by_grant.len(), 0);
        assert_eq!(tokens.grantees.len(), 0);
    }

    /// The grant of the access token the test stored for `grant_id`.
    fn issued_access_grant(tokens: &Tokens, grant_id: &str) -> GrantData {
        let signature = crate::crypto::sha256_hex(grant_id.as_bytes());
        tokens
            .token(TokenKind::AccessToken, &signature)
            .unwrap()
            .grant
    }

    /// A token and its two reference counts fit one 128-byte allocation (glibc's 120-byte
    /// size class); a larger token costs 16 bytes more per live token.
    #[test]
    fn a_token_stays_within_its_allocation_size() {
        let size = std::mem::size_of::<Token>();
        assert!(size <= 104, "{size}");
    }
}

/// The compact tables against a naive model of the same operations: a list of records, each
/// read back whole after every step, and no index entry or grantee outliving its tokens.
#[cfg(test)]
mod proptests {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use time::Duration;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        /// The access token's signature, the grant's id, the refresh token's signature, the
        /// client, the expiry (hours from now), whether the refresh token never expires.
        Insert(usize, usize, Option<usize>, usize, i64, bool),
        /// The code's signature, the grant's id, the client, the expiry.
        Code(usize, usize, usize, i64),
        /// The code's signature, the access token's.
        Redeem(usize, usize),
        /// The old refresh token's signature, the new access and refresh tokens'.
        Rotate(usize, usize, usize),
        /// The grant's id (`/ 100`) and the signature it may be named after (`% 100`).
        RevokeGrant(usize),
        RevokeClient(usize),
        /// Everything that expired before now + hours.
        Flush(i64),
        /// The same, at most `limit`.
        FlushSome(i64, usize),
    }

    /// A signature: two in three as the crate writes them (lowercase hex), one a host's own.
    fn signature(i: usize) -> String {
        if i % 3 == 0 {
            format!("host-sig-{i}")
        } else {
            crate::crypto::sha256_hex(format!("t{i}").as_bytes())
        }
    }

    /// A grant id of every kind: the crate's 32 hex digits, a host's own, named after the
    /// access token (as `client_credentials` names it), the access token's whole signature.
    fn grant_id(choice: usize, access: &str) -> String {
        match choice % 7 {
            0..3 => crate::crypto::sha256_hex(format!("g{choice}").as_bytes())[..32].to_owned(),
            3..5 => format!("host-grant-{choice}"),
            5 => crate::token::grant_id_of(access),
            _ => access.to_owned(),
        }
    }

    fn grant(grant_id: String, client: usize, at: OffsetDateTime) -> GrantData {
        let client = format!("client-{}", client % 2);
        GrantData {
            grant_id,
            ..crate::testing::fixtures::grant(&client, &client, &["a"], at)
        }
    }

    fn record(
        kind: TokenKind,
        signature: String,
        grant: GrantData,
        at: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> TokenRecord {
        TokenRecord {
            signature,
            kind,
            grant,
            issued_at: at,
            expires_at,
            status: TokenStatus::Active,
        }
    }

    #[derive(Default)]
    struct Model {
        tokens: Vec<TokenRecord>,
        codes: Vec<CodeRecord>,
    }

    impl Model {
        fn insert(&mut self, issued: IssuedTokens) {
            let IssuedTokens { access, refresh } = issued;
            for r in [Some(access), refresh].into_iter().flatten() {
                self.tokens
                    .retain(|t| !(t.kind == r.kind && t.signature == r.signature));
                self.tokens.push(r);
            }
        }

        /// Revokes every active token and unused code whose grant is `of`.
        fn revoke(&mut self, of: impl Fn(&GrantData) -> bool) -> u64 {
            let mut changed = 0;
            for t in &mut self.tokens {
                if of(&t.grant) && t.status == TokenStatus::Active {
                    t.status = TokenStatus::Revoked;
                    changed += 1;
                }
            }
            for c in &mut self.codes {
                if of(&c.grant) && !c.used {
                    c.used = true;
                    changed += 1;
                }
            }
            changed
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0..12usize,
                0..14usize,
                proptest::option::of(12..20usize),
                0..2usize,
                -2..3i64,
                any::<bool>()
            )
                .prop_map(|(a, g, r, c, e, x)| Op::Insert(a, g, r, c, e, x)),
            (0..6usize, 0..14usize, 0..2usize, -2..3i64)
                .prop_map(|(s, g, c, e)| Op::Code(s, g, c, e)),
            (0..6usize, 0..12usize).prop_map(|(s, a)| Op::Redeem(s, a)),
            (12..20usize, 0..12usize, 12..20usize).prop_map(|(o, a, r)| Op::Rotate(o, a, r)),
            (0..14usize, 0..12usize).prop_map(|(g, a)| Op::RevokeGrant(g * 100 + a)),
            (0..2usize).prop_map(Op::RevokeClient),
            (-1..4i64).prop_map(Op::Flush),
            (-1..4i64, 0..4usize).prop_map(|(h, l)| Op::FlushSome(h, l)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_tables_behave_as_a_list_of_records(ops in proptest::collection::vec(op(), 1..40)) {
            let now = OffsetDateTime::UNIX_EPOCH + Duration::days(10_000);
            let in_hours = |h: i64| now + Duration::hours(h);
            let mut tokens = Tokens::default();
            let mut model = Model::default();
            for op in ops {
                match op {
                    Op::Insert(a, g, r, c, e, refresh_forever) => {
                        let access = signature(a);
                        let grant = grant(grant_id(g, &access), c, now);
                        let refresh = r.map(|r| {
                            let expires_at = (!refresh_forever).then_some(in_hours(e));
                            record(TokenKind::RefreshToken, signature(r), grant.clone(), now, expires_at)
                        });
                        let access = record(TokenKind::AccessToken, access, grant, now, Some(in_hours(e)));
                        let issued = IssuedTokens { access, refresh };
                        tokens.insert(issued.clone());
                        model.insert(issued);
                    }
                    Op::Code(s, g, c, e) => {
                        let signature = format!("code-{s}");
                        let code = CodeRecord {
                            signature: signature.clone(),
                            grant: grant(grant_id(g, &signature), c, now),
                            redirect_uri: None,
                            effective_redirect_uri: "https://app.example/cb".into(),
                            code_challenge: None,
                            nonce: None,
                            issued_at: now,
                            expires_at: in_hours(e),
                            used: false,
                        };
                        let exists = model.codes.iter().any(|c| c.signature == signature);
                        prop_assert_eq!(tokens.insert_code(code.clone()).is_err(), exists);
                        if !exists {
                            model.codes.push(code);
                        }
                    }
                    Op::Redeem(s, a) => {
                        let code_signature = format!("code-{s}");
                        let code = model.codes.iter_mut().find(|c| c.signature == code_signature);
                        let access = signature(a);
                        let grant = code.as_ref().map_or_else(|| grant(access.clone(), 0, now), |c| c.grant.clone());
                        let access = record(TokenKind::AccessToken, access, grant, now, Some(in_hours(1)));
                        let issued = IssuedTokens { access, refresh: None };
                        let expected = match code {
                            None => Err(StoreError::NotFound),
                            Some(c) if c.used => Err(StoreError::AlreadyUsed),
                            Some(c) => {
                                c.used = true;
                                Ok(())
                            }
                        };
                        let redeemed = tokens.redeem_code(&code_signature, issued.clone());
                        prop_assert_eq!(format!("{redeemed:?}"), format!("{expected:?}"));
                        if expected.is_ok() {
                            model.insert(issued);
                        }
                    }
                    Op::Rotate(o, a, r) => {
                        let old = signature(o);
                        let found = model
                            .tokens
                            .iter()
                            .position(|t| t.kind == TokenKind::RefreshToken && t.signature == old);
                        let grant = found.map_or_else(|| grant("x".into(), 0, now), |i| model.tokens[i].grant.clone());
                        let issued = IssuedTokens {
                            access: record(TokenKind::AccessToken, signature(a), grant.clone(), now, Some(in_hours(1))),
                            refresh: Some(record(TokenKind::RefreshToken, signature(r), grant.clone(), now, None)),
                        };
                        let expected = match found.map(|i| model.tokens[i].status) {
                            None | Some(TokenStatus::Revoked) => Err(StoreError::NotFound),
                            Some(TokenStatus::Rotated) => Err(StoreError::AlreadyUsed),
                            Some(TokenStatus::Active) => Ok(()),
                        };
                        let rotated = tokens.rotate_refresh_token(&old, issued.clone());
                        prop_assert_eq!(format!("{rotated:?}"), format!("{expected:?}"));
                        if let (Ok(()), Some(i)) = (expected, found) {
                            model.tokens[i].status = TokenStatus::Rotated;
                            model.revoke(|g| g.grant_id == grant.grant_id);
                            model.insert(issued);
                        }
                    }
                    Op::RevokeGrant(x) => {
                        let grant_id = grant_id(x / 100, &signature(x % 100));
                        prop_assert_eq!(tokens.revoke_grant(&grant_id), model.revoke(|g| g.grant_id == grant_id), "{}", grant_id);
                    }
                    Op::RevokeClient(c) => {
                        let client_id = format!("client-{c}");
                        prop_assert_eq!(tokens.revoke_client(&client_id), model.revoke(|g| g.client_id == client_id));
                    }
                    Op::Flush(h) => {
                        let not_after = in_hours(h);
                        let before = model.tokens.len() + model.codes.len();
                        model.tokens.retain(|t| t.expires_at.is_none_or(|e| e >= not_after));
                        model.codes.retain(|c| c.expires_at >= not_after);
                        let flushed = before - model.tokens.len() - model.codes.len();
                        prop_assert_eq!(tokens.flush(not_after, 10_000), flushed as u64);
                    }
                    Op::FlushSome(h, limit) => {
                        // Which of the expired ones go first is the store's choice: the count
                        // is the model's, and the model then drops the expired ones the store
                        // dropped (an unexpired one the store lost stays, to fail the reads).
                        let not_after = in_hours(h);
                        let expired_tokens = model.tokens.iter().filter(|t| t.expires_at.is_some_and(|e| e < not_after)).count();
                        let expired_codes = model.codes.iter().filter(|c| c.expires_at < not_after).count();
                        let from_tokens = expired_tokens.min(limit);
                        let flushed = from_tokens + expired_codes.min(limit - from_tokens);
                        prop_assert_eq!(tokens.flush(not_after, limit), flushed as u64);
                        let before = model.tokens.len() + model.codes.len();
                        model.tokens.retain(|r| {
                            tokens.token(r.kind, &r.signature).is_ok()
                                || r.expires_at.is_none_or(|e| e >= not_after)
                        });
                        model.codes.retain(|c| tokens.code(&c.signature).is_ok() || c.expires_at >= not_after);
                        prop_assert_eq!(before - model.tokens.len() - model.codes.len(), flushed);
                    }
                }
                for r in &model.tokens {
                    prop_assert_eq!(&tokens.token(r.kind, &r.signature).unwrap(), r);
                }
                for c in &model.codes {
                    prop_assert_eq!(&tokens.code(&c.signature).unwrap(), c);
                }
                prop_assert_eq!(tokens.tokens.len(), model.tokens.len());
                prop_assert_eq!(tokens.codes.len(), model.codes.len());
                prop_assert_eq!(tokens.codes_by_grant.len(), model.codes.len());
                // The grant index holds every active token but those named after, and no other
                // token than the table's.
                for t in tokens.tokens.iter().filter(|t| !t.names_its_grant()) {
                    let indexed = tokens.by_grant.candidates(t.grant.hash()).any(|i| Arc::ptr_eq(i, t));
                    prop_assert!(indexed || t.status.get() != TokenStatus::Active);
                }
                for i in tokens.by_grant.iter() {
                    let known = tokens.tokens.candidates(i.key.hash()).any(|t| Arc::ptr_eq(i, t));
                    prop_assert!(known && !i.names_its_grant());
                }
                let grantees: HashSet<_> = model.tokens.iter().map(|r| (&r.grant.client_id, &r.grant.subject)).collect();
                prop_assert_eq!(tokens.grantees.len(), grantees.len());
            }
        }
    }
}
