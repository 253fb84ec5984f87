//! Benchmarks of the token endpoint, in-process through `public().handle()`: the code
//! exchange with an ES256 and an EdDSA ID token, refresh, and client credentials.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use oauth2_provider::Algorithm;
use oauth2_provider::model::client::{Client, ClientRecord, SecretHash};
use oauth2_provider::store::{CodeRecord, GrantData, JsonObject};
use oauth2_provider::testing::fixtures;
use oauth2_provider::{Clock, Config, ManualClock, MemoryStore, Provider};
use time::Duration;

const SECRET: &str = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const REDIRECT: &str = "https://client.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

struct Bench {
    rt: tokio::runtime::Runtime,
    provider: Provider,
    clock: Arc<ManualClock>,
}

impl Bench {
    fn new() -> Self {
        let rt = runtime();
        let clock = Arc::new(ManualClock::starting_now());
        let mut config = Config::new("https://auth.example.com/").unwrap();
        // Every algorithm this build has (RS256 and PS256 with `--features rsa`).
        config.keys.algorithms = Algorithm::ALL
            .into_iter()
            .filter(|alg| alg.is_compiled())
            .collect();
        let provider = rt
            .block_on(
                Provider::builder(config)
                    .store(Arc::new(MemoryStore::new()))
                    .clock(clock.clone())
                    .build(),
            )
            .unwrap();
        Self {
            rt,
            provider,
            clock,
        }
    }

    fn client(&self, id: &str, grant_types: &[&str], alg: Algorithm) {
        let client = Client {
            client_id: id.into(),
            redirect_uris: vec![REDIRECT.into()],
            grant_types: grant_types.iter().map(|g| (*g).into()).collect(),
            scope: "openid offline profile email".into(),
            id_token_signed_response_alg: Some(alg),
            ..Client::default()
        };
        let record = ClientRecord {
            client,
            secret_hash: Some(SecretHash::of_generated(SECRET)),
            registration_token: None,
        };
        self.rt
            .block_on(self.provider.store().create_client(record))
            .unwrap();
    }

    /// Inserts a fresh code like the authorization endpoint would, returning it.
    fn code(&self, client_id: &str) -> String {
        let code = fixtures::mint_code();
        let now = self.clock.now();
        let mut extra = JsonObject::new();
        extra.insert("email".into(), "jane.doe@example.com".into());
        extra.insert("name".into(), "Jane Doe".into());
        let scope = ["openid", "offline", "profile"];
        let grant = GrantData {
            id_token_extra: extra,
            acr: "urn:acr:silver".into(),
            session_id: Some("08a5019c-17e1-4977-8f42-65a12843ea02".into()),
            ..fixtures::grant(client_id, "jane", &scope, now - Duration::minutes(1))
        };
        let record = CodeRecord {
            signature: fixtures::signature(&code),
            grant,
            redirect_uri: Some(REDIRECT.into()),
            effective_redirect_uri: REDIRECT.into(),
            code_challenge: Some(CHALLENGE.into()),
            nonce: Some("n-0S6_WzA2Mj".into()),
            issued_at: now,
            expires_at: now + Duration::minutes(10),
            used: false,
        };
        self.rt
            .block_on(self.provider.store().insert_code(record))
            .unwrap();
        code
    }

    fn send(&self, req: http::Request<Bytes>) -> http::Response<Bytes> {
        self.rt.block_on(self.provider.public().handle(req))
    }
}

fn token_request(client_id: &str, pairs: &[(&str, &str)]) -> http::Request<Bytes> {
    http::Request::builder()
        .method("POST")
        .uri("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{client_id}:{SECRET}"))),
        )
        .body(Bytes::from(serde_urlencoded::to_string(pairs).unwrap()))
        .unwrap()
}

fn exchange_request(client_id: &str, code: &str) -> http::Request<Bytes> {
    token_request(
        client_id,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
}

fn refresh_token_of(res: &http::Response<Bytes>) -> String {
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    body["refresh_token"].as_str().unwrap().to_owned()
}

fn bench_token(c: &mut Criterion) {
    let b = Bench::new();
    for alg in Algorithm::ALL.into_iter().filter(|alg| alg.is_compiled()) {
        let id = alg.as_str();
        b.client(id, &["authorization_code", "refresh_token"], alg);
        // Sanity: the exchange succeeds before it is measured.
        refresh_token_of(&b.send(exchange_request(id, &b.code(id))));

        c.bench_function(&format!("token/code_exchange/{alg}"), |bench| {
            bench.iter_batched(
                || exchange_request(id, &b.code(id)),
                |req| black_box(b.send(req)),
                BatchSize::SmallInput,
            )
        });
        c.bench_function(&format!("token/refresh/{alg}"), |bench| {
            bench.iter_batched(
                || {
                    let rt = refresh_token_of(&b.send(exchange_request(id, &b.code(id))));
                    token_request(
                        id,
                        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
                    )
                },
                |req| black_box(b.send(req)),
                BatchSize::SmallInput,
            )
        });
    }

    b.client("machine", &["client_credentials"], Algorithm::ES256);
    c.bench_function("token/client_credentials", |bench| {
        bench.iter(|| {
            let req = token_request(
                "machine",
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "profile email"),
                ],
            );
            black_box(b.send(req))
        })
    });
}

criterion_group!(benches, bench_token);
criterion_main!(benches);
