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
//! ```sh
//! cargo run --release --example load_floor    # FLOOR_PORT (default 0: any free port)
//! ```

use std::convert::Infallible;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
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
        "/oauth2/token" => match (basic(req), param("grant_type")) {
            (Some((id, secret)), Some(grant))
                if !id.is_empty() && !secret.is_empty() && grant == "client_credentials" =>
            {
                // The public API's CORS layer adds this to every answer.
                let mut res = json(StatusCode::OK, TOKEN_BODY);
                let vary = HeaderValue::from_static("Origin");
                res.headers_mut().insert(header::VARY, vary);
                res
            }
            _ => bad_request(),
        },
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
