//! `/oauth2/auth/requests/{login,consent}/{challenge}[/accept|/reject]`: the Hydra JSON layer
//! over the typed login and consent methods of [`Provider`].

use http::StatusCode;
use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, OAuthError};
use crate::flow::{consent, login};
use crate::http::params::json_body;
use crate::http::response::json;
use crate::http::{Request, Response};

fn render<T: Serialize>(p: &Context, result: Result<T, Error>) -> Response {
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => p.error_response(&OAuthError::from(e)),
    }
}

/// `GET …/login/{challenge}`.
pub(crate) async fn get_login(p: &Context, challenge: &str) -> Response {
    render(p, login::login_request(p, challenge).await)
}

/// `PUT …/login/{challenge}/accept`.
pub(crate) async fn accept_login(p: &Context, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, login::accept_login(p, challenge, body).await),
        Err(e) => p.error_response(&e),
    }
}

/// `PUT …/login/{challenge}/reject`.
pub(crate) async fn reject_login(p: &Context, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, login::reject_login(p, challenge, body).await),
        Err(e) => p.error_response(&e),
    }
}

/// `GET …/consent/{challenge}`.
pub(crate) async fn get_consent(p: &Context, challenge: &str) -> Response {
    render(p, consent::consent_request(p, challenge).await)
}

/// `PUT …/consent/{challenge}/accept`.
pub(crate) async fn accept_consent(p: &Context, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, consent::accept_consent(p, challenge, body).await),
        Err(e) => p.error_response(&e),
    }
}

/// `PUT …/consent/{challenge}/reject`.
pub(crate) async fn reject_consent(p: &Context, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, consent::reject_consent(p, challenge, body).await),
        Err(e) => p.error_response(&e),
    }
}
