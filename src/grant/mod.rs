//! The grants of the token endpoint: authorization code (with PKCE), refresh token and client
//! credentials, plus what they share — the token response, the refresh-token policy and the
//! reuse response that revokes a whole grant.
//!
//! Each grant reads "look up → check → mint → one atomic store call → respond". Every check
//! happens before anything is written, so a refused request persists nothing.

pub(crate) mod authorization_code;
pub(crate) mod client_auth;
pub(crate) mod client_credentials;
pub(crate) mod pkce;
pub(crate) mod refresh_token;

use serde::Serialize;

use crate::audit::{AuditKind, Credential, grant_ref};
use crate::context::Context;
use crate::error::OAuthError;
use crate::model::GrantType;
use crate::model::client::Client;
use crate::store::GrantData;
use crate::token::issue::{Bearer, wants_refresh};

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl TokenResponse {
    /// The response for freshly minted tokens (whose records were stored) with the scope
    /// the access token carries.
    pub(crate) fn new(bearer: Bearer, scope: &[String], id_token: Option<String>) -> Self {
        Self {
            access_token: bearer.access_token,
            token_type: "bearer",
            expires_in: bearer.expires_in,
            scope: crate::model::scope::join(scope),
            refresh_token: bearer.refresh_token,
            id_token,
        }
    }
}

/// Whether a code exchange issues a refresh token: only when `offline` or `offline_access`
/// was granted **and** the client is registered for the `refresh_token` grant — a refresh
/// token the client may never redeem would only be a liability if it leaked.
pub(crate) fn issues_refresh(grant: &GrantData, client: &Client) -> bool {
    wants_refresh(grant) && client.allows_grant(GrantType::RefreshToken)
}

/// The answer to a replayed single-use credential (a redeemed code, a rotated refresh
/// token): revoke every token of the grant, since one of the two presenters is an attacker
/// and we cannot tell which, then refuse with `invalid_grant`. If the revocation itself
/// fails the request is a 500, so the failure is not hidden.
///
/// `credential` names what was replayed in the `warn` event and the audit event; the grant
/// id is not traced (it is the consent challenge), the audit event carries its digest.
pub(crate) async fn refuse_reuse(
    p: &Context,
    grant: &GrantData,
    credential: Credential,
    what: &'static str,
) -> OAuthError {
    p.audit(|| AuditKind::ReuseDetected {
        credential,
        client_id: grant.client_id.clone(),
        grant: grant_ref(&grant.grant_id),
    });
    match p.store.revoke_grant(&grant.grant_id).await {
        Ok(revoked) => {
            crate::trace::event!(WARN,
                client_id = %grant.client_id,
                credential = credential.as_str(),
                revoked,
                "credential reuse detected; every token of its grant was revoked"
            );
            OAuthError::invalid_grant(what)
        }
        Err(e) => {
            crate::trace::event!(WARN,
                client_id = %grant.client_id,
                credential = credential.as_str(),
                "credential reuse detected; revoking its grant failed"
            );
            OAuthError::store_failure(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scope: &[&str]) -> GrantData {
        crate::testing::fixtures::grant("c", "s", scope, time::OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn refresh_tokens_need_offline_and_the_grant_type() {
        let with_refresh = Client {
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            ..Client::default()
        };
        let without = Client::default();
        assert!(issues_refresh(&grant(&["offline"]), &with_refresh));
        assert!(issues_refresh(&grant(&["offline_access"]), &with_refresh));
        assert!(!issues_refresh(&grant(&["openid"]), &with_refresh));
        assert!(!issues_refresh(&grant(&["offline"]), &without));
    }
}
