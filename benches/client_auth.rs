//! Benchmarks for client authentication with a generated secret (target: < 2 µs), and for the
//! discovery and JWKS documents through the public handler.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Method, Request};
use oauth2_provider::{Client, Config, MemoryStore, Provider};

/// Runs a future that never waits (the memory store and the handlers here complete on the
/// first poll), so the numbers carry no executor overhead.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked future waited"),
    }
}

fn token_request(authorization: Option<String>, body: String) -> Request<Bytes> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Bytes::from(body)).unwrap()
}

/// A client shaped like a real registration, so the store clones a realistic record.
fn realistic_client(id: &str, method: &str) -> Client {
    Client {
        client_id: id.into(),
        client_name: "Example Web Application".into(),
        redirect_uris: vec![
            "https://app.example.com/oauth2/callback".into(),
            "https://app.example.com/silent-renew".into(),
        ],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        response_types: vec!["code".into()],
        scope: "openid offline profile email photos.*".into(),
        owner: "team-web".into(),
        client_uri: "https://app.example.com".into(),
        logo_uri: "https://app.example.com/logo.png".into(),
        contacts: vec!["ops@example.com".into()],
        token_endpoint_auth_method: method.into(),
        allowed_cors_origins: vec!["https://app.example.com".into()],
        ..Client::default()
    }
}

fn bench_client_auth(c: &mut Criterion) {
    let provider = run(
        Provider::builder(Config::new("https://auth.example.com/").unwrap())
            .store(Arc::new(MemoryStore::new()))
            .build(),
    )
    .unwrap();
    // Other clients in the store, so the lookup is not in a one-entry map.
    for i in 0..1000 {
        run(provider.create_client(realistic_client(
            &format!("filler-{i}"),
            "client_secret_basic",
        )))
        .unwrap();
    }
    let basic = run(provider.create_client(realistic_client("bench-basic", "client_secret_basic")))
        .unwrap();
    let post =
        run(provider.create_client(realistic_client("bench-post", "client_secret_post"))).unwrap();
    let minimal = run(provider.create_client(Client {
        client_id: "bench-minimal".into(),
        ..Client::default()
    }))
    .unwrap();
    let minimal_req = token_request(
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("bench-minimal:{}", minimal.client_secret.unwrap()))
        )),
        "grant_type=client_credentials".into(),
    );
    let basic_secret = basic.client_secret.unwrap();
    let post_secret = post.client_secret.unwrap();

    let basic_req = token_request(
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("bench-basic:{basic_secret}"))
        )),
        "grant_type=client_credentials&scope=openid".into(),
    );
    let post_req = token_request(
        None,
        format!(
            "grant_type=client_credentials&scope=openid&client_id=bench-post&client_secret={post_secret}"
        ),
    );
    assert!(run(provider.authenticate_client(&basic_req)).is_ok());
    assert!(run(provider.authenticate_client(&post_req)).is_ok());

    let mut group = c.benchmark_group("client_auth");
    group.bench_function("basic_generated_secret", |b| {
        b.iter(|| run(provider.authenticate_client(black_box(&basic_req))).unwrap())
    });
    group.bench_function("basic_generated_secret_minimal_client", |b| {
        b.iter(|| run(provider.authenticate_client(black_box(&minimal_req))).unwrap())
    });
    group.bench_function("post_generated_secret", |b| {
        b.iter(|| run(provider.authenticate_client(black_box(&post_req))).unwrap())
    });
    // The parts: the store lookup (the shared record) and the secret check alone.
    group.bench_function("store_lookup", |b| {
        b.iter(|| run(provider.store().client(black_box("bench-basic"))).unwrap())
    });
    let record = run(provider.store().client("bench-basic")).unwrap();
    let hash = record.secret_hash.as_ref().unwrap();
    group.bench_function("verify_generated_secret", |b| {
        b.iter(|| hash.verify(black_box(&basic_secret)))
    });
    group.finish();

    let mut group = c.benchmark_group("public_documents");
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ] {
        let req = Request::builder().uri(path).body(Bytes::new()).unwrap();
        group.bench_function(path, |b| {
            b.iter_batched(
                || req.clone(),
                |req| run(provider.public().handle(req)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_client_auth);
criterion_main!(benches);
