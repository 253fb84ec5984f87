//! The refresh token grant: rotation, reuse detection revoking the family, client binding,
//! scope narrowing, lifespans and the refreshed ID token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::seed::*;
use common::*;
use http::StatusCode;
use oauth2_provider::config::Lifespans;
use oauth2_provider::store::TokenKind;
use oauth2_provider::{Clock, Config};
use serde_json::Value;
use time::Duration;

async fn refresh_ok(p: &oauth2_provider::Provider, client: &str, refresh: &str) -> Value {
    let res = public(p, refresh_request(client, refresh)).await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    assert_no_store(&res);
    body_json(&res)
}

fn token<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name].as_str().unwrap()
}

#[tokio::test]
async fn refresh_rotates_and_the_old_pair_dies() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    clock.advance(Duration::seconds(2));
    let second = refresh_ok(&p, "app", token(&first, "refresh_token")).await;
    assert_eq!(second["token_type"], "bearer");
    assert_eq!(second["scope"], "openid offline");
    assert_eq!(second["expires_in"], 3600);
    assert_ne!(
        token(&second, "access_token"),
        token(&first, "access_token")
    );
    assert_ne!(
        token(&second, "refresh_token"),
        token(&first, "refresh_token")
    );
    assert!(!access_active(&p, &clock, token(&first, "access_token")).await);
    assert!(!refresh_active(&p, &clock, token(&first, "refresh_token")).await);
    assert!(access_active(&p, &clock, token(&second, "access_token")).await);
    // Same grant: revoking it kills the new pair.
    let old = p
        .store()
        .access_token(&signature(token(&first, "access_token")))
        .await
        .unwrap();
    let new = p
        .store()
        .access_token(&signature(token(&second, "access_token")))
        .await
        .unwrap();
    assert_eq!(old.grant.grant_id, new.grant.grant_id);
    // The new refresh token works in turn (catalog item 50).
    let third = refresh_ok(&p, "app", token(&second, "refresh_token")).await;
    assert!(access_active(&p, &clock, token(&third, "access_token")).await);
}

#[tokio::test]
async fn reuse_of_a_rotated_token_revokes_the_whole_family() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    let second = refresh_ok(&p, "app", token(&first, "refresh_token")).await;
    let res = public(&p, refresh_request("app", token(&first, "refresh_token"))).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_no_store(&res);
    assert!(!access_active(&p, &clock, token(&second, "access_token")).await);
    assert!(!refresh_active(&p, &clock, token(&second, "refresh_token")).await);
    let res = public(&p, refresh_request("app", token(&second, "refresh_token"))).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refreshed_id_token_keeps_identity_with_fresh_times_and_no_nonce() {
    let mut config = Config::new(common::ISSUER).unwrap();
    let mut lifespans = Lifespans::default();
    lifespans.id_token = Duration::minutes(5);
    config.lifespans = lifespans;
    let (p, clock) = common::provider_with(config).await;
    code_client(&p, "app").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    let original = verify_id_token(&p, token(&first, "id_token")).await;
    assert_eq!(original["nonce"], "nonce-12345678");
    clock.advance(Duration::minutes(30));
    let second = refresh_ok(&p, "app", token(&first, "refresh_token")).await;
    let refreshed = verify_id_token(&p, token(&second, "id_token")).await;
    for claim in ["iss", "sub", "aud", "auth_time", "acr", "sid", "email"] {
        assert_eq!(refreshed[claim], original[claim], "{claim}");
    }
    let now = clock.now().unix_timestamp();
    assert_eq!(refreshed["iat"], now);
    assert_eq!(refreshed["exp"], now + 300, "configured ID-token lifespan");
    assert!(refreshed.get("nonce").is_none());
}

#[tokio::test]
async fn scope_may_narrow_but_not_widen() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline", "foo.bar"]).await;
    let rt = token(&first, "refresh_token");
    for wider in ["openid offline foo.bar email", "foo.*", "foo.baz"] {
        let res = public(
            &p,
            token_request(
                "app",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt),
                    ("scope", wider),
                ],
            ),
        )
        .await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
        assert_no_store(&res);
    }
    assert!(
        refresh_active(&p, &clock, rt).await,
        "a refused refresh changes nothing"
    );

    let res = public(
        &p,
        token_request(
            "app",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("scope", "foo.bar offline"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    let narrowed = body_json(&res);
    assert_eq!(narrowed["scope"], "foo.bar offline");
    assert!(
        narrowed.get("id_token").is_none(),
        "openid was narrowed away"
    );
    let at = p
        .store()
        .access_token(&signature(token(&narrowed, "access_token")))
        .await
        .unwrap();
    assert_eq!(at.grant.granted_scope, vec!["foo.bar", "offline"]);
    // RFC 6749 §6: the new refresh token keeps the original scope, so the full scope
    // can be asked for again.
    let new_rt = token(&narrowed, "refresh_token");
    let rt_record = p.store().refresh_token(&signature(new_rt)).await.unwrap();
    assert_eq!(
        rt_record.grant.granted_scope,
        vec!["openid", "offline", "foo.bar"]
    );
    let full = refresh_ok(&p, "app", new_rt).await;
    assert_eq!(full["scope"], "openid offline foo.bar");
    assert!(full.get("id_token").is_some());
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    code_client(&p, "other").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    let res = public(&p, refresh_request("other", token(&first, "refresh_token"))).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(refresh_active(&p, &clock, token(&first, "refresh_token")).await);
    assert!(access_active(&p, &clock, token(&first, "access_token")).await);
}

#[tokio::test]
async fn unknown_revoked_expired_and_wrong_kind_tokens_are_invalid_grant() {
    let mut config = Config::new(common::ISSUER).unwrap();
    let mut lifespans = Lifespans::default();
    lifespans.refresh_token = Some(Duration::hours(2));
    config.lifespans = lifespans;
    let (p, clock) = common::provider_with(config).await;
    code_client(&p, "app").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    let unknown = mint_token(TokenKind::RefreshToken);
    for bogus in [unknown.as_str(), "garbage", token(&first, "access_token")] {
        let res = public(&p, refresh_request("app", bogus)).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    // Expiry from the configured refresh lifespan.
    let rt = p
        .store()
        .refresh_token(&signature(token(&first, "refresh_token")))
        .await
        .unwrap();
    assert_eq!(rt.expires_at, Some(clock.now() + Duration::hours(2)));
    clock.advance(Duration::hours(2));
    let res = public(&p, refresh_request("app", token(&first, "refresh_token"))).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");

    // Revoked.
    let second = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    let grant_id = p
        .store()
        .refresh_token(&signature(token(&second, "refresh_token")))
        .await
        .unwrap()
        .grant
        .grant_id;
    p.store().revoke_grant(&grant_id).await.unwrap();
    let res = public(&p, refresh_request("app", token(&second, "refresh_token"))).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_grant");

    // Missing parameter.
    let res = public(&p, token_request("app", &[("grant_type", "refresh_token")])).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn clients_without_the_refresh_grant_are_unauthorized() {
    let (p, clock) = common::provider().await;
    code_client(&p, "app").await;
    let first = tokens_for(&p, &clock, "app", &["openid", "offline"]).await;
    // The client loses the grant type after the fact.
    let mut record = oauth2_provider::model::client::ClientRecord::clone(
        &p.store().client("app").await.unwrap(),
    );
    record.client.grant_types = vec!["authorization_code".into()];
    p.store().update_client(record).await.unwrap();
    let res = public(&p, refresh_request("app", token(&first, "refresh_token"))).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert!(refresh_active(&p, &clock, token(&first, "refresh_token")).await);
}
