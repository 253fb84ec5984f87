//! Logout: OpenID Connect RP-Initiated Logout 1.0 through Hydra's logout challenge,
//! Front-Channel and Back-Channel Logout 1.0, and `sid` in every token of a login session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::flow::{
    CB, accept_consent, accept_login, consent_challenge, consent_to, loc, login_as,
    login_challenge, param, remembered_login,
};
use common::{ISSUER, body_json, empty_request, jwt_claims, jwt_header, q};
use http::{Method, StatusCode};
use oauth2_provider::config::TokensAtLogout;
use oauth2_provider::store::DeliveryStatus;
use oauth2_provider::testing::{Harness, UserAgent, location};
use oauth2_provider::{Error, LogoutNotifier, async_trait};
use openidconnect::JsonWebKey as _;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use time::Duration;

const LOGOUT_PAGE: &str = "https://login.example.com/logout";
const BYE: &str = "https://app.example.com/bye";
const BACKCHANNEL: &str = "https://app.example.com/backchannel";

/// A harness whose client `app` registered [`BYE`] and a back-channel URI, and the client
/// `fc` with a front-channel URI that wants `iss` and `sid`.
async fn harness() -> Harness {
    let mut config = common::flow::config();
    config.logout_url = LOGOUT_PAGE.into();
    let h = Harness::new(config).await.unwrap();
    let mut app = common::flow::flow_client("app");
    app.post_logout_redirect_uris = vec![BYE.into()];
    app.backchannel_logout_uri = BACKCHANNEL.into();
    app.backchannel_logout_session_required = true;
    h.register(app, Some(common::flow::APP_SECRET))
        .await
        .unwrap();
    let mut fc = common::flow::flow_client("fc");
    fc.frontchannel_logout_uri = "https://fc.example.org/logout?x=1".into();
    fc.frontchannel_logout_session_required = true;
    h.register(fc, Some("secret")).await.unwrap();
    h
}

/// Logs `subject` in (remembered) in `ua` for `client_id` and returns its ID token.
async fn sign_in(ua: &mut UserAgent, client_id: &str, subject: &str) -> String {
    let query = q(&[
        ("client_id", client_id),
        ("response_type", "id_token"),
        ("scope", "openid"),
        ("nonce", "nonce-12345678"),
    ]);
    let res = ua
        .authorize_and_consent(&query, remembered_login(subject), consent_to(&["openid"]))
        .await
        .unwrap();
    param(&res, "id_token")
}

fn logout_url(pairs: &[(&str, &str)]) -> String {
    format!("{ISSUER}oauth2/sessions/logout?{}", q(pairs))
}

/// Follows a logout request to the host's logout page and returns the challenge.
async fn logout_challenge(ua: &mut UserAgent, url: &str) -> String {
    let res = ua.get(url).await;
    assert!(loc(&res).starts_with(LOGOUT_PAGE), "{}", loc(&res));
    param(&res, "logout_challenge")
}

/// Whether `ua` still skips the login page.
async fn still_logged_in(h: &Harness, ua: &mut UserAgent) -> bool {
    let challenge = login_challenge(ua, &common::flow::code_query(&[])).await;
    h.provider.login_request(&challenge).await.unwrap().skip
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_with_state() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let id_token = sign_in(&mut ua, "app", "alice").await;
    let sid = jwt_claims(&id_token)["sid"].as_str().unwrap().to_owned();
    // The ID token may have expired: RP-Initiated Logout accepts it.
    h.clock.advance(Duration::hours(3));
    let url = logout_url(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", BYE),
        ("state", "st-1"),
        ("ui_locales", "de en"),
    ]);
    let challenge = logout_challenge(&mut ua, &url).await;

    let request = h.provider.logout_request(&challenge).await.unwrap();
    assert_eq!(request.subject, "alice");
    assert_eq!(request.sid, sid);
    assert!(request.rp_initiated);
    assert_eq!(request.client.as_ref().unwrap().client_id, "app");
    assert_eq!(request.ui_locales, ["de", "en"]);
    assert!(
        request
            .request_url
            .starts_with(&format!("{ISSUER}oauth2/sessions/logout?"))
    );

    let done = h.provider.accept_logout(&challenge).await.unwrap();
    assert!(
        done.redirect_to
            .starts_with(&format!("{ISSUER}oauth2/sessions/logout?logout_verifier="))
    );
    let res = ua.get(&done.redirect_to).await;
    assert_eq!(loc(&res), format!("{BYE}?state=st-1"));
    assert!(!still_logged_in(&h, &mut ua).await);

    // Single use: no second answer (409), no replay of the verifier.
    assert!(matches!(
        h.provider.accept_logout(&challenge).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.provider.logout_request(&challenge).await,
        Err(Error::Conflict(_))
    ));
    let replay = ua.get(&done.redirect_to).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(location(&replay).is_none());

    // The session's relying party is owed a back-channel logout.
    let owed = h.provider.logout_deliveries(10, 0).await.unwrap();
    assert_eq!(owed.len(), 1);
    assert_eq!(
        (owed[0].client_id.as_str(), owed[0].session_id.as_str()),
        ("app", sid.as_str())
    );
    assert_eq!(owed[0].status, DeliveryStatus::Pending);
}

#[tokio::test]
async fn logout_challenges_are_purpose_bound() {
    let h = harness().await;
    let mut ua = h.user_agent();
    sign_in(&mut ua, "app", "alice").await;
    let logout = logout_challenge(&mut ua, &logout_url(&[])).await;
    let mut other = h.user_agent();
    let login = login_challenge(&mut other, &common::flow::code_query(&[])).await;
    assert!(matches!(
        h.provider.login_request(&logout).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.accept_consent(&logout, consent_to(&[])).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.logout_request(&login).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.accept_logout(&login).await,
        Err(Error::NotFound(_))
    ));
    // A login verifier is no logout verifier.
    let done = h
        .provider
        .accept_login(&login, login_as("bob"))
        .await
        .unwrap();
    let verifier = common::query_param(&done.redirect_to, "login_verifier").unwrap();
    let res = ua.get(&logout_url(&[("logout_verifier", &verifier)])).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "{:?}", res.body());
    assert!(still_logged_in(&h, &mut ua).await);
}

#[tokio::test]
async fn without_parameters_the_browser_session_is_logged_out_to_the_default() {
    let h = harness().await;
    let mut ua = h.user_agent();
    sign_in(&mut ua, "app", "alice").await;
    let challenge = logout_challenge(&mut ua, &logout_url(&[])).await;
    assert!(
        !h.provider
            .logout_request(&challenge)
            .await
            .unwrap()
            .rp_initiated
    );
    let done = h.provider.accept_logout(&challenge).await.unwrap();
    // POST works as well as GET.
    let verifier = common::query_param(&done.redirect_to, "logout_verifier").unwrap();
    let res = ua
        .post_form(
            &format!("{ISSUER}oauth2/sessions/logout"),
            &[("logout_verifier", &verifier)],
        )
        .await;
    // The browser followed the redirect to the default page (on the provider).
    assert!(
        std::str::from_utf8(res.body())
            .unwrap()
            .contains("Logged out")
    );
    assert!(!still_logged_in(&h, &mut ua).await);
    // Without a session there is nothing to confirm.
    let res = ua.get(&logout_url(&[])).await;
    assert!(
        std::str::from_utf8(res.body())
            .unwrap()
            .contains("Logged out")
    );
}

#[tokio::test]
async fn the_beta8_cookie_logout_notifies_the_relying_parties_too() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let token = sign_in(&mut ua, "app", "alice").await;
    ua.get("/oauth2/auth/sessions/login/revoke").await;
    assert!(!still_logged_in(&h, &mut ua).await);
    let owed = h.provider.logout_deliveries(10, 0).await.unwrap();
    assert_eq!(owed.len(), 1);
    assert_eq!(
        owed[0].session_id,
        jwt_claims(&token)["sid"].as_str().unwrap()
    );
}

#[tokio::test]
async fn rejected_logout_keeps_the_session() {
    let h = harness().await;
    let mut ua = h.user_agent();
    sign_in(&mut ua, "app", "alice").await;
    let challenge = logout_challenge(&mut ua, &logout_url(&[("client_id", "app")])).await;
    let counts = h.provider.counts();
    assert_eq!(
        (counts.flows_started.logout, counts.flows_completed.logout),
        (1, 0)
    );
    h.provider.reject_logout(&challenge).await.unwrap();
    assert_eq!(h.provider.counts().flows_completed.logout, 1);
    assert!(matches!(
        h.provider.accept_logout(&challenge).await,
        Err(Error::Conflict(_))
    ));
    assert!(still_logged_in(&h, &mut ua).await);
    assert!(
        h.provider
            .logout_deliveries(10, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_logout_requests_are_refused_without_redirecting() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let id_token = sign_in(&mut ua, "app", "alice").await;
    let mut forged = id_token.clone();
    forged.pop();
    forged.push(if id_token.ends_with('A') { 'B' } else { 'A' });
    for (pairs, why) in [
        (
            vec![("post_logout_redirect_uri", BYE)],
            "no client identified",
        ),
        (
            vec![("client_id", "app"), ("post_logout_redirect_uri", CB)],
            "not registered",
        ),
        (
            vec![
                ("id_token_hint", id_token.as_str()),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            "not registered",
        ),
        (
            vec![("id_token_hint", id_token.as_str()), ("client_id", "fc")],
            "other client",
        ),
        (vec![("id_token_hint", forged.as_str())], "forged hint"),
        (vec![("id_token_hint", "not-a-jwt")], "garbage hint"),
        (vec![("client_id", "nobody")], "unknown client"),
        (vec![("state", "a"), ("state", "b")], "repeated"),
    ] {
        let res = ua.get(&logout_url(&pairs)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{why}");
        assert!(location(&res).is_none(), "{why}");
        assert_eq!(body_json(&res)["error"], "invalid_request", "{why}");
    }
    assert!(still_logged_in(&h, &mut ua).await);
}

#[tokio::test]
async fn a_hint_of_another_user_does_not_log_this_one_out() {
    let h = harness().await;
    let mut alice = h.user_agent();
    let alice_token = sign_in(&mut alice, "app", "alice").await;
    let mut bob = h.user_agent();
    sign_in(&mut bob, "app", "bob").await;
    let url = logout_url(&[
        ("id_token_hint", &alice_token),
        ("post_logout_redirect_uri", BYE),
        ("state", "s"),
    ]);
    let res = bob.get(&url).await;
    assert_eq!(loc(&res), format!("{BYE}?state=s"));
    assert!(still_logged_in(&h, &mut bob).await);
    assert!(still_logged_in(&h, &mut alice).await);
}

#[tokio::test]
async fn front_channel_logout_frames_each_relying_party() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let token = sign_in(&mut ua, "fc", "alice").await;
    let sid = jwt_claims(&token)["sid"].as_str().unwrap().to_owned();
    let challenge = logout_challenge(&mut ua, &logout_url(&[])).await;
    let done = h.provider.accept_logout(&challenge).await.unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-src https://fc.example.org;"), "{csp}");
    let body = std::str::from_utf8(res.body())
        .unwrap()
        .replace("&#x2F;", "/")
        .replace("&#x3D;", "=")
        .replace("&amp;", "&");
    let frame = format!(
        "<iframe src=\"https://fc.example.org/logout?x=1&{}\"",
        q(&[("iss", ISSUER), ("sid", &sid)])
    );
    assert!(body.contains(&frame), "{body}");
    assert!(body.contains(&format!("url={ISSUER}oauth2/fallbacks/logout")));
    assert!(!still_logged_in(&h, &mut ua).await);
}

#[tokio::test]
async fn every_login_has_a_sid_shared_by_its_tokens() {
    let h = harness().await;
    let mut ua = h.user_agent();
    // Not remembered: still a session of its own (no cookie), so still a `sid`.
    let challenge = login_challenge(&mut ua, &common::flow::code_query(&[])).await;
    let res = accept_login(&h, &mut ua, &challenge, login_as("alice")).await;
    let consent = consent_challenge(&res);
    assert!(
        !h.provider
            .consent_request(&consent)
            .await
            .unwrap()
            .login_session_id
            .is_empty()
    );
    let res = accept_consent(&h, &mut ua, &consent, consent_to(&["openid", "offline"])).await;
    let code = param(&res, "code");
    let (status, tokens) = common::flow::app_token(
        &h.provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let sid = jwt_claims(tokens["id_token"].as_str().unwrap())["sid"].clone();
    assert!(sid.is_string());
    let (_, refreshed) = common::flow::app_token(
        &h.provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        jwt_claims(refreshed["id_token"].as_str().unwrap())["sid"],
        sid
    );
    assert!(
        ua.cookie_names()
            .iter()
            .all(|n| !n.contains("authentication_session"))
    );
}

/// Signs `alice` in with a code flow (remembered), logs the browser out, and answers whether
/// the refresh token of that login still works.
async fn refresh_after_logout(tokens_at_logout: TokensAtLogout) -> bool {
    let mut config = common::flow::config();
    config.logout_url = LOGOUT_PAGE.into();
    config.tokens_at_logout = tokens_at_logout;
    let h = common::flow::harness_with(config).await;
    let mut ua = h.user_agent();
    let code = ua
        .code(
            &common::flow::code_query(&[("scope", "openid offline")]),
            remembered_login("alice"),
            consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    let (_, tokens) = common::flow::app_token(
        &h.provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    )
    .await;
    let challenge = logout_challenge(&mut ua, &logout_url(&[])).await;
    let done = h.provider.accept_logout(&challenge).await.unwrap();
    ua.get(&done.redirect_to).await;
    assert!(!still_logged_in(&h, &mut ua).await);
    let (status, _) = common::flow::app_token(
        &h.provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    status == StatusCode::OK
}

#[tokio::test]
async fn tokens_stay_valid_at_logout_unless_configured_otherwise() {
    assert!(refresh_after_logout(TokensAtLogout::Keep).await);
    assert!(!refresh_after_logout(TokensAtLogout::RevokeGrants).await);
}

/// A relying party's back-channel endpoint: fails `failures` times, then accepts; keeps
/// every token it was sent.
#[derive(Debug, Default)]
struct Receiver {
    failures: Mutex<usize>,
    received: Mutex<VecDeque<(String, String)>>,
}

#[async_trait]
impl LogoutNotifier for Receiver {
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String> {
        self.received
            .lock()
            .unwrap()
            .push_back((uri.to_owned(), logout_token.to_owned()));
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err("503 Service Unavailable".into());
        }
        Ok(())
    }
}

/// Verifies a logout token with the openidconnect crate's JOSE (not ours) and returns its
/// claims.
async fn verify_independently(h: &Harness, token: &str) -> serde_json::Value {
    let res = h
        .provider
        .public()
        .handle(empty_request(Method::GET, "/.well-known/jwks.json"))
        .await;
    let set: CoreJsonWebKeySet = serde_json::from_slice(res.body()).unwrap();
    let header = jwt_header(token);
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let key = set
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == header["kid"].as_str())
        .unwrap();
    let alg: CoreJwsSigningAlgorithm = serde_json::from_value(header["alg"].clone()).unwrap();
    key.verify_signature(
        &alg,
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .unwrap();
    jwt_claims(token)
}

#[tokio::test]
async fn back_channel_logout_retries_with_back_off_until_delivered() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let id_token = sign_in(&mut ua, "app", "alice").await;
    let sid = jwt_claims(&id_token)["sid"].clone();
    // The admin API ends the session like a logout does.
    h.provider.revoke_login_sessions("alice").await.unwrap();
    let receiver = Receiver {
        failures: Mutex::new(2),
        ..Receiver::default()
    };
    let report = h.provider.deliver_logouts(&receiver, 10).await.unwrap();
    assert_eq!((report.retrying, report.delivered), (1, 0));
    // Not due yet: nothing is sent.
    let report = h.provider.deliver_logouts(&receiver, 10).await.unwrap();
    assert_eq!(report.retrying + report.delivered, 0);
    h.clock.advance(Duration::seconds(10));
    assert_eq!(
        h.provider
            .deliver_logouts(&receiver, 10)
            .await
            .unwrap()
            .retrying,
        1
    );
    let pending = h.provider.logout_deliveries(10, 0).await.unwrap();
    assert_eq!(
        (pending[0].attempts, pending[0].last_error.as_str()),
        (2, "503 Service Unavailable")
    );
    h.clock.advance(Duration::seconds(20));
    assert_eq!(
        h.provider
            .deliver_logouts(&receiver, 10)
            .await
            .unwrap()
            .delivered,
        1
    );
    assert!(
        h.provider
            .logout_deliveries(10, 0)
            .await
            .unwrap()
            .is_empty()
    );

    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    let (uri, token) = received.back().unwrap().clone();
    assert_eq!(uri, BACKCHANNEL);
    assert_eq!(jwt_header(&token)["typ"], "logout+jwt");
    let claims = verify_independently(&h, &token).await;
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "app");
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], "alice");
    assert!(claims.get("nonce").is_none());
    assert_eq!(
        claims["events"],
        serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    // Every attempt carries the same jti.
    let jtis: Vec<serde_json::Value> = received
        .iter()
        .map(|(_, t)| jwt_claims(t)["jti"].clone())
        .collect();
    assert!(jtis.iter().all(|j| *j == jtis[0]));
}

#[tokio::test]
async fn a_receiver_that_never_answers_shows_up_as_failed() {
    let h = harness().await;
    let mut ua = h.user_agent();
    sign_in(&mut ua, "app", "alice").await;
    let challenge = logout_challenge(&mut ua, &logout_url(&[("client_id", "app")])).await;
    let done = h.provider.accept_logout(&challenge).await.unwrap();
    ua.get(&done.redirect_to).await;
    let receiver = Receiver {
        failures: Mutex::new(usize::MAX),
        ..Receiver::default()
    };
    let mut failed = 0;
    for _ in 0..20 {
        failed += h
            .provider
            .deliver_logouts(&receiver, 10)
            .await
            .unwrap()
            .failed;
        h.clock.advance(Duration::hours(1));
    }
    assert_eq!(failed, 1);
    let owed = h.provider.logout_deliveries(10, 0).await.unwrap();
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].status, DeliveryStatus::Failed);
    assert_eq!(
        owed[0].attempts as usize,
        receiver.received.lock().unwrap().len()
    );
}

#[tokio::test]
async fn clients_without_a_back_channel_are_skipped() {
    let h = harness().await;
    let mut ua = h.user_agent();
    sign_in(&mut ua, "fc", "alice").await;
    h.provider.revoke_login_sessions("alice").await.unwrap();
    let receiver = Receiver::default();
    let report = h.provider.deliver_logouts(&receiver, 10).await.unwrap();
    assert_eq!(report.skipped, 1);
    assert!(receiver.received.lock().unwrap().is_empty());
    assert!(
        h.provider
            .logout_deliveries(10, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn admin_api_answers_hydra_logout_routes() {
    let h = harness().await;
    let mut ua = h.user_agent();
    sign_in(&mut ua, "app", "alice").await;
    let challenge = logout_challenge(&mut ua, &logout_url(&[])).await;
    let admin = |method: Method, path: String| {
        let h = h.clone();
        async move {
            h.provider
                .admin()
                .handle(empty_request(method, &path))
                .await
        }
    };
    let path = |action: &str| {
        format!(
            "/oauth2/auth/requests/logout{action}?{}",
            q(&[("logout_challenge", &challenge)])
        )
    };
    let res = admin(Method::GET, path("")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_json(&res);
    assert_eq!(body["subject"], "alice");
    assert_eq!(body["rp_initiated"], false);
    assert!(body["sid"].is_string() && body["request_url"].is_string());
    let res = admin(Method::GET, "/oauth2/auth/requests/logout".into()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = admin(
        Method::GET,
        "/oauth2/auth/requests/logout?logout_challenge=nope".into(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = admin(Method::PUT, path("/accept")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        body_json(&res)["redirect_to"]
            .as_str()
            .unwrap()
            .contains("logout_verifier=")
    );
    assert_eq!(
        admin(Method::PUT, path("/accept")).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin(Method::PUT, path("/reject")).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin(Method::GET, path("")).await.status(),
        StatusCode::CONFLICT
    );

    let mut other = h.user_agent();
    sign_in(&mut other, "app", "bob").await;
    let second = logout_challenge(&mut other, &logout_url(&[])).await;
    let reject = format!("/oauth2/auth/requests/logout/reject?logout_challenge={second}");
    assert_eq!(
        admin(Method::PUT, reject).await.status(),
        StatusCode::NO_CONTENT
    );
    // Expired requests are gone (410).
    let mut third = h.user_agent();
    sign_in(&mut third, "app", "carol").await;
    let expired = logout_challenge(&mut third, &logout_url(&[])).await;
    h.clock.advance(Duration::hours(1));
    let res = admin(
        Method::PUT,
        format!("/oauth2/auth/requests/logout/accept?logout_challenge={expired}"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::GONE);
}

#[tokio::test]
async fn discovery_advertises_logout() {
    let h = harness().await;
    let res = h
        .provider
        .public()
        .handle(empty_request(
            Method::GET,
            "/.well-known/openid-configuration",
        ))
        .await;
    let doc = body_json(&res);
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{ISSUER}oauth2/sessions/logout")
    );
    for field in [
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
    ] {
        assert_eq!(doc[field], true, "{field}");
    }
}
