//! `POST /oauth2/token` (RFC 6749 §3.2, §5): parse the form, authenticate the client, check
//! it may use the grant type, and dispatch to the grant in `crate::grant`.
//!
//! Every response — success or error — carries `Cache-Control: no-store` and
//! `Pragma: no-cache` (RFC 6749 §5.1; the conformance suite checks errors too).

use http::StatusCode;

use crate::context::Context;
use crate::error::OAuthError;
use crate::grant::client_auth::authenticate;
use crate::grant::{self, TokenResponse};
use crate::http::params::Params;
use crate::http::response::{json_bytes, no_store};
use crate::http::{Request, Response};
use crate::model::GrantType;

/// Handles a token request.
pub(crate) async fn token(p: &Context, req: &Request) -> Response {
    let res = match exchange(p, req).await {
        Ok(body) => json_bytes(StatusCode::OK, body.to_json().into()),
        Err(e) => p.error_response(&e),
    };
    no_store(res)
}

async fn exchange(p: &Context, req: &Request) -> Result<TokenResponse, OAuthError> {
    let params = Params::from_form(req)?;
    if params.is_empty() {
        return Err(OAuthError::invalid_request("The request body is empty."));
    }
    params.reject_repeated()?;
    let grant_type = params.require("grant_type")?;
    let record = authenticate(p, req, &params).await?;
    let client = &record.client;
    let grant_type = match grant_type.parse::<GrantType>() {
        Ok(grant) if grant.at_token_endpoint() => grant,
        _ => return Err(unsupported(grant_type)),
    };
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "The client is not registered for the '{grant_type}' grant type."
        )));
    }
    // The code and refresh exchanges are boxed: their futures are larger than the client
    // credentials one, and every layer above moves this future (see `router`'s "Boxing").
    match grant_type {
        GrantType::AuthorizationCode => {
            Box::pin(grant::authorization_code::exchange(p, client, &params)).await
        }
        GrantType::RefreshToken => {
            Box::pin(grant::refresh_token::exchange(p, client, &params)).await
        }
        GrantType::ClientCredentials => {
            grant::client_credentials::exchange(p, client, &params).await
        }
        GrantType::Implicit => Err(unsupported(grant_type.as_str())),
    }
}

fn unsupported(grant_type: &str) -> OAuthError {
    OAuthError::unsupported_grant_type(format!(
        "The grant type '{grant_type}' is not supported; use authorization_code, refresh_token or client_credentials."
    ))
}
