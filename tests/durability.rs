//! Durability across restarts: the hyper example on SQLite completes a login/consent/code
//! flow over loopback HTTP, is killed with SIGKILL, and is started again on the same
//! database file and ports. Its tokens still introspect as active, the refresh token still
//! rotates, the JWKS is byte-identical, and the browser's remembered login session still
//! skips the login page. A database that cannot be opened at start makes the example exit
//! with code 2 and a message that names the scheme but never the password.
//!
//! Needs the example built with `sqlite` (and `postgres` for the PostgreSQL case): without
//! those features the tests print why and pass without running (CI runs `cargo test
//! --all-features`, so they run there).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::process::ExitStatusExt as _;

use common::process::{Response, Server, command, exchange};
use common::{TempDir, basic, q, url_param};
use serde_json::{Value, json};

const EXAMPLE: &str = "hyper_server";
const SYSTEM_SECRET: &str = "durability-test-secret-0123456789";
/// Fake login and consent apps: the test recognises them in `Location` headers and plays
/// their part through the admin API.
const LOGIN_URL: &str = "https://login.example.com/login";
const CONSENT_URL: &str = "https://login.example.com/consent";
const CLIENT_ID: &str = "durable-app";
const CLIENT_SECRET: &str = "durable-app-secret-0123456789";
const CALLBACK: &str = "http://127.0.0.1:5555/callback";
const SUBJECT: &str = "alice";

/// Whether this build can run the example on `feature`; prints why not.
fn have(feature: &str, enabled: bool) -> bool {
    if !enabled {
        eprintln!(
            "skipping: the example needs the `{feature}` feature \
             (run `cargo test --all-features --test durability`)"
        );
    }
    enabled
}

/// The cookies a browser keeps for the public API (one host, path `/`, no expiry but
/// deletion by `Max-Age=0`).
#[derive(Debug, Default)]
struct CookieJar(Vec<(String, String)>);

impl CookieJar {
    fn absorb(&mut self, res: &Response) {
        for (_, set_cookie) in res.headers.iter().filter(|(n, _)| n == "set-cookie") {
            let mut attributes = set_cookie.split(';').map(str::trim);
            let (name, value) = attributes.next().unwrap().split_once('=').unwrap();
            let deleted = attributes.any(|a| a.eq_ignore_ascii_case("max-age=0"));
            self.0.retain(|(n, _)| n != name);
            if !deleted {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// The example, on SQLite at `db`, speaking to a browser with `jar`.
struct Run<'a> {
    server: Server,
    jar: &'a mut CookieJar,
}

impl<'a> Run<'a> {
    /// Starts the example on the database file `db`; `ports` pins the public and admin
    /// ports (a restart reuses the first run's, so the issuer stays the same).
    fn start(db: &str, ports: Option<(&str, &str)>, jar: &'a mut CookieJar) -> Self {
        let (public_port, admin_port) = ports.unwrap_or(("0", "0"));
        let server = Server::start(
            EXAMPLE,
            &[
                ("DATABASE_URL", db),
                ("SYSTEM_SECRET", SYSTEM_SECRET),
                ("OAUTH2_LOGIN_URL", LOGIN_URL),
                ("OAUTH2_CONSENT_URL", CONSENT_URL),
                ("PUBLIC_PORT", public_port),
                ("ADMIN_PORT", admin_port),
            ],
        );
        Self { server, jar }
    }

    /// A browser request on the public API: sends the jar's cookies, keeps the new ones.
    fn browse(&mut self, target: &str) -> Response {
        let cookies = self.jar.header();
        let headers: &[(&str, &str)] = if cookies.is_empty() {
            &[]
        } else {
            &[("Cookie", &cookies)]
        };
        let res = exchange(&self.server.public, "GET", target, headers, b"", 0);
        self.jar.absorb(&res);
        res
    }

    /// Follows an absolute URL on the issuer that the provider redirected to.
    fn follow(&mut self, url: &str) -> Response {
        let url = url::Url::parse(url).unwrap();
        assert_eq!(
            format!("{}:{}", url.host_str().unwrap(), url.port().unwrap()),
            self.server.public,
            "the provider redirects to its own issuer: {url}"
        );
        let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        self.browse(&target)
    }

    /// A redirect's `Location`, which must start with `prefix`.
    fn location(&self, res: &Response, prefix: &str) -> String {
        assert_eq!(
            res.status,
            302,
            "{} (server stderr: {})",
            res.body,
            self.server.stderr()
        );
        let location = res.header("location").unwrap().to_owned();
        assert!(
            location.starts_with(prefix),
            "{location} is not on {prefix}"
        );
        location
    }

    /// An admin API call with a JSON body; asserts the status and returns the JSON answer.
    fn admin(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let res = exchange(
            &self.server.admin,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
            body.len(),
        );
        assert_eq!(res.status, status, "{method} {path}: {}", res.body);
        res.json()
    }

    /// A form POST on the public or admin API.
    fn post_form(&self, addr: &str, path: &str, pairs: &[(&str, &str)]) -> Response {
        let body = q(pairs);
        let authorization = basic(CLIENT_ID, CLIENT_SECRET);
        exchange(
            addr,
            "POST",
            path,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &authorization),
            ],
            body.as_bytes(),
            body.len(),
        )
    }

    fn token(&self, pairs: &[(&str, &str)]) -> Value {
        let res = self.post_form(&self.server.public, "/oauth2/token", pairs);
        assert_eq!(res.status, 200, "token endpoint: {}", res.body);
        res.json()
    }

    fn introspect(&self, token: &str) -> Value {
        let res = self.post_form(
            &self.server.admin,
            "/oauth2/introspect",
            &[("token", token)],
        );
        assert_eq!(res.status, 200, "introspection: {}", res.body);
        res.json()
    }

    fn assert_active(&self, token: &str, what: &str) {
        let answer = self.introspect(token);
        assert_eq!(answer["active"], true, "{what}: {answer}");
        assert_eq!(answer["sub"], SUBJECT, "{what}: {answer}");
        assert_eq!(answer["client_id"], CLIENT_ID, "{what}: {answer}");
    }

    fn jwks(&self) -> String {
        let res = exchange(
            &self.server.public,
            "GET",
            "/.well-known/jwks.json",
            &[],
            b"",
            0,
        );
        assert_eq!(res.status, 200, "{}", res.body);
        res.body
    }

    /// Starts an authorization request in the browser; returns the login challenge.
    fn authorize(&mut self, state: &str) -> String {
        let query = q(&[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("scope", "openid offline"),
            ("redirect_uri", CALLBACK),
            ("state", state),
            ("nonce", "nonce-0123456789"),
        ]);
        let res = self.browse(&format!("/oauth2/auth?{query}"));
        let location = self.location(&res, LOGIN_URL);
        url_param(&location, "login_challenge")
    }

    /// The whole first flow: login and consent accepted (both remembered), the code
    /// exchanged; returns the token response.
    fn first_flow(&mut self) -> Value {
        self.admin(
            "POST",
            "/clients",
            Some(json!({
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": "openid offline",
            })),
            201,
        );
        let state = "state-first-0123456789";
        let login = self.authorize(state);
        let request = self.admin(
            "GET",
            &format!("/oauth2/auth/requests/login/{login}"),
            None,
            200,
        );
        assert_eq!(request["skip"], false, "{request}");
        let accepted = self.admin(
            "PUT",
            &format!("/oauth2/auth/requests/login/{login}/accept"),
            Some(json!({"subject": SUBJECT, "remember": true})),
            200,
        );
        let res = self.follow(accepted["redirect_to"].as_str().unwrap());
        let consent = url_param(&self.location(&res, CONSENT_URL), "consent_challenge");
        let accepted = self.admin(
            "PUT",
            &format!("/oauth2/auth/requests/consent/{consent}/accept"),
            Some(json!({"grant_scope": ["openid", "offline"], "remember": true})),
            200,
        );
        let res = self.follow(accepted["redirect_to"].as_str().unwrap());
        let callback = self.location(&res, CALLBACK);
        assert_eq!(url_param(&callback, "state"), state);
        let code = url_param(&callback, "code");
        let tokens = self.token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
        ]);
        for field in ["access_token", "refresh_token", "id_token"] {
            assert!(tokens[field].is_string(), "{field} missing: {tokens}");
        }
        tokens
    }
}

#[test]
fn tokens_keys_and_login_sessions_survive_sigkill() {
    if !have("sqlite", cfg!(feature = "sqlite")) {
        return;
    }
    let dir = TempDir::new("durability");
    let db = dir.sqlite_url("db.sqlite");
    let mut jar = CookieJar::default();

    let mut first = Run::start(&db, None, &mut jar);
    let tokens = first.first_flow();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    first.assert_active(access, "access token before the kill");
    let jwks = first.jwks();
    let ports = (
        Server::port(&first.server.public).to_owned(),
        Server::port(&first.server.admin).to_owned(),
    );
    let status = first.server.kill();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");
    assert!(
        jar.names().contains(&"oauth2_authentication_session"),
        "the first run set the login-session cookie: {:?}",
        jar.names()
    );

    let mut second = Run::start(&db, Some((&ports.0, &ports.1)), &mut jar);
    assert_eq!(
        second.jwks(),
        jwks,
        "the JWKS is byte-identical after a restart"
    );
    second.assert_active(access, "access token after the restart");
    second.assert_active(refresh, "refresh token after the restart");

    // The remembered login: the browser's session cookie still skips the login page.
    let login = second.authorize("state-second-0123456789");
    let request = second.admin(
        "GET",
        &format!("/oauth2/auth/requests/login/{login}"),
        None,
        200,
    );
    assert_eq!(request["skip"], true, "{request}");
    assert_eq!(request["subject"], SUBJECT, "{request}");

    // The refresh token still rotates; the old one is spent and the new tokens are live.
    let rotated = second.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    let new_access = rotated["access_token"].as_str().unwrap();
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh);
    second.assert_active(new_access, "access token from the refresh");
    second.assert_active(new_refresh, "rotated refresh token");
    assert_eq!(second.introspect(refresh)["active"], false);
}

/// Runs the example on `database_url`, which cannot be opened, and checks it exits with
/// code 2 naming the scheme without echoing `password`.
fn assert_unopenable(database_url: &str, scheme: &str, password: &str) {
    let started = std::time::Instant::now();
    let out = command(
        EXAMPLE,
        &[
            ("DATABASE_URL", database_url),
            ("SYSTEM_SECRET", SYSTEM_SECRET),
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "{scheme}: exit {:?} after {:?}: {stderr}",
        out.status.code(),
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("configuration error: DATABASE_URL={scheme}")),
        "{stderr}"
    );
    assert!(
        !stderr.contains(password),
        "the password was echoed: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "it never listened: {:?}", out.stdout);
}

#[test]
fn a_database_that_cannot_be_opened_exits_with_code_2() {
    if have("sqlite", cfg!(feature = "sqlite")) {
        assert_unopenable(
            "sqlite:///nonexistent-dir/x/db.sqlite",
            "sqlite",
            "no password",
        );
    }
    if have("postgres", cfg!(feature = "postgres")) {
        // Port 1 on loopback: nothing listens, the connection is refused.
        assert_unopenable(
            "postgres://oauth:s3cr3t-pw@127.0.0.1:1/x",
            "postgres",
            "s3cr3t-pw",
        );
    }
}

/// The signing keys in the database are sealed with SYSTEM_SECRET: without one a durable
/// store refuses to start (exit 2), and a restart with another secret refuses to serve with
/// keys it cannot open (exit 1, naming the reason) instead of generating new ones.
#[test]
fn the_stored_keys_need_the_same_system_secret() {
    if !have("sqlite", cfg!(feature = "sqlite")) {
        return;
    }
    let dir = TempDir::new("durability");
    let db = dir.sqlite_url("db.sqlite");
    let exit = |secret: Option<&str>| {
        let mut env = vec![("DATABASE_URL", db.as_str())];
        env.extend(secret.map(|s| ("SYSTEM_SECRET", s)));
        let out = command(EXAMPLE, &env).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.stdout.is_empty(), "it never listened: {stderr}");
        (out.status.code(), stderr)
    };
    let (code, stderr) = exit(None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("SYSTEM_SECRET must be set"), "{stderr}");

    let first = Server::start(
        EXAMPLE,
        &[("DATABASE_URL", &db), ("SYSTEM_SECRET", SYSTEM_SECRET)],
    );
    drop(first); // the keys are in the database now

    let (code, stderr) = exit(Some("another-secret-0123456789abcdef"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("sealed with another system secret"),
        "{stderr}"
    );
}
