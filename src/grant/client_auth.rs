//! Client authentication at the token and revocation endpoints: `client_secret_basic`
//! (RFC 6749 §2.3.1, form-urlencoded id and secret inside Basic), `client_secret_post` and
//! `none`. The registered method is enforced and two methods at once are refused.

use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::header::AUTHORIZATION;

use crate::context::{ClientLookupError, Context};
use crate::error::{Error, OAuthError};
use crate::http::Request;
use crate::http::params::{Params, identifier};
use crate::model::AuthMethod;
use crate::model::client::{Client, ClientRecord};

/// Standard base64 as RFC 7617 uses it; padding is accepted but not required, because some
/// client libraries strip it.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The credentials a request presents, before any lookup, and how it presents them.
#[derive(Debug)]
struct Presented<'a> {
    method: AuthMethod,
    client_id: &'a str,
    secret: &'a str,
}

fn invalid_client(hint: &'static str) -> OAuthError {
    OAuthError::invalid_client(hint)
}

/// The `id:secret` of an `Authorization: Basic …` header, decoded: one string, split at
/// `colon` (a decoded id may hold a ':' of its own), so that reading it allocates once.
#[derive(Debug)]
pub(crate) struct BasicCredentials {
    text: String,
    colon: usize,
}

impl BasicCredentials {
    pub(crate) fn id(&self) -> &str {
        &self.text[..self.colon]
    }

    pub(crate) fn secret(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// The id alone, without copying it.
    pub(crate) fn into_id(mut self) -> String {
        self.text.truncate(self.colon);
        self.text
    }
}

/// Reads `id:secret` from `Authorization: Basic …`; `Ok(None)` without such a header.
pub(crate) fn basic_credentials(req: &Request) -> Result<Option<BasicCredentials>, OAuthError> {
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
    // `decode_vec` into a plain buffer: `decode` asks for zeroed memory, which glibc's
    // calloc serves without its per-thread cache.
    let mut raw = Vec::new();
    let text = BASIC_BASE64
        .decode_vec(encoded.trim(), &mut raw)
        .ok()
        .and_then(|()| String::from_utf8(raw).ok())
        .ok_or_else(|| invalid_client("The Basic credentials are not valid base64."))?;
    let colon = text
        .find(':')
        .ok_or_else(|| invalid_client("The Basic credentials lack a ':' separator."))?;
    // Bytewise: `contains` with a set of chars was a fifth of reading the header.
    if !text.bytes().any(|b| matches!(b, b'%' | b'+')) {
        return Ok(Some(BasicCredentials { text, colon }));
    }
    let (id, secret) = (&text[..colon], &text[colon + 1..]);
    let decode = |part: &str| {
        form_decode(part)
            .ok_or_else(|| invalid_client("The Basic credentials are not form-urlencoded."))
    };
    let (id, secret) = (decode(id)?, decode(secret)?);
    Ok(Some(BasicCredentials {
        colon: id.len(),
        text: format!("{id}:{secret}"),
    }))
}

/// Decodes one `application/x-www-form-urlencoded` component (RFC 6749 §2.3.1 wraps the id
/// and the secret in it): `+` is a space, `%XX` a byte. Strict: a stray `%` or a result that
/// is not UTF-8 is `None`, and `&` or `=` are kept as they are, never treated as separators.
fn form_decode(part: &str) -> Option<String> {
    let mut out = Vec::with_capacity(part.len());
    let mut rest = part;
    while let Some(c) = rest.chars().next() {
        match c {
            '+' => {
                out.push(b' ');
                rest = &rest[1..];
            }
            '%' => {
                out.extend(crate::crypto::unhex(rest.get(1..3)?)?);
                rest = &rest[3..];
            }
            _ => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    String::from_utf8(out).ok()
}

fn presented<'a>(
    basic: Option<&'a BasicCredentials>,
    params: &'a Params,
) -> Result<Presented<'a>, OAuthError> {
    if params.get("client_assertion")?.is_some() || params.get("client_assertion_type")?.is_some() {
        return Err(invalid_client(
            "private_key_jwt client authentication is not supported.",
        ));
    }
    let body_id = params.get("client_id")?;
    let body_secret = params.get("client_secret")?;
    match basic {
        Some(basic) => {
            let (id, secret) = (basic.id(), basic.secret());
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
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            };
            Ok(Presented {
                method,
                client_id: id,
                secret,
            })
        }
        None => {
            let client_id = body_id
                .ok_or_else(|| invalid_client("The request did not identify the client."))?;
            Ok(match body_secret {
                Some(secret) => Presented {
                    method: AuthMethod::ClientSecretPost,
                    client_id,
                    secret,
                },
                None => Presented {
                    method: AuthMethod::None,
                    client_id,
                    secret: "",
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
    p: &Context,
    req: &Request,
    params: &Params,
) -> Result<Arc<ClientRecord>, OAuthError> {
    let basic = basic_credentials(req)?;
    let presented = presented(basic.as_ref(), params)?;
    identifier("client_id", presented.client_id)?;
    crate::trace::client_id(presented.client_id);
    let record = match p.client(presented.client_id).await {
        Ok(record) => record,
        Err(ClientLookupError::Refused(why)) => return Err(OAuthError::invalid_client(why)),
        Err(ClientLookupError::NotFound) => {
            crate::trace::event!(WARN,
                client_id = %presented.client_id,
                method = presented.method.as_str(),
                reason = "unknown client",
                "client authentication failed"
            );
            return Err(invalid_client(
                "The client is unknown or the credentials are wrong.",
            ));
        }
        Err(ClientLookupError::Store(e)) => return Err(OAuthError::store_failure(e)),
    };
    let registered = record.client.effective_auth_method();
    if registered != Some(presented.method) {
        let registered =
            registered.map_or(&*record.client.token_endpoint_auth_method, |m| m.as_str());
        crate::trace::event!(WARN,
            client_id = %presented.client_id,
            method = presented.method.as_str(),
            registered,
            reason = "method not registered",
            "client authentication failed"
        );
        return Err(OAuthError::invalid_client(format!(
            "The client is registered for '{registered}' authentication but used '{}'.",
            presented.method
        )));
    }
    if presented.method != AuthMethod::None {
        let ok = match &record.secret_hash {
            Some(hash) => {
                p.secret_checks
                    .verify(presented.client_id, hash, presented.secret)
                    .await?
            }
            None => false,
        };
        if !ok {
            crate::trace::event!(WARN,
                client_id = %presented.client_id,
                method = presented.method.as_str(),
                reason = "wrong secret",
                "client authentication failed"
            );
            return Err(invalid_client(
                "The client is unknown or the credentials are wrong.",
            ));
        }
    }
    Ok(record)
}

/// See [`Provider::authenticate_client`](crate::Provider::authenticate_client).
pub(crate) async fn authenticate_client(p: &Context, req: &Request) -> Result<Client, Error> {
    let params = Params::from_form(req)?;
    let record = authenticate(p, req, &params).await?;
    Ok(record.client.clone())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::{basic_credentials, form_decode};
    use crate::{Client, Config, Error, Provider};

    #[tokio::test]
    async fn a_method_mismatch_renders_401_with_a_challenge() {
        let p = Provider::builder(Config::new("https://auth.example.com/").unwrap())
            .build()
            .await
            .unwrap();
        let created = p
            .create_client(Client {
                client_id: "app".into(),
                ..Client::default()
            })
            .await
            .unwrap();
        let body = format!(
            "client_id=app&client_secret={}",
            created.client_secret.unwrap()
        );
        let req = http::Request::builder()
            .method("POST")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(bytes::Bytes::from(body))
            .unwrap();
        let Err(Error::OAuth(err)) = p.authenticate_client(&req).await else {
            panic!("a method mismatch must fail with an OAuth error");
        };
        let res = crate::http::response::error(&err, false);
        assert_eq!(res.status(), http::StatusCode::UNAUTHORIZED);
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
    }

    #[test]
    fn basic_credentials_split_at_the_colon_before_decoding() {
        let parse = |user_pass: &str| {
            let value = format!("Basic {}", STANDARD.encode(user_pass));
            let mut req = http::Request::new(bytes::Bytes::new());
            req.headers_mut()
                .insert(http::header::AUTHORIZATION, value.parse().unwrap());
            basic_credentials(&req)
        };
        let plain = parse("app:s3cret").unwrap().unwrap();
        assert_eq!((plain.id(), plain.secret()), ("app", "s3cret"));
        let escaped = parse("a%3Ab+c:x%3Ay%2B").unwrap().unwrap();
        assert_eq!((escaped.id(), escaped.secret()), ("a:b c", "x:y+"));
        assert_eq!(escaped.into_id(), "a:b c");
        let public = parse("app:").unwrap().unwrap();
        assert_eq!((public.id(), public.secret()), ("app", ""));
        assert!(parse("no-colon").is_err());
        assert!(parse("a%zz:b").is_err());
    }

    #[test]
    fn form_decoding_is_strict_and_keeps_separators() {
        assert_eq!(form_decode("plain").as_deref(), Some("plain"));
        assert_eq!(form_decode("a+b").as_deref(), Some("a b"));
        assert_eq!(form_decode("%3A%25%2B").as_deref(), Some(":%+"));
        assert_eq!(form_decode("a&b=c").as_deref(), Some("a&b=c"));
        assert_eq!(form_decode("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(form_decode("café+x").as_deref(), Some("café x"));
        assert_eq!(form_decode("%"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%FF"), None);
    }
}

/// Issue 10, item 15: the Basic `Authorization` header on untrusted bytes.
#[cfg(test)]
mod proptests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use http::HeaderValue;
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::{basic_credentials, form_decode};

    fn with_header(value: HeaderValue) -> crate::http::Request {
        let mut req = http::Request::new(bytes::Bytes::new());
        req.headers_mut().insert(http::header::AUTHORIZATION, value);
        req
    }

    fn encode(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any header value, and any base64 of any bytes, is parsed or refused.
        #[test]
        fn any_header_is_parsed_or_refused(raw in vec(any::<u8>(), 0..300), decoded in vec(any::<u8>(), 0..200)) {
            if let Ok(value) = HeaderValue::from_bytes(&raw) {
                let _ = basic_credentials(&with_header(value));
            }
            let basic = format!("Basic {}", STANDARD.encode(&decoded));
            let parsed = basic_credentials(&with_header(HeaderValue::from_str(&basic).unwrap()));
            // What parses came from text with a ':' in it.
            if let Ok(Some(_)) = parsed {
                prop_assert!(decoded.contains(&b':'));
            }
        }

        /// Stray or partial escapes never panic the strict decoder.
        #[test]
        fn form_decode_answers_for_any_text(part in "(%[0-9a-fA-F\\PC]{0,2}|\\+|\\PC){0,40}") {
            let _ = form_decode(&part);
        }

        /// RFC 6749 §2.3.1: urlencode both, join with ':', base64 → parse gives them back.
        #[test]
        fn basic_encode_then_parse_round_trips(id in any::<String>(), secret in any::<String>()) {
            let raw = format!("{}:{}", encode(&id), encode(&secret));
            let header = format!("Basic {}", STANDARD.encode(raw));
            let parsed = basic_credentials(&with_header(HeaderValue::from_str(&header).unwrap()));
            let parsed = parsed.unwrap().unwrap();
            prop_assert_eq!((parsed.id(), parsed.secret()), (id.as_str(), secret.as_str()));
        }
    }
}
