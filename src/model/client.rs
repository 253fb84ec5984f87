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
//! * `userinfo_signed_response_alg`: `none` (default); `id_token_signed_response_alg`:
//!   `ES256` (default) or `EdDSA`.
//! * `jwks` (a JWK Set object) and `jwks_uri` are mutually exclusive; `client_uri`,
//!   `policy_uri`, `tos_uri`, `logo_uri` and `jwks_uri` are empty or absolute http(s) URLs.
//! * `allowed_cors_origins`: http(s) origins without userinfo, path, query or fragment.
//! * `scope`: space-separated RFC 6749 scope tokens (default empty).
//! * `client_secret_expires_at` is always 0; `created_at` is set on create and kept on
//!   update, `updated_at` is set on both.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Error;
use crate::model::{
    Algorithm, AuthMethod, GrantType, InvalidResponseType, ResponseType, SubjectType,
};

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
    /// Allowed grant types; empty means `authorization_code`.
    pub grant_types: Vec<String>,
    /// Allowed response types; empty means `code`.
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
    /// `public` (default) or `pairwise`.
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
    /// `client_secret_basic` (default), `client_secret_post` or `none`.
    pub token_endpoint_auth_method: String,
    /// Pre-registered request URIs (request objects are not supported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_uris: Vec<String>,
    /// Request object signing algorithm (request objects are not supported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    /// `none` (default): userinfo answers plain JSON.
    pub userinfo_signed_response_alg: String,
    /// Algorithm of this client's ID tokens: `ES256` (default) or `EdDSA`.
    pub id_token_signed_response_alg: Option<Algorithm>,
    /// Origins allowed to call token, revoke and userinfo from a browser.
    pub allowed_cors_origins: Vec<String>,
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
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// How a client secret is kept: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecretHash {
    /// SHA-256 of a server-generated 256-bit secret: brute force is hopeless, so a fast hash
    /// is as safe as a slow one and keeps client authentication in the microseconds.
    Sha256 {
        /// Lowercase hex digest.
        digest: String,
    },
    /// PBKDF2-HMAC-SHA256 of a secret chosen by a person, which may be guessable.
    Pbkdf2Sha256 {
        /// Iteration count.
        iterations: u32,
        /// Lowercase hex salt.
        salt: String,
        /// Lowercase hex derived key.
        digest: String,
    },
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
        if self.grant_types.is_empty() {
            vec![GrantType::default()]
        } else {
            self.grant_types
                .iter()
                .filter_map(|g| g.parse().ok())
                .collect()
        }
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        if self.grant_types.is_empty() {
            grant == GrantType::default()
        } else {
            self.grant_types.iter().any(|g| g == grant.as_str())
        }
    }

    /// The response types in force: the registered ones, or `code` when empty.
    pub fn effective_response_types(&self) -> Vec<ResponseType> {
        if self.response_types.is_empty() {
            vec![ResponseType::default()]
        } else {
            self.response_types
                .iter()
                .filter_map(|r| r.parse().ok())
                .collect()
        }
    }

    /// Whether the client may use `response_type` (whatever order it registered the parts
    /// in).
    pub fn allows_response_type(&self, response_type: ResponseType) -> bool {
        if self.response_types.is_empty() {
            response_type == ResponseType::default()
        } else {
            self.response_types
                .iter()
                .any(|r| r.parse() == Ok(response_type))
        }
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

    /// The algorithm of this client's ID tokens.
    pub fn id_token_alg(&self) -> Algorithm {
        self.id_token_signed_response_alg
            .unwrap_or(Algorithm::ES256)
    }

    /// A copy without the plaintext secret, as GET, list and login/consent requests show it.
    pub fn without_secret(&self) -> Client {
        Client {
            client_secret: None,
            ..self.clone()
        }
    }
}

/// Longest accepted `client_id`.
pub const MAX_CLIENT_ID_LEN: usize = 255;

/// Shortest secret a caller may choose (in characters). Generated secrets are 43 characters
/// (256 bits, base64url); a chosen one must at least resist online guessing.
pub const MIN_CHOSEN_SECRET_LEN: usize = 16;

/// What registration (create or update) made of a submitted client.
#[derive(Debug)]
pub(crate) struct Registration {
    /// The record to store (no plaintext secret).
    pub(crate) record: ClientRecord,
    /// The plaintext secret to show once: generated or chosen now. `None` when the secret
    /// did not change (an update without a new secret) or the client is public.
    pub(crate) new_secret: Option<String>,
}

impl Registration {
    /// The client as the create/update response shows it: with the new secret, if any.
    pub(crate) fn shown(&self) -> Client {
        Client {
            client_secret: self.new_secret.clone(),
            ..self.record.client.clone()
        }
    }
}

fn bad(why: impl Into<Cow<'static, str>>) -> Error {
    Error::BadRequest(why.into())
}

/// A random UUID v4 (with dashes), as Hydra generates client ids.
fn uuid_v4() -> String {
    let mut b = crate::crypto::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::crypto::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A fresh 256-bit secret, base64url without padding (43 characters).
fn generate_secret() -> String {
    URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<32>())
}

/// Checks a `client_id`: 1 to [`MAX_CLIENT_ID_LEN`] visible ASCII characters (`!` to `~`),
/// except `/`, `?`, `#` and `%`, which would make `/clients/{id}` ambiguous.
fn check_client_id(id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > MAX_CLIENT_ID_LEN {
        return Err(bad(format!(
            "The client_id must be 1 to {MAX_CLIENT_ID_LEN} characters long."
        )));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'?' | b'#' | b'%'))
    {
        return Err(bad(
            "The client_id may only contain visible ASCII characters other than '/', '?', '#' and '%'.",
        ));
    }
    Ok(())
}

/// Checks an optional informational URL (`client_uri`, `logo_uri`, …): empty, or an
/// absolute `http`/`https` URL, so that consent pages never render a `javascript:` link.
fn check_web_url(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Ok(());
    }
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(bad(format!(
            "The {field} must be an absolute http or https URL."
        ))),
    }
}

/// Checks one entry of `allowed_cors_origins`: an `http`/`https` origin with a host, no
/// userinfo, no path other than `/`, no query or fragment.
fn check_cors_origin(index: usize, origin: &str) -> Result<(), Error> {
    let why = match url::Url::parse(origin) {
        Err(e) => format!("is not an absolute URL ({e})"),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => "must use http or https".into(),
        Ok(url) if !url.has_host() => "must have a host".into(),
        Ok(url) if !url.username().is_empty() || url.password().is_some() => {
            "must not contain user information".into()
        }
        Ok(url) if url.path() != "/" => "must not have a path".into(),
        Ok(url) if url.query().is_some() || url.fragment().is_some() => {
            "must not have a query or fragment".into()
        }
        Ok(_) => return Ok(()),
    };
    Err(bad(format!("allowed_cors_origins[{index}] {why}.")))
}

/// Checks one entry of `response_types`: a space-separated set of `code`, `token` and
/// `id_token`, in any order, without repeats or extra spaces (a [`ResponseType`]).
fn check_response_type(index: usize, entry: &str) -> Result<(), Error> {
    match entry.parse::<ResponseType>() {
        Ok(_) => Ok(()),
        Err(InvalidResponseType::Unknown) => Err(bad(format!(
            "response_types[{index}] must be a space-separated combination of 'code', 'token' and 'id_token'."
        ))),
        Err(InvalidResponseType::Repeated(part)) => Err(bad(format!(
            "response_types[{index}] names '{part}' more than once."
        ))),
    }
}

/// Checks `token_endpoint_auth_method`: an [`AuthMethod`]; the JWT methods get their own
/// message, since a client may reasonably expect them.
fn check_auth_method(method: &str) -> Result<(), Error> {
    match method.parse::<AuthMethod>() {
        Ok(_) => Ok(()),
        Err(_) if matches!(method, "private_key_jwt" | "client_secret_jwt") => Err(bad(format!(
            "The token_endpoint_auth_method '{method}' is not supported; use client_secret_basic, client_secret_post or none."
        ))),
        Err(_) => Err(bad(
            "The token_endpoint_auth_method must be client_secret_basic, client_secret_post or none.",
        )),
    }
}

/// Checks `scope`: space-separated scope tokens of RFC 6749 §3.3 (`%x21 / %x23-5B / %x5D-7E`).
fn check_scope(scope: &str) -> Result<(), Error> {
    let valid = |b: u8| b == b' ' || (b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if scope.bytes().all(valid) {
        Ok(())
    } else {
        Err(bad(
            "The scope must be space-separated scope tokens of visible ASCII characters other than '\"' and '\\'.",
        ))
    }
}

impl Client {
    /// Validates a client submitted on create (`previous = None`) or update (`previous` =
    /// the stored record; the caller has forced the id to the path's), applies the defaults
    /// and decides the secret. Nothing here touches the store.
    ///
    /// The secret: public clients (`none`) have none and may not send one. A confidential
    /// client's secret is the one sent (at least [`MIN_CHOSEN_SECRET_LEN`] characters,
    /// stored with salted PBKDF2), else on update the previous hash, else a generated
    /// 256-bit secret (stored with SHA-256). `sector_identifier_uri` is checked for form
    /// only (https); it is not fetched.
    pub(crate) fn register(
        mut self,
        previous: Option<&ClientRecord>,
        pairwise_enabled: bool,
        now: OffsetDateTime,
    ) -> Result<Registration, Error> {
        if self.client_id.is_empty() && previous.is_none() {
            self.client_id = uuid_v4();
        }
        check_client_id(&self.client_id)?;
        self.apply_defaults();
        self.validate(pairwise_enabled)?;
        let sent = self.client_secret.take().filter(|s| !s.is_empty());
        let (secret_hash, new_secret) = if self.is_public() {
            if sent.is_some() {
                return Err(bad(
                    "A public client (token_endpoint_auth_method 'none') must not have a client_secret.",
                ));
            }
            (None, None)
        } else {
            match (sent, previous.and_then(|p| p.secret_hash.clone())) {
                (Some(chosen), _) => {
                    if chosen.chars().count() < MIN_CHOSEN_SECRET_LEN {
                        return Err(bad(format!(
                            "The client_secret must be at least {MIN_CHOSEN_SECRET_LEN} characters long."
                        )));
                    }
                    (Some(SecretHash::of_chosen(&chosen)), Some(chosen))
                }
                (None, Some(kept)) => (Some(kept), None),
                (None, None) => {
                    let generated = generate_secret();
                    (Some(SecretHash::of_generated(&generated)), Some(generated))
                }
            }
        };
        self.client_secret_expires_at = 0;
        self.created_at = Some(previous.and_then(|p| p.client.created_at).unwrap_or(now));
        self.updated_at = Some(now);
        Ok(Registration {
            record: ClientRecord {
                client: self,
                secret_hash,
            },
            new_secret,
        })
    }

    /// Fills the defaults a client is stored with, so GET shows what is in force.
    fn apply_defaults(&mut self) {
        let empty_is_none = |field: &mut Option<String>| {
            if field.as_deref() == Some("") {
                *field = None;
            }
        };
        empty_is_none(&mut self.sector_identifier_uri);
        empty_is_none(&mut self.jwks_uri);
        empty_is_none(&mut self.request_object_signing_alg);
        if self.token_endpoint_auth_method.is_empty() {
            self.token_endpoint_auth_method = AuthMethod::default().as_str().into();
        }
        if self.subject_type.is_empty() {
            self.subject_type = SubjectType::default().as_str().into();
        }
        if self.userinfo_signed_response_alg.is_empty() {
            self.userinfo_signed_response_alg = "none".into();
        }
        if self.id_token_signed_response_alg.is_none() {
            self.id_token_signed_response_alg = Some(Algorithm::ES256);
        }
    }

    /// Every field rule except the id and the secret (see [`Client::register`]).
    fn validate(&self, pairwise_enabled: bool) -> Result<(), Error> {
        for (i, uri) in self.redirect_uris.iter().enumerate() {
            crate::model::redirect_uri::validate_registration(uri)
                .map_err(|why| bad(format!("redirect_uris[{i}] is invalid: {why}.")))?;
        }
        for grant in &self.grant_types {
            if grant.parse::<GrantType>().is_err() {
                return Err(bad(
                    "grant_types may only contain 'authorization_code', 'refresh_token', 'client_credentials' and 'implicit'.",
                ));
            }
        }
        for (i, entry) in self.response_types.iter().enumerate() {
            check_response_type(i, entry)?;
        }
        check_auth_method(&self.token_endpoint_auth_method)?;
        if self.is_public() && self.allows_grant(GrantType::ClientCredentials) {
            return Err(bad(
                "The client_credentials grant needs a confidential client; a public client (token_endpoint_auth_method 'none') cannot use it.",
            ));
        }
        self.validate_subject_type(pairwise_enabled)?;
        if self.userinfo_signed_response_alg != "none" {
            return Err(bad(
                "The userinfo_signed_response_alg must be 'none' (signed userinfo responses are not supported).",
            ));
        }
        if self.jwks.is_some() && self.jwks_uri.is_some() {
            return Err(bad("The jwks and jwks_uri fields are mutually exclusive."));
        }
        if let Some(jwks) = &self.jwks {
            if !jwks.get("keys").is_some_and(serde_json::Value::is_array) {
                return Err(bad(
                    "The jwks must be a JWK Set: an object with a 'keys' array.",
                ));
            }
        }
        for (field, value) in [
            ("client_uri", self.client_uri.as_str()),
            ("policy_uri", self.policy_uri.as_str()),
            ("tos_uri", self.tos_uri.as_str()),
            ("logo_uri", self.logo_uri.as_str()),
            ("jwks_uri", self.jwks_uri.as_deref().unwrap_or("")),
        ] {
            check_web_url(field, value)?;
        }
        for (i, origin) in self.allowed_cors_origins.iter().enumerate() {
            check_cors_origin(i, origin)?;
        }
        check_scope(&self.scope)
    }

    /// `subject_type` and the pairwise rules (sector identifier; not fetched).
    fn validate_subject_type(&self, pairwise_enabled: bool) -> Result<(), Error> {
        if let Some(sector) = &self.sector_identifier_uri {
            let https =
                url::Url::parse(sector).is_ok_and(|u| u.scheme() == "https" && u.has_host());
            if !https {
                return Err(bad(
                    "The sector_identifier_uri must be an absolute https URL.",
                ));
            }
        }
        match self.subject_type.parse::<SubjectType>() {
            Ok(SubjectType::Public) => Ok(()),
            Ok(SubjectType::Pairwise) if !pairwise_enabled => Err(bad(
                "The subject_type 'pairwise' is not enabled on this server (no pairwise salt is configured).",
            )),
            Ok(SubjectType::Pairwise)
                if self.redirect_uris.len() > 1 && self.sector_identifier_uri.is_none() =>
            {
                Err(bad(
                    "A pairwise client with more than one redirect URI needs a sector_identifier_uri.",
                ))
            }
            Ok(SubjectType::Pairwise) => Ok(()),
            Err(_) => Err(bad("The subject_type must be 'public' or 'pairwise'.")),
        }
    }
}

/// PBKDF2 iterations for secrets chosen by people (OWASP 2023 guidance for HMAC-SHA256).
const PBKDF2_ITERATIONS: u32 = 600_000;

impl SecretHash {
    /// The hash of a secret the server generated (256 random bits): plain SHA-256.
    pub fn of_generated(secret: &str) -> Self {
        use sha2::Digest;
        Self::Sha256 {
            digest: crate::crypto::hex(&sha2::Sha256::digest(secret.as_bytes())),
        }
    }

    /// The hash of a secret chosen by a person: salted PBKDF2-HMAC-SHA256.
    pub fn of_chosen(secret: &str) -> Self {
        let salt = crate::crypto::random_bytes::<16>();
        let digest = pbkdf2_sha256(secret.as_bytes(), &salt, PBKDF2_ITERATIONS);
        Self::Pbkdf2Sha256 {
            iterations: PBKDF2_ITERATIONS,
            salt: crate::crypto::hex(&salt),
            digest: crate::crypto::hex(&digest),
        }
    }

    /// Whether checking a secret against this hash is slow on purpose (PBKDF2): such checks
    /// run off the async executor.
    pub(crate) fn is_slow(&self) -> bool {
        matches!(self, Self::Pbkdf2Sha256 { .. })
    }

    /// Every stored part of the hash in one string, to key remembered checks by.
    pub(crate) fn stored_form(&self) -> String {
        match self {
            Self::Sha256 { digest } => format!("sha256${digest}"),
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                digest,
            } => format!("pbkdf2-sha256${iterations}${salt}${digest}"),
        }
    }

    /// Whether `presented` is the secret, compared in constant time. A PBKDF2 check takes
    /// about 0.1 s of CPU; the endpoints run it off the executor.
    pub fn verify(&self, presented: &str) -> bool {
        use crate::crypto::{constant_time_eq, hex, sha256_hex, unhex};
        match self {
            Self::Sha256 { digest } => constant_time_eq(
                sha256_hex(presented.as_bytes()).as_bytes(),
                digest.as_bytes(),
            ),
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                digest,
            } => {
                let Some(salt) = unhex(salt) else {
                    return false;
                };
                let actual = pbkdf2_sha256(presented.as_bytes(), &salt, *iterations);
                constant_time_eq(hex(&actual).as_bytes(), digest.as_bytes())
            }
        }
    }
}

fn pbkdf2_sha256(secret: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret, salt, iterations, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_verify_fast_path() {
        let hash = SecretHash::of_generated("s3cret-generated");
        assert!(matches!(hash, SecretHash::Sha256 { .. }));
        assert!(hash.verify("s3cret-generated"));
        assert!(!hash.verify("s3cret-generatee"));
        assert!(!hash.verify(""));
    }

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

    #[test]
    fn generated_ids_are_uuid_v4_and_secrets_256_bit() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(uuid_v4(), id);
        let secret = generate_secret();
        assert_eq!(URL_SAFE_NO_PAD.decode(&secret).unwrap().len(), 32);
    }

    #[test]
    fn chosen_secrets_use_salted_pbkdf2() {
        let a = SecretHash::of_chosen("correct horse");
        let b = SecretHash::of_chosen("correct horse");
        assert_ne!(a, b, "salts must differ");
        assert!(a.verify("correct horse"));
        assert!(!a.verify("correct horsf"));
    }
}
