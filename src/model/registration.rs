//! Registration: the rules a client submitted on create or update must pass (listed in
//! [`crate::model::client`]), the defaults it is stored with, and the decision about its
//! secret. Every protocol value is parsed into its [`crate::model`] type here, so what is
//! stored is known to parse.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use crate::error::Error;
use crate::model::client::{Client, ClientRecord, MAX_CLIENT_ID_LEN, MIN_CHOSEN_SECRET_LEN};
use crate::model::secret::SecretHash;
use crate::model::{
    AccessTokenStrategy, Algorithm, AuthMethod, GrantType, InvalidResponseType, ResponseType,
    SubjectType,
};

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

/// What the provider's configuration lets a client register.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy<'a> {
    /// Whether pairwise subject identifiers are configured.
    pub(crate) pairwise_enabled: bool,
    /// The enabled signing algorithms; the first is the default.
    pub(crate) signing_algorithms: &'a [Algorithm],
}

impl Policy<'_> {
    fn names(&self) -> String {
        let names: Vec<&str> = self.signing_algorithms.iter().map(|a| a.as_str()).collect();
        names.join(", ")
    }

    /// A 400 naming why `alg` cannot be used: not built in, or not enabled.
    fn check_algorithm(&self, field: &str, alg: Algorithm) -> Result<(), Error> {
        if !alg.is_compiled() {
            return Err(bad(format!(
                "The {field} {alg} is not available: this server is built without RSA support (the `rsa` feature)."
            )));
        }
        if !self.signing_algorithms.contains(&alg) {
            return Err(bad(format!(
                "The {field} {alg} is not enabled on this server; use one of {}.",
                self.names()
            )));
        }
        Ok(())
    }
}

/// Most entries of a client's `audience`: each is matched against every requested resource.
const MAX_AUDIENCES: usize = 64;

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

/// Checks a front- or back-channel logout URI: empty, or a redirect URI (the same rules)
/// with an `http` or `https` scheme, since a browser frame or an HTTP client calls it.
fn check_logout_uri(field: &str, uri: &str) -> Result<(), Error> {
    if uri.is_empty() {
        return Ok(());
    }
    crate::model::redirect_uri::validate_registration(uri)
        .map_err(|why| bad(format!("The {field} is invalid: {why}.")))?;
    if !(uri.starts_with("https://") || uri.starts_with("http://")) {
        return Err(bad(format!("The {field} must be an http or https URL.")));
    }
    Ok(())
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
        policy: &Policy<'_>,
        now: OffsetDateTime,
    ) -> Result<Registration, Error> {
        if self.client_id.is_empty() && previous.is_none() {
            self.client_id = uuid_v4();
        }
        check_client_id(&self.client_id)?;
        self.apply_defaults(policy);
        self.validate(policy)?;
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
    fn apply_defaults(&mut self, policy: &Policy<'_>) {
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
            self.id_token_signed_response_alg = policy.signing_algorithms.first().copied();
        }
    }

    /// Every field rule except the id and the secret (see [`Client::register`]).
    fn validate(&self, policy: &Policy<'_>) -> Result<(), Error> {
        for (i, uri) in self.redirect_uris.iter().enumerate() {
            crate::model::redirect_uri::validate_registration(uri)
                .map_err(|why| bad(format!("redirect_uris[{i}] is invalid: {why}.")))?;
        }
        for (i, uri) in self.post_logout_redirect_uris.iter().enumerate() {
            crate::model::redirect_uri::validate_registration(uri)
                .map_err(|why| bad(format!("post_logout_redirect_uris[{i}] is invalid: {why}.")))?;
        }
        check_logout_uri("frontchannel_logout_uri", &self.frontchannel_logout_uri)?;
        check_logout_uri("backchannel_logout_uri", &self.backchannel_logout_uri)?;
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
        self.validate_subject_type(policy.pairwise_enabled)?;
        if let Some(alg) = self.id_token_signed_response_alg {
            policy.check_algorithm("id_token_signed_response_alg", alg)?;
        }
        if self.userinfo_signed_response_alg != "none" {
            let alg = self.userinfo_signed_response_alg.parse().map_err(|_| {
                bad(format!(
                    "The userinfo_signed_response_alg must be 'none' or one of {}.",
                    policy.names()
                ))
            })?;
            policy.check_algorithm("userinfo_signed_response_alg", alg)?;
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
        self.validate_resource_fields()?;
        check_scope(&self.scope)
    }

    /// `audience` (resource indicators a client may request: RFC 8707 URIs, a bounded
    /// list) and `access_token_strategy` (empty, `opaque` or `jwt`).
    fn validate_resource_fields(&self) -> Result<(), Error> {
        if self.audience.len() > MAX_AUDIENCES {
            return Err(bad(format!(
                "The audience may hold at most {MAX_AUDIENCES} entries."
            )));
        }
        for (i, audience) in self.audience.iter().enumerate() {
            if let Some(why) = crate::model::resource::problem(audience) {
                return Err(bad(format!("audience[{i}] {why}.")));
            }
        }
        if !self.access_token_strategy.is_empty()
            && self
                .access_token_strategy
                .parse::<AccessTokenStrategy>()
                .is_err()
        {
            return Err(bad(
                "The access_token_strategy must be 'opaque' or 'jwt' (or empty for the server's default).",
            ));
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_uuid_v4_and_secrets_256_bit() {
        let id = uuid_v4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(uuid_v4(), id);
        let secret = generate_secret();
        assert_eq!(URL_SAFE_NO_PAD.decode(&secret).unwrap().len(), 32);
    }
}
