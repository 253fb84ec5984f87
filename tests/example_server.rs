//! The example servers run for real: bad configuration exits with code 2 and one line on
//! stderr, a started server answers over loopback HTTP (discovery, health, 413), and SIGTERM
//! stops it cleanly with exit code 0.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::process::{Server, command, exchange, http};

fn assert_config_error(name: &'static str, env: &[(&str, &str)], expected: &str) {
    let out = command(name, env).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name} {env:?}: {stderr}");
    assert!(stderr.contains(expected), "{name} {env:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("pw@"),
        "a database password was echoed: {stderr}"
    );
}

fn serves_and_stops_cleanly(name: &'static str) {
    let server = Server::start(
        name,
        &[("SYSTEM_SECRET", "a-test-secret-of-32-bytes-length")],
    );
    let (status, body) = http(
        &server.public,
        "GET",
        "/.well-known/openid-configuration",
        b"",
    );
    assert_eq!(status, 200, "{body}");
    let port = Server::port(&server.public);
    assert!(
        body.contains(&format!("\"issuer\":\"http://127.0.0.1:{port}/\"")),
        "the default issuer follows PUBLIC_PORT: {body}"
    );
    for path in ["/health/alive", "/health/ready"] {
        assert_eq!(http(&server.admin, "GET", path, b"").0, 200);
    }
    // Admin paths are not served on the public listener.
    assert_eq!(http(&server.public, "GET", "/health/alive", b"").0, 404);
    // An announced body over the limit with `Expect: 100-continue` is refused before it is
    // sent. (Without it the client sends at once, and the server drains what it sends
    // before answering: `readable_413.rs`.)
    for (addr, path) in [
        (&server.admin, "/clients"),
        (&server.public, "/oauth2/token"),
    ] {
        let res = exchange(
            addr,
            "POST",
            path,
            &[("Expect", "100-continue")],
            b"",
            70_000,
        );
        assert_eq!(res.status, 413, "{}", res.body);
        assert!(
            res.body.contains("request_entity_too_large"),
            "{}",
            res.body
        );
    }
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn hyper_example_serves_and_stops_cleanly() {
    serves_and_stops_cleanly("hyper_server");
}

#[test]
fn axum_example_serves_and_stops_cleanly() {
    serves_and_stops_cleanly("axum_server");
}

#[test]
fn bad_configuration_exits_with_code_2() {
    for name in ["hyper_server", "axum_server"] {
        assert_config_error(
            name,
            &[("DATABASE_URL", "postgres://u:pw@db/x")],
            "DATABASE_URL=postgres",
        );
        assert_config_error(name, &[("DATABASE_URL", "mongodb://x")], "unknown store");
        assert_config_error(
            name,
            &[("ACCESS_TOKEN_LIFESPAN", "1d")],
            "ACCESS_TOKEN_LIFESPAN",
        );
        assert_config_error(
            name,
            &[("OAUTH2_ISSUER_URL", "http://auth.example.com/")],
            "loopback",
        );
        assert_config_error(name, &[("SYSTEM_SECRET", "short")], "at least 16 bytes");
        assert_config_error(name, &[("PUBLIC_PORT", "70000")], "PUBLIC_PORT");
        assert_config_error(
            name,
            &[("OAUTH2_SHARE_ERROR_DEBUG", "yes")],
            "true or false",
        );
        assert_config_error(name, &[("OAUTH2_LOGIN_URL", "not a url")], "login_url");
    }
}

#[test]
fn audit_log_gets_one_json_line_per_event() {
    let dir = common::TempDir::new("audit-log");
    let log = dir.path().join("audit.jsonl");
    let server = Server::start("hyper_server", &[("AUDIT_LOG", log.to_str().unwrap())]);
    let client = br#"{"client_id":"audited","grant_types":["client_credentials"]}"#;
    assert_eq!(http(&server.admin, "POST", "/clients", client).0, 201);
    assert_eq!(
        http(&server.admin, "DELETE", "/clients/audited", b"").0,
        204
    );
    assert_eq!(server.terminate(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kinds: Vec<_> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["client_created", "client_deleted"], "{text}");
    assert!(
        events
            .iter()
            .all(|e| e["client_id"] == "audited" && e["at"].is_string())
    );
}

/// A client with a generated secret, created over the admin API; its id and secret.
fn seeded_client(server: &Server) -> (String, String) {
    let body = br#"{"client_id":"metered","grant_types":["client_credentials"]}"#;
    let (status, body) = http(&server.admin, "POST", "/clients", body);
    assert_eq!(status, 201, "{body}");
    let client: serde_json::Value = serde_json::from_str(&body).unwrap();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    ("metered".into(), secret)
}

fn client_credentials(server: &Server, (id, secret): &(String, String)) -> u16 {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let body = b"grant_type=client_credentials";
    let res = exchange(
        &server.public,
        "POST",
        "/oauth2/token",
        &[
            ("Authorization", &format!("Basic {basic}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body,
        body.len(),
    );
    res.status
}

fn metrics_count_what_happened(name: &'static str) {
    let server = Server::start(name, &[]);
    let client = seeded_client(&server);
    for _ in 0..3 {
        assert_eq!(client_credentials(&server, &client), 200);
    }
    let unknown = exchange(&server.public, "GET", "/no/such/path", &[], b"", 0);
    assert_eq!(unknown.status, 404);
    let res = exchange(&server.admin, "GET", "/metrics/prometheus", &[], b"", 0);
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(
        res.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.body;
    for line in [
        r#"oauth2_requests_total{api="public",route="token",status="200"} 3"#,
        r#"oauth2_requests_total{api="admin",route="clients",status="201"} 1"#,
        r#"oauth2_request_duration_seconds_count{api="public",route="token",status="200"} 3"#,
        r#"oauth2_request_duration_seconds_bucket{api="public",route="token",status="200",le="+Inf"} 3"#,
        r#"oauth2_requests_total{api="public",route="",status="404"} 1"#,
        r#"oauth2_tokens_issued_total{grant_type="client_credentials"} 3"#,
        r#"oauth2_tokens_issued_total{grant_type="authorization_code"} 0"#,
        r#"oauth2_flows_started_total{stage="login"} 0"#,
        r#"oauth2_flows_completed_total{stage="consent"} 0"#,
        "oauth2_store_failures_total 0",
        "oauth2_secret_checks_in_flight 0",
        "oauth2_audit_events_dropped_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }
    // Metrics live on the admin listener only.
    let public = exchange(&server.public, "GET", "/metrics/prometheus", &[], b"", 0);
    assert_eq!(public.status, 404);
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn hyper_example_serves_prometheus_metrics() {
    metrics_count_what_happened("hyper_server");
}

#[test]
fn axum_example_serves_prometheus_metrics() {
    metrics_count_what_happened("axum_server");
}

#[test]
fn json_log_and_hydra_names() {
    let server = Server::start(
        "hyper_server",
        &[
            ("LOG_LEVEL", "debug"),
            ("LOG_FORMAT", "json"),
            ("BCRYPT_COST", "12"),
            ("OIDC_SUBJECT_TYPES_SUPPORTED", "public,pairwise"),
            ("OIDC_SUBJECT_TYPE_PAIRWISE_SALT", "a-pairwise-salt"),
            ("PROMETHEUS_METRICS", "false"),
        ],
    );
    let (status, body) = http(
        &server.public,
        "GET",
        "/.well-known/openid-configuration",
        b"",
    );
    assert_eq!(status, 200);
    let discovery: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        discovery["subject_types_supported"],
        serde_json::json!(["public", "pairwise"])
    );
    let client = seeded_client(&server);
    assert_eq!(client_credentials(&server, &client), 200);
    assert_eq!(
        exchange(&server.admin, "GET", "/metrics/prometheus", &[], b"", 0).status,
        404,
        "PROMETHEUS_METRICS=false"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.stderr().contains("tokens issued") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let stderr = server.stderr();
    assert!(
        stderr.contains("warning: BCRYPT_COST (Hydra) is not supported and is ignored"),
        "{stderr}"
    );
    let issued = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["fields"]["message"] == "tokens issued")
        .unwrap_or_else(|| panic!("no JSON event: {stderr}"));
    assert_eq!(issued["level"], "DEBUG");
    assert_eq!(issued["fields"]["grant_type"], "client_credentials");
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn hydra_subject_type_names_are_checked() {
    let name = "hyper_server";
    assert_config_error(
        name,
        &[("OIDC_SUBJECT_TYPES_PAIRWISE_SALT", "a-pairwise-salt")],
        "OIDC_SUBJECT_TYPE_PAIRWISE_SALT",
    );
    assert_config_error(
        name,
        &[("OIDC_SUBJECT_TYPES_SUPPORTED", "public,pairwise")],
        "set OIDC_SUBJECT_TYPE_PAIRWISE_SALT",
    );
    assert_config_error(
        name,
        &[("OIDC_SUBJECT_TYPES_SUPPORTED", "pairwise")],
        "must include public",
    );
    assert_config_error(
        name,
        &[("OIDC_SUBJECT_TYPES_SUPPORTED", "secret")],
        "unknown subject type",
    );
    assert_config_error(name, &[("LOG_LEVEL", "loud")], "LOG_LEVEL");
    assert_config_error(name, &[("LOG_FORMAT", "xml")], "LOG_FORMAT");
}

/// Serves one Client ID Metadata Document on 127.0.0.1 from a thread; returns its URL.
fn serve_client_metadata_document() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/client.json", listener.local_addr().unwrap());
    let body = serde_json::json!({
        "client_id": url,
        "client_name": "Loopback MCP Client",
        "redirect_uris": ["http://127.0.0.1:33418/callback"],
        "token_endpoint_auth_method": "none",
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn client_metadata_documents_turn_on_and_reach_loopback_only_when_dangerously_allowed() {
    let url = serve_client_metadata_document();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let query = format!(
        "/oauth2/auth?response_type=code&client_id={}&redirect_uri={}&state=state-123\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        enc(&url),
        enc("http://127.0.0.1:33418/callback")
    );
    for dangerous in [false, true] {
        let server = Server::start(
            "hyper_server",
            &[
                ("OAUTH2_CLIENT_ID_METADATA_DOCUMENTS", "true"),
                (
                    "DANGEROUS_ALLOW_LOOPBACK_CLIENT_METADATA",
                    if dangerous { "true" } else { "false" },
                ),
            ],
        );
        let (status, body) = http(
            &server.public,
            "GET",
            "/.well-known/oauth-authorization-server",
            b"",
        );
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("\"client_id_metadata_document_supported\":true"),
            "{body}"
        );
        let res = exchange(&server.public, "GET", &query, &[], b"", 0);
        let location = res.header("location").unwrap_or_default().to_owned();
        if dangerous {
            assert!(location.contains("login_challenge="), "{location}");
            assert!(server.stderr().contains("DANGER"), "{}", server.stderr());
        } else {
            assert!(location.contains("error=invalid_client"), "{location}");
            assert!(!server.stderr().contains("DANGER"), "{}", server.stderr());
        }
        assert_eq!(server.terminate(), Some(0));
    }
}
