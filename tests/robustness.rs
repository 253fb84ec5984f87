//! Issue 10, item 15: property-based robustness of every parser that sees untrusted bytes,
//! driven from outside as an attacker would: form bodies and query strings, the Basic
//! `Authorization` header, cookies, the JWS compact `id_token_hint`, redirect URIs, admin
//! JSON bodies and scope strings. Every request is answered — no panic, no 5xx, within a
//! generous time bound — and round trips hold where they exist (scope join → split, a signed
//! JWT verifies to its claims and a changed one never verifies to other claims).
//!
//! The parsers' own round trips (form encode → parse, Basic encode → parse) and registration
//! checks of redirect URIs are unit properties next to them (`http::params`,
//! `grant::client_auth`, `model::redirect_uri`), which need private access.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use common::flow::*;
use common::props::{assert_not_5xx, cases, harness_on_runtime};
use common::*;
use http::{HeaderValue, Method, Request, Response};
use oauth2_provider::Algorithm;
use oauth2_provider::internals::{SigningKey, VerifyingKeys};
use oauth2_provider::model::scope;
use oauth2_provider::testing::Harness;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Far above what any of these requests costs (microseconds to milliseconds); only a parser
/// gone quadratic or looping would reach it.
const TIME_BOUND: Duration = Duration::from_secs(5);

/// Sends `req` to the public or admin API: answered without a server error, in bounded time.
async fn answered(h: &Harness, admin: bool, req: Request<Bytes>) -> Response<Bytes> {
    let what = format!("{} {}", req.method(), req.uri());
    let started = Instant::now();
    let res = if admin {
        h.provider.admin().handle(req).await
    } else {
        h.provider.public().handle(req).await
    };
    let took = started.elapsed();
    assert_not_5xx(&res, &what);
    assert!(took < TIME_BOUND, "{what} took {took:?}");
    res
}

/// Bytes that look like urlencoded text often and like anything at all sometimes.
fn urlencodedish() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..512),
        "([a-z_]{0,12}=[A-Za-z0-9%+&=.~-]{0,40}&?){0,40}".prop_map(String::into_bytes),
        "(%[0-9A-Fa-f]{0,2}|%|\\+|&|=|[^&=%]){0,200}".prop_map(String::into_bytes),
        // Many parameters around the cap, and repeated OAuth names.
        (0usize..300).prop_map(|n| (0..n)
            .map(|i| format!("k{}=v&", i % 150))
            .collect::<String>()
            .into_bytes()),
        (0usize..5).prop_map(|n| "grant_type=client_credentials&scope=a&"
            .repeat(n)
            .into_bytes()),
    ]
    .boxed()
}

#[test]
fn form_bodies_of_any_bytes_are_answered() {
    let (rt, h) = harness_on_runtime();
    let endpoint = prop_oneof![
        Just((false, "/oauth2/token")),
        Just((false, "/oauth2/revoke")),
        Just((false, "/oauth2/auth")),
        Just((false, "/userinfo")),
        Just((true, "/oauth2/introspect")),
    ];
    let content_type = prop_oneof![
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("application/x-www-form-urlencoded; charset=utf-8".to_owned()),
        Just("text/plain".to_owned()),
        "[ -~]{0,40}",
    ];
    proptest!(cases(256), |((admin, path) in endpoint, ct in content_type, body in urlencodedish())| {
        rt.block_on(async {
            let mut req = raw_request(Method::POST, path, "x/y", body);
            if let Ok(ct) = HeaderValue::from_str(&ct) {
                req.headers_mut().insert("content-type", ct);
            }
            answered(&h, admin, req).await;
        });
    });
}

#[test]
fn query_strings_of_any_bytes_are_answered() {
    let (rt, h) = harness_on_runtime();
    let path = prop_oneof![
        Just((false, "/oauth2/auth")),
        Just((false, "/oauth2/auth/sessions/login/revoke")),
        Just((false, "/oauth2/fallbacks/error")),
        Just((true, "/clients")),
        Just((true, "/oauth2/auth/sessions/consent/alice")),
        Just((true, "/oauth2/auth/sessions/login/alice")),
    ];
    proptest!(cases(256), |((admin, path) in path, query in urlencodedish())| {
        // A query is whatever bytes the URI grammar lets through; encode the rest as a
        // client would, so that the request reaches the parser.
        let query: String = query
            .iter()
            .map(|b| match b {
                b'!' | b'$'..=b';' | b'=' | b'?'..=b'Z' | b'_' | b'a'..=b'z' | b'~' => (*b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        rt.block_on(async {
            let method = if admin && path.contains("/login/") { Method::DELETE } else { Method::GET };
            if let Ok(req) = Request::builder().method(method).uri(format!("{path}?{query}")).body(Bytes::new()) {
                answered(&h, admin, req).await;
            }
        });
    });
}

#[test]
fn authorization_headers_of_any_shape_are_answered() {
    let (rt, h) = harness_on_runtime();
    let header = prop_oneof![
        vec(any::<u8>(), 0..200),
        vec(any::<u8>(), 0..200)
            .prop_map(|raw| format!("Basic {}", STANDARD.encode(raw)).into_bytes()),
        ("\\PC{0,40}", "\\PC{0,40}")
            .prop_map(|(id, secret)| basic_raw(&format!("{id}:{secret}")).into_bytes()),
        "(Basic|basic|BASIC|Bearer|Digest)? {0,3}[A-Za-z0-9+/=%:]{0,80}"
            .prop_map(String::into_bytes),
        "%[0-9a-fA-F]?".prop_map(|junk| basic_raw(&format!("app{junk}:x{junk}")).into_bytes()),
    ];
    let path = prop_oneof![
        Just("/oauth2/token"),
        Just("/oauth2/revoke"),
        Just("/userinfo")
    ];
    proptest!(cases(256), |(header in header, path in path)| {
        rt.block_on(async {
            let mut req = form_request(path, &[("grant_type", "client_credentials"), ("token", "x")]);
            if let Ok(value) = HeaderValue::from_bytes(&header) {
                req.headers_mut().insert("authorization", value);
            }
            let res = answered(&h, false, req).await;
            if path == "/oauth2/token" {
                assert!(res.status().is_client_error(), "{}", res.status());
            }
        });
    });
}

/// A cookie value shaped like the provider's signed ones: `b64(value).expires.b64(mac)`.
fn cookie_value() -> BoxedStrategy<String> {
    prop_oneof![
        "[!#-+\\--:<-\\[\\]-~]{0,80}",
        (
            vec(any::<u8>(), 0..40),
            any::<i64>(),
            vec(any::<u8>(), 0..40)
        )
            .prop_map(|(v, exp, mac)| {
                format!(
                    "{}.{exp}.{}",
                    URL_SAFE_NO_PAD.encode(v),
                    URL_SAFE_NO_PAD.encode(mac)
                )
            }),
        ("[A-Za-z0-9_-]{0,20}", "[0-9-]{0,25}", "[A-Za-z0-9_-]{0,50}")
            .prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
    ]
    .boxed()
}

#[test]
fn cookie_headers_of_any_shape_are_answered() {
    let (rt, h) = harness_on_runtime();
    let name = prop_oneof![
        Just("oauth2_authentication_session".to_owned()),
        Just("__Host-oauth2_authentication_session".to_owned()),
        Just("oauth2_authentication_csrf".to_owned()),
        "oauth2_[a-z_]{0,20}",
        "[!#-'*+.0-9A-Z^-z|~-]{1,20}",
    ];
    let pairs = vec((name, cookie_value()), 0..8);
    let raw_header = prop_oneof![
        pairs.prop_map(|pairs| pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
            .into_bytes()),
        vec(any::<u8>(), 0..300),
        "[ -~]{0,300}".prop_map(String::into_bytes),
    ];
    let path = prop_oneof![
        Just(code_query(&[])),
        Just(code_query(&[("prompt", "none")])),
        Just(code_query(&[("login_verifier", "v")])),
        Just(code_query(&[("consent_verifier", "v")])),
    ];
    proptest!(cases(256), |(header in raw_header, query in path, logout in any::<bool>())| {
        rt.block_on(async {
            let uri = if logout { "/oauth2/auth/sessions/login/revoke".to_owned() } else { format!("/oauth2/auth?{query}") };
            let mut req = empty_request(Method::GET, &uri);
            if let Ok(value) = HeaderValue::from_bytes(&header) {
                req.headers_mut().insert("cookie", value);
            }
            answered(&h, false, req).await;
        });
    });
}

/// Three dot-separated segments of base64url-encoded JSON (or not).
fn compact_jws() -> BoxedStrategy<String> {
    let json_segment = prop_oneof![
        Just(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"})),
        Just(json!({"alg": "none"})),
        Just(json!({"alg": "HS256", "kid": "k1"})),
        Just(json!({"alg": "EdDSA", "kid": "k1", "crit": ["x"]})),
        Just(json!({"sub": "alice", "exp": i64::MAX, "iat": 1e300})),
        Just(json!([1, 2, 3])),
        Just(json!("string")),
        Just(json!({"alg": {"nested": [null]}, "kid": 5})),
    ]
    .prop_map(|v| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap()));
    let segment = prop_oneof![
        json_segment,
        vec(any::<u8>(), 0..100).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        "[A-Za-z0-9_=+/-]{0,100}",
    ];
    prop_oneof![
        "\\PC{0,200}",
        "[A-Za-z0-9_.-]{0,300}",
        (segment.clone(), segment.clone(), segment.clone())
            .prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        vec(segment, 0..6).prop_map(|s| s.join(".")),
    ]
    .boxed()
}

#[test]
fn compact_jws_of_any_shape_is_refused_without_panic() {
    let key = SigningKey::generate(Algorithm::ES256, "k1".into()).unwrap();
    let ed = SigningKey::generate(Algorithm::EdDSA, "k2".into()).unwrap();
    let keys = VerifyingKeys::from_signing_keys(&[key, ed]);
    proptest!(cases(1024), |(token in compact_jws())| {
        let started = Instant::now();
        prop_assert!(keys.verify_jwt(&token).is_err(), "{token}");
        prop_assert!(started.elapsed() < TIME_BOUND);
    });
}

#[test]
fn a_signed_jwt_verifies_to_its_claims_and_a_changed_one_to_nothing_else() {
    let key = SigningKey::generate(Algorithm::ES256, "k1".into()).unwrap();
    let keys = VerifyingKeys::from_signing_keys(std::slice::from_ref(&key));
    let claims = prop::collection::btree_map(
        "[a-z]{1,8}",
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ],
        0..8,
    );
    proptest!(cases(256), |(claims in claims, at in any::<prop::sample::Index>(), with in any::<u8>())| {
        let claims: serde_json::Map<String, Value> = claims.into_iter().collect();
        let token = key.sign_jwt("JWT", &claims).unwrap();
        prop_assert_eq!(keys.verify_jwt(&token).unwrap(), claims.clone());
        // Change one byte: either refused, or (a change that decodes to the same bytes)
        // the very same claims. Never other claims.
        let mut changed = token.clone().into_bytes();
        let i = at.index(changed.len());
        changed[i] = with;
        let changed = String::from_utf8_lossy(&changed).into_owned();
        if changed != token {
            if let Ok(verified) = keys.verify_jwt(&changed) {
                prop_assert_eq!(verified, claims);
            }
        }
    });
}

#[test]
fn id_token_hints_of_any_shape_are_answered() {
    let (rt, h) = harness_on_runtime();
    proptest!(cases(128), |(hint in compact_jws(), prompt in prop_oneof![Just(""), Just("none"), Just("login")])| {
        rt.block_on(async {
            let query = code_query(&[("id_token_hint", &hint), ("prompt", prompt)]);
            let res = answered(&h, false, empty_request(Method::GET, &format!("/oauth2/auth?{query}"))).await;
            // Never a login page for a hint that cannot verify (an empty one is absent).
            let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
            assert!(hint.is_empty() || !location.starts_with(LOGIN), "{hint} → {location}");
        });
    });
}

#[test]
fn redirect_uris_of_any_shape_are_answered() {
    let (rt, h) = harness_on_runtime();
    let uri = prop_oneof![
        "\\PC{0,100}",
        "(https?|HTTP|javascript|data|com\\.example\\.app|file):(//)?[ -~]{0,80}",
        "http://(127\\.0\\.0\\.1|\\[::1\\]|localhost)(:[0-9]{0,7})?[/?#@%:a-z.]{0,20}",
        "https://[a-z@:.%\\[\\]0-9]{0,30}(/[ -~]{0,20})?",
    ];
    let n = std::sync::atomic::AtomicUsize::new(0);
    proptest!(cases(256), |(uri in uri)| {
        let id = format!("r{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        rt.block_on(async {
            let body = json!({"client_id": id, "redirect_uris": [uri], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"], "response_types": ["code"], "scope": "openid"});
            let created = answered(&h, true, json_request(Method::POST, "/clients", &body)).await;
            // At the authorization endpoint, against the client `app` and the new one.
            for client in ["app", id.as_str()] {
                let query = q(&[("client_id", client), ("response_type", "code"), ("scope", "openid"),
                    ("state", "state-123"), ("redirect_uri", &uri),
                    ("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]);
                let res = answered(&h, false, empty_request(Method::GET, &format!("/oauth2/auth?{query}"))).await;
                // Only the host's pages or a registered URI are ever redirected to.
                if let Some(location) = res.headers().get("location") {
                    let location = location.to_str().unwrap();
                    let registered = created.status().is_success() && client == id;
                    let allowed = [LOGIN, ERROR]
                        .into_iter()
                        .chain((client == "app").then_some(CB))
                        .chain(registered.then_some(uri.as_str()));
                    let mut allowed = allowed;
                    assert!(
                        allowed.any(|to| location.starts_with(to)),
                        "{client}: {uri:?} → {location}"
                    );
                }
            }
        });
    });
}

/// Arbitrary JSON, nested a few levels.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("client_id".to_owned()),
                    Just("redirect_uris".to_owned()),
                    Just("subject".to_owned()),
                    Just("grant_scope".to_owned()),
                    Just("session".to_owned()),
                    Just("remember_for".to_owned()),
                    Just("notAfter".to_owned()),
                    Just("jwks".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

#[test]
fn admin_json_bodies_of_any_shape_are_answered() {
    let (rt, h) = harness_on_runtime();
    let endpoint = prop_oneof![
        Just((Method::POST, "/clients")),
        Just((Method::PUT, "/clients/app")),
        Just((Method::PUT, "/oauth2/auth/requests/login/c1/accept")),
        Just((Method::PUT, "/oauth2/auth/requests/login/c1/reject")),
        Just((Method::PUT, "/oauth2/auth/requests/consent/c1/accept")),
        Just((Method::PUT, "/oauth2/auth/requests/consent/c1/reject")),
        Just((Method::POST, "/oauth2/flush")),
    ];
    let body = prop_oneof![
        3 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => vec(any::<u8>(), 0..300),
        1 => "[\\[\\]{}\",:0-9a-z. -]{0,200}".prop_map(String::into_bytes),
        // Deep nesting: serde_json stops at its recursion limit instead of overflowing the stack.
        1 => (1usize..5000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        1 => (1usize..5000).prop_map(|depth| format!("{{\"session\":{}", "{\"a\":".repeat(depth)).into_bytes()),
    ];
    proptest!(cases(256), |((method, path) in endpoint, body in body)| {
        rt.block_on(async {
            let req = raw_request(method, path, "application/json", body);
            answered(&h, true, req).await;
        });
    });
    // The client `app` the updates may have changed still reads, lists and authorizes.
    rt.block_on(async {
        answered(&h, true, empty_request(Method::GET, "/clients/app")).await;
        answered(&h, true, empty_request(Method::GET, "/clients")).await;
        answered(
            &h,
            false,
            empty_request(Method::GET, &format!("/oauth2/auth?{}", code_query(&[]))),
        )
        .await;
    });
}

#[test]
fn scope_strings_split_and_join_round_trip() {
    proptest!(cases(512), |(text in "[ a-z.*\\u{3000}\\t]{0,200}|\\PC{0,200}")| {
        let started = Instant::now();
        let scopes = scope::split(&text);
        // Distinct, non-empty, without spaces; joining and splitting again changes nothing.
        prop_assert!(scopes.iter().all(|s| !s.is_empty() && !s.contains(' ')));
        let distinct: std::collections::HashSet<_> = scopes.iter().collect();
        prop_assert_eq!(distinct.len(), scopes.len());
        prop_assert_eq!(scope::split(&scope::join(&scopes)), scopes.clone());
        for needle in &scopes {
            prop_assert!(scope::all_covered(&scopes, std::slice::from_ref(needle)));
        }
        prop_assert!(started.elapsed() < TIME_BOUND);
    });
    proptest!(cases(512), |(scopes in prop::collection::hash_set("[!-~]{1,20}", 0..50))| {
        // Any set of distinct scope tokens survives join → split, order kept.
        let scopes: Vec<String> = scopes.into_iter().collect();
        prop_assert_eq!(scope::split(&scope::join(&scopes)), scopes);
    });
    proptest!(cases(512), |(granted in "[a-z.*]{0,20}", needle in "[a-z.*]{0,20}")| {
        // Wildcard matching answers for any pair, and a scope always covers itself.
        let _ = scope::matches(&granted, &needle);
        prop_assert!(needle.is_empty() || scope::matches(&needle, &needle));
    });
}
