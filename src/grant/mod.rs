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

use crate::audit::{AuditKind, Credential, grant_ref};
use crate::context::Context;
use crate::error::OAuthError;
use crate::http::response::push_json_str;
use crate::model::GrantType;
use crate::model::client::Client;
use crate::store::GrantData;
use crate::token::issue::{Bearer, wants_refresh};

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug)]
pub(crate) struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
    refresh_token: Option<String>,
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

    /// The JSON body, written field by field: it is the body the provider renders most, and
    /// serde's generic path was a twentieth of a `client_credentials` request. Absent optional
    /// fields are left out. The buffer is exactly as long as a body without escapes (tokens
    /// never have any), so that `Bytes` takes it over without allocating again.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let optional = [
            ("refresh_token", &self.refresh_token),
            ("id_token", &self.id_token),
        ];
        let mut digits = itoa::Buffer::new();
        let expires_in = digits.format(self.expires_in);
        let quoted = |text: &str| text.len() + 2;
        let length = r#"{"access_token":,"token_type":,"expires_in":,"scope":}"#.len()
            + quoted(&self.access_token)
            + quoted(self.token_type)
            + expires_in.len()
            + quoted(&self.scope)
            + optional
                .iter()
                .map(|(name, value)| {
                    value
                        .as_ref()
                        .map_or(0, |v| r#","":"#.len() + name.len() + quoted(v))
                })
                .sum::<usize>();
        let mut out = Vec::with_capacity(length);
        out.extend_from_slice(b"{\"access_token\":");
        push_json_str(&mut out, &self.access_token);
        out.extend_from_slice(b",\"token_type\":");
        push_json_str(&mut out, self.token_type);
        out.extend_from_slice(b",\"expires_in\":");
        out.extend_from_slice(expires_in.as_bytes());
        out.extend_from_slice(b",\"scope\":");
        push_json_str(&mut out, &self.scope);
        for (name, value) in optional {
            if let Some(value) = value {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":");
                push_json_str(&mut out, value);
            }
        }
        out.push(b'}');
        out
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
    fn the_token_response_is_the_json_serde_would_write() {
        let response = |scope: &str, refresh: Option<&str>, id_token: Option<&str>| TokenResponse {
            access_token: "op_at_abc-_".into(),
            token_type: "bearer",
            expires_in: 3600,
            scope: scope.into(),
            refresh_token: refresh.map(Into::into),
            id_token: id_token.map(Into::into),
        };
        let every_control: String = (0u8..0x20).map(char::from).collect();
        for (scope, refresh, id_token) in [
            ("", None, None),
            ("openid offline", Some("op_rt_x"), Some("a.b.c")),
            (
                "é \"quoted\" back\\slash \u{7f} \u{2028} 🦀",
                None,
                Some("t"),
            ),
            (every_control.as_str(), Some("r"), None),
        ] {
            let written = response(scope, refresh, id_token).to_json();
            if !scope.contains(['"', '\\']) && !scope.contains(char::is_control) {
                assert_eq!(written.len(), written.capacity(), "{scope:?}");
            }
            let mut expected = serde_json::json!({
                "access_token": "op_at_abc-_",
                "token_type": "bearer",
                "expires_in": 3600,
                "scope": scope,
            });
            if let Some(refresh) = refresh {
                expected["refresh_token"] = refresh.into();
            }
            if let Some(id_token) = id_token {
                expected["id_token"] = id_token.into();
            }
            let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
            assert_eq!(parsed, expected, "{scope:?}");
            // Byte for byte what serde writes, fields in declaration order.
            let mut serde_text = String::from("{");
            for name in [
                "access_token",
                "token_type",
                "expires_in",
                "scope",
                "refresh_token",
                "id_token",
            ] {
                if let Some(value) = expected.get(name) {
                    if serde_text.len() > 1 {
                        serde_text.push(',');
                    }
                    serde_text.push_str(&format!("{}:{}", serde_json::json!(name), value));
                }
            }
            serde_text.push('}');
            assert_eq!(String::from_utf8(written).unwrap(), serde_text, "{scope:?}");
        }
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
