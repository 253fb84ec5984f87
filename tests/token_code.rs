//! The authorization code grant at `POST /oauth2/token`: success, ID token, every error
//! path, single use with revocation on reuse, and the no-store headers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::seed::*;
use common::*;
use http::{Method, StatusCode};
use oauth2_provider::Algorithm;
use oauth2_provider::Clock;
use time::Duration;

#[tokio::test]
async fn code_exchange_returns_tokens_and_a_verifiable_id_token() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid", "offline", "foo.bar"]).await;
    let res = public(&p, code_exchange("app", &code)).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_no_store(&res);
    let body = body_json(&res);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid offline foo.bar");
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(access.starts_with("op_at_") && refresh.starts_with("op_rt_"));
    assert!(access_active(&p, &clock, access).await);
    assert!(refresh_active(&p, &clock, refresh).await);

    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(jwt_alg(id_token), Algorithm::ES256);
    let claims = verify_id_token(&p, id_token).await;
    let now = clock.now().unix_timestamp();
    assert_eq!(claims["iss"], common::ISSUER);
    assert_eq!(
        claims["sub"], "alice-pairwise",
        "extras cannot override sub"
    );
    assert_eq!(claims["aud"], serde_json::json!(["app"]));
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 3600);
    assert_eq!(claims["auth_time"], now - 120);
    assert_eq!(claims["acr"], "urn:acr:silver");
    assert_eq!(claims["sid"], "session-123");
    assert_eq!(claims["nonce"], "nonce-12345678");
    assert_eq!(claims["email"], "alice@example.com");
    assert!(
        claims.get("at_hash").is_none(),
        "no at_hash needed at the token endpoint"
    );
}

#[tokio::test]
async fn eddsa_clients_get_eddsa_id_tokens() {
    let (p, clock) = common::provider().await;
    let mut c = client_model("ed", &["authorization_code"], "openid");
    c.id_token_signed_response_alg = Some(Algorithm::EdDSA);
    create_confidential(&p, c).await;
    let body = tokens_for(&p, &clock, "ed", &["openid"]).await;
    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(jwt_alg(id_token), Algorithm::EdDSA);
    assert_eq!(verify_id_token(&p, id_token).await["aud"][0], "ed");
}

#[tokio::test]
async fn no_openid_no_id_token_and_no_offline_no_refresh_token() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let body = tokens_for(&p, &clock, "app", &["foo.bar"]).await;
    assert!(body.get("id_token").is_none());
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "foo.bar");
    let body = tokens_for(&p, &clock, "app", &["openid", "offline_access"]).await;
    assert!(body.get("refresh_token").is_some(), "offline_access counts");
}

#[tokio::test]
async fn no_refresh_token_for_a_client_without_the_refresh_grant() {
    let (p, clock) = common::provider().await;
    create_confidential(
        &p,
        client_model("norefresh", &["authorization_code"], "openid offline"),
    )
    .await;
    let body = tokens_for(&p, &clock, "norefresh", &["openid", "offline"]).await;
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("id_token").is_some());
}

#[tokio::test]
async fn second_redemption_fails_and_revokes_the_first_tokens() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid", "offline"]).await;
    let first = body_json(&public(&p, code_exchange("app", &code)).await);
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert!(access_active(&p, &clock, access).await);

    let res = public(&p, code_exchange("app", &code)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_no_store(&res);
    assert!(
        !access_active(&p, &clock, access).await,
        "access token revoked"
    );
    assert!(
        !refresh_active(&p, &clock, refresh).await,
        "refresh token revoked"
    );
    // And the revoked refresh token is refused at the endpoint.
    let res = public(&p, refresh_request("app", refresh)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_code_whose_grant_was_revoked_is_refused() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, grant_id) = issue_code(&p, &clock, "app", &["openid"]).await;
    p.store().revoke_grant(&grant_id).await.unwrap();
    let res = public(&p, code_exchange("app", &code)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn unknown_malformed_and_foreign_codes_are_invalid_grant() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    code_client(&p, "other").await;
    for bogus in [mint_code(), "not-a-code".to_owned(), "op_at_xyz".to_owned()] {
        let res = public(&p, code_exchange("app", &bogus)).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
        assert_no_store(&res);
    }
    // Another client's code: refused, and the owner can still redeem it.
    let (code, _) = issue_code(&p, &clock, "app", &["openid"]).await;
    let res = public(&p, code_exchange("other", &code)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(!p.store().code(&signature(&code)).await.unwrap().used);
    assert_eq!(public(&p, code_exchange("app", &code)).await.status(), 200);
}

#[tokio::test]
async fn expired_code_is_invalid_grant_and_unused() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid"]).await;
    clock.advance(Duration::minutes(10));
    let res = public(&p, code_exchange("app", &code)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(!p.store().code(&signature(&code)).await.unwrap().used);
}

async fn exchange_with(
    p: &oauth2_provider::Provider,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> http::Response<bytes::Bytes> {
    let mut pairs = vec![("grant_type", "authorization_code"), ("code", code)];
    if let Some(r) = redirect_uri {
        pairs.push(("redirect_uri", r));
    }
    if let Some(v) = verifier {
        pairs.push(("code_verifier", v));
    }
    public(p, token_request("app", &pairs)).await
}

#[tokio::test]
async fn redirect_uri_must_repeat_the_authorization_request() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid"]).await;
    for redirect in [
        None,
        Some("https://client.example.com/cb/"),
        Some("https://evil.example/cb"),
    ] {
        let res = exchange_with(&p, &code, redirect, Some(VERIFIER)).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    assert!(
        !p.store().code(&signature(&code)).await.unwrap().used,
        "nothing persisted"
    );

    // Omitted at /auth: may be omitted now, and if sent must be where the code went.
    let now = clock.now();
    for (sent, ok) in [
        (None, true),
        (Some(REDIRECT), true),
        (Some("https://client.example.com/other"), false),
    ] {
        let code = mint_code();
        let mut record = code_record(&code, consented_grant("app", &["openid"], now), now);
        record.redirect_uri = None;
        insert_code(&p, record).await;
        let res = exchange_with(&p, &code, sent, Some(VERIFIER)).await;
        if ok {
            assert_eq!(res.status(), 200, "{sent:?}");
        } else {
            assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
        }
    }
}

#[tokio::test]
async fn pkce_is_enforced_and_cannot_be_downgraded() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid"]).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl";
    let short = "dBjftJeZ4CVP";
    for verifier in [None, Some(wrong), Some(short)] {
        let res = exchange_with(&p, &code, Some(REDIRECT), verifier).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    assert_eq!(
        exchange_with(&p, &code, Some(REDIRECT), Some(VERIFIER))
            .await
            .status(),
        200
    );

    // No challenge stored: a verifier is a downgrade attempt.
    let now = clock.now();
    let code = mint_code();
    let mut record = code_record(&code, consented_grant("app", &["openid"], now), now);
    record.code_challenge = None;
    insert_code(&p, record).await;
    let res = exchange_with(&p, &code, Some(REDIRECT), Some(VERIFIER)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        exchange_with(&p, &code, Some(REDIRECT), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn public_clients_redeem_with_pkce_and_client_id_only() {
    let (p, clock) = common::provider().await;
    create_public(&p, client_model("spa", &["authorization_code"], "openid")).await;
    let (code, _) = issue_code(&p, &clock, "spa", &["openid"]).await;
    let req = form_request(
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    );
    let res = public(&p, req).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));

    // A public client's code without a challenge is never redeemable.
    let now = clock.now();
    let code = mint_code();
    let mut record = code_record(&code, consented_grant("spa", &["openid"], now), now);
    record.code_challenge = None;
    insert_code(&p, record).await;
    let req = form_request(
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    );
    assert_error(
        &public(&p, req).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

#[tokio::test]
async fn malformed_requests_are_invalid_request_with_no_store() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid"]).await;
    let cases = [
        token_request("app", &[]),
        token_request("app", &[("code", &code)]),
        token_request(
            "app",
            &[
                ("grant_type", "authorization_code"),
                ("grant_type", "authorization_code"),
                ("code", &code),
            ],
        ),
        token_request(
            "app",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code", &code),
            ],
        ),
        token_request("app", &[("grant_type", "authorization_code")]),
    ];
    for req in cases {
        let res = public(&p, req).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
        assert_no_store(&res);
    }
    let mut json = raw_request(
        Method::POST,
        "/oauth2/token",
        "application/json",
        r#"{"grant_type":"x"}"#,
    );
    json.headers_mut()
        .insert("authorization", basic("app", SECRET).parse().unwrap());
    assert_error(
        &public(&p, json).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(!p.store().code(&signature(&code)).await.unwrap().used);
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let (code, _) = issue_code(&p, &clock, "app", &["openid"]).await;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let mut wrong_secret = form_request("/oauth2/token", &pairs);
    wrong_secret
        .headers_mut()
        .insert("authorization", basic("app", "wrong").parse().unwrap());
    let mut unknown = form_request("/oauth2/token", &pairs);
    unknown
        .headers_mut()
        .insert("authorization", basic("nobody", SECRET).parse().unwrap());
    let anonymous = form_request("/oauth2/token", &pairs);
    for req in [wrong_secret, unknown, anonymous] {
        let res = public(&p, req).await;
        assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(res.headers().contains_key("www-authenticate"));
        assert_no_store(&res);
    }
    assert!(!p.store().code(&signature(&code)).await.unwrap().used);
}

#[tokio::test]
async fn unknown_and_unregistered_grant_types() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    for grant_type in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let res = public(&p, token_request("app", &[("grant_type", grant_type)])).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "unsupported_grant_type");
        assert_no_store(&res);
    }
    // Registered only for client_credentials: may not redeem codes.
    create_confidential(
        &p,
        client_model("machine", &["client_credentials"], "openid"),
    )
    .await;
    let (code, _) = issue_code(&p, &clock, "machine", &["openid"]).await;
    let res = public(&p, code_exchange("machine", &code)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert_no_store(&res);
    assert!(!p.store().code(&signature(&code)).await.unwrap().used);
}

#[tokio::test]
async fn get_is_not_allowed() {
    let (p, _clock) = common::provider().await;
    let res = public(&p, common::empty_request(Method::GET, "/oauth2/token")).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}
