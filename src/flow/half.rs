//! The steps the login and consent halves (and logout) share, written once over [`Half`]: loading a
//! request the host may still answer, storing the host's answer (once), and taking back the
//! verifier that answer produced (once).

use super::request::AuthorizeRequest;
use super::{CompletedRequest, Pending, RejectRequest, SetCookies, Stage, UrlPart};
use crate::context::Context;
use crate::error::{Error, OAuthError};
use time::OffsetDateTime;

use crate::audit::AuditKind;
use crate::http::response::redirect;
use crate::http::{Request, Response};
use crate::store::{
    ChallengeRecord, ConsentRequestRecord, HandledConsent, HandledLogin, HandledLogout,
    LoginRequestRecord, LogoutRequestRecord,
};

/// One half of the flow: a stored request kind and the stage it is.
pub(crate) trait Half: ChallengeRecord {
    /// Which half this is.
    const STAGE: Stage;

    /// The audit event of the host's answer `handled` to this request.
    fn audit(&self, handled: &Self::Handled) -> AuditKind;
}

impl Half for LoginRequestRecord {
    const STAGE: Stage = Stage::Login;

    fn audit(&self, handled: &HandledLogin) -> AuditKind {
        let client_id = self.client_id.clone();
        match handled {
            HandledLogin::Accepted(accepted) => AuditKind::LoginAccepted {
                client_id,
                subject: accepted.subject.clone(),
            },
            HandledLogin::Rejected(rejected) => AuditKind::LoginRejected {
                client_id,
                error: rejected.error.as_str().to_owned(),
            },
        }
    }
}

impl Half for ConsentRequestRecord {
    const STAGE: Stage = Stage::Consent;

    fn audit(&self, handled: &HandledConsent) -> AuditKind {
        let (client_id, subject) = (self.client_id.clone(), self.subject.clone());
        match handled {
            HandledConsent::Accepted(accepted) => AuditKind::ConsentGranted {
                client_id,
                subject,
                scope: accepted.grant_scope.clone(),
            },
            HandledConsent::Rejected(rejected) => AuditKind::ConsentRejected {
                client_id,
                subject,
                error: rejected.error.as_str().to_owned(),
            },
        }
    }
}

impl Half for LogoutRequestRecord {
    const STAGE: Stage = Stage::Logout;

    fn audit(&self, handled: &HandledLogout) -> AuditKind {
        let subject = self.subject.clone();
        match handled {
            HandledLogout::Accepted(_) => AuditKind::Logout { subject },
            HandledLogout::Rejected(rejected) => AuditKind::LogoutRejected {
                subject,
                error: rejected.error.as_str().to_owned(),
            },
        }
    }
}

/// What a returning verifier is checked against: the request it was issued for.
fn pending<R: Half>(record: &R) -> Pending<'_> {
    Pending {
        client_id: record.client_id(),
        request_url: record.request_url(),
        challenge: record.challenge(),
        csrf: record.csrf(),
        expires_at: record.expires_at(),
    }
}

/// The keys of a new request: its challenge, the digest of its verifier (which only the
/// system secret can compute from the challenge) and the CSRF value its cookie carries.
#[derive(Debug)]
pub(crate) struct NewKeys {
    pub(crate) challenge: String,
    pub(crate) verifier_digest: String,
    pub(crate) csrf: String,
}

impl NewKeys {
    /// Fresh random keys for a request of half `R`.
    pub(crate) fn new<R: Half>(p: &Context) -> Self {
        let challenge = crate::crypto::random_id();
        Self {
            verifier_digest: crate::token::signature(&super::verifier(p, R::STAGE, &challenge)),
            csrf: crate::crypto::random_id(),
            challenge,
        }
    }
}

/// Stores a new request and sends the browser to the host's page for it with the
/// challenge, binding the flow to this browser with a CSRF cookie that lives as long as the
/// request (and expiring the oldest CSRF cookies of `req`'s browser beyond
/// [`super::MAX_CSRF_COOKIES`]).
pub(crate) async fn start<R: Half>(
    p: &Context,
    req: &Request,
    record: R,
    now: OffsetDateTime,
    cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let (challenge, csrf, expires_at) = (
        record.challenge().to_owned(),
        record.csrf().to_owned(),
        record.expires_at(),
    );
    record
        .create(p.store.as_ref())
        .await
        .map_err(OAuthError::store_failure)?;
    R::STAGE.count(&p.counters.flows_started);
    crate::trace::event!(DEBUG, stage = R::STAGE.noun(), "request started");
    super::evict_csrf_cookies(p, req, cookies);
    cookies.push(super::csrf_cookie(
        p,
        R::STAGE,
        &challenge,
        &csrf,
        now,
        expires_at,
    ));
    let (page, param) = R::STAGE.page(&p.config);
    Ok(redirect(&super::with_params(
        page,
        UrlPart::Query,
        &[(param, &challenge)],
    )))
}

/// The request of `challenge` if the host may still answer it: unknown → 404, answered →
/// 409, expired → 410.
pub(crate) async fn open<R: Half>(p: &Context, challenge: &str) -> Result<R, Error> {
    let record = R::load(p.store.as_ref(), challenge)
        .await
        .map_err(|e| super::request_store_error(R::STAGE, e))?;
    super::check_open(R::STAGE, record.expires_at(), record.is_handled(), p.now())?;
    Ok(record)
}

/// Stores the host's answer and says where the browser goes next: back to the
/// authorization endpoint with this half's verifier.
pub(crate) async fn complete<R: Half>(
    p: &Context,
    record: R,
    handled: R::Handled,
) -> Result<CompletedRequest, Error> {
    let event = p.audit.is_on().then(|| record.audit(&handled));
    R::answer(p.store.as_ref(), record.challenge(), handled)
        .await
        .map_err(|e| super::request_store_error(R::STAGE, e))?;
    R::STAGE.count(&p.counters.flows_completed);
    if let Some(event) = event {
        p.audit(|| event);
    }
    Ok(CompletedRequest {
        redirect_to: super::with_params(
            record.request_url(),
            UrlPart::Query,
            &[(
                R::STAGE.verifier_param(),
                super::stored_verifier(p, R::STAGE, record.challenge(), record.verifier_digest()),
            )],
        ),
    })
}

/// Rejects the request of `challenge`; the client receives `body.error`.
pub(crate) async fn reject<R: Half>(
    p: &Context,
    challenge: &str,
    body: RejectRequest,
) -> Result<CompletedRequest, Error> {
    let record = open::<R>(p, challenge).await?;
    let rejected = super::rejected_request(body)?;
    complete(p, record, R::rejected(rejected)).await
}

/// The verifier came back: consumes it and checks that it belongs to this authorization
/// request, in time, in this browser. Returns the answered request.
pub(crate) async fn take_back<R: Half>(
    p: &Context,
    req: &Request,
    areq: &AuthorizeRequest,
    verifier: &str,
    cookies: &mut SetCookies,
) -> Result<R, OAuthError> {
    let record = R::consume(p.store.as_ref(), &crate::token::signature(verifier))
        .await
        .map_err(|e| super::verifier_error(R::STAGE, e))?;
    super::check_return(p, req, areq, R::STAGE, pending(&record), cookies)?;
    Ok(record)
}

/// The host's acceptance, or the error its rejection sends to the client.
pub(crate) fn accepted<R: Half>(record: &R) -> Result<&R::Accepted, OAuthError> {
    match record.outcome() {
        Some(Ok(accepted)) => Ok(accepted),
        Some(Err(rejection)) => Err(super::rejection_error(rejection)),
        None => {
            Err(OAuthError::server_error("").with_debug(format!("unhandled {}", R::STAGE.noun())))
        }
    }
}
