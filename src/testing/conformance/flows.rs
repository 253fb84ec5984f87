//! Cases for clients, keys, login and consent requests, login sessions and forced subjects.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use super::*;

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
        *stored,
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
    // Dynamic registration keeps its registration access token's digest in the record.
    updated.registration_token = Some("ab".repeat(32));
    ok(store.update_client(updated.clone()).await, "update_client");
    assert_eq!(
        *ok(store.client(first).await, "client after update"),
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

    list_in_order(store, &prefix).await;

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

/// Pages through every client with a small page size: no duplicates, no gaps, strictly
/// ordered by (`created_at`, `client_id`), and the clients of [`clients`] (ids starting with
/// `prefix`) in their expected order.
async fn list_in_order(store: &dyn Store, prefix: &str) {
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
        .filter(|id| id.starts_with(prefix))
        .collect();
    let want = ["b", "a", "d", "c", "e"].map(|s| format!("{prefix}-{s}"));
    assert_eq!(
        mine, want,
        "store conformance: list_clients order of this case's clients"
    );
}

fn key(created_at: OffsetDateTime, alg: Algorithm, state: KeyState) -> KeyRecord {
    KeyRecord {
        kid: unique("kid"),
        alg,
        sealed_private_key: crate::crypto::random_bytes::<48>().to_vec(),
        created_at,
        state,
        activated_at: None,
        retired_at: None,
        set: None,
    }
}

/// Keys: concurrent initial inserts agree on one key set; of concurrent rotations seeing the
/// same next key exactly one applies; a failed change changes nothing; removals.
pub async fn keys(store: &dyn Store) {
    ok(store.ping().await, "ping answers when the store works");
    let alg = Algorithm::ES256;
    let initial_set = || {
        vec![
            key(now(), alg, KeyState::Active),
            key(now(), alg, KeyState::Next),
        ]
    };
    let candidates: Vec<Vec<KeyRecord>> = (0..CONCURRENCY).map(|_| initial_set()).collect();
    let results = join_all(
        candidates
            .iter()
            .map(|set| store.change_keys(KeyChange::Initial(set.clone()))),
    )
    .await;
    let seen: Vec<Vec<KeyRecord>> = results
        .into_iter()
        .map(|r| ok(r, "change_keys(Initial)"))
        .collect();
    let agreed = ok(store.keys().await, "keys");
    let actives = |keys: &[KeyRecord]| {
        keys.iter()
            .filter(|k| k.alg == alg && k.state == KeyState::Active)
            .count()
    };
    assert_eq!(
        actives(&agreed),
        1,
        "store conformance: concurrent initial inserts must leave exactly one active {alg} key, \
         got {agreed:?}"
    );
    assert!(
        seen.iter().all(|set| actives(set) == 1),
        "store conformance: every initial insert must see the one key set"
    );

    let next = agreed
        .iter()
        .rfind(|k| k.alg == alg && k.state == KeyState::Next)
        .map(|k| k.kid.clone());
    let rotation = |promote| KeyRotation {
        expected_next: next.clone(),
        promote,
        new_next: key(now(), alg, KeyState::Next),
        now: now(),
    };
    let rotations: Vec<KeyRotation> = (0..CONCURRENCY).map(|_| rotation(true)).collect();
    let outcomes = join_all(
        rotations
            .iter()
            .map(|r| store.change_keys(KeyChange::Rotate(r.clone()))),
    )
    .await;
    let winners = outcomes.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        winners, 1,
        "store conformance: exactly one of concurrent rotations from one view must apply"
    );
    for outcome in outcomes.into_iter().filter(|r| r.is_err()) {
        expect_err(outcome, &StoreError::Conflict, "a losing rotation");
    }
    let rotated = ok(store.keys().await, "keys after rotation");
    assert_eq!(
        actives(&rotated),
        1,
        "store conformance: one active key after rotation"
    );
    let promoted = rotated
        .iter()
        .find(|k| Some(&k.kid) == next.as_ref())
        .map(|k| k.state);
    assert_eq!(
        promoted,
        Some(KeyState::Active),
        "store conformance: rotation must promote the next key"
    );
    assert_eq!(
        rotated.len(),
        agreed.len() + 1,
        "store conformance: rotation adds exactly one (next) key"
    );

    // A change that fails changes nothing.
    expect_err(
        store.change_keys(KeyChange::Rotate(rotation(true))).await,
        &StoreError::Conflict,
        "a rotation from a stale view",
    );
    assert_eq!(
        ok(store.keys().await, "keys"),
        rotated,
        "store conformance: a refused key change must leave the keys as they were"
    );

    // Removal: the one retired key, after its time.
    let retired: Vec<&KeyRecord> = rotated
        .iter()
        .filter(|k| k.state == KeyState::Retired)
        .collect();
    assert!(
        !retired.is_empty(),
        "store conformance: rotation retires the active key"
    );
    let after = ok(
        store
            .change_keys(KeyChange::RemoveRetiredBefore(now() + Duration::seconds(1)))
            .await,
        "change_keys(RemoveRetiredBefore)",
    );
    assert!(
        after.iter().all(|k| k.state != KeyState::Retired),
        "store conformance: retired keys past their time must be removed"
    );
    assert_eq!(after.len(), rotated.len() - retired.len());
    expect_err(
        store
            .change_keys(KeyChange::RemoveRetired(retired[0].kid.clone()))
            .await,
        &StoreError::NotFound,
        "removing a removed key",
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
    answer_and_consume_login(store, &request).await;
    login_request_race(store).await;
}

/// A login request is answered once and its verifier consumed once.
async fn answer_and_consume_login(store: &dyn Store, request: &LoginRequestRecord) {
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
}

/// One winner among concurrent answers to a login request, and among concurrent
/// consumptions of its verifier.
async fn login_request_race(store: &dyn Store) {
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
    answer_and_consume_consent(store, &request).await;
    consent_request_race(store).await;
}

/// A consent request is answered once and its verifier consumed once.
async fn answer_and_consume_consent(store: &dyn Store, request: &ConsentRequestRecord) {
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
}

/// One winner among concurrent answers to a consent request, and among concurrent
/// consumptions of its verifier.
async fn consent_request_race(store: &dyn Store) {
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
/// paginate; `revoke_consents` deletes handled consents (their tokens: see
/// [`consent_revocation`](super::consent_revocation)).
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

    revoke_seeded_consents(store, &subject, &client, &other_client, &records).await;
}

/// `revoke_consents` of the consents [`remembered_consents`] seeded: for one client, then
/// for all; unanswered consents stay.
async fn revoke_seeded_consents(
    store: &dyn Store,
    subject: &str,
    client: &str,
    other_client: &str,
    records: &[ConsentRequestRecord],
) {
    assert_eq!(
        ok(
            store.revoke_consents(subject, Some(other_client)).await,
            "revoke_consents"
        ),
        1,
        "store conformance: revoke_consents for one client"
    );
    ok(
        store.consent_request(&records[0].challenge).await,
        "revoke_consents for one client must keep the other clients' consents",
    );
    assert_eq!(
        ok(
            store.revoke_consents(subject, None).await,
            "revoke_consents"
        ),
        5,
        "store conformance: revoke_consents deletes every handled consent of the subject"
    );
    expect_err(
        store.consent_request(&records[0].challenge).await,
        &StoreError::NotFound,
        "consent after revoke_consents",
    );
    ok(
        store.consent_request(&records[5].challenge).await,
        "an unanswered consent survives revoke_consents",
    );
    assert!(
        ok(
            store.remembered_consents(subject, client).await,
            "remembered_consents"
        )
        .is_empty()
    );
}

/// After [`flush_requests`]: the expired requests are gone; remembered and unexpired
/// consents and the unexpired login stay.
async fn expect_flushed(
    store: &dyn Store,
    doomed: &[String],
    consent: &ConsentRequestRecord,
    kept_consents: [&ConsentRequestRecord; 2],
    fresh_login: &LoginRequestRecord,
) {
    let [remembered, fresh_consent] = kept_consents;
    for challenge in doomed {
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
}

/// `flush_requests`: deletes expired login and consent requests up to the limit, never an
/// unexpired one, and keeps remembered consents. A store may also evict requests that
/// expired before a new one arrived (the `MemoryStore` does), so every request here arrives
/// when none has expired yet.
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
    let arrived = |mut login: LoginRequestRecord| {
        login.requested_at = expired_at - Duration::minutes(30);
        login
    };
    for _ in 0..3 {
        let login = arrived(login_request(expired_at));
        ok(
            store.create_login_request(login.clone()).await,
            "create_login_request",
        );
        doomed.push(login.challenge);
    }
    let arrived_at = expired_at - Duration::minutes(30);
    let consent = consent_request(&subject, "client", arrived_at, expired_at);
    ok(
        store.create_consent_request(consent.clone()).await,
        "create_consent_request",
    );
    let remembered = consent_request(&subject, "client", arrived_at, expired_at);
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
    let fresh_login = arrived(login_request(cutoff));
    ok(
        store.create_login_request(fresh_login.clone()).await,
        "create_login_request",
    );
    let fresh_consent = consent_request(&subject, "client", arrived_at, cutoff);
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
    expect_flushed(
        store,
        &doomed,
        &consent,
        [&remembered, &fresh_consent],
        &fresh_login,
    )
    .await;
    assert_eq!(
        ok(store.flush_requests(cutoff, 0).await, "flush_requests"),
        0
    );
    ok(
        store.revoke_consents(&subject, None).await,
        "revoke_consents",
    );
    ok(
        store
            .flush_requests(cutoff + Duration::seconds(1), usize::MAX)
            .await,
        "flush_requests",
    );
}

pub(super) fn session(subject: &str, expires_at: OffsetDateTime) -> LoginSessionRecord {
    LoginSessionRecord {
        id: unique("session"),
        subject: subject.to_owned(),
        authenticated_at: now(),
        expires_at,
    }
}

/// A login session round trip: create, read, conflict, not-found, delete.
async fn session_round_trip(store: &dyn Store, subject: &str) {
    let one = session(subject, later());
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
}

/// `delete_login_sessions_of` deletes exactly that subject's sessions; returns the session of
/// another subject it kept.
async fn delete_sessions_of_subject(store: &dyn Store, subject: &str) -> LoginSessionRecord {
    let other = session(&unique("subject"), later());
    ok(
        store.create_login_session(other.clone()).await,
        "create_login_session",
    );
    for _ in 0..3 {
        ok(
            store.create_login_session(session(subject, later())).await,
            "create_login_session",
        );
    }
    assert_eq!(
        ok(
            store.delete_login_sessions_of(subject).await,
            "delete_login_sessions_of"
        ),
        3,
        "store conformance: delete_login_sessions_of counts that subject's sessions"
    );
    ok(
        store.login_session(&other.id).await,
        "delete_login_sessions_of must keep other subjects' sessions",
    );
    other
}

/// Login sessions: round trip, conflicts, deletion by id and by subject, and flush.
pub async fn login_sessions(store: &dyn Store) {
    let subject = unique("subject");
    session_round_trip(store, &subject).await;
    let other = delete_sessions_of_subject(store, &subject).await;

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

/// What one client leaves in the store, for [`client_deletion`].
struct ClientTraces {
    /// The challenge of the remembered consent.
    remembered: String,
    pending_consent: ConsentRequestRecord,
    pending_login: LoginRequestRecord,
    tokens: IssuedTokens,
    code: CodeRecord,
}

/// Seeds a remembered consent (with a token pair and an unused code of its grant), a
/// pending consent, a pending login and a forced subject of `subject` for `client_id`.
async fn leave_traces(store: &dyn Store, client_id: &str, subject: &str) -> ClientTraces {
    let (tokens, code) = super::tokens::consent_with_tokens(store, subject, client_id).await;
    let pending_consent = consent_request(subject, client_id, now(), later());
    ok(
        store.create_consent_request(pending_consent.clone()).await,
        "create_consent_request",
    );
    let pending_login = LoginRequestRecord {
        client_id: client_id.to_owned(),
        ..login_request(later())
    };
    ok(
        store.create_login_request(pending_login.clone()).await,
        "create_login_request",
    );
    ok(
        store.set_forced_subject(client_id, subject, "forced").await,
        "set_forced_subject",
    );
    ClientTraces {
        remembered: tokens.access.grant.grant_id.clone(),
        pending_consent,
        pending_login,
        tokens,
        code,
    }
}

/// `delete_client` removes everything kept under the client's id in one call — remembered
/// and pending consents, pending logins, forced subjects — and revokes its tokens and codes,
/// leaving other clients alone; a client registered again under the id remembers nothing.
/// Leftovers of a client that is already gone are removed too (with `NotFound`).
pub async fn client_deletion(store: &dyn Store) {
    let (doomed, kept, subject) = (unique("client"), unique("client"), unique("subject"));
    for id in [&doomed, &kept] {
        ok(
            store.create_client(client_record(id, now())).await,
            "create_client",
        );
    }
    let gone = leave_traces(store, &doomed, &subject).await;
    let stays = leave_traces(store, &kept, &subject).await;
    ok(store.delete_client(&doomed).await, "delete_client");

    for challenge in [&gone.remembered, &gone.pending_consent.challenge] {
        expect_err(
            store.consent_request(challenge).await,
            &StoreError::NotFound,
            "a consent request of a deleted client",
        );
    }
    expect_err(
        store.login_request(&gone.pending_login.challenge).await,
        &StoreError::NotFound,
        "a login request of a deleted client",
    );
    assert_eq!(
        ok(
            store.forced_subject(&doomed, &subject).await,
            "forced_subject"
        ),
        None,
        "store conformance: delete_client deletes the client's forced subjects"
    );
    let now = now();
    let access = &gone.tokens.access.signature;
    assert!(
        !ok(store.access_token(access).await, "access_token").is_active(now),
        "store conformance: delete_client revokes the client's access tokens"
    );
    let refresh = &gone.tokens.refresh.as_ref().unwrap().signature;
    assert!(
        !ok(store.refresh_token(refresh).await, "refresh_token").is_active(now),
        "store conformance: delete_client revokes the client's refresh tokens"
    );
    assert!(
        ok(store.code(&gone.code.signature).await, "code").used,
        "store conformance: delete_client marks the client's unused codes used"
    );

    // The other client keeps everything.
    for challenge in [&stays.remembered, &stays.pending_consent.challenge] {
        ok(
            store.consent_request(challenge).await,
            "another client's consent request after delete_client",
        );
    }
    ok(
        store.login_request(&stays.pending_login.challenge).await,
        "another client's login request after delete_client",
    );
    assert_eq!(
        ok(
            store.forced_subject(&kept, &subject).await,
            "forced_subject"
        )
        .as_deref(),
        Some("forced"),
        "store conformance: delete_client must not touch another client's forced subjects"
    );
    let access = &stays.tokens.access.signature;
    assert!(
        ok(store.access_token(access).await, "access_token").is_active(now),
        "store conformance: delete_client must not touch another client's tokens"
    );
    assert!(
        !ok(store.code(&stays.code.signature).await, "code").used,
        "store conformance: delete_client must not touch another client's codes"
    );

    // The same id registered again starts from nothing.
    ok(
        store.create_client(client_record(&doomed, now)).await,
        "create_client with the id of a deleted client",
    );
    assert!(
        ok(
            store.remembered_consents(&subject, &doomed).await,
            "remembered_consents"
        )
        .is_empty(),
        "store conformance: a remembered consent outlived its client (delete_client)"
    );
    let sessions = ok(
        store.consent_sessions(&subject, 10, 0).await,
        "consent_sessions",
    );
    let listed: Vec<&str> = sessions.iter().map(|c| c.challenge.as_str()).collect();
    assert_eq!(
        listed,
        [stays.remembered.as_str()],
        "store conformance: consent_sessions after delete_client lists only the other client's"
    );
    ok(store.delete_client(&doomed).await, "delete_client");
    ok(store.delete_client(&kept).await, "delete_client");

    // Leftovers under an id with no client are removed all the same.
    let orphan = unique("client");
    ok(
        store.set_forced_subject(&orphan, &subject, "forced").await,
        "set_forced_subject",
    );
    expect_err(
        store.delete_client(&orphan).await,
        &StoreError::NotFound,
        "delete_client of an unknown id",
    );
    assert_eq!(
        ok(
            store.forced_subject(&orphan, &subject).await,
            "forced_subject"
        ),
        None,
        "store conformance: delete_client of an unknown id still deletes its leftovers"
    );
}

/// `origin_allowed` follows client writes: an origin is allowed while at least one client
/// lists it (a list may repeat it), and no longer once updates and deletes took it away.
pub async fn cors_origins(store: &dyn Store) {
    let origin = |name: &str| format!("https://{}.example", unique(name));
    let (shared, only_a, only_b, later_b) = (
        origin("shared"),
        origin("a"),
        origin("b"),
        origin("later-b"),
    );
    let allowed =
        |origin: String| async move { ok(store.origin_allowed(&origin).await, "origin_allowed") };
    assert!(
        !allowed(shared.clone()).await,
        "store conformance: origin_allowed of an origin no client lists"
    );
    let with_origins = |id: &str, origins: &[&String]| ClientRecord {
        client: Client {
            allowed_cors_origins: origins.iter().map(|o| (*o).clone()).collect(),
            ..client_record(id, now()).client
        },
        secret_hash: None,
        registration_token: None,
    };
    let (a, b) = (unique("client"), unique("client"));
    ok(
        store
            .create_client(with_origins(&a, &[&shared, &only_a, &only_a]))
            .await,
        "create_client",
    );
    ok(
        store
            .create_client(with_origins(&b, &[&shared, &only_b]))
            .await,
        "create_client",
    );
    for origin in [&shared, &only_a, &only_b] {
        assert!(
            allowed(origin.clone()).await,
            "store conformance: origin_allowed after create_client listing it"
        );
    }

    ok(store.delete_client(&a).await, "delete_client");
    assert!(
        allowed(shared.clone()).await,
        "store conformance: an origin two clients list survives deleting one of them"
    );
    assert!(
        !allowed(only_a.clone()).await,
        "store conformance: origin_allowed after delete_client of its only client"
    );

    ok(
        store.update_client(with_origins(&b, &[&later_b])).await,
        "update_client",
    );
    assert!(
        !allowed(shared.clone()).await && !allowed(only_b.clone()).await,
        "store conformance: origin_allowed after update_client removed the origin"
    );
    assert!(
        allowed(later_b.clone()).await,
        "store conformance: origin_allowed after update_client added the origin"
    );
    ok(store.delete_client(&b).await, "delete_client");
    assert!(
        !allowed(later_b).await,
        "store conformance: origin_allowed after delete_client"
    );
}
