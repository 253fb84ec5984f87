//! The route table as data, for checking documents against the router (`tests/openapi.rs`
//! holds the OpenAPI documents in `openapi/` to it). Every path template of both APIs, and
//! the methods the router answers on a concrete path, asked of the same `parse`, `methods`
//! and `cors` the handlers use, so the table cannot drift from what is served.

use http::Method;

use super::{AdminRoute, PublicRoute};

/// Which of the two handlers serves a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `Provider::public()`.
    Public,
    /// `Provider::admin()`.
    Admin,
}

/// The path templates of the public API, one per path the router matches; a parameter is
/// written `{name}` as in OpenAPI. They are those of an issuer without a path: with one, the
/// RFC 8414 metadata moves to `/.well-known/oauth-authorization-server{issuer path}`.
const PUBLIC: &[&str] = &[
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwks.json",
    "/oauth2/auth",
    "/oauth2/token",
    "/oauth2/revoke",
    "/userinfo",
    "/oauth2/auth/sessions/login/revoke",
    "/oauth2/sessions/logout",
    "/oauth2/fallbacks/error",
    "/oauth2/fallbacks/consent",
    "/oauth2/fallbacks/logout",
    "/oauth2/register",
    "/oauth2/register/{id}",
];

/// The path templates of the admin API.
const ADMIN: &[&str] = &[
    "/clients",
    "/clients/{id}",
    "/oauth2/auth/requests/login/{challenge}",
    "/oauth2/auth/requests/login/{challenge}/accept",
    "/oauth2/auth/requests/login/{challenge}/reject",
    "/oauth2/auth/requests/consent/{challenge}",
    "/oauth2/auth/requests/consent/{challenge}/accept",
    "/oauth2/auth/requests/consent/{challenge}/reject",
    "/oauth2/auth/requests/logout",
    "/oauth2/auth/requests/logout/accept",
    "/oauth2/auth/requests/logout/reject",
    "/oauth2/auth/sessions/consent/{user}",
    "/oauth2/auth/sessions/consent/{user}/{client}",
    "/oauth2/auth/sessions/login/{user}",
    "/oauth2/introspect",
    "/oauth2/flush",
    "/keys/{set}",
    "/keys/{set}/{kid}",
    "/health/alive",
    "/health/ready",
];

/// Every path template of `api`, as in the router (each parameter written `{name}`).
pub fn templates(api: Api) -> &'static [&'static str] {
    match api {
        Api::Public => PUBLIC,
        Api::Admin => ADMIN,
    }
}

/// The methods `api` answers at `path` (each `{name}` parameter standing for any one
/// segment) for an issuer without a path, in the order of `Allow`, followed by `OPTIONS` where the route answers CORS
/// preflights; `None` when no route matches, the router's 404.
pub fn methods(api: Api, path: &str) -> Option<Vec<Method>> {
    let concrete: Vec<&str> = path
        .strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect();
    match api {
        Api::Public => PublicRoute::parse(&concrete, "")
            .ok()
            .flatten()
            .map(|route| {
                let mut methods = route.methods().to_vec();
                if route.cors().is_some() {
                    methods.push(Method::OPTIONS);
                }
                methods
            }),
        Api::Admin => AdminRoute::parse(&concrete)
            .ok()
            .flatten()
            .map(|route| route.methods().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::fallbacks::Page;
    use crate::error::OAuthError;

    #[test]
    fn every_template_is_routed_and_no_admin_path_is_public() {
        for template in templates(Api::Public) {
            assert!(methods(Api::Public, template).is_some(), "{template}");
        }
        for template in templates(Api::Admin) {
            assert!(methods(Api::Admin, template).is_some(), "{template}");
            assert_eq!(methods(Api::Public, template), None, "{template} is public");
        }
    }

    /// A new route variant fails to compile here until its templates are written: add them
    /// to the lists above too, and to the documents in `openapi/`.
    fn listed(route: &PublicRoute) -> usize {
        match route {
            PublicRoute::Discovery
            | PublicRoute::AuthorizationServerMetadata
            | PublicRoute::Jwks
            | PublicRoute::Authorize
            | PublicRoute::Token
            | PublicRoute::Revoke
            | PublicRoute::Userinfo
            | PublicRoute::Logout
            | PublicRoute::EndSession
            | PublicRoute::Register
            | PublicRoute::RegisteredClient(_) => 1,
            PublicRoute::Fallback(Page::Error | Page::Consent | Page::Logout) => 1,
        }
    }

    /// As [`listed`], for the admin API: each variant with the number of templates it has.
    fn admin_listed(route: &AdminRoute) -> usize {
        match route {
            AdminRoute::Clients
            | AdminRoute::Client(_)
            | AdminRoute::LoginRequest(_)
            | AdminRoute::AcceptLogin(_)
            | AdminRoute::RejectLogin(_)
            | AdminRoute::ConsentRequest(_)
            | AdminRoute::AcceptConsent(_)
            | AdminRoute::RejectConsent(_)
            | AdminRoute::LogoutRequest
            | AdminRoute::AcceptLogout
            | AdminRoute::RejectLogout
            | AdminRoute::ConsentSessions(_)
            | AdminRoute::ClientConsentSessions(..)
            | AdminRoute::LoginSessions(_)
            | AdminRoute::Introspect
            | AdminRoute::Flush
            | AdminRoute::KeySet(_)
            | AdminRoute::Key(..)
            | AdminRoute::Alive
            | AdminRoute::Ready => 1,
        }
    }

    fn parse_template<R>(template: &str, parse: fn(&[&str]) -> Result<Option<R>, OAuthError>) -> R {
        let segments: Vec<&str> = template[1..].split('/').collect();
        parse(&segments).unwrap().unwrap()
    }

    #[test]
    fn templates_name_distinct_routes() {
        let public: Vec<PublicRoute> = PUBLIC
            .iter()
            .map(|t| parse_template(t, |segments| PublicRoute::parse(segments, "")))
            .collect();
        for (i, route) in public.iter().enumerate() {
            assert!(!public[..i].contains(route), "{} twice", PUBLIC[i]);
            assert_eq!(listed(route), 1);
        }
        let admin: Vec<AdminRoute> = ADMIN
            .iter()
            .map(|t| parse_template(t, AdminRoute::parse))
            .collect();
        for (i, route) in admin.iter().enumerate() {
            let same = admin.iter().filter(|r| *r == route).count();
            assert_eq!(same, admin_listed(route), "{}", ADMIN[i]);
        }
    }

    #[test]
    fn cors_routes_list_options() {
        assert_eq!(
            methods(Api::Public, "/userinfo"),
            Some(vec![Method::GET, Method::POST, Method::OPTIONS])
        );
        assert_eq!(
            methods(Api::Public, "/oauth2/auth"),
            Some(vec![Method::GET, Method::POST])
        );
        assert_eq!(
            methods(Api::Admin, "/clients/{id}"),
            Some(vec![Method::GET, Method::PUT, Method::DELETE])
        );
        assert_eq!(methods(Api::Admin, "/clients/{id}/x"), None);
    }
}
