//! The bearer token of a request (RFC 6750): from `Authorization: Bearer …` (scheme
//! case-insensitive) or, on a POST, from an `access_token` form field — never both, and never
//! from the query string (RFC 9700 §4.3.2: URLs leak). Userinfo reads its token with these
//! rules, and so does the CORS decision for userinfo, so that both always agree on which token
//! a request presents.

use http::Method;
use http::header::{AUTHORIZATION, CONTENT_TYPE};

use super::Request;
use super::params::Params;
use crate::error::OAuthError;

/// The presented bearer token. Both places at once → `invalid_request`; none, or an
/// `Authorization` header of another scheme → `invalid_token`.
pub(crate) fn token(req: &Request) -> Result<String, OAuthError> {
    let from_header = match req.headers().get(AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().map_err(|_| {
                OAuthError::invalid_request("The Authorization header is not valid text.")
            })?;
            match value.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    Some(token.trim().to_owned())
                }
                _ => {
                    return Err(OAuthError::invalid_token(
                        "The Authorization header must use the Bearer scheme.",
                    ));
                }
            }
        }
    };
    let from_form = if req.method() == Method::POST && is_form(req) {
        Params::from_form(req)?
            .get("access_token")?
            .map(str::to_owned)
    } else {
        None
    };
    match (from_header, from_form) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "The access token was sent both in the Authorization header and in the body; use one method.",
        )),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(OAuthError::invalid_token(
            "No bearer token was sent (Authorization: Bearer or an access_token form field).",
        )),
    }
}

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, authorization: Option<&str>, form: &str) -> Request {
        let mut builder = http::Request::builder().method(method).uri(uri);
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        if !form.is_empty() {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        builder.body(bytes::Bytes::from(form.to_owned())).unwrap()
    }

    #[test]
    fn header_or_post_form_but_never_the_query_nor_both() {
        let header = request(Method::GET, "/userinfo", Some("bearer  t1 "), "");
        assert_eq!(token(&header).unwrap(), "t1");
        let form = request(Method::POST, "/userinfo", None, "access_token=t2");
        assert_eq!(token(&form).unwrap(), "t2");
        let query = request(Method::GET, "/userinfo?access_token=t3", None, "");
        assert_eq!(token(&query).unwrap_err().error, "invalid_token");
        let both = request(
            Method::POST,
            "/userinfo",
            Some("Bearer t1"),
            "access_token=t2",
        );
        assert_eq!(token(&both).unwrap_err().error, "invalid_request");
        let basic = request(Method::GET, "/userinfo", Some("Basic dTpw"), "");
        assert_eq!(token(&basic).unwrap_err().error, "invalid_token");
    }
}
