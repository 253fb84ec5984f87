//! RFC 9068 JWT access tokens: per-client `access_token_strategy` with a provider-wide default
//! (opaque stays the default), the header and claims, introspection, userinfo and revocation
//! of a JWT, and the resource servers' `AccessTokenVerifier` (signature by `kid`, `typ`, `iss`,
//! `aud`, `exp`, the key cache refetching for a new key).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::flow::*;
use common::{ISSUER, body_json, empty_request, jwt_claims, jwt_header, q};
use http::Method;
use oauth2_provider::model::client::Client;
use oauth2_provider::resource_server::{AccessTokenVerifier, JwksSource, VerifyError};
use oauth2_provider::testing::Harness;
use oauth2_provider::{AcceptConsentRequest, AccessTokenStrategy, Algorithm, JwkSet, Provider};
use serde_json::{Value, json};

const API: &str = "https://api.example.com/";

/// A client like `app` that gets JWT access tokens.
fn jwt_client(id: &str) -> Client {
    Client {
        access_token_strategy: "jwt".into(),
        ..flow_client(id)
    }
}

/// Runs a code flow of `client` for `alice` granting `openid offline` and `API`, and returns
/// the token response.
async fn tokens(h: &Harness, client: &str) -> Value {
    let query = format!(
        "{}&{}",
        code_query(&[("client_id", client)]),
        q(&[("resource", API)])
    );
    let consent = AcceptConsentRequest {
        grant_access_token_audience: vec![API.into()],
        ..consent_to(&["openid", "offline"])
    };
    let code = h
        .user_agent()
        .code(&query, login_as("alice"), consent)
        .await
        .unwrap();
    let req = common::basic_form_request(
        "/oauth2/token",
        client,
        APP_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    );
    let res = h.provider.public().handle(req).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    body_json(&res)
}

/// A key source that counts its fetches.
#[derive(Debug)]
struct Counting {
    provider: Provider,
    fetches: AtomicUsize,
}

#[async_trait::async_trait]
impl JwksSource for Counting {
    async fn fetch(&self) -> Result<JwkSet, String> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.provider.fetch().await
    }
}

#[tokio::test]
async fn opaque_stays_the_default_and_a_client_can_ask_for_jwts() {
    let h = harness().await;
    h.register(jwt_client("jwt-app"), Some(APP_SECRET))
        .await
        .unwrap();
    let opaque = tokens(&h, "app").await;
    assert!(
        opaque["access_token"]
            .as_str()
            .unwrap()
            .starts_with("op_at_")
    );

    let body = tokens(&h, "jwt-app").await;
    let at = body["access_token"].as_str().unwrap();
    let header = jwt_header(at);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());
    let claims = jwt_claims(at);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], json!([API]));
    assert_eq!(claims["client_id"], "jwt-app");
    assert_eq!(claims["scope"], "openid offline");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["auth_time"].is_i64());
    // The refresh token stays opaque.
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("op_rt_")
    );

    // Introspection and userinfo find the JWT like an opaque token.
    let introspection = h.provider.introspect(at, None).await.unwrap();
    assert!(introspection.active);
    assert_eq!(introspection.aud, [API]);
    assert_eq!(introspection.client_id, "jwt-app");
    let mut req = empty_request(Method::GET, "/userinfo");
    req.headers_mut()
        .insert("authorization", format!("Bearer {at}").parse().unwrap());
    let res = h.provider.public().handle(req).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(body_json(&res)["sub"], "alice");

    // Revocation by the client: introspection says inactive; the signature still verifies.
    let revoke =
        common::basic_form_request("/oauth2/revoke", "jwt-app", APP_SECRET, &[("token", at)]);
    assert_eq!(h.provider.public().handle(revoke).await.status(), 200);
    assert!(!h.provider.introspect(at, None).await.unwrap().active);
    let verifier = AccessTokenVerifier::new(ISSUER, API, Arc::new(h.provider.clone()))
        .with_clock(h.clock.clone());
    assert!(verifier.verify(at).await.is_ok());
}

#[tokio::test]
async fn the_provider_default_applies_to_clients_that_name_none() {
    let mut config = config();
    config.access_token_strategy = AccessTokenStrategy::Jwt;
    config.keys.algorithms = vec![Algorithm::EdDSA, Algorithm::ES256];
    let h = harness_with(config).await;
    h.register(
        Client {
            access_token_strategy: "opaque".into(),
            ..flow_client("opaque-app")
        },
        Some(APP_SECRET),
    )
    .await
    .unwrap();
    let at = tokens(&h, "app").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_header(&at)["alg"], "EdDSA");
    let opaque = tokens(&h, "opaque-app").await;
    assert!(
        opaque["access_token"]
            .as_str()
            .unwrap()
            .starts_with("op_at_")
    );

    // Client credentials without a resource: the provider itself is the default audience.
    h.register(
        Client {
            client_id: "machine".into(),
            grant_types: vec!["client_credentials".into()],
            ..Client::default()
        },
        Some(APP_SECRET),
    )
    .await
    .unwrap();
    let req = common::basic_form_request(
        "/oauth2/token",
        "machine",
        APP_SECRET,
        &[("grant_type", "client_credentials")],
    );
    let body = body_json(&h.provider.public().handle(req).await);
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], json!([ISSUER]));
    assert_eq!(claims["sub"], "machine");
    assert!(claims.get("auth_time").is_none());
}

#[tokio::test]
async fn the_verifier_checks_type_issuer_audience_and_expiry() {
    let h = harness().await;
    h.register(jwt_client("jwt-app"), Some(APP_SECRET))
        .await
        .unwrap();
    let body = tokens(&h, "jwt-app").await;
    let at = body["access_token"].as_str().unwrap();
    let source = Arc::new(h.provider.clone());
    let verifier = |issuer: &str, audience: &str| {
        AccessTokenVerifier::new(issuer, audience, source.clone()).with_clock(h.clock.clone())
    };

    let claims = verifier(ISSUER, API).verify(at).await.unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.client_id, "jwt-app");
    assert_eq!(claims.scope, ["openid", "offline"]);
    assert_eq!(claims.aud, [API]);

    let wrong_aud = verifier(ISSUER, "https://other.example.com/")
        .verify(at)
        .await;
    assert_eq!(wrong_aud.unwrap_err(), VerifyError::WrongAudience);
    let wrong_iss = verifier("https://evil.example.com/", API).verify(at).await;
    assert_eq!(wrong_iss.unwrap_err(), VerifyError::WrongIssuer);
    // An ID token of the same provider, signed with the same keys, is not an access token.
    let id_token = body["id_token"].as_str().unwrap();
    assert!(matches!(
        verifier(ISSUER, "jwt-app").verify(id_token).await,
        Err(VerifyError::Invalid(_))
    ));
    // A tampered token.
    let mut tampered = at.to_owned();
    tampered.pop();
    tampered.push(if at.ends_with('A') { 'B' } else { 'A' });
    assert!(matches!(
        verifier(ISSUER, API).verify(&tampered).await,
        Err(VerifyError::Invalid(_))
    ));
    // Expired, past the leeway.
    h.clock.advance(time::Duration::seconds(3600 + 61));
    assert_eq!(
        verifier(ISSUER, API).verify(at).await.unwrap_err(),
        VerifyError::Expired
    );
}

#[tokio::test]
async fn the_verifier_fetches_keys_again_for_a_new_kid_but_not_for_every_unknown_one() {
    let h = harness().await;
    h.register(jwt_client("jwt-app"), Some(APP_SECRET))
        .await
        .unwrap();
    let source = Arc::new(Counting {
        provider: h.provider.clone(),
        fetches: AtomicUsize::new(0),
    });
    let verifier =
        AccessTokenVerifier::new(ISSUER, API, source.clone()).with_clock(h.clock.clone());
    let first = tokens(&h, "jwt-app").await;
    verifier
        .verify(first["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);

    // Two rotations: the key that now signs was not published when the verifier fetched.
    h.provider.rotate_keys(Algorithm::ES256).await.unwrap();
    h.provider.rotate_keys(Algorithm::ES256).await.unwrap();
    h.clock.advance(time::Duration::seconds(11));
    let second = tokens(&h, "jwt-app").await;
    let at = second["access_token"].as_str().unwrap();
    verifier.verify(at).await.unwrap();
    assert_eq!(source.fetches.load(Ordering::SeqCst), 2);

    // A made-up kid right after: refused without another fetch (rate-limited).
    let header = common::jwt_header(at);
    let forged_header = json!({"alg": header["alg"], "typ": "at+jwt", "kid": "made-up"});
    let encode = |v: &Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let rest = at.split_once('.').unwrap().1;
    let forged = format!("{}.{rest}", encode(&forged_header));
    assert!(matches!(
        verifier.verify(&forged).await,
        Err(VerifyError::Invalid(_))
    ));
    assert_eq!(source.fetches.load(Ordering::SeqCst), 2);
}

/// A key source that can be switched to failing.
#[derive(Debug)]
struct Flaky {
    provider: Provider,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl JwksSource for Flaky {
    async fn fetch(&self) -> Result<JwkSet, String> {
        if self.down.load(Ordering::SeqCst) {
            return Err("connection refused".into());
        }
        self.provider.fetch().await
    }
}

#[tokio::test]
async fn a_key_source_outage_is_unavailable_and_cached_keys_outlive_it() {
    let h = harness().await;
    h.register(jwt_client("jwt-app"), Some(APP_SECRET))
        .await
        .unwrap();
    let body = tokens(&h, "jwt-app").await;
    let at = body["access_token"].as_str().unwrap();
    let source = Arc::new(Flaky {
        provider: h.provider.clone(),
        down: std::sync::atomic::AtomicBool::new(true),
    });
    let verifier = AccessTokenVerifier::new(ISSUER, API, source.clone())
        .with_clock(h.clock.clone())
        .with_max_age(time::Duration::seconds(30));
    // No keys yet and none to fetch: the resource server's outage, not a verdict on the token.
    assert!(matches!(
        verifier.verify(at).await,
        Err(VerifyError::KeysUnavailable(_))
    ));
    source.down.store(false, Ordering::SeqCst);
    h.clock.advance(time::Duration::seconds(11));
    verifier.verify(at).await.unwrap();
    // Past the cache's age with the source down: the stale keys still verify.
    source.down.store(true, Ordering::SeqCst);
    h.clock.advance(time::Duration::seconds(31));
    verifier.verify(at).await.unwrap();
}
