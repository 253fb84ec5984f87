//! `GET /oauth2/auth/sessions/login/revoke` (public): the browser logout of Hydra beta.8.
//!
//! Deletes the login session named by the signed session cookie, clears the cookie and
//! redirects to `Config::logout_redirect_url`. A missing, forged or expired cookie, or a
//! session that is already gone, still logs out (clears and redirects). A store failure is a
//! 5xx and keeps the cookie, so that the user can retry instead of believing they are out.
//! Like Hydra beta.8 it is a plain GET; there is no RP-initiated or channel logout.

use http::header::SET_COOKIE;

use crate::Provider;
use crate::error::StoreError;
use crate::http::{Request, Response, cookies, response};

/// The signed cookie holding the login session id.
pub(crate) const SESSION_COOKIE: &str = "oauth2_authentication_session";

/// Ends the browser's login session.
pub(crate) async fn logout(p: &Provider, req: Request) -> Response {
    let inner = &p.inner;
    if let Some(session_id) = inner.cookie_key.read(&req, SESSION_COOKIE, inner.now()) {
        match inner.store.delete_login_session(&session_id).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return inner.error_response(&e.into()),
        }
    }
    let mut res = response::redirect(&inner.config.logout_redirect_url);
    res.headers_mut().append(
        SET_COOKIE,
        cookies::clear(SESSION_COOKIE, inner.config.secure_cookies()),
    );
    res
}
