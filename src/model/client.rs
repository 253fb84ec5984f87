//! OAuth 2.0 clients: the `OAuth2Client` JSON model of Hydra and the stored record.
//!
//! # Registration rules
//!
//! Create and update ([`Provider::create_client`](crate::Provider::create_client),
//! [`Provider::update_client`](crate::Provider::update_client)) reject invalid input with a
//! 400 `invalid_request` naming the field, and store nothing:
//!
//! * `client_id`: generated (UUID v4) when absent on create; otherwise 1 to 255 visible ASCII
//!   characters except `/`, `?`, `#` and `%`.
//! * `client_secret`: confidential clients get a generated 256-bit secret (base64url, stored
//!   as SHA-256) when none is sent; a sent one must have at least 16 characters and is stored
//!   with salted PBKDF2. Public clients (`token_endpoint_auth_method = none`) have none and
//!   may not send one. The plaintext is returned only by the call that set it.
//! * `redirect_uris`: absolute, no fragment, no userinfo, no whitespace, at most 2000
//!   characters; `https`, loopback `http`, or a private-use scheme; never `javascript:`,
//!   `data:` or other dangerous schemes.
//! * `grant_types` ⊆ {`authorization_code`, `refresh_token`, `client_credentials`,
//!   `implicit`}; `client_credentials` only for confidential clients.
//! * `response_types`: each entry a single-space-separated set of `code`, `token`,
//!   `id_token` (any order, no repeats), stored as given.
//! * `token_endpoint_auth_method`: `client_secret_basic` (default), `client_secret_post` or
//!   `none`; `private_key_jwt` is not supported.
//! * `subject_type`: `public` (default) or `pairwise` (only with a configured pairwise salt;
//!   with more than one redirect URI it needs a `sector_identifier_uri`, which must be https
//!   and is not fetched).
//! * `userinfo_signed_response_alg`: `none` (default, plain JSON) or an enabled signing
//!   algorithm; `id_token_signed_response_alg`: an enabled signing algorithm
//!   ([`KeyConfig::algorithms`](crate::KeyConfig::algorithms)), the first one by default.
//! * `jwks` (a JWK Set object) and `jwks_uri` are mutually exclusive; `client_uri`,
//!   `policy_uri`, `tos_uri`, `logo_uri` and `jwks_uri` are empty or absolute http(s) URLs.
//! * `allowed_cors_origins`: http(s) origins without userinfo, path, query or fragment.
//! * `post_logout_redirect_uris`: the rules of `redirect_uris`. `frontchannel_logout_uri` and
//!   `backchannel_logout_uri`: empty, or those rules with an `http(s)` scheme (a browser loads
//!   the one, the provider's host POSTs to the other).
//! * `scope`: space-separated RFC 6749 scope tokens (default empty).
//! * `client_secret_expires_at` is always 0; `created_at` is set on create and kept on
//!   update, `updated_at` is set on both.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{
    AccessTokenStrategy, Algorithm, AuthMethod, GrantType, ResponseType, SubjectType,
};

pub use crate::model::secret::SecretHash;

/// An OAuth 2.0 client, as Hydra's `OAuth2Client` JSON (beta.8, plus `allowed_cors_origins`,
/// `id_token_signed_response_alg`, `created_at` and `updated_at`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Client {
    /// The client identifier; generated when absent on create.
    pub client_id: String,
    /// A human-readable name.
    pub client_name: String,
    /// The plaintext secret: only in the create response (and an update that set one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Registered redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Allowed grant types ([`GrantType`] spellings); empty means `authorization_code`.
    pub grant_types: Vec<String>,
    /// Allowed response types ([`ResponseType`]s, each spelled as registered: the parts in
    /// any order); empty means `code`.
    pub response_types: Vec<String>,
    /// Space-separated scopes the client may request (wildcards allowed).
    pub scope: String,
    /// The owner of the client.
    pub owner: String,
    /// URL of the client's privacy policy.
    pub policy_uri: String,
    /// URL of the client's terms of service.
    pub tos_uri: String,
    /// URL of the client's home page.
    pub client_uri: String,
    /// URL of the client's logo.
    pub logo_uri: String,
    /// Contact addresses.
    pub contacts: Vec<String>,
    /// Always 0: secrets do not expire.
    pub client_secret_expires_at: i64,
    /// A [`SubjectType`]: `public` (default) or `pairwise`.
    pub subject_type: String,
    /// The sector identifier for pairwise subjects (not fetched; used as the sector).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    /// The client's public keys (JWK Set), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// URL of the client's JWK Set, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// An [`AuthMethod`]: `client_secret_basic` (default), `client_secret_post` or `none`.
    pub token_endpoint_auth_method: String,
    /// Pre-registered request URIs (request objects are not supported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_uris: Vec<String>,
    /// Request object signing algorithm (request objects are not supported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    /// `none` (default): userinfo answers plain JSON; an enabled algorithm: a signed JWT.
    pub userinfo_signed_response_alg: String,
    /// Algorithm of this client's ID tokens: any enabled one (the first enabled by default).
    pub id_token_signed_response_alg: Option<Algorithm>,
    /// Origins allowed to call token, revoke and userinfo from a browser.
    pub allowed_cors_origins: Vec<String>,
    /// Where RP-initiated logout may send the browser back to (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// The page the logout completion page loads in a hidden iframe (Front-Channel Logout).
    pub frontchannel_logout_uri: String,
    /// Whether `iss` and `sid` are added to the front-channel logout URI.
    pub frontchannel_logout_session_required: bool,
    /// Where logout tokens are POSTed (Back-Channel Logout).
    pub backchannel_logout_uri: String,
    /// Whether logout tokens must carry `sid` (they always do here).
    pub backchannel_logout_session_required: bool,
    /// The audiences (RFC 8707 resource URIs) the client may request tokens for, as Hydra's
    /// client `audience`: each requested `resource` must equal one or lie below one. Empty
    /// restricts nothing where a user consents (authorization code, implicit) and allows
    /// no resource for client credentials, where nobody else vouches for the request.
    pub audience: Vec<String>,
    /// The kind of access token the client gets: `opaque` or `jwt` (RFC 9068); empty means
    /// the provider's [`Config::access_token_strategy`](crate::Config::access_token_strategy).
    pub access_token_strategy: String,
    /// When the client was created.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When the client was last updated.
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// Like the derived `Debug`, but the plaintext secret is redacted so logs never hold it.
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("client_name", &self.client_name)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("response_types", &self.response_types)
            .field("scope", &self.scope)
            .field("owner", &self.owner)
            .field("policy_uri", &self.policy_uri)
            .field("tos_uri", &self.tos_uri)
            .field("client_uri", &self.client_uri)
            .field("logo_uri", &self.logo_uri)
            .field("contacts", &self.contacts)
            .field("client_secret_expires_at", &self.client_secret_expires_at)
            .field("subject_type", &self.subject_type)
            .field("sector_identifier_uri", &self.sector_identifier_uri)
            .field("jwks", &self.jwks)
            .field("jwks_uri", &self.jwks_uri)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("request_uris", &self.request_uris)
            .field(
                "request_object_signing_alg",
                &self.request_object_signing_alg,
            )
            .field(
                "userinfo_signed_response_alg",
                &self.userinfo_signed_response_alg,
            )
            .field(
                "id_token_signed_response_alg",
                &self.id_token_signed_response_alg,
            )
            .field("allowed_cors_origins", &self.allowed_cors_origins)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("frontchannel_logout_uri", &self.frontchannel_logout_uri)
            .field(
                "frontchannel_logout_session_required",
                &self.frontchannel_logout_session_required,
            )
            .field("backchannel_logout_uri", &self.backchannel_logout_uri)
            .field(
                "backchannel_logout_session_required",
                &self.backchannel_logout_session_required,
            )
            .field("audience", &self.audience)
            .field("access_token_strategy", &self.access_token_strategy)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A client as stored: the model without plaintext secret, plus the secret's hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client (its `client_secret` is always `None` here).
    pub client: Client,
    /// The secret hash; `None` for public clients (`token_endpoint_auth_method = none`).
    pub secret_hash: Option<SecretHash>,
}

/// The typed view of the protocol values. Registration has parsed every one of them, so for
/// a registered client these accessors see exactly what was registered; a value written
/// into a store past registration that does not parse is ignored (an unknown grant or
/// response type allows nothing, an unknown authentication method authenticates nothing,
/// an unknown subject type is public), and an empty one means the default.
impl Client {
    /// The grant types in force: the registered ones, or `authorization_code` when empty.
    pub fn effective_grant_types(&self) -> Vec<GrantType> {
        in_force(&self.grant_types)
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        allows(&self.grant_types, grant)
    }

    /// The response types in force: the registered ones, or `code` when empty.
    pub fn effective_response_types(&self) -> Vec<ResponseType> {
        in_force(&self.response_types)
    }

    /// Whether the client may use `response_type` (whatever order it registered the parts
    /// in).
    pub fn allows_response_type(&self, response_type: ResponseType) -> bool {
        allows(&self.response_types, response_type)
    }

    /// How the client authenticates: the registered method, `client_secret_basic` when
    /// empty, `None` when the stored value is not a method.
    pub fn effective_auth_method(&self) -> Option<AuthMethod> {
        if self.token_endpoint_auth_method.is_empty() {
            Some(AuthMethod::default())
        } else {
            self.token_endpoint_auth_method.parse().ok()
        }
    }

    /// Whether the client authenticates with no secret (`token_endpoint_auth_method = none`).
    pub fn is_public(&self) -> bool {
        self.effective_auth_method() == Some(AuthMethod::None)
    }

    /// The kind of `sub` the client sees: `pairwise` only when registered so.
    pub fn effective_subject_type(&self) -> SubjectType {
        self.subject_type.parse().unwrap_or_default()
    }

    /// The kind of access token the client gets: its registered strategy, else `default`
    /// (an unparsable stored value, too).
    pub fn effective_access_token_strategy(
        &self,
        default: AccessTokenStrategy,
    ) -> AccessTokenStrategy {
        self.access_token_strategy.parse().unwrap_or(default)
    }

    /// A copy without the plaintext secret, as GET, list and login/consent requests show it.
    pub fn without_secret(&self) -> Client {
        Client {
            client_secret: None,
            ..self.clone()
        }
    }
}

/// The values of a registered list that parse, or the type's default when the list is empty.
fn in_force<T: FromStr + Default>(registered: &[String]) -> Vec<T> {
    if registered.is_empty() {
        vec![T::default()]
    } else {
        registered.iter().filter_map(|v| v.parse().ok()).collect()
    }
}

/// Whether `value` is in force for a registered list (see [`in_force`]), without collecting.
fn allows<T: FromStr + Default + PartialEq + Copy>(registered: &[String], value: T) -> bool {
    if registered.is_empty() {
        value == T::default()
    } else {
        registered.iter().any(|v| v.parse().ok() == Some(value))
    }
}

/// Longest accepted `client_id`.
pub(crate) const MAX_CLIENT_ID_LEN: usize = 255;

/// Shortest secret a caller may choose (in characters). Generated secrets are 43 characters
/// (256 bits, base64url); a chosen one must at least resist online guessing.
pub(crate) const MIN_CHOSEN_SECRET_LEN: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let client = Client {
            client_id: "app".into(),
            client_secret: Some("top-secret-value".into()),
            ..Client::default()
        };
        let text = format!("{client:?}");
        assert!(text.contains("\"app\"") && text.contains("<redacted>"));
        assert!(!text.contains("top-secret-value"));
    }
}
