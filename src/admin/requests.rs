//! `/oauth2/auth/requests/{login,consent}/{challenge}[/accept|/reject]`: the Hydra JSON layer
//! over the typed login and consent methods of [`Provider`](crate::Provider). Every answer is
//! `no-store`: accept and reject answers carry a redirect with a single-use verifier, and the
//! requests describe a user's pending authorization.

use http::StatusCode;
use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, OAuthError};
use crate::flow::{consent, login};
use crate::http::params::json_body;
use crate::http::response::{json, no_store};
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
pub(crate) async fn accept_login(p: &Context, req: Request, challenge: &str) -> Response {
    let result = match json_body(&req) {
        Ok(body) => login::accept_login(p, challenge, body).await,
        Err(e) => Err(e.into()),
    };
    render(p, result)
}

/// `PUT …/login/{challenge}/reject`.
pub(crate) async fn reject_login(p: &Context, req: Request, challenge: &str) -> Response {
    let result = match json_body(&req) {
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
pub(crate) async fn accept_consent(p: &Context, req: Request, challenge: &str) -> Response {
    let result = match json_body(&req) {
        Ok(body) => consent::accept_consent(p, challenge, body).await,
        Err(e) => Err(e.into()),
    };
    render(p, result)
}

/// `PUT …/consent/{challenge}/reject`.
pub(crate) async fn reject_consent(p: &Context, req: Request, challenge: &str) -> Response {
    let result = match json_body(&req) {
        Ok(body) => consent::reject_consent(p, challenge, body).await,
        Err(e) => Err(e.into()),
    };
    render(p, result)
}
