//! Benchmarks of the whole authorization-code flow in-process (issue 3's targets): authorize
//! → accept login → accept consent → code exchange with an ES256 and an EdDSA ID token; the
//! code exchange alone; and refresh — every code and refresh token produced by a real flow
//! through the harness, not inserted into the store.
//!
//! Targets (one core): code exchange ≤ 166 µs with ES256, ≤ 66 µs with EdDSA; full flow
//! ≤ 250 µs with ES256.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use oauth2_provider::Algorithm;
use oauth2_provider::model::client::Client;
use oauth2_provider::testing::Harness;
use oauth2_provider::{AcceptConsentRequest, AcceptLoginRequest, Config};

const SECRET: &str = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const REDIRECT: &str = "https://client.example.com/cb";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Bench {
    rt: tokio::runtime::Runtime,
    harness: Harness,
}

impl Bench {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let harness = rt
            .block_on(Harness::new(
                Config::new("https://auth.example.com/").unwrap(),
            ))
            .unwrap();
        Self { rt, harness }
    }

    fn client(&self, id: &str, alg: Algorithm) {
        let client = Client {
            client_id: id.into(),
            redirect_uris: vec![REDIRECT.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            scope: "openid offline profile".into(),
            id_token_signed_response_alg: Some(alg),
            ..Client::default()
        };
        self.rt
            .block_on(self.harness.register(client, Some(SECRET)))
            .unwrap();
    }

    /// authorize → login → consent in a fresh browser (nothing remembered), returning the code.
    async fn code(&self, client_id: &str) -> String {
        let query = format!(
            "client_id={client_id}&response_type=code&scope=openid%20offline\
             &redirect_uri={}&state=state-0123456789&nonce=nonce-0123456789\
             &code_challenge={CHALLENGE}&code_challenge_method=S256",
            urlencode(REDIRECT)
        );
        let login = AcceptLoginRequest {
            subject: "jane".into(),
            ..Default::default()
        };
        let consent = AcceptConsentRequest {
            grant_scope: vec!["openid".into(), "offline".into()],
            ..Default::default()
        };
        self.harness
            .user_agent()
            .code(&query, login, consent)
            .await
            .unwrap()
    }

    async fn token(&self, client_id: &str, pairs: &[(&str, &str)]) -> http::Response<Bytes> {
        let req = http::Request::builder()
            .method("POST")
            .uri("/oauth2/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                format!("Basic {}", STANDARD.encode(format!("{client_id}:{SECRET}"))),
            )
            .body(Bytes::from(serde_urlencoded::to_string(pairs).unwrap()))
            .unwrap();
        self.harness.provider.public().handle(req).await
    }

    async fn exchange(&self, client_id: &str, code: &str) -> http::Response<Bytes> {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        self.token(client_id, &pairs).await
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> http::Response<Bytes> {
        let pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.token(client_id, &pairs).await
    }

    /// The whole flow, ending in a successful code exchange.
    async fn full_flow(&self, client_id: &str) -> http::Response<Bytes> {
        let code = self.code(client_id).await;
        self.exchange(client_id, &code).await
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The refresh token of a successful token response (asserting it succeeded with an ID token).
fn refresh_token_of(res: &http::Response<Bytes>) -> String {
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    assert!(body["id_token"].is_string());
    body["refresh_token"].as_str().unwrap().to_owned()
}

fn bench_flow(c: &mut Criterion) {
    let b = Bench::new();
    for (id, alg) in [("es", Algorithm::ES256), ("ed", Algorithm::EdDSA)] {
        b.client(id, alg);
        // Sanity: every measured path succeeds before it is measured.
        let rt = refresh_token_of(&b.rt.block_on(b.full_flow(id)));
        refresh_token_of(&b.rt.block_on(b.refresh(id, &rt)));

        c.bench_function(&format!("flow/full/{alg}"), |bench| {
            bench.iter(|| black_box(b.rt.block_on(b.full_flow(id))))
        });
        c.bench_function(&format!("flow/authorize_login_consent/{alg}"), |bench| {
            bench.iter(|| black_box(b.rt.block_on(b.code(id))))
        });
        c.bench_function(&format!("flow/code_exchange/{alg}"), |bench| {
            bench.iter_batched(
                || b.rt.block_on(b.code(id)),
                |code| black_box(b.rt.block_on(b.exchange(id, &code))),
                BatchSize::SmallInput,
            )
        });
        c.bench_function(&format!("flow/refresh/{alg}"), |bench| {
            bench.iter_batched(
                || refresh_token_of(&b.rt.block_on(b.full_flow(id))),
                |rt| black_box(b.rt.block_on(b.refresh(id, &rt))),
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, bench_flow);
criterion_main!(benches);
