//! Issue 10, item 4: deleting a client takes everything kept under its id with it — its
//! remembered consents, pending login and consent requests and forced subjects (its tokens were
//! revoked before) — so a client registered again under the same id starts from nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::flow::*;
use common::*;
use http::{Method, Request, Response, StatusCode};
use oauth2_provider::testing::Harness;
use oauth2_provider::{AcceptLoginRequest, Error};
use serde_json::{Value, json};

async fn admin(h: &Harness, req: Request<Bytes>) -> Response<Bytes> {
    h.provider.admin().handle(req).await
}

async fn admin_get(h: &Harness, uri: &str) -> Response<Bytes> {
    admin(h, empty_request(Method::GET, uri)).await
}

/// The consent request the browser reaches after logging in as `subject`.
async fn consent_request_after_login(h: &Harness, subject: &str) -> Value {
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(h, &mut ua, &lc, login_as(subject)).await);
    let res = admin_get(h, &format!("/oauth2/auth/requests/consent/{cc}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    body_json(&res)
}

fn listed_clients(sessions: &Value) -> Vec<&str> {
    sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["consent_request"]["client"]["client_id"]
                .as_str()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_client_registered_again_does_not_inherit_remembered_consent() {
    let h = harness().await;
    h.register(flow_client("other"), Some(APP_SECRET))
        .await
        .unwrap();
    // alice consents to `app` (remembered) and to `other`; she is `skip` for `app` now.
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        login_as("alice"),
        remembered_consent_to(&["openid", "offline"]),
    )
    .await
    .unwrap();
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[("client_id", "other")]),
        login_as("alice"),
        remembered_consent_to(&["openid", "offline"]),
    )
    .await
    .unwrap();
    assert_eq!(consent_request_after_login(&h, "alice").await["skip"], true);
    let sessions = body_json(&admin_get(&h, "/oauth2/auth/sessions/consent/alice").await);
    let mut listed = listed_clients(&sessions);
    listed.sort_unstable();
    assert_eq!(listed, ["app", "other"]);

    // Flows of `app` left half-way: at the login page, at the consent page, and a login that
    // forced a subject identifier.
    let mut ua = h.user_agent();
    let pending_login = login_challenge(&mut ua, &code_query(&[])).await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let forced = AcceptLoginRequest {
        force_subject_identifier: "forced-bob".into(),
        ..login_as("bob")
    };
    let pending_consent = consent_challenge(&accept_login(&h, &mut ua, &lc, forced).await);

    let res = admin(&h, empty_request(Method::DELETE, "/clients/app")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The consent sessions list no longer shows `app`; `other` keeps hers.
    let sessions = body_json(&admin_get(&h, "/oauth2/auth/sessions/consent/alice").await);
    assert_eq!(listed_clients(&sessions), ["other"]);
    for uri in [
        format!("/oauth2/auth/requests/login/{pending_login}"),
        format!("/oauth2/auth/requests/consent/{pending_consent}"),
    ] {
        assert_error(
            &admin_get(&h, &uri).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    assert!(matches!(
        h.provider
            .accept_login(&pending_login, login_as("alice"))
            .await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        h.provider
            .store()
            .forced_subject("app", "bob")
            .await
            .unwrap(),
        None
    );

    // The same id registered again: alice must consent anew.
    let res = admin(
        &h,
        json_request(
            Method::POST,
            "/clients",
            &json!({
                "client_id": "app",
                "redirect_uris": [CB],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": "openid offline",
            }),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let consent = consent_request_after_login(&h, "alice").await;
    assert_eq!(consent["skip"], false, "{consent}");
    let sessions = body_json(&admin_get(&h, "/oauth2/auth/sessions/consent/alice").await);
    assert_eq!(listed_clients(&sessions), ["other"]);
}
