//! Several provider instances on one PostgreSQL database behave as one: they agree on one
//! key set and publish the same JWKS, and every single-use step holds across instances —
//! the whole conformance kit passes with consecutive calls spread over two separate
//! connection pools. Skips with a printed reason when no PostgreSQL is reachable, except in
//! CI (see `common/postgres.rs`).
#![cfg(all(feature = "postgres", feature = "testing"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::flow::{self, CB, app_token, code_query, consent_to, flow_client, remembered_login};
use common::postgres::ScratchDb;
use common::seed;
use http::{Method, StatusCode};
use oauth2_provider::Algorithm;
use oauth2_provider::model::TokensAtLogout;
use oauth2_provider::model::client::{ClientRecord, SecretHash};
use oauth2_provider::store::sql::PostgresStore;
use oauth2_provider::store::*;
use oauth2_provider::testing::conformance;
use oauth2_provider::testing::{UserAgent, redirect_param};
use oauth2_provider::{Config, Provider, StoreError};
use std::time::Duration;
use time::OffsetDateTime;

async fn jwks(provider: &Provider) -> serde_json::Value {
    let res = provider
        .public()
        .handle(common::empty_request(Method::GET, "/.well-known/jwks.json"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    common::body_json(&res)
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_starting_together_share_one_key_set_and_jwks() {
    let Some(db) = ScratchDb::create("multi_keys").await else {
        return;
    };
    let (a, b) = tokio::join!(
        PostgresStore::connect(&db.url),
        PostgresStore::connect(&db.url)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let config = Config::new(common::ISSUER).unwrap();
    let (provider_a, provider_b) = tokio::join!(
        Provider::builder(config.clone())
            .store(Arc::new(a.clone()))
            .build(),
        Provider::builder(config.clone())
            .store(Arc::new(b.clone()))
            .build(),
    );
    let (provider_a, provider_b) = (provider_a.unwrap(), provider_b.unwrap());

    let published = jwks(&provider_a).await;
    assert_eq!(
        published["keys"].as_array().unwrap().len(),
        4,
        "an active and a next key per algorithm: {published}"
    );
    assert_eq!(
        published,
        jwks(&provider_b).await,
        "both instances publish the same JWKS"
    );
    assert_eq!(
        a.keys().await.unwrap().len(),
        4,
        "exactly one initial key set was stored"
    );

    // A rotation on one instance reaches the other on reload; old keys stay published.
    provider_a.rotate_keys(Algorithm::ES256).await.unwrap();
    provider_b.reload_keys().await.unwrap();
    let rotated = jwks(&provider_b).await;
    assert_eq!(rotated["keys"].as_array().unwrap().len(), 5, "{rotated}");
    assert_eq!(rotated, jwks(&provider_a).await);

    // A restarted instance (same system secret: it seals the keys) loads the same keys
    // instead of generating new ones.
    let restarted = Provider::builder(config)
        .store(Arc::new(PostgresStore::connect(&db.url).await.unwrap()))
        .build()
        .await
        .unwrap();
    assert_eq!(jwks(&restarted).await, rotated);

    a.pool().close().await;
    b.pool().close().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_redemptions_over_two_instances_have_one_winner() {
    let Some(db) = ScratchDb::create("multi_redeem").await else {
        return;
    };
    let a = PostgresStore::connect(&db.url).await.unwrap();
    let b = PostgresStore::connect(&db.url).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let grant = seed::grant("client", "alice", &["openid"], now);
    let code = CodeRecord {
        signature: "code-signature".into(),
        grant: grant.clone(),
        redirect_uri: None,
        effective_redirect_uri: "https://client.example/cb".into(),
        code_challenge: None,
        nonce: None,
        issued_at: now,
        expires_at: now + time::Duration::minutes(10),
        used: false,
    };
    a.insert_code(code).await.unwrap();

    const CALLERS: usize = 32;
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..CALLERS {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let access = TokenRecord {
            signature: format!("access-{i}"),
            kind: TokenKind::AccessToken,
            grant: grant.clone(),
            issued_at: now,
            expires_at: Some(now + time::Duration::hours(1)),
            status: TokenStatus::Active,
        };
        racers.spawn(async move {
            let tokens = IssuedTokens {
                access,
                refresh: None,
            };
            (i, store.redeem_code("code-signature", tokens).await)
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = racers.join_next().await {
        match joined.unwrap() {
            (i, Ok(())) => winners.push(i),
            (_, Err(StoreError::AlreadyUsed)) => {}
            (_, Err(other)) => panic!("a racing redemption failed with {other:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {CALLERS} redemptions over two instances wins"
    );
    for i in 0..CALLERS {
        let found = b.access_token(&format!("access-{i}")).await;
        assert_eq!(
            found.is_ok(),
            winners.contains(&i),
            "only the winner's token exists"
        );
    }

    a.pool().close().await;
    b.pool().close().await;
    db.drop_now().await;
}

/// Two providers on one fresh database with the same configuration (and so the same
/// cookie key), and the confidential client `app` (secret `secret`).
async fn two_providers(db: &ScratchDb) -> (Provider, Provider) {
    let config = flow::config();
    let mut providers = Vec::new();
    for _ in 0..2 {
        let store = PostgresStore::connect(&db.url).await.unwrap();
        let provider = Provider::builder(config.clone())
            .store(Arc::new(store))
            .build()
            .await
            .unwrap();
        providers.push(provider);
    }
    let record = ClientRecord {
        client: flow_client("app"),
        secret_hash: Some(SecretHash::of_generated(flow::APP_SECRET)),
        registration_token: None,
    };
    providers[0].store().create_client(record).await.unwrap();
    let b = providers.pop().unwrap();
    (providers.pop().unwrap(), b)
}

/// The browser moves to another instance (behind a load balancer) with its cookies.
fn move_browser(from: &UserAgent, to: &Provider) -> UserAgent {
    let mut moved = UserAgent::new(to);
    for name in from.cookie_names() {
        moved.set_cookie(&name, from.cookie(&name).unwrap());
    }
    moved
}

async fn active(provider: &Provider, token: &str) -> bool {
    provider.introspect(token, None).await.unwrap().active
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_hops_between_instances_and_reuse_on_one_revokes_the_family_of_the_other() {
    let Some(db) = ScratchDb::create("multi_flow").await else {
        return;
    };
    let (a, b) = two_providers(&db).await;

    // Authorize on A, login accepted on B, the browser returns through B.
    let mut browser = UserAgent::new(&a);
    let res = browser.authorize(&code_query(&[])).await;
    let login_challenge = redirect_param(&res, "login_challenge").expect("login page");
    let login = b
        .accept_login(&login_challenge, remembered_login("alice"))
        .await
        .unwrap();
    let mut browser = move_browser(&browser, &b);
    let res = browser.get(&login.redirect_to).await;
    let consent_challenge = redirect_param(&res, "consent_challenge").expect("consent page");

    // Consent accepted on A, the browser returns through A and gets the code.
    let consent = a
        .accept_consent(&consent_challenge, consent_to(&["openid", "offline"]))
        .await
        .unwrap();
    let mut browser = move_browser(&browser, &a);
    let res = browser.get(&consent.redirect_to).await;
    let code = redirect_param(&res, "code").expect("code at the client");

    // Code exchanged on A; B sees the tokens.
    let (status, issued) = app_token(
        &a,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let access = issued["access_token"].as_str().unwrap();
    let refresh = issued["refresh_token"].as_str().unwrap();
    assert!(
        active(&b, access).await,
        "B introspects A's token as active"
    );
    let (status, replay) = app_token(
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{replay}");
    assert!(
        !active(&a, access).await,
        "a replayed code on B revokes A's tokens"
    );

    // A second round: the login remembered on B skips the login page on A.
    let mut browser = move_browser(&browser, &a);
    let res = browser.authorize(&code_query(&[])).await;
    let challenge = redirect_param(&res, "login_challenge").expect("login page");
    assert!(
        a.login_request(&challenge).await.unwrap().skip,
        "remembered session skips"
    );
    let code = browser
        .code(
            &code_query(&[]),
            remembered_login("alice"),
            consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    let (_, issued) = app_token(
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    let refresh = issued["refresh_token"]
        .as_str()
        .unwrap_or(refresh)
        .to_owned();

    // Refresh on A; the old refresh token presented again on B is reuse: the family dies.
    let (status, rotated) = app_token(
        &a,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_access = rotated["access_token"].as_str().unwrap();
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    assert!(active(&b, new_access).await);
    let (status, reuse) = app_token(
        &b,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reuse}");
    assert_eq!(reuse["error"], "invalid_grant");
    assert!(
        !active(&a, new_access).await,
        "reuse on B revokes the access token issued on A"
    );
    assert!(
        !active(&a, new_refresh).await,
        "reuse on B revokes the refresh token issued on A"
    );
    let (status, _) = app_token(
        &a,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", new_refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_kit_passes_across_two_instances() {
    let Some(db) = ScratchDb::create("multi_kit").await else {
        return;
    };
    // The kit expects every write to be visible to the next call at once, which across
    // instances holds only without the client cache (its bound is tested below).
    let uncached = async || {
        PostgresStore::connect(&db.url)
            .await
            .unwrap()
            .with_client_cache_ttl(Duration::ZERO)
    };
    let spread = Spread {
        instances: [uncached().await, uncached().await],
        next: AtomicUsize::new(0),
    };
    conformance::run_all(&spread).await;
    for store in &spread.instances {
        store.pool().close().await;
    }
    db.drop_now().await;
}

/// RL-6: a client changed or deleted through instance A is enforced at once by A and within
/// its client-cache TTL by instance B, which had it cached.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_changed_on_one_instance_reaches_the_other_within_the_cache_ttl() {
    let Some(db) = ScratchDb::create("multi_client_cache").await else {
        return;
    };
    let ttl = Duration::from_millis(300);
    let a = PostgresStore::connect(&db.url).await.unwrap();
    let b = PostgresStore::connect(&db.url)
        .await
        .unwrap()
        .with_client_cache_ttl(ttl);
    let mut record = ClientRecord {
        client: flow_client("cached"),
        secret_hash: None,
        registration_token: None,
    };
    a.create_client(record.clone()).await.unwrap();
    let uris = async |store: &PostgresStore| {
        store
            .client("cached")
            .await
            .map(|r| r.client.redirect_uris.clone())
    };
    let old_uris = uris(&b).await.unwrap(); // now cached on B

    record.client.redirect_uris = vec!["https://moved.example/cb".to_owned()];
    let new_uris = record.client.redirect_uris.clone();
    assert_ne!(old_uris, new_uris);
    a.update_client(record).await.unwrap();
    assert_eq!(
        uris(&a).await.unwrap(),
        new_uris,
        "the writer sees its write at once"
    );
    let changed = std::time::Instant::now();
    while uris(&b).await.unwrap() != new_uris {
        assert!(
            changed.elapsed() < ttl * 3,
            "B served the old client past its TTL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    uris(&a).await.unwrap(); // cached on A as well
    b.delete_client("cached").await.unwrap();
    assert!(matches!(uris(&b).await, Err(StoreError::NotFound)));
    // A keeps the default TTL.
    let deleted = std::time::Instant::now();
    while uris(&a).await.is_ok() {
        assert!(
            deleted.elapsed() < oauth2_provider::store::sql::DEFAULT_CLIENT_CACHE_TTL * 3,
            "A served a deleted client past its TTL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.pool().close().await;
    b.pool().close().await;
    db.drop_now().await;
}

/// A store that sends each call to the next of two instances in turn, so consecutive and
/// racing calls of one case reach the database through different pools.
#[derive(Debug)]
struct Spread {
    instances: [PostgresStore; 2],
    next: AtomicUsize,
}

impl Spread {
    fn pick(&self) -> &PostgresStore {
        &self.instances[self.next.fetch_add(1, Ordering::Relaxed) % 2]
    }
}

type Result<T> = std::result::Result<T, StoreError>;

#[async_trait::async_trait]
impl ClientStore for Spread {
    async fn create_client(&self, record: ClientRecord) -> Result<()> {
        self.pick().create_client(record).await
    }
    async fn client(&self, client_id: &str) -> Result<Arc<ClientRecord>> {
        self.pick().client(client_id).await
    }
    async fn update_client(&self, record: ClientRecord) -> Result<()> {
        self.pick().update_client(record).await
    }
    async fn delete_client(&self, client_id: &str) -> Result<()> {
        self.pick().delete_client(client_id).await
    }
    async fn list_clients(&self, limit: usize, offset: usize) -> Result<Vec<ClientRecord>> {
        self.pick().list_clients(limit, offset).await
    }
    async fn origin_allowed(&self, origin: &str) -> Result<bool> {
        self.pick().origin_allowed(origin).await
    }
}

#[async_trait::async_trait]
impl KeyStore for Spread {
    async fn keys(&self) -> Result<Vec<KeyRecord>> {
        self.pick().keys().await
    }
    async fn change_keys(&self, change: KeyChange) -> Result<Vec<KeyRecord>> {
        self.pick().change_keys(change).await
    }
}

#[async_trait::async_trait]
impl FlowStore for Spread {
    async fn create_login_request(&self, request: LoginRequestRecord) -> Result<()> {
        self.pick().create_login_request(request).await
    }
    async fn login_request(&self, challenge: &str) -> Result<LoginRequestRecord> {
        self.pick().login_request(challenge).await
    }
    async fn handle_login_request(
        &self,
        challenge: &str,
        handled: HandledLogin,
    ) -> Result<LoginRequestRecord> {
        self.pick().handle_login_request(challenge, handled).await
    }
    async fn consume_login_verifier(&self, verifier_digest: &str) -> Result<LoginRequestRecord> {
        self.pick().consume_login_verifier(verifier_digest).await
    }
    async fn create_consent_request(&self, request: ConsentRequestRecord) -> Result<()> {
        self.pick().create_consent_request(request).await
    }
    async fn consent_request(&self, challenge: &str) -> Result<ConsentRequestRecord> {
        self.pick().consent_request(challenge).await
    }
    async fn handle_consent_request(
        &self,
        challenge: &str,
        handled: HandledConsent,
    ) -> Result<ConsentRequestRecord> {
        self.pick().handle_consent_request(challenge, handled).await
    }
    async fn consume_consent_verifier(
        &self,
        verifier_digest: &str,
    ) -> Result<ConsentRequestRecord> {
        self.pick().consume_consent_verifier(verifier_digest).await
    }
    async fn create_logout_request(&self, request: LogoutRequestRecord) -> Result<()> {
        self.pick().create_logout_request(request).await
    }
    async fn logout_request(&self, challenge: &str) -> Result<LogoutRequestRecord> {
        self.pick().logout_request(challenge).await
    }
    async fn handle_logout_request(
        &self,
        challenge: &str,
        handled: HandledLogout,
    ) -> Result<LogoutRequestRecord> {
        self.pick().handle_logout_request(challenge, handled).await
    }
    async fn consume_logout_verifier(&self, verifier_digest: &str) -> Result<LogoutRequestRecord> {
        self.pick().consume_logout_verifier(verifier_digest).await
    }
    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Vec<ConsentRequestRecord>> {
        self.pick().remembered_consents(subject, client_id).await
    }
    async fn consent_sessions(
        &self,
        subject: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConsentRequestRecord>> {
        self.pick().consent_sessions(subject, limit, offset).await
    }
    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64> {
        self.pick().revoke_consents(subject, client_id).await
    }
    async fn flush_requests(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
        self.pick().flush_requests(before, limit).await
    }
}

#[async_trait::async_trait]
impl SessionStore for Spread {
    async fn create_login_session(&self, session: LoginSessionRecord) -> Result<()> {
        self.pick().create_login_session(session).await
    }
    async fn login_session(&self, id: &str) -> Result<LoginSessionRecord> {
        self.pick().login_session(id).await
    }
    async fn delete_login_session(&self, id: &str) -> Result<()> {
        self.pick().delete_login_session(id).await
    }
    async fn delete_login_sessions_of(&self, subject: &str) -> Result<u64> {
        self.pick().delete_login_sessions_of(subject).await
    }
    async fn flush_login_sessions(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
        self.pick().flush_login_sessions(before, limit).await
    }
    async fn set_forced_subject(&self, client_id: &str, subject: &str, forced: &str) -> Result<()> {
        self.pick()
            .set_forced_subject(client_id, subject, forced)
            .await
    }
    async fn forced_subject(&self, client_id: &str, subject: &str) -> Result<Option<String>> {
        self.pick().forced_subject(client_id, subject).await
    }
}

#[async_trait::async_trait]
impl LogoutStore for Spread {
    async fn add_session_grant(
        &self,
        session_id: &str,
        client_id: &str,
        grant_id: &str,
    ) -> Result<()> {
        self.pick()
            .add_session_grant(session_id, client_id, grant_id)
            .await
    }
    async fn end_login_sessions(
        &self,
        which: SessionsToEnd<'_>,
        now: OffsetDateTime,
        tokens: TokensAtLogout,
    ) -> Result<Vec<EndedSession>> {
        self.pick().end_login_sessions(which, now, tokens).await
    }
    async fn claim_logout_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<LogoutDelivery>> {
        self.pick()
            .claim_logout_deliveries(now, lease_until, limit)
            .await
    }
    async fn delete_logout_delivery(&self, session_id: &str, client_id: &str) -> Result<()> {
        self.pick()
            .delete_logout_delivery(session_id, client_id)
            .await
    }
    async fn update_logout_delivery(&self, delivery: LogoutDelivery) -> Result<()> {
        self.pick().update_logout_delivery(delivery).await
    }
    async fn logout_deliveries(&self, limit: usize, offset: usize) -> Result<Vec<LogoutDelivery>> {
        self.pick().logout_deliveries(limit, offset).await
    }
}

#[async_trait::async_trait]
impl TokenStore for Spread {
    async fn insert_code(&self, code: CodeRecord) -> Result<()> {
        self.pick().insert_code(code).await
    }
    async fn code(&self, signature: &str) -> Result<CodeRecord> {
        self.pick().code(signature).await
    }
    async fn redeem_code(&self, signature: &str, tokens: IssuedTokens) -> Result<()> {
        self.pick().redeem_code(signature, tokens).await
    }
    async fn insert_tokens(&self, tokens: IssuedTokens) -> Result<()> {
        self.pick().insert_tokens(tokens).await
    }
    async fn access_token(&self, signature: &str) -> Result<TokenRecord> {
        self.pick().access_token(signature).await
    }
    async fn refresh_token(&self, signature: &str) -> Result<TokenRecord> {
        self.pick().refresh_token(signature).await
    }
    async fn rotate_refresh_token(&self, signature: &str, tokens: IssuedTokens) -> Result<()> {
        self.pick().rotate_refresh_token(signature, tokens).await
    }
    async fn revoke_grant(&self, grant_id: &str) -> Result<u64> {
        self.pick().revoke_grant(grant_id).await
    }
    async fn revoke_client_tokens(&self, client_id: &str) -> Result<u64> {
        self.pick().revoke_client_tokens(client_id).await
    }
    async fn flush_tokens(&self, not_after: OffsetDateTime, limit: usize) -> Result<u64> {
        self.pick().flush_tokens(not_after, limit).await
    }
}
