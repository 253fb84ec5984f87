//! Requests to the in-process handlers and what to check in their answers: request
//! builders, client authentication headers, the token-endpoint requests, the response
//! assertions, and the JWTs inside responses.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use oauth2_provider::Algorithm;
use oauth2_provider::Provider;
use oauth2_provider::internals::{JwkSet, VerifyingKeys};
use serde_json::{Map, Value};

use super::VERIFIER;
use super::seed::{REDIRECT, SECRET};

// Building requests.

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

/// An urlencoded query.
pub fn q(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The query parameter `name` of the absolute URL `url`, if it has one.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The query parameter `name` of the absolute URL `url`, which must exist.
pub fn url_param(url: &str, name: &str) -> String {
    query_param(url, name).unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 §2.3.1 prescribes.
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    basic_raw(&format!("{}:{}", enc(id), enc(secret)))
}

/// `Basic base64(raw)`, without any urlencoding.
pub fn basic_raw(raw: &str) -> String {
    format!("Basic {}", STANDARD.encode(raw))
}

/// A form POST to `uri` authenticated with Basic as `client_id` / `secret`.
pub fn basic_form_request(
    uri: &str,
    client_id: &str,
    secret: &str,
    pairs: &[(&str, &str)],
) -> Request<Bytes> {
    let mut req = form_request(uri, pairs);
    req.headers_mut()
        .insert("authorization", basic(client_id, secret).parse().unwrap());
    req
}

/// A token request authenticated with Basic as `client_id` / [`SECRET`] (a seeded client).
pub fn token_request(client_id: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    basic_form_request("/oauth2/token", client_id, SECRET, pairs)
}

/// The standard code exchange request with [`REDIRECT`] and [`VERIFIER`].
pub fn code_exchange(client_id: &str, code: &str) -> Request<Bytes> {
    token_request(
        client_id,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
}

/// A refresh request.
pub fn refresh_request(client_id: &str, refresh_token: &str) -> Request<Bytes> {
    token_request(
        client_id,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
}

/// `POST /oauth2/revoke` by `client_id` with Basic authentication ([`SECRET`]).
pub fn revoke_request(client_id: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    basic_form_request("/oauth2/revoke", client_id, SECRET, pairs)
}

/// Sends a request to the public API.
pub async fn public(p: &Provider, req: Request<Bytes>) -> Response<Bytes> {
    p.public().handle(req).await
}

// Checking responses.

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

/// Asserts `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn assert_no_store(res: &Response<Bytes>) {
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
}

// JWTs in responses.

/// Verifies an ID token against the published JWKS and returns its claims.
pub async fn verify_id_token(p: &Provider, token: &str) -> Map<String, Value> {
    let res = public(p, empty_request(Method::GET, "/.well-known/jwks.json")).await;
    let set: JwkSet = serde_json::from_slice(res.body()).unwrap();
    VerifyingKeys::from_jwk_set(&set)
        .unwrap()
        .verify_jwt(token)
        .unwrap()
}

/// The `n`-th dot-separated part of a JWS, decoded as JSON.
fn jwt_part(jwt: &str, n: usize) -> Value {
    let part = jwt.split('.').nth(n).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The (unverified) header of a JWT.
pub fn jwt_header(jwt: &str) -> Value {
    jwt_part(jwt, 0)
}

/// The (unverified) claims of a JWT.
pub fn jwt_claims(jwt: &str) -> Value {
    jwt_part(jwt, 1)
}

/// The `alg` of a JWS header.
pub fn jwt_alg(jwt: &str) -> Algorithm {
    serde_json::from_value(jwt_header(jwt)["alg"].clone()).unwrap()
}
