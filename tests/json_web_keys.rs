//! Hydra's JSON Web Key API on the admin API: the provider's own signing keys through the
//! lifecycle, host-managed sets as sealed storage, private keys kept in unless the host opts
//! in, and every kind of bad input a 4xx.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ISSUER, body_json, empty_request, json_request};
use http::{Method, StatusCode};
use oauth2_provider::{Algorithm, Config, Provider, SIGNING_SET, SigningKey};
use serde_json::{Value, json};

async fn call(
    p: &Provider,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = match body {
        Some(body) => json_request(method, path, &body),
        None => empty_request(method, path),
    };
    let res = p.admin().handle(req).await;
    let status = res.status();
    let json = if res.body().is_empty() {
        Value::Null
    } else {
        body_json(&res)
    };
    (status, json)
}

fn kids(set: &Value) -> Vec<String> {
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn published(p: &Provider) -> Vec<String> {
    let res = p
        .public()
        .handle(empty_request(Method::GET, "/.well-known/jwks.json"))
        .await;
    kids(&body_json(&res))
}

const OWN: &str = "/keys/hydra.openid.id-token";

#[tokio::test]
async fn the_signing_set_follows_the_key_lifecycle() {
    let (p, _) = common::provider().await;
    assert_eq!(SIGNING_SET, "hydra.openid.id-token");
    let (status, set) = call(&p, Method::GET, OWN, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kids(&set), published(&p).await);
    for key in set["keys"].as_array().unwrap() {
        assert!(key.get("d").is_none(), "private material leaked: {key}");
    }
    let active = kids(&set)[0].clone();
    let (status, one) = call(&p, Method::GET, &format!("{OWN}/{active}"), None).await;
    assert_eq!((status, kids(&one)), (StatusCode::OK, vec![active.clone()]));

    // Generating rotates: the generated key is the new next key, published at once.
    let res = p
        .admin()
        .handle(json_request(
            Method::POST,
            OWN,
            &json!({"alg": "ES256", "kid": "mine", "use": "sig"}),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["location"], "/keys/hydra.openid.id-token");
    assert_eq!(kids(&body_json(&res)), ["mine"]);
    assert!(published(&p).await.contains(&"mine".to_owned()));
    assert!(
        matches!(
            p.delete_json_web_key(SIGNING_SET, Some(&active)).await,
            Ok(())
        ),
        "the old active key retired and can be deleted"
    );
    assert!(!published(&p).await.contains(&active));

    // Importing a key makes it the next key; the next rotation makes it sign.
    let imported = SigningKey::generate(Algorithm::ES256, "imported".into()).unwrap();
    let (status, jwk) = call(
        &p,
        Method::PUT,
        &format!("{OWN}/imported"),
        Some(serde_json::to_value(imported.private_jwk().unwrap()).unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{jwk}");
    assert!(jwk.get("d").is_none());
    assert!(
        !published(&p).await.contains(&"mine".to_owned()),
        "the replaced next key never signed"
    );
    assert_eq!(p.rotate_keys(Algorithm::ES256).await.unwrap(), "imported");

    // Active and next keys, and the set itself, cannot be deleted.
    let (status, _) = call(&p, Method::DELETE, &format!("{OWN}/imported"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(&p, Method::DELETE, OWN, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(&p, Method::DELETE, &format!("{OWN}/nope"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A kid the signing keys have is refused.
    let (status, _) = call(
        &p,
        Method::POST,
        OWN,
        Some(json!({"alg": "ES256", "kid": "imported"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn other_sets_are_sealed_storage_never_published() {
    let (p, _) = common::provider().await;
    let (status, set) = call(
        &p,
        Method::POST,
        "/keys/partner",
        Some(json!({"alg": "EdDSA", "kid": "p1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(set["keys"][0].get("d").is_none());
    let theirs = SigningKey::generate(Algorithm::ES256, "p2".into()).unwrap();
    let (status, _) = call(
        &p,
        Method::PUT,
        "/keys/partner",
        Some(json!({"keys": [theirs.private_jwk().unwrap()]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, set) = call(&p, Method::GET, "/keys/partner", None).await;
    assert_eq!(kids(&set), ["p1", "p2"]);
    assert!(
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none())
    );
    let public = published(&p).await;
    assert!(!public.contains(&"p1".to_owned()) && !public.contains(&"p2".to_owned()));
    // The store holds them sealed.
    for record in p.store().keys().await.unwrap() {
        let der = theirs.to_pkcs8_der().unwrap();
        assert!(
            !record
                .sealed_private_key
                .windows(der.len())
                .any(|w| w == der)
        );
    }

    let (status, _) = call(
        &p,
        Method::POST,
        "/keys/partner",
        Some(json!({"alg": "EdDSA", "kid": "p1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "POST never overwrites");
    let (status, _) = call(&p, Method::DELETE, "/keys/partner/p1", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&p, Method::DELETE, "/keys/partner", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&p, Method::GET, "/keys/partner", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = call(&p, Method::DELETE, "/keys/partner", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn private_keys_leave_only_when_the_host_opts_in() {
    let mut config = Config::new(ISSUER).unwrap();
    config.dangerous.expose_private_keys = true;
    let (p, _) = common::provider_with(config).await;
    let (status, set) = call(
        &p,
        Method::POST,
        "/keys/tls",
        Some(json!({"alg": "ES256", "kid": "t"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let d = set["keys"][0]["d"].as_str().unwrap().to_owned();
    let (_, again) = call(&p, Method::GET, "/keys/tls/t", None).await;
    assert_eq!(again["keys"][0]["d"], d);
    let (_, own) = call(&p, Method::GET, OWN, None).await;
    assert!(
        own["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["d"].is_string())
    );
}

#[tokio::test]
async fn bad_key_requests_are_4xx_and_change_nothing() {
    let (p, _) = common::provider().await;
    let before = p.store().keys().await.unwrap();
    let es = SigningKey::generate(Algorithm::ES256, "k".into()).unwrap();
    let mut public_only = serde_json::to_value(es.public_jwk()).unwrap();
    public_only["kid"] = json!("k");
    let mut tampered = serde_json::to_value(es.private_jwk().unwrap()).unwrap();
    tampered["x"] = serde_json::to_value(
        SigningKey::generate(Algorithm::ES256, "o".into())
            .unwrap()
            .public_jwk()
            .x,
    )
    .unwrap();
    let cases: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::POST, OWN, Some(json!({"alg": "HS256"}))),
        (
            Method::POST,
            OWN,
            Some(json!({"alg": "ES256", "use": "enc"})),
        ),
        (Method::POST, OWN, Some(json!({"alg": 7}))),
        (Method::POST, OWN, Some(json!(["not", "an", "object"]))),
        (
            Method::POST,
            "/keys/x",
            Some(json!({"alg": "ES256", "kid": "a\u{1}b"})),
        ),
        (Method::PUT, "/keys/x/k", Some(public_only)),
        (Method::PUT, "/keys/x/k", Some(tampered)),
        (
            Method::PUT,
            "/keys/x/other",
            Some(serde_json::to_value(es.private_jwk().unwrap()).unwrap()),
        ),
        (Method::PUT, "/keys/x", Some(json!({"keys": []}))),
        (Method::PUT, OWN, Some(json!({"keys": "nope"}))),
    ];
    for (method, path, body) in cases {
        let shown = body.clone();
        let (status, error) = call(&p, method.clone(), path, body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {shown:?}: {error}"
        );
        assert!(error["error"].is_string(), "Hydra's error JSON: {error}");
    }
    // RS256 is refused in the signing set unless enabled (and built).
    let (status, _) = call(&p, Method::POST, OWN, Some(json!({"alg": "RS256"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        p.store().keys().await.unwrap(),
        before,
        "nothing was stored"
    );
    let (status, _) = call(&p, Method::PATCH, OWN, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}
