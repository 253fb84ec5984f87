//! The store conformance kit: a suite any [`Store`] implementation can run — ours or a
//! host's own ("bring your own store").
//!
//! It exercises every trait method against the contracts documented in [`crate::store`]:
//! round trips, not-found, conflicts, single use under concurrent callers (one winner among
//! [`CONCURRENCY`] redemptions, verifier consumptions, request answers and refresh-token
//! rotations), revocation of token families, expiry and flush (within the limit, never an
//! unexpired row), pagination order, the remembered-consent filter, login sessions, forced
//! subjects and the initial-key race.
//!
//! Like an assertion library, the kit **panics** with a message naming the violated contract;
//! call it from a test. Every case uses fresh random ids, so cases may share one database and
//! may run against a database that already holds data (from earlier runs, say). Only
//! [`keys`] depends on the store's prior state: on an empty key table it checks that
//! concurrent callers agree on one initial set; otherwise that they all get the existing
//! keys back.
//!
//! The concurrent cases poll their callers together in one task ([`futures_util`] joins), so
//! they do not need a particular async runtime; a store reaching a database sees them as
//! concurrent transactions on separate connections.
//!
//! Usage, from a test of your own store (any async runtime; with tokio, prefer
//! `#[tokio::test(flavor = "multi_thread")]`):
//!
//! ```
//! # async fn example() {
//! let store = oauth2_provider::MemoryStore::new(); // your store here
//! oauth2_provider::testing::conformance::run_all(&store).await;
//! # }
//! ```
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;

use futures_util::future::join_all;
use time::{Duration, OffsetDateTime};

use crate::Client;
use crate::error::StoreError;
use crate::jose::Algorithm;
use crate::model::client::ClientRecord;
use crate::model::random_id;
use crate::store::{
    AcceptedConsent, AcceptedLogin, CodeRecord, ConsentRequestRecord, GrantData, HandledConsent,
    HandledLogin, IssuedTokens, KeyRecord, LoginRequestRecord, LoginSessionRecord, OidcContext,
    RejectedRequest, Store, TokenKind, TokenRecord, TokenStatus,
};

/// How many callers race for each single-use value.
pub const CONCURRENCY: usize = 16;

/// Runs every case in turn.
pub async fn run_all(store: &dyn Store) {
    clients(store).await;
    keys(store).await;
    login_requests(store).await;
    consent_requests(store).await;
    remembered_consents(store).await;
    flush_requests(store).await;
    login_sessions(store).await;
    forced_subjects(store).await;
    codes(store).await;
    tokens(store).await;
    refresh_rotation(store).await;
    grant_revocation(store).await;
    client_revocation(store).await;
    flush_tokens(store).await;
}

fn ok<T, E: Debug>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("store conformance: {what}: expected success, got {error:?}"),
    }
}

fn expect_err<T: Debug>(result: Result<T, StoreError>, want: &StoreError, what: &str) {
    match &result {
        Err(got) if std::mem::discriminant(got) == std::mem::discriminant(want) => {}
        _ => panic!("store conformance: {what}: expected Err({want:?}), got {result:?}"),
    }
}

fn unique(prefix: &str) -> String {
    format!("conf-{prefix}-{}", random_id())
}

/// Now, to the second: every store keeps at least that precision.
fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
        .expect("now is representable")
}

/// A random moment in 1971, for rows that are long expired. Each flush case first flushes
/// everything before its own cut-off (leftovers of an interrupted run) and at the end the
/// rows it kept, so its counts are exact even on a shared database.
fn ancient() -> OffsetDateTime {
    let offset = i64::from(u32::from_le_bytes(crate::model::random_bytes::<4>()) % 30_000_000);
    OffsetDateTime::from_unix_timestamp(31_536_000 + offset).expect("1971 is representable")
}

fn later() -> OffsetDateTime {
    now() + Duration::hours(1)
}

fn client_record(client_id: &str, created_at: OffsetDateTime) -> ClientRecord {
    ClientRecord {
        client: Client {
            client_id: client_id.to_owned(),
            client_name: "conformance".to_owned(),
            created_at: Some(created_at),
            ..Client::default()
        },
        secret_hash: None,
    }
}

fn grant(grant_id: &str, client_id: &str) -> GrantData {
    GrantData {
        grant_id: grant_id.to_owned(),
        client_id: client_id.to_owned(),
        subject: "alice".to_owned(),
        subject_identifier: "alice".to_owned(),
        granted_scope: vec!["openid".to_owned(), "offline".to_owned()],
        access_token_extra: serde_json::Map::from_iter([("k".to_owned(), "v".into())]),
        id_token_extra: serde_json::Map::new(),
        auth_time: Some(now()),
        acr: String::new(),
        session_id: None,
        requested_at: now(),
    }
}

fn token(kind: TokenKind, grant: &GrantData, expires_at: Option<OffsetDateTime>) -> TokenRecord {
    TokenRecord {
        signature: unique("sig"),
        kind,
        grant: grant.clone(),
        issued_at: now(),
        expires_at,
        status: TokenStatus::Active,
    }
}

fn issued(grant: &GrantData) -> IssuedTokens {
    IssuedTokens {
        access: token(TokenKind::AccessToken, grant, Some(later())),
        refresh: Some(token(TokenKind::RefreshToken, grant, None)),
    }
}

fn code(grant: &GrantData, expires_at: OffsetDateTime) -> CodeRecord {
    CodeRecord {
        signature: unique("code"),
        grant: grant.clone(),
        redirect_uri: Some("https://client.example/cb".to_owned()),
        effective_redirect_uri: "https://client.example/cb".to_owned(),
        code_challenge: None,
        nonce: Some("n".to_owned()),
        issued_at: now(),
        expires_at,
        used: false,
    }
}

fn login_request(expires_at: OffsetDateTime) -> LoginRequestRecord {
    LoginRequestRecord {
        challenge: unique("login"),
        verifier_digest: unique("login-verifier"),
        csrf: unique("csrf"),
        client_id: "client".to_owned(),
        requested_scope: vec!["openid".to_owned()],
        skip: false,
        subject: String::new(),
        oidc_context: OidcContext::default(),
        request_url: "https://issuer.example/oauth2/auth?client_id=client".to_owned(),
        session_id: None,
        requested_at: now(),
        expires_at,
        handled: None,
        verifier_used: false,
    }
}

fn consent_request(
    subject: &str,
    client_id: &str,
    requested_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> ConsentRequestRecord {
    ConsentRequestRecord {
        challenge: unique("consent"),
        verifier_digest: unique("consent-verifier"),
        csrf: unique("csrf"),
        client_id: client_id.to_owned(),
        requested_scope: vec!["openid".to_owned()],
        skip: false,
        subject: subject.to_owned(),
        oidc_context: OidcContext::default(),
        request_url: "https://issuer.example/oauth2/auth?client_id=client".to_owned(),
        login_challenge: unique("login"),
        login_session_id: None,
        acr: String::new(),
        force_subject_identifier: String::new(),
        authenticated_at: requested_at,
        requested_at,
        expires_at,
        handled: None,
        verifier_used: false,
    }
}

fn accepted_login(subject: &str) -> HandledLogin {
    HandledLogin::Accepted(AcceptedLogin {
        subject: subject.to_owned(),
        remember: true,
        remember_for: 3600,
        acr: "1".to_owned(),
        force_subject_identifier: String::new(),
        authenticated_at: now(),
    })
}

fn accepted_consent(remember: bool) -> HandledConsent {
    HandledConsent::Accepted(AcceptedConsent {
        grant_scope: vec!["openid".to_owned()],
        remember,
        remember_for: 0,
        access_token_extra: serde_json::Map::new(),
        id_token_extra: serde_json::Map::from_iter([("email".to_owned(), "a@b".into())]),
        handled_at: now(),
    })
}

fn rejected() -> RejectedRequest {
    RejectedRequest {
        error: "access_denied".to_owned(),
        status_code: 403,
        ..RejectedRequest::default()
    }
}

/// Checks that exactly one concurrent caller succeeded and every other got `loser`.
fn tally<T: Debug>(results: Vec<Result<T, StoreError>>, loser: &StoreError, what: &str) {
    let mut winners = 0;
    for result in results {
        match result {
            Ok(_) => winners += 1,
            Err(e) if std::mem::discriminant(&e) == std::mem::discriminant(loser) => {}
            Err(e) => panic!("store conformance: {what}: a racing caller got {e:?}, not {loser:?}"),
        }
    }
    assert_eq!(
        winners, 1,
        "store conformance: {what}: {winners} of {CONCURRENCY} concurrent callers succeeded, \
         exactly one must"
    );
}

/// Clients: round trip, conflicts, not-found, update, delete, and a stable page order by
/// (`created_at`, `client_id`) across pages.
pub async fn clients(store: &dyn Store) {
    let base = now() + Duration::days(3650);
    let prefix = unique("client");
    // Two share a created_at, to check the client_id tie-break.
    let ids: Vec<(String, OffsetDateTime)> = [(2, "c"), (0, "b"), (1, "a"), (1, "d"), (3, "e")]
        .iter()
        .map(|(offset, suffix)| {
            (
                format!("{prefix}-{suffix}"),
                base + Duration::seconds(*offset),
            )
        })
        .collect();
    for (id, created_at) in &ids {
        ok(
            store.create_client(client_record(id, *created_at)).await,
            "create_client",
        );
    }
    let first = &ids[0].0;
    let stored = ok(store.client(first).await, "client after create_client");
    assert_eq!(
        stored,
        client_record(first, ids[0].1),
        "store conformance: client round trip"
    );
    expect_err(
        store.create_client(client_record(first, base)).await,
        &StoreError::Conflict,
        "create_client with an existing id",
    );
    expect_err(
        store.client(&unique("nobody")).await,
        &StoreError::NotFound,
        "client of unknown id",
    );

    let mut updated = client_record(first, ids[0].1);
    updated.client.client_name = "renamed".to_owned();
    ok(store.update_client(updated.clone()).await, "update_client");
    assert_eq!(
        ok(store.client(first).await, "client after update"),
        updated,
        "store conformance: update_client round trip"
    );
    expect_err(
        store
            .update_client(client_record(&unique("nobody"), base))
            .await,
        &StoreError::NotFound,
        "update_client of unknown id",
    );

    // Page through everything with a small page size: no duplicates, no gaps, sorted.
    let mut listed: Vec<ClientRecord> = Vec::new();
    loop {
        let page = ok(store.list_clients(2, listed.len()).await, "list_clients");
        assert!(
            page.len() <= 2,
            "store conformance: list_clients returned more than the limit"
        );
        if page.is_empty() {
            break;
        }
        listed.extend(page);
    }
    let keys: Vec<(i128, String)> = listed
        .iter()
        .map(|r| {
            let created = r
                .client
                .created_at
                .map_or(0, OffsetDateTime::unix_timestamp_nanos);
            (created, r.client.client_id.clone())
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "store conformance: list_clients pages are not strictly ordered by (created_at, client_id)"
    );
    let mine: Vec<&str> = keys
        .iter()
        .map(|(_, id)| id.as_str())
        .filter(|id| id.starts_with(&prefix))
        .collect();
    let want = ["b", "a", "d", "c", "e"].map(|s| format!("{prefix}-{s}"));
    assert_eq!(
        mine, want,
        "store conformance: list_clients order of this case's clients"
    );

    ok(store.delete_client(first).await, "delete_client");
    expect_err(
        store.client(first).await,
        &StoreError::NotFound,
        "client after delete_client",
    );
    expect_err(
        store.delete_client(first).await,
        &StoreError::NotFound,
        "delete_client twice",
    );
}

fn key(created_at: OffsetDateTime, alg: Algorithm) -> KeyRecord {
    KeyRecord {
        kid: unique("kid"),
        alg,
        private_pkcs8: crate::model::random_bytes::<48>().to_vec(),
        created_at,
    }
}

/// Keys: concurrent `insert_initial_keys` callers all see one single key set; `insert_key`
/// appends and rejects a known `kid`.
pub async fn keys(store: &dyn Store) {
    let before = ok(store.keys().await, "keys");
    let candidates: Vec<Vec<KeyRecord>> = (0..CONCURRENCY)
        .map(|_| vec![key(now(), Algorithm::ES256), key(now(), Algorithm::EdDSA)])
        .collect();
    let results = join_all(
        candidates
            .iter()
            .map(|set| store.insert_initial_keys(set.clone())),
    )
    .await;
    let seen: Vec<Vec<KeyRecord>> = results
        .into_iter()
        .map(|r| ok(r, "insert_initial_keys"))
        .collect();
    let agreed = &seen[0];
    assert!(
        seen.iter().all(|set| set == agreed),
        "store conformance: concurrent insert_initial_keys callers saw different key sets"
    );
    if before.is_empty() {
        assert!(
            candidates.contains(agreed),
            "store conformance: insert_initial_keys on an empty store must store exactly one \
             caller's set (oldest first), got {agreed:?}"
        );
    } else {
        assert_eq!(
            agreed, &before,
            "store conformance: insert_initial_keys must keep existing keys"
        );
    }
    assert_eq!(
        &ok(store.keys().await, "keys"),
        agreed,
        "store conformance: keys after insert_initial_keys"
    );

    let rotated = key(now() + Duration::seconds(1), Algorithm::ES256);
    ok(store.insert_key(rotated.clone()).await, "insert_key");
    let all = ok(store.keys().await, "keys after insert_key");
    assert_eq!(
        all.last(),
        Some(&rotated),
        "store conformance: keys must list the newest key last"
    );
    assert_eq!(
        all.len(),
        agreed.len() + 1,
        "store conformance: insert_key adds exactly one key"
    );
    expect_err(
        store.insert_key(rotated).await,
        &StoreError::Conflict,
        "insert_key with a known kid",
    );
    let again = ok(
        store
            .insert_initial_keys(vec![key(now(), Algorithm::ES256)])
            .await,
        "insert_initial_keys",
    );
    assert_eq!(
        again, all,
        "store conformance: insert_initial_keys on a non-empty store changes nothing"
    );
}

/// Login requests: round trip, the handle-once and consume-once state machine, and one
/// winner among concurrent answers and consumptions.
pub async fn login_requests(store: &dyn Store) {
    let request = login_request(later());
    ok(
        store.create_login_request(request.clone()).await,
        "create_login_request",
    );
    assert_eq!(
        ok(
            store.login_request(&request.challenge).await,
            "login_request"
        ),
        request,
        "store conformance: login request round trip"
    );
    expect_err(
        store.create_login_request(request.clone()).await,
        &StoreError::Conflict,
        "create_login_request with a known challenge",
    );
    expect_err(
        store.login_request(&unique("nobody")).await,
        &StoreError::NotFound,
        "login_request of unknown challenge",
    );
    expect_err(
        store.consume_login_verifier(&request.verifier_digest).await,
        &StoreError::NotFound,
        "consume_login_verifier before the request was handled",
    );
    let answer = accepted_login("alice");
    let handled = ok(
        store
            .handle_login_request(&request.challenge, answer.clone())
            .await,
        "handle_login_request",
    );
    assert_eq!(
        handled.handled.as_ref(),
        Some(&answer),
        "store conformance: handle_login_request returns the answer"
    );
    assert_eq!(
        ok(
            store.login_request(&request.challenge).await,
            "login_request"
        )
        .handled,
        Some(answer.clone())
    );
    expect_err(
        store
            .handle_login_request(&request.challenge, answer.clone())
            .await,
        &StoreError::Conflict,
        "handle_login_request twice",
    );
    expect_err(
        store
            .handle_login_request(&unique("nobody"), answer.clone())
            .await,
        &StoreError::NotFound,
        "handle_login_request of unknown challenge",
    );
    let consumed = ok(
        store.consume_login_verifier(&request.verifier_digest).await,
        "consume_login_verifier",
    );
    assert!(
        consumed.verifier_used,
        "store conformance: consume_login_verifier returns the used record"
    );
    assert_eq!(
        consumed.handled,
        Some(answer),
        "store conformance: consumed login keeps its answer"
    );
    expect_err(
        store.consume_login_verifier(&request.verifier_digest).await,
        &StoreError::AlreadyUsed,
        "consume_login_verifier twice",
    );
    expect_err(
        store.consume_login_verifier(&unique("nobody")).await,
        &StoreError::NotFound,
        "consume_login_verifier of unknown digest",
    );

    let raced = login_request(later());
    ok(
        store.create_login_request(raced.clone()).await,
        "create_login_request",
    );
    let answers = (0..CONCURRENCY).map(|i| {
        let answer = if i % 2 == 0 {
            accepted_login("alice")
        } else {
            HandledLogin::Rejected(rejected())
        };
        store.handle_login_request(&raced.challenge, answer)
    });
    tally(
        join_all(answers).await,
        &StoreError::Conflict,
        "concurrent handle_login_request",
    );
    let consumers = (0..CONCURRENCY).map(|_| store.consume_login_verifier(&raced.verifier_digest));
    tally(
        join_all(consumers).await,
        &StoreError::AlreadyUsed,
        "concurrent consume_login_verifier",
    );
}

/// Consent requests: the same state machine as login requests.
pub async fn consent_requests(store: &dyn Store) {
    let request = consent_request("alice", "client", now(), later());
    ok(
        store.create_consent_request(request.clone()).await,
        "create_consent_request",
    );
    assert_eq!(
        ok(
            store.consent_request(&request.challenge).await,
            "consent_request"
        ),
        request,
        "store conformance: consent request round trip"
    );
    expect_err(
        store.create_consent_request(request.clone()).await,
        &StoreError::Conflict,
        "create_consent_request with a known challenge",
    );
    expect_err(
        store.consent_request(&unique("nobody")).await,
        &StoreError::NotFound,
        "consent_request of unknown challenge",
    );
    expect_err(
        store
            .consume_consent_verifier(&request.verifier_digest)
            .await,
        &StoreError::NotFound,
        "consume_consent_verifier before the request was handled",
    );
    let answer = accepted_consent(true);
    let handled = ok(
        store
            .handle_consent_request(&request.challenge, answer.clone())
            .await,
        "handle_consent_request",
    );
    assert_eq!(
        handled.handled.as_ref(),
        Some(&answer),
        "store conformance: handle_consent_request returns the answer"
    );
    expect_err(
        store
            .handle_consent_request(&request.challenge, answer.clone())
            .await,
        &StoreError::Conflict,
        "handle_consent_request twice",
    );
    expect_err(
        store
            .handle_consent_request(&unique("nobody"), answer.clone())
            .await,
        &StoreError::NotFound,
        "handle_consent_request of unknown challenge",
    );
    let consumed = ok(
        store
            .consume_consent_verifier(&request.verifier_digest)
            .await,
        "consume_consent_verifier",
    );
    assert!(
        consumed.verifier_used && consumed.handled == Some(answer),
        "store conformance: consume_consent_verifier returns the used, answered record"
    );
    expect_err(
        store
            .consume_consent_verifier(&request.verifier_digest)
            .await,
        &StoreError::AlreadyUsed,
        "consume_consent_verifier twice",
    );
    expect_err(
        store.consume_consent_verifier(&unique("nobody")).await,
        &StoreError::NotFound,
        "consume_consent_verifier of unknown digest",
    );

    let raced = consent_request("alice", "client", now(), later());
    ok(
        store.create_consent_request(raced.clone()).await,
        "create_consent_request",
    );
    let answers = (0..CONCURRENCY)
        .map(|i| store.handle_consent_request(&raced.challenge, accepted_consent(i % 2 == 0)));
    tally(
        join_all(answers).await,
        &StoreError::Conflict,
        "concurrent handle_consent_request",
    );
    let consumers =
        (0..CONCURRENCY).map(|_| store.consume_consent_verifier(&raced.verifier_digest));
    tally(
        join_all(consumers).await,
        &StoreError::AlreadyUsed,
        "concurrent consume_consent_verifier",
    );
}

fn challenges(records: &[ConsentRequestRecord]) -> Vec<&str> {
    records.iter().map(|r| r.challenge.as_str()).collect()
}

/// Remembered consents: only accepted + remember + not skip, newest first; consent sessions
/// paginate; `delete_consents` deletes handled consents and returns their challenges.
pub async fn remembered_consents(store: &dyn Store) {
    let subject = unique("subject");
    let (client, other_client) = (unique("client"), unique("client"));
    let t = |minutes: i64| now() - Duration::minutes(minutes);
    // (client, minutes ago, skip, answer)
    let cases: Vec<(&str, i64, bool, Option<HandledConsent>)> = vec![
        (&client, 5, false, Some(accepted_consent(true))), // remembered, older
        (&client, 1, false, Some(accepted_consent(true))), // remembered, newest
        (&client, 2, false, Some(accepted_consent(false))), // not remembered
        (&client, 3, true, Some(accepted_consent(true))),  // skip: a re-confirmation
        (
            &client,
            4,
            false,
            Some(HandledConsent::Rejected(rejected())),
        ),
        (&client, 6, false, None), // unanswered
        (&other_client, 0, false, Some(accepted_consent(true))), // other client, newest overall
    ];
    let mut records = Vec::new();
    for (client_id, ago, skip, answer) in cases {
        let mut request = consent_request(&subject, client_id, t(ago), later());
        request.skip = skip;
        ok(
            store.create_consent_request(request.clone()).await,
            "create_consent_request",
        );
        if let Some(answer) = answer {
            ok(
                store
                    .handle_consent_request(&request.challenge, answer)
                    .await,
                "handle_consent_request",
            );
        }
        records.push(request);
    }
    let remembered = ok(
        store.remembered_consents(&subject, &client).await,
        "remembered_consents",
    );
    assert_eq!(
        challenges(&remembered),
        [records[1].challenge.as_str(), records[0].challenge.as_str()],
        "store conformance: remembered_consents must return exactly the accepted, remembered, \
         non-skip consents of the client, newest first"
    );
    let sessions = ok(
        store.consent_sessions(&subject, 10, 0).await,
        "consent_sessions",
    );
    let want = [&records[6], &records[1], &records[0]].map(|r| r.challenge.as_str());
    assert_eq!(
        challenges(&sessions),
        want,
        "store conformance: consent_sessions filter and order"
    );
    let page = ok(
        store.consent_sessions(&subject, 2, 1).await,
        "consent_sessions page",
    );
    assert_eq!(
        challenges(&page),
        &want[1..],
        "store conformance: consent_sessions limit/offset"
    );
    assert!(
        ok(
            store.consent_sessions(&unique("nobody"), 10, 0).await,
            "consent_sessions"
        )
        .is_empty()
    );

    let mut deleted = ok(
        store.delete_consents(&subject, Some(&other_client)).await,
        "delete_consents",
    );
    assert_eq!(
        deleted,
        [records[6].challenge.clone()],
        "store conformance: delete_consents for one client"
    );
    deleted = ok(
        store.delete_consents(&subject, None).await,
        "delete_consents",
    );
    deleted.sort();
    let mut want: Vec<String> = records[..5].iter().map(|r| r.challenge.clone()).collect();
    want.sort();
    assert_eq!(
        deleted, want,
        "store conformance: delete_consents returns every handled consent's challenge"
    );
    expect_err(
        store.consent_request(&records[0].challenge).await,
        &StoreError::NotFound,
        "consent after delete_consents",
    );
    ok(
        store.consent_request(&records[5].challenge).await,
        "an unanswered consent survives delete_consents",
    );
    assert!(
        ok(
            store.remembered_consents(&subject, &client).await,
            "remembered_consents"
        )
        .is_empty()
    );
}

/// `flush_requests`: deletes expired login and consent requests up to the limit, never an
/// unexpired one, and keeps remembered consents.
pub async fn flush_requests(store: &dyn Store) {
    let expired_at = ancient();
    let cutoff = expired_at + Duration::seconds(1);
    // Leftovers of an interrupted earlier run would skew the counts below.
    ok(
        store.flush_requests(cutoff, usize::MAX).await,
        "flush_requests",
    );
    let subject = unique("subject");
    let mut doomed = Vec::new();
    for _ in 0..3 {
        let login = login_request(expired_at);
        ok(
            store.create_login_request(login.clone()).await,
            "create_login_request",
        );
        doomed.push(login.challenge);
    }
    let consent = consent_request(&subject, "client", expired_at, expired_at);
    ok(
        store.create_consent_request(consent.clone()).await,
        "create_consent_request",
    );
    let remembered = consent_request(&subject, "client", expired_at, expired_at);
    ok(
        store.create_consent_request(remembered.clone()).await,
        "create_consent_request",
    );
    ok(
        store
            .handle_consent_request(&remembered.challenge, accepted_consent(true))
            .await,
        "handle_consent_request",
    );
    let fresh_login = login_request(cutoff);
    ok(
        store.create_login_request(fresh_login.clone()).await,
        "create_login_request",
    );
    let fresh_consent = consent_request(&subject, "client", now(), cutoff);
    ok(
        store.create_consent_request(fresh_consent.clone()).await,
        "create_consent_request",
    );

    let first = ok(store.flush_requests(cutoff, 2).await, "flush_requests");
    assert_eq!(
        first, 2,
        "store conformance: flush_requests must delete up to its limit"
    );
    let rest = ok(store.flush_requests(cutoff, 100).await, "flush_requests");
    assert_eq!(
        rest, 2,
        "store conformance: flush_requests must delete the remaining expired requests"
    );
    for challenge in &doomed {
        expect_err(
            store.login_request(challenge).await,
            &StoreError::NotFound,
            "expired login after flush_requests",
        );
    }
    expect_err(
        store.consent_request(&consent.challenge).await,
        &StoreError::NotFound,
        "expired consent after flush_requests",
    );
    ok(
        store.consent_request(&remembered.challenge).await,
        "flush_requests must keep remembered consents",
    );
    ok(
        store.login_request(&fresh_login.challenge).await,
        "flush_requests must keep unexpired logins",
    );
    ok(
        store.consent_request(&fresh_consent.challenge).await,
        "flush_requests must keep unexpired consents",
    );
    assert_eq!(
        ok(store.flush_requests(cutoff, 0).await, "flush_requests"),
        0
    );
    ok(
        store.delete_consents(&subject, None).await,
        "delete_consents",
    );
    ok(
        store
            .flush_requests(cutoff + Duration::seconds(1), usize::MAX)
            .await,
        "flush_requests",
    );
}

fn session(subject: &str, expires_at: OffsetDateTime) -> LoginSessionRecord {
    LoginSessionRecord {
        id: unique("session"),
        subject: subject.to_owned(),
        authenticated_at: now(),
        expires_at,
    }
}

/// Login sessions: round trip, conflicts, deletion by id and by subject, and flush.
pub async fn login_sessions(store: &dyn Store) {
    let subject = unique("subject");
    let one = session(&subject, later());
    ok(
        store.create_login_session(one.clone()).await,
        "create_login_session",
    );
    assert_eq!(
        ok(store.login_session(&one.id).await, "login_session"),
        one,
        "store conformance: login session round trip"
    );
    expect_err(
        store.create_login_session(one.clone()).await,
        &StoreError::Conflict,
        "create_login_session with a known id",
    );
    expect_err(
        store.login_session(&unique("nobody")).await,
        &StoreError::NotFound,
        "login_session of unknown id",
    );
    ok(
        store.delete_login_session(&one.id).await,
        "delete_login_session",
    );
    expect_err(
        store.login_session(&one.id).await,
        &StoreError::NotFound,
        "login_session after delete",
    );
    expect_err(
        store.delete_login_session(&one.id).await,
        &StoreError::NotFound,
        "delete_login_session twice",
    );

    let other = session(&unique("subject"), later());
    ok(
        store.create_login_session(other.clone()).await,
        "create_login_session",
    );
    for _ in 0..3 {
        ok(
            store.create_login_session(session(&subject, later())).await,
            "create_login_session",
        );
    }
    assert_eq!(
        ok(
            store.delete_login_sessions_of(&subject).await,
            "delete_login_sessions_of"
        ),
        3,
        "store conformance: delete_login_sessions_of counts that subject's sessions"
    );
    ok(
        store.login_session(&other.id).await,
        "delete_login_sessions_of must keep other subjects' sessions",
    );

    let expired_at = ancient();
    let cutoff = expired_at + Duration::seconds(1);
    ok(
        store.flush_login_sessions(cutoff, usize::MAX).await,
        "flush_login_sessions",
    );
    let expired: Vec<LoginSessionRecord> = (0..3).map(|_| session(&subject, expired_at)).collect();
    for s in &expired {
        ok(
            store.create_login_session(s.clone()).await,
            "create_login_session",
        );
    }
    let fresh = session(&subject, cutoff);
    ok(
        store.create_login_session(fresh.clone()).await,
        "create_login_session",
    );
    assert_eq!(
        ok(
            store.flush_login_sessions(cutoff, 2).await,
            "flush_login_sessions"
        ),
        2,
        "store conformance: flush_login_sessions respects its limit"
    );
    assert_eq!(
        ok(
            store.flush_login_sessions(cutoff, 100).await,
            "flush_login_sessions"
        ),
        1
    );
    for s in &expired {
        expect_err(
            store.login_session(&s.id).await,
            &StoreError::NotFound,
            "expired session after flush",
        );
    }
    ok(
        store.login_session(&fresh.id).await,
        "flush_login_sessions must keep unexpired sessions",
    );
    ok(
        store.delete_login_session(&other.id).await,
        "delete_login_session",
    );
    ok(
        store.delete_login_sessions_of(&subject).await,
        "delete_login_sessions_of",
    );
    ok(
        store
            .flush_login_sessions(cutoff + Duration::seconds(1), usize::MAX)
            .await,
        "flush_login_sessions",
    );
}

/// Forced subject identifiers: absent, set, overwritten, scoped to (client, subject).
pub async fn forced_subjects(store: &dyn Store) {
    let (client, subject) = (unique("client"), unique("subject"));
    assert_eq!(
        ok(
            store.forced_subject(&client, &subject).await,
            "forced_subject"
        ),
        None
    );
    ok(
        store.set_forced_subject(&client, &subject, "first").await,
        "set_forced_subject",
    );
    ok(
        store.set_forced_subject(&client, &subject, "second").await,
        "set_forced_subject again",
    );
    assert_eq!(
        ok(
            store.forced_subject(&client, &subject).await,
            "forced_subject"
        )
        .as_deref(),
        Some("second"),
        "store conformance: set_forced_subject overwrites"
    );
    assert_eq!(
        ok(
            store.forced_subject(&unique("client"), &subject).await,
            "forced_subject"
        ),
        None,
        "store conformance: forced subjects are per client"
    );
}

/// Whether the token of this signature exists (as its kind).
async fn token_exists(store: &dyn Store, token: &TokenRecord) -> bool {
    let found = match token.kind {
        TokenKind::AccessToken => store.access_token(&token.signature).await,
        TokenKind::RefreshToken => store.refresh_token(&token.signature).await,
    };
    match found {
        Ok(_) => true,
        Err(StoreError::NotFound) => false,
        Err(e) => panic!("store conformance: reading a token failed: {e:?}"),
    }
}

async fn status(store: &dyn Store, token: &TokenRecord) -> TokenStatus {
    let found = match token.kind {
        TokenKind::AccessToken => store.access_token(&token.signature).await,
        TokenKind::RefreshToken => store.refresh_token(&token.signature).await,
    };
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

    let raced = self::code(&grant, later());
    ok(store.insert_code(raced.clone()).await, "insert_code");
    let sets: Vec<IssuedTokens> = (0..CONCURRENCY).map(|_| issued(&grant)).collect();
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

    let raced_grant = self::grant(&unique("grant"), &unique("client"));
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
