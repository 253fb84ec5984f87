//! Tracing never carries a secret (issue 13, item 1). A capturing subscriber records every
//! span and event field and every message as text while the full flows run in-process —
//! authorization code with PKCE, userinfo, refresh, refresh reuse, code reuse, a CSRF
//! mismatch and a replayed verifier, client credentials, a wrong secret, introspection,
//! revocation, logout, key rotation — and the test asserts that no token, code, verifier,
//! challenge, client secret or cookie value seen in a response (or sent by the test) appears
//! in any of it, and that the security events and the request spans were emitted.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use bytes::Bytes;
use common::flow::*;
use common::*;
use http::{Method, Response, StatusCode};
use oauth2_provider::Algorithm;
use oauth2_provider::testing::{Harness, UserAgent};
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;

// The collector.

/// A span or an event as text: its name (the message for events) and its fields.
#[derive(Debug, Clone, Default)]
struct Captured {
    name: String,
    fields: BTreeMap<String, String>,
    /// For events: the fields of the span they happened in.
    span: BTreeMap<String, String>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Every string the subscriber saw for this record.
    fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str())
            .chain(
                self.fields
                    .iter()
                    .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
            )
            .chain(self.span.values().map(String::as_str))
    }
}

struct FieldText<'a>(&'a mut BTreeMap<String, String>);

impl Visit for FieldText<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

#[derive(Default)]
struct State {
    spans: BTreeMap<u64, (Captured, &'static Metadata<'static>)>,
    events: Vec<Captured>,
    entered: HashMap<ThreadId, Vec<u64>>,
}

/// A `Subscriber` that records everything as text (no `tracing-subscriber`: the few methods
/// below are all the test needs).
#[derive(Clone, Default)]
struct Collector {
    state: Arc<Mutex<State>>,
    next_id: Arc<AtomicU64>,
}

impl Collector {
    fn spans(&self) -> Vec<Captured> {
        let state = self.state.lock().unwrap();
        state.spans.values().map(|(c, _)| c.clone()).collect()
    }

    fn events(&self) -> Vec<Captured> {
        self.state.lock().unwrap().events.clone()
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut captured = Captured {
            name: attrs.metadata().name().to_owned(),
            ..Captured::default()
        };
        attrs.record(&mut FieldText(&mut captured.fields));
        let mut state = self.state.lock().unwrap();
        state.spans.insert(id, (captured, attrs.metadata()));
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.state.lock().unwrap();
        if let Some((captured, _)) = state.spans.get_mut(&span.into_u64()) {
            values.record(&mut FieldText(&mut captured.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut FieldText(&mut fields));
        let mut state = self.state.lock().unwrap();
        let current = state
            .entered
            .get(&std::thread::current().id())
            .and_then(|stack| stack.last().copied());
        let span = current
            .and_then(|id| state.spans.get(&id))
            .map(|(c, _)| c.fields.clone())
            .unwrap_or_default();
        state.events.push(Captured {
            name: fields.get("message").cloned().unwrap_or_default(),
            fields,
            span,
        });
    }

    fn enter(&self, span: &Id) {
        let mut state = self.state.lock().unwrap();
        let thread = std::thread::current().id();
        state
            .entered
            .entry(thread)
            .or_default()
            .push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut state = self.state.lock().unwrap();
        let thread = std::thread::current().id();
        if let Some(stack) = state.entered.get_mut(&thread) {
            if let Some(at) = stack.iter().rposition(|id| *id == span.into_u64()) {
                stack.remove(at);
            }
        }
    }

    fn current_span(&self) -> Current {
        let state = self.state.lock().unwrap();
        let thread = std::thread::current().id();
        match state.entered.get(&thread).and_then(|stack| stack.last()) {
            Some(id) => Current::new(Id::from_u64(*id), state.spans[id].1),
            None => Current::none(),
        }
    }
}

// What the flows saw.

/// Names whose values are credentials, wherever they appear (JSON bodies, redirect
/// parameters).
const SECRET_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "client_secret",
    "challenge",
    "login_challenge",
    "consent_challenge",
    "login_verifier",
    "consent_verifier",
];

#[derive(Default)]
struct Seen(BTreeSet<String>);

impl Seen {
    fn add(&mut self, value: &str) {
        if !value.is_empty() {
            self.0.insert(value.to_owned());
        }
    }

    /// A cookie value, and its signed parts (long enough to be secrets).
    fn cookie(&mut self, value: &str) {
        self.add(value);
        for part in value.split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_') {
            if part.len() >= 16 {
                self.add(part);
            }
        }
    }

    fn url(&mut self, url: &str) {
        let Ok(url) = url::Url::parse(url) else {
            return;
        };
        for text in [url.query(), url.fragment()].into_iter().flatten() {
            for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
                if SECRET_NAMES.contains(&&*k) {
                    self.add(&v);
                }
            }
        }
    }

    fn json(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) if SECRET_NAMES.contains(&k.as_str()) => self.add(s),
                        Value::String(s) if k == "redirect_to" => self.url(s),
                        other => self.json(other),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.json(v)),
            _ => {}
        }
    }

    /// Everything secret in a response: its redirect, its cookies, its JSON.
    fn response(&mut self, res: &Response<Bytes>) {
        if let Some(l) = oauth2_provider::testing::location(res) {
            self.url(l);
        }
        for cookie in res.headers().get_all(http::header::SET_COOKIE) {
            let text = cookie.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((_, value)) = pair.split_once('=') {
                self.cookie(value);
            }
        }
        if let Ok(value) = serde_json::from_slice::<Value>(res.body()) {
            self.json(&value);
        }
    }

    fn jar(&mut self, ua: &UserAgent) {
        for name in ua.cookie_names() {
            if let Some(value) = ua.cookie(&name) {
                self.cookie(value);
            }
        }
    }
}

// The flows.

struct Run {
    h: Harness,
    seen: Seen,
    rp_secret: String,
}

impl Run {
    async fn public(&mut self, req: http::Request<Bytes>) -> Response<Bytes> {
        let res = self.h.provider.public().handle(req).await;
        self.seen.response(&res);
        res
    }

    async fn admin(&mut self, req: http::Request<Bytes>) -> Response<Bytes> {
        let res = self.h.provider.admin().handle(req).await;
        self.seen.response(&res);
        res
    }

    async fn get(&mut self, ua: &mut UserAgent, url: &str) -> Response<Bytes> {
        let res = ua.get(url).await;
        self.seen.response(&res);
        self.seen.jar(ua);
        res
    }

    async fn token(&mut self, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
        let secret = self.rp_secret.clone();
        let res = self
            .public(basic_form_request("/oauth2/token", "rp", &secret, pairs))
            .await;
        (res.status(), body_json(&res))
    }

    /// Starts a PKCE flow in `ua` and accepts the login over the admin API; returns the
    /// `redirect_to` that carries the login verifier.
    async fn login(&mut self, ua: &mut UserAgent) -> String {
        let query = q(&[
            ("client_id", "rp"),
            ("response_type", "code"),
            ("scope", "openid offline"),
            ("state", "state-123"),
            ("redirect_uri", CB),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        let url = format!("{ISSUER}oauth2/auth?{query}");
        let res = self.get(ua, &url).await;
        let challenge = param(&res, "login_challenge");
        let uri = format!("/oauth2/auth/requests/login/{challenge}/accept");
        let res = self
            .admin(json_request(
                Method::PUT,
                &uri,
                &json!({"subject": "alice"}),
            ))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        body_json(&res)["redirect_to"].as_str().unwrap().to_owned()
    }

    /// The whole code flow in `ua`: login, consent (admin API), the code.
    async fn code(&mut self, ua: &mut UserAgent) -> String {
        let verifier_url = self.login(ua).await;
        let res = self.get(ua, &verifier_url).await;
        let challenge = consent_challenge(&res);
        let uri = format!("/oauth2/auth/requests/consent/{challenge}");
        let res = self.admin(empty_request(Method::GET, &uri)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = json!({"grant_scope": ["openid", "offline"], "remember": true});
        let res = self
            .admin(json_request(Method::PUT, &format!("{uri}/accept"), &body))
            .await;
        let redirect_to = body_json(&res)["redirect_to"].as_str().unwrap().to_owned();
        let res = self.get(ua, &redirect_to).await;
        param(&res, "code")
    }
}

async fn run_flows() -> Seen {
    let h = harness_with(config()).await;
    let rp_secret = seed::random();
    h.register(flow_client("rp"), Some(&rp_secret))
        .await
        .unwrap();
    let mut run = Run {
        h,
        seen: Seen::default(),
        rp_secret: rp_secret.clone(),
    };
    run.seen.add(&rp_secret);
    run.seen.add(VERIFIER);

    // Authorization code with PKCE, userinfo, refresh, refresh reuse, code reuse.
    let mut ua = run.h.user_agent();
    let code = run.code(&mut ua).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = run.token(&exchange).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut userinfo = empty_request(Method::GET, "/userinfo");
    userinfo
        .headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    assert_eq!(run.public(userinfo).await.status(), StatusCode::OK);
    let rotate = [("grant_type", "refresh_token"), ("refresh_token", &refresh)];
    let (status, body) = run.token(&rotate).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = run.token(&rotate).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "refresh reuse: {body}");
    let (status, body) = run.token(&exchange).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "code reuse: {body}");

    // A login verifier followed in another browser (CSRF), then replayed in the right one.
    let mut victim = run.h.user_agent();
    let verifier_url = run.login(&mut victim).await;
    let mut attacker = run.h.user_agent();
    let res = run.get(&mut attacker, &verifier_url).await;
    assert_eq!(param(&res, "error"), "request_forbidden");
    let res = run.get(&mut victim, &verifier_url).await;
    assert_eq!(param(&res, "error"), "invalid_request");

    // Client credentials (a client created over the admin API), a wrong secret,
    // introspection, revocation.
    let created = run
        .admin(json_request(
            Method::POST,
            "/clients",
            &json!({"client_id": "svc", "grant_types": ["client_credentials"], "scope": "a"}),
        ))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let svc_secret = body_json(&created)["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let cc = [("grant_type", "client_credentials"), ("scope", "a")];
    let res = run
        .public(basic_form_request("/oauth2/token", "svc", &svc_secret, &cc))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let svc_token = body_json(&res)["access_token"].as_str().unwrap().to_owned();
    let wrong = seed::random();
    run.seen.add(&wrong);
    let res = run
        .public(basic_form_request("/oauth2/token", "svc", &wrong, &cc))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = run
        .admin(form_request("/oauth2/introspect", &[("token", &svc_token)]))
        .await;
    assert_eq!(body_json(&res)["active"], true);
    let res = run
        .public(basic_form_request(
            "/oauth2/revoke",
            "svc",
            &svc_secret,
            &[("token", &svc_token)],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Logout of the first browser, and a key rotation.
    let res = run
        .get(
            &mut ua,
            &format!("{ISSUER}oauth2/auth/sessions/login/revoke"),
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    run.h.provider.rotate_keys(Algorithm::ES256).await.unwrap();
    run.seen
}

fn captured_flows() -> (Collector, Seen) {
    let collector = Collector::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seen =
        tracing::subscriber::with_default(collector.clone(), || runtime.block_on(run_flows()));
    (collector, seen)
}

#[test]
fn no_secret_is_ever_traced_and_the_security_events_are() {
    let (collector, seen) = captured_flows();
    let spans = collector.spans();
    let events = collector.events();
    assert!(
        seen.0.len() > 20,
        "the flows saw their credentials: {:?}",
        seen.0
    );

    // Nothing secret anywhere.
    for record in spans.iter().chain(&events) {
        for text in record.texts() {
            for secret in &seen.0 {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret was traced: {secret:?} in {record:?}"
                );
            }
        }
    }

    // One span per request, with its route, client and outcome.
    let requests: Vec<_> = spans.iter().filter(|s| s.name == "request").collect();
    let find = |api: &str, route: &str, status: &str| {
        requests.iter().any(|s| {
            s.field("api") == Some(api)
                && s.field("route") == Some(route)
                && s.field("status") == Some(status)
        })
    };
    assert!(find("public", "authorize", "302"));
    assert!(find("admin", "accept_login", "200"));
    assert!(find("admin", "introspect", "200"));
    assert!(find("public", "logout", "302"));
    assert!(requests.iter().any(|s| {
        s.field("route") == Some("token")
            && s.field("method") == Some("POST")
            && s.field("client_id") == Some("rp")
            && s.field("status") == Some("200")
    }));
    assert!(requests.iter().any(|s| {
        s.field("route") == Some("token")
            && s.field("client_id") == Some("svc")
            && s.field("status") == Some("401")
            && s.field("error") == Some("invalid_client")
    }));
    assert!(
        requests
            .iter()
            .any(|s| s.field("route") == Some("token") && s.field("error") == Some("invalid_grant"))
    );
    assert!(
        requests
            .iter()
            .all(|s| s.field("status").is_some() && s.field("method").is_some()),
        "every request span records its status: {requests:?}"
    );

    // The security events.
    let event = |message: &str, pairs: &[(&str, &str)]| {
        events
            .iter()
            .any(|e| e.name.contains(message) && pairs.iter().all(|(k, v)| e.field(k) == Some(*v)))
    };
    let reuse = "credential reuse detected; every token of its grant was revoked";
    assert!(
        event(
            reuse,
            &[("client_id", "rp"), ("credential", "authorization_code")]
        ),
        "code reuse: {events:?}"
    );
    assert!(
        event(
            reuse,
            &[("client_id", "rp"), ("credential", "refresh_token")]
        ),
        "refresh reuse: {events:?}"
    );
    assert!(event(
        "client authentication failed",
        &[
            ("client_id", "svc"),
            ("method", "client_secret_basic"),
            ("reason", "wrong secret")
        ]
    ));
    assert!(event(
        "CSRF cookie missing or mismatched",
        &[("stage", "login request")]
    ));
    assert!(event("verifier reused", &[("stage", "login request")]));
    assert!(event("signing key rotated", &[("alg", "ES256")]));
    assert!(event("authorization code redeemed", &[("client_id", "rp")]));
    // Events happen inside their request's span.
    assert!(events.iter().any(
        |e| e.name.contains(reuse) && e.span.get("route").map(String::as_str) == Some("token")
    ));
}
