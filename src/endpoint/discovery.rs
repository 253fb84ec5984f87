//! `GET /.well-known/openid-configuration`: Hydra beta.8's document, corrected (byte-identical
//! issuer, the subject types and algorithms actually in force, PKCE, form_post, RFC 9207).

use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;

use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::http::{Request, Response, response};
use crate::model::{AuthMethod, GrantType, SubjectType};

/// The discovery document (OIDC Discovery 1.0 §3, RFC 8414).
#[derive(Debug, Serialize)]
struct WellKnown<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    subject_types_supported: &'static [SubjectType],
    response_types_supported: [&'static str; 7],
    claims_supported: Vec<&'a str>,
    scopes_supported: Vec<&'a str>,
    userinfo_endpoint: String,
    token_endpoint_auth_methods_supported: &'static [AuthMethod],
    revocation_endpoint_auth_methods_supported: &'static [AuthMethod],
    id_token_signing_alg_values_supported: [&'static str; 2],
    grant_types_supported: &'static [GrantType],
    response_modes_supported: [&'static str; 3],
    userinfo_signing_alg_values_supported: [&'static str; 1],
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    require_request_uri_registration: bool,
    claims_parameter_supported: bool,
    code_challenge_methods_supported: [&'static str; 1],
    authorization_response_iss_parameter_supported: bool,
    frontchannel_logout_supported: bool,
    backchannel_logout_supported: bool,
}

/// Renders the document once, at provider build time.
pub(crate) fn document(config: &Config) -> Result<Bytes, Error> {
    let base = config.base_url();
    let subject_types = if config.pairwise_enabled() {
        SubjectType::ALL
    } else {
        &[SubjectType::Public]
    };
    let mut scopes = vec!["offline_access", "offline", "openid"];
    scopes.extend(config.scopes_supported.iter().map(String::as_str));
    let mut claims = vec!["sub"];
    claims.extend(config.claims_supported.iter().map(String::as_str));
    let doc = WellKnown {
        issuer: &config.issuer,
        authorization_endpoint: format!("{base}/oauth2/auth"),
        token_endpoint: format!("{base}/oauth2/token"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        revocation_endpoint: format!("{base}/oauth2/revoke"),
        subject_types_supported: subject_types,
        // Hydra's spellings, kept for byte-compatible discovery (a set of parts has any
        // order; `ResponseType::as_str` is the registered spelling).
        response_types_supported: [
            "code",
            "code id_token",
            "id_token",
            "token id_token",
            "token",
            "token id_token code",
            "code token",
        ],
        claims_supported: claims,
        scopes_supported: scopes,
        userinfo_endpoint: config
            .userinfo_endpoint
            .clone()
            .unwrap_or_else(|| format!("{base}/userinfo")),
        token_endpoint_auth_methods_supported: AuthMethod::ALL,
        revocation_endpoint_auth_methods_supported: AuthMethod::ALL,
        id_token_signing_alg_values_supported: ["ES256", "EdDSA"],
        grant_types_supported: GrantType::ALL,
        response_modes_supported: ["query", "fragment", "form_post"],
        userinfo_signing_alg_values_supported: ["none"],
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        require_request_uri_registration: true,
        claims_parameter_supported: false,
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
        frontchannel_logout_supported: false,
        backchannel_logout_supported: false,
    };
    serde_json::to_vec(&doc)
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("discovery encoding failed: {e}").into()))
}

/// Serves the pre-rendered document.
pub(crate) fn openid_configuration(p: &Context, _req: Request) -> Response {
    response::json_bytes(StatusCode::OK, p.discovery.clone())
}
