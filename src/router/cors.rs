//! CORS as Hydra beta.9 does it, on exactly four kinds of route:
//!
//! * `/oauth2/token`, `/oauth2/revoke`, `/userinfo`: an origin is allowed when the request's
//!   client lists it in `allowed_cors_origins` (exact match). The client is the one the request
//!   names — the Basic user or the `client_id` form parameter for token and revoke, the owner
//!   of the access token for userinfo (read as the endpoint reads it: header or POST form,
//!   never the query). Naming a client is enough: the CORS headers only let the
//!   browser *read* the answer, and the endpoint still authenticates the request.
//! * `/.well-known/*` (OpenID discovery, RFC 8414 metadata, JWKS):
//!   `Config::discovery_cors_origins` (exact match).
//!
//! A preflight (`OPTIONS`) carries no credentials, so it is allowed when *any* client lists the
//! origin ([`ClientStore::origin_allowed`](crate::store::ClientStore::origin_allowed)); the
//! actual request is then checked against its own client. Credentials (cookies) are never
//! allowed cross-origin, and neither `/oauth2/auth` nor the admin API ever answers with CORS
//! headers: the router's route table gives a [`Policy`] to the routes above only.

use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::context::Context;
use crate::grant::client_auth;
use crate::http::bearer;
use crate::http::params::Params;
use crate::http::{Request, Response, response};
use crate::token::lookup;

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Whose origins may read a route's answers cross-origin; the router knows which route has
/// which policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Discovery, RFC 8414 metadata and JWKS: the configured origin list.
    Configured,
    /// Token and revocation: the origins of the client the request names.
    NamedClient,
    /// Userinfo: the origins of the access token's client.
    TokenClient,
}

impl Policy {
    /// Captures what the CORS decision for an actual request needs, before the endpoint
    /// consumes the request.
    pub(crate) fn actual(self, req: &Request) -> Actual {
        let origin = origin(req.headers());
        let principal = match (&origin, self) {
            (None, _) | (_, Self::Configured) => Principal::None,
            (Some(_), Self::NamedClient) => named_client(req),
            (Some(_), Self::TokenClient) => bearer_token(req),
        };
        Actual {
            policy: self,
            origin,
            principal,
        }
    }
}

/// Who an actual request claims to act for.
#[derive(Debug)]
enum Principal {
    None,
    ClientId(String),
    AccessToken(String),
}

/// The CORS state of an actual (non-preflight) request.
#[derive(Debug)]
pub(crate) struct Actual {
    policy: Policy,
    origin: Option<String>,
    principal: Principal,
}

impl Actual {
    /// Adds `Vary: Origin`, and `Access-Control-Allow-Origin` when the origin is allowed.
    /// A store failure here only withholds the header: the endpoint has already answered.
    pub(crate) async fn apply(self, p: &Context, mut res: Response) -> Response {
        vary_on_origin(res.headers_mut());
        let Some(origin) = self.origin else {
            return res;
        };
        let allowed = match (self.policy, self.principal) {
            (Policy::Configured, _) => configured_allows(p, &origin),
            (_, Principal::ClientId(id)) => client_allows(p, &id, &origin).await,
            (_, Principal::AccessToken(token)) => {
                match lookup::access_or_refresh(p.store.as_ref(), &token).await {
                    Ok(Some(record)) => client_allows(p, &record.grant.client_id, &origin).await,
                    _ => false,
                }
            }
            (_, Principal::None) => false,
        };
        if allowed {
            allow_origin(res.headers_mut(), &origin);
        }
        res
    }
}

/// Answers a preflight `OPTIONS` request with 204, with the CORS headers when allowed;
/// `methods` is the route's list (`GET, POST`). A store failure is a 5xx without them.
pub(crate) async fn preflight(
    p: &Context,
    req: &Request,
    policy: Policy,
    methods: &str,
) -> Response {
    let mut res = response::empty(StatusCode::NO_CONTENT);
    vary_on_origin(res.headers_mut());
    let Some(origin) = origin(req.headers()) else {
        return res;
    };
    let allowed = match policy {
        Policy::Configured => configured_allows(p, &origin),
        Policy::NamedClient | Policy::TokenClient => match p.store.origin_allowed(&origin).await {
            Ok(allowed) => allowed,
            Err(e) => return p.error_response(&crate::error::OAuthError::store_failure(e)),
        },
    };
    if allowed {
        let headers = res.headers_mut();
        allow_origin(headers, &origin);
        if let Ok(methods) = HeaderValue::from_str(methods) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
    }
    res
}

fn origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
}

fn configured_allows(p: &Context, origin: &str) -> bool {
    p.config.discovery_cors_origins.iter().any(|o| o == origin)
}

async fn client_allows(p: &Context, client_id: &str, origin: &str) -> bool {
    p.client(client_id)
        .await
        .is_ok_and(|r| r.client.allowed_cors_origins.iter().any(|o| o == origin))
}

/// The client a token or revocation request names: the Basic user, else `client_id`.
fn named_client(req: &Request) -> Principal {
    if let Ok(Some(basic)) = client_auth::basic_credentials(req) {
        return Principal::ClientId(basic.into_id());
    }
    match Params::from_form(req)
        .ok()
        .and_then(|p| Some(p.get("client_id").ok()??.to_owned()))
    {
        Some(id) => Principal::ClientId(id),
        None => Principal::None,
    }
}

/// The access token of a userinfo request, read by the endpoint's own rules.
fn bearer_token(req: &Request) -> Principal {
    match bearer::token(req) {
        Ok(token) => Principal::AccessToken(token),
        Err(_) => Principal::None,
    }
}

fn vary_on_origin(headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}
