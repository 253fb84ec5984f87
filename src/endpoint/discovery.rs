//! The two metadata documents, rendered once at build and served as rendered:
//!
//! * `GET /.well-known/openid-configuration`: Hydra beta.8's document, corrected
//!   (byte-identical issuer, the subject types and algorithms actually in force, PKCE,
//!   form_post, RFC 9207);
//! * `GET /.well-known/oauth-authorization-server` (RFC 8414), at the path-inserted form
//!   `/.well-known/oauth-authorization-server/{issuer path}` when the issuer has a path (§3.1;
//!   the router matches it).
//!
//! The OpenID document is the RFC 8414 metadata plus the OpenID fields, so both carry the same
//! issuer, endpoints and supported values by construction.

use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;

use crate::config::Config;
use crate::context::{Context, WellKnown};
use crate::error::Error;
use crate::http::{Request, Response, response};
use crate::model::{AuthMethod, GrantType, SubjectType};

/// The authorization server's metadata (RFC 8414 §2, with RFC 9207's
/// `authorization_response_iss_parameter_supported`): the whole document at
/// `/.well-known/oauth-authorization-server`, and the OAuth part of the OpenID one.
///
/// No `introspection_endpoint`: introspection is on the admin API, as in Hydra, and the admin
/// API is not for the clients that read this document. The features to come add their field
/// here, so that both documents advertise it. `registration_endpoint` (RFC 7591) is there only
/// while dynamic registration is on. `client_id_metadata_document_supported`
/// (draft-ietf-oauth-client-id-metadata-document, "Authorization Server Metadata") is `true`
/// when [`Config::client_id_metadata_documents`] is on, and omitted otherwise, which is how a
/// client reads "no".
#[derive(Debug, Serialize)]
struct ServerMetadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    scopes_supported: Vec<&'a str>,
    response_types_supported: [&'static str; 7],
    response_modes_supported: [&'static str; 3],
    grant_types_supported: &'static [GrantType],
    token_endpoint_auth_methods_supported: &'static [AuthMethod],
    revocation_endpoint: String,
    revocation_endpoint_auth_methods_supported: &'static [AuthMethod],
    code_challenge_methods_supported: [&'static str; 1],
    authorization_response_iss_parameter_supported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    client_id_metadata_document_supported: bool,
}

/// The OpenID Connect discovery document (OIDC Discovery 1.0 §3): the server metadata and the
/// OpenID provider's own fields.
#[derive(Debug, Serialize)]
struct OpenIdConfiguration<'a> {
    #[serde(flatten)]
    server: &'a ServerMetadata<'a>,
    subject_types_supported: &'static [SubjectType],
    claims_supported: Vec<&'a str>,
    userinfo_endpoint: String,
    id_token_signing_alg_values_supported: Vec<&'static str>,
    userinfo_signing_alg_values_supported: Vec<&'static str>,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    require_request_uri_registration: bool,
    claims_parameter_supported: bool,
    end_session_endpoint: String,
    frontchannel_logout_supported: bool,
    frontchannel_logout_session_supported: bool,
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
}

/// Renders both documents once, at provider build time.
pub(crate) fn documents(config: &Config) -> Result<WellKnown, Error> {
    let base = config.base_url();
    let subject_types = if config.pairwise_enabled() {
        SubjectType::ALL
    } else {
        &[SubjectType::Public]
    };
    let algorithms: Vec<&'static str> = config.keys.algorithms.iter().map(|a| a.as_str()).collect();
    let mut claims = vec!["sub"];
    claims.extend(config.claims_supported.iter().map(String::as_str));
    let server = ServerMetadata {
        issuer: &config.issuer,
        authorization_endpoint: format!("{base}/oauth2/auth"),
        token_endpoint: format!("{base}/oauth2/token"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        scopes_supported: config.advertised_scopes(),
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
        response_modes_supported: ["query", "fragment", "form_post"],
        grant_types_supported: GrantType::ALL,
        token_endpoint_auth_methods_supported: AuthMethod::ALL,
        revocation_endpoint: format!("{base}/oauth2/revoke"),
        revocation_endpoint_auth_methods_supported: AuthMethod::ALL,
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
        registration_endpoint: config
            .dynamic_client_registration
            .is_some()
            .then(|| format!("{base}/oauth2/register")),
        client_id_metadata_document_supported: config.client_id_metadata_documents,
    };
    let openid = OpenIdConfiguration {
        server: &server,
        subject_types_supported: subject_types,
        claims_supported: claims,
        userinfo_endpoint: config
            .userinfo_endpoint
            .clone()
            .unwrap_or_else(|| format!("{base}/userinfo")),
        id_token_signing_alg_values_supported: algorithms.clone(),
        userinfo_signing_alg_values_supported: {
            let mut userinfo = algorithms;
            userinfo.push("none");
            userinfo
        },
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        require_request_uri_registration: true,
        claims_parameter_supported: false,
        end_session_endpoint: format!("{base}/oauth2/sessions/logout"),
        frontchannel_logout_supported: true,
        frontchannel_logout_session_supported: true,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
    };
    Ok(WellKnown {
        openid_configuration: encode(&openid)?,
        authorization_server: encode(&server)?,
    })
}

fn encode(document: &impl Serialize) -> Result<Bytes, Error> {
    serde_json::to_vec(document)
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("discovery encoding failed: {e}").into()))
}

/// Serves the pre-rendered OpenID Connect discovery document.
pub(crate) fn openid_configuration(p: &Context, _req: &Request) -> Response {
    response::json_bytes(StatusCode::OK, p.well_known.openid_configuration.clone())
}

/// Serves the pre-rendered RFC 8414 metadata.
pub(crate) fn authorization_server(p: &Context, _req: &Request) -> Response {
    response::json_bytes(StatusCode::OK, p.well_known.authorization_server.clone())
}
