//! Routing: the seed's paths, parsed once into a [`PublicRoute`] or an [`AdminRoute`]. The
//! methods a route allows, whether it answers CORS, and the handler it reaches all come from
//! that one value. Admin paths are unreachable through the public handler and vice versa; an
//! unknown path is a 404 and a wrong method a 405 with `Allow`.
//!
//! # Boxing
//!
//! A request's future is as large as the largest handler it may reach, and every layer that
//! awaits it (the span, the host's server) moves it at least once: before the rarely-called
//! handlers were boxed, every request moved ~15 KB several times (a tenth of the CPU time of
//! a `client_credentials` request). The hot handlers — token, revocation, userinfo,
//! introspection — run inline; the others allocate their future, which costs far less than
//! they do.
//!
//! For the same reason the request goes down by reference: `PublicApi::handle` owns it and
//! every layer below holds a pointer, where each used to keep its own ~250-byte slot for it
//! (`PublicApi::handle` 4.4 KB → 2.3 KB, the token handler 1.7 KB → 1.2 KB).

use http::Method;
use http::header::{ALLOW, HeaderValue};

use crate::admin;
use crate::context::Context;
use crate::endpoint;
use crate::endpoint::fallbacks::Page;
use crate::error::OAuthError;
use crate::http::{Request, Response};
use crate::trace::RequestSpan;

mod cors;
pub mod table;

const GET: &[Method] = &[Method::GET];
const POST: &[Method] = &[Method::POST];
const PUT: &[Method] = &[Method::PUT];
const DELETE: &[Method] = &[Method::DELETE];
const GET_POST: &[Method] = &[Method::GET, Method::POST];

/// A path of the public API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicRoute {
    /// `/.well-known/openid-configuration`
    Discovery,
    /// `/.well-known/oauth-authorization-server`, followed by the issuer's path when it has
    /// one (RFC 8414 §3.1)
    AuthorizationServerMetadata,
    /// `/.well-known/jwks.json`
    Jwks,
    /// `/oauth2/auth`
    Authorize,
    /// `/oauth2/token`
    Token,
    /// `/oauth2/revoke`
    Revoke,
    /// `/userinfo`
    Userinfo,
    /// `/oauth2/auth/sessions/login/revoke`
    Logout,
    /// `/oauth2/sessions/logout`
    EndSession,
    /// `/oauth2/fallbacks/{error,consent,logout}`
    Fallback(Page),
    /// `/oauth2/register` (RFC 7591), when dynamic registration is on
    Register,
    /// `/oauth2/register/{id}` (RFC 7592), when dynamic registration is on
    RegisteredClient(String),
}

impl PublicRoute {
    /// The route of a path's raw segments; `None` is a 404. `issuer_path` is
    /// [`Config::issuer_path`](crate::config::Config::issuer_path): the RFC 8414 metadata is
    /// served where §3.1 puts it for this issuer and nowhere else.
    fn parse(segments: &[&str], issuer_path: &str) -> Result<Option<Self>, OAuthError> {
        Ok(Some(match segments {
            [".well-known", "openid-configuration"] => Self::Discovery,
            [".well-known", "oauth-authorization-server", rest @ ..]
                if is_issuer_path(rest, issuer_path) =>
            {
                Self::AuthorizationServerMetadata
            }
            [".well-known", "jwks.json"] => Self::Jwks,
            ["oauth2", "auth"] => Self::Authorize,
            ["oauth2", "token"] => Self::Token,
            ["oauth2", "revoke"] => Self::Revoke,
            ["userinfo"] => Self::Userinfo,
            ["oauth2", "auth", "sessions", "login", "revoke"] => Self::Logout,
            ["oauth2", "sessions", "logout"] => Self::EndSession,
            ["oauth2", "fallbacks", "error"] => Self::Fallback(Page::Error),
            ["oauth2", "fallbacks", "consent"] => Self::Fallback(Page::Consent),
            ["oauth2", "fallbacks", "logout"] => Self::Fallback(Page::Logout),
            ["oauth2", "register"] => Self::Register,
            ["oauth2", "register", id] => Self::RegisteredClient(parameter(id)?),
            _ => return Ok(None),
        }))
    }

    /// Whether the configuration serves the route: registration only when it is on, so that
    /// its paths are a 404 otherwise, as in Hydra.
    fn is_served(&self, p: &Context) -> bool {
        match self {
            Self::Register | Self::RegisteredClient(_) => {
                p.config.dynamic_client_registration.is_some()
            }
            Self::Discovery
            | Self::AuthorizationServerMetadata
            | Self::Jwks
            | Self::Authorize
            | Self::Token
            | Self::Revoke
            | Self::Userinfo
            | Self::Logout
            | Self::EndSession
            | Self::Fallback(_) => true,
        }
    }

    /// The route's name in the request span.
    fn name(&self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::AuthorizationServerMetadata => "authorization_server_metadata",
            Self::Jwks => "jwks",
            Self::Authorize => "authorize",
            Self::Token => "token",
            Self::Revoke => "revoke",
            Self::Userinfo => "userinfo",
            Self::Logout => "logout",
            Self::EndSession => "end_session",
            Self::Fallback(Page::Error) => "fallback_error",
            Self::Fallback(Page::Consent) => "fallback_consent",
            Self::Fallback(Page::Logout) => "fallback_logout",
            Self::Register => "register",
            Self::RegisteredClient(_) => "registered_client",
        }
    }

    /// The methods the route answers (in the order of the `Allow` header).
    fn methods(&self) -> &'static [Method] {
        match self {
            Self::Discovery
            | Self::AuthorizationServerMetadata
            | Self::Jwks
            | Self::Logout
            | Self::Fallback(_) => GET,
            Self::Authorize | Self::Userinfo | Self::EndSession => GET_POST,
            Self::Token | Self::Revoke | Self::Register => POST,
            Self::RegisteredClient(_) => &[Method::GET, Method::PUT, Method::DELETE],
        }
    }

    /// Whose origins may read the route's answers cross-origin; `None`: never (no CORS
    /// headers, and `OPTIONS` is a 405 like any other method the route does not answer).
    fn cors(&self) -> Option<cors::Policy> {
        match self {
            // Registration too: a browser-based client (the MCP Inspector) registers itself
            // from an origin the host lists.
            Self::Discovery
            | Self::AuthorizationServerMetadata
            | Self::Jwks
            | Self::Register
            | Self::RegisteredClient(_) => Some(cors::Policy::Configured),
            Self::Token | Self::Revoke => Some(cors::Policy::NamedClient),
            Self::Userinfo => Some(cors::Policy::TokenClient),
            Self::Authorize | Self::Logout | Self::EndSession | Self::Fallback(_) => None,
        }
    }

    /// Calls the handler: the token, revocation and userinfo endpoints inline, the others
    /// boxed ([`boxing`](self#boxing)).
    async fn dispatch(self, p: &Context, req: &Request) -> Response {
        match self {
            Self::Discovery => endpoint::discovery::openid_configuration(p, req),
            Self::AuthorizationServerMetadata => endpoint::discovery::authorization_server(p, req),
            Self::Jwks => endpoint::jwks::jwks(p, req),
            Self::Authorize => Box::pin(endpoint::authorize::authorize(p, req)).await,
            Self::Token => endpoint::token::token(p, req).await,
            Self::Revoke => endpoint::revoke::revoke(p, req).await,
            Self::Userinfo => endpoint::userinfo::userinfo(p, req).await,
            Self::Logout => Box::pin(endpoint::logout::logout(p, req)).await,
            Self::EndSession => Box::pin(endpoint::logout::sessions_logout(p, req)).await,
            Self::Fallback(page) => endpoint::fallbacks::page(p, req, page),
            Self::Register => Box::pin(endpoint::registration::create(p, req)).await,
            Self::RegisteredClient(id) => match *req.method() {
                Method::GET => Box::pin(endpoint::registration::get(p, req, &id)).await,
                Method::PUT => Box::pin(endpoint::registration::update(p, req, &id)).await,
                _ => Box::pin(endpoint::registration::delete(p, req, &id)).await,
            },
        }
    }
}

/// A path of the admin API, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminRoute {
    /// `/clients`
    Clients,
    /// `/clients/{id}`
    Client(String),
    /// `/oauth2/auth/requests/login/{challenge}`
    LoginRequest(String),
    /// `/oauth2/auth/requests/login/{challenge}/accept`
    AcceptLogin(String),
    /// `/oauth2/auth/requests/login/{challenge}/reject`
    RejectLogin(String),
    /// `/oauth2/auth/requests/consent/{challenge}`
    ConsentRequest(String),
    /// `/oauth2/auth/requests/consent/{challenge}/accept`
    AcceptConsent(String),
    /// `/oauth2/auth/requests/consent/{challenge}/reject`
    RejectConsent(String),
    /// `/oauth2/auth/requests/logout` (the challenge in the query)
    LogoutRequest,
    /// `/oauth2/auth/requests/logout/accept`
    AcceptLogout,
    /// `/oauth2/auth/requests/logout/reject`
    RejectLogout,
    /// `/oauth2/auth/sessions/consent/{subject}`
    ConsentSessions(String),
    /// `/oauth2/auth/sessions/consent/{subject}/{client}`
    ClientConsentSessions(String, String),
    /// `/oauth2/auth/sessions/login/{subject}`
    LoginSessions(String),
    /// `/oauth2/introspect`
    Introspect,
    /// `/oauth2/flush`
    Flush,
    /// `/keys/{set}`
    KeySet(String),
    /// `/keys/{set}/{kid}`
    Key(String, String),
    /// `/health/alive`
    Alive,
    /// `/health/ready`
    Ready,
}

impl AdminRoute {
    /// The route of a path's raw segments; `None` is a 404. Only the parameters are
    /// percent-decoded ([`parameter`]).
    fn parse(segments: &[&str]) -> Result<Option<Self>, OAuthError> {
        let p = parameter;
        Ok(Some(match segments {
            ["clients"] => Self::Clients,
            ["clients", id] => Self::Client(p(id)?),
            ["oauth2", "auth", "requests", "login", c] => Self::LoginRequest(p(c)?),
            ["oauth2", "auth", "requests", "login", c, "accept"] => Self::AcceptLogin(p(c)?),
            ["oauth2", "auth", "requests", "login", c, "reject"] => Self::RejectLogin(p(c)?),
            ["oauth2", "auth", "requests", "consent", c] => Self::ConsentRequest(p(c)?),
            ["oauth2", "auth", "requests", "consent", c, "accept"] => Self::AcceptConsent(p(c)?),
            ["oauth2", "auth", "requests", "consent", c, "reject"] => Self::RejectConsent(p(c)?),
            ["oauth2", "auth", "requests", "logout"] => Self::LogoutRequest,
            ["oauth2", "auth", "requests", "logout", "accept"] => Self::AcceptLogout,
            ["oauth2", "auth", "requests", "logout", "reject"] => Self::RejectLogout,
            ["oauth2", "auth", "sessions", "consent", user] => Self::ConsentSessions(p(user)?),
            ["oauth2", "auth", "sessions", "consent", user, client] => {
                Self::ClientConsentSessions(p(user)?, p(client)?)
            }
            ["oauth2", "auth", "sessions", "login", user] => Self::LoginSessions(p(user)?),
            ["oauth2", "introspect"] => Self::Introspect,
            ["oauth2", "flush"] => Self::Flush,
            ["keys", set] => Self::KeySet(p(set)?),
            ["keys", set, kid] => Self::Key(p(set)?, p(kid)?),
            ["health", "alive"] => Self::Alive,
            ["health", "ready"] => Self::Ready,
            _ => return Ok(None),
        }))
    }

    /// The route's name in the request span (its parameters, which can be challenges, are
    /// never recorded).
    fn name(&self) -> &'static str {
        match self {
            Self::Clients => "clients",
            Self::Client(_) => "client",
            Self::LoginRequest(_) => "login_request",
            Self::AcceptLogin(_) => "accept_login",
            Self::RejectLogin(_) => "reject_login",
            Self::ConsentRequest(_) => "consent_request",
            Self::AcceptConsent(_) => "accept_consent",
            Self::RejectConsent(_) => "reject_consent",
            Self::LogoutRequest => "logout_request",
            Self::AcceptLogout => "accept_logout",
            Self::RejectLogout => "reject_logout",
            Self::ConsentSessions(_) => "consent_sessions",
            Self::ClientConsentSessions(..) => "client_consent_sessions",
            Self::LoginSessions(_) => "login_sessions",
            Self::Introspect => "introspect",
            Self::Flush => "flush",
            Self::KeySet(_) => "key_set",
            Self::Key(..) => "key",
            Self::Alive => "health_alive",
            Self::Ready => "health_ready",
        }
    }

    /// The methods the route answers (in the order of the `Allow` header).
    fn methods(&self) -> &'static [Method] {
        match self {
            Self::Clients => GET_POST,
            Self::Client(_) => &[Method::GET, Method::PUT, Method::DELETE],
            Self::LoginRequest(_)
            | Self::ConsentRequest(_)
            | Self::LogoutRequest
            | Self::Alive
            | Self::Ready => GET,
            Self::AcceptLogin(_)
            | Self::RejectLogin(_)
            | Self::AcceptConsent(_)
            | Self::RejectConsent(_)
            | Self::AcceptLogout
            | Self::RejectLogout => PUT,
            Self::ConsentSessions(_) => &[Method::GET, Method::DELETE],
            Self::ClientConsentSessions(..) | Self::LoginSessions(_) => DELETE,
            Self::Introspect | Self::Flush => POST,
            Self::KeySet(_) => &[Method::GET, Method::POST, Method::PUT, Method::DELETE],
            Self::Key(..) => &[Method::GET, Method::PUT, Method::DELETE],
        }
    }

    /// Calls the handler; `req`'s method is one of [`methods`](Self::methods). Introspection
    /// and the health checks run inline, the others boxed ([`boxing`](self#boxing)).
    async fn dispatch(self, p: &Context, req: &Request) -> Response {
        let get = req.method() == Method::GET;
        match self {
            Self::Clients if get => Box::pin(admin::clients::list(p, req)).await,
            Self::Clients => Box::pin(admin::clients::create(p, req)).await,
            Self::Client(id) if get => Box::pin(admin::clients::get(p, &id)).await,
            Self::Client(id) if req.method() == Method::PUT => {
                Box::pin(admin::clients::update(p, req, &id)).await
            }
            Self::Client(id) => Box::pin(admin::clients::delete(p, &id)).await,
            Self::LoginRequest(c) => Box::pin(admin::requests::get_login(p, &c)).await,
            Self::AcceptLogin(c) => Box::pin(admin::requests::accept_login(p, req, &c)).await,
            Self::RejectLogin(c) => Box::pin(admin::requests::reject_login(p, req, &c)).await,
            Self::ConsentRequest(c) => Box::pin(admin::requests::get_consent(p, &c)).await,
            Self::AcceptConsent(c) => Box::pin(admin::requests::accept_consent(p, req, &c)).await,
            Self::RejectConsent(c) => Box::pin(admin::requests::reject_consent(p, req, &c)).await,
            Self::LogoutRequest => Box::pin(admin::requests::get_logout(p, req)).await,
            Self::AcceptLogout => Box::pin(admin::requests::accept_logout(p, req)).await,
            Self::RejectLogout => Box::pin(admin::requests::reject_logout(p, req)).await,
            Self::ConsentSessions(user) if get => {
                Box::pin(admin::sessions::get_consent_sessions(p, req, &user)).await
            }
            Self::ConsentSessions(user) => {
                Box::pin(admin::sessions::delete_consent_sessions(p, &user, None)).await
            }
            Self::ClientConsentSessions(user, client) => {
                Box::pin(admin::sessions::delete_consent_sessions(
                    p,
                    &user,
                    Some(&client),
                ))
                .await
            }
            Self::LoginSessions(user) => {
                Box::pin(admin::sessions::delete_login_sessions(p, &user)).await
            }
            Self::Introspect => admin::introspect::post(p, req).await,
            Self::Flush => Box::pin(admin::flush::post(p, req)).await,
            Self::KeySet(set) => match *req.method() {
                Method::GET => Box::pin(admin::keys::get(p, &set, None)).await,
                Method::POST => Box::pin(admin::keys::post(p, req, &set)).await,
                Method::PUT => Box::pin(admin::keys::put_set(p, req, &set)).await,
                _ => Box::pin(admin::keys::delete_route(p, &set, None)).await,
            },
            Self::Key(set, kid) => match *req.method() {
                Method::GET => Box::pin(admin::keys::get(p, &set, Some(&kid))).await,
                Method::PUT => Box::pin(admin::keys::put_key(p, req, &set, &kid)).await,
                _ => Box::pin(admin::keys::delete_route(p, &set, Some(&kid))).await,
            },
            Self::Alive => admin::health::alive(),
            Self::Ready => admin::health::ready(p).await,
        }
    }
}

/// Which route of which API answered a request: in the extensions of every response of
/// [`PublicApi::handle`](crate::PublicApi::handle) and
/// [`AdminApi::handle`](crate::AdminApi::handle), so that a host can count and time requests
/// by route around `handle` without parsing the path again (and without a tracing
/// subscriber). Route names are fixed words (`token`, `accept_login`, …), never the raw path,
/// which can carry a challenge or a client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    api: &'static str,
    name: Option<&'static str>,
}

impl Route {
    /// `public` or `admin`.
    pub fn api(&self) -> &'static str {
        self.api
    }

    /// The route's name, as in the request span; `None` when the request was answered before
    /// its path matched a route (a path no route serves, a body over the limit, a path
    /// parameter that is not text).
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }
}

/// The public API, inside its request span.
pub(crate) async fn public(p: &Context, req: &Request) -> Response {
    let span = RequestSpan::new("public", req.method());
    let (name, res) = span.run(public_route(p, req, &span)).await;
    finish(
        &span,
        Route {
            api: "public",
            name,
        },
        res,
    )
}

async fn public_route(
    p: &Context,
    req: &Request,
    span: &RequestSpan,
) -> (Option<&'static str>, Response) {
    let issuer_path = p.config.issuer_path();
    let route = match matched(p, req, |segments| PublicRoute::parse(segments, issuer_path)) {
        Ok(route) if route.is_served(p) => route,
        Ok(_) => return (None, p.error_response(&no_route())),
        Err(e) => return (None, p.error_response(&e)),
    };
    span.route(route.name());
    if let PublicRoute::RegisteredClient(id) = &route {
        crate::trace::client_id(id);
    }
    (Some(route.name()), serve_public(p, req, route).await)
}

async fn serve_public(p: &Context, req: &Request, route: PublicRoute) -> Response {
    let cors = route.cors();
    if let (Some(policy), &Method::OPTIONS) = (cors, req.method()) {
        return cors::preflight(p, req, policy, &method_list(route.methods())).await;
    }
    if let Some(res) = disallowed(p, req, route.methods()) {
        return res;
    }
    let cors = cors.map(|policy| policy.actual(req));
    let res = route.dispatch(p, req).await;
    match cors {
        Some(cors) => cors.apply(p, res).await,
        None => res,
    }
}

/// The admin API, inside its request span.
pub(crate) async fn admin(p: &Context, req: &Request) -> Response {
    let span = RequestSpan::new("admin", req.method());
    let (name, res) = span.run(admin_route(p, req, &span)).await;
    finish(&span, Route { api: "admin", name }, res)
}

async fn admin_route(
    p: &Context,
    req: &Request,
    span: &RequestSpan,
) -> (Option<&'static str>, Response) {
    let route = match matched(p, req, AdminRoute::parse) {
        Ok(route) => route,
        Err(e) => return (None, p.error_response(&e)),
    };
    span.route(route.name());
    (Some(route.name()), serve_admin(p, req, route).await)
}

async fn serve_admin(p: &Context, req: &Request, route: AdminRoute) -> Response {
    if let AdminRoute::Client(id) | AdminRoute::ClientConsentSessions(_, id) = &route {
        crate::trace::client_id(id);
    }
    if let Some(res) = disallowed(p, req, route.methods()) {
        return res;
    }
    route.dispatch(p, req).await
}

/// The route of `req`, or the error that answers it when there is none: 413 for a body over
/// the limit (before any endpoint sees it), 404 for a path no route serves, 400 for a path
/// parameter that is not text.
fn matched<R>(
    p: &Context,
    req: &Request,
    parse: impl FnOnce(&[&str]) -> Result<Option<R>, OAuthError>,
) -> Result<R, OAuthError> {
    if req.body().len() > p.config.max_body_bytes {
        return Err(OAuthError::request_entity_too_large(format!(
            "The request body must not exceed {} bytes.",
            p.config.max_body_bytes
        )));
    }
    route(req, parse)?.ok_or_else(no_route)
}

/// The 404 of a path no route serves (or a route this configuration does not serve).
fn no_route() -> OAuthError {
    OAuthError::not_found("No endpoint is served at this path.")
}

/// Records the status on the span and puts the [`Route`] in the response's extensions.
fn finish(span: &RequestSpan, route: Route, mut res: Response) -> Response {
    span.status(res.status());
    res.extensions_mut().insert(route);
    res
}

/// Parses the request's path with `parse`, segment by segment as sent: the fixed segments
/// must match byte for byte, so `/%63lients` is not `/clients` and a proxy that filters raw
/// paths sees what the router sees. Only path parameters are decoded ([`parameter`]).
fn route<R>(
    req: &Request,
    parse: impl FnOnce(&[&str]) -> Result<Option<R>, OAuthError>,
) -> Result<Option<R>, OAuthError> {
    let path = req.uri().path();
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    // Every route has fewer segments than this: only a deep issuer path or a path no route
    // serves pays for a vector.
    const INLINE: usize = 12;
    let mut inline = [""; INLINE];
    let mut count = 0;
    for (n, segment) in trimmed.split('/').enumerate() {
        if n == INLINE {
            let segments: Vec<&str> = trimmed.split('/').collect();
            return parse(&segments);
        }
        inline[n] = segment;
        count = n + 1;
    }
    parse(&inline[..count])
}

/// Whether the segments after the well-known suffix are the issuer's path (`/tenant1` →
/// `["tenant1"]`; no path → none), byte for byte as the issuer writes it.
fn is_issuer_path(rest: &[&str], issuer_path: &str) -> bool {
    issuer_path.split('/').skip(1).eq(rest.iter().copied())
}

/// A path parameter (a client id, a challenge, a subject), percent-decoded. One that is not
/// UTF-8 or holds a control character is an `invalid_request`: ids, challenges and subjects
/// never do.
fn parameter(raw: &str) -> Result<String, OAuthError> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| OAuthError::invalid_request("A path parameter is not UTF-8."))?;
    if crate::http::params::has_control(&decoded) {
        return Err(OAuthError::invalid_request(
            "A path parameter contains a control character.",
        ));
    }
    Ok(decoded.into_owned())
}

/// The 405 response, with `Allow`, when the method is not among the route's methods.
fn disallowed(p: &Context, req: &Request, allowed: &[Method]) -> Option<Response> {
    if allowed.contains(req.method()) {
        return None;
    }
    let mut res = p.error_response(&OAuthError::method_not_allowed(""));
    if let Ok(value) = HeaderValue::from_str(&method_list(allowed)) {
        res.headers_mut().insert(ALLOW, value);
    }
    Some(res)
}

/// `GET, POST`: the value of `Allow` and `Access-Control-Allow-Methods`.
fn method_list(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_path_parses_to_its_route() {
        let cases: &[(&[&str], PublicRoute)] = &[
            (
                &[".well-known", "openid-configuration"],
                PublicRoute::Discovery,
            ),
            (&[".well-known", "jwks.json"], PublicRoute::Jwks),
            (&["oauth2", "auth"], PublicRoute::Authorize),
            (&["oauth2", "token"], PublicRoute::Token),
            (&["oauth2", "revoke"], PublicRoute::Revoke),
            (&["userinfo"], PublicRoute::Userinfo),
            (
                &["oauth2", "auth", "sessions", "login", "revoke"],
                PublicRoute::Logout,
            ),
            (&["oauth2", "sessions", "logout"], PublicRoute::EndSession),
            (
                &["oauth2", "fallbacks", "error"],
                PublicRoute::Fallback(Page::Error),
            ),
        ];
        for (segments, route) in cases {
            assert_eq!(
                PublicRoute::parse(segments, "").unwrap().as_ref(),
                Some(route)
            );
        }
        let parse = |segments: &[&str]| PublicRoute::parse(segments, "").unwrap();
        assert_eq!(parse(&["oauth2", "fallbacks", "other"]), None);
        assert_eq!(parse(&["clients"]), None);
        assert_eq!(parse(&["oauth2", "%74oken"]), None);
        assert_eq!(parse(&["oauth2", "register"]), Some(PublicRoute::Register));
        assert_eq!(
            parse(&["oauth2", "register", "a%2Fb"]),
            Some(PublicRoute::RegisteredClient("a/b".into()))
        );
        assert_eq!(parse(&["oauth2", "register", "a", "b"]), None);
    }

    #[test]
    fn paths_split_into_the_same_segments_short_or_deep() {
        let segments_of = |path: &str| {
            let req = http::Request::builder()
                .uri(path)
                .body(bytes::Bytes::new())
                .unwrap();
            route(&req, |segments| {
                Ok(Some(
                    segments.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                ))
            })
            .unwrap()
            .unwrap()
        };
        assert_eq!(segments_of("/oauth2/token"), ["oauth2", "token"]);
        assert_eq!(segments_of("/"), [""]);
        assert_eq!(segments_of("/a//b/"), ["a", "", "b", ""]);
        for depth in [11, 12, 13, 40] {
            let path: String = (0..depth).map(|n| format!("/s{n}")).collect();
            let expected: Vec<String> = (0..depth).map(|n| format!("s{n}")).collect();
            assert_eq!(segments_of(&path), expected, "{depth} segments");
        }
    }

    #[test]
    fn authorization_server_metadata_is_where_rfc_8414_puts_it_for_the_issuer() {
        const METADATA: &str = "oauth-authorization-server";
        let found = |segments: &[&str], issuer_path: &str| {
            PublicRoute::parse(segments, issuer_path).unwrap()
                == Some(PublicRoute::AuthorizationServerMetadata)
        };
        assert!(found(&[".well-known", METADATA], ""));
        assert!(!found(&[".well-known", METADATA, ""], ""));
        assert!(!found(&[".well-known", METADATA, "tenant1"], ""));
        // Path inserted (§3.1); the plain form would name another issuer (§3.3).
        assert!(found(&[".well-known", METADATA, "tenant1"], "/tenant1"));
        assert!(found(&[".well-known", METADATA, "a", "b"], "/a/b"));
        assert!(!found(&[".well-known", METADATA], "/tenant1"));
        assert!(!found(
            &[".well-known", METADATA, "tenant1", ""],
            "/tenant1"
        ));
        assert!(!found(&[".well-known", METADATA, "tenant2"], "/tenant1"));
        assert!(!found(&[".well-known", METADATA, "a"], "/a/b"));
        // As written, like every fixed segment.
        assert!(!found(&[".well-known", METADATA, "t%65nant1"], "/tenant1"));
        assert!(found(&[".well-known", METADATA, "t%20b"], "/t%20b"));
    }

    #[test]
    fn admin_routes_carry_their_decoded_path_parameters() {
        let parse = |segments: &[&str]| AdminRoute::parse(segments).unwrap();
        assert_eq!(
            parse(&["oauth2", "auth", "requests", "login", "c1", "accept"]),
            Some(AdminRoute::AcceptLogin("c1".into()))
        );
        assert_eq!(
            parse(&["oauth2", "auth", "sessions", "consent", "al%69ce", "a%2Fb"]),
            Some(AdminRoute::ClientConsentSessions(
                "alice".into(),
                "a/b".into()
            ))
        );
        assert_eq!(
            parse(&["oauth2", "auth", "requests", "login", "c1", "other"]),
            None
        );
        assert_eq!(parse(&["clients", "a", "b"]), None);
        assert_eq!(parse(&["userinfo"]), None);
    }

    #[test]
    fn fixed_segments_match_only_as_sent() {
        // Issue 10, item 5: `/%63lients` is not `/clients`.
        let parse = |segments: &[&str]| AdminRoute::parse(segments).unwrap();
        assert_eq!(parse(&["%63lients"]), None);
        assert_eq!(parse(&["oauth2", "%66lush"]), None);
        assert_eq!(
            parse(&["clients", "%63"]),
            Some(AdminRoute::Client("c".into()))
        );
    }

    #[test]
    fn parameters_that_are_not_text_are_invalid_requests() {
        for raw in ["%FF", "a%00b", "%0A"] {
            let e = AdminRoute::parse(&["clients", raw]).unwrap_err();
            assert_eq!(e.error, crate::error::ErrorCode::InvalidRequest);
        }
    }

    #[test]
    fn cors_routes_preflight_with_their_allowed_methods() {
        assert_eq!(method_list(PublicRoute::Userinfo.methods()), "GET, POST");
        assert_eq!(PublicRoute::Authorize.cors(), None);
        assert_eq!(PublicRoute::Jwks.cors(), Some(cors::Policy::Configured));
    }
}
