//! `/oauth2/auth/requests/{login,consent}/{challenge}[/accept|/reject]` and
//! `/oauth2/auth/requests/logout[/accept|/reject]?logout_challenge=…`: the Hydra JSON layer
//! over the typed login, consent and logout methods of [`Provider`](crate::Provider). Every answer is
//! `no-store`: accept and reject answers carry a redirect with a single-use verifier, and the
//! requests describe a user's pending authorization.

use http::StatusCode;
use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, OAuthError};
use crate::flow::{consent, login, logout};
use crate::http::params::{Params, json_body};
use crate::http::response::{empty, json, no_store};
use crate::http::{Request, Response};

fn render<T: Serialize>(p: &Context, result: Result<T, Error>) -> Response {
    no_store(match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => p.error_response(&OAuthError::from(e)),
    })
}

/// `GET …/login/{challenge}`.
pub(crate) async fn get_login(p: &Context, challenge: &str) -> Response {
    render(p, login::login_request(p, challenge).await)
}

/// `PUT …/login/{challenge}/accept`.
pub(crate) async fn accept_login(p: &Context, req: &Request, challenge: &str) -> Response {
    let result = match json_body(req) {
        Ok(body) => login::accept_login(p, challenge, body).await,
        Err(e) => Err(e.into()),
    };
    render(p, result)
}

/// `PUT …/login/{challenge}/reject`.
pub(crate) async fn reject_login(p: &Context, req: &Request, challenge: &str) -> Response {
    let result = match json_body(req) {
        Ok(body) => login::reject_login(p, challenge, body).await,
        Err(e) => Err(e.into()),
    };
    render(p, result)
}

/// `GET …/consent/{challenge}`.
pub(crate) async fn get_consent(p: &Context, challenge: &str) -> Response {
    render(p, consent::consent_request(p, challenge).await)
}

/// `PUT …/consent/{challenge}/accept`.
pub(crate) async fn accept_consent(p: &Context, req: &Request, challenge: &str) -> Response {
    let result = match json_body(req) {
        Ok(body) => consent::accept_consent(p, challenge, body).await,
        Err(e) => Err(e.into()),
    };
    render(p, result)
}

/// `PUT …/consent/{challenge}/reject`.
pub(crate) async fn reject_consent(p: &Context, req: &Request, challenge: &str) -> Response {
    let result = match json_body(req) {
        Ok(body) => consent::reject_consent(p, challenge, body).await,
        Err(e) => Err(e.into()),
    };
    render(p, result)
}

/// The `logout_challenge` query parameter of the logout routes (Hydra v1.0 puts the challenge
/// in the query, not the path).
fn logout_challenge(req: &Request) -> Result<String, Error> {
    let params = Params::from_query(req)?;
    Ok(params.require("logout_challenge")?.to_owned())
}

/// `GET /oauth2/auth/requests/logout?logout_challenge=…`.
pub(crate) async fn get_logout(p: &Context, req: &Request) -> Response {
    let result = match logout_challenge(req) {
        Ok(challenge) => logout::logout_request(p, &challenge).await,
        Err(e) => Err(e),
    };
    render(p, result)
}

/// `PUT /oauth2/auth/requests/logout/accept?logout_challenge=…` (no body).
pub(crate) async fn accept_logout(p: &Context, req: &Request) -> Response {
    let result = match logout_challenge(req) {
        Ok(challenge) => logout::accept_logout(p, &challenge).await,
        Err(e) => Err(e),
    };
    render(p, result)
}

/// `PUT /oauth2/auth/requests/logout/reject?logout_challenge=…` (no body): 204.
pub(crate) async fn reject_logout(p: &Context, req: &Request) -> Response {
    let result = match logout_challenge(req) {
        Ok(challenge) => logout::reject_logout(p, &challenge).await,
        Err(e) => Err(e),
    };
    no_store(match result {
        Ok(()) => empty(StatusCode::NO_CONTENT),
        Err(e) => p.error_response(&OAuthError::from(e)),
    })
}
