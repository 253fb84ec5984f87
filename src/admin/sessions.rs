//! Consent and login sessions (admin): list remembered consents, revoke consents with every
//! token issued through them (one atomic store call, [`FlowStore::revoke_consents`]), and end
//! a subject's login sessions (notifying their relying parties on the back channel).
//!
//! [`FlowStore::revoke_consents`]: crate::store::FlowStore::revoke_consents

use std::collections::HashMap;

use http::StatusCode;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::AuditKind;
use crate::context::Context;
use crate::error::Error;
use crate::http::params::pagination;
use crate::http::{Request, Response, response};
use crate::model::client::Client;
use crate::store::{
    AcceptedConsent, ConsentRequestRecord, HandledConsent, JsonObject, OidcContext, SessionsToEnd,
};

/// How many stored consents [`Provider::consent_sessions`] reads per store call.
const STORE_PAGE: usize = 100;

/// A remembered consent (`PreviousConsentSession`): what the user granted to which client,
/// serialized with Hydra's field names.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousConsentSession {
    consent_request: ConsentRequestView,
    grant_scope: Vec<String>,
    grant_access_token_audience: Vec<String>,
    session: SessionData,
    remember: bool,
    remember_for: i64,
}

/// The consent request of a session as Hydra's `ConsentRequest` JSON, client without secret.
#[derive(Debug, Clone, Serialize)]
struct ConsentRequestView {
    challenge: String,
    requested_scope: Vec<String>,
    requested_access_token_audience: Vec<String>,
    skip: bool,
    subject: String,
    oidc_context: OidcContext,
    client: Client,
    request_url: String,
    login_challenge: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_session_id: Option<String>,
}

/// The consent's extra data for access tokens and ID tokens.
#[derive(Debug, Clone, Serialize)]
struct SessionData {
    access_token: JsonObject,
    id_token: JsonObject,
}

impl PreviousConsentSession {
    fn new(record: ConsentRequestRecord, accepted: AcceptedConsent, client: Client) -> Self {
        Self {
            consent_request: ConsentRequestView {
                challenge: record.challenge,
                requested_scope: record.requested_scope,
                requested_access_token_audience: record.requested_access_token_audience,
                skip: record.skip,
                subject: record.subject,
                oidc_context: record.oidc_context,
                client: client.without_secret(),
                request_url: record.request_url,
                login_challenge: record.login_challenge,
                login_session_id: record.login_session_id,
            },
            grant_scope: accepted.grant_scope,
            grant_access_token_audience: accepted.grant_access_token_audience,
            session: SessionData {
                access_token: accepted.access_token_extra,
                id_token: accepted.id_token_extra,
            },
            remember: accepted.remember,
            remember_for: accepted.remember_for,
        }
    }

    /// The consent challenge, which is also the grant id of the tokens it issued.
    pub fn challenge(&self) -> &str {
        &self.consent_request.challenge
    }

    /// The client the consent was given to.
    pub fn client(&self) -> &Client {
        &self.consent_request.client
    }

    /// The (real) subject who consented.
    pub fn subject(&self) -> &str {
        &self.consent_request.subject
    }

    /// The scopes granted.
    pub fn grant_scope(&self) -> &[String] {
        &self.grant_scope
    }

    /// The resources granted (RFC 8707).
    pub fn grant_access_token_audience(&self) -> &[String] {
        &self.grant_access_token_audience
    }

    /// Seconds the consent is remembered; 0 means forever.
    pub fn remember_for(&self) -> i64 {
        self.remember_for
    }
}

/// The accepted answer of a remembered consent that is still in force at `now`:
/// `remember_for` 0 is forever, otherwise it counts from the request.
fn in_force(record: &ConsentRequestRecord, now: OffsetDateTime) -> Option<AcceptedConsent> {
    match &record.handled {
        Some(HandledConsent::Accepted(accepted))
            if accepted.remember
                && !record.skip
                && (accepted.remember_for <= 0
                    || crate::clock::after(record.requested_at, accepted.remember_for)
                        .is_none_or(|end| end > now)) =>
        {
            Some(accepted.clone())
        }
        _ => None,
    }
}

/// See [`Provider::consent_sessions`](crate::Provider::consent_sessions).
pub(crate) async fn consent_sessions(
    p: &Context,
    subject: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<PreviousConsentSession>, Error> {
    let store = &p.store;
    let now = p.now();
    let mut clients: HashMap<String, Option<Client>> = HashMap::new();
    let mut sessions = Vec::new();
    let (mut to_skip, mut read) = (offset, 0);
    while sessions.len() < limit {
        let records = store.consent_sessions(subject, STORE_PAGE, read).await?;
        let exhausted = records.len() < STORE_PAGE;
        read += records.len();
        for record in records {
            let Some(accepted) = in_force(&record, now) else {
                continue;
            };
            if !clients.contains_key(&record.client_id) {
                let client = p
                    .find_client(&record.client_id)
                    .await?
                    .map(|r| r.client.clone());
                clients.insert(record.client_id.clone(), client);
            }
            let Some(Some(client)) = clients.get(&record.client_id) else {
                continue;
            };
            if to_skip > 0 {
                to_skip -= 1;
            } else if sessions.len() < limit {
                let client = client.clone();
                sessions.push(PreviousConsentSession::new(record, accepted, client));
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(sessions)
}

/// See [`Provider::revoke_consent_sessions`](crate::Provider::revoke_consent_sessions).
pub(crate) async fn revoke_consent_sessions(
    p: &Context,
    subject: &str,
    client_id: Option<&str>,
) -> Result<(), Error> {
    match p.store.revoke_consents(subject, client_id).await? {
        0 => Err(Error::NotFound("consent session")),
        _ => {
            p.audit(|| AuditKind::ConsentRevoked {
                subject: subject.to_owned(),
                client_id: client_id.map(str::to_owned),
            });
            Ok(())
        }
    }
}

/// See [`Provider::revoke_login_sessions`](crate::Provider::revoke_login_sessions).
pub(crate) async fn revoke_login_sessions(p: &Context, subject: &str) -> Result<(), Error> {
    let ended = crate::flow::end_sessions(p, SessionsToEnd::Subject(subject)).await?;
    if ended.is_empty() {
        return Err(Error::NotFound("login session"));
    }
    Ok(())
}

fn no_content(p: &Context, outcome: Result<(), Error>) -> Response {
    match outcome {
        Ok(()) => response::empty(StatusCode::NO_CONTENT),
        Err(e) => p.error_response(&e.into()),
    }
}

/// `GET /oauth2/auth/sessions/consent/{user}?limit&offset`.
pub(crate) async fn get_consent_sessions(p: &Context, req: &Request, user: &str) -> Response {
    let page = match pagination(req) {
        Ok(page) => page,
        Err(e) => return p.error_response(&e),
    };
    match consent_sessions(p, user, page.0, page.1).await {
        Ok(sessions) => response::no_store(response::json(StatusCode::OK, &sessions)),
        Err(e) => p.error_response(&e.into()),
    }
}

/// `DELETE /oauth2/auth/sessions/consent/{user}[/{client}]`.
pub(crate) async fn delete_consent_sessions(
    p: &Context,
    user: &str,
    client: Option<&str>,
) -> Response {
    no_content(p, revoke_consent_sessions(p, user, client).await)
}

/// `DELETE /oauth2/auth/sessions/login/{user}`.
pub(crate) async fn delete_login_sessions(p: &Context, user: &str) -> Response {
    no_content(p, revoke_login_sessions(p, user).await)
}
