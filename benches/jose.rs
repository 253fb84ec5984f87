//! Benchmarks for JWS signing and verification on the token hot path.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use oauth2_provider::Algorithm;
use oauth2_provider::internals::{SigningKey, VerifyingKeys};
use serde_json::json;

/// Claims shaped like a typical OIDC ID token (~600 bytes of JSON).
fn id_token_claims() -> serde_json::Value {
    json!({
        "iss": "https://auth.example.com/",
        "sub": "248289761001-c7f3b5e2-9a1d-4f0e-8b6a-2d4c9e1f0a7b",
        "aud": ["my-client-application-id"],
        "exp": 1_735_693_200u64,
        "iat": 1_735_689_600u64,
        "auth_time": 1_735_689_500u64,
        "nonce": "n-0S6_WzA2Mj-7fG2kQx9sLpV",
        "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
        "c_hash": "LDktKdoQak3Pk0cnXxCltA",
        "acr": "urn:mace:incommon:iap:silver",
        "amr": ["pwd", "mfa"],
        "azp": "my-client-application-id",
        "sid": "08a5019c-17e1-4977-8f42-65a12843ea02",
        "jti": "f2b1c0d9-5e6a-4b7c-8d9e-0a1b2c3d4e5f",
        "rat": 1_735_689_590u64,
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "email_verified": true,
    })
}

fn bench_jose(c: &mut Criterion) {
    let claims = id_token_claims();
    // RS256 and PS256 run with `--features rsa` (RSA-2048, the default size).
    for alg in Algorithm::ALL.into_iter().filter(|alg| alg.is_compiled()) {
        let key = SigningKey::generate(alg, "bench-key-2025-01".to_owned()).unwrap();
        let keys = VerifyingKeys::from_signing_keys(std::slice::from_ref(&key));
        let token = key.sign_jwt("JWT", &claims).unwrap_or_default();
        assert!(keys.verify_jwt(&token).is_ok());

        c.bench_function(&format!("sign_id_token/{alg}"), |b| {
            b.iter(|| key.sign_jwt(black_box("JWT"), black_box(&claims)))
        });
        c.bench_function(&format!("verify_id_token/{alg}"), |b| {
            b.iter(|| keys.verify_jwt(black_box(&token)))
        });
    }
}

/// Baseline: the bare p256 signature over a same-sized signing input, so the
/// JOSE overhead (serialization, base64, allocation) can be read off directly.
fn bench_baseline(c: &mut Criterion) {
    use p256::ecdsa::signature::Signer as _;
    use p256::elliptic_curve::Generate as _;

    let raw = p256::ecdsa::SigningKey::generate_from_rng(&mut rand::rand_core::UnwrapErr(
        rand::rngs::SysRng,
    ));
    let key = SigningKey::generate(Algorithm::ES256, "bench-key-2025-01".to_owned()).unwrap();
    let token = key.sign_jwt("JWT", &id_token_claims()).unwrap_or_default();
    let input = token.rsplit_once('.').map(|(i, _)| i).unwrap_or_default();
    c.bench_function("baseline/p256_sign_raw", |b| {
        b.iter(|| -> p256::ecdsa::Signature { raw.sign(black_box(input.as_bytes())) })
    });
}

criterion_group!(benches, bench_jose, bench_baseline);
criterion_main!(benches);
