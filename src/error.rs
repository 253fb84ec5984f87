//! Errors: the typed library errors and the flat Hydra error JSON they become on the wire.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;
use serde::{Deserialize, Serialize};

/// A failure of the persistence layer, with the semantic cases the core acts upon.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// No record with that key.
    NotFound,
    /// A record with that key exists already, or the record was already handled.
    Conflict,
    /// A single-use value (code, verifier, rotated refresh token) was presented again.
    AlreadyUsed,
    /// The backend failed; the request fails with a 5xx and nothing is reported as done.
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }
}

/// How [`StoreError::Backend`] displays: the mark by which
/// [`OAuthError::is_store_failure`] knows an error whose debug detail is a failed backend.
const BACKEND_FAILED: &str = "storage backend failed";

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("record not found"),
            Self::Conflict => f.write_str("record exists already or was already handled"),
            Self::AlreadyUsed => f.write_str("single-use value was already used"),
            Self::Backend(e) => write!(f, "{BACKEND_FAILED}: {e}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Backend(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// The error of the typed Rust API; each variant maps to one HTTP status on the wire.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected (400); the text says why.
    BadRequest(Cow<'static, str>),
    /// The named resource does not exist (404).
    NotFound(&'static str),
    /// The resource exists already or was already handled (409).
    Conflict(Cow<'static, str>),
    /// An OAuth 2.0 / OpenID Connect protocol error with its own code and status.
    OAuth(OAuthError),
    /// Persistence failed (500). What a missing record or a conflict means is decided where
    /// the store is called; whatever reaches this variant renders as a storage failure.
    Store(StoreError),
    /// A server-side failure that is not the caller's fault (500).
    Internal(Cow<'static, str>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadRequest(why) => write!(f, "bad request: {why}"),
            Self::NotFound(what) => write!(f, "{what} not found"),
            Self::Conflict(why) => write!(f, "conflict: {why}"),
            Self::OAuth(e) => write!(f, "{}: {}", e.error, e.description),
            Self::Store(e) => write!(f, "{e}"),
            Self::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// For `?` in the typed API: any storage failure becomes [`Error::Store`], which renders as a
/// 500. A call whose `NotFound` or `Conflict` means something to its caller maps them first.
impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<OAuthError> for Error {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

/// A protocol error as Hydra renders it: flat JSON with `error`, `error_description`,
/// `error_hint`, `status_code` and (only when the configuration shares it) `error_debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code (`invalid_request`, `invalid_grant`, …).
    pub error: ErrorCode,
    /// A human-readable description.
    pub description: Cow<'static, str>,
    /// A hint on how to fix the request, if any.
    pub hint: Option<Cow<'static, str>>,
    /// Internal detail; only rendered when the configuration allows it.
    pub debug: Option<String>,
    /// The HTTP status.
    pub status: StatusCode,
}

/// The JSON body of an error response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error code.
    pub error: String,
    /// A human-readable description.
    #[serde(default)]
    pub error_description: String,
    /// A hint on how to fix the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_hint: Option<String>,
    /// The HTTP status, repeated in the body.
    #[serde(default)]
    pub status_code: u16,
    /// Internal detail, only when error sharing is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_debug: Option<String>,
}

/// Declares the error codes: the [`ErrorCode`] variants, their wire spelling, and one
/// [`OAuthError`] constructor each, with its default description and HTTP status.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident $name:ident => $status:ident, $desc:literal;)*) => {
        /// The `error` code of an OAuth 2.0 / OpenID Connect / Hydra error response.
        ///
        /// Every code this crate emits is a variant; [`ErrorCode::Other`] carries any other
        /// code, such as one a host passes to
        /// [`Provider::reject_login`](crate::Provider::reject_login). Parse with
        /// [`ErrorCode::from`], which maps known spellings to their variant; codes compare,
        /// hash and serialize as their spelling, and compare equal to a `&str` of it.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// Any other code (letters, digits, `_`, `-` and `.` when it comes from a
            /// reject call).
            Other(String),
        }

        impl ErrorCode {
            /// The code as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => stringify!($name),)*
                    Self::Other(code) => code,
                }
            }

            /// The variant of a code this crate emits, if `code` is one.
            fn known(code: &str) -> Option<Self> {
                match code {
                    $(stringify!($name) => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl OAuthError {
            $(
                $(#[$doc])*
                pub fn $name(hint: impl Into<Cow<'static, str>>) -> Self {
                    Self::new(ErrorCode::$variant, $desc, StatusCode::$status).with_hint(hint)
                }
            )*
        }
    };
}

error_codes! {
    /// `invalid_request` (400): a parameter is missing, repeated, or malformed.
    InvalidRequest invalid_request => BAD_REQUEST, "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.";
    /// `invalid_client` (401): client authentication failed.
    InvalidClient invalid_client => UNAUTHORIZED, "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).";
    /// `invalid_grant` (400): the grant is invalid, expired, revoked, or belongs to another client.
    InvalidGrant invalid_grant => BAD_REQUEST, "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
    /// `unauthorized_client` (400): the client may not use this grant or response type.
    UnauthorizedClient unauthorized_client => BAD_REQUEST, "The client is not authorized to request a token using this method.";
    /// `unsupported_grant_type` (400).
    UnsupportedGrantType unsupported_grant_type => BAD_REQUEST, "The authorization grant type is not supported by the authorization server.";
    /// `unsupported_response_type` (400).
    UnsupportedResponseType unsupported_response_type => BAD_REQUEST, "The authorization server does not support obtaining a token using this method.";
    /// `invalid_scope` (400).
    InvalidScope invalid_scope => BAD_REQUEST, "The requested scope is invalid, unknown, or malformed.";
    /// `invalid_target` (400), RFC 8707 §2: a `resource` is not an absolute URI, has a
    /// fragment, or is not one the client (or the grant) may have.
    InvalidTarget invalid_target => BAD_REQUEST, "The requested resource is invalid, missing, unknown, or malformed.";
    /// `access_denied` (403).
    AccessDenied access_denied => FORBIDDEN, "The resource owner or authorization server denied the request.";
    /// `invalid_token` (401): a bearer token is invalid, expired or revoked (RFC 6750).
    InvalidToken invalid_token => UNAUTHORIZED, "The access token provided is expired, revoked, malformed, or invalid for other reasons.";
    /// `insufficient_scope` (403): the bearer token lacks a scope the resource needs (RFC 6750).
    InsufficientScope insufficient_scope => FORBIDDEN, "The request requires higher privileges than provided by the access token.";
    /// `request_forbidden` (403): e.g. a CSRF check failed.
    RequestForbidden request_forbidden => FORBIDDEN, "The request is not allowed.";
    /// `request_unauthorized` (401): e.g. an expired login or consent request.
    RequestUnauthorized request_unauthorized => UNAUTHORIZED, "The request could not be authorized.";
    /// `request_expired` (410): a login or consent request past its lifespan; the flow must
    /// restart.
    RequestExpired request_expired => GONE, "The login or consent request has expired; the authorization flow must be restarted.";
    /// `login_required` (400).
    LoginRequired login_required => BAD_REQUEST, "The Authorization Server requires End-User authentication.";
    /// `consent_required` (400).
    ConsentRequired consent_required => BAD_REQUEST, "The Authorization Server requires End-User consent.";
    /// `interaction_required` (400).
    InteractionRequired interaction_required => BAD_REQUEST, "The Authorization Server requires End-User interaction of some form to proceed.";
    /// `request_not_supported` (400): request objects are not supported.
    RequestNotSupported request_not_supported => BAD_REQUEST, "The OP does not support use of the request parameter.";
    /// `request_uri_not_supported` (400).
    RequestUriNotSupported request_uri_not_supported => BAD_REQUEST, "The OP does not support use of the request_uri parameter.";
    /// `registration_not_supported` (400).
    RegistrationNotSupported registration_not_supported => BAD_REQUEST, "The OP does not support use of the registration parameter.";
    /// `unsupported_token_type` (400), RFC 7009.
    UnsupportedTokenType unsupported_token_type => BAD_REQUEST, "The authorization server does not support the revocation of the presented token type.";
    /// `invalid_redirect_uri` (400), RFC 7591 §3.2.2: a registered redirect URI is invalid.
    InvalidRedirectUri invalid_redirect_uri => BAD_REQUEST, "The value of one or more redirect_uris is invalid.";
    /// `invalid_client_metadata` (400), RFC 7591 §3.2.2: another client metadata field is invalid.
    InvalidClientMetadata invalid_client_metadata => BAD_REQUEST, "The value of one of the Client Metadata fields is invalid and the server has rejected this request.";
    /// `not_found` (404).
    NotFound not_found => NOT_FOUND, "The requested resource could not be found.";
    /// `method_not_allowed` (405).
    MethodNotAllowed method_not_allowed => METHOD_NOT_ALLOWED, "The HTTP method is not allowed for this resource.";
    /// `request_entity_too_large` (413).
    RequestEntityTooLarge request_entity_too_large => PAYLOAD_TOO_LARGE, "The request body is larger than the server accepts.";
    /// `unsupported_media_type` (415).
    UnsupportedMediaType unsupported_media_type => UNSUPPORTED_MEDIA_TYPE, "The request body has a content type this endpoint does not accept.";
    /// `conflict` (409).
    Conflict conflict => CONFLICT, "The resource exists already or was already handled.";
    /// `server_error` (500).
    ServerError server_error => INTERNAL_SERVER_ERROR, "The authorization server encountered an unexpected condition that prevented it from fulfilling the request.";
    /// `temporarily_unavailable` (503).
    TemporarilyUnavailable temporarily_unavailable => SERVICE_UNAVAILABLE, "The authorization server is currently unable to handle the request due to a temporary overloading or maintenance of the server.";
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        Self::known(code).unwrap_or_else(|| Self::Other(code.to_owned()))
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        Self::known(&code).unwrap_or(Self::Other(code))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Codes are equal when their spellings are, so `Other("invalid_request")` (built by hand)
/// still equals `InvalidRequest`.
impl PartialEq for ErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ErrorCode {}

impl std::hash::Hash for ErrorCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

impl OAuthError {
    /// An error with the given code, description and status and no hint.
    pub fn new(
        error: impl Into<ErrorCode>,
        description: impl Into<Cow<'static, str>>,
        status: StatusCode,
    ) -> Self {
        Self {
            error: error.into(),
            description: description.into(),
            hint: None,
            debug: None,
            status,
        }
    }

    /// Sets the hint; an empty hint is left out.
    pub fn with_hint(mut self, hint: impl Into<Cow<'static, str>>) -> Self {
        let hint = hint.into();
        self.hint = (!hint.is_empty()).then_some(hint);
        self
    }

    /// A storage failure: a 500 that never pretends success; the cause goes to `debug`.
    /// There is no `From<StoreError>`: each caller first maps what a missing record or a
    /// conflict means to it, and sends every other store error here.
    pub(crate) fn store_failure(e: StoreError) -> Self {
        Self::server_error("The storage backend failed.").with_debug(e)
    }

    /// Whether this is a 5xx because the storage backend failed: its debug detail is a
    /// [`StoreError::Backend`] (as [`store_failure`](Self::store_failure) attaches it).
    /// Counted in the provider's [`Counts::store_failures`](crate::Counts::store_failures).
    pub(crate) fn is_store_failure(&self) -> bool {
        self.status.is_server_error()
            && self
                .debug
                .as_deref()
                .is_some_and(|debug| debug.starts_with(BACKEND_FAILED))
    }

    /// Attaches internal detail, rendered only when `Config::share_error_debug` is on.
    pub fn with_debug(mut self, debug: impl fmt::Display) -> Self {
        self.debug = Some(debug.to_string());
        self
    }

    /// The JSON body, with `error_debug` only when `share_debug` is set.
    pub fn body(&self, share_debug: bool) -> ErrorBody {
        ErrorBody {
            error: self.error.as_str().to_owned(),
            error_description: self.description.to_string(),
            error_hint: self.hint.as_ref().map(|h| h.to_string()),
            status_code: self.status.as_u16(),
            error_debug: if share_debug {
                self.debug.clone()
            } else {
                None
            },
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.description)?;
        if let Some(hint) = &self.hint {
            write!(f, " {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// The wire form of a typed-API error. [`Error::Store`] is always a 500 `server_error` (the
/// cause in `error_debug`): there is no implicit path from a store's `NotFound` or
/// `Conflict` to a 404 or 409.
impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::BadRequest(why) => OAuthError::invalid_request(why),
            Error::NotFound(what) => {
                OAuthError::not_found(format!("Unable to locate the requested {what}."))
            }
            Error::Conflict(why) => OAuthError::conflict(why),
            Error::OAuth(e) => e,
            Error::Store(e) => OAuthError::store_failure(e),
            Error::Internal(why) => OAuthError::server_error("").with_debug(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_parse_compare_and_serialize_as_their_spelling() {
        assert_eq!(ErrorCode::from("access_denied"), ErrorCode::AccessDenied);
        assert!(matches!(
            ErrorCode::from("request_expired"),
            ErrorCode::RequestExpired
        ));
        let custom = ErrorCode::from("my_app.denied".to_owned());
        assert!(matches!(&custom, ErrorCode::Other(code) if code == "my_app.denied"));
        assert_eq!(
            ErrorCode::Other("invalid_request".into()),
            ErrorCode::InvalidRequest
        );
        assert_eq!(ErrorCode::InsufficientScope, "insufficient_scope");
        assert_eq!(
            serde_json::to_string(&ErrorCode::InvalidGrant).unwrap(),
            r#""invalid_grant""#
        );
        let back: ErrorCode = serde_json::from_str(r#""login_required""#).unwrap();
        assert!(matches!(back, ErrorCode::LoginRequired));
        let err = OAuthError::invalid_scope("hint");
        assert_eq!(err.body(false).error, "invalid_scope");
        assert_eq!(err.to_string().split(':').next(), Some("invalid_scope"));
    }
}
