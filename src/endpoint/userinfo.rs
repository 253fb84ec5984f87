//! `GET|POST /userinfo` (OIDC Core §5.3, RFC 6750): the claims about the end-user that the
//! consent app attached to the grant (`session.id_token`), with `sub` as the client sees it.
//!
//! The bearer comes from `Authorization: Bearer …` or a POST form, never the query
//! ([`crate::http::bearer`]). Only an active access token of an existing client whose grant
//! includes `openid` is accepted; refresh tokens, codes and ID tokens are refused as
//! `invalid_token`. Every response is `no-store`.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use serde_json::Value;

use crate::context::Context;
use crate::error::{ErrorCode, OAuthError};
use crate::http::bearer;
use crate::http::response::{json, no_store};
use crate::http::{Request, Response};
use crate::model::Algorithm;
use crate::model::client::ClientRecord;
use crate::store::JsonObject;
use crate::store::TokenKind;
use crate::token::{CredentialKind, claims, lookup};

/// Handles a userinfo request.
pub(crate) async fn userinfo(p: &Context, req: &Request) -> Response {
    let res = match answer(p, req).await {
        Ok(res) => res,
        Err(e) => with_bearer_challenge(p.error_response(&e), &e),
    };
    no_store(res)
}

/// The claims as JSON, or as a JWT signed with the client's `userinfo_signed_response_alg`
/// and carrying `iss` and `aud` (OIDC Core §5.3.2).
async fn answer(p: &Context, req: &Request) -> Result<Response, OAuthError> {
    let (mut claims, client) = claims(p, req).await?;
    let alg = match client.client.userinfo_signed_response_alg.as_str() {
        "none" | "" => return Ok(json(StatusCode::OK, &claims)),
        name => name.parse::<Algorithm>().map_err(|_| {
            OAuthError::server_error("")
                .with_debug(format!("client has an unknown userinfo alg {name:?}"))
        })?,
    };
    claims.insert("iss".into(), Value::String(p.config.issuer.clone()));
    claims.insert("aud".into(), Value::String(client.client.client_id.clone()));
    let jwt = p.sign_jwt(alg, "JWT", &claims).await?;
    let mut res = Response::new(Bytes::from(jwt));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/jwt"));
    Ok(res)
}

/// RFC 6750 §3: every refusal names the Bearer scheme and the error. `invalid_token`
/// already carries its challenge from the shared error renderer.
fn with_bearer_challenge(mut res: Response, err: &OAuthError) -> Response {
    let challenge = match err.error {
        ErrorCode::InvalidRequest => r#"Bearer error="invalid_request""#,
        ErrorCode::InsufficientScope => r#"Bearer error="insufficient_scope", scope="openid""#,
        _ => return res,
    };
    res.headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    res
}

fn invalid_token(hint: &'static str) -> OAuthError {
    OAuthError::invalid_token(hint)
}

async fn claims(p: &Context, req: &Request) -> Result<(JsonObject, Arc<ClientRecord>), OAuthError> {
    let token = bearer::token(req)?;
    if CredentialKind::of(&token) != Some(CredentialKind::ACCESS_TOKEN) {
        return Err(invalid_token("The bearer token is not an access token."));
    }
    let record = lookup::token(p.store.as_ref(), TokenKind::AccessToken, &token)
        .await
        .map_err(OAuthError::store_failure)?
        .ok_or_else(|| invalid_token("The access token is unknown."))?;
    if !record.is_active(p.now()) {
        return Err(invalid_token("The access token is expired or revoked."));
    }
    let Some(client) = p
        .find_client(&record.grant.client_id)
        .await
        .map_err(OAuthError::store_failure)?
    else {
        return Err(invalid_token(
            "The client the access token was issued to no longer exists.",
        ));
    };
    let grant = record.grant;
    if !crate::model::scope::is_openid(&grant.granted_scope) {
        return Err(OAuthError::insufficient_scope(
            "The userinfo endpoint needs an access token with the 'openid' scope.",
        ));
    }
    let mut claims = claims::consented(grant.id_token_extra);
    claims.insert("sub".into(), Value::String(grant.subject_identifier));
    Ok((claims, client))
}
