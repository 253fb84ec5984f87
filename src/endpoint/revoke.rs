//! `POST /oauth2/revoke` (public, RFC 7009).
//!
//! The client authenticates as at the token endpoint. Revoking an access or a refresh token
//! revokes its whole grant: the tokens issued with it and every token rotated from it (a
//! refresh token that outlives its revoked access token would undo the revocation).
//!
//! * An unknown token, a token of another kind, or another client's token → 200 and nothing
//!   changes (RFC 7009 §2.2: the client cannot learn whether a token exists).
//! * `token_type_hint` other than `access_token` / `refresh_token` → 400
//!   `unsupported_token_type`: those are the only revocable types, and a client naming
//!   another type would otherwise believe it revoked something. The two known hints are not
//!   needed (the token's prefix names its type) and are otherwise ignored.
//! * A store failure → 503 `temporarily_unavailable`, never a false 200
//!   (fosite CVE-2020-15223): the client must retry, as the token may still be valid.

use http::StatusCode;

use crate::audit::{AuditKind, grant_ref};
use crate::context::Context;
use crate::error::{Error, OAuthError, StoreError};
use crate::grant::client_auth;
use crate::http::params::Params;
use crate::http::{Request, Response, response};
use crate::store::TokenKind;
use crate::token::lookup;

/// See [`Provider::revoke_token`](crate::Provider::revoke_token).
pub(crate) async fn revoke_token(p: &Context, client_id: &str, token: &str) -> Result<bool, Error> {
    let Some(record) = lookup::access_or_refresh(p.store.as_ref(), token).await? else {
        return Ok(false);
    };
    if record.grant.client_id != client_id {
        crate::trace::event!(
            DEBUG,
            client_id,
            "revocation of another client's token ignored"
        );
        return Ok(false);
    }
    let changed = p.store.revoke_grant(&record.grant.grant_id).await?;
    if changed > 0 {
        p.audit(|| AuditKind::TokenRevoked {
            client_id: client_id.to_owned(),
            grant: grant_ref(&record.grant.grant_id),
        });
    }
    crate::trace::event!(
        DEBUG,
        client_id,
        revoked = changed,
        "token revoked with its grant"
    );
    Ok(changed > 0)
}

/// A store failure during revocation: retryable, and never reported as done.
fn unavailable(e: StoreError) -> OAuthError {
    OAuthError::temporarily_unavailable("The token could not be revoked; try again.").with_debug(e)
}

fn to_oauth(e: Error) -> OAuthError {
    match e {
        Error::Store(e) => unavailable(e),
        other => other.into(),
    }
}

/// The HTTP layer: client authentication, `token` (required), `token_type_hint`.
pub(crate) async fn revoke(p: &Context, req: &Request) -> Response {
    let outcome = async {
        let params = Params::from_form(req)?;
        params.reject_repeated()?;
        let client = client_auth::authenticate(p, req, &params).await?;
        let token = params.require("token")?;
        if let Some(hint) = params.get("token_type_hint")? {
            if TokenKind::from_name(hint).is_none() {
                return Err(OAuthError::unsupported_token_type(
                    "Only access and refresh tokens can be revoked.",
                ));
            }
        }
        revoke_token(p, &client.client.client_id, token)
            .await
            .map_err(to_oauth)
    }
    .await;
    match outcome {
        Ok(_) => response::no_store(response::empty(StatusCode::OK)),
        Err(e) => response::no_store(p.error_response(&e)),
    }
}
