//! The refresh token grant (RFC 6749 §6, OIDC Core §12) with rotation on every use.
//!
//! * A refresh token is bound to its client and rotates atomically
//!   (`TokenStore::rotate_refresh_token`): the presented token becomes `Rotated`, the other
//!   tokens of the grant are revoked and the new pair is inserted under the same grant id.
//! * Presenting a rotated token again is reuse (RFC 9700 §4.14.2): `invalid_grant`, and the
//!   whole family — including the newest pair — is revoked. Two *parallel* refreshes with
//!   one token therefore end with one success, one reuse and a revoked family: a client that
//!   races itself loses its grant and must log in again. That is the price of detecting a
//!   stolen refresh token; there is no grace window.
//! * A requested `scope` may narrow the grant (exact strings, a subset of the original) but
//!   never widen it (`invalid_scope`). The new access token and ID token carry the narrowed
//!   scope; the new refresh token keeps the original one (RFC 6749 §6: "the refresh token
//!   scope MUST be identical to that of the refresh token included by the client"), so a
//!   later refresh can ask for the full scope again.
//! * A requested `resource` narrows the new access token's audience within the grant's
//!   (RFC 8707 §2.2, `invalid_target` otherwise); the new refresh token keeps the grant's
//!   whole audience, like its scope.
//! * The refreshed ID token keeps `sub`, `aud`, `auth_time`, `acr` and `sid`, gets a fresh
//!   `iat`/`exp` from the configured ID-token lifespan, and has no `nonce`.

use std::borrow::Cow;

use super::{TokenResponse, refuse_reuse};
use crate::audit::Credential;
use crate::context::Context;
use crate::error::{OAuthError, StoreError};
use crate::http::params::Params;
use crate::model::GrantType;
use crate::model::client::Client;
use crate::model::{resource, scope};
use crate::store::{GrantData, TokenKind, TokenRecord, TokenStatus};
use crate::token::issue::{IdTokenInput, access_and_refresh, audit_issued, id_token};
use crate::token::lookup;

const CREDENTIAL: Credential = Credential::RefreshToken;
const REUSED: &str =
    "The refresh token was already used; every token of its grant has been revoked.";

fn inactive() -> OAuthError {
    OAuthError::invalid_grant("The refresh token is unknown, expired or revoked.")
}

/// Exchanges a refresh token for a new access and refresh token (and ID token).
pub(crate) async fn exchange(
    p: &Context,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    let now = p.now();
    let record = find(p, presented).await?;
    if record.grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "The refresh token was issued to another client.",
        ));
    }
    match record.status {
        TokenStatus::Active => {}
        TokenStatus::Rotated => {
            return Err(refuse_reuse(p, &record.grant, CREDENTIAL, REUSED).await);
        }
        TokenStatus::Revoked => return Err(inactive()),
    }
    if !record.is_active(now) {
        return Err(inactive());
    }
    let original = &record.grant;
    let narrowed = narrow(original, params.get("scope")?)?;
    let requested = resource::requested(params.get_all("resource"))?;
    let audience = resource::narrow(&original.granted_audience, requested)?;

    let (bearer, mut records) = access_and_refresh(
        p,
        client,
        Cow::Borrowed(&narrowed),
        Some(&audience),
        now,
        true,
    )
    .await?
    .split();
    if let Some(refresh) = &mut records.refresh {
        refresh.grant = original.clone();
    }
    let id_token = if scope::is_openid(&narrowed.granted_scope) {
        let input = IdTokenInput {
            grant: &narrowed,
            client,
            nonce: None,
            access_token: None,
            code: None,
        };
        Some(id_token(p, input, now).await?)
    } else {
        None
    };
    match p
        .store
        .rotate_refresh_token(&record.signature, records)
        .await
    {
        Ok(()) => {
            crate::trace::event!(DEBUG, client_id = %client.client_id, "refresh token rotated");
            audit_issued(
                p,
                GrantType::RefreshToken,
                &narrowed.client_id,
                &narrowed.subject,
                &narrowed.grant_id,
            );
            Ok(TokenResponse::new(
                bearer,
                &narrowed.granted_scope,
                id_token,
            ))
        }
        // Another request rotated it between our read and our write: reuse.
        Err(StoreError::AlreadyUsed) => Err(refuse_reuse(p, original, CREDENTIAL, REUSED).await),
        Err(StoreError::NotFound) => Err(inactive()),
        Err(e) => Err(OAuthError::store_failure(e)),
    }
}

/// The stored refresh token for a presented one; anything that is not one of our refresh
/// tokens (an access token, a code, garbage) is `invalid_grant` without a lookup.
async fn find(p: &Context, token: &str) -> Result<TokenRecord, OAuthError> {
    lookup::token(p.store.as_ref(), TokenKind::RefreshToken, token)
        .await
        .map_err(OAuthError::store_failure)?
        .ok_or_else(inactive)
}

/// The grant the new access token carries: the original one, or its scope narrowed to the
/// requested subset. Matching is by exact string: a wildcard granted scope does not let a
/// refresh mint narrower-looking scopes that were never consented to literally.
fn narrow(original: &GrantData, requested: Option<&str>) -> Result<GrantData, OAuthError> {
    let Some(requested) = requested else {
        return Ok(original.clone());
    };
    let requested = scope::split(requested);
    if let Some(extra) = requested
        .iter()
        .find(|s| !original.granted_scope.contains(s))
    {
        return Err(OAuthError::invalid_scope(format!(
            "The scope '{extra}' was not granted originally; a refresh may only narrow the scope."
        )));
    }
    Ok(GrantData {
        granted_scope: requested,
        ..original.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> GrantData {
        let scope = ["openid", "offline", "foo.*"];
        crate::testing::fixtures::grant("c", "s", &scope, time::OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn scope_narrows_but_never_widens() {
        let g = grant();
        assert_eq!(narrow(&g, None).unwrap().granted_scope, g.granted_scope);
        assert_eq!(
            narrow(&g, Some("offline openid")).unwrap().granted_scope,
            vec!["offline", "openid"]
        );
        assert_eq!(
            narrow(&g, Some("foo.*")).unwrap().granted_scope,
            vec!["foo.*"]
        );
        for wider in ["openid email", "foo.bar", "*"] {
            assert_eq!(narrow(&g, Some(wider)).unwrap_err().error, "invalid_scope");
        }
    }
}
