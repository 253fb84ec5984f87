//! The example servers run for real: bad configuration exits with code 2 and one line on
//! stderr, a started server answers over loopback HTTP (discovery, health, 413), and SIGTERM
//! stops it cleanly with exit code 0.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The example's binary, built next to this test (`cargo test` builds the examples; a
/// lone `cargo test --test example_server` builds it here).
fn example(name: &str) -> PathBuf {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples");
    let path = dir.join(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "building the {name} example failed");
    }
    path
}

/// Runs the example with `env` on ports chosen by the OS.
fn command(name: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(example(name));
    cmd.env_clear()
        .env("PUBLIC_PORT", "0")
        .env("ADMIN_PORT", "0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn assert_config_error(name: &str, env: &[(&str, &str)], expected: &str) {
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

/// A running example; killed if the test fails midway.
struct Server {
    child: Child,
    public: String,
    admin: String,
}

impl Server {
    fn start(name: &str) -> Self {
        let mut child = command(
            name,
            &[("SYSTEM_SECRET", "a-test-secret-of-32-bytes-length")],
        )
        .spawn()
        .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut addr = |what: &str| {
            let line = lines.next().unwrap().unwrap();
            let prefix = format!("{what} API listening on http://");
            line.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("unexpected line {line:?}"))
                .to_owned()
        };
        let public = addr("public");
        let admin = addr("admin");
        // Keep draining stdout so the server never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            public,
            admin,
        }
    }

    /// Sends SIGTERM and returns the exit code.
    fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 5 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange; returns the status and the body.
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    exchange(addr, method, path, body, body.len())
}

/// An exchange announcing `declared_len` body bytes (more than `body` to announce a body
/// that is never sent).
fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
    declared_len: usize,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {declared_len}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

fn serves_and_stops_cleanly(name: &str) {
    let server = Server::start(name);
    let (status, body) = http(
        &server.public,
        "GET",
        "/.well-known/openid-configuration",
        b"",
    );
    assert_eq!(status, 200, "{body}");
    let port = server.public.rsplit(':').next().unwrap();
    assert!(
        body.contains(&format!("\"issuer\":\"http://127.0.0.1:{port}/\"")),
        "the default issuer follows PUBLIC_PORT: {body}"
    );
    for path in ["/health/alive", "/health/ready"] {
        assert_eq!(http(&server.admin, "GET", path, b"").0, 200);
    }
    // Admin paths are not served on the public listener.
    assert_eq!(http(&server.public, "GET", "/health/alive", b"").0, 404);
    // An announced body over the limit is refused before it is sent (as with
    // `Expect: 100-continue`). Sending it all would race the server's close against the
    // reply: unread bytes make the kernel reset the connection.
    for (addr, path) in [
        (&server.admin, "/clients"),
        (&server.public, "/oauth2/token"),
    ] {
        let (status, body) = exchange(addr, "POST", path, b"", 70_000);
        assert_eq!(status, 413, "{body}");
        assert!(body.contains("request_entity_too_large"), "{body}");
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
            "DATABASE_URL=postgres needs",
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
