//! The client admin API: create, list, get, update, delete, over `admin().handle` and the
//! typed methods; every bad input is a 400 (or 404/409/413) with nothing persisted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http::{Method, Request, Response, StatusCode};
use oauth2_provider::model::client::SecretHash;
use oauth2_provider::model::secret::Secret;
use oauth2_provider::store::{
    GrantData, IssuedTokens, TokenKind, TokenRecord, TokenStatus, TokenStore,
};
use oauth2_provider::{Clock, Config, ManualClock, Provider};
use serde_json::{Value, json};

async fn admin(p: &Provider, req: Request<Bytes>) -> Response<Bytes> {
    p.admin().handle(req).await
}

async fn create(p: &Provider, body: Value) -> Response<Bytes> {
    admin(p, json_request(Method::POST, "/clients", &body)).await
}

async fn get(p: &Provider, id: &str) -> Response<Bytes> {
    admin(p, empty_request(Method::GET, &format!("/clients/{id}"))).await
}

async fn list(p: &Provider, query: &str) -> Response<Bytes> {
    admin(p, empty_request(Method::GET, &format!("/clients{query}"))).await
}

async fn put(p: &Provider, id: &str, body: Value) -> Response<Bytes> {
    admin(
        p,
        json_request(Method::PUT, &format!("/clients/{id}"), &body),
    )
    .await
}

async fn ids(p: &Provider, query: &str) -> Vec<String> {
    let res = list(p, query).await;
    assert_eq!(res.status(), StatusCode::OK);
    body_json(&res)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 400 `invalid_request` whose hint contains `hint`, and that no client exists.
async fn assert_rejected(p: &Provider, res: &Response<Bytes>, hint: &str) {
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_request");
    let body = body_json(res);
    let text = body["error_hint"].as_str().unwrap_or_default();
    assert!(text.contains(hint), "hint {text:?} lacks {hint:?}");
    assert!(ids(p, "").await.is_empty(), "nothing may be persisted");
}

async fn pairwise_provider() -> (Provider, Arc<ManualClock>) {
    let mut config = Config::new(ISSUER).unwrap();
    config.pairwise_salt = Some(Secret::new(b"a-pairwise-salt-of-some-length".to_vec()));
    provider_with(config).await
}

fn is_uuid_v4(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && id
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && parts[2].starts_with('4')
        && parts[3].starts_with(['8', '9', 'a', 'b'])
}

#[tokio::test]
async fn create_with_defaults_generates_id_and_secret_once() {
    let (p, _) = provider().await;
    let res = create(&p, json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["content-type"], "application/json");
    let body = body_json(&res);
    let id = body["client_id"].as_str().unwrap();
    assert!(is_uuid_v4(id), "{id}");
    assert_eq!(res.headers()["location"], format!("/clients/{id}"));
    let secret = body["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43, "256 bits in base64url");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["subject_type"], "public");
    assert_eq!(body["userinfo_signed_response_alg"], "none");
    assert_eq!(body["id_token_signed_response_alg"], "ES256");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["scope"], "");
    assert!(body["created_at"].is_string());
    assert_eq!(body["created_at"], body["updated_at"]);

    // The generated secret is stored with the fast hash, never in plaintext.
    let record = p.store().client(id).await.unwrap();
    assert!(record.client.client_secret.is_none());
    assert!(matches!(
        record.secret_hash,
        Some(SecretHash::Sha256 { .. })
    ));
    assert!(record.secret_hash.as_ref().unwrap().verify(secret));

    // GET and list never show the secret.
    let res = get(&p, id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("cache-control").is_none());
    let fetched = body_json(&res);
    assert!(fetched.get("client_secret").is_none());
    let mut expected = body.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(fetched, expected);
    let listed = body_json(&list(&p, "").await);
    assert_eq!(listed, json!([expected]));
}

#[tokio::test]
async fn create_keeps_given_fields_and_hashes_a_chosen_secret_slowly() {
    let (p, _) = provider().await;
    let sent = json!({
        "client_id": "my-app:web~1",
        "client_name": "My App",
        "client_secret": "a chosen secret of 26 chars",
        "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:8080/cb", "com.example.app:/cb"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials", "implicit"],
        "response_types": ["code", "id_token code token", "token id_token"],
        "scope": "openid offline photos.* a:b",
        "owner": "alice",
        "policy_uri": "https://app.example.com/policy",
        "tos_uri": "https://app.example.com/tos",
        "client_uri": "https://app.example.com",
        "logo_uri": "http://cdn.example.com/logo.png",
        "contacts": ["ops@example.com"],
        "client_secret_expires_at": 12345,
        "token_endpoint_auth_method": "client_secret_post",
        "jwks": {"keys": []},
        "id_token_signed_response_alg": "EdDSA",
        "userinfo_signed_response_alg": "none",
        "allowed_cors_origins": ["https://app.example.com", "http://localhost:3000/"]
    });
    let res = create(&p, sent.clone()).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.body());
    assert_eq!(res.headers()["location"], "/clients/my-app:web~1");
    let body = body_json(&res);
    for (key, value) in sent.as_object().unwrap() {
        if key != "client_secret_expires_at" {
            assert_eq!(&body[key], value, "{key}");
        }
    }
    assert_eq!(body["client_secret_expires_at"], 0, "forced to 0");
    let record = p.store().client("my-app:web~1").await.unwrap();
    assert!(matches!(
        record.secret_hash,
        Some(SecretHash::Pbkdf2Sha256 { .. })
    ));
    let typed = p.client("my-app:web~1").await.unwrap();
    assert_eq!(typed.client_name, "My App");
    assert!(typed.client_secret.is_none());
}

#[tokio::test]
async fn public_clients_have_no_secret_and_may_not_send_one() {
    let (p, _) = provider().await;
    let res = create(
        &p,
        json!({"token_endpoint_auth_method": "none", "client_secret": "a secret of 16+ chars"}),
    )
    .await;
    assert_rejected(&p, &res, "must not have a client_secret").await;

    let res = create(
        &p,
        json!({"client_id": "spa", "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("cache-control").is_none());
    assert!(body_json(&res).get("client_secret").is_none());
    assert!(p.store().client("spa").await.unwrap().secret_hash.is_none());
}

#[tokio::test]
async fn duplicate_id_is_409_and_the_original_stays() {
    let (p, _) = provider().await;
    let res = create(&p, json!({"client_id": "dup", "client_name": "first"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = create(&p, json!({"client_id": "dup", "client_name": "second"})).await;
    assert_error(&res, StatusCode::CONFLICT, "conflict");
    assert_eq!(body_json(&get(&p, "dup").await)["client_name"], "first");
    assert_eq!(ids(&p, "").await, ["dup"]);
}

#[tokio::test]
async fn each_invalid_field_is_a_400_and_nothing_is_persisted() {
    let (p, _) = provider().await;
    let long_uri = format!("https://app.example.com/{}", "x".repeat(2100));
    let long_id = "a".repeat(256);
    let cases: Vec<(Value, &str)> = vec![
        // redirect URIs, one per invalid class
        (
            json!({"redirect_uris": ["https://a.example/cb#frag"]}),
            "fragment",
        ),
        (
            json!({"redirect_uris": ["https://user:pw@a.example/cb"]}),
            "user information",
        ),
        (
            json!({"redirect_uris": ["https://user@a.example/cb"]}),
            "user information",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "not allowed",
        ),
        (
            json!({"redirect_uris": ["JaVaScRiPt:alert(1)"]}),
            "not allowed",
        ),
        (
            json!({"redirect_uris": ["data:text/html,<script>alert(1)</script>"]}),
            "not allowed",
        ),
        (
            json!({"redirect_uris": ["DATA:text/html,x"]}),
            "not allowed",
        ),
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "loopback",
        ),
        (json!({"redirect_uris": ["/relative/cb"]}), "absolute"),
        (
            json!({"redirect_uris": ["https://a.example/c b"]}),
            "whitespace",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb\t"]}),
            "whitespace",
        ),
        (json!({"redirect_uris": [long_uri]}), "longer than"),
        (
            json!({"redirect_uris": ["https://a.example/ok", ""]}),
            "redirect_uris[1]",
        ),
        // logout metadata: the rules of redirect URIs, channels over http(s) only
        (
            json!({"post_logout_redirect_uris": ["javascript:alert(1)"]}),
            "post_logout_redirect_uris[0]",
        ),
        (
            json!({"post_logout_redirect_uris": ["https://a.example/ok", "https://a.example/x#f"]}),
            "post_logout_redirect_uris[1]",
        ),
        (
            json!({"frontchannel_logout_uri": "http://app.example.com/fc"}),
            "frontchannel_logout_uri",
        ),
        (
            json!({"frontchannel_logout_uri": "com.example.app:/fc"}),
            "http or https",
        ),
        (
            json!({"backchannel_logout_uri": "https://u:p@app.example.com/bc"}),
            "backchannel_logout_uri",
        ),
        (json!({"backchannel_logout_uri": "data:x"}), "not allowed"),
        // client id
        (json!({"client_id": "a/b"}), "client_id"),
        (json!({"client_id": "a b"}), "client_id"),
        (json!({"client_id": "a?b"}), "client_id"),
        (json!({"client_id": "a%2Fb"}), "client_id"),
        (json!({"client_id": "caf\u{e9}"}), "client_id"),
        (json!({"client_id": long_id}), "1 to 255"),
        // secret
        (json!({"client_secret": "fifteen-chars.."}), "at least 16"),
        // grant and response types
        (json!({"grant_types": ["password"]}), "grant_types"),
        (json!({"grant_types": [""]}), "grant_types"),
        (json!({"response_types": ["code code"]}), "more than once"),
        (
            json!({"response_types": ["code  token"]}),
            "response_types[0]",
        ),
        (
            json!({"response_types": ["code", "device"]}),
            "response_types[1]",
        ),
        (json!({"response_types": [""]}), "response_types[0]"),
        (json!({"response_types": ["Code"]}), "response_types[0]"),
        (
            json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
            "confidential",
        ),
        // authentication method
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "not supported",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_jwt"}),
            "not supported",
        ),
        (
            json!({"token_endpoint_auth_method": "basic"}),
            "token_endpoint_auth_method",
        ),
        // subject type (no pairwise salt configured here)
        (json!({"subject_type": "pairwise"}), "not enabled"),
        (json!({"subject_type": "private"}), "subject_type"),
        (
            json!({"sector_identifier_uri": "http://a.example/sector.json"}),
            "https",
        ),
        // algorithms
        (
            json!({"userinfo_signed_response_alg": "RS256"}),
            "userinfo_signed_response_alg",
        ),
        (json!({"id_token_signed_response_alg": "RS256"}), "RS256"),
        (json!({"id_token_signed_response_alg": "none"}), "none"),
        // keys
        (
            json!({"jwks": {"keys": []}, "jwks_uri": "https://a.example/jwks.json"}),
            "mutually exclusive",
        ),
        (json!({"jwks": {"kty": "EC"}}), "JWK Set"),
        (json!({"jwks_uri": "file:///etc/passwd"}), "jwks_uri"),
        // informational URLs shown on consent pages
        (json!({"logo_uri": "javascript:alert(1)"}), "logo_uri"),
        (json!({"client_uri": "not a url"}), "client_uri"),
        // CORS origins
        (
            json!({"allowed_cors_origins": ["not a url"]}),
            "allowed_cors_origins[0]",
        ),
        (
            json!({"allowed_cors_origins": ["ftp://a.example"]}),
            "http or https",
        ),
        (
            json!({"allowed_cors_origins": ["https://user@a.example"]}),
            "user information",
        ),
        (
            json!({"allowed_cors_origins": ["https://a.example/path"]}),
            "path",
        ),
        (
            json!({"allowed_cors_origins": ["https://a.example?x=1"]}),
            "query",
        ),
        (
            json!({"allowed_cors_origins": ["https://a.example#f"]}),
            "fragment",
        ),
        (
            json!({"allowed_cors_origins": ["https://ok.example", "https://a.example/?"]}),
            "allowed_cors_origins[1]",
        ),
        // scope
        (json!({"scope": "openid \"quoted\""}), "scope"),
        (json!({"scope": "openid\tprofile"}), "scope"),
        // JSON shape
        (json!({"unknown_field": 1}), "unknown field"),
        (
            json!({"redirect_uris": "https://a.example/cb"}),
            "invalid type",
        ),
        (json!({"client_secret_expires_at": "0"}), "invalid type"),
        (json!([]), "JSON object"),
        (json!(["a-client-id"]), "JSON object"),
        (json!("a string"), "JSON object"),
    ];
    for (body, hint) in cases {
        let res = create(&p, body.clone()).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
        let text = body_json(&res)["error_hint"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(text.contains(hint), "{body}: hint {text:?} lacks {hint:?}");
    }
    assert!(ids(&p, "").await.is_empty(), "nothing may be persisted");
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_rejected() {
    let (p, _) = provider().await;
    for raw in ["{", "", "not json", "{\"client_id\": \"a\",}"] {
        let res = admin(
            &p,
            raw_request(Method::POST, "/clients", "application/json", raw),
        )
        .await;
        assert_rejected(&p, &res, "not valid JSON").await;
    }
    let huge = json!({"client_name": "x".repeat(70 * 1024)});
    let res = create(&p, huge).await;
    assert_error(
        &res,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_entity_too_large",
    );
    assert!(ids(&p, "").await.is_empty());
}

#[tokio::test]
async fn valid_combinations_are_accepted() {
    let (p, _) = provider().await;
    for (i, body) in [
        json!({"response_types": ["token code", "id_token", "code id_token"]}),
        json!({"allowed_cors_origins": ["https://a.example", "http://127.0.0.1:8080", "https://b.example/"]}),
        json!({"client_id": "!$&'()*+,;=:@~-._", "client_secret": "exactly-16-chars"}),
        json!({"client_id": "x".repeat(255)}),
        json!({"token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token", "implicit"]}),
        json!({"sector_identifier_uri": "", "jwks_uri": "", "client_secret": ""}),
        json!({"id_token_signed_response_alg": null, "jwks": null}),
        json!({
            "post_logout_redirect_uris": ["https://a.example/bye", "http://127.0.0.1/bye", "com.example.app:/bye"],
            "frontchannel_logout_uri": "https://a.example/fc?x=1",
            "frontchannel_logout_session_required": true,
            "backchannel_logout_uri": "http://localhost:9000/bc",
            "backchannel_logout_session_required": true,
        }),
    ]
    .into_iter()
    .enumerate()
    {
        let res = create(&p, body.clone()).await;
        assert_eq!(res.status(), StatusCode::CREATED, "case {i} {body}: {:?}", res.body());
    }
    let created = body_json(&list(&p, "").await);
    let blank = created
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c.get("sector_identifier_uri").is_none() && c["id_token_signed_response_alg"] == "ES256"
        })
        .unwrap();
    assert!(
        blank.get("jwks_uri").is_none(),
        "empty optional URLs are stored as absent"
    );
    let logout = created
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["backchannel_logout_uri"] != "")
        .unwrap();
    assert_eq!(
        logout["post_logout_redirect_uris"][2],
        "com.example.app:/bye"
    );
    assert_eq!(
        logout["frontchannel_logout_uri"],
        "https://a.example/fc?x=1"
    );
    assert_eq!(logout["frontchannel_logout_session_required"], true);
    assert_eq!(logout["backchannel_logout_session_required"], true);
}

#[tokio::test]
async fn pairwise_rules_with_a_salt() {
    let (p, _) = pairwise_provider().await;
    let two = json!(["https://a.example/cb", "https://b.example/cb"]);
    let res = create(
        &p,
        json!({"subject_type": "pairwise", "redirect_uris": two}),
    )
    .await;
    assert_rejected(&p, &res, "sector_identifier_uri").await;

    let res = create(
        &p,
        json!({"subject_type": "pairwise", "redirect_uris": ["https://a.example/cb"]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = create(
        &p,
        json!({
            "subject_type": "pairwise",
            "redirect_uris": two,
            "sector_identifier_uri": "https://sector.example/uris.json"
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        body_json(&res)["sector_identifier_uri"],
        "https://sector.example/uris.json"
    );
}

#[tokio::test]
async fn unknown_id_is_404_everywhere() {
    let (p, _) = provider().await;
    assert_error(&get(&p, "nope").await, StatusCode::NOT_FOUND, "not_found");
    let res = put(&p, "nope", json!({"client_name": "x"})).await;
    assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    let res = admin(&p, empty_request(Method::DELETE, "/clients/nope")).await;
    assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    assert!(ids(&p, "").await.is_empty(), "PUT must not create");
    assert!(matches!(
        p.client("nope").await,
        Err(oauth2_provider::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn list_is_ordered_by_creation_then_id_and_paged() {
    let (p, clock) = provider().await;
    for id in ["c", "b"] {
        assert_eq!(
            create(&p, json!({"client_id": id})).await.status(),
            StatusCode::CREATED
        );
    }
    clock.advance(time::Duration::seconds(1));
    assert_eq!(
        create(&p, json!({"client_id": "a"})).await.status(),
        StatusCode::CREATED
    );

    assert_eq!(ids(&p, "").await, ["b", "c", "a"], "same instant → by id");
    assert_eq!(ids(&p, "?limit=2").await, ["b", "c"]);
    assert_eq!(ids(&p, "?limit=2&offset=1").await, ["c", "a"]);
    assert_eq!(ids(&p, "?offset=3").await, Vec::<String>::new());
    assert_eq!(ids(&p, "?limit=0").await, ["b"], "limit clamps up to 1");
    assert_eq!(
        ids(&p, "?limit=100000").await.len(),
        3,
        "limit clamps down to 500"
    );
    assert_eq!(
        ids(&p, "?limit=&offset=").await.len(),
        3,
        "empty means default"
    );
    for bad in [
        "?limit=-1",
        "?offset=-5",
        "?limit=abc",
        "?offset=1.5",
        "?limit=99999999999999999999999",
        "?limit=1&limit=2",
    ] {
        let res = list(&p, bad).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let typed = p.list_clients(0, 0).await.unwrap();
    assert_eq!(typed.len(), 1);
    assert!(typed[0].client_secret.is_none());
}

#[tokio::test]
async fn update_forces_the_path_id_and_keeps_or_replaces_the_secret() {
    let (p, clock) = provider().await;
    let created = body_json(&create(&p, json!({"client_id": "app", "client_name": "v1"})).await);
    let old_secret = created["client_secret"].as_str().unwrap().to_owned();
    let old_hash = p.store().client("app").await.unwrap().secret_hash.clone();

    clock.advance(time::Duration::minutes(5));
    let res = put(
        &p,
        "app",
        json!({"client_id": "other", "client_name": "v2"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("cache-control").is_none());
    let body = body_json(&res);
    assert_eq!(body["client_id"], "app");
    assert_eq!(body["client_name"], "v2");
    assert!(
        body.get("client_secret").is_none(),
        "unchanged secret is not echoed"
    );
    assert_eq!(body["created_at"], created["created_at"]);
    assert_ne!(body["updated_at"], created["updated_at"]);
    assert_error(&get(&p, "other").await, StatusCode::NOT_FOUND, "not_found");
    let record = p.store().client("app").await.unwrap();
    assert_eq!(record.secret_hash, old_hash);
    assert!(record.secret_hash.as_ref().unwrap().verify(&old_secret));

    // An empty secret also keeps the old one.
    let res = put(&p, "app", json!({"client_secret": ""})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(p.store().client("app").await.unwrap().secret_hash, old_hash);

    // A new secret is hashed and echoed once.
    let res = put(&p, "app", json!({"client_secret": "a-brand-new-secret"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(body_json(&res)["client_secret"], "a-brand-new-secret");
    let record = p.store().client("app").await.unwrap();
    let hash = record.secret_hash.as_ref().unwrap();
    assert!(hash.verify("a-brand-new-secret"));
    assert!(!hash.verify(&old_secret));
    assert!(get(&p, "app").await.body().len() > 2);
    assert!(
        body_json(&get(&p, "app").await)
            .get("client_secret")
            .is_none()
    );
}

#[tokio::test]
async fn invalid_update_changes_nothing() {
    let (p, _) = provider().await;
    create(&p, json!({"client_id": "app", "client_name": "v1"})).await;
    let before = p.store().client("app").await.unwrap();
    for body in [
        json!({"client_name": "v2", "redirect_uris": ["javascript:alert(1)"]}),
        json!({"client_name": "v2", "client_secret": "short"}),
        json!({"client_name": "v2", "token_endpoint_auth_method": "none", "client_secret": "long-enough-secret"}),
        json!({"client_name": "v2", "bogus": true}),
    ] {
        let res = put(&p, "app", body).await;
        assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let res = admin(
        &p,
        raw_request(Method::PUT, "/clients/app", "application/json", "{"),
    )
    .await;
    assert_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(p.store().client("app").await.unwrap(), before);
}

#[tokio::test]
async fn switching_between_public_and_confidential() {
    let (p, _) = provider().await;
    create(&p, json!({"client_id": "app"})).await;
    let res = put(&p, "app", json!({"token_endpoint_auth_method": "none"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body_json(&res).get("client_secret").is_none());
    assert!(p.store().client("app").await.unwrap().secret_hash.is_none());

    // Back to confidential without a secret: one is generated and shown once.
    let res = put(&p, "app", json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let secret = body_json(&res)["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 43);
    let record = p.store().client("app").await.unwrap();
    let hash = record.secret_hash.as_ref().unwrap();
    assert!(matches!(hash, SecretHash::Sha256 { .. }));
    assert!(hash.verify(&secret));
}

fn token_for(
    client_id: &str,
    signature: &str,
    kind: TokenKind,
    now: time::OffsetDateTime,
) -> TokenRecord {
    TokenRecord {
        signature: signature.into(),
        kind,
        grant: GrantData {
            grant_id: format!("grant-{signature}"),
            auth_time: None,
            ..seed::grant(client_id, "alice", &["openid"], now)
        },
        issued_at: now,
        expires_at: None,
        status: TokenStatus::Active,
    }
}

async fn issue(store: &dyn TokenStore, client_id: &str, tag: &str, now: time::OffsetDateTime) {
    store
        .insert_tokens(IssuedTokens {
            access: token_for(client_id, &format!("at-{tag}"), TokenKind::AccessToken, now),
            refresh: Some(token_for(
                client_id,
                &format!("rt-{tag}"),
                TokenKind::RefreshToken,
                now,
            )),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_removes_the_client_and_revokes_its_tokens() {
    let (p, clock) = provider().await;
    let now = clock.now();
    create(&p, json!({"client_id": "gone"})).await;
    create(&p, json!({"client_id": "stays"})).await;
    issue(p.store().as_ref(), "gone", "g", now).await;
    issue(p.store().as_ref(), "stays", "s", now).await;

    let res = admin(&p, empty_request(Method::DELETE, "/clients/gone")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.body().is_empty());
    assert_error(&get(&p, "gone").await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(ids(&p, "").await, ["stays"]);
    let store = p.store();
    assert!(!store.access_token("at-g").await.unwrap().is_active(now));
    assert!(!store.refresh_token("rt-g").await.unwrap().is_active(now));
    assert!(store.access_token("at-s").await.unwrap().is_active(now));
    assert!(store.refresh_token("rt-s").await.unwrap().is_active(now));

    let res = admin(&p, empty_request(Method::DELETE, "/clients/gone")).await;
    assert_error(&res, StatusCode::NOT_FOUND, "not_found");
    assert!(p.delete_client("stays").await.is_ok());
    assert!(!store.access_token("at-s").await.unwrap().is_active(now));
}

#[tokio::test]
async fn store_failures_are_500_never_success() {
    let (p, store, _) = faulty_provider().await;
    assert_eq!(
        create(&p, json!({"client_id": "app"})).await.status(),
        StatusCode::CREATED
    );
    store.fail_operations(&CLIENT_OPERATIONS);
    for res in [
        create(&p, json!({"client_id": "other"})).await,
        get(&p, "app").await,
        list(&p, "").await,
        put(&p, "app", json!({"client_name": "x"})).await,
        admin(&p, empty_request(Method::DELETE, "/clients/app")).await,
    ] {
        assert_error(&res, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    }
    store.disarm();
    assert_eq!(ids(&p, "").await, ["app"]);

    // Deleting is one store call that also revokes the tokens: when it fails (a 500),
    // nothing changed, and a retry deletes and revokes.
    issue(store.as_ref(), "app", "a", time::OffsetDateTime::now_utc()).await;
    store.fail_operations(&["delete_client"]);
    let res = admin(&p, empty_request(Method::DELETE, "/clients/app")).await;
    assert_error(&res, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    store.disarm();
    assert_eq!(ids(&p, "").await, ["app"]);
    let res = admin(&p, empty_request(Method::DELETE, "/clients/app")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let token = store.access_token("at-a").await.unwrap();
    assert_eq!(token.status, TokenStatus::Revoked);
}

#[tokio::test]
async fn a_fetched_client_can_be_put_back_unchanged() {
    let (p, clock) = provider().await;
    create(
        &p,
        json!({"client_id": "app", "redirect_uris": ["https://a.example/cb"], "jwks": {"keys": []}}),
    )
    .await;
    let fetched = body_json(&get(&p, "app").await);
    clock.advance(time::Duration::seconds(30));
    let res = put(&p, "app", fetched.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut updated = body_json(&res);
    assert_ne!(updated["updated_at"], fetched["updated_at"]);
    updated["updated_at"] = fetched["updated_at"].clone();
    assert_eq!(updated, fetched);
}
