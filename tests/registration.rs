//! Dynamic client registration (RFC 7591) at `/oauth2/register` and its management (RFC 7592)
//! with the registration access token: the three policies, the token's reach, the metadata
//! rules (native clients by RFC 8252), discovery, and the route being off by default.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::flow::{CONSENT, ERROR, LOGIN};
use common::*;
use http::{Method, Request, StatusCode};
use oauth2_provider::{
    AuditEvent, AuditKind, Client, Config, DynamicRegistration, EventSink, InitialAccessTokens,
    OAuthError, Provider, RegistrationDecision, RegistrationHook, RegistrationPolicy,
    RegistrationRequest,
};
use serde_json::{Value, json};

const IAT: &str = "initial-access-token-0123456789";

fn config(policy: RegistrationPolicy) -> Config {
    let mut config = Config::new(ISSUER).unwrap();
    config.login_url = LOGIN.into();
    config.consent_url = CONSENT.into();
    config.error_url = ERROR.into();
    config.dynamic_client_registration = Some(DynamicRegistration::new(policy));
    config
}

async fn open() -> Provider {
    provider_with(config(RegistrationPolicy::Open)).await.0
}

/// What the MCP TypeScript SDK's `registerClient` POSTs for a CLI client.
fn mcp_metadata() -> Value {
    json!({
        "redirect_uris": ["http://localhost:8090/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "MCP CLI client",
        "software_id": "an unknown field, ignored (RFC 7591 §2)"
    })
}

fn register_request(body: &Value, bearer: Option<&str>) -> Request<Bytes> {
    with_bearer(json_request(Method::POST, "/oauth2/register", body), bearer)
}

fn with_bearer(mut req: Request<Bytes>, bearer: Option<&str>) -> Request<Bytes> {
    if let Some(token) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    req
}

fn managed(method: Method, id: &str, token: Option<&str>, body: Option<&Value>) -> Request<Bytes> {
    let uri = format!("/oauth2/register/{id}");
    let req = match body {
        Some(body) => json_request(method, &uri, body),
        None => empty_request(method, &uri),
    };
    with_bearer(req, token)
}

/// Registers `body` and returns the response's JSON (asserting 201).
async fn register(p: &Provider, body: &Value) -> Value {
    let res = public(p, register_request(body, None)).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(res.body())
    );
    body_json(&res)
}

#[tokio::test]
async fn the_mcp_sdk_request_registers_a_public_client() {
    let p = open().await;
    let res = public(&p, register_request(&mcp_metadata(), None)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_no_store(&res);
    let body = body_json(&res);
    let id = body["client_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a generated UUID");
    let uri = format!("https://auth.example.com/oauth2/register/{id}");
    assert_eq!(body["registration_client_uri"], uri.as_str());
    assert_eq!(res.headers()["location"], uri.as_str());
    assert!(
        body["registration_access_token"]
            .as_str()
            .unwrap()
            .starts_with("op_rg_")
    );
    assert!(body.get("client_secret").is_none(), "a public client");
    assert!(body.get("software_id").is_none());
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["application_type"], "web");
    assert_eq!(body["scope"], "offline_access offline openid");
    // No empty strings: the SDK refuses `"client_uri": ""`.
    assert!(body.get("client_uri").is_none() && body.get("logo_uri").is_none());
    // The admin API sees it, without token or secret.
    let stored = p.client(id).await.unwrap();
    assert_eq!(stored.redirect_uris, ["http://localhost:8090/callback"]);
    assert_eq!(stored.registration_access_token, None);
}

#[tokio::test]
async fn a_confidential_client_gets_a_generated_secret_and_cannot_choose_one() {
    let p = open().await;
    let body = register(&p, &json!({"redirect_uris": [common::seed::REDIRECT]})).await;
    assert_eq!(body["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(body["client_secret_expires_at"], 0);
    let res = public(
        &p,
        register_request(
            &json!({"redirect_uris": [common::seed::REDIRECT], "client_secret": "my-own-secret-0123456789"}),
            None,
        ),
    )
    .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_client_metadata");
}

#[tokio::test]
async fn the_access_token_strategy_is_the_operators_choice() {
    let p = open().await;
    let res = public(
        &p,
        register_request(
            &json!({"redirect_uris": [common::seed::REDIRECT], "access_token_strategy": "jwt"}),
            None,
        ),
    )
    .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    // A client may still restrict itself to audiences (RFC 8707 resources).
    let body = register(
        &p,
        &json!({"redirect_uris": [common::seed::REDIRECT], "audience": ["https://api.example.com/"]}),
    )
    .await;
    assert_eq!(body["audience"], json!(["https://api.example.com/"]));
}

#[tokio::test]
async fn a_chosen_client_id_is_replaced() {
    let p = open().await;
    let body = register(
        &p,
        &json!({"client_id": "squatted", "redirect_uris": [common::seed::REDIRECT]}),
    )
    .await;
    assert_ne!(body["client_id"], "squatted");
    assert!(p.client("squatted").await.is_err());
}

#[tokio::test]
async fn hostile_redirect_uris_are_invalid_redirect_uri() {
    let p = open().await;
    for uri in [
        "javascript:alert(1)",
        "http://evil.example.com/cb",
        "https://app.example.com/cb#fragment",
        "data:text/html,hi",
    ] {
        let res = public(&p, register_request(&json!({"redirect_uris": [uri]}), None)).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
    }
    // Other bad metadata is invalid_client_metadata; nothing was stored.
    let res = public(
        &p,
        register_request(
            &json!({"redirect_uris": [common::seed::REDIRECT], "grant_types": ["password"]}),
            None,
        ),
    )
    .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    let res = public(
        &p,
        register_request(&json!({"redirect_uris": "not a list"}), None),
    )
    .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    assert!(p.list_clients(500, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn native_clients_follow_rfc_8252() {
    let p = open().await;
    for uri in [
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "com.example.app:/cb",
        "https://app.example.com/cb",
    ] {
        register(&p, &json!({"application_type": "native", "redirect_uris": [uri], "token_endpoint_auth_method": "none"})).await;
    }
    // A web client may keep a scheme that is no domain name, as the admin API allows; a
    // native one may not.
    register(&p, &json!({"redirect_uris": ["myapp://cb"]})).await;
    for (metadata, error) in [
        (
            json!({"application_type": "native", "redirect_uris": ["myapp://cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"application_type": "native", "redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"application_type": "desktop", "redirect_uris": ["https://app.example.com/cb"]}),
            "invalid_client_metadata",
        ),
    ] {
        let res = public(&p, register_request(&metadata, None)).await;
        assert_error(&res, StatusCode::BAD_REQUEST, error);
    }
}

#[tokio::test]
async fn a_native_loopback_client_may_use_any_port_at_the_authorization_endpoint() {
    let p = open().await;
    let body = register(
        &p,
        &json!({"application_type": "native", "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    let id = body["client_id"].as_str().unwrap();
    let query = q(&[
        ("client_id", id),
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:51234/callback"),
        ("scope", "openid"),
        ("state", "state-0123456789"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let res = public(
        &p,
        empty_request(Method::GET, &format!("/oauth2/auth?{query}")),
    )
    .await;
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(LOGIN), "{location}");
}

#[tokio::test]
async fn the_registration_access_token_manages_its_client_only() {
    let p = open().await;
    let a = register(&p, &mcp_metadata()).await;
    let b = register(&p, &mcp_metadata()).await;
    let (a_id, a_token) = (
        a["client_id"].as_str().unwrap(),
        a["registration_access_token"].as_str().unwrap(),
    );
    let b_id = b["client_id"].as_str().unwrap();

    let res = public(&p, managed(Method::GET, a_id, Some(a_token), None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let read = body_json(&res);
    assert_eq!(read["client_id"], a_id);
    assert!(read.get("registration_access_token").is_none());
    assert_eq!(
        read["registration_client_uri"],
        a["registration_client_uri"]
    );

    // Another client's token, a wrong one, none, an unknown client: the same 401.
    for req in [
        managed(Method::GET, b_id, Some(a_token), None),
        managed(Method::DELETE, b_id, Some(a_token), None),
        managed(Method::GET, a_id, Some("op_rg_wrong"), None),
        managed(Method::GET, a_id, None, None),
        managed(Method::GET, "no-such-client", Some(a_token), None),
    ] {
        let res = public(&p, req).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(res.headers().contains_key("www-authenticate"));
    }
    // A client of the admin API has no registration token to present.
    p.create_client(Client {
        client_id: "admin-made".into(),
        redirect_uris: vec![common::seed::REDIRECT.into()],
        ..Client::default()
    })
    .await
    .unwrap();
    let res = public(&p, managed(Method::GET, "admin-made", Some(a_token), None)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(p.client(b_id).await.is_ok());
}

#[tokio::test]
async fn update_replaces_the_metadata_and_rotates_the_token() {
    let p = open().await;
    let created = register(&p, &mcp_metadata()).await;
    let id = created["client_id"].as_str().unwrap();
    let token = created["registration_access_token"].as_str().unwrap();
    let update = json!({
        "client_id": id,
        "redirect_uris": ["http://127.0.0.1:9000/cb"],
        "token_endpoint_auth_method": "none",
        "client_name": "renamed",
        "scope": "openid"
    });
    let res = public(&p, managed(Method::PUT, id, Some(token), Some(&update))).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(res.body())
    );
    assert_no_store(&res);
    let body = body_json(&res);
    assert_eq!(body["client_name"], "renamed");
    let new_token = body["registration_access_token"].as_str().unwrap();
    assert_ne!(new_token, token);
    assert_eq!(
        p.client(id).await.unwrap().redirect_uris,
        ["http://127.0.0.1:9000/cb"]
    );

    let res = public(&p, managed(Method::GET, id, Some(token), None)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_token");
    // Another client_id, a chosen secret, a bad redirect URI: refused, nothing changes.
    for (body, error) in [
        (
            json!({"client_id": "other", "redirect_uris": ["http://127.0.0.1/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_secret": "chosen-secret-0123456789", "redirect_uris": ["http://127.0.0.1/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
    ] {
        let res = public(&p, managed(Method::PUT, id, Some(new_token), Some(&body))).await;
        assert_error(&res, StatusCode::BAD_REQUEST, error);
    }
    assert_eq!(p.client(id).await.unwrap().client_name, "renamed");
    let res = public(&p, managed(Method::GET, id, Some(new_token), None)).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn delete_removes_the_client_and_the_token_with_it() {
    let p = open().await;
    let created = register(&p, &mcp_metadata()).await;
    let id = created["client_id"].as_str().unwrap();
    let token = created["registration_access_token"].as_str().unwrap();
    let res = public(&p, managed(Method::DELETE, id, Some(token), None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(p.client(id).await.is_err());
    let res = public(&p, managed(Method::GET, id, Some(token), None)).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn an_admin_update_keeps_the_registration_access_token() {
    let p = open().await;
    let created = register(&p, &mcp_metadata()).await;
    let id = created["client_id"].as_str().unwrap();
    let token = created["registration_access_token"].as_str().unwrap();
    let mut client = p.client(id).await.unwrap();
    client.client_name = "by the admin".into();
    p.update_client(id, client).await.unwrap();
    let res = public(&p, managed(Method::GET, id, Some(token), None)).await;
    assert_eq!(body_json(&res)["client_name"], "by the admin");
}

#[tokio::test]
async fn the_initial_access_token_policy_needs_a_configured_token() {
    let tokens = InitialAccessTokens::new([IAT, "another-initial-token-0123"]).unwrap();
    let (p, _) = provider_with(config(RegistrationPolicy::InitialAccessToken(tokens))).await;
    for bearer in [
        None,
        Some("wrong-initial-access-token-000"),
        Some("initial-access-token-012345678"),
    ] {
        let res = public(&p, register_request(&mcp_metadata(), bearer)).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_token");
    }
    assert!(p.list_clients(500, 0).await.unwrap().is_empty());
    for bearer in [IAT, "another-initial-token-0123"] {
        let res = public(&p, register_request(&mcp_metadata(), Some(bearer))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    assert!(InitialAccessTokens::new(["short"]).is_err());
    assert!(InitialAccessTokens::new(Vec::<String>::new()).is_err());
}

/// What the hook saw of a request: method, client id, `X-Forwarded-For`.
type Seen = (Method, Option<String>, Option<String>);

/// A hook that refuses by name, rate-limits, edits the scope, and records what it saw.
#[derive(Debug, Default)]
struct Reviewer {
    seen: Mutex<Vec<Seen>>,
}

#[oauth2_provider::async_trait]
impl RegistrationHook for Reviewer {
    async fn review(&self, request: RegistrationRequest<'_>) -> RegistrationDecision {
        let forwarded = request
            .http
            .headers()
            .get("x-forwarded-for")
            .map(|v| v.to_str().unwrap().to_owned());
        self.seen.lock().unwrap().push((
            request.http.method().clone(),
            request.client_id.map(str::to_owned),
            forwarded,
        ));
        match request.metadata.client_name.as_str() {
            "refused" => RegistrationDecision::Refuse(OAuthError::new(
                "access_denied",
                "Not from this network.",
                StatusCode::FORBIDDEN,
            )),
            "flood" => RegistrationDecision::Refuse(OAuthError::new(
                "too_many_requests",
                "Slow down.",
                StatusCode::TOO_MANY_REQUESTS,
            )),
            "edited" => RegistrationDecision::ApproveWith(Box::new(Client {
                scope: "openid".into(),
                client_id: "ignored".into(),
                ..request.metadata.clone()
            })),
            "unsafe edit" => RegistrationDecision::ApproveWith(Box::new(Client {
                redirect_uris: vec!["javascript:alert(1)".into()],
                ..request.metadata.clone()
            })),
            _ => RegistrationDecision::Approve,
        }
    }
}

#[tokio::test]
async fn the_hook_approves_edits_refuses_and_rate_limits() {
    let hook = Arc::new(Reviewer::default());
    let (p, _) = provider_with(config(RegistrationPolicy::Hook(hook.clone()))).await;
    let named = |name: &str| json!({"client_name": name, "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"});

    let mut req = register_request(&named("approved"), None);
    req.headers_mut()
        .insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
    let res = public(&p, req).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let approved = body_json(&res);

    let edited = register(&p, &named("edited")).await;
    assert_eq!(edited["scope"], "openid");
    assert_ne!(edited["client_id"], "ignored");

    let res = public(&p, register_request(&named("refused"), None)).await;
    assert_error(&res, StatusCode::FORBIDDEN, "access_denied");
    let res = public(&p, register_request(&named("flood"), None)).await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    // What the hook approves still passes the rules.
    let res = public(&p, register_request(&named("unsafe edit"), None)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
    assert_eq!(p.list_clients(500, 0).await.unwrap().len(), 2);

    // Updates are reviewed too, with the client's id.
    let id = approved["client_id"].as_str().unwrap();
    let token = approved["registration_access_token"].as_str().unwrap();
    let res = public(
        &p,
        managed(Method::PUT, id, Some(token), Some(&named("flood"))),
    )
    .await;
    assert_error(&res, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");

    let seen = hook.seen.lock().unwrap();
    assert_eq!(seen[0], (Method::POST, None, Some("203.0.113.7".into())));
    assert_eq!(
        seen.last().unwrap(),
        &(Method::PUT, Some(id.to_owned()), None)
    );
}

#[tokio::test]
async fn discovery_advertises_the_endpoint_only_when_registration_is_on() {
    let on = open().await;
    let (off, _) = provider().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = body_json(&public(&on, empty_request(Method::GET, path)).await);
        assert_eq!(
            doc["registration_endpoint"],
            "https://auth.example.com/oauth2/register"
        );
        let doc = body_json(&public(&off, empty_request(Method::GET, path)).await);
        assert!(doc.get("registration_endpoint").is_none());
    }
}

#[tokio::test]
async fn registration_is_off_by_default() {
    let (p, _) = provider().await;
    assert!(p.config().dynamic_client_registration.is_none());
    for req in [
        register_request(&mcp_metadata(), None),
        managed(Method::GET, "x", Some("op_rg_x"), None),
        managed(Method::DELETE, "x", Some("op_rg_x"), None),
        empty_request(Method::PATCH, "/oauth2/register"),
    ] {
        let res = public(&p, req).await;
        assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    }
    assert!(p.list_clients(500, 0).await.unwrap().is_empty());
}

#[derive(Debug)]
struct Collect(Mutex<std::sync::mpsc::Sender<AuditEvent>>);

impl EventSink for Collect {
    fn record(&self, event: &AuditEvent) {
        let _ = self.0.lock().unwrap().send(event.clone());
    }
}

#[tokio::test]
async fn registration_is_audited_like_the_admin_api() {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = Provider::builder(config(RegistrationPolicy::Open))
        .event_sink(Arc::new(Collect(Mutex::new(tx))))
        .build()
        .await
        .unwrap();
    let created = register(&p, &mcp_metadata()).await;
    let id = created["client_id"].as_str().unwrap();
    let token = created["registration_access_token"].as_str().unwrap();
    let res = public(
        &p,
        managed(Method::PUT, id, Some(token), Some(&mcp_metadata())),
    )
    .await;
    let token = body_json(&res)["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = public(&p, managed(Method::DELETE, id, Some(&token), None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let client_id = id.to_owned();
    for expected in [
        AuditKind::ClientCreated {
            client_id: client_id.clone(),
        },
        AuditKind::ClientUpdated {
            client_id: client_id.clone(),
        },
        AuditKind::ClientDeleted { client_id },
    ] {
        let event = rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(event.kind, expected);
    }
}
