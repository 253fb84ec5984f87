//! `POST /oauth2/revoke` (RFC 7009): the whole grant dies, foreign and unknown tokens are
//! silently ignored, client authentication is required (reference §3.11, catalog item 56).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::seed::{self, Issued};
use common::*;
use http::StatusCode;
use oauth2_provider::store::{IssuedTokens, TokenKind};
use oauth2_provider::{Clock, ManualClock, Provider};
use time::Duration;

async fn seeded() -> (Provider, Arc<ManualClock>, Issued, Issued) {
    let (p, clock) = provider().await;
    seed::client(&p, "app").await;
    seed::client(&p, "other").await;
    let mine = seed::grant("app", "alice", &["core", "offline"], clock.now());
    let mine = seed::tokens(&p, &mine, clock.now(), Duration::hours(1)).await;
    let theirs = seed::grant("other", "alice", &["core", "offline"], clock.now());
    let theirs = seed::tokens(&p, &theirs, clock.now(), Duration::hours(1)).await;
    (p, clock, mine, theirs)
}

async fn revoke(
    p: &Provider,
    client_id: &str,
    pairs: &[(&str, &str)],
) -> http::Response<bytes::Bytes> {
    p.public().handle(revoke_request(client_id, pairs)).await
}

fn assert_ok(res: &http::Response<bytes::Bytes>) {
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(res.body())
    );
    assert!(res.body().is_empty());
    assert_eq!(res.headers()["cache-control"], "no-store");
}

async fn all_active(p: &Provider, issued: &Issued) -> bool {
    seed::is_active(p, &issued.access).await && seed::is_active(p, &issued.refresh).await
}

async fn none_active(p: &Provider, issued: &Issued) -> bool {
    !seed::is_active(p, &issued.access).await && !seed::is_active(p, &issued.refresh).await
}

#[tokio::test]
async fn revoking_an_access_token_revokes_its_refresh_token() {
    let (p, clock, mine, theirs) = seeded().await;
    let second = seed::grant("app", "alice", &["core"], clock.now());
    let second = seed::tokens(&p, &second, clock.now(), Duration::hours(1)).await;
    assert_ok(&revoke(&p, "app", &[("token", &mine.access)]).await);
    assert!(none_active(&p, &mine).await);
    assert!(all_active(&p, &second).await, "another grant is untouched");
    assert!(all_active(&p, &theirs).await);
    // Repeating is fine.
    assert_ok(&revoke(&p, "app", &[("token", &mine.access)]).await);
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_access_token() {
    let (p, _clock, mine, _) = seeded().await;
    assert_ok(
        &revoke(
            &p,
            "app",
            &[
                ("token", &mine.refresh),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await,
    );
    assert!(none_active(&p, &mine).await);
}

#[tokio::test]
async fn revoking_a_rotated_refresh_token_revokes_the_family() {
    let (p, clock, mine, _) = seeded().await;
    let grant = p
        .store()
        .refresh_token(&seed::signature(&mine.refresh))
        .await
        .unwrap()
        .grant;
    let (access, access_record) = seed::token_record(
        TokenKind::AccessToken,
        &grant,
        clock.now(),
        Some(Duration::hours(1)),
    );
    let (refresh, refresh_record) =
        seed::token_record(TokenKind::RefreshToken, &grant, clock.now(), None);
    p.store()
        .rotate_refresh_token(
            &seed::signature(&mine.refresh),
            IssuedTokens {
                access: access_record,
                refresh: Some(refresh_record),
            },
        )
        .await
        .unwrap();
    let rotated = Issued { access, refresh };
    assert!(all_active(&p, &rotated).await);
    assert_ok(&revoke(&p, "app", &[("token", &mine.refresh)]).await);
    assert!(none_active(&p, &rotated).await);
}

#[tokio::test]
async fn unknown_and_foreign_tokens_are_200_and_change_nothing() {
    let (p, _clock, mine, theirs) = seeded().await;
    for token in [
        "garbage",
        "op_at_unknown",
        "op_rt_unknown",
        "op_ac_unknown",
        theirs.access.as_str(),
        theirs.refresh.as_str(),
    ] {
        assert_ok(&revoke(&p, "app", &[("token", token)]).await);
    }
    assert!(all_active(&p, &mine).await);
    assert!(
        all_active(&p, &theirs).await,
        "another client's token survives"
    );
    assert!(!p.revoke_token("app", &theirs.access).await.unwrap());
    assert!(all_active(&p, &theirs).await);
}

#[tokio::test]
async fn expired_own_token_still_revokes_the_grant() {
    let (p, clock, mine, _) = seeded().await;
    clock.advance(Duration::hours(2));
    assert!(!seed::is_active(&p, &mine.access).await);
    assert!(seed::is_active(&p, &mine.refresh).await);
    assert_ok(&revoke(&p, "app", &[("token", &mine.access)]).await);
    assert!(!seed::is_active(&p, &mine.refresh).await);
}

#[tokio::test]
async fn client_authentication_is_required() {
    let (p, _clock, mine, _) = seeded().await;
    // No credentials at all, even with an otherwise valid body.
    let res = p
        .public()
        .handle(form_request("/oauth2/revoke", &[("token", &mine.access)]))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    // Naming the owning client without its secret.
    let res = p
        .public()
        .handle(form_request(
            "/oauth2/revoke",
            &[("token", &mine.access), ("client_id", "app")],
        ))
        .await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    // Wrong secret.
    let mut req = form_request("/oauth2/revoke", &[("token", &mine.access)]);
    req.headers_mut()
        .insert("authorization", "Basic YXBwOndyb25n".parse().unwrap());
    let res = p.public().handle(req).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(res.headers().contains_key("www-authenticate"));
    // Unknown client.
    let res = revoke(&p, "ghost", &[("token", &mine.access)]).await;
    assert_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(all_active(&p, &mine).await);
}

#[tokio::test]
async fn malformed_requests_are_rejected_without_effect() {
    let (p, _clock, mine, _) = seeded().await;
    let res = revoke(&p, "app", &[]).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = revoke(&p, "app", &[("token_type_hint", "access_token")]).await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = revoke(
        &p,
        "app",
        &[("token", &mine.access), ("token", &mine.refresh)],
    )
    .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    for hint in ["id_token", "authorization_code", "foo"] {
        let res = revoke(
            &p,
            "app",
            &[("token", &mine.access), ("token_type_hint", hint)],
        )
        .await;
        assert_error(&res, StatusCode::BAD_REQUEST, "unsupported_token_type");
    }
    assert!(all_active(&p, &mine).await);
    // A known hint that does not match the token is ignored.
    assert_ok(
        &revoke(
            &p,
            "app",
            &[
                ("token", &mine.access),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await,
    );
    assert!(none_active(&p, &mine).await);
}

#[tokio::test]
async fn revocation_is_public_only_and_post_only() {
    let (p, _clock, mine, _) = seeded().await;
    let res = p
        .admin()
        .handle(revoke_request("app", &[("token", &mine.access)]))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = p
        .public()
        .handle(empty_request(http::Method::GET, "/oauth2/revoke"))
        .await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(all_active(&p, &mine).await);
}

#[tokio::test]
async fn typed_revocation_reports_whether_anything_changed() {
    let (p, _clock, mine, _) = seeded().await;
    assert!(p.revoke_token("app", &mine.refresh).await.unwrap());
    assert!(!p.revoke_token("app", &mine.refresh).await.unwrap());
    assert!(!p.revoke_token("app", "garbage").await.unwrap());
    assert!(none_active(&p, &mine).await);
}
