//! Finding the stored record of a presented credential: its prefix names the table, its
//! digest is the key. A string of another kind, or garbage, is `Ok(None)` without a store
//! call; so is an unknown credential. Store failures pass through for the caller to map.

use super::{Kind, signature};
use crate::error::StoreError;
use crate::store::{CodeRecord, Store, TokenRecord, found};

/// The access or refresh token `token` names, in any status.
pub(crate) async fn access_or_refresh(
    store: &dyn Store,
    token: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    match Kind::of(token) {
        Some(Kind::AccessToken) => found(store.access_token(&signature(token)).await),
        Some(Kind::RefreshToken) => found(store.refresh_token(&signature(token)).await),
        _ => Ok(None),
    }
}

/// The access token `token` names, in any status.
pub(crate) async fn access_token(
    store: &dyn Store,
    token: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    match Kind::of(token) {
        Some(Kind::AccessToken) => found(store.access_token(&signature(token)).await),
        _ => Ok(None),
    }
}

/// The refresh token `token` names, in any status.
pub(crate) async fn refresh_token(
    store: &dyn Store,
    token: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    match Kind::of(token) {
        Some(Kind::RefreshToken) => found(store.refresh_token(&signature(token)).await),
        _ => Ok(None),
    }
}

/// The authorization code `code` names, used or not.
pub(crate) async fn code(store: &dyn Store, code: &str) -> Result<Option<CodeRecord>, StoreError> {
    match Kind::of(code) {
        Some(Kind::AuthorizationCode) => found(store.code(&signature(code)).await),
        _ => Ok(None),
    }
}
