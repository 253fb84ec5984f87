//! Routing: the seed's paths, method by method. Admin paths are unreachable through the public
//! handler and vice versa; an unknown path is a 404 and a wrong method a 405 with `Allow`.

use http::header::{ALLOW, HeaderValue};
use http::{Method, StatusCode};

use crate::admin;
use crate::context::Context;
use crate::endpoint;
use crate::error::OAuthError;
use crate::http::{Request, Response};

mod cors;

/// Splits the path into percent-decoded segments; `None` if a segment is not UTF-8.
fn segments(req: &Request) -> Option<Vec<String>> {
    let path = req.uri().path();
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    trimmed
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect()
}

fn not_found(p: &Context) -> Response {
    p.error_response(&OAuthError::not_found(
        "No endpoint is served at this path.",
    ))
}

fn method_not_allowed(p: &Context, allowed: &[Method]) -> Response {
    let mut res = p.error_response(&OAuthError::method_not_allowed(""));
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&allow) {
        res.headers_mut().insert(ALLOW, value);
    }
    res
}

/// Rejects oversized bodies before any endpoint sees them.
fn too_large(p: &Context, req: &Request) -> Option<Response> {
    (req.body().len() > p.config.max_body_bytes).then(|| {
        p.error_response(&OAuthError::request_entity_too_large(format!(
            "The request body must not exceed {} bytes.",
            p.config.max_body_bytes
        )))
    })
}

/// The 405 response when the method is not among the route's methods.
fn disallowed(p: &Context, req: &Request, allowed: &[Method]) -> Option<Response> {
    (!allowed.contains(req.method())).then(|| method_not_allowed(p, allowed))
}

const GET: &[Method] = &[Method::GET];
const POST: &[Method] = &[Method::POST];
const GET_POST: &[Method] = &[Method::GET, Method::POST];

/// The public API.
pub(crate) async fn public(p: &Context, req: Request) -> Response {
    if let Some(res) = too_large(p, &req) {
        return res;
    }
    let Some(segs) = segments(&req) else {
        return not_found(p);
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let allowed = match segs.as_slice() {
        [".well-known", "openid-configuration"] | [".well-known", "jwks.json"] => GET,
        ["oauth2", "auth"] | ["userinfo"] => GET_POST,
        ["oauth2", "token"] | ["oauth2", "revoke"] => POST,
        ["oauth2", "auth", "sessions", "login", "revoke"] => GET,
        ["oauth2", "fallbacks", "consent" | "error" | "logout"] => GET,
        _ => return not_found(p),
    };
    let cors_route = cors::Route::of(&segs);
    if let (Some(route), &Method::OPTIONS) = (cors_route, req.method()) {
        return cors::preflight(p, &req, route).await;
    }
    if let Some(res) = disallowed(p, &req, allowed) {
        return res;
    }
    let cors = cors_route.map(|route| route.actual(&req));
    let res = match segs.as_slice() {
        [".well-known", "openid-configuration"] => {
            endpoint::discovery::openid_configuration(p, req)
        }
        [".well-known", "jwks.json"] => endpoint::jwks::jwks(p, req),
        ["oauth2", "auth"] => endpoint::authorize::authorize(p, req).await,
        ["oauth2", "token"] => endpoint::token::token(p, req).await,
        ["oauth2", "revoke"] => endpoint::revoke::revoke(p, req).await,
        ["userinfo"] => endpoint::userinfo::userinfo(p, req).await,
        ["oauth2", "auth", "sessions", "login", "revoke"] => endpoint::logout::logout(p, req).await,
        ["oauth2", "fallbacks", page] => endpoint::fallbacks::page(p, req, page),
        _ => not_found(p),
    };
    match cors {
        Some(cors) => cors.apply(p, res).await,
        None => res,
    }
}

/// The admin API.
pub(crate) async fn admin(p: &Context, req: Request) -> Response {
    if let Some(res) = too_large(p, &req) {
        return res;
    }
    let Some(segs) = segments(&req) else {
        return not_found(p);
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let allowed: &[Method] = match segs.as_slice() {
        ["clients"] => &[Method::GET, Method::POST],
        ["clients", _] => &[Method::GET, Method::PUT, Method::DELETE],
        ["oauth2", "auth", "requests", "login" | "consent", _] => GET,
        [
            "oauth2",
            "auth",
            "requests",
            "login" | "consent",
            _,
            "accept" | "reject",
        ] => &[Method::PUT],
        ["oauth2", "auth", "sessions", "consent", _] => &[Method::GET, Method::DELETE],
        ["oauth2", "auth", "sessions", "consent", _, _] => &[Method::DELETE],
        ["oauth2", "auth", "sessions", "login", _] => &[Method::DELETE],
        ["oauth2", "introspect"] | ["oauth2", "flush"] => POST,
        ["health", "alive" | "ready"] => GET,
        _ => return not_found(p),
    };
    if let Some(res) = disallowed(p, &req, allowed) {
        return res;
    }
    let method = req.method().clone();
    match (segs.as_slice(), method) {
        (["clients"], Method::GET) => admin::clients::list(p, req).await,
        (["clients"], _) => admin::clients::create(p, req).await,
        (["clients", id], Method::GET) => admin::clients::get(p, id).await,
        (["clients", id], Method::PUT) => admin::clients::update(p, req, id).await,
        (["clients", id], _) => admin::clients::delete(p, id).await,
        (["oauth2", "auth", "requests", "login", c], _) => admin::requests::get_login(p, c).await,
        (["oauth2", "auth", "requests", "login", c, "accept"], _) => {
            admin::requests::accept_login(p, req, c).await
        }
        (["oauth2", "auth", "requests", "login", c, _], _) => {
            admin::requests::reject_login(p, req, c).await
        }
        (["oauth2", "auth", "requests", "consent", c], _) => {
            admin::requests::get_consent(p, c).await
        }
        (["oauth2", "auth", "requests", "consent", c, "accept"], _) => {
            admin::requests::accept_consent(p, req, c).await
        }
        (["oauth2", "auth", "requests", "consent", c, _], _) => {
            admin::requests::reject_consent(p, req, c).await
        }
        (["oauth2", "auth", "sessions", "consent", user], Method::GET) => {
            admin::sessions::get_consent_sessions(p, req, user).await
        }
        (["oauth2", "auth", "sessions", "consent", user], _) => {
            admin::sessions::delete_consent_sessions(p, user, None).await
        }
        (["oauth2", "auth", "sessions", "consent", user, client], _) => {
            admin::sessions::delete_consent_sessions(p, user, Some(client)).await
        }
        (["oauth2", "auth", "sessions", "login", user], _) => {
            admin::sessions::delete_login_sessions(p, user).await
        }
        (["oauth2", "introspect"], _) => admin::introspect::post(p, req).await,
        (["oauth2", "flush"], _) => admin::flush::post(p, req).await,
        (["health", _], _) => {
            crate::http::response::json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
        }
        _ => not_found(p),
    }
}
