//! What a host's metrics read without a tracing subscriber (issue 13, item 3): the `Route`
//! every response carries, and `Provider::counts` — tokens issued by grant type, flows
//! started and completed, store failures — kept per provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::flow::*;
use common::*;
use http::{Method, Response, StatusCode};
use oauth2_provider::Route;
use oauth2_provider::model::GrantType;

/// The route a response names: its API and its name.
fn route(res: &Response<Bytes>) -> (&'static str, Option<&'static str>) {
    let route = res
        .extensions()
        .get::<Route>()
        .expect("every response names its route");
    (route.api(), route.name())
}

fn cc() -> http::Request<Bytes> {
    token_request("app", &[("grant_type", "client_credentials")])
}

#[tokio::test]
async fn every_response_names_its_api_and_route_never_the_path() {
    let (p, _) = common::provider().await;
    common::seed::client(&p, "app").await;
    let res = public(&p, cc()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(route(&res), ("public", Some("token")));
    // A wrong method still names the route it missed.
    let res = public(&p, empty_request(Method::GET, "/oauth2/token")).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(route(&res), ("public", Some("token")));
    // A path no route serves names none.
    let res = public(&p, empty_request(Method::GET, "/oauth2/tokens")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(route(&res), ("public", None));
    // Admin routes carry their name, not their parameters.
    let res = p
        .admin()
        .handle(empty_request(Method::GET, "/clients/app"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(route(&res), ("admin", Some("client")));
    let res = p
        .admin()
        .handle(empty_request(Method::GET, "/clients/nobody"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(route(&res), ("admin", Some("client")));
    let res = p
        .admin()
        .handle(empty_request(Method::GET, "/oauth2/token"))
        .await;
    assert_eq!(route(&res), ("admin", None));
}

#[tokio::test]
async fn a_token_counts_once_under_its_grant_type() {
    let (p, _) = common::provider().await;
    common::seed::client(&p, "app").await;
    assert_eq!(p.counts().tokens_issued.len(), GrantType::ALL.len());
    assert!(p.counts().tokens_issued.iter().all(|(_, n)| *n == 0));
    assert_eq!(public(&p, cc()).await.status(), StatusCode::OK);
    let counts = p.counts();
    assert_eq!(counts.tokens_issued_by(GrantType::ClientCredentials), 1);
    assert_eq!(counts.tokens_issued_by(GrantType::AuthorizationCode), 0);
    // A refused request issues nothing.
    let refused = token_request(
        "app",
        &[("grant_type", "client_credentials"), ("scope", "x")],
    );
    assert_eq!(public(&p, refused).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(p.counts().tokens_issued_by(GrantType::ClientCredentials), 1);
    assert_eq!(p.counts().store_failures, 0);
}

#[tokio::test]
async fn the_code_flow_counts_its_halves_and_its_tokens() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let code = ua
        .code(
            &code_query(&[("redirect_uri", CB)]),
            login_as("alice"),
            consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    let counts = h.provider.counts();
    for flows in [counts.flows_started, counts.flows_completed] {
        assert_eq!((flows.login, flows.consent, flows.logout), (1, 1, 0));
    }
    let (status, body) = app_token(
        &h.provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app_token(
        &h.provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let counts = h.provider.counts();
    assert_eq!(counts.tokens_issued_by(GrantType::AuthorizationCode), 1);
    assert_eq!(counts.tokens_issued_by(GrantType::RefreshToken), 1);
    // A login request the host rejects is started and completed too.
    let challenge = login_challenge(&mut ua, &code_query(&[("prompt", "login")])).await;
    h.provider
        .reject_login(&challenge, Default::default())
        .await
        .unwrap();
    let counts = h.provider.counts();
    assert_eq!(
        (counts.flows_started.login, counts.flows_completed.login),
        (2, 2)
    );
}

#[tokio::test]
async fn store_failures_are_counted_by_the_provider_they_happened_to() {
    let (p, store, _) = faulty_provider().await;
    let (other, _) = common::provider().await;
    common::seed::client(&p, "app").await;
    store.fail_operations(&["client"]);
    // As JSON from the token endpoint…
    let res = public(&p, cc()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(route(&res), ("public", Some("token")));
    assert_eq!(p.counts().store_failures, 1);
    // …and as the redirect to the error page of an authorization request.
    let authorize = format!("/oauth2/auth?{}", code_query(&[]));
    let res = public(&p, empty_request(Method::GET, &authorize)).await;
    assert!(res.status().is_redirection());
    assert_eq!(
        query_param(&loc(&res), "error").as_deref(),
        Some("server_error")
    );
    assert_eq!(p.counts().store_failures, 2);
    // Errors that are not the store's are not counted.
    store.disarm();
    let res = public(&p, token_request("app", &[("grant_type", "password")])).await;
    assert!(res.status().is_client_error());
    assert_eq!(p.counts().store_failures, 2);
    assert_eq!(p.counts().tokens_issued_by(GrantType::ClientCredentials), 0);
    // Nothing is shared between providers.
    common::seed::client(&other, "app").await;
    assert_eq!(public(&other, cc()).await.status(), StatusCode::OK);
    assert_eq!(other.counts().store_failures, 0);
    assert_eq!(
        other
            .counts()
            .tokens_issued_by(GrantType::ClientCredentials),
        1
    );
    assert_eq!(p.counts().tokens_issued_by(GrantType::ClientCredentials), 0);
}
