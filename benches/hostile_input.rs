//! What unauthenticated input costs before anything checks who sent it: a 64 KiB token
//! request of 10,000 distinct keys (refused), and a scope of 10,000 tokens (split). Both
//! must stay well under a millisecond — linear work, not a comparison of every pair.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request};
use oauth2_provider::model::scope;
use oauth2_provider::{Config, Provider};

/// `000=v&001=v&…`: `count` distinct three-character keys (base 36), each with a value.
fn distinct_keys(count: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..count)
        .map(|i| {
            let key: String = [i / 1296, i / 36 % 36, i % 36]
                .iter()
                .map(|&d| char::from(DIGITS[d]))
                .collect();
            format!("{key}=v")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn bench_hostile_input(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let provider = rt
        .block_on(Provider::builder(Config::new("https://auth.example.com/").unwrap()).build())
        .unwrap();
    let public = provider.public();
    let body = distinct_keys(10_000);
    assert!(body.len() <= 64 * 1024, "{} bytes", body.len());
    let request = Request::builder()
        .method(Method::POST)
        .uri("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap();
    let refused = rt.block_on(public.handle(request.clone()));
    assert_eq!(refused.status(), http::StatusCode::BAD_REQUEST);
    c.bench_function("hostile/token_form_10000_keys", |b| {
        b.iter(|| rt.block_on(public.handle(black_box(request.clone()))))
    });

    let scope_text = (0..10_000)
        .map(|i| format!("scope{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    c.bench_function("hostile/scope_split_10000", |b| {
        b.iter(|| scope::split(black_box(&scope_text)))
    });
}

criterion_group!(benches, bench_hostile_input);
criterion_main!(benches);
