//! Conformance cases of logout: logout requests (the third challenge kind) and
//! [`LogoutStore`](crate::store::LogoutStore): session clients, ending sessions with their
//! outbox rows in one call, claiming with a lease, and updating, deleting and listing
//! deliveries.

use time::Duration;

use super::flows::session;
use super::{ancient, expect_err, grant, later, now, ok, unique};
use crate::error::StoreError;
use crate::model::TokensAtLogout;
use crate::store::{
    AcceptedLogout, DeliveryStatus, HandledLogout, IssuedTokens, LogoutDelivery,
    LogoutRequestRecord, SessionsToEnd, Store, TokenKind, TokenStatus,
};
use crate::testing::fixtures::token_record;

fn logout_request() -> LogoutRequestRecord {
    LogoutRequestRecord {
        challenge: unique("logout"),
        verifier_digest: unique("verifier"),
        csrf: unique("csrf"),
        client_id: unique("client"),
        subject: "alice".to_owned(),
        session_id: unique("session"),
        rp_initiated: true,
        request_url: "https://auth.example.com/oauth2/sessions/logout?state=x".to_owned(),
        post_logout_redirect: "https://app.example.com/bye?state=x".to_owned(),
        ui_locales: vec!["de".to_owned()],
        requested_at: now(),
        expires_at: later(),
        handled: None,
        verifier_used: false,
    }
}

/// A logout request round-trips, is answered once and its verifier consumed once.
pub async fn logout_requests(store: &dyn Store) {
    let request = logout_request();
    ok(
        store.create_logout_request(request.clone()).await,
        "create_logout_request",
    );
    assert_eq!(
        ok(
            store.logout_request(&request.challenge).await,
            "logout_request"
        ),
        request,
        "store conformance: logout request round trip"
    );
    expect_err(
        store.create_logout_request(request.clone()).await,
        &StoreError::Conflict,
        "create_logout_request with a known challenge",
    );
    expect_err(
        store.logout_request(&unique("nobody")).await,
        &StoreError::NotFound,
        "logout_request of unknown challenge",
    );
    expect_err(
        store
            .consume_logout_verifier(&request.verifier_digest)
            .await,
        &StoreError::NotFound,
        "consume_logout_verifier before the request was handled",
    );
    let answer = HandledLogout::Accepted(AcceptedLogout { handled_at: now() });
    let handled = ok(
        store
            .handle_logout_request(&request.challenge, answer.clone())
            .await,
        "handle_logout_request",
    );
    assert_eq!(handled.handled, Some(answer.clone()));
    expect_err(
        store
            .handle_logout_request(&request.challenge, answer.clone())
            .await,
        &StoreError::Conflict,
        "handle_logout_request twice",
    );
    let consumed = ok(
        store
            .consume_logout_verifier(&request.verifier_digest)
            .await,
        "consume_logout_verifier",
    );
    assert!(consumed.verifier_used && consumed.handled == Some(answer));
    expect_err(
        store
            .consume_logout_verifier(&request.verifier_digest)
            .await,
        &StoreError::AlreadyUsed,
        "consume_logout_verifier twice",
    );
}

/// The deliveries of `session_ids` in the listing.
async fn listed(store: &dyn Store, session_ids: &[&str]) -> Vec<LogoutDelivery> {
    let all = ok(
        store.logout_deliveries(100_000, 0).await,
        "logout_deliveries",
    );
    all.into_iter()
        .filter(|d| session_ids.contains(&d.session_id.as_str()))
        .collect()
}

/// Ending sessions takes their clients along and queues one delivery per (session, client);
/// a claim leases deliveries; updates, deletes and the listing see the outcome.
pub async fn logout_deliveries(store: &dyn Store) {
    let subject = unique("subject");
    let (one, two) = (session(&subject, later()), session(&subject, later()));
    for s in [&one, &two] {
        ok(
            store.create_login_session(s.clone()).await,
            "create_login_session",
        );
    }
    // A token of a grant of each session: ending `one` keeps its tokens, ending `two`
    // revokes them.
    let (kept, revoked) = (grant(&unique("grant"), "a"), grant(&unique("grant"), "c"));
    let mut tokens = Vec::new();
    for g in [&kept, &revoked] {
        let (_, access) = token_record(TokenKind::AccessToken, g, now(), Some(Duration::hours(1)));
        let issued = IssuedTokens {
            access: access.clone(),
            refresh: None,
        };
        ok(store.insert_tokens(issued).await, "insert_tokens");
        tokens.push(access);
    }
    let other = unique("grant");
    for (sid, client, grant_id) in [
        (&one.id, "b", other.as_str()),
        (&one.id, "a", kept.grant_id.as_str()),
        (&one.id, "a", kept.grant_id.as_str()),
        (&two.id, "c", revoked.grant_id.as_str()),
    ] {
        ok(
            store.add_session_grant(sid, client, grant_id).await,
            "add_session_grant",
        );
    }
    let gone = unique("session");
    ok(
        store.add_session_grant(&gone, "x", &unique("grant")).await,
        "add_session_grant of no session",
    );
    let at = ancient();
    let ended = ok(
        store
            .end_login_sessions(SessionsToEnd::Id(&one.id), at, TokensAtLogout::Keep)
            .await,
        "end_login_sessions",
    );
    assert_eq!(
        ended.len(),
        1,
        "store conformance: end_login_sessions ends one session by id"
    );
    assert_eq!(ended[0].session, one);
    let mut clients = ended[0].client_ids.clone();
    clients.sort();
    assert_eq!(
        clients,
        ["a", "b"],
        "store conformance: each client of a session once"
    );
    let mut grants = ended[0].grant_ids.clone();
    grants.sort();
    let mut want = vec![kept.grant_id.clone(), other.clone()];
    want.sort();
    assert_eq!(
        grants, want,
        "store conformance: each grant of a session once"
    );
    assert!(
        ok(
            store.access_token(&tokens[0].signature).await,
            "access_token"
        )
        .is_active(now()),
        "store conformance: TokensAtLogout::Keep keeps the session's tokens"
    );
    expect_err(
        store.login_session(&one.id).await,
        &StoreError::NotFound,
        "login_session after end",
    );
    assert!(
        ok(
            store
                .end_login_sessions(SessionsToEnd::Id(&one.id), at, TokensAtLogout::Keep)
                .await,
            "end twice"
        )
        .is_empty()
    );
    assert!(
        ok(
            store
                .end_login_sessions(SessionsToEnd::Id(&gone), at, TokensAtLogout::Keep)
                .await,
            "end unknown"
        )
        .is_empty()
    );
    let ended = ok(
        store
            .end_login_sessions(
                SessionsToEnd::Subject(&subject),
                at,
                TokensAtLogout::RevokeGrants,
            )
            .await,
        "end_login_sessions of a subject",
    );
    assert_eq!(
        ok(
            store.access_token(&tokens[1].signature).await,
            "access_token"
        )
        .status,
        TokenStatus::Revoked,
        "store conformance: TokensAtLogout::RevokeGrants revokes the session's grants"
    );
    assert_eq!(ended.len(), 1);
    assert_eq!(
        (ended[0].session.id.as_str(), ended[0].client_ids.as_slice()),
        (two.id.as_str(), &["c".to_owned()][..])
    );

    let ids = [one.id.as_str(), two.id.as_str()];
    let queued = listed(store, &ids).await;
    assert_eq!(
        queued.len(),
        3,
        "store conformance: one delivery per (session, client)"
    );
    assert!(queued.iter().all(|d| d.status == DeliveryStatus::Pending
        && d.next_attempt_at == at
        && d.subject == subject));

    let lease = at + Duration::minutes(1);
    let claimed = ok(
        store.claim_logout_deliveries(at, lease, 100_000).await,
        "claim",
    );
    assert_eq!(
        claimed
            .iter()
            .filter(|d| ids.contains(&d.session_id.as_str()))
            .count(),
        3
    );
    let again = ok(
        store.claim_logout_deliveries(at, lease, 100_000).await,
        "claim again",
    );
    assert!(
        again.iter().all(|d| !ids.contains(&d.session_id.as_str())),
        "store conformance: a claimed delivery is leased until lease_until"
    );
    let after = ok(
        store
            .claim_logout_deliveries(lease, lease + Duration::minutes(1), 100_000)
            .await,
        "claim after the lease",
    );
    assert_eq!(
        after
            .iter()
            .filter(|d| ids.contains(&d.session_id.as_str()))
            .count(),
        3
    );

    let mut failed = queued[0].clone();
    failed.attempts = 6;
    failed.status = DeliveryStatus::Failed;
    failed.last_error = "503".to_owned();
    ok(
        store.update_logout_delivery(failed.clone()).await,
        "update_logout_delivery",
    );
    let late = lease + Duration::hours(1);
    let due = ok(
        store.claim_logout_deliveries(late, late, 100_000).await,
        "claim with a failed one",
    );
    assert!(
        !due.iter()
            .any(|d| d.session_id == failed.session_id && d.client_id == failed.client_id),
        "store conformance: a failed delivery is never claimed"
    );
    assert!(
        listed(store, &ids).await.contains(&failed),
        "store conformance: failed deliveries are listed"
    );
    for d in &queued {
        ok(
            store
                .delete_logout_delivery(&d.session_id, &d.client_id)
                .await,
            "delete_logout_delivery",
        );
    }
    expect_err(
        store
            .delete_logout_delivery(&queued[0].session_id, &queued[0].client_id)
            .await,
        &StoreError::NotFound,
        "delete_logout_delivery twice",
    );
    expect_err(
        store.update_logout_delivery(failed).await,
        &StoreError::NotFound,
        "update of a deleted delivery",
    );
    assert!(listed(store, &ids).await.is_empty());
}
