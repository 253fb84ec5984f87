//! Logout: OpenID Connect RP-Initiated Logout 1.0 through Hydra's logout challenge, and
//! Front-Channel Logout 1.0 on the completion page.
//!
//! `/oauth2/sessions/logout` validates what the relying party sent ([`start`]): an
//! `id_token_hint` we signed (an expired one is fine), the client it names, and a
//! `post_logout_redirect_uri` registered by that client. If the browser holds a login session
//! of the hinted user, it is sent to the host's logout page with a `logout_challenge`;
//! otherwise there is nothing to end and it goes straight to the redirect. The host accepts
//! (the browser comes back with a `logout_verifier`, [`finish`] ends the session) or rejects
//! (the session stays). The challenge, verifier and CSRF cookie are the login and consent
//! machinery with their own purpose ([`Stage::Logout`]), so none of them works as the other.
//!
//! Ending a session ([`super::end_sessions`]) also queues a back-channel delivery for every client
//! that took part (see [`super::backchannel`]), whoever ends it: this flow, the beta.8
//! cookie logout, a fresh login replacing it, or the admin API.

use super::half::{self, NewKeys, open};
use super::{CompletedRequest, LogoutRequest, SetCookies, Stage, UrlPart, session_cookie};
use crate::context::Context;
use crate::error::{Error, OAuthError};
use crate::http::response::{escape_html, html_with_frames, redirect};
use crate::http::{Request, Response};
use crate::model::client::Client;
use crate::store::{
    AcceptedLogout, ChallengeRecord, EndedSession, HandledLogout, LoginSessionRecord,
    LogoutRequestRecord, RejectedRequest, SessionsToEnd,
};

/// The parameters of RP-Initiated Logout 1.0 §2 (query of a GET, form of a POST).
#[derive(Debug, Default)]
pub(crate) struct LogoutParams<'a> {
    pub(crate) id_token_hint: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) post_logout_redirect_uri: Option<&'a str>,
    pub(crate) state: Option<&'a str>,
    pub(crate) ui_locales: Option<&'a str>,
}

/// What a verified `id_token_hint` says.
#[derive(Debug)]
struct Hint {
    subject: String,
    audiences: Vec<String>,
}

/// A logout request arrived: validates it, then sends the browser to the host's logout page
/// with a challenge, or (no session of this user in this browser) straight to the redirect.
pub(crate) async fn start(
    p: &Context,
    req: &Request,
    params: &LogoutParams<'_>,
    cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let now = p.now();
    let hint = match params.id_token_hint {
        Some(token) => Some(verify_hint(p, token).await?),
        None => None,
    };
    let client = identify_client(p, params.client_id, hint.as_ref()).await?;
    let destination = destination(p, client.as_ref(), params)?;
    let session = match super::login::current_session(p, req, now).await? {
        Some(session) if is_hinted(p, client.as_ref(), hint.as_ref(), &session).await? => session,
        _ => return Ok(redirect(&destination)),
    };
    let keys = NewKeys::new::<LogoutRequestRecord>(p);
    let record = LogoutRequestRecord {
        verifier_digest: keys.verifier_digest,
        csrf: keys.csrf,
        client_id: client.map(|c| c.client_id).unwrap_or_default(),
        subject: session.subject,
        session_id: session.id,
        rp_initiated: hint.is_some() || params.client_id.is_some(),
        request_url: request_url(p, req),
        post_logout_redirect: destination,
        ui_locales: params
            .ui_locales
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        requested_at: now,
        expires_at: now.saturating_add(p.config.lifespans.login_consent_request),
        handled: None,
        verifier_used: false,
        challenge: keys.challenge,
    };
    half::start(p, req, record, now, cookies).await
}

/// The issuer's URL of this request, as the logout page is told (`request_url`).
fn request_url(p: &Context, req: &Request) -> String {
    let base = logout_endpoint(p);
    match req.uri().query() {
        Some(query) => format!("{base}?{query}"),
        None => base,
    }
}

/// `/oauth2/sessions/logout` under the issuer.
fn logout_endpoint(p: &Context) -> String {
    format!(
        "{}/oauth2/sessions/logout",
        p.config.issuer.trim_end_matches('/')
    )
}

/// Verifies an `id_token_hint`: signed by us (expiry is not checked: RP-Initiated Logout
/// §2 lets a relying party send an expired one), issued by us, with a subject.
async fn verify_hint(p: &Context, token: &str) -> Result<Hint, OAuthError> {
    let invalid = || {
        OAuthError::invalid_request("The id_token_hint is not an ID token issued by this server.")
    };
    let claims = p.verify_jwt(token).await.map_err(|_| invalid())?;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(p.config.issuer.as_str()) {
        return Err(invalid());
    }
    let subject = claims
        .get("sub")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(invalid)?
        .to_owned();
    let audiences = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => vec![aud.clone()],
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => return Err(invalid()),
    };
    Ok(Hint { subject, audiences })
}

/// The relying party: the `client_id` sent (which must be an audience of the hint), else the
/// first audience of the hint that is a registered client, else none.
async fn identify_client(
    p: &Context,
    client_id: Option<&str>,
    hint: Option<&Hint>,
) -> Result<Option<Client>, OAuthError> {
    let candidates: Vec<&str> = match (client_id, hint) {
        (Some(id), Some(hint)) if !hint.audiences.iter().any(|a| a == id) => {
            return Err(OAuthError::invalid_request(
                "The id_token_hint was not issued to this client_id.",
            ));
        }
        (Some(id), _) => vec![id],
        (None, Some(hint)) => hint.audiences.iter().map(String::as_str).collect(),
        (None, None) => return Ok(None),
    };
    for id in candidates {
        if let Some(record) = p.find_client(id).await.map_err(OAuthError::store_failure)? {
            return Ok(Some(record.client.clone()));
        }
    }
    Err(OAuthError::invalid_request(
        "The client of this logout request is not registered.",
    ))
}

/// Where the browser goes at the end: the `post_logout_redirect_uri` with `state` when the
/// identified client registered it (exactly), else the configured default. Refused, without
/// redirecting, when the URI is not registered or no client is identified.
fn destination(
    p: &Context,
    client: Option<&Client>,
    params: &LogoutParams<'_>,
) -> Result<String, OAuthError> {
    let Some(uri) = params.post_logout_redirect_uri else {
        return Ok(p.config.logout_redirect_url.clone());
    };
    let Some(client) = client else {
        return Err(OAuthError::invalid_request(
            "A post_logout_redirect_uri needs an id_token_hint or a client_id.",
        ));
    };
    if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
        return Err(OAuthError::invalid_request(
            "The post_logout_redirect_uri is not registered for this client.",
        ));
    }
    Ok(match params.state.filter(|s| !s.is_empty()) {
        Some(state) => super::with_params(uri, UrlPart::Query, &[("state", state)]),
        None => uri.to_owned(),
    })
}

/// Whether the browser's session is the one to end: without a hint, yes; with one, only if
/// it is the hinted user's (as the client sees the subject), so that a hint of another user
/// never logs this one out.
async fn is_hinted(
    p: &Context,
    client: Option<&Client>,
    hint: Option<&Hint>,
    session: &LoginSessionRecord,
) -> Result<bool, OAuthError> {
    let (Some(client), Some(hint)) = (client, hint) else {
        return Ok(hint.is_none());
    };
    let subject = super::subject::identifier(p, client, &session.subject, "").await?;
    Ok(subject == hint.subject)
}

/// The logout verifier came back: ends the session (the CSRF cookie proves it is the same
/// browser), then loads each front-channel logout URI in a hidden frame on the way to the
/// redirect, or redirects at once when there is none.
pub(crate) async fn finish(
    p: &Context,
    req: &Request,
    verifier: &str,
    cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let record = LogoutRequestRecord::consume(p.store.as_ref(), &crate::token::signature(verifier))
        .await
        .map_err(|e| super::verifier_error(Stage::Logout, e))?;
    if record.expires_at <= p.now() {
        return Err(OAuthError::request_unauthorized(
            "The logout request has expired; log out again.",
        ));
    }
    super::check_csrf(
        p,
        req,
        Stage::Logout,
        &record.challenge,
        &record.csrf,
        cookies,
    )?;
    half::accepted(&record)?;
    let ended = super::end_sessions(p, SessionsToEnd::Id(&record.session_id))
        .await
        .map_err(OAuthError::store_failure)?;
    let name = session_cookie(&p.config);
    if p.cookie_key.read(req, &name, p.now()).as_deref() == Some(record.session_id.as_str()) {
        cookies.clear(&name, p.config.secure_cookies());
    }
    let frames = match ended.first() {
        Some(end) => front_channel_uris(p, end).await?,
        None => Vec::new(),
    };
    if frames.is_empty() {
        return Ok(redirect(&record.post_logout_redirect));
    }
    Ok(completion_page(&frames, &record.post_logout_redirect))
}

/// The `frontchannel_logout_uri` of each client of the session, with `iss` and `sid` when
/// the client requires them.
async fn front_channel_uris(p: &Context, ended: &EndedSession) -> Result<Vec<String>, OAuthError> {
    let mut uris = Vec::new();
    for id in &ended.client_ids {
        let Some(record) = p.find_client(id).await.map_err(OAuthError::store_failure)? else {
            continue;
        };
        let client = &record.client;
        if client.frontchannel_logout_uri.is_empty() {
            continue;
        }
        uris.push(if client.frontchannel_logout_session_required {
            super::with_params(
                &client.frontchannel_logout_uri,
                UrlPart::Query,
                &[
                    ("iss", p.config.issuer.as_str()),
                    ("sid", ended.session.id.as_str()),
                ],
            )
        } else {
            client.frontchannel_logout_uri.clone()
        });
    }
    Ok(uris)
}

/// The origin of a registered front-channel URI (scheme, host and port), for the CSP.
fn origin(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    Some(url.origin().ascii_serialization()).filter(|o| o != "null")
}

/// Front-Channel Logout 1.0 §4: one hidden frame per relying party, a CSP that allows
/// exactly their origins, and a refresh to the redirect once they had time to load.
fn completion_page(frames: &[String], destination: &str) -> Response {
    let mut origins: Vec<String> = frames.iter().filter_map(|f| origin(f)).collect();
    origins.sort_unstable();
    origins.dedup();
    let destination = escape_html(destination);
    let mut body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"2;url={destination}\"><title>Logging out</title>\
         </head><body><p>Logging out…</p>"
    );
    for frame in frames {
        body.push_str(&format!(
            "<iframe src=\"{}\" hidden width=\"0\" height=\"0\"></iframe>",
            escape_html(frame)
        ));
    }
    body.push_str(&format!(
        "<p><a id=\"continue\" href=\"{destination}\">Continue</a></p></body></html>"
    ));
    html_with_frames(http::StatusCode::OK, body, &origins.join(" "))
}

/// See [`Provider::logout_request`](crate::Provider::logout_request).
pub(crate) async fn logout_request(p: &Context, challenge: &str) -> Result<LogoutRequest, Error> {
    let record: LogoutRequestRecord = open(p, challenge).await?;
    let client = match record.client_id.as_str() {
        "" => None,
        id => p.find_client(id).await?.map(|r| r.client.without_secret()),
    };
    Ok(LogoutRequest {
        challenge: record.challenge,
        subject: record.subject,
        sid: record.session_id,
        request_url: record.request_url,
        rp_initiated: record.rp_initiated,
        client,
        ui_locales: record.ui_locales,
    })
}

/// See [`Provider::accept_logout`](crate::Provider::accept_logout).
pub(crate) async fn accept_logout(p: &Context, challenge: &str) -> Result<CompletedRequest, Error> {
    let record: LogoutRequestRecord = open(p, challenge).await?;
    answer(
        p,
        &record,
        HandledLogout::Accepted(AcceptedLogout {
            handled_at: p.now(),
        }),
    )
    .await?;
    Ok(CompletedRequest {
        redirect_to: super::with_params(
            &logout_endpoint(p),
            UrlPart::Query,
            &[(
                Stage::Logout.verifier_param(),
                super::verifier(p, Stage::Logout, &record.challenge),
            )],
        ),
    })
}

/// See [`Provider::reject_logout`](crate::Provider::reject_logout).
pub(crate) async fn reject_logout(p: &Context, challenge: &str) -> Result<(), Error> {
    let record: LogoutRequestRecord = open(p, challenge).await?;
    answer(
        p,
        &record,
        HandledLogout::Rejected(RejectedRequest::default()),
    )
    .await
}

/// Stores the host's answer once.
async fn answer(
    p: &Context,
    record: &LogoutRequestRecord,
    handled: HandledLogout,
) -> Result<(), Error> {
    LogoutRequestRecord::answer(p.store.as_ref(), &record.challenge, handled)
        .await
        .map_err(|e| super::request_store_error(Stage::Logout, e))?;
    Stage::Logout.count(&p.counters.flows_completed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_page_frames_only_the_relying_parties() {
        let res = completion_page(
            &[
                "https://rp.example/fc?iss=x&sid=1".into(),
                "https://rp.example:8443/fc".into(),
            ],
            "https://rp.example/bye?state=\"x",
        );
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-src https://rp.example https://rp.example:8443;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        let body = std::str::from_utf8(res.body()).unwrap();
        let frame = escape_html("https://rp.example/fc?iss=x&sid=1");
        assert!(body.contains(&format!("<iframe src=\"{frame}\" hidden")));
        assert!(body.contains(&escape_html("https://rp.example/bye?state=\"x")));
        assert!(!body.contains("state=\"x"));
        assert_eq!(origin("com.example.app:/x"), None);
    }
}
