//! The protected resource example runs for real next to the axum example: it publishes its
//! RFC 9728 metadata, challenges a request without a token as RFC 9728 §5.1 says, refuses a
//! token that the provider says is inactive, and one that is active but not issued for it
//! (RFC 8707 audience), answers 503 when it cannot ask, and exits 2 on bad configuration.
//! (The whole MCP client flow is `tests/mcp_sdk/run.sh`, with the official SDK.)
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::process::{Response, Server, command, exchange, http};

/// The authorization server (the axum example) and the protected resource pointed at it.
fn start(admin_url: Option<&str>) -> (Server, Server, String) {
    let provider = Server::start(
        "axum_server",
        &[("SYSTEM_SECRET", "a-test-secret-of-32-bytes-length")],
    );
    let issuer = format!("http://{}/", provider.public);
    let admin = admin_url.map_or_else(|| format!("http://{}", provider.admin), str::to_owned);
    let (resource, addrs) = Server::start_listening(
        "protected_resource",
        &[
            ("RESOURCE_PORT", "0"),
            ("OAUTH2_ISSUER_URL", &issuer),
            ("ADMIN_URL", &admin),
        ],
        &["protected resource listening on http://"],
    );
    let addr = addrs.into_iter().next().unwrap();
    (provider, resource, addr)
}

/// `tools/list` at the MCP endpoint, with `Authorization: Bearer {token}` if given.
fn list_tools(addr: &str, token: Option<&str>) -> Response {
    mcp(
        addr,
        token,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    )
}

/// One JSON-RPC message to the MCP endpoint, with `Authorization: Bearer {token}` if given.
fn mcp(addr: &str, token: Option<&str>, message: &str) -> Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    exchange(
        addr,
        "POST",
        "/mcp",
        &headers,
        message.as_bytes(),
        message.len(),
    )
}

#[test]
fn metadata_and_the_challenge_without_a_token() {
    let (provider, _resource, addr) = start(None);
    let resource = format!("http://{addr}/mcp");
    let metadata_url = format!("http://{addr}/.well-known/oauth-protected-resource/mcp");
    // §3.1 inserts the well-known string before the resource's path; the MCP spec lets a
    // client look at the root second.
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, body) = http(&addr, "GET", path, b"");
        assert_eq!(status, 200, "{path}: {body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], resource.as_str(), "{body}");
        assert_eq!(
            doc["authorization_servers"],
            serde_json::json!([format!("http://{}/", provider.public)])
        );
        assert_eq!(
            doc["bearer_methods_supported"],
            serde_json::json!(["header"])
        );
        assert_eq!(doc["scopes_supported"], serde_json::json!(["mcp:tools"]));
    }
    let res = list_tools(&addr, None);
    assert_eq!(res.status, 401, "{}", res.body);
    // RFC 6750 §3.1: no error code when the request carried no credentials.
    assert_eq!(
        res.header("www-authenticate"),
        Some(format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"mcp:tools\"").as_str())
    );
    // Another scheme is no bearer token either.
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let basic = exchange(
        &addr,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Basic YTpi"),
        ],
        body,
        body.len(),
    );
    assert_eq!(basic.status, 401);
    assert!(!basic.header("www-authenticate").unwrap().contains("error="));
    // No SSE stream, no sessions.
    let get = exchange(&addr, "GET", "/mcp", &[], b"", 0);
    assert_eq!((get.status, get.header("allow")), (405, Some("POST")));
}

#[test]
fn tokens_not_issued_for_the_resource_are_refused() {
    let (provider, _resource, addr) = start(None);
    let res = list_tools(&addr, Some("op_at_not-a-token"));
    assert_eq!(res.status, 401, "{}", res.body);
    let challenge = res.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\"") && challenge.contains("not active"),
        "{challenge}"
    );
    assert!(challenge.contains("resource_metadata=\""), "{challenge}");
    assert_eq!(res.json()["error"], "invalid_token");

    // An active access token of the provider, asked without `resource`: it is for no
    // resource, so not for this one.
    let client = machine_client(&provider, &[], "opaque");
    let access_token = client_token(&provider, &client, "scope=mcp%3Atools");
    let res = list_tools(&addr, Some(&access_token));
    assert_eq!(res.status, 401, "{}", res.body);
    let challenge = res.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"invalid_token\"")
            && challenge.contains("not issued for this resource"),
        "{challenge}"
    );
}

/// A client-credentials client allowed the scopes `mcp:tools other` and the resources
/// `audience`, getting `strategy` access tokens; its id and secret.
fn machine_client(provider: &Server, audience: &[&str], strategy: &str) -> (String, String) {
    let client = serde_json::json!({
        "grant_types": ["client_credentials"],
        "scope": "mcp:tools other",
        "audience": audience,
        "access_token_strategy": strategy,
    });
    let (status, body) = http(
        &provider.admin,
        "POST",
        "/clients",
        client.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let client: serde_json::Value = serde_json::from_str(&body).unwrap();
    let field = |name: &str| client[name].as_str().unwrap().to_owned();
    (field("client_id"), field("client_secret"))
}

/// A client-credentials access token asked with `form` (`scope=…&resource=…`).
fn client_token(provider: &Server, (id, secret): &(String, String), form: &str) -> String {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let form = format!("grant_type=client_credentials&{form}");
    let token = exchange(
        &provider.public,
        "POST",
        "/oauth2/token",
        &[
            ("Authorization", &format!("Basic {basic}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
        form.len(),
    );
    assert_eq!(token.status, 200, "{form}: {}", token.body);
    token.json()["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn a_token_for_the_resource_is_served_and_its_scope_enforced() {
    let (provider, _resource, addr) = start(None);
    let resource = format!("http://{addr}/mcp");
    let encoded: String = url::form_urlencoded::byte_serialize(resource.as_bytes()).collect();
    // Opaque tokens and RFC 9068 JWT access tokens alike: both are introspected.
    for strategy in ["opaque", "jwt"] {
        let client = machine_client(&provider, &[&resource, "https://other.example/"], strategy);
        let token = client_token(
            &provider,
            &client,
            &format!("scope=mcp%3Atools&resource={encoded}"),
        );
        let res = list_tools(&addr, Some(&token));
        assert_eq!(res.status, 200, "{strategy}: {}", res.body);
        assert_eq!(res.json()["result"]["tools"][0]["name"], "whoami");
        let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;
        let res = mcp(&addr, Some(&token), call);
        let text = res.json()["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let whoami: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(whoami["aud"], serde_json::json!([resource]), "{strategy}");
        assert_eq!(whoami["sub"], client.0.as_str());

        // For this resource but without the scope it requires: 403, naming the scope.
        let token = client_token(
            &provider,
            &client,
            &format!("scope=other&resource={encoded}"),
        );
        let res = list_tools(&addr, Some(&token));
        assert_eq!(res.status, 403, "{strategy}: {}", res.body);
        let challenge = res.header("www-authenticate").unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"insufficient_scope\", scope=\"mcp:tools\""),
            "{challenge}"
        );

        // With the scope, but for another resource: 401.
        let token = client_token(
            &provider,
            &client,
            "scope=mcp%3Atools&resource=https%3A%2F%2Fother.example%2F",
        );
        let res = list_tools(&addr, Some(&token));
        assert_eq!(res.status, 401, "{strategy}: {}", res.body);
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .contains("not issued for this resource")
        );
    }
}

#[test]
fn an_unreachable_authorization_server_is_503_not_a_verdict() {
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    let (_provider, _resource, addr) = start(Some("http://127.0.0.1:9"));
    let res = list_tools(&addr, Some("op_at_some-token"));
    assert_eq!(res.status, 503, "{}", res.body);
    assert_eq!(res.json()["error"], "temporarily_unavailable");
    assert_eq!(list_tools(&addr, None).status, 401);
}

#[test]
fn bad_configuration_exits_with_code_2() {
    for (env, expected) in [
        (
            ("RESOURCE_URL", "http://127.0.0.1:4446/mcp#x"),
            "RESOURCE_URL",
        ),
        (("RESOURCE_URL", "ftp://127.0.0.1/mcp"), "RESOURCE_URL"),
        (("ADMIN_URL", "https://admin.example"), "ADMIN_URL"),
        (("RESOURCE_SCOPES", "a\"b"), "RESOURCE_SCOPES"),
        (("RESOURCE_PORT", "70000"), "RESOURCE_PORT"),
    ] {
        let out = command("protected_resource", &[env]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
    }
}
