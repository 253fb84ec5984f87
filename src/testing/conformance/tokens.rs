//! Cases for codes, access and refresh tokens: redemption, rotation, revocation, flush.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::store::token_of_kind;

/// Whether the token of this signature exists (as its kind).
async fn token_exists(store: &dyn Store, token: &TokenRecord) -> bool {
    match token_of_kind(store, token.kind, &token.signature).await {
        Ok(_) => true,
        Err(StoreError::NotFound) => false,
        Err(e) => panic!("store conformance: reading a token failed: {e:?}"),
    }
}

async fn status(store: &dyn Store, token: &TokenRecord) -> TokenStatus {
    let found = token_of_kind(store, token.kind, &token.signature).await;
    ok(found, "reading a token").status
}

/// Codes: round trip, conflicts, redemption inserting its tokens atomically, reuse inserting
/// nothing, and one winner among concurrent redemptions.
pub async fn codes(store: &dyn Store) {
    let grant = grant(&unique("grant"), &unique("client"));
    let code = code(&grant, later());
    ok(store.insert_code(code.clone()).await, "insert_code");
    assert_eq!(
        ok(store.code(&code.signature).await, "code"),
        code,
        "store conformance: code round trip"
    );
    expect_err(
        store.insert_code(code.clone()).await,
        &StoreError::Conflict,
        "insert_code with a known signature",
    );
    expect_err(
        store.code(&unique("nobody")).await,
        &StoreError::NotFound,
        "code of unknown signature",
    );

    let bought = issued(&grant);
    ok(
        store.redeem_code(&code.signature, bought.clone()).await,
        "redeem_code",
    );
    assert!(
        ok(store.code(&code.signature).await, "code").used,
        "store conformance: a redeemed code is used"
    );
    assert_eq!(
        ok(
            store.access_token(&bought.access.signature).await,
            "access_token"
        ),
        bought.access,
        "store conformance: redeem_code inserts the access token"
    );
    let refresh = bought.refresh.clone().expect("issued has a refresh token");
    assert_eq!(
        ok(
            store.refresh_token(&refresh.signature).await,
            "refresh_token"
        ),
        refresh,
        "store conformance: redeem_code inserts the refresh token"
    );

    let again = issued(&grant);
    expect_err(
        store.redeem_code(&code.signature, again.clone()).await,
        &StoreError::AlreadyUsed,
        "redeem_code twice",
    );
    assert!(
        !token_exists(store, &again.access).await,
        "store conformance: a refused redeem_code must insert nothing"
    );
    let stray = issued(&grant);
    expect_err(
        store.redeem_code(&unique("nobody"), stray.clone()).await,
        &StoreError::NotFound,
        "redeem_code of unknown code",
    );
    assert!(
        !token_exists(store, &stray.access).await,
        "store conformance: redeem_code of an unknown code must insert nothing"
    );

    redeem_race(store, &grant).await;
}

/// One winner among concurrent redemptions of a code, and only its tokens exist.
async fn redeem_race(store: &dyn Store, grant: &GrantData) {
    let raced = code(grant, later());
    ok(store.insert_code(raced.clone()).await, "insert_code");
    let sets: Vec<IssuedTokens> = (0..CONCURRENCY).map(|_| issued(grant)).collect();
    let results = join_all(
        sets.iter()
            .map(|set| store.redeem_code(&raced.signature, set.clone())),
    )
    .await;
    let outcomes: Vec<bool> = results.iter().map(Result::is_ok).collect();
    tally(results, &StoreError::AlreadyUsed, "concurrent redeem_code");
    for (set, won) in sets.iter().zip(outcomes) {
        assert_eq!(
            token_exists(store, &set.access).await,
            won,
            "store conformance: after concurrent redeem_code only the winner's tokens may exist"
        );
    }
}

/// Tokens: `insert_tokens` round trip, kinds kept apart, not-found.
pub async fn tokens(store: &dyn Store) {
    let grant = grant(&unique("grant"), &unique("client"));
    let set = issued(&grant);
    ok(store.insert_tokens(set.clone()).await, "insert_tokens");
    assert_eq!(
        ok(
            store.access_token(&set.access.signature).await,
            "access_token"
        ),
        set.access,
        "store conformance: access token round trip"
    );
    let refresh = set.refresh.clone().expect("issued has a refresh token");
    assert_eq!(
        ok(
            store.refresh_token(&refresh.signature).await,
            "refresh_token"
        ),
        refresh,
        "store conformance: refresh token round trip"
    );
    expect_err(
        store.refresh_token(&set.access.signature).await,
        &StoreError::NotFound,
        "refresh_token of an access token's signature",
    );
    expect_err(
        store.access_token(&refresh.signature).await,
        &StoreError::NotFound,
        "access_token of a refresh token's signature",
    );
    expect_err(
        store.access_token(&unique("nobody")).await,
        &StoreError::NotFound,
        "access_token of unknown signature",
    );

    let access_only = IssuedTokens {
        access: token(TokenKind::AccessToken, &grant, None),
        refresh: None,
    };
    ok(
        store.insert_tokens(access_only.clone()).await,
        "insert_tokens without refresh token",
    );
    assert_eq!(
        ok(
            store.access_token(&access_only.access.signature).await,
            "access_token"
        ),
        access_only.access
    );
}

/// Refresh rotation: the old token becomes rotated, the grant's other active tokens revoked,
/// the new ones inserted; reuse is `AlreadyUsed` and inserts nothing; one winner in a race.
pub async fn refresh_rotation(store: &dyn Store) {
    let grant = grant(&unique("grant"), &unique("client"));
    let first = issued(&grant);
    ok(store.insert_tokens(first.clone()).await, "insert_tokens");
    let old_refresh = first.refresh.clone().expect("refresh");
    let second = issued(&grant);
    ok(
        store
            .rotate_refresh_token(&old_refresh.signature, second.clone())
            .await,
        "rotate_refresh_token",
    );
    assert_eq!(
        status(store, &old_refresh).await,
        TokenStatus::Rotated,
        "store conformance: a rotated refresh token is marked rotated"
    );
    assert_eq!(
        status(store, &first.access).await,
        TokenStatus::Revoked,
        "store conformance: rotation revokes the grant's other active tokens"
    );
    assert_eq!(
        status(store, &second.access).await,
        TokenStatus::Active,
        "store conformance: rotation inserts the new access token"
    );
    let new_refresh = second.refresh.clone().expect("refresh");
    assert_eq!(
        status(store, &new_refresh).await,
        TokenStatus::Active,
        "store conformance: rotation inserts the new refresh token"
    );

    let reuse = issued(&grant);
    expect_err(
        store
            .rotate_refresh_token(&old_refresh.signature, reuse.clone())
            .await,
        &StoreError::AlreadyUsed,
        "rotate_refresh_token of a rotated token (reuse)",
    );
    assert!(
        !token_exists(store, &reuse.access).await,
        "store conformance: refused rotation must insert nothing"
    );
    expect_err(
        store
            .rotate_refresh_token(&unique("nobody"), issued(&grant))
            .await,
        &StoreError::NotFound,
        "rotate_refresh_token of unknown token",
    );
    expect_err(
        store
            .rotate_refresh_token(&first.access.signature, issued(&grant))
            .await,
        &StoreError::NotFound,
        "rotate_refresh_token of an access token",
    );

    ok(store.revoke_grant(&grant.grant_id).await, "revoke_grant");
    expect_err(
        store
            .rotate_refresh_token(&new_refresh.signature, issued(&grant))
            .await,
        &StoreError::NotFound,
        "rotate_refresh_token of a revoked token",
    );

    rotation_race(store).await;
}

/// One winner among concurrent rotations of a refresh token, and only its tokens exist.
async fn rotation_race(store: &dyn Store) {
    let raced_grant = grant(&unique("grant"), &unique("client"));
    let start = issued(&raced_grant);
    ok(store.insert_tokens(start.clone()).await, "insert_tokens");
    let raced = start.refresh.expect("refresh");
    let sets: Vec<IssuedTokens> = (0..CONCURRENCY).map(|_| issued(&raced_grant)).collect();
    let results = join_all(
        sets.iter()
            .map(|set| store.rotate_refresh_token(&raced.signature, set.clone())),
    )
    .await;
    let outcomes: Vec<bool> = results.iter().map(Result::is_ok).collect();
    tally(
        results,
        &StoreError::AlreadyUsed,
        "concurrent rotate_refresh_token",
    );
    for (set, won) in sets.iter().zip(outcomes) {
        assert_eq!(
            token_exists(store, &set.access).await,
            won,
            "store conformance: after a rotation race only the winner's tokens may exist"
        );
    }
}

/// `revoke_grant`: every active token and unused code of the grant, nothing else; a rotated
/// token stays rotated, so reuse stays detectable.
pub async fn grant_revocation(store: &dyn Store) {
    let client = unique("client");
    let family = grant(&unique("grant"), &client);
    let bystander = grant(&unique("grant"), &client);
    let redeemed = code(&family, later());
    ok(store.insert_code(redeemed.clone()).await, "insert_code");
    let first = issued(&family);
    ok(
        store.redeem_code(&redeemed.signature, first.clone()).await,
        "redeem_code",
    );
    let rotated = first.refresh.clone().expect("refresh");
    let current = issued(&family);
    ok(
        store
            .rotate_refresh_token(&rotated.signature, current.clone())
            .await,
        "rotate_refresh_token",
    );
    // Inserted after the rotation, which may revoke the grant's unused codes too.
    let unused = code(&family, later());
    ok(store.insert_code(unused.clone()).await, "insert_code");
    let other = issued(&bystander);
    ok(store.insert_tokens(other.clone()).await, "insert_tokens");

    // Active: current access + refresh; unused code: 1.
    let changed = ok(store.revoke_grant(&family.grant_id).await, "revoke_grant");
    assert_eq!(
        changed, 3,
        "store conformance: revoke_grant counts the active tokens and unused codes it revoked"
    );
    assert!(
        ok(store.code(&unused.signature).await, "code").used,
        "store conformance: revoke_grant marks unused codes used"
    );
    assert_eq!(status(store, &current.access).await, TokenStatus::Revoked);
    assert_eq!(
        status(store, current.refresh.as_ref().expect("refresh")).await,
        TokenStatus::Revoked
    );
    assert_eq!(
        status(store, &rotated).await,
        TokenStatus::Rotated,
        "store conformance: revoke_grant keeps rotated tokens rotated"
    );
    expect_err(
        store
            .rotate_refresh_token(&rotated.signature, issued(&family))
            .await,
        &StoreError::AlreadyUsed,
        "reuse after revoke_grant",
    );
    expect_err(
        store.redeem_code(&unused.signature, issued(&family)).await,
        &StoreError::AlreadyUsed,
        "redeem_code after revoke_grant",
    );
    assert_eq!(
        status(store, &other.access).await,
        TokenStatus::Active,
        "store conformance: revoke_grant must not touch other grants"
    );
    assert_eq!(
        ok(store.revoke_grant(&family.grant_id).await, "revoke_grant"),
        0,
        "store conformance: revoke_grant twice changes nothing"
    );
    assert_eq!(
        ok(store.revoke_grant(&unique("nobody")).await, "revoke_grant"),
        0
    );
}

/// `revoke_client_tokens`: every grant of the client, no other client's.
pub async fn client_revocation(store: &dyn Store) {
    let client = unique("client");
    let grants = [
        grant(&unique("grant"), &client),
        grant(&unique("grant"), &client),
    ];
    let sets: Vec<IssuedTokens> = grants.iter().map(issued).collect();
    for set in &sets {
        ok(store.insert_tokens(set.clone()).await, "insert_tokens");
    }
    let unused = code(&grants[0], later());
    ok(store.insert_code(unused.clone()).await, "insert_code");
    let other = issued(&grant(&unique("grant"), &unique("client")));
    ok(store.insert_tokens(other.clone()).await, "insert_tokens");

    assert_eq!(
        ok(
            store.revoke_client_tokens(&client).await,
            "revoke_client_tokens"
        ),
        5,
        "store conformance: revoke_client_tokens counts four tokens and one code"
    );
    for set in &sets {
        assert_eq!(status(store, &set.access).await, TokenStatus::Revoked);
        assert_eq!(
            status(store, set.refresh.as_ref().expect("refresh")).await,
            TokenStatus::Revoked
        );
    }
    assert!(
        ok(store.code(&unused.signature).await, "code").used,
        "store conformance: revoke_client_tokens marks unused codes used"
    );
    assert_eq!(
        status(store, &other.access).await,
        TokenStatus::Active,
        "store conformance: revoke_client_tokens must not touch other clients"
    );
}

/// `flush_tokens`: deletes expired tokens and codes up to the limit, never an unexpired one
/// or a refresh token without expiry.
pub async fn flush_tokens(store: &dyn Store) {
    let expired_at = ancient();
    let cutoff = expired_at + Duration::seconds(1);
    ok(store.flush_tokens(cutoff, usize::MAX).await, "flush_tokens");
    let grant = grant(&unique("grant"), &unique("client"));
    let expired = IssuedTokens {
        access: token(TokenKind::AccessToken, &grant, Some(expired_at)),
        refresh: Some(token(TokenKind::RefreshToken, &grant, Some(expired_at))),
    };
    ok(store.insert_tokens(expired.clone()).await, "insert_tokens");
    let old_code = code(&grant, expired_at);
    ok(store.insert_code(old_code.clone()).await, "insert_code");
    let fresh = IssuedTokens {
        access: token(TokenKind::AccessToken, &grant, Some(cutoff)),
        refresh: Some(token(TokenKind::RefreshToken, &grant, None)),
    };
    ok(store.insert_tokens(fresh.clone()).await, "insert_tokens");
    let fresh_code = code(&grant, cutoff);
    ok(store.insert_code(fresh_code.clone()).await, "insert_code");

    assert_eq!(
        ok(store.flush_tokens(cutoff, 2).await, "flush_tokens"),
        2,
        "store conformance: flush_tokens respects its limit"
    );
    assert_eq!(
        ok(store.flush_tokens(cutoff, 100).await, "flush_tokens"),
        1,
        "store conformance: flush_tokens deletes the rest"
    );
    assert!(
        !token_exists(store, &expired.access).await,
        "store conformance: flush_tokens deletes expired access tokens"
    );
    assert!(
        !token_exists(store, expired.refresh.as_ref().expect("refresh")).await,
        "store conformance: flush_tokens deletes expired refresh tokens"
    );
    expect_err(
        store.code(&old_code.signature).await,
        &StoreError::NotFound,
        "expired code after flush_tokens",
    );
    assert!(
        token_exists(store, &fresh.access).await,
        "store conformance: flush_tokens must keep unexpired access tokens"
    );
    assert!(
        token_exists(store, fresh.refresh.as_ref().expect("refresh")).await,
        "store conformance: flush_tokens must keep refresh tokens without expiry"
    );
    ok(
        store.code(&fresh_code.signature).await,
        "flush_tokens must keep unexpired codes",
    );
    ok(
        store
            .flush_tokens(cutoff + Duration::seconds(1), usize::MAX)
            .await,
        "flush_tokens",
    );
}

/// A handled, remembered consent of `subject` for `client_id` with tokens and an unused code
/// issued through it (its challenge is their grant id).
pub(super) async fn consent_with_tokens(
    store: &dyn Store,
    subject: &str,
    client_id: &str,
) -> (IssuedTokens, CodeRecord) {
    let request = consent_request(subject, client_id, now(), later());
    ok(
        store.create_consent_request(request.clone()).await,
        "create_consent_request",
    );
    ok(
        store
            .handle_consent_request(&request.challenge, accepted_consent(true))
            .await,
        "handle_consent_request",
    );
    let family = grant(&request.challenge, client_id);
    let tokens = issued(&family);
    ok(store.insert_tokens(tokens.clone()).await, "insert_tokens");
    let unused = code(&family, later());
    ok(store.insert_code(unused.clone()).await, "insert_code");
    (tokens, unused)
}

/// Whether the pair and the code are all revoked (`true`) or all untouched (`false`);
/// panics on a mixture, which no revocation may leave.
async fn revoked(store: &dyn Store, (tokens, unused): &(IssuedTokens, CodeRecord)) -> bool {
    let refresh = tokens.refresh.as_ref().expect("refresh");
    let states = [
        status(store, &tokens.access).await == TokenStatus::Revoked,
        status(store, refresh).await == TokenStatus::Revoked,
        ok(store.code(&unused.signature).await, "code").used,
    ];
    assert!(
        states.iter().all(|s| *s == states[0]),
        "store conformance: a grant was half revoked (access, refresh, code): {states:?}"
    );
    states[0]
}

/// `revoke_consents`: deletes the consents and, in the same step, revokes every active token
/// and unused code issued through them; nothing of another client or subject.
pub async fn consent_revocation(store: &dyn Store) {
    let subject = unique("subject");
    let (client, other_client) = (unique("client"), unique("client"));
    let first = consent_with_tokens(store, &subject, &client).await;
    let second = consent_with_tokens(store, &subject, &client).await;
    let other = consent_with_tokens(store, &subject, &other_client).await;
    let bystander = consent_with_tokens(store, &unique("subject"), &client).await;

    assert_eq!(
        ok(
            store.revoke_consents(&subject, Some(&client)).await,
            "revoke_consents"
        ),
        2,
        "store conformance: revoke_consents counts the consents it deleted"
    );
    assert!(
        revoked(store, &first).await && revoked(store, &second).await,
        "store conformance: revoke_consents must revoke the tokens and codes of its consents"
    );
    assert!(
        !revoked(store, &other).await,
        "store conformance: revoke_consents for one client must not touch another client's"
    );
    assert_eq!(
        ok(
            store.revoke_consents(&subject, None).await,
            "revoke_consents"
        ),
        1
    );
    assert!(revoked(store, &other).await);
    assert_eq!(
        ok(
            store.revoke_consents(&subject, None).await,
            "revoke_consents"
        ),
        0,
        "store conformance: revoke_consents twice changes nothing"
    );
    assert!(
        !revoked(store, &bystander).await,
        "store conformance: revoke_consents must not touch another subject's grants"
    );
}

/// How many rounds [`revocation_races`] runs.
pub const RACE_ROUNDS: usize = 24;

/// Revocation racing with a refresh-token rotation of the same grant, [`RACE_ROUNDS`] times,
/// by `revoke_grant` and by `revoke_consents`: whichever wins, no token of the grant is left
/// active — neither the old pair nor the pair the rotation inserted.
pub async fn revocation_races(store: &dyn Store) {
    for round in 0..RACE_ROUNDS {
        let by_consent = round % 2 == 1;
        let (subject, client) = (unique("subject"), unique("client"));
        let (first, _) = consent_with_tokens(store, &subject, &client).await;
        let next = issued(&first.access.grant);
        let refresh = first.refresh.clone().expect("refresh");
        let grant_id = first.access.grant.grant_id.as_str();
        let revoke = async {
            if by_consent {
                store.revoke_consents(&subject, None).await
            } else {
                store.revoke_grant(grant_id).await
            }
        };
        let rotate = store.rotate_refresh_token(&refresh.signature, next.clone());
        let (rotated, revoked) = futures_util::future::join(rotate, revoke).await;
        match rotated {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => panic!(
                "store conformance: a rotation racing with a revocation failed with {e:?} \
                 (expected success or NotFound)"
            ),
        }
        ok(revoked, "a revocation racing with a rotation");
        let pairs = [&first, &next];
        for token in pairs
            .iter()
            .flat_map(|p| std::iter::once(&p.access).chain(&p.refresh))
        {
            if token_exists(store, token).await {
                assert_ne!(
                    status(store, token).await,
                    TokenStatus::Active,
                    "store conformance: round {round}: a revocation racing with a rotation \
                     left a {:?} of the grant active",
                    token.kind
                );
            }
        }
    }
}
