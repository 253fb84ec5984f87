//! `GET|POST /userinfo`: bearer from the header (any case) or the form, claims from the
//! consent session with the client's `sub`, and 401 `invalid_token` for everything else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::seed::*;
use common::*;
use http::{Method, Request, StatusCode};
use oauth2_provider::store::TokenKind;
use serde_json::json;
use time::Duration;

fn get_with(auth: &str) -> Request<Bytes> {
    let mut req = empty_request(Method::GET, "/userinfo");
    req.headers_mut()
        .insert("authorization", auth.parse().unwrap());
    req
}

fn assert_invalid_token(res: &http::Response<Bytes>) {
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_token");
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
    assert_no_store(res);
}

async fn setup() -> (
    oauth2_provider::Provider,
    std::sync::Arc<oauth2_provider::ManualClock>,
    serde_json::Value,
) {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let tokens = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    (p, clock, tokens)
}

#[tokio::test]
async fn header_get_header_post_and_form_post_all_work() {
    let (p, _clock, tokens) = setup().await;
    let at = tokens["access_token"].as_str().unwrap();
    let expected = json!({"sub": "alice-pairwise", "email": "alice@example.com"});
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let res = public(&p, get_with(&format!("{scheme} {at}"))).await;
        assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
        assert_no_store(&res);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(
            body_json(&res),
            expected,
            "extras cannot override sub or add iss"
        );
    }
    let mut post = empty_request(Method::POST, "/userinfo");
    post.headers_mut()
        .insert("authorization", format!("Bearer {at}").parse().unwrap());
    assert_eq!(body_json(&public(&p, post).await), expected);
    let form = form_request("/userinfo", &[("access_token", at)]);
    assert_eq!(body_json(&public(&p, form).await), expected);
}

#[tokio::test]
async fn both_header_and_form_is_invalid_request() {
    let (p, _clock, tokens) = setup().await;
    let at = tokens["access_token"].as_str().unwrap();
    let mut req = form_request("/userinfo", &[("access_token", at)]);
    req.headers_mut()
        .insert("authorization", format!("Bearer {at}").parse().unwrap());
    let res = public(&p, req).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    assert_no_store(&res);
    let repeated = form_request("/userinfo", &[("access_token", at), ("access_token", at)]);
    assert_error(
        &public(&p, repeated).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn other_credentials_are_invalid_token() {
    let (p, _clock, tokens) = setup().await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let code = mint_code();
    let unknown = mint_token(TokenKind::AccessToken);
    for bogus in [rt, id_token, code.as_str(), unknown.as_str(), "garbage"] {
        assert_invalid_token(&public(&p, get_with(&format!("Bearer {bogus}"))).await);
    }
    // No token at all, a Basic header, a query-string token.
    assert_invalid_token(&public(&p, empty_request(Method::GET, "/userinfo")).await);
    assert_invalid_token(&public(&p, get_with(&basic("app", SECRET))).await);
    let at = tokens["access_token"].as_str().unwrap();
    let query = empty_request(Method::GET, &format!("/userinfo?access_token={at}"));
    assert_invalid_token(&public(&p, query).await);
}

#[tokio::test]
async fn expired_revoked_rotated_and_orphaned_tokens_are_invalid_token() {
    let (p, clock, tokens) = setup().await;
    let at = tokens["access_token"].as_str().unwrap().to_owned();
    // Rotated away by a refresh (catalog item 48).
    let rt = tokens["refresh_token"].as_str().unwrap();
    let refreshed = body_json(&public(&p, refresh_request("app", rt)).await);
    assert_invalid_token(&public(&p, get_with(&format!("Bearer {at}"))).await);
    let at2 = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        public(&p, get_with(&format!("Bearer {at2}")))
            .await
            .status(),
        200
    );
    // Expired.
    clock.advance(Duration::hours(1));
    assert_invalid_token(&public(&p, get_with(&format!("Bearer {at2}"))).await);

    // Revoked with its grant.
    let tokens = tokens_for(&p, &clock, "app", &["openid"]).await;
    let at3 = tokens["access_token"].as_str().unwrap();
    let grant_id = p
        .store()
        .access_token(&signature(at3))
        .await
        .unwrap()
        .grant
        .grant_id;
    p.store().revoke_grant(&grant_id).await.unwrap();
    assert_invalid_token(&public(&p, get_with(&format!("Bearer {at3}"))).await);

    // Client deleted.
    let tokens = tokens_for(&p, &clock, "app", &["openid"]).await;
    let at4 = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        public(&p, get_with(&format!("Bearer {at4}")))
            .await
            .status(),
        200
    );
    p.store().delete_client("app").await.unwrap();
    assert_invalid_token(&public(&p, get_with(&format!("Bearer {at4}"))).await);
}

#[tokio::test]
async fn tokens_without_openid_are_insufficient_scope() {
    let (p, _clock) = common::provider().await;
    create_confidential(&p, client_model("machine", &["client_credentials"], "read")).await;
    let res = public(
        &p,
        token_request(
            "machine",
            &[("grant_type", "client_credentials"), ("scope", "read")],
        ),
    )
    .await;
    let at = body_json(&res)["access_token"].as_str().unwrap().to_owned();
    let res = public(&p, get_with(&format!("Bearer {at}"))).await;
    assert_error(&res, StatusCode::FORBIDDEN, "insufficient_scope");
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    assert_no_store(&res);
}
