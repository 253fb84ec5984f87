//! RFC 8414 authorization server metadata: the OpenID discovery document's issuer, endpoints
//! and supported values; served where §3.1 puts it for the issuer (path inserted when the
//! issuer has a path) and nowhere else; GET only; the discovery CORS policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::*;
use http::{Method, Response, StatusCode};
use oauth2_provider::model::secret::Secret;
use oauth2_provider::{Config, Provider};
use serde_json::{Value, json};

const METADATA: &str = "/.well-known/oauth-authorization-server";

/// Where a client looks for the metadata of `issuer` (RFC 8414 §3.1): the well-known suffix
/// between the host and the issuer's path, without the path's terminating `/`. Derived here
/// with the `url` crate, independently of the provider's own reading of its issuer.
fn metadata_path(issuer: &str) -> String {
    let url = url::Url::parse(issuer).unwrap();
    format!("{METADATA}{}", url.path().trim_end_matches('/'))
}

async fn get(p: &Provider, path: &str) -> Response<Bytes> {
    p.public().handle(empty_request(Method::GET, path)).await
}

async fn get_json(p: &Provider, path: &str) -> Value {
    let res = get(p, path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    assert_eq!(res.headers()["content-type"], "application/json");
    body_json(&res)
}

fn assert_not_found(res: &Response<Bytes>, path: &str) {
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(body_json(res)["error"], "not_found", "{path}");
}

/// The metadata of `p`'s issuer, checked against the OpenID discovery document: every field
/// both documents have is equal, and the metadata has no field the discovery document lacks.
async fn metadata_matching_discovery(p: &Provider) -> Value {
    let issuer = p.config().issuer.clone();
    let metadata = get_json(p, &metadata_path(&issuer)).await;
    let discovery = get_json(p, "/.well-known/openid-configuration").await;
    assert_eq!(metadata["issuer"].as_str(), Some(issuer.as_str()), "§3.3");
    for (field, value) in metadata.as_object().unwrap() {
        assert_eq!(Some(value), discovery.get(field), "{field}");
    }
    metadata
}

#[tokio::test]
async fn metadata_has_the_discovery_documents_values() {
    let mut config = Config::new(ISSUER).unwrap();
    config.scopes_supported = vec!["mcp:tools".into()];
    config.pairwise_salt = Some(Secret::new("pairwise-salt"));
    for config in [Config::new(ISSUER).unwrap(), config] {
        let scopes = config.scopes_supported.clone();
        let (p, _) = provider_with(config).await;
        let doc = metadata_matching_discovery(&p).await;
        let base = "https://auth.example.com";
        assert_eq!(doc["issuer"], ISSUER, "byte for byte, trailing slash kept");
        assert_eq!(doc["authorization_endpoint"], format!("{base}/oauth2/auth"));
        assert_eq!(doc["token_endpoint"], format!("{base}/oauth2/token"));
        assert_eq!(doc["jwks_uri"], format!("{base}/.well-known/jwks.json"));
        assert_eq!(doc["revocation_endpoint"], format!("{base}/oauth2/revoke"));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        for field in [
            "scopes_supported",
            "response_types_supported",
            "response_modes_supported",
            "grant_types_supported",
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
        ] {
            assert!(!doc[field].as_array().unwrap().is_empty(), "{field}");
        }
        assert!(
            doc["response_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("code"))
        );
        for absent in [
            // Registration is not built yet; CIMD is off by default
            // (tests/client_metadata_documents.rs turns it on).
            "registration_endpoint",
            "client_id_metadata_document_supported",
            // On the admin API only, as in Hydra.
            "introspection_endpoint",
            // OpenID Connect's, not RFC 8414's.
            "userinfo_endpoint",
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            assert!(doc.get(absent).is_none(), "{absent} advertised");
        }
        for scope in scopes {
            assert!(
                doc["scopes_supported"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(scope))
            );
        }
    }
}

#[tokio::test]
async fn metadata_has_the_headers_of_discovery() {
    let (p, _) = provider().await;
    let metadata = get(&p, METADATA).await;
    let discovery = get(&p, "/.well-known/openid-configuration").await;
    for name in ["content-type", "cache-control", "vary"] {
        assert_eq!(
            metadata.headers().get(name),
            discovery.headers().get(name),
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_issuer_with_a_path_has_its_metadata_at_the_inserted_path() {
    for issuer in [
        "https://auth.example.com/tenant1",
        "https://auth.example.com/tenant1/",
    ] {
        let (p, _) = provider_with(Config::new(issuer).unwrap()).await;
        let path = metadata_path(issuer);
        assert_eq!(path, format!("{METADATA}/tenant1"));
        let doc = metadata_matching_discovery(&p).await;
        assert_eq!(doc["issuer"], issuer);
        assert_eq!(
            doc["token_endpoint"],
            "https://auth.example.com/tenant1/oauth2/token"
        );
        for wrong in [
            // The plain form names the issuer `https://auth.example.com` (§3.3).
            METADATA,
            "/.well-known/oauth-authorization-server/",
            "/.well-known/oauth-authorization-server/tenant2",
            "/.well-known/oauth-authorization-server/tenant1/",
            "/.well-known/oauth-authorization-server/tenant1/x",
            "/.well-known/oauth-authorization-server/%74enant1",
            // Path appended: neither RFC 8414 nor MCP's discovery asks for it.
            "/tenant1/.well-known/oauth-authorization-server",
        ] {
            assert_not_found(&get(&p, wrong).await, wrong);
        }
    }
    // Without a path, nothing follows the suffix.
    let (p, _) = provider().await;
    assert_eq!(metadata_path(ISSUER), METADATA);
    for wrong in [
        "/.well-known/oauth-authorization-server/tenant1",
        "/.well-known/oauth-authorization-server/",
    ] {
        assert_not_found(&get(&p, wrong).await, wrong);
    }
}

#[tokio::test]
async fn an_issuer_with_a_deeper_path_is_inserted_whole() {
    let issuer = "https://auth.example.com/realms/a%20b";
    let (p, _) = provider_with(Config::new(issuer).unwrap()).await;
    assert_eq!(metadata_path(issuer), format!("{METADATA}/realms/a%20b"));
    let doc = metadata_matching_discovery(&p).await;
    assert_eq!(doc["issuer"], issuer);
    for wrong in [
        "/.well-known/oauth-authorization-server/realms",
        "/.well-known/oauth-authorization-server/realms/a%2520b",
        "/.well-known/oauth-authorization-server/a%20b",
    ] {
        assert_not_found(&get(&p, wrong).await, wrong);
    }
}

#[tokio::test]
async fn metadata_answers_get_only() {
    for issuer in [ISSUER, "https://auth.example.com/tenant1"] {
        let (p, _) = provider_with(Config::new(issuer).unwrap()).await;
        let path = metadata_path(issuer);
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::HEAD] {
            let res = p
                .public()
                .handle(empty_request(method.clone(), &path))
                .await;
            assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert_eq!(res.headers()["allow"], "GET", "{method}");
            assert_eq!(body_json(&res)["error"], "method_not_allowed");
        }
    }
}

#[tokio::test]
async fn the_inserted_path_has_the_discovery_cors_policy() {
    let issuer = "https://auth.example.com/tenant1";
    let mut config = Config::new(issuer).unwrap();
    config.discovery_cors_origins = vec!["https://inspector.example".into()];
    let (p, _) = provider_with(config).await;
    let path = metadata_path(issuer);
    let allowed = |res: &Response<Bytes>| {
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    for (origin, expected) in [
        (
            "https://inspector.example",
            Some("https://inspector.example"),
        ),
        ("https://elsewhere.example", None),
    ] {
        let mut req = empty_request(Method::GET, &path);
        req.headers_mut().insert("origin", origin.parse().unwrap());
        let res = p.public().handle(req).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(allowed(&res).as_deref(), expected, "{origin}");

        let mut pre = empty_request(Method::OPTIONS, &path);
        pre.headers_mut().insert("origin", origin.parse().unwrap());
        pre.headers_mut()
            .insert("access-control-request-method", "GET".parse().unwrap());
        let res = p.public().handle(pre).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(allowed(&res).as_deref(), expected, "{origin} preflight");
        if expected.is_some() {
            assert_eq!(res.headers()["access-control-allow-methods"], "GET");
        }
    }
}
