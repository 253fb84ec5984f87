//! The consent half of the flow (Hydra §3.4–3.5): deciding whether a remembered consent
//! covers the request, the host's accept/reject, and the consent verifier's return, which
//! issues the authorization response.

use time::OffsetDateTime;

use super::half::{self, NewKeys, complete, open, take_back};
use super::request::AuthorizeRequest;
use super::{AcceptConsentRequest, CompletedRequest, ConsentRequest, RejectRequest, SetCookies};
use crate::context::Context;
use crate::error::{Error, OAuthError};
use crate::http::{Request, Response};
use crate::model::scope;
use crate::store::{
    AcceptedConsent, AcceptedLogin, ConsentRequestRecord, GrantData, HandledConsent,
    LoginRequestRecord,
};

/// Starts the consent phase after an accepted login: creates the consent request (with
/// `skip` when a remembered consent covers the requested scopes) and sends the browser to the
/// consent page, or answers `consent_required` for `prompt=none` without such a consent.
pub(crate) async fn start(
    p: &Context,
    req: &Request,
    areq: &AuthorizeRequest,
    login: &LoginRequestRecord,
    accepted: &AcceptedLogin,
    session_id: Option<String>,
    cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let now = p.now();
    let skip = !areq.prompt.consent
        && !native_public_client(areq)
        && remembered_covers(p, &accepted.subject, login, now).await?;
    if areq.prompt.none && !skip {
        return Err(OAuthError::consent_required(
            "prompt=none was requested, but no remembered consent covers the requested scopes.",
        ));
    }
    let keys = NewKeys::new::<ConsentRequestRecord>(p);
    let record = ConsentRequestRecord {
        verifier_digest: keys.verifier_digest,
        csrf: keys.csrf,
        client_id: login.client_id.clone(),
        requested_scope: login.requested_scope.clone(),
        requested_access_token_audience: login.requested_access_token_audience.clone(),
        skip,
        subject: accepted.subject.clone(),
        oidc_context: login.oidc_context.clone(),
        request_url: login.request_url.clone(),
        login_challenge: login.challenge.clone(),
        login_session_id: session_id,
        acr: accepted.acr.clone(),
        force_subject_identifier: accepted.force_subject_identifier.clone(),
        authenticated_at: accepted.authenticated_at,
        requested_at: login.requested_at,
        expires_at: login.expires_at,
        handled: None,
        verifier_used: false,
        challenge: keys.challenge,
    };
    half::start(p, req, record, now, cookies).await
}

/// A public client whose redirect URI is not https (a native app's custom scheme or
/// loopback) can be impersonated by another app, so its consent is never skipped (RFC 8252
/// §8.6; Hydra does the same).
fn native_public_client(areq: &AuthorizeRequest) -> bool {
    areq.client.is_public() && !areq.destination.redirect_uri.starts_with("https:")
}

/// Whether an unexpired remembered consent of the subject for this client covers every
/// requested scope and resource.
async fn remembered_covers(
    p: &Context,
    subject: &str,
    login: &LoginRequestRecord,
    now: OffsetDateTime,
) -> Result<bool, OAuthError> {
    let previous = p
        .store
        .remembered_consents(subject, &login.client_id)
        .await
        .map_err(OAuthError::store_failure)?;
    Ok(previous.iter().any(|c| match &c.handled {
        Some(HandledConsent::Accepted(a)) => {
            let unexpired = a.remember_for == 0
                || crate::clock::after(a.handled_at, a.remember_for).is_none_or(|end| end > now);
            unexpired
                && scope::all_covered(&a.grant_scope, &login.requested_scope)
                && login
                    .requested_access_token_audience
                    .iter()
                    .all(|r| a.grant_access_token_audience.contains(r))
        }
        _ => false,
    }))
}

/// The consent verifier came back: check it and issue the authorization response.
pub(crate) async fn finish(
    p: &Context,
    req: &Request,
    areq: &AuthorizeRequest,
    verifier: &str,
    cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let record: ConsentRequestRecord = take_back(p, req, areq, verifier, cookies).await?;
    let accepted = half::accepted(&record)?;
    let now = p.now();
    let subject_identifier = super::subject::identifier(
        p,
        &areq.client,
        &record.subject,
        &record.force_subject_identifier,
    )
    .await?;
    let grant = GrantData {
        grant_id: record.challenge.clone(),
        client_id: record.client_id.clone(),
        subject: record.subject.clone(),
        subject_identifier,
        granted_scope: accepted.grant_scope.clone(),
        granted_audience: accepted.grant_access_token_audience.clone(),
        access_token_extra: accepted.access_token_extra.clone(),
        id_token_extra: accepted.id_token_extra.clone(),
        auth_time: Some(record.authenticated_at),
        acr: record.acr.clone(),
        session_id: record.login_session_id.clone(),
        requested_at: record.requested_at,
    };
    if let Some(sid) = &grant.session_id {
        // The client takes part in the session: it is told when the session ends.
        p.store
            .add_session_grant(sid, &grant.client_id, &grant.grant_id)
            .await
            .map_err(OAuthError::store_failure)?;
    }
    let params = super::issue::authorization_response(p, areq, &grant, now).await?;
    Ok(super::response::deliver(p, &areq.destination, params))
}

/// See [`Provider::consent_request`](crate::Provider::consent_request).
pub(crate) async fn consent_request(p: &Context, challenge: &str) -> Result<ConsentRequest, Error> {
    let record: ConsentRequestRecord = open(p, challenge).await?;
    let (client, client_metadata_document_url) =
        super::client_for_page(p, &record.client_id).await?;
    Ok(ConsentRequest {
        challenge: record.challenge,
        requested_scope: record.requested_scope,
        requested_access_token_audience: record.requested_access_token_audience,
        skip: record.skip,
        subject: record.subject,
        oidc_context: record.oidc_context,
        client,
        request_url: record.request_url,
        login_challenge: record.login_challenge,
        login_session_id: record.login_session_id.unwrap_or_default(),
        acr: record.acr,
        client_metadata_document_url,
    })
}

/// See [`Provider::accept_consent`](crate::Provider::accept_consent).
pub(crate) async fn accept_consent(
    p: &Context,
    challenge: &str,
    body: AcceptConsentRequest,
) -> Result<CompletedRequest, Error> {
    let record: ConsentRequestRecord = open(p, challenge).await?;
    only_requested("scope", &body.grant_scope, &record.requested_scope)?;
    only_requested(
        "resource",
        &body.grant_access_token_audience,
        &record.requested_access_token_audience,
    )?;
    if record.skip && body.remember {
        return Err(Error::BadRequest(
            "Can not remember consent because no user interaction was required (skip=true).".into(),
        ));
    }
    if body.remember_for < 0 {
        return Err(Error::BadRequest(
            "remember_for must not be negative.".into(),
        ));
    }
    let grant_scope = scope::split(&scope::join(&body.grant_scope));
    let accepted = AcceptedConsent {
        grant_scope,
        grant_access_token_audience: dedup(body.grant_access_token_audience),
        remember: body.remember,
        remember_for: body.remember_for,
        access_token_extra: body.session.access_token,
        id_token_extra: body.session.id_token,
        handled_at: p.now(),
    };
    complete(p, record, HandledConsent::Accepted(accepted)).await
}

/// Refuses the first granted value (a scope, a resource) that was not requested.
fn only_requested(what: &str, granted: &[String], requested: &[String]) -> Result<(), Error> {
    match granted.iter().find(|g| !requested.contains(g)) {
        Some(extra) => Err(Error::BadRequest(
            format!("The {what} '{extra}' was not requested and cannot be granted.").into(),
        )),
        None => Ok(()),
    }
}

/// `values` in order without repeats.
fn dedup(values: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept
}

/// See [`Provider::reject_consent`](crate::Provider::reject_consent).
pub(crate) async fn reject_consent(
    p: &Context,
    challenge: &str,
    body: RejectRequest,
) -> Result<CompletedRequest, Error> {
    half::reject::<ConsentRequestRecord>(p, challenge, body).await
}
