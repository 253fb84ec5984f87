//! Discovery and JWKS: Hydra beta.8's document (corrected), public keys only, rotation and
//! keys persisted through the store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::*;
use http::{Method, StatusCode};
use oauth2_provider::Algorithm;
use oauth2_provider::model::secret::Secret;
use oauth2_provider::{Config, MemoryStore, Provider};
use serde_json::{Value, json};

async fn get_json(p: &Provider, path: &str) -> Value {
    let res = p.public().handle(empty_request(Method::GET, path)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    body_json(&res)
}

async fn discovery(p: &Provider) -> Value {
    get_json(p, "/.well-known/openid-configuration").await
}

async fn jwks(p: &Provider) -> Vec<Value> {
    get_json(p, "/.well-known/jwks.json").await["keys"]
        .as_array()
        .unwrap()
        .clone()
}

fn kids(keys: &[Value]) -> Vec<String> {
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn discovery_has_every_field_hydra_returns() {
    let (p, _) = provider().await;
    let doc = discovery(&p).await;
    let base = "https://auth.example.com";
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "subject_types_supported",
        "response_types_supported",
        "claims_supported",
        "scopes_supported",
        "userinfo_endpoint",
        "token_endpoint_auth_methods_supported",
        "id_token_signing_alg_values_supported",
        "grant_types_supported",
        "response_modes_supported",
        "userinfo_signing_alg_values_supported",
        "request_parameter_supported",
        "request_uri_parameter_supported",
        "require_request_uri_registration",
        "claims_parameter_supported",
    ] {
        assert!(doc.get(field).is_some(), "missing {field}");
    }
    assert_eq!(doc["authorization_endpoint"], format!("{base}/oauth2/auth"));
    assert_eq!(doc["token_endpoint"], format!("{base}/oauth2/token"));
    assert_eq!(doc["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    // Hydra beta.8 advertised `{issuer}clients`, which is the admin API: on the public host
    // it is a 404. No registration endpoint is advertised until public registration exists.
    assert!(doc.get("registration_endpoint").is_none());
    assert_eq!(doc["userinfo_endpoint"], format!("{base}/userinfo"));
    assert_eq!(doc["revocation_endpoint"], format!("{base}/oauth2/revoke"));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["userinfo_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "none"])
    );
    assert_eq!(doc["claims_parameter_supported"], false);
    assert_eq!(doc["claims_supported"][0], "sub");
    for mode in ["query", "fragment", "form_post"] {
        assert!(
            doc["response_modes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(mode)),
            "{mode}"
        );
    }
    for scope in ["openid", "offline"] {
        assert!(
            doc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(scope))
        );
    }
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        assert!(methods.contains(&json!(method)), "{method}");
    }
    assert!(
        !methods.contains(&json!("private_key_jwt")),
        "only what the client registration accepts"
    );
    let response_types = doc["response_types_supported"].as_array().unwrap();
    for rt in [
        "code",
        "code id_token",
        "id_token",
        "token id_token",
        "token",
        "token id_token code",
    ] {
        assert!(response_types.contains(&json!(rt)), "{rt}");
    }
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "implicit",
            "client_credentials",
            "refresh_token"
        ])
    );
}

#[tokio::test]
async fn issuer_is_byte_identical_with_or_without_trailing_slash() {
    for issuer in [
        "https://auth.example.com/",
        "https://auth.example.com",
        "https://auth.example.com/tenant-a/",
        "http://127.0.0.1:4444",
    ] {
        let (p, _) = provider_with(Config::new(issuer).unwrap()).await;
        let doc = discovery(&p).await;
        assert_eq!(doc["issuer"], issuer);
        let base = issuer.trim_end_matches('/');
        assert_eq!(doc["token_endpoint"], format!("{base}/oauth2/token"));
        assert!(
            !doc["jwks_uri"].as_str().unwrap().contains("//.well-known"),
            "no double slash"
        );
    }
}

#[tokio::test]
async fn pairwise_is_advertised_only_with_a_salt() {
    let mut config = Config::new(ISSUER).unwrap();
    config.pairwise_salt = Some(Secret::new(b"salt-of-decent-length".to_vec()));
    let (p, _) = provider_with(config).await;
    assert_eq!(
        discovery(&p).await["subject_types_supported"],
        json!(["public", "pairwise"])
    );
}

#[tokio::test]
async fn jwks_publishes_public_parts_of_the_es256_and_eddsa_keys_active_and_next() {
    let (p, _) = provider().await;
    let keys = jwks(&p).await;
    assert_eq!(keys.len(), 4, "an active and a next key per algorithm");
    let algs: HashSet<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, HashSet::from(["ES256", "EdDSA"]));
    let unique: HashSet<String> = kids(&keys).into_iter().collect();
    assert_eq!(unique.len(), keys.len(), "kids are unique");
    for key in &keys {
        assert_eq!(key["use"], "sig");
        assert!(!key["kid"].as_str().unwrap().is_empty());
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} leaked: {key}");
        }
        match key["alg"].as_str().unwrap() {
            "ES256" => {
                assert_eq!(key["kty"], "EC");
                assert_eq!(key["crv"], "P-256");
                assert!(key["x"].is_string() && key["y"].is_string());
            }
            _ => {
                assert_eq!(key["kty"], "OKP");
                assert_eq!(key["crv"], "Ed25519");
                assert!(key["x"].is_string() && key.get("y").is_none());
            }
        }
    }
}

#[tokio::test]
async fn rotation_publishes_a_new_next_key_and_keeps_old_ones_published() {
    let (p, _) = provider().await;
    let before = kids(&jwks(&p).await);
    let kid = p.rotate_keys(Algorithm::ES256).await.unwrap();
    assert!(
        before.contains(&kid),
        "the promoted key was published before it signs"
    );
    let after = jwks(&p).await;
    assert_eq!(after.len(), 5);
    let after_kids = kids(&after);
    for old in &before {
        assert!(
            after_kids.contains(old),
            "old key {old} must stay published"
        );
    }
    assert_eq!(after_kids[0], kid, "the active keys are listed first");
    assert_eq!(
        after_kids.iter().collect::<HashSet<_>>().len(),
        5,
        "kids stay unique"
    );
    p.rotate_keys(Algorithm::EdDSA).await.unwrap();
    assert_eq!(jwks(&p).await.len(), 6);
    // The lifecycle itself is tested in tests/signing_keys.rs.
}

#[tokio::test]
async fn a_second_provider_on_the_same_store_publishes_the_same_keys() {
    let store = Arc::new(MemoryStore::new());
    // Instances sharing a store share the system secret: it seals the stored keys.
    let config = Config::new(ISSUER).unwrap();
    let build = || provider_on(config.clone(), store.clone());
    let (first, _) = build().await;
    let (second, _) = build().await;
    let first_jwks = first
        .public()
        .handle(empty_request(Method::GET, "/.well-known/jwks.json"))
        .await;
    let second_jwks = second
        .public()
        .handle(empty_request(Method::GET, "/.well-known/jwks.json"))
        .await;
    assert_eq!(first_jwks.body(), second_jwks.body(), "byte-identical");
    assert_eq!(jwks(&first).await.len(), 4, "not regenerated");

    // A rotation by one instance reaches the other on reload, and a third one at start.
    first.rotate_keys(Algorithm::EdDSA).await.unwrap();
    assert_eq!(jwks(&second).await.len(), 4);
    second.reload_keys().await.unwrap();
    assert_eq!(jwks(&second).await, jwks(&first).await);
    let (third, _) = build().await;
    assert_eq!(jwks(&third).await, jwks(&first).await);
}

#[tokio::test]
async fn discovery_and_jwks_are_get_only() {
    let (p, _) = provider().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ] {
        let res = p.public().handle(empty_request(Method::POST, path)).await;
        assert_error(&res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        let res = p.admin().handle(empty_request(Method::GET, path)).await;
        assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    }
}
