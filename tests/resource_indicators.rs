//! Resource indicators (RFC 8707): `resource` at the authorization endpoint reaches the login
//! and consent requests (`requested_access_token_audience`), accept grants a subset
//! (`grant_access_token_audience`), access tokens carry it as `aud`, a token request narrows
//! it, a refresh keeps the grant's, clients may be restricted (`audience`), and every
//! malformed or unauthorised resource is `invalid_target`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::flow::*;
use common::{ISSUER, body_json, q};
use http::StatusCode;
use oauth2_provider::model::client::Client;
use oauth2_provider::testing::Harness;
use oauth2_provider::{AcceptConsentRequest, Error};
use serde_json::{Value, json};

const A: &str = "https://api.example.com/orders";
const B: &str = "https://files.example.com/";
const C: &str = "https://other.example.com/";

/// The code-flow query of `app` with `offline`, naming `resources`.
fn query_with(resources: &[&str]) -> String {
    let mut query = code_query(&[]);
    for r in resources {
        query.push('&');
        query.push_str(&q(&[("resource", r)]));
    }
    query
}

fn granting(resources: &[&str]) -> AcceptConsentRequest {
    AcceptConsentRequest {
        grant_access_token_audience: resources.iter().map(|r| r.to_string()).collect(),
        ..consent_to(&["openid", "offline"])
    }
}

/// Code exchange by `app` with extra `resource`s; the status and the body.
async fn exchange(h: &Harness, code: &str, resources: &[&str]) -> (StatusCode, Value) {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ];
    pairs.extend(resources.iter().map(|r| ("resource", *r)));
    app_token(&h.provider, &pairs).await
}

async fn aud(h: &Harness, token: &str) -> Value {
    let introspection = h.provider.introspect(token, None).await.unwrap();
    assert!(introspection.active);
    json!(introspection.aud)
}

#[tokio::test]
async fn requested_resources_reach_consent_and_the_granted_ones_the_tokens() {
    let h = harness().await;
    let mut ua = h.user_agent();
    // Repeated `resource` parameters are allowed (RFC 8707 §2), unlike any other.
    let challenge = login_challenge(&mut ua, &query_with(&[A, B, A])).await;
    let login = h.provider.login_request(&challenge).await.unwrap();
    assert_eq!(login.requested_access_token_audience, [A, B]);
    let res = accept_login(&h, &mut ua, &challenge, login_as("alice")).await;
    let consent = consent_challenge(&res);
    let request = h.provider.consent_request(&consent).await.unwrap();
    assert_eq!(request.requested_access_token_audience, [A, B]);
    let admin_view = h
        .provider
        .admin()
        .handle(common::empty_request(
            http::Method::GET,
            &format!("/oauth2/auth/requests/consent/{consent}"),
        ))
        .await;
    assert_eq!(
        body_json(&admin_view)["requested_access_token_audience"],
        json!([A, B])
    );

    // Granting a resource that was not requested is refused, and changes nothing.
    let err = h
        .provider
        .accept_consent(&consent, granting(&[C]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadRequest(_)), "{err:?}");

    let res = accept_consent(&h, &mut ua, &consent, granting(&[A])).await;
    let code = param(&res, "code");
    let (status, body) = exchange(&h, &code, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        aud(&h, body["access_token"].as_str().unwrap()).await,
        json!([A])
    );
    assert_eq!(
        aud(&h, body["refresh_token"].as_str().unwrap()).await,
        json!([A])
    );
}

#[tokio::test]
async fn token_requests_narrow_within_the_grant_and_refresh_keeps_it() {
    let h = harness().await;
    let code = h
        .user_agent()
        .code(&query_with(&[A, B]), login_as("alice"), granting(&[A, B]))
        .await
        .unwrap();
    let (status, body) = exchange(&h, &code, &[B]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        aud(&h, body["access_token"].as_str().unwrap()).await,
        json!([B])
    );
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    // The refresh token keeps the whole grant.
    assert_eq!(aud(&h, &refresh).await, json!([A, B]));

    // A resource outside the grant: invalid_target, and the refresh token is not spent.
    let (status, err) = app_token(
        &h.provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("resource", C),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_target");

    let (status, body) = app_token(
        &h.provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("resource", A),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        aud(&h, body["access_token"].as_str().unwrap()).await,
        json!([A])
    );
    let (status, body) = app_token(
        &h.provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        aud(&h, body["access_token"].as_str().unwrap()).await,
        json!([A, B])
    );
}

#[tokio::test]
async fn a_code_exchange_for_an_ungranted_resource_is_invalid_target() {
    let h = harness().await;
    let code = h
        .user_agent()
        .code(&query_with(&[A, B]), login_as("alice"), granting(&[A]))
        .await
        .unwrap();
    let (status, body) = exchange(&h, &code, &[B]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_target");
    // The refusal spent nothing: the code still redeems.
    let (status, body) = exchange(&h, &code, &[A]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn malformed_resources_are_invalid_target_at_the_client() {
    let h = harness().await;
    let many: Vec<String> = (0..17)
        .map(|i| format!("https://api.example.com/{i}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for resources in [
        vec!["https://api.example.com/#fragment"],
        vec!["/relative/path"],
        vec!["not a uri"],
        many,
    ] {
        let res = h.user_agent().authorize(&query_with(&resources)).await;
        assert_client_error(&res, "invalid_target");
    }
}

#[tokio::test]
async fn a_client_restricted_to_audiences_may_ask_only_for_those() {
    let h = harness().await;
    let restricted = Client {
        audience: vec!["https://api.example.com/".into()],
        ..flow_client("restricted")
    };
    h.register(restricted, Some(APP_SECRET)).await.unwrap();
    let query = |resource: &str| {
        q(&[
            ("client_id", "restricted"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "state-123"),
            ("resource", resource),
        ])
    };
    let res = h.user_agent().authorize(&query(C)).await;
    assert_client_error(&res, "invalid_target");
    let res = h.user_agent().authorize(&query(A)).await;
    assert!(loc(&res).starts_with(LOGIN), "{}", loc(&res));
}

#[tokio::test]
async fn a_remembered_consent_is_skipped_only_when_it_covers_the_resources() {
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &query_with(&[A]),
        remembered_login("alice"),
        AcceptConsentRequest {
            remember: true,
            ..granting(&[A])
        },
    )
    .await
    .unwrap();
    for (resources, skip) in [(vec![A], true), (vec![A, B], false), (vec![], true)] {
        let challenge = login_challenge(&mut ua, &query_with(&resources)).await;
        let res = accept_login(&h, &mut ua, &challenge, login_as("alice")).await;
        let request = h
            .provider
            .consent_request(&consent_challenge(&res))
            .await
            .unwrap();
        assert_eq!(request.skip, skip, "{resources:?}");
    }
    let sessions = h.provider.consent_sessions("alice", 10, 0).await.unwrap();
    assert_eq!(sessions[0].grant_access_token_audience(), [A]);
}

#[tokio::test]
async fn client_credentials_need_the_resource_in_the_clients_audience() {
    let h = Harness::new(config()).await.unwrap();
    let machine = |id: &str, audience: Vec<String>| Client {
        client_id: id.into(),
        grant_types: vec!["client_credentials".into()],
        scope: "read".into(),
        audience,
        ..Client::default()
    };
    h.register(machine("m1", vec![A.into()]), Some(APP_SECRET))
        .await
        .unwrap();
    h.register(machine("m2", vec![]), Some(APP_SECRET))
        .await
        .unwrap();
    let token = |id: &'static str, resource: Option<&'static str>| {
        let mut pairs = vec![("grant_type", "client_credentials"), ("scope", "read")];
        pairs.extend(resource.map(|r| ("resource", r)));
        let req = common::basic_form_request("/oauth2/token", id, APP_SECRET, &pairs);
        let provider = h.provider.clone();
        async move {
            let res = provider.public().handle(req).await;
            (res.status(), body_json(&res))
        }
    };
    let (status, body) = token("m1", Some(A)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        aud(&h, body["access_token"].as_str().unwrap()).await,
        json!([A])
    );
    let (status, body) = token("m1", Some(B)).await;
    assert_eq!(
        (status.as_u16(), &body["error"]),
        (400, &json!("invalid_target"))
    );
    // No registered audience: no resource at all without a user to consent.
    let (status, body) = token("m2", Some(A)).await;
    assert_eq!(
        (status.as_u16(), &body["error"]),
        (400, &json!("invalid_target"))
    );
    let (status, body) = token("m2", None).await;
    assert_eq!(status, 200, "{body}");
    let introspection = h
        .provider
        .introspect(body["access_token"].as_str().unwrap(), None)
        .await
        .unwrap();
    assert!(introspection.active && introspection.aud.is_empty());
    assert_eq!(introspection.iss, ISSUER);
}

#[tokio::test]
async fn client_audiences_and_strategies_are_validated_at_registration() {
    let h = harness().await;
    for (field, value) in [
        ("audience", json!(["https://api.example.com/#x"])),
        ("audience", json!(["not-a-uri"])),
        ("access_token_strategy", json!("paseto")),
    ] {
        let mut body = json!({"client_id": "bad", "redirect_uris": [CB]});
        body[field] = value;
        let res = h
            .provider
            .admin()
            .handle(common::json_request(http::Method::POST, "/clients", &body))
            .await;
        assert_eq!(
            res.status(),
            400,
            "{field}: {}",
            String::from_utf8_lossy(res.body())
        );
    }
    let mut body = json!({"client_id": "good", "redirect_uris": [CB]});
    body["audience"] = json!([A, "urn:example:api"]);
    body["access_token_strategy"] = json!("jwt");
    let res = h
        .provider
        .admin()
        .handle(common::json_request(http::Method::POST, "/clients", &body))
        .await;
    assert_eq!(res.status(), 201, "{}", String::from_utf8_lossy(res.body()));
    assert_eq!(body_json(&res)["audience"], json!([A, "urn:example:api"]));
    assert_eq!(body_json(&res)["access_token_strategy"], "jwt");
}
