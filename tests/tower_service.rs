//! The `tower` feature: both handlers mounted in axum with one line each, driven in-process.
#![cfg(feature = "tower")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use oauth2_provider::Config;
use serde_json::Value;
use tower::ServiceExt;

async fn send<B>(app: Router, req: Request<B>) -> (StatusCode, http::HeaderMap, Value)
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn public_api_mounts_as_axum_fallback_service() {
    let (provider, _clock) = common::provider().await;
    let app = Router::new().fallback_service(provider.public());
    let (status, headers, json) = send(app, get("/.well-known/openid-configuration")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(json["issuer"], common::ISSUER);
}

#[tokio::test]
async fn admin_api_mounts_as_nested_service() {
    let (provider, _clock) = common::provider().await;
    let app = Router::new()
        .nest_service("/admin", provider.admin())
        .fallback_service(provider.public());
    // Axum strips the prefix, so the admin router sees `/health/alive`.
    let (status, _, json) = send(app.clone(), get("/admin/health/alive")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["status"], "ok");
    // Admin routes are not reachable through the public service.
    let (status, _, json) = send(app, get("/health/alive")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"], "not_found");
}

#[tokio::test]
async fn oversized_body_is_refused_with_413_before_the_endpoint() {
    let mut config = Config::new(common::ISSUER).unwrap();
    config.max_body_bytes = 1024;
    let (provider, _clock) = common::provider_with(config).await;
    let app = Router::new().fallback_service(provider.admin());

    // Declared length over the limit.
    let big = vec![b'a'; 4096];
    let req = Request::builder()
        .method(Method::POST)
        .uri("/clients")
        .header("content-type", "application/json")
        .body(Body::from(big.clone()))
        .unwrap();
    let (status, _, json) = send(app.clone(), req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"], "request_entity_too_large");
    assert_eq!(json["status_code"], 413);

    // Streamed body with no declared length, over the limit.
    let chunks = big
        .chunks(512)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let req = Request::post("/clients")
        .header("content-type", "application/json")
        .body(Body::new(Chunked::new(chunks)))
        .unwrap();
    let (status, _, json) = send(app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"], "request_entity_too_large");
}

#[tokio::test]
async fn unreadable_body_is_a_400() {
    let (provider, _clock) = common::provider().await;
    let app = Router::new().fallback_service(provider.public());
    let chunks = vec![
        Ok(Bytes::from_static(b"grant_type=")),
        Err(std::io::Error::other("connection reset")),
    ];
    let req = Request::post("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Chunked::new(chunks))
        .unwrap();
    let (status, _, json) = send(app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "invalid_request");
}

#[tokio::test]
async fn a_body_in_one_frame_is_kept_without_a_copy_and_frames_are_joined() {
    let (provider, _clock) = common::provider().await;
    let collect = async |chunks: Vec<&'static [u8]>| {
        let chunks = chunks
            .into_iter()
            .map(|c| Ok(Bytes::from_static(c)))
            .collect();
        let req = Request::post("/oauth2/token")
            .body(Chunked::new(chunks))
            .unwrap();
        oauth2_provider::tower::collect_request(&provider, req)
            .await
            .unwrap()
            .into_body()
    };
    static ONE: &[u8] = b"grant_type=client_credentials";
    let body = collect(vec![ONE]).await;
    assert_eq!(body, ONE);
    assert_eq!(body.as_ptr(), ONE.as_ptr(), "the frame itself, not a copy");
    let body = collect(vec![b"grant_type=", b"client_", b"credentials"]).await;
    assert_eq!(body, ONE);
    assert!(collect(Vec::new()).await.is_empty());
}

/// A body delivered chunk by chunk with no declared length, possibly failing midway.
struct Chunked(std::collections::VecDeque<Result<Bytes, std::io::Error>>);

impl Chunked {
    fn new(chunks: Vec<Result<Bytes, std::io::Error>>) -> Self {
        Self(chunks.into())
    }
}

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(self.0.pop_front().map(|c| c.map(http_body::Frame::data)))
    }
}
