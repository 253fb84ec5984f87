//! Helpers shared by the integration tests: a provider on a manual clock and terse request
//! builders over the in-process handlers.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use oauth2_provider::{Config, ManualClock, MemoryStore, Provider};
use serde_json::Value;

pub mod flow;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod process;
pub(crate) mod seed;

pub const ISSUER: &str = "https://auth.example.com/";

/// A provider on a fresh memory store and a manual clock.
pub async fn provider() -> (Provider, Arc<ManualClock>) {
    provider_with(Config::new(ISSUER).unwrap()).await
}

/// A provider with the given configuration.
pub async fn provider_with(config: Config) -> (Provider, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_now());
    let provider = Provider::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    (provider, clock)
}

/// A request with a JSON body.
pub fn json_request(method: Method, uri: &str, body: &Value) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Bytes::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// A request with a raw body.
pub fn raw_request(
    method: Method,
    uri: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

/// A form POST.
pub fn form_request(uri: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    let body = serde_urlencoded::to_string(pairs).unwrap();
    raw_request(Method::POST, uri, "application/x-www-form-urlencoded", body)
}

/// A bodiless request.
pub fn empty_request(method: Method, uri: &str) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Bytes::new())
        .unwrap()
}

/// The body as JSON (panics with the body text if it is not JSON).
pub fn body_json(res: &Response<Bytes>) -> Value {
    serde_json::from_slice(res.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(res.body())))
}

/// Asserts the status and the Hydra error code of an error response.
pub fn assert_error(res: &Response<Bytes>, status: StatusCode, error: &str) {
    assert_eq!(
        res.status(),
        status,
        "body: {}",
        String::from_utf8_lossy(res.body())
    );
    let body = body_json(res);
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(body["status_code"], status.as_u16(), "body: {body}");
}
pub mod tokens;

/// Every `ClientStore` method, for `FaultyStore::fail_operations`.
pub const CLIENT_OPERATIONS: [&str; 5] = [
    "create_client",
    "client",
    "update_client",
    "delete_client",
    "list_clients",
];
