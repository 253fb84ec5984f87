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

use crate::Provider;
use crate::error::{Error, OAuthError, StoreError};
use crate::http::params::Params;
use crate::http::{Request, Response, client_auth, response};

impl Provider {
    /// Revokes the grant of `token` if it is an access or refresh token issued to
    /// `client_id`. Returns whether any token changed state; an unknown or foreign token is
    /// `Ok(false)`. The caller authenticates the client.
    pub async fn revoke_token(&self, client_id: &str, token: &str) -> Result<bool, Error> {
        let Some(record) = self.find_token(token).await? else {
            return Ok(false);
        };
        if record.grant.client_id != client_id {
            return Ok(false);
        }
        let changed = self
            .inner
            .store
            .revoke_grant(&record.grant.grant_id)
            .await?;
        Ok(changed > 0)
    }
}

/// A store failure during revocation: retryable, and never reported as done.
fn unavailable(e: StoreError) -> OAuthError {
    OAuthError::temporarily_unavailable("The token could not be revoked; try again.").with_debug(e)
}

fn to_oauth(e: Error) -> OAuthError {
    match e {
        Error::Store(e @ StoreError::Backend(_)) => unavailable(e),
        other => other.into(),
    }
}

/// The HTTP layer: client authentication, `token` (required), `token_type_hint`.
pub(crate) async fn revoke(p: &Provider, req: Request) -> Response {
    let outcome = async {
        let params = Params::from_form(&req)?;
        params.reject_repeated()?;
        let client = client_auth::authenticate(p.inner.store.as_ref(), &req, &params).await?;
        let token = params.require("token")?;
        match params.get("token_type_hint")? {
            None | Some("access_token" | "refresh_token") => {}
            Some(_) => {
                return Err(OAuthError::unsupported_token_type(
                    "Only access and refresh tokens can be revoked.",
                ));
            }
        }
        p.revoke_token(&client.client.client_id, token)
            .await
            .map_err(to_oauth)
    }
    .await;
    match outcome {
        Ok(_) => response::no_store(response::empty(StatusCode::OK)),
        Err(e) => response::no_store(p.inner.error_response(&e)),
    }
}
