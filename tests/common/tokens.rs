//! Helpers for the token-endpoint tests: clients, codes minted like the real ones, token
//! requests, ID-token verification against the published JWKS, and token status lookups.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Method, Request, Response};
use oauth2_provider::jose::{Algorithm, JwkSet, VerifyingKeys};
use oauth2_provider::model::client::{Client, ClientRecord, SecretHash};
use oauth2_provider::store::{CodeRecord, GrantData, JsonObject};
use oauth2_provider::{Clock, ManualClock, Provider};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::{body_json, empty_request, form_request};

pub const SECRET: &str = "a-generated-secret-of-enough-length-0123456789";
pub const REDIRECT: &str = "https://client.example.com/cb";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// SHA-256 hex, as the store keys tokens.
pub fn sig(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A code minted like the authorization endpoint mints them.
pub fn mint_code() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("op_ac_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A client model with the given grant types and scope.
pub fn client(id: &str, grant_types: &[&str], scope: &str) -> Client {
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

/// The usual code-flow client: code + refresh grants, ES256 ID tokens.
pub async fn code_client(p: &Provider, id: &str) {
    create_confidential(
        p,
        client(
            id,
            &["authorization_code", "refresh_token"],
            "openid offline foo.*",
        ),
    )
    .await;
}

/// The grant of a consent for `client_id`, as the flow would store it.
pub fn grant(client_id: &str, scope: &[&str], now: OffsetDateTime) -> GrantData {
    let mut extra = JsonObject::new();
    extra.insert("email".into(), Value::from("alice@example.com"));
    extra.insert("sub".into(), Value::from("attacker-chosen"));
    extra.insert("iss".into(), Value::from("https://evil.example/"));
    GrantData {
        grant_id: format!("grant-{}", mint_code()),
        client_id: client_id.to_owned(),
        subject: "alice".into(),
        subject_identifier: "alice-pairwise".into(),
        granted_scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        access_token_extra: JsonObject::new(),
        id_token_extra: extra,
        auth_time: Some(now - Duration::minutes(2)),
        acr: "urn:acr:silver".into(),
        session_id: Some("session-123".into()),
        requested_at: now - Duration::minutes(3),
    }
}

/// An unused code record for `grant`, sent with [`REDIRECT`] and the PKCE [`CHALLENGE`].
pub fn code_record(code: &str, grant: GrantData, now: OffsetDateTime) -> CodeRecord {
    CodeRecord {
        signature: sig(code),
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
    let g = grant(client_id, scope, clock.now());
    let grant_id = g.grant_id.clone();
    insert_code(p, code_record(&code, g, clock.now())).await;
    (code, grant_id)
}

/// `Authorization: Basic` for id and secret (form-urlencoded first, RFC 6749 §2.3.1).
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// A token request authenticated with Basic as `client_id` / [`SECRET`].
pub fn token_request(client_id: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    let mut req = form_request("/oauth2/token", pairs);
    req.headers_mut()
        .insert("authorization", basic(client_id, SECRET).parse().unwrap());
    req
}

/// The standard code exchange request with [`REDIRECT`] and [`VERIFIER`].
pub fn code_exchange(client_id: &str, code: &str) -> Request<Bytes> {
    token_request(
        client_id,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
}

/// A refresh request.
pub fn refresh_request(client_id: &str, refresh_token: &str) -> Request<Bytes> {
    token_request(
        client_id,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
}

/// Sends a request to the public API.
pub async fn public(p: &Provider, req: Request<Bytes>) -> Response<Bytes> {
    p.public().handle(req).await
}

/// Asserts `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn assert_no_store(res: &Response<Bytes>) {
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
}

/// Verifies an ID token against the published JWKS and returns its claims.
pub async fn verify_id_token(p: &Provider, token: &str) -> Map<String, Value> {
    let res = public(p, empty_request(Method::GET, "/.well-known/jwks.json")).await;
    let set: JwkSet = serde_json::from_slice(res.body()).unwrap();
    VerifyingKeys::from_jwk_set(&set)
        .unwrap()
        .verify_jwt(token)
        .unwrap()
}

/// The `alg` of a JWS header.
pub fn jwt_alg(token: &str) -> Algorithm {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    serde_json::from_value(header["alg"].clone()).unwrap()
}

/// Whether the access token is active in the store at the clock's time.
pub async fn access_active(p: &Provider, clock: &ManualClock, token: &str) -> bool {
    match p.store().access_token(&sig(token)).await {
        Ok(record) => record.is_active(clock.now()),
        Err(_) => false,
    }
}

/// Whether the refresh token is active in the store at the clock's time.
pub async fn refresh_active(p: &Provider, clock: &ManualClock, token: &str) -> bool {
    match p.store().refresh_token(&sig(token)).await {
        Ok(record) => record.is_active(clock.now()),
        Err(_) => false,
    }
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
