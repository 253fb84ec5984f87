//! The bare-handler floor of the load benchmark: what one core does with the same requests
//! when nothing but HTTP happens, so that `run.sh` can state the provider's rate as a fraction
//! of it, measured in the same run.
//!
//! Served like `examples/hyper_server.rs` (hyper 1, HTTP/1.1 keep-alive with a timer,
//! `TCP_NODELAY`, one task per connection, the body collected under a limit, the tokio runtime
//! of `#[tokio::main]`, which `taskset` to one core gives one worker thread), it answers
//!
//! * `POST /oauth2/token`: decodes the HTTP Basic header (base64, then `client_id:secret`,
//!   each form-decoded), parses the form body, requires `grant_type=client_credentials`, and
//!   answers a fixed JSON body of the shape and size of the provider's token response (with
//!   its headers: `Cache-Control: no-store`, `Pragma: no-cache`, `Vary: Origin`);
//! * `POST /oauth2/introspect`: parses the form body, requires `token`, and answers a fixed
//!   JSON body of the shape and size of the provider's introspection of an active
//!   client_credentials token.
//!
//! No client lookup, no secret check, no random token, no store: the difference to the
//! provider is the provider's own work.
//!
//! * `POST /essential/oauth2/token`: the token answer plus the work any provider must do for
//!   a `client_credentials` token, and nothing else: the client's secret digest looked up by
//!   id (the first request of an id registers its secret) and compared in constant time with
//!   the presented one's, 32 random bytes as the token, its SHA-256 kept with the client and
//!   the token's times in a table of all tokens (sharded like the memory store's, so it grows
//!   without long pauses), and the token in the JSON answer. What the provider costs beyond
//!   this is what its generality costs: routing, parameters, records, store traits, layers.
//!
//! ```sh
//! cargo run --release --example load_floor    # FLOOR_PORT (default 0: any free port)
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;

/// The provider's default `Config::max_body_bytes`.
const MAX_BODY: usize = 16 * 1024;

/// A token response as the provider renders it for client_credentials (a 256-bit token, no
/// scope): the same length (119 bytes) and headers.
const TOKEN_BODY: &str = concat!(
    r#"{"access_token":"op_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","#,
    r#""token_type":"bearer","expires_in":3600,"scope":""}"#
);

/// The provider's introspection answer for an active client_credentials token of a client with
/// a generated (36-character) id, issued on an ephemeral port: the same length (222 bytes).
const INTROSPECT_BODY: &str = concat!(
    r#"{"active":true,"client_id":"00000000-0000-0000-0000-000000000000","#,
    r#""sub":"00000000-0000-0000-0000-000000000000","exp":1796034092,"iat":1796030492,"#,
    r#""nbf":1796030492,"iss":"http://127.0.0.1:46867/","token_type":"access_token"}"#
);

fn json(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn bad_request() -> Response<Full<Bytes>> {
    json(StatusCode::BAD_REQUEST, r#"{"error":"invalid_request"}"#)
}

/// `client_id:secret` from an HTTP Basic header, each part form-decoded (RFC 6749 §2.3.1).
fn basic(req: &Request<Bytes>) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |s: &str| -> Option<String> {
        let plus = s.replace('+', " ");
        percent_encoding::percent_decode_str(&plus)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

/// A token's digest is uniform: its first 8 bytes are its hash, as in the memory store.
#[derive(Debug, Default)]
struct FirstBytes(u64);

impl Hasher for FirstBytes {
    fn finish(&self) -> u64 {
        self.0
    }

    /// The last write wins: a `[u8; 32]` key writes its length, then its bytes.
    fn write(&mut self, bytes: &[u8]) {
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 = u64::from_le_bytes(first);
    }
}

/// What a token's record holds at least: who it is for, when it was issued, when it expires.
type Issued = (Arc<str>, i64, i64);
type Shard = HashMap<[u8; 32], Issued, BuildHasherDefault<FirstBytes>>;

/// Shards by the digest's last byte, as many as the memory store has.
static TOKENS: LazyLock<Vec<Mutex<Shard>>> =
    LazyLock::new(|| (0..256).map(|_| Mutex::default()).collect());
/// Each client's id, shared by its tokens, and its secret's digest, by id.
type Clients = HashMap<String, (Arc<str>, [u8; 32])>;
static CLIENTS: LazyLock<Mutex<Clients>> = LazyLock::new(Mutex::default);

/// The `/essential/oauth2/token` answer (see the module docs).
fn essential_token(id: String, secret: &str) -> Response<Full<Bytes>> {
    let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let client = {
        let mut clients = CLIENTS.lock().unwrap_or_else(PoisonError::into_inner);
        let (client, expected) = clients
            .entry(id)
            .or_insert_with_key(|id| (id.as_str().into(), presented));
        if !bool::from(expected.ct_eq(&presented)) {
            return json(StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#);
        }
        Arc::clone(client)
    };
    let mut random = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut random);
    let mut token = String::from("op_at_");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(random, &mut token);
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    TOKENS[usize::from(digest[31])]
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(digest, (client, now, now + 3600));
    let body = format!(
        r#"{{"access_token":"{token}","token_type":"bearer","expires_in":3600,"scope":""}}"#
    );
    let mut res = json(StatusCode::OK, "");
    *res.body_mut() = Full::new(Bytes::from(body));
    res
}

fn form(req: &Request<Bytes>) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(req.body()).ok()
}

fn handle(req: &Request<Bytes>) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"invalid_request"}"#,
        );
    }
    let Some(params) = form(req) else {
        return bad_request();
    };
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    match req.uri().path() {
        path @ ("/oauth2/token" | "/essential/oauth2/token") => {
            match (basic(req), param("grant_type")) {
                (Some((id, secret)), Some(grant))
                    if !id.is_empty() && !secret.is_empty() && grant == "client_credentials" =>
                {
                    let mut res = if path == "/oauth2/token" {
                        json(StatusCode::OK, TOKEN_BODY)
                    } else {
                        essential_token(id, &secret)
                    };
                    // The public API's CORS layer adds this to every answer.
                    let vary = HeaderValue::from_static("Origin");
                    res.headers_mut().insert(header::VARY, vary);
                    res
                }
                _ => bad_request(),
            }
        }
        "/oauth2/introspect" => match param("token") {
            Some(token) if !token.is_empty() => json(StatusCode::OK, INTROSPECT_BODY),
            _ => bad_request(),
        },
        _ => json(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#),
    }
}

async fn serve(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => handle(&Request::from_parts(parts, collected.to_bytes())),
        Err(_) => bad_request(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("FLOOR_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("floor listening on http://{}", listener.local_addr()?);
    let mut http = http1::Builder::new();
    http.keep_alive(true).timer(TokioTimer::new());
    loop {
        let (stream, _peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let conn = http.serve_connection(
            TokioIo::new(stream),
            service_fn(|req| async { Ok::<_, Infallible>(serve(req).await) }),
        );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
