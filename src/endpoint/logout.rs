//! The two logout endpoints (public).
//!
//! `GET|POST /oauth2/sessions/logout` is OpenID Connect RP-Initiated Logout 1.0 with Hydra's
//! logout challenge ([`crate::flow::logout`]); invalid requests are refused with a 400, never
//! redirected.
//!
//! `GET /oauth2/auth/sessions/login/revoke` is the browser logout of Hydra beta.8: it ends the
//! login session named by the signed session cookie, clears the cookie and redirects to
//! `Config::logout_redirect_url`. A missing, forged or expired cookie, or a session that is
//! already gone, still logs out (clears and redirects). A store failure is a 5xx and keeps the
//! cookie, so that the user can retry instead of believing they are out. The relying parties
//! of the session are notified on the back channel like any other logout.

use http::Method;
use http::header::SET_COOKIE;

use crate::context::Context;
use crate::error::OAuthError;
use crate::flow::logout::{LogoutParams, finish, start};
use crate::flow::{SetCookies, end_sessions, session_cookie};
use crate::http::params::Params;
use crate::http::{Request, Response, cookies, response};
use crate::store::SessionsToEnd;

/// `GET|POST /oauth2/sessions/logout`: starts a logout, or completes one when the host's
/// accept sent the browser back with `logout_verifier`.
pub(crate) async fn sessions_logout(p: &Context, req: &Request) -> Response {
    let mut set_cookies = SetCookies::default();
    let res = match handle(p, req, &mut set_cookies).await {
        Ok(res) => res,
        Err(e) => response::no_store(p.error_response(&e)),
    };
    set_cookies.apply(res)
}

async fn handle(
    p: &Context,
    req: &Request,
    set_cookies: &mut SetCookies,
) -> Result<Response, OAuthError> {
    let params = if req.method() == Method::POST {
        Params::from_form(req)?
    } else {
        Params::from_query(req)?
    };
    params.reject_repeated()?;
    if let Some(verifier) = params.get("logout_verifier")? {
        return finish(p, req, verifier, set_cookies).await;
    }
    let logout = LogoutParams {
        id_token_hint: params.get("id_token_hint")?,
        client_id: params.get("client_id")?,
        post_logout_redirect_uri: params.get("post_logout_redirect_uri")?,
        state: params.get("state")?,
        ui_locales: params.get("ui_locales")?,
    };
    start(p, req, &logout, set_cookies).await
}

/// Ends the browser's login session (beta.8).
pub(crate) async fn logout(p: &Context, req: &Request) -> Response {
    let name = session_cookie(&p.config);
    if let Some(session_id) = p.cookie_key.read(req, &name, p.now()) {
        if let Err(e) = end_sessions(p, SessionsToEnd::Id(&session_id)).await {
            return p.error_response(&OAuthError::store_failure(e));
        }
    }
    let mut res = response::redirect(&p.config.logout_redirect_url);
    res.headers_mut()
        .append(SET_COOKIE, cookies::clear(&name, p.config.secure_cookies()));
    res
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::{Method, StatusCode};
    use time::Duration;

    use super::*;
    use crate::store::LoginSessionRecord;
    use crate::{Config, ManualClock, Provider};

    #[tokio::test]
    async fn signed_session_cookie_ends_its_session_only() {
        let clock = Arc::new(ManualClock::starting_now());
        let p = Provider::builder(Config::new("https://auth.example.com/").unwrap())
            .clock(clock.clone())
            .build()
            .await
            .unwrap();
        let now = p.cx.now();
        for id in ["mine", "other"] {
            let session = LoginSessionRecord {
                id: id.into(),
                subject: "alice".into(),
                authenticated_at: now,
                expires_at: now + Duration::days(1),
            };
            p.cx.store.create_login_session(session).await.unwrap();
        }
        let name = session_cookie(&p.cx.config);
        assert_eq!(name, "__Host-oauth2_authentication_session");
        let signed =
            p.cx.cookie_key
                .sign(&name, "mine", now + Duration::hours(1));
        let req = http::Request::builder()
            .method(Method::GET)
            .uri("/oauth2/auth/sessions/login/revoke")
            .header("cookie", format!("{name}={signed}"))
            .body(bytes::Bytes::new())
            .unwrap();
        let res = p.public().handle(req.clone()).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(
            res.headers()["location"],
            "https://auth.example.com/oauth2/fallbacks/logout"
        );
        let cleared = res.headers()["set-cookie"].to_str().unwrap();
        assert!(cleared.starts_with(&format!("{name}=;")) && cleared.contains("Max-Age=0"));
        assert!(p.cx.store.login_session("mine").await.is_err());
        assert!(p.cx.store.login_session("other").await.is_ok());
        // Replaying the cookie after the session is gone still logs out cleanly.
        assert_eq!(p.public().handle(req).await.status(), StatusCode::FOUND);
    }
}
