//! The store conformance kit: a suite any [`Store`] implementation can run — ours or a
//! host's own ("bring your own store").
//!
//! It exercises every trait method against the contracts documented in [`crate::store`]:
//! round trips, not-found, conflicts, single use under concurrent callers (one winner among
//! [`CONCURRENCY`] redemptions, verifier consumptions, request answers and refresh-token
//! rotations), revocation of token families and of consent sessions with their tokens,
//! revocations racing with rotations, expiry and flush (within the limit, never an
//! unexpired row), pagination order, the remembered-consent filter, login sessions, forced
//! subjects, the initial-key race, client deletion taking everything kept under the client's
//! id with it, the CORS origin index following client writes, and logout (logout requests,
//! ending sessions with their back-channel outbox, leased claims).
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
use crate::crypto::random_id;
use crate::error::{ErrorCode, StoreError};
use crate::model::Algorithm;
use crate::model::client::ClientRecord;
use crate::store::{
    AcceptedConsent, AcceptedLogin, CodeRecord, ConsentRequestRecord, GrantData, HandledConsent,
    HandledLogin, IssuedTokens, KeyChange, KeyRecord, KeyRotation, KeyState, LoginRequestRecord,
    LoginSessionRecord, OidcContext, RejectedRequest, Store, TokenKind, TokenRecord, TokenStatus,
};

mod flows;
mod logout;
mod tokens;

pub use flows::{
    client_deletion, clients, consent_requests, cors_origins, flush_requests, forced_subjects,
    keys, login_requests, login_sessions, remembered_consents,
};
pub use logout::{logout_deliveries, logout_requests};
pub use tokens::{
    RACE_ROUNDS, client_revocation, codes, consent_revocation, flush_tokens, grant_revocation,
    refresh_rotation, revocation_races, tokens,
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
    consent_revocation(store).await;
    revocation_races(store).await;
    flush_tokens(store).await;
    client_deletion(store).await;
    cors_origins(store).await;
    logout_requests(store).await;
    logout_deliveries(store).await;
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

pub(crate) fn unique(prefix: &str) -> String {
    format!("conf-{prefix}-{}", random_id())
}

/// Now, to the second: every store keeps at least that precision.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
        .expect("now is representable")
}

/// A random moment in 1971, for rows that are long expired. Each flush case first flushes
/// everything before its own cut-off (leftovers of an interrupted run) and at the end the
/// rows it kept, so its counts are exact even on a shared database.
fn ancient() -> OffsetDateTime {
    let offset = i64::from(u32::from_le_bytes(crate::crypto::random_bytes::<4>()) % 30_000_000);
    OffsetDateTime::from_unix_timestamp(31_536_000 + offset).expect("1971 is representable")
}

pub(crate) fn later() -> OffsetDateTime {
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

pub(crate) fn grant(grant_id: &str, client_id: &str) -> GrantData {
    GrantData {
        grant_id: grant_id.to_owned(),
        granted_audience: vec![
            "https://a.example/".to_owned(),
            "https://b.example/".to_owned(),
        ],
        access_token_extra: serde_json::Map::from_iter([("k".to_owned(), "v".into())]),
        ..super::fixtures::grant(client_id, "alice", &["openid", "offline"], now())
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

/// An access token for part of the grant's audience (a token request narrowed it) and a
/// refresh token for the whole grant.
fn issued(grant: &GrantData) -> IssuedTokens {
    let narrowed = GrantData {
        granted_audience: grant.granted_audience.iter().take(1).cloned().collect(),
        ..grant.clone()
    };
    IssuedTokens {
        access: token(TokenKind::AccessToken, &narrowed, Some(later())),
        refresh: Some(token(TokenKind::RefreshToken, grant, None)),
    }
}

pub(crate) fn code(grant: &GrantData, expires_at: OffsetDateTime) -> CodeRecord {
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
        requested_access_token_audience: vec!["https://a.example/".to_owned()],
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

pub(crate) fn consent_request(
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
        requested_access_token_audience: vec!["https://a.example/".to_owned()],
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

pub(crate) fn accepted_consent(remember: bool) -> HandledConsent {
    HandledConsent::Accepted(AcceptedConsent {
        grant_scope: vec!["openid".to_owned()],
        grant_access_token_audience: vec!["https://a.example/".to_owned()],
        remember,
        remember_for: 0,
        access_token_extra: serde_json::Map::new(),
        id_token_extra: serde_json::Map::from_iter([("email".to_owned(), "a@b".into())]),
        handled_at: now(),
    })
}

fn rejected() -> RejectedRequest {
    RejectedRequest {
        error: ErrorCode::AccessDenied,
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
