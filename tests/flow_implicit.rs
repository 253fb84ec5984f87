//! Implicit and hybrid front-channel responses: fragment or form_post only, nonce, at_hash
//! and c_hash, no refresh token, tokens stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::flow::*;
use common::seed::signature;
use common::*;
use http::StatusCode;
use oauth2_provider::Algorithm;
use oauth2_provider::Clock;
use oauth2_provider::testing::{Harness, location, redirect_param};
use sha2::Digest;

fn query(response_type: &str, extra: &[(&str, &str)]) -> String {
    let mut v = vec![
        ("client_id", "app"),
        ("response_type", response_type),
        ("scope", "openid offline"),
        ("nonce", "nonce-abcdef"),
        ("state", "state-123"),
    ];
    v.extend_from_slice(extra);
    q(&v)
}

async fn run(
    h: &Harness,
    response_type: &str,
    extra: &[(&str, &str)],
) -> http::Response<bytes::Bytes> {
    let mut ua = h.user_agent();
    ua.authorize_and_consent(
        &query(response_type, extra),
        login_with_acr("alice"),
        consent_to(&["openid", "offline"]),
    )
    .await
    .unwrap()
}

fn login_with_acr(subject: &str) -> oauth2_provider::AcceptLoginRequest {
    oauth2_provider::AcceptLoginRequest {
        acr: "urn:pwd".into(),
        ..remembered_login(subject)
    }
}

fn half_sha256(value: &str) -> String {
    let digest = sha2::Sha256::digest(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn fragment_only(res: &http::Response<bytes::Bytes>) {
    let l = location(res).unwrap();
    assert!(l.starts_with(&format!("{CB}#")), "{l}");
    let url = url::Url::parse(l).unwrap();
    assert!(url.query().is_none(), "nothing in the query: {l}");
    assert_eq!(param(res, "state"), "state-123");
    assert_eq!(param(res, "iss"), ISSUER);
    assert!(
        redirect_param(res, "refresh_token").is_none(),
        "no refresh token from the front channel"
    );
}

#[tokio::test]
async fn token_returns_a_stored_access_token_in_the_fragment() {
    let h = harness().await;
    let res = run(&h, "token", &[]).await;
    fragment_only(&res);
    let token = param(&res, "access_token");
    assert!(token.starts_with("op_at_"));
    assert_eq!(param(&res, "token_type"), "bearer");
    assert_eq!(param(&res, "expires_in"), "3600");
    assert_eq!(param(&res, "scope"), "openid offline");
    assert!(redirect_param(&res, "id_token").is_none());
    let record = h
        .provider
        .store()
        .access_token(&signature(&token))
        .await
        .unwrap();
    assert_eq!(record.grant.subject, "alice");
    assert!(record.is_active(h.clock.as_ref().now()));
}

#[tokio::test]
async fn id_token_carries_nonce_acr_sid_and_no_at_hash() {
    let h = harness().await;
    let res = run(&h, "id_token", &[]).await;
    fragment_only(&res);
    assert!(redirect_param(&res, "access_token").is_none());
    let id_token = param(&res, "id_token");
    let claims = jwt_claims(&id_token);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"][0], "app");
    assert_eq!(claims["nonce"], "nonce-abcdef");
    assert_eq!(claims["acr"], "urn:pwd");
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(claims["auth_time"].is_number());
    assert!(claims.get("at_hash").is_none());
    assert!(claims.get("c_hash").is_none());
    assert_eq!(jwt_header(&id_token)["alg"], "ES256");
}

#[tokio::test]
async fn id_token_token_has_at_hash() {
    let h = harness().await;
    let res = run(&h, "id_token token", &[]).await;
    fragment_only(&res);
    let token = param(&res, "access_token");
    let claims = jwt_claims(&param(&res, "id_token"));
    assert_eq!(claims["at_hash"], half_sha256(&token));
    assert!(claims.get("c_hash").is_none());
}

#[tokio::test]
async fn code_id_token_has_c_hash_and_the_code_in_the_fragment() {
    let h = harness().await;
    let res = run(&h, "code id_token", &[]).await;
    fragment_only(&res);
    let code = param(&res, "code");
    let claims = jwt_claims(&param(&res, "id_token"));
    assert_eq!(claims["c_hash"], half_sha256(&code));
    assert!(claims.get("at_hash").is_none());
    assert!(redirect_param(&res, "access_token").is_none());
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(record.nonce.as_deref(), Some("nonce-abcdef"));
    // The sub of the front-channel ID token is the grant's.
    assert_eq!(claims["sub"], record.grant.subject_identifier);
}

#[tokio::test]
async fn code_token_and_code_id_token_token() {
    let h = harness().await;
    let res = run(&h, "code token", &[]).await;
    fragment_only(&res);
    assert!(param(&res, "code").starts_with("op_ac_"));
    assert!(param(&res, "access_token").starts_with("op_at_"));
    assert!(redirect_param(&res, "id_token").is_none());
    let res = run(&h, "code id_token token", &[]).await;
    fragment_only(&res);
    let claims = jwt_claims(&param(&res, "id_token"));
    assert_eq!(claims["c_hash"], half_sha256(&param(&res, "code")));
    assert_eq!(claims["at_hash"], half_sha256(&param(&res, "access_token")));
}

#[tokio::test]
async fn eddsa_clients_get_eddsa_id_tokens() {
    let h = harness().await;
    let mut c = flow_client("ed");
    c.id_token_signed_response_alg = Some(Algorithm::EdDSA);
    h.register(c, Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &q(&[
                ("client_id", "ed"),
                ("response_type", "id_token token"),
                ("scope", "openid"),
                ("nonce", "nonce-abcdef"),
            ]),
            login_as("bob"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    let id_token = param(&res, "id_token");
    assert_eq!(jwt_header(&id_token)["alg"], "EdDSA");
    // EdDSA pairs with SHA-512 for at_hash.
    let digest = sha2::Sha512::digest(param(&res, "access_token").as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..32]);
    assert_eq!(jwt_claims(&id_token)["at_hash"], expected);
}

#[tokio::test]
async fn id_token_without_granted_openid_is_refused() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &query("id_token", &[]),
            login_as("a"),
            consent_to(&["offline"]),
        )
        .await
        .unwrap();
    assert_client_error(&res, "access_denied");
    assert!(redirect_param(&res, "id_token").is_none());
}

#[tokio::test]
async fn form_post_success_posts_every_parameter() {
    let h = harness().await;
    let res = run(&h, "code id_token", &[("response_mode", "form_post")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(location(&res).is_none());
    let body = String::from_utf8(res.body().to_vec()).unwrap();
    assert!(body.contains("method=\"post\""));
    assert!(body.contains("action=\"https:&#x2F;&#x2F;app.example.com&#x2F;cb\""));
    for name in ["code", "id_token", "state", "iss", "scope"] {
        assert!(body.contains(&format!("name=\"{name}\"")), "{name}: {body}");
    }
    assert!(!body.contains("refresh_token"));
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn query_mode_is_allowed_for_codes() {
    let h = harness().await;
    let res = run(&h, "code", &[("response_mode", "query")]).await;
    assert!(location(&res).unwrap().starts_with(&format!("{CB}?code=")));
    let res = run(&h, "code", &[("response_mode", "fragment")]).await;
    assert!(location(&res).unwrap().starts_with(&format!("{CB}#code=")));
}

#[tokio::test]
async fn response_type_must_be_registered_exactly() {
    let h = harness().await;
    let mut c = flow_client("hybrid-only");
    c.response_types = vec!["code id_token".into()];
    h.register(c, Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    for rt in ["id_token", "code", "code token", "code id_token token"] {
        let res = ua
            .authorize(&q(&[
                ("client_id", "hybrid-only"),
                ("response_type", rt),
                ("scope", "openid"),
                ("nonce", "nonce-abcdef"),
            ]))
            .await;
        assert_client_error(&res, "unauthorized_client");
    }
}
