//! Seeding the store directly (clients, grants, tokens, consents, login sessions) for tests
//! of the token lifecycle that must not depend on the authorization flow.

use bytes::Bytes;
use http::Request;
use oauth2_provider::model::client::{ClientRecord, SecretHash};
use oauth2_provider::store::{
    AcceptedConsent, ConsentRequestRecord, GrantData, HandledConsent, IssuedTokens, JsonObject,
    LoginSessionRecord, OidcContext, TokenKind, TokenRecord, TokenStatus,
};
use oauth2_provider::{Client, Provider};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::{body_json, form_request};

pub(crate) use super::tokens::{SECRET, sig as signature};

/// A fresh random value, hex.
pub(crate) fn random() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Registers a confidential `client_secret_basic` client with [`SECRET`].
pub(crate) async fn client(p: &Provider, id: &str) -> Client {
    client_with(p, id, Vec::new()).await
}

/// Registers a confidential client that allows the given CORS origins.
pub(crate) async fn client_with(p: &Provider, id: &str, origins: Vec<String>) -> Client {
    let client = Client {
        client_id: id.to_owned(),
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        scope: "openid offline core foo.*".into(),
        allowed_cors_origins: origins,
        created_at: Some(OffsetDateTime::now_utc()),
        ..Client::default()
    };
    p.store()
        .create_client(ClientRecord {
            client: client.clone(),
            secret_hash: Some(SecretHash::of_generated(SECRET)),
        })
        .await
        .unwrap();
    client
}

/// `Authorization: Basic` for a seeded client.
pub(crate) fn basic(client_id: &str) -> String {
    super::tokens::basic(client_id, SECRET)
}

/// A grant of `subject` to `client_id` with the given scopes, requested at `now`.
pub(crate) fn grant(
    client_id: &str,
    subject: &str,
    scopes: &[&str],
    now: OffsetDateTime,
) -> GrantData {
    GrantData {
        grant_id: random(),
        client_id: client_id.to_owned(),
        subject: subject.to_owned(),
        subject_identifier: subject.to_owned(),
        granted_scope: scopes.iter().map(|s| s.to_string()).collect(),
        access_token_extra: JsonObject::new(),
        id_token_extra: JsonObject::new(),
        auth_time: Some(now),
        acr: String::new(),
        session_id: None,
        requested_at: now,
    }
}

/// The bearer strings of seeded tokens.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

/// A token record of `kind` for `grant`, issued at `issued_at`, living `ttl`.
pub(crate) fn record(
    kind: TokenKind,
    grant: &GrantData,
    issued_at: OffsetDateTime,
    ttl: Option<Duration>,
) -> (String, TokenRecord) {
    let prefix = match kind {
        TokenKind::AccessToken => "op_at_",
        TokenKind::RefreshToken => "op_rt_",
    };
    let token = format!("{prefix}{}", random());
    let record = TokenRecord {
        signature: signature(&token),
        kind,
        grant: grant.clone(),
        issued_at,
        expires_at: ttl.map(|t| issued_at + t),
        status: TokenStatus::Active,
    };
    (token, record)
}

/// Inserts an access token (living `access_ttl`) and a non-expiring refresh token.
pub(crate) async fn tokens(
    p: &Provider,
    grant: &GrantData,
    issued_at: OffsetDateTime,
    access_ttl: Duration,
) -> Issued {
    let (access, access_record) =
        record(TokenKind::AccessToken, grant, issued_at, Some(access_ttl));
    let (refresh, refresh_record) = record(TokenKind::RefreshToken, grant, issued_at, None);
    p.store()
        .insert_tokens(IssuedTokens {
            access: access_record,
            refresh: Some(refresh_record),
        })
        .await
        .unwrap();
    Issued { access, refresh }
}

/// An accepted consent of `subject` for `client_id`; returns its challenge (the grant id).
pub(crate) async fn consent(
    p: &Provider,
    subject: &str,
    client_id: &str,
    remember: bool,
    remember_for: i64,
    requested_at: OffsetDateTime,
) -> String {
    let challenge = random();
    p.store()
        .create_consent_request(ConsentRequestRecord {
            challenge: challenge.clone(),
            verifier_digest: random(),
            csrf: random(),
            client_id: client_id.to_owned(),
            requested_scope: vec!["openid".into(), "core".into()],
            skip: false,
            subject: subject.to_owned(),
            oidc_context: OidcContext::default(),
            request_url: format!("https://auth.example.com/oauth2/auth?client_id={client_id}"),
            login_challenge: random(),
            login_session_id: None,
            acr: String::new(),
            force_subject_identifier: String::new(),
            authenticated_at: requested_at,
            requested_at,
            expires_at: requested_at + Duration::minutes(15),
            handled: None,
            verifier_used: false,
        })
        .await
        .unwrap();
    let mut extra = JsonObject::new();
    extra.insert("foo".into(), Value::from("bar"));
    p.store()
        .handle_consent_request(
            &challenge,
            HandledConsent::Accepted(AcceptedConsent {
                grant_scope: vec!["openid".into(), "core".into()],
                remember,
                remember_for,
                access_token_extra: extra,
                id_token_extra: JsonObject::new(),
                handled_at: requested_at,
            }),
        )
        .await
        .unwrap();
    challenge
}

/// Tokens of the grant a consent made (grant id = challenge).
pub(crate) async fn consent_tokens(
    p: &Provider,
    challenge: &str,
    subject: &str,
    client_id: &str,
    now: OffsetDateTime,
) -> Issued {
    let mut g = grant(client_id, subject, &["openid", "core"], now);
    g.grant_id = challenge.to_owned();
    tokens(p, &g, now, Duration::hours(1)).await
}

/// A login session of `subject` valid for a day from `now`.
pub(crate) async fn login_session(p: &Provider, subject: &str, now: OffsetDateTime) -> String {
    let id = random();
    p.store()
        .create_login_session(LoginSessionRecord {
            id: id.clone(),
            subject: subject.to_owned(),
            authenticated_at: now,
            expires_at: now + Duration::days(1),
        })
        .await
        .unwrap();
    id
}

/// `POST /oauth2/introspect` of `token`, answered by the admin API.
pub(crate) async fn introspect(p: &Provider, token: &str) -> Value {
    let res = p
        .admin()
        .handle(form_request("/oauth2/introspect", &[("token", token)]))
        .await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    body_json(&res)
}

/// Whether the admin API reports `token` active.
pub(crate) async fn is_active(p: &Provider, token: &str) -> bool {
    introspect(p, token).await["active"] == Value::Bool(true)
}

/// `POST /oauth2/revoke` of `token` by `client_id` with Basic authentication.
pub(crate) fn revoke_request(client_id: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    let mut req = form_request("/oauth2/revoke", pairs);
    req.headers_mut()
        .insert("authorization", basic(client_id).parse().unwrap());
    req
}
