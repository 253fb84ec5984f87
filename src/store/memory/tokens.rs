//! The token tables of [`MemoryStore`](super::MemoryStore): codes, access and refresh tokens
//! by digest, and what each grant holds, kept compact because a busy provider holds millions.
//!
//! A token is not kept as its [`TokenRecord`]: the signature is the table's 32-byte key (not
//! 64 hex characters, twice), the grant id is one allocation that the grant index shares, the
//! client id is shared by every token of the client (and is the subject of a client
//! credentials grant), and the rarely-set parts of a grant (resources, extra claims, `auth_time`,
//! `acr`, the session) sit behind one pointer that is null when they are all empty. Reads build the
//! record again.

use std::collections::HashSet;
use std::collections::hash_map::Entry;
use std::collections::hash_map::RandomState;
use std::sync::Arc;

use time::OffsetDateTime;

use super::sharded::{Key, Sharded};
use crate::error::StoreError;
use crate::store::{
    CodeRecord, GrantData, IssuedTokens, JsonObject, TokenKind, TokenRecord, TokenStatus,
};

type Result<T> = std::result::Result<T, StoreError>;

/// The code and token tables, the grant index, and the shared client ids and subjects.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    codes: Sharded<Key, CodeRecord>,
    access: TokenTable,
    refresh: TokenTable,
    /// grant id → every code and token of the grant.
    by_grant: Sharded<Arc<str>, Vec<Member>, RandomState>,
    /// Client ids and subjects, each kept once while a token holds it.
    names: Sharded<Arc<str>, (), RandomState>,
}

/// Boxed, so a table's slots are 40 bytes: growing moves little, and the empty slots a
/// hash table keeps cost little.
type TokenTable = Sharded<Key, Box<Token>>;

/// A code or token of a grant, as the grant index names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Code(Key),
    Token(TokenKind, Key),
}

/// An access or refresh token; its signature is its key.
#[derive(Debug)]
struct Token {
    grant: Grant,
    issued_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
    status: TokenStatus,
}

/// [`GrantData`] as a token keeps it.
#[derive(Debug)]
struct Grant {
    /// The key of the grant index.
    id: Arc<str>,
    client_id: Arc<str>,
    subject: Arc<str>,
    subject_identifier: Arc<str>,
    granted_scope: Box<[String]>,
    requested_at: OffsetDateTime,
    /// `None` when every field of it is empty (always for client credentials).
    rest: Option<Box<GrantRest>>,
}

/// The parts of a grant that user-facing flows set.
#[derive(Debug, Default, PartialEq)]
struct GrantRest {
    granted_audience: Vec<String>,
    access_token_extra: JsonObject,
    id_token_extra: JsonObject,
    auth_time: Option<OffsetDateTime>,
    acr: String,
    session_id: Option<String>,
}

impl Token {
    fn record(&self, kind: TokenKind, signature: &str) -> TokenRecord {
        let g = &self.grant;
        let rest = g.rest.as_deref();
        TokenRecord {
            signature: signature.to_owned(),
            kind,
            grant: GrantData {
                grant_id: g.id.to_string(),
                client_id: g.client_id.to_string(),
                subject: g.subject.to_string(),
                subject_identifier: g.subject_identifier.to_string(),
                granted_scope: g.granted_scope.to_vec(),
                granted_audience: rest.map(|r| r.granted_audience.clone()).unwrap_or_default(),
                access_token_extra: rest
                    .map(|r| r.access_token_extra.clone())
                    .unwrap_or_default(),
                id_token_extra: rest.map(|r| r.id_token_extra.clone()).unwrap_or_default(),
                auth_time: rest.and_then(|r| r.auth_time),
                acr: rest.map(|r| r.acr.clone()).unwrap_or_default(),
                session_id: rest.and_then(|r| r.session_id.clone()),
                requested_at: g.requested_at,
            },
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            status: self.status,
        }
    }
}

impl Tokens {
    /// The grant index's id for `grant_id`, shared when the grant is known.
    fn grant_id(&self, grant_id: &str) -> Arc<str> {
        match self.by_grant.get_key_value(grant_id) {
            Some((id, _)) => id.clone(),
            None => Arc::from(grant_id),
        }
    }

    /// `name`, shared with every token that holds it already.
    fn name(&mut self, name: String) -> Arc<str> {
        if let Some((shared, ())) = self.names.get_key_value(name.as_str()) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        self.names.insert(shared.clone(), ());
        shared
    }

    /// `name` again if it equals `shared`, else the shared copy of it.
    fn name_like(&mut self, name: String, shared: &Arc<str>) -> Arc<str> {
        if *name == **shared {
            shared.clone()
        } else {
            self.name(name)
        }
    }

    /// Drops the names of a removed token's grant, forgetting those nothing else holds.
    fn release(&mut self, grant: Grant) {
        let Grant {
            client_id,
            subject,
            subject_identifier,
            ..
        } = grant;
        // Each is checked before it is dropped: two counts left are the set's and its own.
        for name in [client_id, subject, subject_identifier] {
            if Arc::strong_count(&name) == 2 {
                self.names.remove(&*name);
            }
        }
    }

    fn compact(&mut self, g: GrantData, id: Arc<str>) -> Grant {
        let client_id = self.name(g.client_id);
        let subject = self.name_like(g.subject, &client_id);
        let subject_identifier = self.name_like(g.subject_identifier, &subject);
        let rest = GrantRest {
            granted_audience: g.granted_audience,
            access_token_extra: g.access_token_extra,
            id_token_extra: g.id_token_extra,
            auth_time: g.auth_time,
            acr: g.acr,
            session_id: g.session_id,
        };
        Grant {
            id,
            client_id,
            subject,
            subject_identifier,
            granted_scope: g.granted_scope.into_boxed_slice(),
            requested_at: g.requested_at,
            rest: (rest != GrantRest::default()).then(|| Box::new(rest)),
        }
    }

    /// Adds a member to its grant's index entry; returns the entry's shared id. One lookup:
    /// most grants are new (client credentials), so the id is allocated up front.
    fn index(&mut self, grant_id: &str, member: Member) -> Arc<str> {
        let (id, members) = match self.by_grant.entry(Arc::from(grant_id)) {
            Entry::Occupied(entry) => (entry.key().clone(), entry.into_mut()),
            Entry::Vacant(entry) => {
                let id = entry.key().clone();
                (id, entry.insert(Vec::new()))
            }
        };
        // Most grants hold one or two members: room for exactly one more.
        members.reserve_exact(1);
        members.push(member);
        id
    }

    fn table(&self, kind: TokenKind) -> &TokenTable {
        match kind {
            TokenKind::AccessToken => &self.access,
            TokenKind::RefreshToken => &self.refresh,
        }
    }

    fn table_mut(&mut self, kind: TokenKind) -> &mut TokenTable {
        match kind {
            TokenKind::AccessToken => &mut self.access,
            TokenKind::RefreshToken => &mut self.refresh,
        }
    }

    pub(super) fn insert_code(&mut self, code: CodeRecord) -> Result<()> {
        let key = Key::of(&code.signature);
        if self.codes.contains_key(&key) {
            return Err(StoreError::Conflict);
        }
        self.index(&code.grant.grant_id, Member::Code(key));
        self.codes.insert(key, code);
        Ok(())
    }

    pub(super) fn code(&self, signature: &str) -> Result<CodeRecord> {
        self.codes
            .get(&Key::of(signature))
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    pub(super) fn redeem_code(&mut self, signature: &str, issued: IssuedTokens) -> Result<()> {
        let code = self
            .codes
            .get_mut(&Key::of(signature))
            .ok_or(StoreError::NotFound)?;
        if code.used {
            return Err(StoreError::AlreadyUsed);
        }
        code.used = true;
        self.insert(issued);
        Ok(())
    }

    pub(super) fn insert(&mut self, issued: IssuedTokens) {
        for record in std::iter::once(issued.access).chain(issued.refresh) {
            let key = Key::of(&record.signature);
            let id = self.index(&record.grant.grant_id, Member::Token(record.kind, key));
            let token = Token {
                grant: self.compact(record.grant, id),
                issued_at: record.issued_at,
                expires_at: record.expires_at,
                status: record.status,
            };
            if let Some(replaced) = self.table_mut(record.kind).insert(key, Box::new(token)) {
                self.release(replaced.grant);
            }
        }
    }

    pub(super) fn token(&self, kind: TokenKind, signature: &str) -> Result<TokenRecord> {
        self.table(kind)
            .get(&Key::of(signature))
            .map(|token| token.record(kind, signature))
            .ok_or(StoreError::NotFound)
    }

    pub(super) fn rotate_refresh_token(
        &mut self,
        signature: &str,
        issued: IssuedTokens,
    ) -> Result<()> {
        let old = self
            .refresh
            .get_mut(&Key::of(signature))
            .ok_or(StoreError::NotFound)?;
        match old.status {
            TokenStatus::Active => {}
            TokenStatus::Rotated => return Err(StoreError::AlreadyUsed),
            TokenStatus::Revoked => return Err(StoreError::NotFound),
        }
        old.status = TokenStatus::Rotated;
        let grant_id = old.grant.id.clone();
        self.revoke_grant(&grant_id);
        self.insert(issued);
        Ok(())
    }

    /// Revokes every active token and unused code of the grant; rotated refresh tokens stay
    /// rotated (they are unusable either way, and reuse stays detectable).
    pub(super) fn revoke_grant(&mut self, grant_id: &str) -> u64 {
        let Some(members) = self.by_grant.get(grant_id) else {
            return 0;
        };
        let mut changed = 0;
        for member in members {
            match *member {
                Member::Code(key) => {
                    if let Some(code) = self.codes.get_mut(&key) {
                        if !code.used {
                            code.used = true;
                            changed += 1;
                        }
                    }
                }
                Member::Token(kind, key) => {
                    let table = match kind {
                        TokenKind::AccessToken => &mut self.access,
                        TokenKind::RefreshToken => &mut self.refresh,
                    };
                    if let Some(token) = table.get_mut(&key) {
                        if token.status == TokenStatus::Active {
                            token.status = TokenStatus::Revoked;
                            changed += 1;
                        }
                    }
                }
            }
        }
        changed
    }

    /// Revokes every active token and unused code of every grant of the client.
    pub(super) fn revoke_client(&mut self, client_id: &str) -> u64 {
        let mut grants: HashSet<Arc<str>> = self
            .access
            .values()
            .chain(self.refresh.values())
            .filter(|t| &*t.grant.client_id == client_id)
            .map(|t| t.grant.id.clone())
            .collect();
        grants.extend(
            self.codes
                .values()
                .filter(|c| c.grant.client_id == client_id)
                .map(|c| self.grant_id(&c.grant.grant_id)),
        );
        grants.iter().map(|g| self.revoke_grant(g)).sum()
    }

    /// Deletes access tokens, refresh tokens and codes that expired before `not_after`; at
    /// most `limit`.
    pub(super) fn flush(&mut self, not_after: OffsetDateTime, limit: usize) -> u64 {
        let expired = |exp: Option<OffsetDateTime>| exp.is_some_and(|e| e < not_after);
        let mut doomed: Vec<(Member, Arc<str>)> = Vec::new();
        for kind in [TokenKind::AccessToken, TokenKind::RefreshToken] {
            doomed.extend(
                self.table(kind)
                    .iter()
                    .filter(|(_, t)| expired(t.expires_at))
                    .take(limit.saturating_sub(doomed.len()))
                    .map(|(key, t)| (Member::Token(kind, *key), t.grant.id.clone())),
            );
        }
        let codes: Vec<(Member, String)> = self
            .codes
            .iter()
            .filter(|(_, c)| c.expires_at < not_after)
            .take(limit.saturating_sub(doomed.len()))
            .map(|(key, c)| (Member::Code(*key), c.grant.grant_id.clone()))
            .collect();
        doomed.extend(codes.into_iter().map(|(m, id)| (m, self.grant_id(&id))));
        for (member, grant_id) in &doomed {
            match *member {
                Member::Code(key) => {
                    self.codes.remove(&key);
                }
                Member::Token(kind, key) => {
                    if let Some(token) = self.table_mut(kind).remove(&key) {
                        self.release(token.grant);
                    }
                }
            }
            self.forget(grant_id, *member);
        }
        self.access.shrink_if_sparse();
        self.refresh.shrink_if_sparse();
        self.codes.shrink_if_sparse();
        self.by_grant.shrink_if_sparse();
        self.names.shrink_if_sparse();
        doomed.len() as u64
    }

    /// Takes a deleted member out of its grant's index entry, and the entry once empty.
    fn forget(&mut self, grant_id: &str, member: Member) {
        if let Some(members) = self.by_grant.get_mut(grant_id) {
            members.retain(|m| *m != member);
            if members.is_empty() {
                self.by_grant.remove(grant_id);
            } else {
                members.shrink_to_fit();
            }
        }
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
            tokens.insert(access_token(format!("sig-{i}"), expires_at));
        }
        let full = tokens.access.capacity();
        let mut flushed = 0;
        loop {
            let n = tokens.flush(now + Duration::seconds(1), 1000);
            flushed += n;
            if n < 1000 {
                break;
            }
        }
        assert_eq!(flushed, 19_900);
        assert_eq!(tokens.access.len(), 100);
        assert_eq!(tokens.by_grant.len(), 100);
        assert!(
            tokens.access.capacity() <= full / 8,
            "{full} → {}",
            tokens.access.capacity()
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
    fn client_ids_and_subjects_are_held_once_and_let_go_with_their_last_token() {
        let now = OffsetDateTime::now_utc();
        let mut tokens = Tokens::default();
        for i in 0..3 {
            tokens.insert(access_token(format!("sig-{i}"), now));
        }
        let mut alice = access_token("sig-alice".into(), now + Duration::hours(1));
        alice.access.grant.subject = "alice".into();
        alice.access.grant.subject_identifier = "alice".into();
        tokens.insert(alice);
        let shared = |sig: &str| {
            let token = tokens.access.get(&Key::of(sig)).unwrap();
            (
                token.grant.client_id.clone(),
                token.grant.subject.clone(),
                token.grant.subject_identifier.clone(),
            )
        };
        let (client, subject, identifier) = shared("sig-0");
        assert!(Arc::ptr_eq(&client, &shared("sig-2").0));
        assert!(Arc::ptr_eq(&client, &subject) && Arc::ptr_eq(&subject, &identifier));
        let (_, alice, alice_identifier) = shared("sig-alice");
        assert!(Arc::ptr_eq(&alice, &alice_identifier));
        drop((client, subject, identifier, alice, alice_identifier));
        assert_eq!(tokens.names.len(), 2);

        assert_eq!(tokens.flush(now + Duration::seconds(1), 100), 3);
        assert_eq!(tokens.names.len(), 2, "alice's token still holds c");
        assert_eq!(tokens.flush(now + Duration::hours(2), 100), 1);
        assert_eq!(tokens.names.len(), 0);
        assert_eq!(tokens.by_grant.len(), 0);
    }
}
