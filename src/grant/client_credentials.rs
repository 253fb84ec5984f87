//! The client credentials grant (RFC 6749 §4.4): a confidential client gets an access token
//! for itself. No refresh token (§4.4.3) and no ID token — there is no end-user.
//!
//! Pinned choices: a public client (`token_endpoint_auth_method = none`) is refused with
//! `unauthorized_client` (it authenticated as what it is, but this grant is only for clients
//! that can keep a secret); an omitted `scope` grants no scope at all, as Hydra does; each
//! requested scope must be allowed by the client's registered scopes (wildcards as in
//! Hydra), else `invalid_scope`; each requested `resource` (RFC 8707) must be allowed by the
//! client's registered `audience`, else `invalid_target` — with no user consenting, an
//! empty `audience` allows none. The grant exists for its one access token and takes its id
//! from it ([`grant_id_of`](crate::token::grant_id_of)).

use std::borrow::Cow;

use super::TokenResponse;
use crate::context::Context;
use crate::error::OAuthError;
use crate::http::params::Params;
use crate::model::GrantType;
use crate::model::client::Client;
use crate::model::{resource, scope};
use crate::store::{GrantData, JsonObject};
use crate::token::issue::{access_and_refresh, audit_issued};

/// Issues an access token to the authenticated confidential client.
pub(crate) async fn exchange(
    p: &Context,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "Public clients may not use the client_credentials grant.",
        ));
    }
    let requested = scope::split(params.get("scope")?.unwrap_or(""));
    if let Some(denied) = scope::first_not_allowed(&requested, &client.scope) {
        return Err(OAuthError::invalid_scope(format!(
            "The client is not allowed to request the scope '{denied}'."
        )));
    }
    let resources = resource::requested(params.get_all("resource"))?;
    if client.audience.is_empty() && !resources.is_empty() {
        return Err(OAuthError::invalid_target(
            "The client has no registered audience, so it may request no resource with client_credentials.",
        ));
    }
    resource::check_allowed(&client.audience, &resources)?;
    let now = p.now();
    let grant = GrantData {
        // Named after its token below, once that is minted.
        grant_id: String::new(),
        client_id: client.client_id.clone(),
        subject: client.client_id.clone(),
        subject_identifier: client.client_id.clone(),
        granted_scope: requested,
        granted_audience: resources,
        access_token_extra: JsonObject::new(),
        id_token_extra: JsonObject::new(),
        auth_time: None,
        acr: String::new(),
        session_id: None,
        requested_at: now,
    };
    // The grant goes to the store whole; what is needed afterwards is taken first.
    let (bearer, mut records) = access_and_refresh(p, client, Cow::Owned(grant), None, now, false)
        .await?
        .split();
    let grant_id = crate::token::grant_id_of(&records.access.signature);
    records.access.grant.grant_id.clone_from(&grant_id);
    let response = TokenResponse::new(bearer, &records.access.grant.granted_scope, None);
    p.store
        .insert_tokens(records)
        .await
        .map_err(OAuthError::store_failure)?;
    let client_id = &client.client_id;
    audit_issued(
        p,
        GrantType::ClientCredentials,
        client_id,
        client_id,
        &grant_id,
    );
    Ok(response)
}
