//! Finding the stored record of a presented credential: its prefix names the table, its
//! digest is the key. A string of another kind, or garbage, is `Ok(None)` without a store
//! call; so is an unknown credential. Store failures pass through for the caller to map.

use super::{CredentialKind, signature};
use crate::error::StoreError;
use crate::store::{CodeRecord, Store, TokenKind, TokenRecord, found, token_of_kind};

/// The access or refresh token `token` names, in any status.
pub(crate) async fn access_or_refresh(
    store: &dyn Store,
    token: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    match CredentialKind::of(token) {
        Some(CredentialKind::Token(kind)) => {
            found(token_of_kind(store, kind, &signature(token)).await)
        }
        _ => Ok(None),
    }
}

/// The token of `kind` that `token` names, in any status.
pub(crate) async fn token(
    store: &dyn Store,
    kind: TokenKind,
    token: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    match CredentialKind::of(token) {
        Some(CredentialKind::Token(named)) if named == kind => {
            found(token_of_kind(store, kind, &signature(token)).await)
        }
        _ => Ok(None),
    }
}

/// The authorization code `code` names, used or not.
pub(crate) async fn code(store: &dyn Store, code: &str) -> Result<Option<CodeRecord>, StoreError> {
    match CredentialKind::of(code) {
        Some(CredentialKind::AuthorizationCode) => found(store.code(&signature(code)).await),
        _ => Ok(None),
    }
}
