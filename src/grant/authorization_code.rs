//! The authorization code grant (RFC 6749 §4.1.3, OIDC Core §3.1.3): the redemption side.
//!
//! A code is single-use, short-lived, bound to its client, to the `redirect_uri` of the
//! authorization request and to its PKCE challenge. The redemption is one atomic store call
//! that marks the code used and inserts its tokens; a second redemption — sequential or
//! racing — fails with `invalid_grant` and revokes every token the code bought.

use std::borrow::Cow;

use time::OffsetDateTime;

use super::{TokenResponse, issues_refresh, pkce, refuse_reuse};
use crate::audit::Credential;
use crate::context::Context;
use crate::error::{OAuthError, StoreError};
use crate::http::params::Params;
use crate::model::GrantType;
use crate::model::client::Client;
use crate::model::{resource, scope};
use crate::store::CodeRecord;
use crate::token::issue::{IdTokenInput, access_and_refresh, audit_issued, id_token};
use crate::token::lookup;

const CREDENTIAL: Credential = Credential::AuthorizationCode;
const REUSED: &str =
    "The authorization code was already used; every token issued from it has been revoked.";

/// Exchanges `code` for tokens.
pub(crate) async fn exchange(
    p: &Context,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = params.require("code")?;
    let now = p.now();
    let record = find(p, code).await?;
    check(p, client, params, &record, now).await?;

    let grant = &record.grant;
    let requested = resource::requested(params.get_all("resource"))?;
    let audience = resource::narrow(&grant.granted_audience, requested)?;
    let with_refresh = issues_refresh(grant, client);
    let minted = access_and_refresh(
        p,
        client,
        Cow::Borrowed(grant),
        Some(&audience),
        now,
        with_refresh,
    )
    .await?;
    let id_token = if scope::is_openid(&grant.granted_scope) {
        let input = IdTokenInput {
            grant,
            client,
            nonce: record.nonce.as_deref(),
            access_token: None,
            code: None,
        };
        Some(id_token(p, input, now).await?)
    } else {
        None
    };
    let (bearer, records) = minted.split();
    match p.store.redeem_code(&record.signature, records).await {
        Ok(()) => {
            crate::trace::event!(DEBUG, client_id = %grant.client_id, "authorization code redeemed");
            audit_issued(
                p,
                GrantType::AuthorizationCode,
                &grant.client_id,
                &grant.subject,
                &grant.grant_id,
            );
            Ok(TokenResponse::new(bearer, &grant.granted_scope, id_token))
        }
        // Lost a race against another redemption of the same code: that is reuse too.
        Err(StoreError::AlreadyUsed) => Err(refuse_reuse(p, grant, CREDENTIAL, REUSED).await),
        Err(StoreError::NotFound) => Err(unknown_code()),
        Err(e) => Err(OAuthError::store_failure(e)),
    }
}

fn unknown_code() -> OAuthError {
    OAuthError::invalid_grant("The authorization code is unknown, expired or was revoked.")
}

/// The stored code for a presented one; anything that is not one of our codes is
/// `invalid_grant` without a store lookup.
async fn find(p: &Context, code: &str) -> Result<CodeRecord, OAuthError> {
    lookup::code(p.store.as_ref(), code)
        .await
        .map_err(OAuthError::store_failure)?
        .ok_or_else(unknown_code)
}

/// Every check of a redemption, in an order that leaks nothing to other clients: the client
/// binding first (another client's attempt changes nothing), then reuse (which revokes),
/// expiry, the redirect URI and PKCE (mandatory for public clients).
async fn check(
    p: &Context,
    client: &Client,
    params: &Params,
    record: &CodeRecord,
    now: OffsetDateTime,
) -> Result<(), OAuthError> {
    if record.grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "The authorization code was issued to another client.",
        ));
    }
    if record.used {
        return Err(refuse_reuse(p, &record.grant, CREDENTIAL, REUSED).await);
    }
    if now >= record.expires_at {
        return Err(OAuthError::invalid_grant(
            "The authorization code has expired.",
        ));
    }
    let presented = params.get("redirect_uri")?;
    let expected = match &record.redirect_uri {
        // RFC 6749 §4.1.3: sent at /auth → must be repeated identically.
        Some(sent) => Some(sent.as_str()),
        // Not sent at /auth: optional now, but if sent it must name where the code went.
        None => presented.map(|_| record.effective_redirect_uri.as_str()),
    };
    if presented != expected {
        return Err(OAuthError::invalid_grant(
            "The redirect_uri does not match the one of the authorization request.",
        ));
    }
    // The authorization endpoint already requires PKCE of public clients; checking again
    // here means a code minted without a challenge (a bug, or a host's own code path) can
    // never be redeemed by a client that has no secret to prove who it is.
    if client.is_public() && record.code_challenge.is_none() {
        return Err(OAuthError::invalid_grant(
            "Public clients must use PKCE; this code has no code_challenge.",
        ));
    }
    pkce::verify(
        record.code_challenge.as_deref(),
        params.get("code_verifier")?,
    )
}
