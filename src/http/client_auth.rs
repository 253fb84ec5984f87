//! Client authentication at the token and revocation endpoints: `client_secret_basic`
//! (RFC 6749 §2.3.1, form-urlencoded id and secret inside Basic), `client_secret_post` and
//! `none`. The registered method is enforced and two methods at once are refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::AUTHORIZATION;

use super::Request;
use super::params::Params;
use crate::error::{OAuthError, StoreError};
use crate::model::client::ClientRecord;
use crate::store::Store;

/// How the request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Basic,
    Post,
    None,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Basic => "client_secret_basic",
            Method::Post => "client_secret_post",
            Method::None => "none",
        }
    }
}

/// The credentials a request presents, before any lookup.
#[derive(Debug)]
struct Presented {
    method: Method,
    client_id: String,
    secret: String,
}

fn invalid_client(hint: &'static str) -> OAuthError {
    OAuthError::invalid_client(hint)
}

/// Reads `id:secret` from `Authorization: Basic …`; `Ok(None)` without such a header.
pub(crate) fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, OAuthError> {
    let Some(header) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let header = header
        .to_str()
        .map_err(|_| invalid_client("The Authorization header is not valid text."))?;
    let Some((scheme, encoded)) = header.split_once(' ') else {
        return Err(invalid_client("The Authorization header is malformed."));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_client(
            "Only HTTP Basic authentication is supported in the Authorization header.",
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or_else(|| invalid_client("The Basic credentials are not valid base64."))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| invalid_client("The Basic credentials lack a ':' separator."))?;
    let decode = |part: &str| -> Result<String, OAuthError> {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| invalid_client("The Basic credentials are not form-urlencoded."))
    };
    Ok(Some((decode(id)?, decode(secret)?)))
}

fn presented(req: &Request, params: &Params) -> Result<Presented, OAuthError> {
    if params.get("client_assertion")?.is_some() || params.get("client_assertion_type")?.is_some() {
        return Err(invalid_client(
            "private_key_jwt client authentication is not supported.",
        ));
    }
    let body_id = params.get("client_id")?;
    let body_secret = params.get("client_secret")?;
    match basic_credentials(req)? {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "The client used more than one authentication method (Basic and client_secret in the body).",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "The client_id in the body differs from the one in the Authorization header.",
                ));
            }
            if id.is_empty() {
                return Err(invalid_client("The Basic credentials have no client id."));
            }
            // `id:` with an empty password is how some libraries spell a public client.
            let method = if secret.is_empty() {
                Method::None
            } else {
                Method::Basic
            };
            Ok(Presented {
                method,
                client_id: id,
                secret,
            })
        }
        None => {
            let client_id = body_id
                .ok_or_else(|| invalid_client("The request did not identify the client."))?
                .to_owned();
            Ok(match body_secret {
                Some(secret) => Presented {
                    method: Method::Post,
                    client_id,
                    secret: secret.to_owned(),
                },
                None => Presented {
                    method: Method::None,
                    client_id,
                    secret: String::new(),
                },
            })
        }
    }
}

/// Authenticates the client of a token or revocation request.
///
/// Unknown client, wrong secret or a method other than the registered one →
/// `invalid_client` (401); two methods at once → `invalid_request`; a store failure →
/// `server_error`, never a success.
pub(crate) async fn authenticate(
    store: &dyn Store,
    req: &Request,
    params: &Params,
) -> Result<ClientRecord, OAuthError> {
    let presented = presented(req, params)?;
    let record = match store.client(&presented.client_id).await {
        Ok(record) => record,
        Err(StoreError::NotFound) => {
            return Err(invalid_client(
                "The client is unknown or the credentials are wrong.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let registered = match record.client.token_endpoint_auth_method.as_str() {
        "" => "client_secret_basic",
        m => m,
    };
    if registered != presented.method.name() {
        return Err(OAuthError::invalid_client(format!(
            "The client is registered for '{registered}' authentication but used '{}'.",
            presented.method.name()
        )));
    }
    if presented.method != Method::None {
        let ok = record
            .secret_hash
            .as_ref()
            .is_some_and(|hash| hash.verify(&presented.secret));
        if !ok {
            return Err(invalid_client(
                "The client is unknown or the credentials are wrong.",
            ));
        }
    }
    Ok(record)
}
