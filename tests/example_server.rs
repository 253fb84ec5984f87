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
