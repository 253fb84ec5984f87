//! `GET|POST /oauth2/auth`: validate the request, then either start the login phase or
//! continue the flow with a returning login or consent verifier.

use http::{Method, StatusCode};

use crate::context::Context;
use crate::flow::request::{self, Rejection};
use crate::flow::response::{deliver_error, to_error_url};
use crate::flow::{SetCookies, Stage, consent, login};
use crate::http::{Request, Response};

/// The authorization endpoint. A redirect answering a `POST` is `303 See Other` (RFC 9700
/// §4.12, FAPI 2.0): the browser then follows it with a `GET` and never re-sends the form,
/// whatever it does with a `302`. A `GET` keeps Hydra's `302 Found`.
pub(crate) async fn authorize(p: &Context, req: &Request) -> Response {
    let posted = req.method() == Method::POST;
    let mut res = answer(p, req).await;
    if posted && res.status() == StatusCode::FOUND {
        *res.status_mut() = StatusCode::SEE_OTHER;
    }
    res
}

async fn answer(p: &Context, req: &Request) -> Response {
    let areq = match request::parse(p, req).await {
        Ok(areq) => areq,
        Err(Rejection::Untrusted(err)) => return to_error_url(p, &err),
        Err(Rejection::ToClient(dest, err)) => return deliver_error(p, &dest, &err),
    };
    let mut cookies = SetCookies::default();
    let outcome = match &areq.verifier {
        None => login::start(p, req, &areq, &mut cookies).await,
        Some((Stage::Login, verifier)) => {
            login::finish(p, req, &areq, verifier, &mut cookies).await
        }
        Some((Stage::Consent, verifier)) => {
            consent::finish(p, req, &areq, verifier, &mut cookies).await
        }
        // `request::parse` only reads login and consent verifiers.
        Some((Stage::Logout, _)) => Err(crate::error::OAuthError::server_error("")
            .with_debug("a logout verifier reached the authorization endpoint")),
    };
    let res = outcome.unwrap_or_else(|err| deliver_error(p, &areq.destination, &err));
    cookies.apply(res)
}
