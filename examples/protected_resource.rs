//! A protected resource for the provider's access tokens: a minimal MCP server on axum that
//! answers only requests carrying an access token issued *for it* (its URL in the token's
//! `aud`, RFC 8707), on `RESOURCE_HOST:RESOURCE_PORT` (default 127.0.0.1:4446).
//!
//! ```sh
//! cargo run --example axum_server          # the authorization server on :4444 and :4445
//! cargo run --example protected_resource   # this resource, http://127.0.0.1:4446/mcp
//! ```
//!
//! What it serves:
//! * Its RFC 9728 metadata (`resource`, `authorization_servers`, `scopes_supported`,
//!   `bearer_methods_supported`, `resource_name`; §2) at the URL §3.1 derives from the
//!   resource identifier: `/.well-known/oauth-protected-resource` inserted before the
//!   resource's path (`/.well-known/oauth-protected-resource/mcp`). For a resource with a path
//!   the same document is also served at the root well-known URL, the second place the MCP
//!   authorization spec ("Protected Resource Metadata Discovery Requirements") lets clients look.
//! * The MCP endpoint at the resource's path (`POST /mcp`), the Streamable HTTP transport cut
//!   to what a client needs to connect and use one tool: `initialize`, `ping`, `tools/list`,
//!   `tools/call` of `whoami` (what the token says), notifications and responses answered 202.
//!   JSON answers only: no SSE stream (`GET` is 405, which the transport allows) and no
//!   sessions.
//!
//! How it refuses (RFC 6750 §3, RFC 9728 §5.1, MCP authorization "Token Handling" and
//! "Error Handling"): no bearer token → 401 with `WWW-Authenticate: Bearer
//! resource_metadata="…", scope="…"` and no error code; a token that is unknown, expired,
//! revoked, not an access token, or whose `aud` lacks this resource → 401 `invalid_token`;
//! a valid token without the required scopes → 403 `insufficient_scope`; the authorization
//! server unreachable → 503 (an outage is never taken for a verdict).
//!
//! RFC 9068 JWT access tokens (clients with `access_token_strategy: jwt`) are verified here
//! with the crate's `resource_server::AccessTokenVerifier` against the provider's JWKS
//! (signature, `typ`, `iss`, `aud`, `exp`), without a call per request. Opaque tokens are
//! checked by RFC 7662 introspection at the provider's admin API, each answer cached for
//! [`CACHE_TTL`] (never past the token's expiry) under the SHA-256 of the token, so the cache
//! holds no bearer strings. Both sit behind [`TokenVerifier`]; audience, expiry and scope are
//! enforced after it, whichever verifier answered.
//!
//! Configuration (environment):
//! * `RESOURCE_HOST`, `RESOURCE_PORT`: where it listens (127.0.0.1, 4446; port 0 lets the OS
//!   choose);
//! * `RESOURCE_URL`: the resource identifier, which is also the MCP endpoint's URL (default
//!   `http://{RESOURCE_HOST}:{port}/mcp`; set it behind a proxy). No query, no fragment;
//! * `OAUTH2_ISSUER_URL`: the authorization server's issuer (default `http://127.0.0.1:4444/`);
//! * `ADMIN_URL`: the provider's admin API, for introspection (default
//!   `http://127.0.0.1:4445`; plain http only, this example has no TLS client);
//! * `RESOURCE_SCOPES`: the scopes a token must hold, comma-separated (default `mcp:tools`).

use std::collections::HashMap;
use std::future::IntoFuture;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use oauth2_provider::resource_server::{AccessTokenVerifier, JwksSource, VerifyError};
use oauth2_provider::{Introspection, JwkSet, async_trait};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The examples' one HTTP client call (shared with their back-channel logout notifier).
#[path = "common/http_client.rs"]
mod http_client;

/// How long an introspection answer is reused: a revoked token keeps working here for at
/// most this long, in exchange for one introspection per token and window instead of one
/// per request.
const CACHE_TTL: Duration = Duration::from_secs(10);
/// Most cached answers; when full, expired ones are dropped, and if none had expired, all.
const CACHE_MAX: usize = 10_000;
/// Most bytes read of an introspection answer.
const MAX_INTROSPECTION_BYTES: usize = 64 * 1024;
/// The largest JWKS answer read.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Most bytes of an MCP request body.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// MCP revisions this server speaks, newest first (`initialize` answers the client's if it
/// is one of them, else the newest: MCP lifecycle, "Version Negotiation").
const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
/// The RFC 9728 §3 well-known URI string.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// `println!` that never panics: a server must not die because its stdout was closed.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Why the server could not start or stopped badly; decides the exit code, as in the
/// provider's examples (2 for configuration, 1 for anything else).
#[derive(Debug)]
enum Failure {
    Config(String),
    Runtime(String),
}

/// An environment variable; empty counts as unset.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Everything the environment configures.
#[derive(Debug)]
struct Settings {
    addr: SocketAddr,
    /// `RESOURCE_URL` as given, or `None` for the default, which needs the bound port.
    resource: Option<String>,
    issuer: String,
    introspection_url: url::Url,
    scopes: Vec<String>,
}

impl Settings {
    fn from_env() -> Result<Self, Failure> {
        let host = var("RESOURCE_HOST").unwrap_or_else(|| "127.0.0.1".into());
        let port = match var("RESOURCE_PORT") {
            Some(p) => p.parse::<u16>().map_err(|_| {
                Failure::Config(format!("RESOURCE_PORT={p:?} is not a port number"))
            })?,
            None => 4446,
        };
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| Failure::Config(format!("RESOURCE_HOST={host:?} does not resolve")))?;
        let issuer = var("OAUTH2_ISSUER_URL").unwrap_or_else(|| "http://127.0.0.1:4444/".into());
        url::Url::parse(&issuer)
            .map_err(|e| Failure::Config(format!("OAUTH2_ISSUER_URL={issuer:?}: {e}")))?;
        let admin = var("ADMIN_URL").unwrap_or_else(|| "http://127.0.0.1:4445".into());
        let introspection_url = url::Url::parse(&format!(
            "{}/oauth2/introspect",
            admin.trim_end_matches('/')
        ))
        .ok()
        .filter(|url| url.scheme() == "http" && url.host_str().is_some())
        .ok_or_else(|| {
            Failure::Config(format!(
                "ADMIN_URL={admin:?} must be an http URL (this example has no TLS \
                         client; the admin API belongs on a private network)"
            ))
        })?;
        let scopes: Vec<String> = var("RESOURCE_SCOPES")
            .unwrap_or_else(|| "mcp:tools".into())
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        // RFC 6749 §3.3 scope-token: what may stand inside the quoted `scope` challenge.
        if let Some(bad) = scopes.iter().find(|s| {
            !s.bytes()
                .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        }) {
            return Err(Failure::Config(format!(
                "RESOURCE_SCOPES: {bad:?} is not an RFC 6749 scope token"
            )));
        }
        let settings = Self {
            addr,
            resource: var("RESOURCE_URL"),
            issuer,
            introspection_url,
            scopes,
        };
        if let Some(resource) = &settings.resource {
            Resource::new(resource)?;
        }
        Ok(settings)
    }
}

/// The resource identifier and the URLs derived from it.
#[derive(Debug)]
struct Resource {
    /// The identifier, byte for byte as published and as the `aud` must hold it.
    id: String,
    /// The path of the MCP endpoint: the identifier's path.
    path: String,
    /// The path of its RFC 9728 §3.1 metadata URL.
    metadata_path: String,
    /// The metadata URL, absolute, for `WWW-Authenticate`.
    metadata_url: String,
    /// Its origin, the only `Origin` a browser request may carry.
    origin: String,
}

impl Resource {
    /// Checks an identifier (RFC 8707 §2: an absolute URI without a fragment; a query is
    /// refused too, which §2 discourages and this example does not need).
    fn new(id: &str) -> Result<Self, Failure> {
        let url = url::Url::parse(id)
            .map_err(|e| Failure::Config(format!("RESOURCE_URL={id:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(Failure::Config(format!(
                "RESOURCE_URL={id:?} must be an http(s) URL without query or fragment"
            )));
        }
        let path = url.path().to_owned();
        // §3.1: the well-known string goes between the host and the path; a lone `/` adds
        // nothing after it.
        let metadata_path = if path == "/" {
            WELL_KNOWN.to_owned()
        } else {
            format!("{WELL_KNOWN}{path}")
        };
        let origin = url.origin().ascii_serialization();
        Ok(Self {
            id: id.to_owned(),
            metadata_url: format!("{origin}{metadata_path}"),
            path,
            metadata_path,
            origin,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Token verification

/// What an active access token says, whoever verified it.
#[derive(Debug, Clone, PartialEq)]
struct Claims {
    sub: String,
    client_id: String,
    /// Space-separated.
    scope: String,
    /// The resources the token is for.
    aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    exp: Option<i64>,
}

/// Why a token could not be checked at all (not a verdict on the token).
#[derive(Debug)]
struct Unavailable(String);

/// Turns a bearer token into its claims: `Ok(None)` for anything that is not an active
/// access token. Introspection implements it here; a verifier of JWT access tokens
/// (RFC 9068) can replace it without touching the checks that follow.
#[async_trait]
trait TokenVerifier: Send + Sync + std::fmt::Debug {
    async fn verify(&self, token: &str) -> Result<Option<Claims>, Unavailable>;
}

/// RFC 7662 introspection at the provider's admin API, with a short cache.
#[derive(Debug)]
struct Introspector {
    url: url::Url,
    /// Answers by the SHA-256 of their token.
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

/// An introspection answer and how long it may be reused.
#[derive(Debug)]
struct Cached {
    until: Instant,
    claims: Option<Claims>,
}

impl Introspector {
    fn new(url: url::Url) -> Self {
        Self {
            url,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The provider's answer, as claims: only an active access token has any (an active
    /// refresh token is refused like an unknown one).
    async fn introspect(&self, token: &str) -> Result<Option<Claims>, Unavailable> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish();
        let (status, body) = http_client::post_form(&self.url, form, MAX_INTROSPECTION_BYTES)
            .await
            .map_err(|e| Unavailable(format!("introspection at {}: {e}", self.url)))?;
        let Some(body) = body.filter(|_| status == StatusCode::OK) else {
            return Err(Unavailable(format!(
                "introspection at {} answered {status} (or more than {MAX_INTROSPECTION_BYTES} bytes)",
                self.url
            )));
        };
        let answer: Introspection = serde_json::from_slice(&body)
            .map_err(|e| Unavailable(format!("introspection answer: {e}")))?;
        Ok(
            (answer.active && answer.token_type == "access_token").then_some(Claims {
                sub: answer.sub,
                client_id: answer.client_id,
                scope: answer.scope,
                aud: answer.aud,
                exp: answer.exp,
            }),
        )
    }
}

#[async_trait]
impl TokenVerifier for Introspector {
    async fn verify(&self, token: &str) -> Result<Option<Claims>, Unavailable> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .get(&key)
                .filter(|cached| cached.until > now)
                .map(|cached| cached.claims.clone())
        };
        if let Some(claims) = cached {
            return Ok(claims);
        }
        let claims = self.introspect(token).await?;
        let until = match claims.as_ref().and_then(|c| c.exp) {
            Some(exp) => now + CACHE_TTL.min(Duration::from_secs(seconds_until(exp))),
            None => now + CACHE_TTL,
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, cached| cached.until > now);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        let cached = Cached {
            until,
            claims: claims.clone(),
        };
        cache.insert(key, cached);
        Ok(claims)
    }
}

/// RFC 9068 JWT access tokens are verified here, with the crate's verifier and the provider's
/// published keys; anything else (opaque tokens) goes to introspection. A JWT is accepted
/// until its `exp` even if revoked since: that is the price of not asking the provider.
#[derive(Debug)]
struct JwtOrIntrospection {
    jwt: AccessTokenVerifier,
    introspection: Introspector,
}

/// The provider's JWKS over HTTP, for the verifier's cache.
#[derive(Debug)]
struct JwksOverHttp {
    url: url::Url,
}

#[async_trait]
impl JwksSource for JwksOverHttp {
    async fn fetch(&self) -> Result<JwkSet, String> {
        match http_client::request(http::Method::GET, &self.url, None, MAX_JWKS_BYTES).await? {
            (StatusCode::OK, Some(body)) => {
                serde_json::from_slice(&body).map_err(|e| e.to_string())
            }
            (status, _) => Err(format!("{} answered {status}", self.url)),
        }
    }
}

#[async_trait]
impl TokenVerifier for JwtOrIntrospection {
    async fn verify(&self, token: &str) -> Result<Option<Claims>, Unavailable> {
        if !(token.starts_with("eyJ") && token.matches('.').count() == 2) {
            return self.introspection.verify(token).await;
        }
        match self.jwt.verify(token).await {
            Ok(claims) => Ok(Some(Claims {
                sub: claims.sub,
                client_id: claims.client_id,
                scope: claims.scope.join(" "),
                aud: claims.aud,
                exp: Some(claims.exp),
            })),
            Err(VerifyError::KeysUnavailable(why)) => Err(Unavailable(why)),
            // Genuine but for another resource: introspection tells whose and for what, so
            // that the refusal below names the audience (rare, and cached like any answer).
            Err(VerifyError::WrongAudience) => self.introspection.verify(token).await,
            Err(why) => {
                say!("401: a JWT access token was refused: {why}");
                Ok(None)
            }
        }
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whole seconds from now until `exp` (0 if past).
fn seconds_until(exp: i64) -> u64 {
    u64::try_from(exp.saturating_sub(now_unix())).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Authorization of a request

/// Why a request is refused.
#[derive(Debug)]
enum Denied {
    /// No bearer token at all: RFC 6750 §3.1 wants no error code then.
    NoToken,
    /// 401 `invalid_token`, with a description.
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`.
    InsufficientScope,
    /// The token could not be checked: 503.
    Unavailable,
}

/// What the handlers share.
#[derive(Debug)]
struct App {
    resource: Resource,
    issuer: String,
    scopes: Vec<String>,
    verifier: Box<dyn TokenVerifier>,
}

impl App {
    /// The bearer token of `Authorization` (RFC 6750 §2.1; tokens in the query or body are
    /// not accepted, `bearer_methods_supported` says `header`), checked: active, an access
    /// token, not expired, for this resource, with the required scopes.
    async fn authorize(&self, headers: &HeaderMap) -> Result<Claims, Denied> {
        let Some(credentials) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(Denied::NoToken);
        };
        let Some(token) = credentials
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
        else {
            return Err(Denied::NoToken);
        };
        if token.is_empty() || token.contains(' ') {
            return Err(Denied::InvalidToken("The bearer token is malformed."));
        }
        let claims = match self.verifier.verify(token).await {
            Ok(Some(claims)) => claims,
            Ok(None) => {
                return Err(Denied::InvalidToken(
                    "The access token is not active (unknown, expired or revoked).",
                ));
            }
            Err(Unavailable(why)) => {
                say!("503: cannot check a token: {why}");
                return Err(Denied::Unavailable);
            }
        };
        if claims.exp.is_some_and(|exp| exp <= now_unix()) {
            return Err(Denied::InvalidToken("The access token has expired."));
        }
        // RFC 8707 §2 / MCP "Token Handling": a token for another resource is no token here.
        if !claims.aud.contains(&self.resource.id) {
            say!(
                "401: a token of client {:?} for {:?} is not for {}",
                claims.client_id,
                claims.aud,
                self.resource.id
            );
            return Err(Denied::InvalidToken(
                "The access token was not issued for this resource (aud).",
            ));
        }
        let granted: Vec<&str> = claims.scope.split(' ').collect();
        if !self.scopes.iter().all(|s| granted.contains(&s.as_str())) {
            return Err(Denied::InsufficientScope);
        }
        Ok(claims)
    }

    /// The refusal as RFC 6750 §3 and RFC 9728 §5.1 spell it.
    fn refuse(&self, denied: &Denied) -> Response {
        let metadata = &self.resource.metadata_url;
        let scope = self.scopes.join(" ");
        let (status, challenge, body) = match denied {
            Denied::NoToken => (
                StatusCode::UNAUTHORIZED,
                format!("Bearer resource_metadata=\"{metadata}\", scope=\"{scope}\""),
                Bytes::new(),
            ),
            Denied::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{why}\", \
                     resource_metadata=\"{metadata}\""
                ),
                oauth_error("invalid_token", why),
            ),
            Denied::InsufficientScope => (
                StatusCode::FORBIDDEN,
                format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\", \
                     resource_metadata=\"{metadata}\""
                ),
                oauth_error(
                    "insufficient_scope",
                    "The access token lacks a required scope.",
                ),
            ),
            Denied::Unavailable => {
                let body = oauth_error(
                    "temporarily_unavailable",
                    "The token could not be checked; retry.",
                );
                return json_response(StatusCode::SERVICE_UNAVAILABLE, body);
            }
        };
        let mut res = if body.is_empty() {
            status.into_response()
        } else {
            json_response(status, body)
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        res
    }
}

fn oauth_error(error: &str, description: &str) -> Bytes {
    Bytes::from(json!({"error": error, "error_description": description}).to_string())
}

fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut res = (status, body.into()).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

// ---------------------------------------------------------------------------------------
// Routes

/// RFC 9728 §2: the metadata document.
async fn metadata(State(app): State<Arc<App>>) -> Response {
    let document = json!({
        "resource": app.resource.id,
        "authorization_servers": [app.issuer],
        "scopes_supported": app.scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "oauth2-provider example MCP server",
    });
    let mut res = json_response(StatusCode::OK, document.to_string());
    // Public metadata: any origin may read it (RFC 9728 leaves CORS to the resource).
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// The MCP endpoint: authorization first, then one JSON-RPC message.
async fn mcp(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    // MCP transports, "Security Warning": a foreign Origin is refused (DNS rebinding).
    let foreign_origin = headers
        .get(header::ORIGIN)
        .is_some_and(|origin| origin.as_bytes() != app.resource.origin.as_bytes());
    if foreign_origin {
        return json_response(
            StatusCode::FORBIDDEN,
            oauth_error(
                "invalid_request",
                "This Origin may not call the MCP server.",
            ),
        );
    }
    let claims = match app.authorize(&headers).await {
        Ok(claims) => claims,
        Err(denied) => return app.refuse(&denied),
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return rpc_error(StatusCode::BAD_REQUEST, Value::Null, -32700, "Parse error");
    };
    let id = message.get("id").cloned();
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        // A response to a request of ours (there are none) or not JSON-RPC at all.
        if message.is_object() && id.is_some() {
            return StatusCode::ACCEPTED.into_response();
        }
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32600,
            "Invalid Request",
        );
    };
    // A notification (no id) gets 202 and no body (MCP transports, "Sending Messages").
    let Some(id) = id else {
        return StatusCode::ACCEPTED.into_response();
    };
    let params = message.get("params").unwrap_or(&Value::Null);
    let result = match method {
        "initialize" => initialize(params),
        "ping" => json!({}),
        "tools/list" => json!({"tools": [whoami_tool()]}),
        "tools/call" if params.get("name").and_then(Value::as_str) == Some("whoami") => {
            whoami(&claims)
        }
        "tools/call" => return rpc_error(StatusCode::OK, id, -32602, "Unknown tool"),
        _ => return rpc_error(StatusCode::OK, id, -32601, "Method not found"),
    };
    json_response(
        StatusCode::OK,
        json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string(),
    )
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    json_response(
        status,
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            .to_string(),
    )
}

/// The `initialize` result: the client's protocol revision if this server speaks it.
fn initialize(params: &Value) -> Value {
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    let version = PROTOCOL_VERSIONS
        .iter()
        .find(|v| Some(**v) == asked)
        .unwrap_or(&PROTOCOL_VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "oauth2-provider-protected-resource", "version": env!("CARGO_PKG_VERSION")},
    })
}

fn whoami_tool() -> Value {
    json!({
        "name": "whoami",
        "description": "What the access token of this request says: subject, client, scope, audience.",
        "inputSchema": {"type": "object", "properties": {}},
    })
}

fn whoami(claims: &Claims) -> Value {
    let text = json!({
        "sub": claims.sub,
        "client_id": claims.client_id,
        "scope": claims.scope,
        "aud": claims.aud,
    })
    .to_string();
    json!({"content": [{"type": "text", "text": text}]})
}

/// No SSE stream and no sessions: `GET` and `DELETE` on the endpoint are 405 (MCP
/// transports, "Listening for Messages from the Server" and "Session Management").
async fn method_not_allowed() -> Response {
    let mut res = StatusCode::METHOD_NOT_ALLOWED.into_response();
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    res
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() {
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The provider's `jwks_uri`, as its discovery names it: `{issuer}/.well-known/jwks.json`.
fn jwks_url(issuer: &str) -> Result<url::Url, Failure> {
    let url = format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'));
    url::Url::parse(&url).map_err(|e| Failure::Config(format!("OAUTH2_ISSUER_URL: {e}")))
}

async fn main_inner() -> Result<(), Failure> {
    let settings = Settings::from_env()?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot listen on {}: {e}", settings.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Runtime(format!("the listener has no address: {e}")))?;
    // The default names the bound port, so that RESOURCE_PORT=0 stays true.
    let id = settings
        .resource
        .unwrap_or_else(|| format!("http://{addr}/mcp"));
    let resource = Resource::new(&id)?;
    let mut router = Router::new()
        .route(&resource.metadata_path, get(metadata))
        .route(
            &resource.path,
            get(method_not_allowed).delete(method_not_allowed).post(mcp),
        );
    if resource.metadata_path != WELL_KNOWN {
        router = router.route(WELL_KNOWN, get(metadata));
    }
    say!("protected resource listening on http://{addr}");
    say!("resource {}", resource.id);
    say!("metadata {}", resource.metadata_url);
    say!(
        "opaque tokens introspected at {}",
        settings.introspection_url
    );
    let jwks = JwksOverHttp {
        url: jwks_url(&settings.issuer)?,
    };
    say!("JWT access tokens verified with the keys at {}", jwks.url);
    let (issuer, resource_id) = (settings.issuer.clone(), resource.id.clone());
    let app = Arc::new(App {
        resource,
        issuer: settings.issuer,
        scopes: settings.scopes,
        verifier: Box::new(JwtOrIntrospection {
            jwt: AccessTokenVerifier::new(&issuer, &resource_id, Arc::new(jwks)),
            introspection: Introspector::new(settings.introspection_url),
        }),
    });
    let router = router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app);
    axum::serve(listener, router)
        .with_graceful_shutdown(signalled())
        .into_future()
        .await
        .map_err(|e| Failure::Runtime(format!("the server failed: {e}")))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (code, line) = match main_inner().await {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Config(why)) => (2, format!("configuration error: {why}")),
        Err(Failure::Runtime(why)) => (1, format!("error: {why}")),
    };
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
    ExitCode::from(code)
}
