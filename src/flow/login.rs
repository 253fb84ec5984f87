//! The login half of the flow (Hydra §3.2–3.3): deciding whether a remembered login session
//! lets the login page be skipped, the host's accept/reject, and the login verifier's return.

use time::{Duration, OffsetDateTime};

use super::half::{self, NewKeys, complete, open, take_back};
use super::request::{AuthorizeRequest, Prompt};
use super::{
    AcceptLoginRequest, CompletedRequest, LoginRequest, RejectRequest, SetCookies, session_cookie,
};
use crate::context::Context;
use crate::error::{Error, OAuthError, StoreError};
use crate::http::params::has_control;
use crate::http::{Request, Response};
use crate::store::{AcceptedLogin, HandledLogin, LoginRequestRecord, LoginSessionRecord};

/// The login session the browser's cookie points at, if it exists and has not expired.
pub(crate) async fn current_session(
    p: &Context,
    req: &Request,
    now: OffsetDateTime,
) -> Result<Option<LoginSessionRecord>, OAuthError> {
    let Some(sid) = p.cookie_key.read(req, &session_cookie(&p.config), now) else {
        return Ok(None);
    };
    match p.store.login_session(&sid).await {
        Ok(session) if session.expires_at > now => Ok(Some(session)),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(OAuthError::store_failure(e)),
    }
}

/// Starts the login phase: creates the login request (with `skip` when a usable session
/// exists) and sends the browser to the login page, or answers `login_required` for
/// `prompt=none` without a usable session.
pub(crate) async fn start(
    p: &Context,
    req: &Request,
    areq: &AuthorizeRequest,
    cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let now = p.now();
    let session = if areq.prompt.login {
        None
    } else {
        current_session(p, req, now).await?
    };
    let session = match session {
        Some(s) if session_usable(p, areq, &s, now).await? => Some(s),
        _ => None,
    };
    if areq.prompt.none && session.is_none() {
        return Err(OAuthError::login_required(
            "prompt=none was requested, but no usable login session exists.",
        ));
    }
    let keys = NewKeys::new::<LoginRequestRecord>(p);
    let record = LoginRequestRecord {
        verifier_digest: keys.verifier_digest,
        csrf: keys.csrf,
        client_id: areq.client.client_id.clone(),
        requested_scope: areq.scope.clone(),
        requested_access_token_audience: areq.resource.clone(),
        skip: session.is_some(),
        subject: session
            .as_ref()
            .map(|s| s.subject.clone())
            .unwrap_or_default(),
        oidc_context: areq.oidc_context.clone(),
        request_url: areq.request_url.clone(),
        session_id: session.map(|s| s.id),
        requested_at: now,
        expires_at: now.saturating_add(p.config.lifespans.login_consent_request),
        handled: None,
        verifier_used: false,
        challenge: keys.challenge,
    };
    half::start(p, req, record, now, cookies).await
}

/// Whether a session may skip the login page: not older than `max_age` (0 forces a login)
/// and, with an `id_token_hint`, of the hinted subject.
async fn session_usable(
    p: &Context,
    areq: &AuthorizeRequest,
    session: &LoginSessionRecord,
    now: OffsetDateTime,
) -> Result<bool, OAuthError> {
    if let Some(max_age) = areq.max_age {
        if max_age == 0 || now - session.authenticated_at > Duration::seconds(max_age) {
            return Ok(false);
        }
    }
    if let Some(hint) = &areq.hint_subject {
        let sub = super::subject::identifier(p, &areq.client, &session.subject, "").await?;
        if &sub != hint {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The login verifier came back: check it, apply the host's answer (sessions, forced
/// subject), and continue with the consent phase.
pub(crate) async fn finish(
    p: &Context,
    req: &Request,
    areq: &AuthorizeRequest,
    verifier: &str,
    cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let record: LoginRequestRecord = take_back(p, req, areq, verifier, cookies).await?;
    let accepted = half::accepted(&record)?.clone();
    let now = p.now();
    let subject_identifier = super::subject::identifier(
        p,
        &areq.client,
        &accepted.subject,
        &accepted.force_subject_identifier,
    )
    .await?;
    let cookie_sid = p.cookie_key.read(req, &session_cookie(&p.config), now);
    if let Err(e) = validate_prompt(
        areq.prompt,
        areq.max_age,
        areq.hint_subject.as_deref(),
        record.requested_at,
        accepted.authenticated_at,
        &subject_identifier,
    ) {
        end_session(p, cookie_sid.as_deref(), cookies).await?;
        return Err(e);
    }
    if !accepted.force_subject_identifier.is_empty() {
        p.store
            .set_forced_subject(
                &areq.client.client_id,
                &accepted.subject,
                &accepted.force_subject_identifier,
            )
            .await
            .map_err(OAuthError::store_failure)?;
    }
    let session_id = if record.skip {
        record.session_id.clone()
    } else {
        // A fresh login replaces whatever session the browser had.
        end_session(p, cookie_sid.as_deref(), cookies).await?;
        Some(new_session(p, &accepted, now, cookies).await?)
    };
    super::consent::start(p, req, areq, &record, &accepted, session_id, cookies).await
}

/// Creates the login session of a fresh login: its id is the `sid` of every token issued in
/// it and what logout ends. Only a login with `remember` sets the cookie that lets later
/// requests skip the login page.
async fn new_session(
    p: &Context,
    accepted: &AcceptedLogin,
    now: OffsetDateTime,
    cookies: &mut SetCookies,
) -> Result<String, OAuthError> {
    let cap = p.config.lifespans.login_session;
    let lifetime = if accepted.remember_for > 0 {
        Duration::seconds(accepted.remember_for).min(cap)
    } else {
        cap
    };
    let session = LoginSessionRecord {
        id: crate::crypto::random_id(),
        subject: accepted.subject.clone(),
        authenticated_at: accepted.authenticated_at,
        expires_at: now.saturating_add(lifetime),
    };
    let id = session.id.clone();
    if accepted.remember {
        cookies.push(p.cookie_key.set(
            &session_cookie(&p.config),
            &id,
            now,
            session.expires_at,
            accepted.remember_for > 0,
            p.config.secure_cookies(),
        ));
    }
    p.store
        .create_login_session(session)
        .await
        .map_err(OAuthError::store_failure)?;
    Ok(id)
}

/// Ends the browser's login session (if any; its relying parties are notified) and clears
/// its cookie.
async fn end_session(
    p: &Context,
    sid: Option<&str>,
    cookies: &mut SetCookies,
) -> Result<(), OAuthError> {
    let Some(sid) = sid else {
        return Ok(());
    };
    super::end_sessions(p, crate::store::SessionsToEnd::Id(sid))
        .await
        .map_err(OAuthError::store_failure)?;
    cookies.clear(&session_cookie(&p.config), p.config.secure_cookies());
    Ok(())
}

/// OIDC prompt rules applied once the login is known (fosite's `ValidatePrompt`): the
/// authentication must be recent enough for `max_age`, fresh for `prompt=login`, not fresh for
/// `prompt=none`, and of the `id_token_hint`'s subject.
pub(crate) fn validate_prompt(
    prompt: Prompt,
    max_age: Option<i64>,
    hint_subject: Option<&str>,
    requested_at: OffsetDateTime,
    auth_time: OffsetDateTime,
    subject_identifier: &str,
) -> Result<(), OAuthError> {
    if let Some(max_age) = max_age.filter(|m| *m > 0) {
        if crate::clock::after(auth_time, max_age).is_some_and(|fresh| fresh < requested_at) {
            return Err(OAuthError::login_required(
                "The authentication is older than max_age.",
            ));
        }
    }
    if prompt.none && auth_time > requested_at {
        return Err(OAuthError::login_required(
            "prompt=none was requested, but the user had to authenticate.",
        ));
    }
    if prompt.login && auth_time < requested_at {
        return Err(OAuthError::login_required(
            "prompt=login was requested, but the user did not authenticate again.",
        ));
    }
    if hint_subject.is_some_and(|hint| hint != subject_identifier) {
        return Err(OAuthError::login_required(
            "The authenticated user is not the subject of the id_token_hint.",
        ));
    }
    Ok(())
}

/// See [`Provider::login_request`](crate::Provider::login_request).
pub(crate) async fn login_request(p: &Context, challenge: &str) -> Result<LoginRequest, Error> {
    let record: LoginRequestRecord = open(p, challenge).await?;
    let client = super::client_for_page(p, &record.client_id).await?;
    Ok(LoginRequest {
        challenge: record.challenge,
        requested_scope: record.requested_scope,
        requested_access_token_audience: record.requested_access_token_audience,
        skip: record.skip,
        subject: record.subject,
        oidc_context: record.oidc_context,
        client,
        request_url: record.request_url,
        session_id: record.session_id.unwrap_or_default(),
    })
}

/// See [`Provider::accept_login`](crate::Provider::accept_login).
pub(crate) async fn accept_login(
    p: &Context,
    challenge: &str,
    body: AcceptLoginRequest,
) -> Result<CompletedRequest, Error> {
    let record: LoginRequestRecord = open(p, challenge).await?;
    if body.subject.is_empty() {
        return Err(Error::BadRequest("subject must not be empty.".into()));
    }
    if [&body.subject, &body.force_subject_identifier, &body.acr]
        .iter()
        .any(|text| has_control(text))
    {
        return Err(Error::BadRequest(
            "subject, force_subject_identifier and acr must not contain control characters.".into(),
        ));
    }
    if record.skip && body.subject != record.subject {
        return Err(Error::BadRequest(
            "The login session's subject differs from the accepted subject; skip=true requests must be accepted with the session's subject.".into(),
        ));
    }
    if record.skip && body.remember {
        return Err(Error::BadRequest(
            "Can not remember authentication because no user interaction was required (skip=true)."
                .into(),
        ));
    }
    if body.remember_for < 0 {
        return Err(Error::BadRequest(
            "remember_for must not be negative.".into(),
        ));
    }
    let authenticated_at = match (&record.session_id, record.skip) {
        (Some(sid), true) => match p.store.login_session(sid).await {
            Ok(session) => session.authenticated_at,
            Err(StoreError::NotFound) => {
                return Err(Error::Conflict(
                    "The login session of this skip=true request has ended; restart the flow."
                        .into(),
                ));
            }
            Err(e) => return Err(e.into()),
        },
        _ => p.now(),
    };
    let accepted = AcceptedLogin {
        subject: body.subject,
        remember: body.remember,
        remember_for: body.remember_for,
        acr: body.acr,
        force_subject_identifier: body.force_subject_identifier,
        authenticated_at,
    };
    complete(p, record, HandledLogin::Accepted(accepted)).await
}

/// See [`Provider::reject_login`](crate::Provider::reject_login).
pub(crate) async fn reject_login(
    p: &Context,
    challenge: &str,
    body: RejectRequest,
) -> Result<CompletedRequest, Error> {
    half::reject::<LoginRequestRecord>(p, challenge, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    const NONE: Prompt = Prompt {
        none: true,
        login: false,
        consent: false,
    };
    const LOGIN: Prompt = Prompt {
        none: false,
        login: true,
        consent: false,
    };

    // Hydra test catalog §4 items 40–45 (the mock-strategy cases of fosite's ValidatePrompt).
    #[test]
    fn prompt_none_with_stale_auth_time_is_login_required() {
        // 40: max_age=1, auth_time a minute before the request.
        let err = validate_prompt(NONE, Some(1), None, at(60), at(0), "s").unwrap_err();
        assert_eq!(err.error, "login_required");
        // 41: max_age=3600 → fine.
        validate_prompt(NONE, Some(3600), None, at(60), at(0), "s").unwrap();
    }

    #[test]
    fn prompt_none_with_fresh_authentication_is_login_required() {
        // 42
        let err = validate_prompt(NONE, None, None, at(0), at(5), "s").unwrap_err();
        assert_eq!(err.error, "login_required");
    }

    #[test]
    fn prompt_login_requires_fresh_authentication() {
        // 44
        validate_prompt(LOGIN, None, None, at(0), at(5), "s").unwrap();
        // 45
        let err = validate_prompt(LOGIN, None, None, at(5), at(0), "s").unwrap_err();
        assert_eq!(err.error, "login_required");
    }

    #[test]
    fn hint_subject_must_match() {
        let p = Prompt::default();
        validate_prompt(p, None, Some("a"), at(0), at(0), "a").unwrap();
        let err = validate_prompt(p, None, Some("a"), at(0), at(0), "b").unwrap_err();
        assert_eq!(err.error, "login_required");
    }
}
