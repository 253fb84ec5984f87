//! The whole code flow through the public API: authorize → login → consent → token
//! exchange (test catalog §4 items 32, 36, 51).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::flow::*;
use common::*;
use http::StatusCode;
use oauth2_provider::testing::Harness;
use serde_json::Value;

async fn exchange(h: &Harness, code: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ];
    pairs.extend_from_slice(extra);
    app_token(&h.provider, &pairs).await
}

#[tokio::test]
async fn code_flow_with_pkce_ends_in_tokens_with_the_accepted_claims() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let query = code_query(&[
        ("redirect_uri", CB),
        ("prompt", "login consent"),
        ("max_age", "1"),
        ("nonce", "nonce-xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let code = ua
        .code(
            &query,
            oauth2_provider::AcceptLoginRequest {
                acr: "urn:mfa".into(),
                ..remembered_login("alice")
            },
            remembered_consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    let (status, body) = exchange(&h, &code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "PKCE is enforced: {body}");
    let (status, body) = exchange(&h, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("op_at_"));
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("op_rt_")
    );
    let claims = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "nonce-xyz");
    assert_eq!(claims["acr"], "urn:mfa");
    assert!(claims["sid"].is_string());
    assert!(claims["auth_time"].is_number());
    // Catalog 51: the code is single-use.
    let (status, body) = exchange(&h, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn granted_scopes_decide_refresh_and_id_tokens() {
    // Catalog 33/36: `openid` without `offline` → ID token, no refresh token.
    let h = harness().await;
    let mut ua = h.user_agent();
    let code = ua
        .code(
            &code_query(&[("redirect_uri", CB)]),
            login_as("bob"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    let (status, body) = exchange(&h, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    assert!(body["id_token"].is_string());
    let code = ua
        .code(
            &code_query(&[("redirect_uri", CB)]),
            login_as("bob"),
            consent_to(&["offline"]),
        )
        .await
        .unwrap();
    let (_, body) = exchange(&h, &code, &[]).await;
    assert!(body["refresh_token"].is_string());
    assert!(body.get("id_token").is_none());
}
