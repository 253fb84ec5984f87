//! `/oauth2/auth/requests/{login,consent}/{challenge}[/accept|/reject]`: the Hydra JSON layer
//! over the typed login and consent methods of [`Provider`].

use http::StatusCode;
use serde::Serialize;

use crate::Provider;
use crate::error::{Error, OAuthError};
use crate::http::params::json_body;
use crate::http::response::json;
use crate::http::{Request, Response};

fn render<T: Serialize>(p: &Provider, result: Result<T, Error>) -> Response {
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err(e) => p.inner.error_response(&OAuthError::from(e)),
    }
}

/// `GET …/login/{challenge}`.
pub(crate) async fn get_login(p: &Provider, challenge: &str) -> Response {
    render(p, p.login_request(challenge).await)
}

/// `PUT …/login/{challenge}/accept`.
pub(crate) async fn accept_login(p: &Provider, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, p.accept_login(challenge, body).await),
        Err(e) => p.inner.error_response(&e),
    }
}

/// `PUT …/login/{challenge}/reject`.
pub(crate) async fn reject_login(p: &Provider, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, p.reject_login(challenge, body).await),
        Err(e) => p.inner.error_response(&e),
    }
}

/// `GET …/consent/{challenge}`.
pub(crate) async fn get_consent(p: &Provider, challenge: &str) -> Response {
    render(p, p.consent_request(challenge).await)
}

/// `PUT …/consent/{challenge}/accept`.
pub(crate) async fn accept_consent(p: &Provider, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, p.accept_consent(challenge, body).await),
        Err(e) => p.inner.error_response(&e),
    }
}

/// `PUT …/consent/{challenge}/reject`.
pub(crate) async fn reject_consent(p: &Provider, req: Request, challenge: &str) -> Response {
    match json_body(&req) {
        Ok(body) => render(p, p.reject_consent(challenge, body).await),
        Err(e) => p.inner.error_response(&e),
    }
}
