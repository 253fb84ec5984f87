//! Benchmarks of the token lifecycle over the in-process HTTP handlers: introspection of an
//! active and of an unknown token (admin API) and revocation (public API, Basic client
//! authentication with a generated secret), on the memory store.
//!
//! Run: `cargo bench --bench lifecycle -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Method, Request};
use oauth2_provider::model::client::{ClientRecord, SecretHash};
use oauth2_provider::store::{GrantData, IssuedTokens, TokenKind};
use oauth2_provider::testing::fixtures;
use oauth2_provider::{Client, Config, MemoryStore, Provider};
use time::{Duration, OffsetDateTime};

const SECRET: &str = "bench-generated-secret-0123456789abcdefghijklmno";

fn form(uri: &str, body: String) -> Request<Bytes> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap()
}

struct Fixture {
    provider: Provider,
    grant: GrantData,
    basic: String,
}

impl Fixture {
    async fn new() -> Self {
        let provider = Provider::builder(Config::new("https://auth.example.com/").unwrap())
            .store(Arc::new(MemoryStore::new()))
            .build()
            .await
            .unwrap();
        let client = Client {
            client_id: "bench-client".into(),
            scope: "openid offline core".into(),
            ..Client::default()
        };
        provider
            .store()
            .create_client(ClientRecord {
                client,
                secret_hash: Some(SecretHash::of_generated(SECRET)),
                registration_token: None,
            })
            .await
            .unwrap();
        let now = OffsetDateTime::now_utc();
        let grant = fixtures::grant("bench-client", "alice", &["openid", "offline", "core"], now);
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("bench-client:{SECRET}"))
        );
        Self {
            provider,
            grant,
            basic,
        }
    }

    /// Inserts a fresh access + refresh token pair of a new grant; returns the access token.
    async fn issue(&self) -> String {
        let now = OffsetDateTime::now_utc();
        let grant = GrantData {
            grant_id: format!("{:032x}", rand::random::<u128>()),
            ..self.grant.clone()
        };
        let (access, access_record) = fixtures::token_record(
            TokenKind::AccessToken,
            &grant,
            now,
            Some(Duration::hours(1)),
        );
        let (_, refresh_record) =
            fixtures::token_record(TokenKind::RefreshToken, &grant, now, None);
        self.provider
            .store()
            .insert_tokens(IssuedTokens {
                access: access_record,
                refresh: Some(refresh_record),
            })
            .await
            .unwrap();
        access
    }

    fn revoke_request(&self, token: &str) -> Request<Bytes> {
        let mut req = form("/oauth2/revoke", format!("token={token}"));
        req.headers_mut()
            .insert("authorization", self.basic.parse().unwrap());
        req
    }
}

fn bench_lifecycle(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let fixture = rt.block_on(Fixture::new());
    // A realistic table size: 10 000 live grants besides the measured ones.
    for _ in 0..10_000 {
        rt.block_on(fixture.issue());
    }
    let admin = fixture.provider.admin();
    let public = fixture.provider.public();

    let active = rt.block_on(fixture.issue());
    let active_req = form("/oauth2/introspect", format!("token={active}"));
    assert!(
        rt.block_on(admin.handle(active_req.clone()))
            .body()
            .starts_with(b"{\"active\":true")
    );
    c.bench_function("introspect/active", |b| {
        b.iter(|| rt.block_on(admin.handle(black_box(active_req.clone()))))
    });

    let unknown_req = form(
        "/oauth2/introspect",
        "token=op_at_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG".into(),
    );
    c.bench_function("introspect/unknown", |b| {
        b.iter(|| rt.block_on(admin.handle(black_box(unknown_req.clone()))))
    });

    c.bench_function("revoke/own_token", |b| {
        b.iter_batched(
            || fixture.revoke_request(&rt.block_on(fixture.issue())),
            |req| {
                let res = rt.block_on(public.handle(req));
                assert_eq!(res.status(), 200);
            },
            BatchSize::SmallInput,
        )
    });

    let unknown_revoke =
        fixture.revoke_request("op_at_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG");
    c.bench_function("revoke/unknown_token", |b| {
        b.iter(|| rt.block_on(public.handle(black_box(unknown_revoke.clone()))))
    });
}

criterion_group!(benches, bench_lifecycle);
criterion_main!(benches);
