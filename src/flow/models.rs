//! The wire models of the login and consent admin API, as Hydra names them. The typed Rust
//! methods take and return the same structs, so the HTTP layer only decodes and encodes.

use serde::{Deserialize, Serialize};

use crate::model::client::Client;
use crate::store::{JsonObject, OidcContext};

/// The host's answer that the user authenticated (`PUT …/login/{challenge}/accept`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcceptLoginRequest {
    /// The authenticated user; must equal the request's `subject` when it was `skip`.
    pub subject: String,
    /// Remember the login in a session cookie so later requests skip the login page.
    pub remember: bool,
    /// Seconds to remember it; 0 = the configured login-session lifespan, which also caps it.
    pub remember_for: i64,
    /// The authentication context class reached; emitted as the ID token's `acr`.
    pub acr: String,
    /// A subject identifier the client sees instead of the public or pairwise one.
    pub force_subject_identifier: String,
}

/// Extra data the consent app attaches to the tokens of the grant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsentRequestSession {
    /// Shown as `ext` at introspection.
    pub access_token: JsonObject,
    /// Added to the ID token and userinfo (never overriding a standard claim).
    pub id_token: JsonObject,
}

/// The host's answer that the user granted scopes (`PUT …/consent/{challenge}/accept`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcceptConsentRequest {
    /// The scopes granted; each must be one of the requested scopes.
    pub grant_scope: Vec<String>,
    /// The resources granted (RFC 8707; Hydra v2's name): the `aud` of the access tokens.
    /// Each must be one of the requested ones; empty grants none.
    pub grant_access_token_audience: Vec<String>,
    /// Remember the grant so later requests for the same scopes report `skip=true`.
    pub remember: bool,
    /// Seconds to remember it; 0 = forever.
    pub remember_for: i64,
    /// Extra token data.
    pub session: ConsentRequestSession,
}

/// A refused login or consent (`PUT …/reject`); the error is delivered to the client.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RejectRequest {
    /// The OAuth error code; empty means `access_denied`.
    pub error: String,
    /// A description for the client.
    pub error_description: String,
    /// A hint for the client.
    pub error_hint: String,
    /// Debug detail (sent only when the configuration shares debug detail).
    pub error_debug: String,
    /// The HTTP status the error stands for (informational; the browser gets a redirect).
    pub status_code: u16,
}

/// A login request, as the login app reads it (`GET …/login/{challenge}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The login challenge.
    pub challenge: String,
    /// The scopes the client asked for.
    pub requested_scope: Vec<String>,
    /// The resources the client asked for (RFC 8707 `resource`; Hydra v2's name).
    #[serde(default)]
    pub requested_access_token_audience: Vec<String>,
    /// True when a remembered login session already authenticated the user: the app must
    /// accept without showing a form (and without `remember`).
    pub skip: bool,
    /// The subject of that session when `skip`, else empty.
    pub subject: String,
    /// The OpenID Connect parameters of the request.
    pub oidc_context: OidcContext,
    /// The client, without its secret.
    pub client: Client,
    /// The original authorization URL.
    pub request_url: String,
    /// The login session that allowed `skip`, else empty.
    #[serde(default)]
    pub session_id: String,
}

/// A consent request, as the consent app reads it (`GET …/consent/{challenge}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsentRequest {
    /// The consent challenge.
    pub challenge: String,
    /// The scopes the client asked for.
    pub requested_scope: Vec<String>,
    /// The resources the client asked for (RFC 8707 `resource`; Hydra v2's name).
    #[serde(default)]
    pub requested_access_token_audience: Vec<String>,
    /// True when a remembered consent already covers the requested scopes: the app should
    /// accept without asking (and without `remember`).
    pub skip: bool,
    /// The authenticated subject (the real one, not pairwise).
    pub subject: String,
    /// The OpenID Connect parameters of the request.
    pub oidc_context: OidcContext,
    /// The client, without its secret.
    pub client: Client,
    /// The original authorization URL.
    pub request_url: String,
    /// The login challenge this consent follows.
    #[serde(default)]
    pub login_challenge: String,
    /// The login session of the user, if the login was remembered or skipped.
    #[serde(default)]
    pub login_session_id: String,
    /// The accepted authentication context class.
    #[serde(default)]
    pub acr: String,
}

/// Where the login or consent app must send the browser next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedRequest {
    /// The URL to redirect the browser to.
    pub redirect_to: String,
}

/// A logout request as the host's logout page sees it (`GET …/requests/logout`; Hydra's
/// `logoutRequest`, with its `challenge` and `client` as Hydra v2 adds them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutRequest {
    /// The logout challenge.
    pub challenge: String,
    /// The user to log out (not pairwise).
    pub subject: String,
    /// The login session to end.
    pub sid: String,
    /// The original logout URL.
    pub request_url: String,
    /// Whether a relying party initiated the logout.
    pub rp_initiated: bool,
    /// The relying party that asked, when identified (without its secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    /// The `ui_locales` of the request.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ui_locales: Vec<String>,
}
