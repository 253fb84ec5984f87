//! The client credentials grant: confidential clients only, scope checks with Hydra's
//! wildcards, `sub` = client id, no refresh or ID token, no-store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::seed::*;
use common::*;
use http::StatusCode;
use time::Duration;

fn cc(client: &str, scope: Option<&str>) -> http::Request<bytes::Bytes> {
    let mut pairs = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    token_request(client, &pairs)
}

async fn machine(p: &oauth2_provider::Provider) {
    create_confidential(
        p,
        client_model(
            "machine",
            &["client_credentials"],
            "read write.* openid offline",
        ),
    )
    .await;
}

#[tokio::test]
async fn issues_an_access_token_for_the_client_itself() {
    let (p, clock) = common::provider().await;
    machine(&p).await;
    let res = public(&p, cc("machine", Some("read write.orders openid offline"))).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_no_store(&res);
    let body = body_json(&res);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write.orders openid offline");
    assert!(
        body.get("refresh_token").is_none(),
        "never a refresh token, even with offline"
    );
    assert!(
        body.get("id_token").is_none(),
        "never an ID token, even with openid"
    );
    let access = body["access_token"].as_str().unwrap();
    assert!(access_active(&p, &clock, access).await);
    let record = p.store().access_token(&signature(access)).await.unwrap();
    assert_eq!(record.grant.subject, "machine");
    assert_eq!(record.grant.subject_identifier, "machine");
    assert_eq!(record.grant.client_id, "machine");
    // Named after its token, which spares the memory store a grant-index entry.
    assert_eq!(record.grant.grant_id, signature(access)[..32]);
    assert!(record.grant.auth_time.is_none());
    clock.advance(Duration::hours(1));
    assert!(
        !access_active(&p, &clock, access).await,
        "expires with the access lifespan"
    );
}

#[tokio::test]
async fn each_request_is_its_own_grant() {
    let (p, _clock) = common::provider().await;
    machine(&p).await;
    let a = body_json(&public(&p, cc("machine", None)).await);
    let b = body_json(&public(&p, cc("machine", None)).await);
    let ga = p
        .store()
        .access_token(&signature(a["access_token"].as_str().unwrap()))
        .await
        .unwrap();
    let gb = p
        .store()
        .access_token(&signature(b["access_token"].as_str().unwrap()))
        .await
        .unwrap();
    assert_ne!(ga.grant.grant_id, gb.grant.grant_id);
    assert_eq!(ga.grant.grant_id.len(), 32);
}

#[tokio::test]
async fn omitted_scope_grants_nothing() {
    let (p, _clock) = common::provider().await;
    machine(&p).await;
    let body = body_json(&public(&p, cc("machine", None)).await);
    assert_eq!(body["scope"], "");
}

#[tokio::test]
async fn scopes_outside_the_clients_registration_are_invalid_scope() {
    let (p, _clock) = common::provider().await;
    machine(&p).await;
    for scope in ["admin", "read admin", "write", "reads", "read.sub"] {
        let res = public(&p, cc("machine", Some(scope))).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
        assert_no_store(&res);
    }
}

#[tokio::test]
async fn public_clients_are_unauthorized_client() {
    let (p, _clock) = common::provider().await;
    create_public(&p, client_model("spa", &["client_credentials"], "read")).await;
    let req = form_request(
        "/oauth2/token",
        &[("grant_type", "client_credentials"), ("client_id", "spa")],
    );
    let res = public(&p, req).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert_no_store(&res);
}

#[tokio::test]
async fn clients_without_the_grant_type_are_unauthorized_client() {
    let (p, _clock) = common::provider().await;
    code_client(&p, "app").await;
    let res = public(&p, cc("app", None)).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn bad_secret_is_invalid_client() {
    let (p, _clock) = common::provider().await;
    machine(&p).await;
    let mut req = form_request("/oauth2/token", &[("grant_type", "client_credentials")]);
    req.headers_mut()
        .insert("authorization", basic("machine", "nope").parse().unwrap());
    let res = public(&p, req).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_no_store(&res);
}

#[tokio::test]
async fn client_secret_post_works_when_registered() {
    let (p, _clock) = common::provider().await;
    let mut c = client_model("poster", &["client_credentials"], "read");
    c.token_endpoint_auth_method = "client_secret_post".into();
    create_confidential(&p, c).await;
    let req = form_request(
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "poster"),
            ("client_secret", SECRET),
            ("scope", "read"),
        ],
    );
    let res = public(&p, req).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
}
