//! Issuing what the authorization endpoint returns once consent is given: a code (stored
//! with its PKCE challenge, nonce and redirect URI), an access token (implicit; never a
//! refresh token from the front channel), an ID token with `c_hash`/`at_hash` as OIDC Core
//! §3.3.2.11 requires.

use std::borrow::Cow;

use time::OffsetDateTime;

use super::request::AuthorizeRequest;
use crate::context::Context;
use crate::error::{OAuthError, StoreError};
use crate::model::GrantType;
use crate::store::{CodeRecord, GrantData};
use crate::token::issue::{IdTokenInput, access_and_refresh, audit_issued, id_token};
use crate::token::{CredentialKind, mint};

/// Mints and stores the credentials of the requested response type and returns the
/// response parameters (without `state` and `iss`, which delivery adds).
pub(crate) async fn authorization_response(
    p: &Context,
    areq: &AuthorizeRequest,
    grant: &GrantData,
    now: OffsetDateTime,
) -> Result<Vec<(&'static str, String)>, OAuthError> {
    let rt = areq.response_type;
    if rt.has_id_token() && !crate::model::scope::is_openid(&grant.granted_scope) {
        return Err(OAuthError::access_denied(
            "An ID token was requested, but the openid scope was not granted.",
        ));
    }
    let mut params = Vec::new();
    let code = if rt.has_code() {
        let minted = mint(CredentialKind::AuthorizationCode);
        p.store
            .insert_code(CodeRecord {
                signature: minted.signature,
                grant: grant.clone(),
                redirect_uri: areq.redirect_uri_sent.clone(),
                effective_redirect_uri: areq.destination.redirect_uri.clone(),
                code_challenge: areq.code_challenge.clone(),
                nonce: areq.nonce.clone(),
                issued_at: now,
                expires_at: now.saturating_add(p.config.lifespans.auth_code),
                used: false,
            })
            .await
            .map_err(OAuthError::store_failure)?;
        params.push(("code", minted.token.clone()));
        Some(minted.token)
    } else {
        None
    };
    let access_token = if rt.has_token() {
        let minted =
            access_and_refresh(p, &areq.client, Cow::Borrowed(grant), None, now, false).await?;
        p.store
            .insert_tokens(minted.records)
            .await
            .map_err(OAuthError::store_failure)?;
        params.push(("access_token", minted.access_token.clone()));
        params.push(("token_type", "bearer".to_owned()));
        params.push(("expires_in", minted.expires_in.to_string()));
        Some(minted.access_token)
    } else {
        None
    };
    if rt.has_code() || rt.has_token() {
        consent_still_given(p, grant).await?;
    }
    if rt.has_id_token() {
        let token = id_token(
            p,
            IdTokenInput {
                grant,
                client: &areq.client,
                nonce: areq.nonce.as_deref(),
                access_token: access_token.as_deref(),
                code: code.as_deref(),
            },
            now,
        )
        .await?;
        params.push(("id_token", token));
    }
    params.push(("scope", grant.granted_scope.join(" ")));
    if rt.has_token() || rt.has_id_token() {
        audit_issued(
            p,
            GrantType::Implicit,
            &grant.client_id,
            &grant.subject,
            &grant.grant_id,
        );
    }
    crate::trace::event!(DEBUG, client_id = %grant.client_id, "authorization response issued");
    Ok(params)
}

/// Revoking consent sessions may run between this flow consuming its consent and storing the
/// code or tokens above; it revokes only what exists when it runs. Looking again afterwards
/// closes that gap: either the revocation came later and revoked what was stored, or this
/// sees the consent gone, revokes the grant itself and answers `access_denied`.
async fn consent_still_given(p: &Context, grant: &GrantData) -> Result<(), OAuthError> {
    match p.store.consent_request(&grant.grant_id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => {
            crate::trace::event!(WARN,
                client_id = %grant.client_id,
                "consent revoked mid-flow; its grant was revoked"
            );
            p.store
                .revoke_grant(&grant.grant_id)
                .await
                .map_err(OAuthError::store_failure)?;
            Err(OAuthError::access_denied(
                "The consent was revoked while this authorization was being answered.",
            ))
        }
        Err(e) => Err(OAuthError::store_failure(e)),
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::conformance::{accepted_consent, code, consent_request, grant, later, now};
    use crate::{Config, Provider};

    /// The race the check closes: the consent is revoked after the flow consumed it but
    /// before its code is stored. The late code must not stay redeemable.
    #[tokio::test]
    async fn a_code_stored_after_its_consent_was_revoked_is_revoked() {
        let p = Provider::builder(Config::new("https://auth.example.com/").unwrap())
            .build()
            .await
            .unwrap();
        let store = &p.cx.store;
        let consent = consent_request("alice", "app", now(), later());
        store.create_consent_request(consent.clone()).await.unwrap();
        store
            .handle_consent_request(&consent.challenge, accepted_consent(false))
            .await
            .unwrap();
        let family = grant(&consent.challenge, "app");
        assert!(consent_still_given(&p.cx, &family).await.is_ok());

        assert_eq!(store.revoke_consents("alice", None).await.unwrap(), 1);
        let late = code(&family, later());
        store.insert_code(late.clone()).await.unwrap();
        let refused = consent_still_given(&p.cx, &family).await.unwrap_err();
        assert_eq!(refused.error, "access_denied");
        assert!(
            store.code(&late.signature).await.unwrap().used,
            "the late code is revoked"
        );
    }
}
