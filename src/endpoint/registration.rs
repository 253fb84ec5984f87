//! Dynamic client registration (RFC 7591) and its management (RFC 7592), at Hydra v2's
//! paths and with its model (`OAuth2Client` plus `registration_access_token` and
//! `registration_client_uri`):
//!
//! * `POST /oauth2/register` → 201, the client with its secret (confidential clients), its
//!   registration access token and `registration_client_uri`;
//! * `GET /oauth2/register/{id}` → 200, the client without secret or token;
//! * `PUT /oauth2/register/{id}` → 200, the replaced client with a new registration access
//!   token (the old one stops working, as in Hydra);
//! * `DELETE /oauth2/register/{id}` → 204, the client removed as the admin API removes it.
//!
//! Served only when [`Config::dynamic_client_registration`](crate::Config) is set. The last
//! three need the client's registration access token as `Authorization: Bearer`; a missing
//! or wrong token, and an unknown client, are the same 401 `invalid_token` (RFC 7592 §2,
//! RFC 6750 §3.1), so the token says nothing about other clients. The token is stored as its
//! SHA-256 only and compared in constant time.
//!
//! The metadata passes the admin API's rules ([`model::client`](crate::model::client)); a bad
//! redirect URI is a 400 `invalid_redirect_uri`, other bad metadata a 400
//! `invalid_client_metadata` (RFC 7591 §3.2.2). Metadata this server does not know, and
//! `null` values, are ignored (RFC 7591 §2, RFC 7592 §2.2). A client cannot choose its
//! `client_id` (generated on create; on update it must be the client's own) nor its secret
//! (always generated: Hydra refuses a chosen one). Responses leave out empty values, which
//! registration clients read as "not registered" (the MCP SDK refuses an empty `client_uri`).

use std::sync::Arc;

use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use percent_encoding::utf8_percent_encode;
use serde_json::Value;

use crate::audit::AuditKind;
use crate::config::{
    DynamicRegistration, RegistrationDecision, RegistrationPolicy, RegistrationRequest,
};
use crate::context::Context;
use crate::error::{OAuthError, StoreError};
use crate::http::params::json_body;
use crate::http::{Request, Response, bearer, response};
use crate::model::client::{self, Client, ClientRecord};
use crate::model::registration::Registration;
use crate::token::{self, CredentialKind};

/// `POST /oauth2/register`.
pub(crate) async fn create(p: &Context, req: &Request) -> Response {
    match create_client(p, req).await {
        Ok(client) => {
            let location = client.registration_client_uri.clone();
            let mut res = render(StatusCode::CREATED, &client);
            if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                res.headers_mut().insert(LOCATION, value);
            }
            res
        }
        Err(e) => p.error_response(&e),
    }
}

/// `GET /oauth2/register/{id}`.
pub(crate) async fn get(p: &Context, req: &Request, id: &str) -> Response {
    let result = authorized(p, req, id).await.map(|record| Client {
        registration_client_uri: Some(client_uri(p, id)),
        ..record.client.without_secret()
    });
    respond(p, result, StatusCode::OK)
}

/// `PUT /oauth2/register/{id}`.
pub(crate) async fn update(p: &Context, req: &Request, id: &str) -> Response {
    let result = update_client(p, req, id).await;
    respond(p, result, StatusCode::OK)
}

/// `DELETE /oauth2/register/{id}` → 204.
pub(crate) async fn delete(p: &Context, req: &Request, id: &str) -> Response {
    let result = async {
        authorized(p, req, id).await?;
        p.store
            .delete_client(id)
            .await
            .map_err(unauthorized_if_gone)?;
        p.audit(|| AuditKind::ClientDeleted {
            client_id: id.to_owned(),
        });
        Ok(())
    }
    .await;
    match result {
        Ok(()) => response::empty(StatusCode::NO_CONTENT),
        Err(e) => p.error_response(&e),
    }
}

/// The settings, or a 404 when registration is off (the router answers that first).
fn settings(p: &Context) -> Result<&DynamicRegistration, OAuthError> {
    p.config
        .dynamic_client_registration
        .as_ref()
        .ok_or_else(|| OAuthError::not_found("Dynamic registration is not enabled."))
}

async fn create_client(p: &Context, req: &Request) -> Result<Client, OAuthError> {
    let settings = settings(p)?;
    if let RegistrationPolicy::InitialAccessToken(tokens) = &settings.policy {
        if !tokens.accepts(&bearer::token(req)?) {
            return Err(OAuthError::invalid_token(
                "The initial access token is not valid.",
            ));
        }
    }
    let submitted = Client {
        client_id: String::new(),
        ..submitted(req, settings)?
    };
    let client = Client {
        client_id: String::new(),
        ..review(settings, req, None, submitted).await?
    };
    let mut registration = client
        .register(None, &p.config.registration_policy(), p.now())
        .map_err(|refused| refused.dynamic())?;
    let token = issue_token(&mut registration);
    let shown = registration.shown();
    match p.store.create_client(registration.record).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(OAuthError::conflict(
                "An OAuth 2.0 client with the generated client_id exists already; try again.",
            ));
        }
        Err(e) => return Err(OAuthError::store_failure(e)),
    }
    p.audit(|| AuditKind::ClientCreated {
        client_id: shown.client_id.clone(),
    });
    Ok(with_credentials(p, shown, token))
}

async fn update_client(p: &Context, req: &Request, id: &str) -> Result<Client, OAuthError> {
    let settings = settings(p)?;
    let previous = authorized(p, req, id).await?;
    let submitted = submitted(req, settings)?;
    if !submitted.client_id.is_empty() && submitted.client_id != id {
        return Err(OAuthError::invalid_client_metadata(
            "The client_id must be the one of the client being updated (RFC 7592 §2.2).",
        ));
    }
    let client = Client {
        client_id: id.to_owned(),
        ..review(settings, req, Some(id), submitted).await?
    };
    let mut registration = client
        .register(Some(&previous), &p.config.registration_policy(), p.now())
        .map_err(|refused| refused.dynamic())?;
    let token = issue_token(&mut registration);
    let shown = registration.shown();
    p.store
        .update_client(registration.record)
        .await
        .map_err(unauthorized_if_gone)?;
    p.audit(|| AuditKind::ClientUpdated {
        client_id: shown.client_id.clone(),
    });
    Ok(with_credentials(p, shown, token))
}

/// The submitted metadata: a JSON object whose unknown fields and `null` values are dropped
/// (RFC 7591 §2; RFC 7592 §2.2 treats omitted and null alike), then read as a [`Client`]. A
/// chosen secret and an `access_token_strategy` are refused. Without a scope, the configured default scope applies.
fn submitted(req: &Request, settings: &DynamicRegistration) -> Result<Client, OAuthError> {
    let mut fields: serde_json::Map<String, Value> = json_body(req)?;
    let known = client::field_names();
    fields.retain(|name, value| !value.is_null() && known.contains(&name.as_str()));
    let mut client: Client = serde_json::from_value(Value::Object(fields)).map_err(|e| {
        OAuthError::invalid_client_metadata(format!("The client metadata is invalid: {e}."))
    })?;
    if client
        .client_secret
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(OAuthError::invalid_client_metadata(
            "A dynamically registered client cannot choose its client_secret; the server generates one.",
        ));
    }
    // As in Hydra v2: the token format is the operator's choice, set by the admin API.
    if !client.access_token_strategy.is_empty() {
        return Err(OAuthError::invalid_client_metadata(
            "The access_token_strategy cannot be set by dynamic client registration.",
        ));
    }
    if client.scope.is_empty() {
        client.scope = settings.default_scope.join(" ");
    }
    Ok(client)
}

/// Asks the host's hook, under [`RegistrationPolicy::Hook`]; the other policies approve.
async fn review(
    settings: &DynamicRegistration,
    req: &Request,
    client_id: Option<&str>,
    metadata: Client,
) -> Result<Client, OAuthError> {
    let RegistrationPolicy::Hook(hook) = &settings.policy else {
        return Ok(metadata);
    };
    let request = RegistrationRequest {
        http: req,
        client_id,
        metadata: &metadata,
    };
    match hook.review(request).await {
        RegistrationDecision::Approve => Ok(metadata),
        RegistrationDecision::ApproveWith(edited) => Ok(*edited),
        RegistrationDecision::Refuse(e) => Err(e),
    }
}

/// The stored client whose registration access token the request presents. A missing or
/// wrong token, a client without one (created by the admin API) and an unknown client are
/// all the same 401.
async fn authorized(p: &Context, req: &Request, id: &str) -> Result<Arc<ClientRecord>, OAuthError> {
    settings(p)?;
    let presented = bearer::token(req)?;
    let record = p.store.client(id).await.map_err(unauthorized_if_gone)?;
    let expected = record.registration_token.as_deref().unwrap_or_default();
    let digest = token::signature(&presented);
    if expected.is_empty()
        || !crate::crypto::constant_time_eq(expected.as_bytes(), digest.as_bytes())
    {
        return Err(unauthorized());
    }
    Ok(record)
}

fn unauthorized() -> OAuthError {
    OAuthError::invalid_token(
        "The requested OAuth 2.0 client does not exist or you provided incorrect credentials.",
    )
}

/// A client that is gone is the 401 of RFC 7592 §2.1; a store failure stays a 5xx.
fn unauthorized_if_gone(e: StoreError) -> OAuthError {
    match e {
        StoreError::NotFound => unauthorized(),
        e => OAuthError::store_failure(e),
    }
}

/// Mints a registration access token and puts its digest into the record to store.
fn issue_token(registration: &mut Registration) -> String {
    let minted = token::mint(CredentialKind::RegistrationToken);
    registration.record.registration_token = Some(minted.signature);
    minted.token
}

/// The response of a create or update: the client with its new token and its URI.
fn with_credentials(p: &Context, shown: Client, token: String) -> Client {
    Client {
        registration_access_token: Some(token),
        registration_client_uri: Some(client_uri(p, &shown.client_id)),
        ..shown
    }
}

/// `registration_client_uri`: where the client manages its registration.
fn client_uri(p: &Context, id: &str) -> String {
    format!(
        "{}/oauth2/register/{}",
        p.config.base_url(),
        utf8_percent_encode(id, response::PATH_SEGMENT)
    )
}

fn respond(p: &Context, result: Result<Client, OAuthError>, status: StatusCode) -> Response {
    match result {
        Ok(client) => render(status, &client),
        Err(e) => p.error_response(&e),
    }
}

/// The client as JSON without its empty strings, never cached (it may carry a secret or a
/// token).
fn render(status: StatusCode, client: &Client) -> Response {
    let Ok(mut json) = serde_json::to_value(client) else {
        // Renders the encoding failure as the 500 it is.
        return response::json(status, client);
    };
    if let Value::Object(fields) = &mut json {
        fields.retain(|_, value| value.as_str() != Some(""));
    }
    response::no_store(response::json(status, &json))
}
