//! Issue 10, item 3: extreme values in every numeric, duration and instant field of both
//! APIs — 0, negative, `i64::MAX`, `i64::MIN`, `u64::MAX`, huge floats, huge strings, wrong
//! JSON types, far-past and far-future timestamps — never panic and never answer 5xx, and
//! neither do the operations that later read what such a request stored (the next
//! authorization of the same user, their consent sessions, the code exchange).
//!
//! Each property runs a bounded number of cases against one provider, so that what one case
//! stored is there for the next (a remembered consent of `remember_for = i64::MAX` meets the
//! next authorization), and the whole file runs in seconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use common::flow::*;
use common::*;
use http::{Method, Response};
use oauth2_provider::testing::{Harness, UserAgent, redirect_param};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

/// Cases per property: enough to draw every fixed extreme several times, few enough to run
/// in seconds.
const CASES: u32 = 64;

fn cases() -> proptest::test_runner::Config {
    props::cases(CASES)
}

/// Numbers at and around every edge a handler might add, multiply or convert.
fn extreme_number() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(-1)),
        Just(json!(i64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MAX / 1_000)),
        Just(json!(1_000_000_000_000_i64)),
        Just(json!(253_402_300_800_i64)), // 10000-01-01 in unix seconds
        Just(json!(1e300)),
        Just(json!(-1e300)),
        Just(json!(0.5)),
        Just(json!(-0.0)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
    ]
    .boxed()
}

/// Strings that look like numbers, instants or nothing at all.
fn extreme_text() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just(i64::MAX.to_string()),
        Just(i64::MIN.to_string()),
        Just(u64::MAX.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("1e300".to_owned()),
        Just("-1e300".to_owned()),
        Just("NaN".to_owned()),
        Just("9".repeat(400)),
        Just("x".repeat(20_000)),
        Just("0000-01-01T00:00:00Z".to_owned()),
        Just("9999-12-31T23:59:59.999999999Z".to_owned()),
        Just("0000-01-01T00:00:00+23:59".to_owned()),
        Just("9999-12-31T23:59:59-23:59".to_owned()),
        Just("0001-01-01T00:00:00Z".to_owned()),
        Just("1970-01-01T00:00:00Z".to_owned()),
        Just("2262-04-11T23:47:16Z".to_owned()),
        "\\PC{0,40}",
        "[0-9+-.eE]{1,30}",
    ]
    .boxed()
}

/// Any JSON value a field might receive: extreme numbers, wrong types, extreme strings.
fn extreme_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => extreme_number(),
        2 => extreme_text().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(json!([])),
        1 => Just(json!({})),
        1 => Just(json!([i64::MAX, i64::MIN])),
        1 => Just(json!({"nested": {"deeper": [1e300]}})),
    ]
    .boxed()
}

/// A `remember_for`: mostly an accepted value (0, huge, anything non-negative) so that the
/// flow goes on to use it; sometimes anything at all.
fn duration_field() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(json!(0)),
        1 => Just(json!(i64::MAX)),
        1 => Just(json!(1_000_000_000_000_i64)),
        1 => (0..i64::MAX).prop_map(|n| json!(n)),
        2 => extreme_value(),
    ]
    .boxed()
}

fn sane(res: &Response<Bytes>, what: &str) {
    props::assert_not_5xx(res, what);
}

async fn admin(h: &Harness, method: Method, uri: &str, body: &Value) -> Response<Bytes> {
    let req = if body.is_null() {
        empty_request(method, uri)
    } else {
        json_request(method, uri, body)
    };
    h.provider.admin().handle(req).await
}

/// Follows a `redirect_to` of an accept/reject answer in the browser.
async fn follow(ua: &mut UserAgent, res: &Response<Bytes>, what: &str) -> Option<Response<Bytes>> {
    sane(res, what);
    if !res.status().is_success() {
        return None;
    }
    let to = body_json(res)["redirect_to"].as_str()?.to_owned();
    let next = ua.get(&to).await;
    sane(&next, &format!("{what}, then the browser"));
    Some(next)
}

/// `max_age` values: mostly valid (absent, 0, huge), so that the flow goes on to the
/// accept calls; sometimes anything.
fn max_age() -> BoxedStrategy<String> {
    prop_oneof![
        3 => Just(String::new()),
        1 => Just("0".to_owned()),
        1 => Just(i64::MAX.to_string()),
        1 => any::<u32>().prop_map(|n| n.to_string()),
        1 => extreme_text(),
    ]
    .boxed()
}

/// `body` without `remember` when the request is `skip`, as a login or consent app does
/// (remembering a skipped request is refused).
async fn unless_skipped(h: &Harness, kind: &str, challenge: &str, body: &Value) -> Value {
    let uri = format!("/oauth2/auth/requests/{kind}/{challenge}");
    let request = admin(h, Method::GET, &uri, &Value::Null).await;
    sane(&request, kind);
    let mut body = body.clone();
    if body_json(&request)["skip"] == true {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("remember");
        }
    }
    body
}

/// Accepts the `kind` request of `challenge` with `body` (less `remember` when it is
/// `skip`) and follows the browser; `None` when the accept was refused.
async fn accept(
    h: &Harness,
    ua: &mut UserAgent,
    kind: &str,
    challenge: &str,
    body: &Value,
) -> Option<Response<Bytes>> {
    let body = unless_skipped(h, kind, challenge, body).await;
    let uri = format!("/oauth2/auth/requests/{kind}/{challenge}/accept");
    let answer = admin(h, Method::PUT, &uri, &body).await;
    follow(ua, &answer, &format!("accept {kind}")).await
}

/// One browser's flow for `alice` with the given accept bodies, then everything that reads
/// what it stored: the consent sessions, the next authorization in the same browser, and the
/// code exchange. True when it got as far as tokens, so that a property can check that its
/// cases did (an early refusal would leave the accept fields untested).
async fn flow(h: &Harness, query: &str, login: &Value, consent: &Value, page: &str) -> bool {
    let mut ua = h.user_agent();
    let mut res = ua.authorize(query).await;
    sane(&res, "authorize");
    for (kind, body) in [("login", login), ("consent", consent)] {
        if let Some(challenge) = redirect_param(&res, &format!("{kind}_challenge")) {
            match accept(h, &mut ua, kind, &challenge, body).await {
                Some(next) => res = next,
                None => return false,
            }
        }
    }
    let sessions = format!("/oauth2/auth/sessions/consent/alice?{page}");
    sane(
        &admin(h, Method::GET, &sessions, &Value::Null).await,
        "consent sessions",
    );
    sane(&ua.authorize(query).await, "the next authorization");
    sane(
        &ua.authorize(&code_query(&[("prompt", "none")])).await,
        "the next authorization, prompt=none",
    );
    let Some(code) = redirect_param(&res, "code") else {
        return false;
    };
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CB),
    ];
    let (status, body) = app_token(&h.provider, &pairs).await;
    assert!(status.as_u16() < 500, "code exchange: {status} {body}");
    status.is_success()
}

#[test]
fn accepts_with_extreme_durations_never_fail_the_server() {
    let (rt, h) = props::harness_on_runtime();
    let fields = (
        any::<bool>(),
        duration_field(),
        any::<bool>(),
        duration_field(),
        extreme_value(),
        max_age(),
        extreme_text(),
        extreme_text(),
    );
    let exchanged = AtomicUsize::new(0);
    proptest!(cases(), |((remember_login, login_for, remember_consent, consent_for, session, max_age, limit, offset) in fields)| {
        let login = json!({"subject": "alice", "remember": remember_login, "remember_for": login_for});
        let consent = json!({
            "grant_scope": ["openid", "offline"],
            "remember": remember_consent,
            "remember_for": consent_for,
            "session": {"id_token": {"x": session}, "access_token": {"y": session}},
        });
        let query = code_query(&[("max_age", &max_age)]);
        let page = q(&[("limit", &limit), ("offset", &offset)]);
        if rt.block_on(flow(&h, &query, &login, &consent, &page)) {
            exchanged.fetch_add(1, Ordering::Relaxed);
        }
    });
    let exchanged = exchanged.load(Ordering::Relaxed);
    assert!(
        exchanged >= CASES as usize / 8,
        "only {exchanged} of {CASES} flows reached a token"
    );
}

#[test]
fn wrongly_typed_accept_and_reject_fields_are_refused_not_failed() {
    let (rt, h) = props::harness_on_runtime();
    let field = prop_oneof![
        Just(("login", "accept", "remember_for")),
        Just(("login", "accept", "remember")),
        Just(("login", "accept", "subject")),
        Just(("login", "accept", "acr")),
        Just(("consent", "accept", "remember_for")),
        Just(("consent", "accept", "remember")),
        Just(("consent", "accept", "grant_scope")),
        Just(("consent", "accept", "session")),
        Just(("login", "reject", "status_code")),
        Just(("consent", "reject", "status_code")),
        Just(("login", "reject", "error")),
        Just(("consent", "reject", "error_description")),
    ];
    proptest!(cases(), |((kind, verb, name) in field, value in extreme_value())| {
        rt.block_on(async {
            let mut ua = h.user_agent();
            let mut body = json!({"subject": "alice", "grant_scope": ["openid"]});
            if verb == "reject" {
                body = json!({"error": "access_denied"});
            }
            body[name] = value;
            let mut res = ua.authorize(&code_query(&[])).await;
            if kind == "consent" {
                let challenge = redirect_param(&res, "login_challenge").unwrap();
                let uri = format!("/oauth2/auth/requests/login/{challenge}/accept");
                res = follow(&mut ua, &admin(&h, Method::PUT, &uri, &json!({"subject": "alice"})).await, "login")
                    .await
                    .unwrap();
            }
            let Some(challenge) = redirect_param(&res, &format!("{kind}_challenge")) else {
                return; // a remembered consent skipped the page
            };
            let uri = format!("/oauth2/auth/requests/{kind}/{challenge}/{verb}");
            let body = if kind == "consent" && verb == "accept" {
                let mut b = body;
                b.as_object_mut().unwrap().remove("subject");
                b
            } else if verb == "accept" {
                let mut b = body;
                b.as_object_mut().unwrap().remove("grant_scope");
                b
            } else {
                body
            };
            let answered = admin(&h, Method::PUT, &uri, &body).await;
            follow(&mut ua, &answered, &format!("{kind} {verb} {name}")).await;
            sane(&admin(&h, Method::GET, "/oauth2/auth/sessions/consent/alice", &Value::Null).await, "sessions");
        });
    });
}

/// A valid client body with one field replaced by an extreme value.
fn client_body(id: &str, field: &str, value: Value) -> Value {
    let mut body = json!({
        "client_id": id,
        "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid offline",
        "token_endpoint_auth_method": "client_secret_basic",
    });
    body[field] = value;
    body
}

#[test]
fn client_fields_with_extreme_values_never_fail_the_server() {
    let (rt, h) = props::harness_on_runtime();
    let field = prop_oneof![
        Just("client_secret_expires_at"),
        Just("created_at"),
        Just("updated_at"),
        Just("client_id"),
        Just("client_name"),
        Just("client_secret"),
        Just("redirect_uris"),
        Just("grant_types"),
        Just("response_types"),
        Just("scope"),
        Just("contacts"),
        Just("jwks"),
        Just("subject_type"),
        Just("token_endpoint_auth_method"),
        Just("id_token_signed_response_alg"),
        Just("allowed_cors_origins"),
        Just("sector_identifier_uri"),
        Just("owner"),
    ];
    let n = AtomicUsize::new(0);
    proptest!(cases(), |(field in field, value in extreme_value(), update in extreme_value(), limit in extreme_text(), offset in extreme_text())| {
        let id = format!("c{}", n.fetch_add(1, Ordering::Relaxed));
        rt.block_on(async {
            let created = admin(&h, Method::POST, "/clients", &client_body(&id, field, value)).await;
            sane(&created, &format!("create with {field}"));
            let id = if created.status().is_success() {
                body_json(&created)["client_id"].as_str().unwrap().to_owned()
            } else {
                id
            };
            let path = format!("/clients/{}", utf8_percent_encode(&id, NON_ALPHANUMERIC));
            sane(&admin(&h, Method::PUT, &path, &client_body(&id, field, update)).await, "update");
            sane(&admin(&h, Method::GET, &path, &Value::Null).await, "read");
            let list = format!("/clients?{}", q(&[("limit", &limit), ("offset", &offset)]));
            sane(&admin(&h, Method::GET, &list, &Value::Null).await, "list");
            let mut ua = h.user_agent();
            let query = q(&[("client_id", &id), ("response_type", "code"), ("scope", "openid"), ("state", "state-123")]);
            sane(&ua.authorize(&query).await, "authorize with the client");
            sane(&admin(&h, Method::DELETE, &path, &Value::Null).await, "delete");
        });
    });
}

#[test]
fn flush_with_extreme_not_after_never_fails_the_server() {
    let (rt, h) = props::harness_on_runtime();
    let not_after = prop_oneof![
        extreme_value(),
        (-62_167_219_200_i64..253_402_300_799_i64).prop_map(|t| {
            let at = OffsetDateTime::from_unix_timestamp(t).unwrap();
            json!(
                at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap()
            )
        }),
    ];
    proptest!(cases(), |(value in not_after)| {
        let body = json!({"notAfter": value});
        let reached = rt.block_on(async {
            sane(&admin(&h, Method::POST, "/oauth2/flush", &body).await, "flush");
            // What a flush left behind still works: the next flow reaches its tokens.
            flow(&h, &code_query(&[]), &json!({"subject": "alice", "remember": true}),
                &json!({"grant_scope": ["openid"], "remember": true}), "").await
        });
        prop_assert!(reached, "a flow after flushing with {} failed", body);
    });
}

#[test]
fn authorization_parameters_with_extreme_values_never_fail_the_server() {
    let (rt, h) = props::harness_on_runtime();
    let name = prop_oneof![
        Just("max_age"),
        Just("prompt"),
        Just("display"),
        Just("ui_locales"),
        Just("login_hint"),
        Just("acr_values"),
        Just("id_token_hint"),
        Just("nonce"),
        Just("state"),
        Just("redirect_uri"),
        Just("response_mode"),
        Just("response_type"),
        Just("scope"),
        Just("code_challenge"),
        Just("code_challenge_method"),
    ];
    proptest!(cases(), |(name in name, value in extreme_text())| {
        rt.block_on(async {
            let query = code_query(&[(name, &value)]);
            flow(&h, &query, &json!({"subject": "alice", "remember": true, "remember_for": i64::MAX}),
                &json!({"grant_scope": ["openid", "offline"], "remember": true, "remember_for": i64::MAX}), "").await;
            // The token endpoint's fields take the same values.
            let form = basic_form_request("/oauth2/token", "app", APP_SECRET,
                &[("grant_type", "refresh_token"), ("refresh_token", &value), ("scope", &value)]);
            sane(&h.provider.public().handle(form).await, "token endpoint");
        });
    });
}

/// The last instant `time` represents, less a second.
fn end_of_time() -> OffsetDateTime {
    PrimitiveDateTime::new(Date::MAX, Time::MIDNIGHT).assume_utc() + Duration::hours(23)
}

#[tokio::test]
async fn a_clock_at_the_end_of_time_saturates_expiries_instead_of_panicking() {
    // Failed before: `now + lifespan` at the login request, the code, the session and the
    // tokens overflowed `time` and panicked on a host clock near the last representable instant.
    let h = harness().await;
    h.clock.set(end_of_time());
    let mut ua = h.user_agent();
    let code = ua
        .code(
            &code_query(&[]),
            remembered_login("alice"),
            consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
    ];
    let (status, tokens) = app_token(&h.provider, &pairs).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["access_token"].is_string() && tokens["id_token"].is_string());
    // The next authorization reads the remembered session that expires at the end of time.
    sane(
        &ua.authorize(&code_query(&[])).await,
        "the next authorization",
    );
}
