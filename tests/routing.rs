//! Routing: unknown paths, wrong methods, admin/public separation, body limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use http::{Method, StatusCode};

#[tokio::test]
async fn unknown_path_is_404_json() {
    let (p, _) = provider().await;
    let res = p.public().handle(empty_request(Method::GET, "/nope")).await;
    assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    let res = p
        .admin()
        .handle(empty_request(Method::GET, "/clients/a/b"))
        .await;
    assert_error(&res, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn routes_match_the_path_as_sent_and_decode_only_parameters() {
    // Issue 10, item 5: a proxy that filters the raw path must see what the router sees.
    let (p, _) = provider().await;
    for path in ["/%63lients", "/oauth2/%66lush", "/health/%61live"] {
        let res = p.admin().handle(empty_request(Method::GET, path)).await;
        assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    }
    for path in [
        "/oauth2/%74oken",
        "/%2Ewell-known/jwks.json",
        "/oauth2%2Ftoken",
    ] {
        let res = p.public().handle(empty_request(Method::POST, path)).await;
        assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    }
    // An id segment is still decoded: `%61pp` is the client `app`.
    seed::code_client(&p, "app").await;
    let res = p
        .admin()
        .handle(empty_request(Method::GET, "/clients/%61pp"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_json(&res)["client_id"], "app");
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let (p, _) = provider().await;
    let res = p
        .public()
        .handle(empty_request(Method::GET, "/oauth2/token"))
        .await;
    assert_error(&res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(res.headers()["allow"], "POST");
    let res = p
        .admin()
        .handle(empty_request(Method::PATCH, "/clients"))
        .await;
    assert_eq!(res.headers()["allow"], "GET, POST");
}

#[tokio::test]
async fn admin_and_public_paths_are_separate() {
    let (p, _) = provider().await;
    for path in [
        "/clients",
        "/oauth2/introspect",
        "/oauth2/flush",
        "/health/alive",
    ] {
        let res = p.public().handle(empty_request(Method::GET, path)).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{path} must not be public"
        );
    }
    for path in [
        "/oauth2/token",
        "/oauth2/auth",
        "/userinfo",
        "/.well-known/jwks.json",
    ] {
        let res = p.admin().handle(empty_request(Method::GET, path)).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{path} must not be admin"
        );
    }
}

#[tokio::test]
async fn oversized_body_is_413() {
    let (p, _) = provider().await;
    let big = vec![b'a'; 64 * 1024 + 1];
    let res = p
        .admin()
        .handle(raw_request(
            Method::POST,
            "/clients",
            "application/json",
            big,
        ))
        .await;
    assert_error(
        &res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_entity_too_large",
    );
}

#[tokio::test]
async fn health_endpoints_answer_ok() {
    let (p, _) = provider().await;
    for path in ["/health/alive", "/health/ready"] {
        let res = p.admin().handle(empty_request(Method::GET, path)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body_json(&res)["status"], "ok");
    }
}

/// Control characters in identifiers never reach a store (PostgreSQL refuses NUL in text,
/// which was a 500): in a path segment or a client id they are a 400. (A token with one is
/// only hashed: introspection still answers `{"active":false}`, tests/introspect.rs.)
#[tokio::test]
async fn control_characters_are_refused_at_the_edge() {
    let (p, _) = provider().await;
    for path in [
        "/clients/app%00x",
        "/oauth2/auth/requests/login/ch%00",
        "/oauth2/auth/sessions/login/al%07ice",
    ] {
        let res = p.admin().handle(empty_request(Method::GET, path)).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let res = p
        .public()
        .handle(form_request(
            "/oauth2/token",
            &[("grant_type", "client_credentials"), ("client_id", "a\0b")],
        ))
        .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let mut basic = form_request("/oauth2/token", &[("grant_type", "client_credentials")]);
    basic
        .headers_mut()
        .insert("authorization", basic_raw("a%00b:secret").parse().unwrap());
    let res = p.public().handle(basic).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = p
        .public()
        .handle(empty_request(
            Method::GET,
            "/oauth2/auth?client_id=a%00b&response_type=code",
        ))
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=invalid_request"), "{location}");
}
