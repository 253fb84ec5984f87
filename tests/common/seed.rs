//! Seeding the store directly (clients, grants, codes, tokens, consents, login sessions) for
//! tests that must not depend on the authorization flow, and reading token state back.
//!
//! Grants, credentials and their store digests come from the crate's own fixtures
//! (re-exported here), never from a copy of its formats.

use oauth2_provider::model::client::{ClientRecord, SecretHash};
use oauth2_provider::store::{
    AcceptedConsent, CodeRecord, ConsentRequestRecord, GrantData, HandledConsent, IssuedTokens,
    JsonObject, LoginSessionRecord, OidcContext, TokenKind,
};
use oauth2_provider::{Client, Clock, ManualClock, Provider};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

#[allow(unused_imports)] // each test binary uses a subset
pub use oauth2_provider::testing::fixtures::{
    grant, mint_code, mint_token, signature, token_record,
};

use super::{CHALLENGE, body_json, code_exchange, form_request, public};

/// The secret of every client seeded here (`client_secret_basic`).
pub const SECRET: &str = "a-generated-secret-of-enough-length-0123456789";
/// The redirect URI of the client models made here.
pub const REDIRECT: &str = "https://client.example.com/cb";

/// A fresh random value, hex.
pub fn random() -> String {
    format!("{:032x}", rand::random::<u128>())
}

// Clients.

/// A client model with the given grant types and scope, redirecting to [`REDIRECT`].
pub fn client_model(id: &str, grant_types: &[&str], scope: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        redirect_uris: vec![REDIRECT.to_owned()],
        grant_types: grant_types.iter().map(|g| (*g).to_owned()).collect(),
        scope: scope.to_owned(),
        ..Client::default()
    }
}

/// Registers a confidential client (`client_secret_basic`, secret [`SECRET`]).
pub async fn create_confidential(p: &Provider, client: Client) {
    p.store()
        .create_client(ClientRecord {
            client,
            secret_hash: Some(SecretHash::of_generated(SECRET)),
        })
        .await
        .unwrap();
}

/// Registers a public client (`token_endpoint_auth_method = none`).
pub async fn create_public(p: &Provider, mut client: Client) {
    client.token_endpoint_auth_method = "none".into();
    p.store()
        .create_client(ClientRecord {
            client,
            secret_hash: None,
        })
        .await
        .unwrap();
}

/// Registers a confidential `client_secret_basic` client with [`SECRET`] allowed the code,
/// refresh and client-credentials grants.
pub async fn client(p: &Provider, id: &str) -> Client {
    client_with_origins(p, id, Vec::new()).await
}

/// Like [`client`], allowing the given CORS origins.
pub async fn client_with_origins(p: &Provider, id: &str, origins: Vec<String>) -> Client {
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
    create_confidential(p, client.clone()).await;
    client
}

/// The usual code-flow client: code + refresh grants, ES256 ID tokens.
pub async fn code_client(p: &Provider, id: &str) {
    create_confidential(
        p,
        client_model(
            id,
            &["authorization_code", "refresh_token"],
            "openid offline foo.*",
        ),
    )
    .await;
}

// Grants, codes and tokens.

/// The grant of a consent of `alice` to `client_id`, as the flow would store it: a pairwise
/// subject identifier, an ACR, a login session, and ID-token extras that try to override
/// protected claims.
pub fn consented_grant(client_id: &str, scope: &[&str], now: OffsetDateTime) -> GrantData {
    let mut extra = JsonObject::new();
    extra.insert("email".into(), Value::from("alice@example.com"));
    extra.insert("sub".into(), Value::from("attacker-chosen"));
    extra.insert("iss".into(), Value::from("https://evil.example/"));
    GrantData {
        subject_identifier: "alice-pairwise".into(),
        id_token_extra: extra,
        auth_time: Some(now - Duration::minutes(2)),
        acr: "urn:acr:silver".into(),
        session_id: Some("session-123".into()),
        requested_at: now - Duration::minutes(3),
        ..grant(client_id, "alice", scope, now)
    }
}

/// An unused code record for `grant`, sent with [`REDIRECT`] and the PKCE [`CHALLENGE`].
pub fn code_record(code: &str, grant: GrantData, now: OffsetDateTime) -> CodeRecord {
    CodeRecord {
        signature: signature(code),
        grant,
        redirect_uri: Some(REDIRECT.to_owned()),
        effective_redirect_uri: REDIRECT.to_owned(),
        code_challenge: Some(CHALLENGE.to_owned()),
        nonce: Some("nonce-12345678".into()),
        issued_at: now,
        expires_at: now + Duration::minutes(10),
        used: false,
    }
}

/// Inserts `record` and returns nothing; the code string is the caller's.
pub async fn insert_code(p: &Provider, record: CodeRecord) {
    p.store().insert_code(record).await.unwrap();
}

/// A fresh code for `client_id` with `scope`, inserted; returns (code, grant id).
pub async fn issue_code(
    p: &Provider,
    clock: &ManualClock,
    client_id: &str,
    scope: &[&str],
) -> (String, String) {
    let code = mint_code();
    let g = consented_grant(client_id, scope, clock.now());
    let grant_id = g.grant_id.clone();
    insert_code(p, code_record(&code, g, clock.now())).await;
    (code, grant_id)
}

/// Exchanges a fresh code for tokens and returns the JSON body.
pub async fn tokens_for(
    p: &Provider,
    clock: &ManualClock,
    client_id: &str,
    scope: &[&str],
) -> Value {
    let (code, _) = issue_code(p, clock, client_id, scope).await;
    let res = public(p, code_exchange(client_id, &code)).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    body_json(&res)
}

/// The bearer strings of seeded tokens.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access: String,
    pub refresh: String,
}

/// Inserts an access token (living `access_ttl`) and a non-expiring refresh token.
pub async fn tokens(
    p: &Provider,
    grant: &GrantData,
    issued_at: OffsetDateTime,
    access_ttl: Duration,
) -> Issued {
    let (access, access_record) =
        token_record(TokenKind::AccessToken, grant, issued_at, Some(access_ttl));
    let (refresh, refresh_record) = token_record(TokenKind::RefreshToken, grant, issued_at, None);
    p.store()
        .insert_tokens(IssuedTokens {
            access: access_record,
            refresh: Some(refresh_record),
        })
        .await
        .unwrap();
    Issued { access, refresh }
}

// Consents and login sessions.

/// An accepted consent of `subject` for `client_id`; returns its challenge (the grant id).
pub async fn consent(
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
            requested_access_token_audience: Vec::new(),
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
                grant_access_token_audience: Vec::new(),
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
pub async fn consent_tokens(
    p: &Provider,
    challenge: &str,
    subject: &str,
    client_id: &str,
    now: OffsetDateTime,
) -> Issued {
    let g = GrantData {
        grant_id: challenge.to_owned(),
        ..grant(client_id, subject, &["openid", "core"], now)
    };
    tokens(p, &g, now, Duration::hours(1)).await
}

/// A login session of `subject` valid for a day from `now`.
pub async fn login_session(p: &Provider, subject: &str, now: OffsetDateTime) -> String {
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

// Reading token state back.

/// `POST /oauth2/introspect` of `token`, answered by the admin API.
pub async fn introspect(p: &Provider, token: &str) -> Value {
    let res = p
        .admin()
        .handle(form_request("/oauth2/introspect", &[("token", token)]))
        .await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    body_json(&res)
}

/// Whether the admin API reports `token` active.
pub async fn is_active(p: &Provider, token: &str) -> bool {
    introspect(p, token).await["active"] == Value::Bool(true)
}

/// Whether the access token is active in the store at the clock's time.
pub async fn access_active(p: &Provider, clock: &ManualClock, token: &str) -> bool {
    match p.store().access_token(&signature(token)).await {
        Ok(record) => record.is_active(clock.now()),
        Err(_) => false,
    }
}

/// Whether the refresh token is active in the store at the clock's time.
pub async fn refresh_active(p: &Provider, clock: &ManualClock, token: &str) -> bool {
    match p.store().refresh_token(&signature(token)).await {
        Ok(record) => record.is_active(clock.now()),
        Err(_) => false,
    }
}
