//! `POST /oauth2/introspect` (admin, RFC 7662): what a resource server learns about a token.
//!
//! Only active access and refresh tokens are described; anything else — unknown, expired,
//! revoked, rotated, malformed, a code, an ID token, a token whose client was deleted — is
//! exactly `{"active":false}`, so a caller can never tell *why* a token is dead. A store
//! failure is a 500, never `active:false`: a resource server must not mistake an outage for a
//! revocation (nor the reverse).
//!
//! Deliberate choices:
//! * The token's prefix (`op_at_`, `op_rt_`) names its table, so `token_type_hint` is read
//!   only to reject repeats and otherwise ignored (RFC 7662 §2.1 makes it a hint).
//! * `aud` is the resources (RFC 8707) the token was issued for: an access token's own,
//!   possibly narrowed by its token request, a refresh token's the whole grant's. Omitted
//!   when none was granted; `client_id` names the client.
//! * A JWT access token (RFC 9068) is found by its digest like an opaque one, so a revoked
//!   JWT is inactive here although its signature still verifies.
//! * `iat` is when the token was issued and `nbf` equals it; `exp` is the token's own expiry
//!   (a refresh token without expiry has no `exp`).

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::Error;
use crate::http::params::Params;
use crate::http::{Request, Response, response};
use crate::model::scope;
use crate::store::{JsonObject, TokenRecord};

/// An RFC 7662 introspection response with Hydra's field names (`OAuth2TokenIntrospection`).
/// Every field but `active` is left out when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Introspection {
    /// Whether the token is active; when `false` every other field is empty.
    pub active: bool,
    /// The granted scopes, space-separated.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// The real subject (the client id for client credentials).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sub: String,
    /// The subject as the client sees it (pairwise or forced), when it differs from `sub`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub obfuscated_subject: String,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not-before time (the issue time), seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The resources the token is for (RFC 8707); omitted when none was granted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
    /// The issuer, byte-for-byte as configured.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub iss: String,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_type: String,
    /// Extra data the consent attached to access tokens (`session.access_token`).
    #[serde(skip_serializing_if = "JsonObject::is_empty")]
    pub ext: JsonObject,
}

impl Introspection {
    /// The answer for every token that is not active: `{"active":false}`.
    pub fn inactive() -> Self {
        Self::default()
    }

    fn of(record: TokenRecord, issuer: &str) -> Self {
        let grant = record.grant;
        let obfuscated_subject = if grant.subject_identifier == grant.subject {
            String::new()
        } else {
            grant.subject_identifier
        };
        let iat = record.issued_at.unix_timestamp();
        Self {
            active: true,
            scope: scope::join(&grant.granted_scope),
            client_id: grant.client_id,
            sub: grant.subject,
            obfuscated_subject,
            exp: record.expires_at.map(|e| e.unix_timestamp()),
            iat: Some(iat),
            nbf: Some(iat),
            aud: grant.granted_audience,
            iss: issuer.to_owned(),
            token_type: record.kind.as_str().to_owned(),
            ext: grant.access_token_extra,
        }
    }
}

/// See [`Provider::introspect`](crate::Provider::introspect).
pub(crate) async fn introspect(
    p: &Context,
    token: &str,
    scope: Option<&str>,
) -> Result<Introspection, Error> {
    let Some(record) = crate::token::lookup::access_or_refresh(p.store.as_ref(), token).await?
    else {
        return Ok(Introspection::inactive());
    };
    if !record.is_active(p.now()) {
        return Ok(Introspection::inactive());
    }
    if let Some(required) = scope {
        if !scope::all_covered(&record.grant.granted_scope, &scope::split(required)) {
            return Ok(Introspection::inactive());
        }
    }
    // A deleted client's tokens are dead even if their revocation did not complete.
    if p.find_client(&record.grant.client_id).await?.is_none() {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection::of(record, &p.config.issuer))
}

/// The HTTP layer: form `token` (required), `scope`, `token_type_hint`.
pub(crate) async fn post(p: &Context, req: &Request) -> Response {
    let answer = async {
        let params = Params::from_form(req)?;
        let token = params.require("token")?;
        let scope = params.get("scope")?;
        params.get("token_type_hint")?;
        Ok::<_, crate::OAuthError>(introspect(p, token, scope).await?)
    }
    .await;
    match answer {
        Ok(introspection) => response::no_store(response::json(StatusCode::OK, &introspection)),
        Err(e) => response::no_store(p.error_response(&e)),
    }
}
