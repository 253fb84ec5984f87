//! Store fixtures in the provider's own formats, for tests that seed a store directly.
//!
//! A test that inserts a code or a token with a bearer string it knows, or looks a presented
//! credential up in a store, needs the provider's credential format and the digest a store
//! keys credentials by. Both are internal and may change; these helpers call the crate's own
//! code, so a test built on them keeps working when they do — never re-implement them.
//!
//! ```
//! # async fn demo() {
//! use oauth2_provider::store::{IssuedTokens, TokenKind, TokenStore};
//! use oauth2_provider::testing::fixtures;
//! use oauth2_provider::MemoryStore;
//! use time::{Duration, OffsetDateTime};
//!
//! let store = MemoryStore::new();
//! let now = OffsetDateTime::now_utc();
//! let grant = fixtures::grant("app", "alice", &["openid"], now);
//! let (token, record) =
//!     fixtures::token_record(TokenKind::AccessToken, &grant, now, Some(Duration::hours(1)));
//! store
//!     .insert_tokens(IssuedTokens { access: record, refresh: None })
//!     .await
//!     .unwrap();
//! let found = store.access_token(&fixtures::signature(&token)).await.unwrap();
//! assert!(found.is_active(now));
//! # }
//! ```

use time::{Duration, OffsetDateTime};

use crate::store::{GrantData, JsonObject, TokenKind, TokenRecord, TokenStatus};
use crate::token::{self, CredentialKind};

/// The digest a store keys a presented credential by — the `signature` of a
/// [`CodeRecord`](crate::store::CodeRecord) or [`TokenRecord`], the `verifier_digest` of a
/// login or consent request — computed exactly as the provider computes it.
pub fn signature(credential: &str) -> String {
    token::signature(credential)
}

/// A fresh authorization code, minted as the authorization endpoint mints them (the right
/// prefix and length, random); store it with a record keyed by [`signature`].
pub fn mint_code() -> String {
    token::mint(CredentialKind::AuthorizationCode).token
}

/// A fresh access or refresh token of `kind`, minted as the token endpoint mints them.
pub fn mint_token(kind: TokenKind) -> String {
    token::mint(CredentialKind::Token(kind)).token
}

/// A grant of `subject` to `client_id` of `scopes`, authenticated and requested at `at`,
/// with a fresh random id: the subject is its own subject identifier, and there are no
/// resources, extra claims, ACR or login session. Change fields with struct update syntax.
pub fn grant(client_id: &str, subject: &str, scopes: &[&str], at: OffsetDateTime) -> GrantData {
    GrantData {
        grant_id: crate::crypto::random_id(),
        client_id: client_id.to_owned(),
        subject: subject.to_owned(),
        subject_identifier: subject.to_owned(),
        granted_scope: scopes.iter().map(|s| (*s).to_owned()).collect(),
        granted_audience: Vec::new(),
        access_token_extra: JsonObject::new(),
        id_token_extra: JsonObject::new(),
        auth_time: Some(at),
        acr: String::new(),
        session_id: None,
        requested_at: at,
    }
}

/// An active token of `kind` for `grant`, issued at `issued_at` and living `ttl` (without
/// expiry when `None`): the bearer string, freshly minted, and the record a store keeps.
pub fn token_record(
    kind: TokenKind,
    grant: &GrantData,
    issued_at: OffsetDateTime,
    ttl: Option<Duration>,
) -> (String, TokenRecord) {
    let token = mint_token(kind);
    let record = TokenRecord {
        signature: signature(&token),
        kind,
        grant: grant.clone(),
        issued_at,
        expires_at: ttl.map(|ttl| issued_at + ttl),
        status: TokenStatus::Active,
    };
    (token, record)
}
