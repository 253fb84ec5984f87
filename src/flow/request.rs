//! Validating an authorization request (`GET|POST /oauth2/auth`), in a safe order: first the
//! client and its redirect URI — until both are trusted, errors go to the error URL only —
//! then everything else, whose errors go to the client.

use crate::context::{ClientLookupError, Context};
use crate::error::OAuthError;
use crate::flow::Stage;
use crate::flow::response::{Destination, ResponseMode};
use crate::http::Request;
use crate::http::params::Params;
use crate::model::client::Client;
use crate::model::{GrantType, ResponseType, redirect_uri, resource, scope};
use crate::store::OidcContext;

/// The longest `state` echoed; longer ones are refused rather than truncated.
const MAX_STATE_LEN: usize = 2048;
/// The longest `nonce` accepted; longer ones are refused rather than truncated.
pub(crate) const MAX_NONCE_LEN: usize = 512;

/// The longest value (in bytes) of each parameter an open flow keeps apart from its request
/// URL (the scope list, the OIDC context shown to the login and consent apps) or that names
/// something short; longer ones are refused rather than truncated. `state` and `nonce` have
/// their own checks above. Unknown parameters stay only in the request URL, which
/// [`Config::max_authorization_request_bytes`](crate::Config::max_authorization_request_bytes)
/// bounds as a whole.
const MAX_FIELD_LEN: &[(&str, usize)] = &[
    ("scope", 4096),
    ("login_hint", 1024),
    ("acr_values", 1024),
    ("ui_locales", 256),
    ("claims_locales", 256),
    ("display", 16),
    ("prompt", 64),
    ("max_age", 20),
    ("response_type", 64),
    ("response_mode", 16),
    ("code_challenge", 128),
    ("code_challenge_method", 16),
    ("id_token_hint", 8192),
];

/// The `prompt` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub(crate) none: bool,
    pub(crate) login: bool,
    pub(crate) consent: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeRequest {
    /// The client.
    pub(crate) client: Client,
    /// The `redirect_uri` parameter as sent (the token request must repeat it).
    pub(crate) redirect_uri_sent: Option<String>,
    /// Where responses go.
    pub(crate) destination: Destination,
    pub(crate) response_type: ResponseType,
    /// Requested scopes, in request order.
    pub(crate) scope: Vec<String>,
    /// Requested resources (RFC 8707), in request order without repeats.
    pub(crate) resource: Vec<String>,
    pub(crate) nonce: Option<String>,
    /// The S256 PKCE challenge.
    pub(crate) code_challenge: Option<String>,
    pub(crate) prompt: Prompt,
    /// `max_age` in seconds.
    pub(crate) max_age: Option<i64>,
    /// The `sub` of a valid `id_token_hint`.
    pub(crate) hint_subject: Option<String>,
    /// The OIDC parameters shown to the login and consent apps.
    pub(crate) oidc_context: OidcContext,
    /// The original authorization URL (without verifiers).
    pub(crate) request_url: String,
    /// A returning verifier; the login verifier wins when both are present.
    pub(crate) verifier: Option<(Stage, String)>,
    /// The request's parameters without verifiers, normalised for comparison with the
    /// request a verifier belongs to.
    pub(crate) fingerprint: Vec<(String, String)>,
}

/// Why a request was refused, and where the error may go.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// The client or redirect URI is not trusted: the error URL gets the error.
    Untrusted(OAuthError),
    /// The client and redirect URI are valid: the client gets the error.
    ToClient(Box<Destination>, OAuthError),
}

impl Rejection {
    fn to_client(destination: &Destination, err: OAuthError) -> Self {
        Self::ToClient(Box::new(destination.clone()), err)
    }
}

/// The parameters of a request without verifiers: sorted non-empty pairs.
pub(crate) fn fingerprint(params: &Params) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = params
        .pairs()
        .filter(|(k, v)| !v.is_empty() && *k != "login_verifier" && *k != "consent_verifier")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// Reads the request's parameters: the query, plus the form body of a POST, together at
/// most `max_authorization_request_bytes` (not counting a returning verifier, which the
/// provider itself appended to the request).
fn read_params(p: &Context, req: &Request) -> Result<Params, OAuthError> {
    let max = p.config.max_authorization_request_bytes;
    let query = req.uri().query().unwrap_or("").as_bytes();
    let body: &[u8] = if req.method() == http::Method::POST {
        req.body()
    } else {
        &[]
    };
    if request_len(query).saturating_add(request_len(body)) > max {
        return Err(OAuthError::invalid_request(format!(
            "The authorization request must not exceed {max} bytes."
        )));
    }
    let mut params = Params::from_query(req)?;
    if req.method() == http::Method::POST {
        params.extend(&Params::from_form(req)?);
    }
    Ok(params)
}

/// Validates an authorization request: the client and its redirect URI first (until both
/// are trusted, errors go to the error URL), then where responses go, then the rest (whose
/// errors go to the client).
pub(crate) async fn parse(p: &Context, req: &Request) -> Result<AuthorizeRequest, Rejection> {
    let params = read_params(p, req).map_err(Rejection::Untrusted)?;
    let (client, redirect_uri, redirect_uri_sent) = trusted_client(p, &params).await?;
    let response_type_text = params.get("response_type").ok().flatten();
    let response_type = response_type_text.and_then(ResponseType::parse_request);
    let destination = destination(&params, redirect_uri, response_type)?;
    let rest = validate_rest(p, &params, &client, response_type_text, response_type)
        .await
        .map_err(|e| Rejection::to_client(&destination, e))?;
    Ok(AuthorizeRequest {
        client,
        redirect_uri_sent,
        destination,
        response_type: rest.response_type,
        scope: rest.scope,
        resource: rest.resource,
        nonce: rest.nonce,
        code_challenge: rest.code_challenge,
        prompt: rest.prompt,
        max_age: rest.max_age,
        hint_subject: rest.hint_subject,
        oidc_context: rest.oidc_context,
        request_url: request_url(p, req, &params),
        verifier: returning_verifier(&params),
        fingerprint: fingerprint(&params),
    })
}

/// Where responses go: the trusted redirect URI, the `state` to echo, and the response mode.
/// A refusal here already goes to the client (without the state when the state itself is
/// refused).
fn destination(
    params: &Params,
    redirect_uri: String,
    response_type: Option<ResponseType>,
) -> Result<Destination, Rejection> {
    let default_mode = if response_type.is_some_and(ResponseType::returns_tokens) {
        ResponseMode::Fragment
    } else {
        ResponseMode::Query
    };
    let mut destination = Destination {
        redirect_uri,
        mode: default_mode,
        state: None,
    };
    let state = params.get("state").ok().flatten();
    if state.is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(Rejection::to_client(
            &destination,
            OAuthError::invalid_request(format!(
                "The state parameter must not be longer than {MAX_STATE_LEN} characters."
            )),
        ));
    }
    destination.state = state.map(str::to_owned);
    destination.mode =
        response_mode(params, default_mode).map_err(|e| Rejection::to_client(&destination, e))?;
    Ok(destination)
}

/// The `response_mode` (query, fragment or form_post), else `default_mode`; tokens are
/// never returned in the query.
fn response_mode(params: &Params, default_mode: ResponseMode) -> Result<ResponseMode, OAuthError> {
    let Some(mode) = params.get("response_mode")? else {
        return Ok(default_mode);
    };
    let mode = ResponseMode::parse(mode).ok_or_else(|| {
        OAuthError::invalid_request("The response_mode must be query, fragment or form_post.")
    })?;
    if mode == ResponseMode::Query && default_mode == ResponseMode::Fragment {
        return Err(OAuthError::invalid_request(
            "Tokens must not be returned in the query; use response_mode fragment or form_post.",
        ));
    }
    Ok(mode)
}

/// The original authorization URL shown to the login and consent apps: the query of a GET
/// as sent, the non-empty parameters of a POST.
fn request_url(p: &Context, req: &Request, params: &Params) -> String {
    if req.method() == http::Method::GET {
        format!(
            "{}/oauth2/auth?{}",
            p.config.base_url(),
            req.uri().query().unwrap_or("")
        )
    } else {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.pairs().filter(|(_, v)| !v.is_empty()))
            .finish();
        format!("{}/oauth2/auth?{query}", p.config.base_url())
    }
}

/// The length of an urlencoded request without the verifier pairs the provider appended
/// (a verifier is under 100 bytes; a longer pair counts like any other).
fn request_len(raw: &[u8]) -> usize {
    let appended = |pair: &[u8]| {
        pair.len() <= 128
            && (pair.starts_with(b"login_verifier=") || pair.starts_with(b"consent_verifier="))
    };
    raw.split(|b| *b == b'&')
        .filter(|pair| !appended(pair))
        .map(|pair| pair.len() + 1)
        .sum()
}

/// A returning verifier; the login verifier wins when both are present.
fn returning_verifier(params: &Params) -> Option<(Stage, String)> {
    match (
        params.get("login_verifier").ok().flatten(),
        params.get("consent_verifier").ok().flatten(),
    ) {
        (Some(v), _) => Some((Stage::Login, v.to_owned())),
        (None, Some(v)) => Some((Stage::Consent, v.to_owned())),
        (None, None) => None,
    }
}

/// The client and the effective redirect URI (and the one sent, if any).
async fn trusted_client(
    p: &Context,
    params: &Params,
) -> Result<(Client, String, Option<String>), Rejection> {
    let client_id = params
        .require("client_id")
        .and_then(|id| crate::http::params::identifier("client_id", id))
        .map_err(Rejection::Untrusted)?;
    crate::trace::client_id(client_id);
    // A client whose metadata document failed is refused here, at the error URL: its
    // redirect URIs are unknown, so nothing may go to the one the request names.
    let client = match p.client(client_id).await {
        Ok(record) => record.client.clone(),
        Err(ClientLookupError::NotFound) => {
            return Err(Rejection::Untrusted(OAuthError::invalid_client(
                "The requested OAuth 2.0 client does not exist.",
            )));
        }
        Err(ClientLookupError::Refused(why)) => {
            return Err(Rejection::Untrusted(OAuthError::invalid_client(why)));
        }
        Err(ClientLookupError::Store(e)) => {
            return Err(Rejection::Untrusted(OAuthError::store_failure(e)));
        }
    };
    let sent = params
        .get("redirect_uri")
        .map_err(Rejection::Untrusted)?
        .map(str::to_owned);
    let effective = match &sent {
        Some(uri) => {
            if !client
                .redirect_uris
                .iter()
                .any(|reg| redirect_uri::matches(reg, uri))
            {
                return Err(Rejection::Untrusted(OAuthError::invalid_request(
                    "The redirect_uri does not match any of the client's registered redirect URIs.",
                )));
            }
            uri.clone()
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            [] => {
                return Err(Rejection::Untrusted(OAuthError::invalid_request(
                    "The client has no registered redirect URI.",
                )));
            }
            _ => {
                return Err(Rejection::Untrusted(OAuthError::invalid_request(
                    "The client has several redirect URIs; the redirect_uri parameter is required.",
                )));
            }
        },
    };
    Ok((client, effective, sent))
}

/// Everything validated after the destination is trusted.
struct Rest {
    response_type: ResponseType,
    scope: Vec<String>,
    resource: Vec<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt: Prompt,
    max_age: Option<i64>,
    hint_subject: Option<String>,
    oidc_context: OidcContext,
}

/// Everything after the destination, in order: repeated and unsupported parameters, the
/// response type, scopes, resources (RFC 8707), nonce, PKCE, prompt, `max_age`, `id_token_hint` and the OIDC
/// context.
async fn validate_rest(
    p: &Context,
    params: &Params,
    client: &Client,
    response_type_text: Option<&str>,
    response_type: Option<ResponseType>,
) -> Result<Rest, OAuthError> {
    params.reject_repeated()?;
    reject_long_fields(params)?;
    reject_request_objects(params)?;
    let response_type = check_response_type(client, response_type_text, response_type)?;
    let scope = requested_scope(params, client, response_type)?;
    let resource = resource::requested(params.get_all("resource"))?;
    resource::check_allowed(&client.audience, &resource)?;
    let nonce = nonce(params, response_type)?;
    let code_challenge = check_pkce(params, client, response_type)?;
    let prompt = parse_prompt(params.get("prompt")?)?;
    let max_age = max_age(params)?;
    let (hint_subject, hint_claims) = match params.get("id_token_hint")? {
        None => (None, None),
        Some(hint) => {
            let (sub, claims) = check_id_token_hint(p, hint).await?;
            (Some(sub), Some(claims))
        }
    };
    Ok(Rest {
        response_type,
        scope,
        resource,
        nonce,
        code_challenge,
        prompt,
        max_age,
        hint_subject,
        oidc_context: oidc_context(params, hint_claims)?,
    })
}

/// Refuses a parameter longer than its [`MAX_FIELD_LEN`].
fn reject_long_fields(params: &Params) -> Result<(), OAuthError> {
    for &(name, max) in MAX_FIELD_LEN {
        if params.get(name)?.is_some_and(|value| value.len() > max) {
            return Err(OAuthError::invalid_request(format!(
                "The {name} parameter must not be longer than {max} bytes."
            )));
        }
    }
    Ok(())
}

/// Request objects (by value or by reference) and the `registration` parameter are not
/// supported, each with its own error code.
fn reject_request_objects(params: &Params) -> Result<(), OAuthError> {
    if params.get("request")?.is_some() {
        return Err(OAuthError::request_not_supported(
            "Request objects are not supported.",
        ));
    }
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::request_uri_not_supported(
            "Request objects by reference are not supported.",
        ));
    }
    if params.get("registration")?.is_some() {
        return Err(OAuthError::registration_not_supported(
            "The registration parameter is not supported.",
        ));
    }
    Ok(())
}

/// The requested scopes, in request order: each allowed to the client, and `openid` among
/// them when an ID token is returned.
fn requested_scope(
    params: &Params,
    client: &Client,
    response_type: ResponseType,
) -> Result<Vec<String>, OAuthError> {
    let scope = scope::split(params.get("scope")?.unwrap_or(""));
    if let Some(bad) = scope::first_not_allowed(&scope, &client.scope) {
        return Err(OAuthError::invalid_scope(format!(
            "The client is not allowed to request the scope '{bad}'."
        )));
    }
    if response_type.has_id_token() && !scope::is_openid(&scope) {
        return Err(OAuthError::invalid_scope(
            "The id_token response type requires the openid scope.",
        ));
    }
    Ok(scope)
}

/// The `nonce`: bounded, and required when an ID token is returned from this endpoint.
fn nonce(params: &Params, response_type: ResponseType) -> Result<Option<String>, OAuthError> {
    let nonce = params.get("nonce")?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(OAuthError::invalid_request(format!(
            "The nonce must not be longer than {MAX_NONCE_LEN} characters."
        )));
    }
    if response_type.has_id_token() && nonce.is_none() {
        return Err(OAuthError::invalid_request(
            "The nonce parameter is required when an ID token is returned from the authorization endpoint.",
        ));
    }
    Ok(nonce)
}

/// `max_age` in seconds: a non-negative integer.
fn max_age(params: &Params) -> Result<Option<i64>, OAuthError> {
    params
        .get("max_age")?
        .map(|text| {
            text.parse::<u32>()
                .map(i64::from)
                .map_err(|_| OAuthError::invalid_request("max_age must be a non-negative integer."))
        })
        .transpose()
}

/// Most values a space-separated OIDC list (`acr_values`, `ui_locales`) may hold: each is
/// kept as its own string, so many short ones would cost far more than their bytes.
const MAX_LIST_VALUES: usize = 16;

/// The distinct values of the space-separated list `name`, at most [`MAX_LIST_VALUES`].
fn few_values(params: &Params, name: &str) -> Result<Vec<String>, OAuthError> {
    let values = scope::split(params.get(name)?.unwrap_or(""));
    if values.len() > MAX_LIST_VALUES {
        return Err(OAuthError::invalid_request(format!(
            "The {name} parameter may hold at most {MAX_LIST_VALUES} values."
        )));
    }
    Ok(values)
}

/// The OIDC parameters shown to the login and consent apps.
fn oidc_context(
    params: &Params,
    id_token_hint_claims: Option<crate::store::JsonObject>,
) -> Result<OidcContext, OAuthError> {
    Ok(OidcContext {
        acr_values: few_values(params, "acr_values")?,
        ui_locales: few_values(params, "ui_locales")?,
        display: params.get("display")?.unwrap_or("").to_owned(),
        id_token_hint_claims,
        login_hint: params.get("login_hint")?.unwrap_or("").to_owned(),
    })
}

fn check_response_type(
    client: &Client,
    text: Option<&str>,
    parsed: Option<ResponseType>,
) -> Result<ResponseType, OAuthError> {
    let Some(text) = text else {
        return Err(OAuthError::invalid_request(
            "The response_type parameter is missing.",
        ));
    };
    let rt = parsed.ok_or_else(|| {
        OAuthError::unsupported_response_type(format!(
            "The response_type '{text}' is not supported."
        ))
    })?;
    if !client.allows_response_type(rt) {
        return Err(OAuthError::unauthorized_client(format!(
            "The client is not allowed to use the response_type '{text}'."
        )));
    }
    if rt.has_code() && !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::unauthorized_client(
            "The client is not allowed to use the authorization_code grant.",
        ));
    }
    if rt.returns_tokens() && !client.allows_grant(GrantType::Implicit) {
        return Err(OAuthError::unauthorized_client(
            "The client is not allowed to use the implicit grant.",
        ));
    }
    Ok(rt)
}

/// PKCE: S256 only, a well-formed challenge, and required for public clients.
fn check_pkce(
    params: &Params,
    client: &Client,
    rt: ResponseType,
) -> Result<Option<String>, OAuthError> {
    let challenge = params.get("code_challenge")?;
    let method = params.get("code_challenge_method")?;
    match (challenge, method) {
        (None, None) => {
            if rt.has_code() && client.is_public() {
                return Err(OAuthError::invalid_request(
                    "Public clients must use PKCE: send code_challenge with code_challenge_method=S256.",
                ));
            }
            Ok(None)
        }
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method was sent without code_challenge.",
        )),
        (Some(_), None) | (Some(_), Some("plain")) => Err(OAuthError::invalid_request(
            "The plain PKCE method is not allowed; use code_challenge_method=S256.",
        )),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request(format!(
            "The PKCE method '{m}' is not supported; use S256."
        ))),
        (Some(c), Some(_)) => {
            let well_formed = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !well_formed {
                return Err(OAuthError::invalid_request(
                    "The code_challenge must be the 43-character base64url SHA-256 of the verifier.",
                ));
            }
            Ok(Some(c.to_owned()))
        }
    }
}

fn parse_prompt(text: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    let mut count = 0;
    for value in text.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "The prompt value '{other}' is not supported."
                )));
            }
        }
        count += 1;
    }
    if prompt.none && count > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none must not be combined with other prompt values.",
        ));
    }
    Ok(prompt)
}

/// Verifies an `id_token_hint` we issued (signature and `iss`; an expired hint is accepted,
/// as in Hydra beta.9) and returns its `sub` and claims.
async fn check_id_token_hint(
    p: &Context,
    hint: &str,
) -> Result<(String, crate::store::JsonObject), OAuthError> {
    let claims = p.verify_jwt(hint).await.map_err(|e| {
        OAuthError::invalid_request("The id_token_hint is not a valid ID token of this server.")
            .with_debug(e)
    })?;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(p.config.issuer.as_str()) {
        return Err(OAuthError::invalid_request(
            "The id_token_hint was not issued by this server.",
        ));
    }
    let sub = claims
        .get("sub")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("The id_token_hint has no subject."))?
        .to_owned();
    Ok((sub, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types_compare_as_sets() {
        assert_eq!(
            ResponseType::parse_request("id_token code"),
            ResponseType::parse_request("code id_token")
        );
        assert_eq!(ResponseType::parse_request("code code"), None);
        assert_eq!(ResponseType::parse_request("none"), None);
        assert_eq!(ResponseType::parse_request(""), None);
    }

    #[test]
    fn prompt_rules() {
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
        let p = parse_prompt(Some("login consent select_account")).unwrap();
        assert!(p.login && p.consent && !p.none);
    }
}
