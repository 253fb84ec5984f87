//! Minting the tokens of a grant step: access tokens (opaque or RFC 9068 JWTs) and refresh
//! tokens as store records plus the strings handed to the client, and signed ID tokens.

use std::borrow::Cow;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Credential, CredentialKind, mint};
use crate::audit::{AuditKind, grant_ref};
use crate::context::Context;
use crate::error::OAuthError;
use crate::model::client::Client;
use crate::model::{AccessTokenStrategy, GrantType};
use crate::store::{GrantData, IssuedTokens, TokenKind, TokenRecord, TokenStatus};

/// Tokens minted for one grant step: the bearer strings and the records to store.
#[derive(Debug)]
pub(crate) struct MintedTokens {
    /// The access token handed to the client.
    pub(crate) access_token: String,
    /// The refresh token handed to the client, if one was minted.
    pub(crate) refresh_token: Option<String>,
    /// Seconds until the access token expires.
    pub(crate) expires_in: i64,
    /// What the store keeps (digests only).
    pub(crate) records: IssuedTokens,
}

/// The strings handed to the client, apart from what the store keeps.
#[derive(Debug)]
pub(crate) struct Bearer {
    /// The access token.
    pub(crate) access_token: String,
    /// The refresh token, if one was minted.
    pub(crate) refresh_token: Option<String>,
    /// Seconds until the access token expires.
    pub(crate) expires_in: i64,
}

impl MintedTokens {
    /// Splits the bearer strings (for the response) from the records (for the store), so
    /// neither has to be cloned.
    pub(crate) fn split(self) -> (Bearer, IssuedTokens) {
        let bearer = Bearer {
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            expires_in: self.expires_in,
        };
        (bearer, self.records)
    }
}

/// The trace and audit events, and the count, of tokens issued (stored) by `grant_type` for
/// the grant `grant_id` of `client_id` and `subject`. Ids rather than the grant, so that a
/// caller may hand the grant itself to the store.
pub(crate) fn audit_issued(
    p: &Context,
    grant_type: GrantType,
    client_id: &str,
    subject: &str,
    grant_id: &str,
) {
    p.counters.tokens_issued(grant_type);
    crate::trace::event!(DEBUG,
        grant_type = grant_type.as_str(),
        client_id = %client_id,
        "tokens issued"
    );
    p.audit(|| AuditKind::TokenIssued {
        grant_type,
        client_id: client_id.to_owned(),
        subject: subject.to_owned(),
        grant: grant_ref(grant_id),
    });
}

/// Whether the grant asked for a refresh token (`offline` or `offline_access` granted).
pub(crate) fn wants_refresh(grant: &GrantData) -> bool {
    grant
        .granted_scope
        .iter()
        .any(|s| s == "offline" || s == "offline_access")
}

/// Mints an access token for `narrowed` resources (`None`: all the grant's; else the subset
/// a token request narrowed them to), and a refresh token for the whole grant when
/// `with_refresh`, for `client` at `now`. The access token is opaque or an RFC 9068 JWT, as
/// the client's [`AccessTokenStrategy`] says; either way the store keeps its digest, so
/// introspection, userinfo and revocation find both kinds the same way. An owned `grant`
/// goes into the records as it is, cloned only for a refresh token.
pub(crate) async fn access_and_refresh(
    p: &Context,
    client: &Client,
    grant: Cow<'_, GrantData>,
    narrowed: Option<&[String]>,
    now: OffsetDateTime,
    with_refresh: bool,
) -> Result<MintedTokens, OAuthError> {
    let lifespans = &p.config.lifespans;
    let expires_at = now.saturating_add(lifespans.access_token);
    let (mut access_grant, refresh_grant) = if with_refresh {
        let full = grant.into_owned();
        (full.clone(), Some(full))
    } else {
        (grant.into_owned(), None)
    };
    if let Some(audience) = narrowed {
        access_grant.granted_audience = audience.to_vec();
    }
    let access = match client.effective_access_token_strategy(p.config.access_token_strategy) {
        AccessTokenStrategy::Opaque => mint(CredentialKind::ACCESS_TOKEN),
        AccessTokenStrategy::Jwt => {
            // Boxed: signing is the larger future, and every layer above moves this one (see
            // `router`'s "Boxing").
            let token = Box::pin(jwt_access_token(p, &access_grant, now, expires_at)).await?;
            let signature = super::signature(&token);
            Credential { token, signature }
        }
    };
    let access_record = TokenRecord {
        signature: access.signature,
        kind: TokenKind::AccessToken,
        grant: access_grant,
        issued_at: now,
        expires_at: Some(expires_at),
        status: TokenStatus::Active,
    };
    let (refresh_token, refresh_record) = if let Some(grant) = refresh_grant {
        let refresh = mint(CredentialKind::REFRESH_TOKEN);
        let record = TokenRecord {
            signature: refresh.signature,
            kind: TokenKind::RefreshToken,
            grant,
            issued_at: now,
            expires_at: lifespans.refresh_token.map(|d| now.saturating_add(d)),
            status: TokenStatus::Active,
        };
        (Some(refresh.token), Some(record))
    } else {
        (None, None)
    };
    Ok(MintedTokens {
        access_token: access.token,
        refresh_token,
        expires_in: lifespans.access_token.whole_seconds(),
        records: IssuedTokens {
            access: access_record,
            refresh: refresh_record,
        },
    })
}

/// The `typ` header of JWT access tokens (RFC 9068 §2.1), which keeps them from being taken
/// for ID tokens (`JWT`) or logout tokens.
pub(crate) const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Signs an RFC 9068 access token for `grant` (whose audience is the token's) with the
/// provider's default algorithm.
///
/// `aud` is the granted resources; without any, the provider itself (its issuer, where the
/// token is good for userinfo), since RFC 9068 §3 requires a default audience. `sub` is the
/// subject as the client sees it (pairwise or forced): the client can read the token, so it
/// must not learn more than its ID tokens tell it. `ext` carries the consent's access-token
/// data, as Hydra does.
async fn jwt_access_token(
    p: &Context,
    grant: &GrantData,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<String, OAuthError> {
    let alg = p.config.keys.default_algorithm();
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), json!(p.config.issuer));
    claims.insert("sub".into(), json!(grant.subject_identifier));
    let aud = if grant.granted_audience.is_empty() {
        json!([p.config.issuer])
    } else {
        json!(grant.granted_audience)
    };
    claims.insert("aud".into(), aud);
    claims.insert("client_id".into(), json!(grant.client_id));
    claims.insert("iat".into(), json!(now.unix_timestamp()));
    claims.insert("nbf".into(), json!(now.unix_timestamp()));
    claims.insert("exp".into(), json!(expires_at.unix_timestamp()));
    claims.insert("jti".into(), json!(crate::crypto::random_id()));
    claims.insert(
        "scope".into(),
        json!(crate::model::scope::join(&grant.granted_scope)),
    );
    if let Some(auth_time) = grant.auth_time {
        claims.insert("auth_time".into(), json!(auth_time.unix_timestamp()));
    }
    if !grant.acr.is_empty() {
        claims.insert("acr".into(), json!(grant.acr));
    }
    if !grant.access_token_extra.is_empty() {
        claims.insert("ext".into(), json!(grant.access_token_extra));
    }
    p.sign_jwt(alg, ACCESS_TOKEN_TYP, &claims).await
}

/// What an ID token is minted from.
#[derive(Debug)]
pub(crate) struct IdTokenInput<'a> {
    /// The grant (subject identifier, auth_time, acr, sid, extra claims).
    pub(crate) grant: &'a GrantData,
    /// The audience; its `id_token_signed_response_alg` picks the key.
    pub(crate) client: &'a Client,
    /// The request's nonce (never on refresh).
    pub(crate) nonce: Option<&'a str>,
    /// An access token issued alongside from the authorization endpoint (`at_hash`).
    pub(crate) access_token: Option<&'a str>,
    /// A code issued alongside from the authorization endpoint (`c_hash`).
    pub(crate) code: Option<&'a str>,
}

/// Signs an ID token for the grant with the client's algorithm (ES256 default, EdDSA).
pub(crate) async fn id_token(
    p: &Context,
    input: IdTokenInput<'_>,
    now: OffsetDateTime,
) -> Result<String, OAuthError> {
    let alg = p.config.keys.id_token_alg(input.client);
    let grant = input.grant;
    let mut claims = super::claims::consented(grant.id_token_extra.clone());
    claims.insert("iss".into(), json!(p.config.issuer));
    claims.insert("sub".into(), json!(grant.subject_identifier));
    claims.insert("aud".into(), json!([input.client.client_id]));
    claims.insert(
        "exp".into(),
        json!(
            now.saturating_add(p.config.lifespans.id_token)
                .unix_timestamp()
        ),
    );
    claims.insert("iat".into(), json!(now.unix_timestamp()));
    claims.insert("rat".into(), json!(grant.requested_at.unix_timestamp()));
    claims.insert("jti".into(), json!(crate::crypto::random_id()));
    if let Some(auth_time) = grant.auth_time {
        claims.insert("auth_time".into(), json!(auth_time.unix_timestamp()));
    }
    if let Some(nonce) = input.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if !grant.acr.is_empty() {
        claims.insert("acr".into(), json!(grant.acr));
    }
    if let Some(sid) = &grant.session_id {
        claims.insert("sid".into(), json!(sid));
    }
    if let Some(token) = input.access_token {
        claims.insert(
            "at_hash".into(),
            Value::String(crate::jose::left_half_hash(alg, token)),
        );
    }
    if let Some(code) = input.code {
        claims.insert(
            "c_hash".into(),
            Value::String(crate::jose::left_half_hash(alg, code)),
        );
    }
    p.sign_jwt(alg, "JWT", &claims).await
}
