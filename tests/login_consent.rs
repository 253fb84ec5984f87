//! The login and consent state machine (Hydra reference §3.2–3.5, test catalog §4 items
//! 1–9): challenges, verifiers, CSRF, rejects, expiry, conflicts, and the admin HTTP layer.
//! Sessions and prompt rules are in `flow_sessions.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::flow::*;
use common::seed::signature;
use common::*;
use http::{Method, StatusCode};
use oauth2_provider::Clock;
use oauth2_provider::store::{HandledConsent, HandledLogin};
use oauth2_provider::testing::{Harness, redirect_param};
use oauth2_provider::{
    AcceptConsentRequest, AcceptLoginRequest, ConsentRequestSession, Error, RejectRequest,
};
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn code_flow_stores_a_code_with_the_whole_grant() {
    // Catalog 9: session data round-trips; acr is the accepted one; no remember → no sid.
    let h = harness().await;
    let mut ua = h.user_agent();
    let query = code_query(&[
        ("redirect_uri", CB),
        ("nonce", "nonce-abc"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    let challenge = login_challenge(&mut ua, &query).await;
    let res = accept_login(
        &h,
        &mut ua,
        &challenge,
        AcceptLoginRequest {
            acr: "urn:mfa".into(),
            ..login_as("user")
        },
    )
    .await;
    let cc = consent_challenge(&res);
    let consent = h.provider.consent_request(&cc).await.unwrap();
    assert_eq!(consent.subject, "user");
    assert_eq!(consent.login_challenge, challenge);
    assert_eq!(consent.acr, "urn:mfa");
    assert!(consent.client.client_secret.is_none());
    let mut session = ConsentRequestSession::default();
    session.access_token.insert("foo".into(), json!("bar"));
    session.id_token.insert("bar".into(), json!("baz"));
    let res = accept_consent(
        &h,
        &mut ua,
        &cc,
        AcceptConsentRequest {
            grant_scope: vec!["openid".into()],
            session,
            ..Default::default()
        },
    )
    .await;
    let l = loc(&res);
    assert!(l.starts_with(&format!("{CB}?code=op_ac_")), "{l}");
    assert_eq!(param(&res, "state"), "state-123");
    assert_eq!(param(&res, "iss"), ISSUER);
    assert_eq!(param(&res, "scope"), "openid");
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    let now = h.clock.now();
    assert_eq!(record.grant.grant_id, cc);
    assert_eq!(record.grant.client_id, "app");
    assert_eq!(record.grant.subject, "user");
    assert_eq!(record.grant.subject_identifier, "user");
    assert_eq!(record.grant.granted_scope, ["openid"]);
    assert_eq!(record.grant.access_token_extra["foo"], "bar");
    assert_eq!(record.grant.id_token_extra["bar"], "baz");
    assert_eq!(record.grant.acr, "urn:mfa");
    assert_eq!(record.grant.auth_time, Some(now));
    // Not remembered, yet a login session of its own: its id is the grant's `sid`.
    assert!(
        record
            .grant
            .session_id
            .as_deref()
            .is_some_and(|sid| !sid.is_empty())
    );
    assert_eq!(record.redirect_uri.as_deref(), Some(CB));
    assert_eq!(record.effective_redirect_uri, CB);
    assert_eq!(
        record.code_challenge.as_deref(),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
    assert_eq!(record.nonce.as_deref(), Some("nonce-abc"));
    assert_eq!(record.expires_at, now + Duration::minutes(10));
    assert!(!record.used);
    // No refresh or access token leaves the front channel of a code flow.
    assert!(redirect_param(&res, "access_token").is_none());
    // The CSRF cookies were consumed.
    assert!(
        ua.cookie_names().iter().all(|n| !n.contains("csrf")),
        "{:?}",
        ua.cookie_names()
    );
}

#[tokio::test]
async fn omitted_redirect_uri_is_not_bound_to_the_code() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let code = ua
        .code(&code_query(&[]), login_as("u"), consent_to(&[]))
        .await
        .unwrap();
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(record.redirect_uri, None);
    assert_eq!(record.effective_redirect_uri, CB);
}

#[tokio::test]
async fn challenges_and_verifiers_are_random_and_purpose_bound() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert_eq!(lc.len(), 32);
    assert!(lc.bytes().all(|b| b.is_ascii_hexdigit()));
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let login_verifier = url_param(&done.redirect_to, "login_verifier");
    assert!(login_verifier.starts_with("op_vf_"));
    assert_ne!(login_verifier, lc);
    // A login challenge is not a consent challenge.
    assert!(matches!(
        h.provider.consent_request(&lc).await,
        Err(Error::NotFound(_))
    ));
    // A login verifier presented as a consent verifier is unknown.
    let swapped = ua
        .authorize(&format!(
            "{}&consent_verifier={login_verifier}",
            code_query(&[])
        ))
        .await;
    assert_client_error(&swapped, "access_denied");
    // The challenge presented as a verifier is unknown.
    let res = ua
        .authorize(&format!("{}&login_verifier={lc}", code_query(&[])))
        .await;
    assert_client_error(&res, "access_denied");
    let res = ua.get(&done.redirect_to).await;
    let cc = consent_challenge(&res);
    assert_ne!(cc, lc);
    assert!(matches!(
        h.provider.login_request(&cc).await,
        Err(Error::NotFound(_))
    ));
    let done = h
        .provider
        .accept_consent(&cc, consent_to(&[]))
        .await
        .unwrap();
    let consent_verifier = url_param(&done.redirect_to, "consent_verifier");
    assert_ne!(consent_verifier, login_verifier);
    // The consent verifier presented as a login verifier is unknown.
    let res = ua
        .authorize(&format!(
            "{}&login_verifier={consent_verifier}",
            code_query(&[])
        ))
        .await;
    assert_client_error(&res, "access_denied");
    // The right one still works (the failed attempts did not consume it).
    let res = ua.get(&done.redirect_to).await;
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn unknown_verifiers_are_access_denied() {
    // Catalog 1, 2, 7.
    let h = harness().await;
    let mut ua = h.user_agent();
    for name in ["login_verifier", "consent_verifier"] {
        let res = ua
            .authorize(&format!("{}&{name}=op_vf_nope", code_query(&[])))
            .await;
        assert_client_error(&res, "access_denied");
        assert_eq!(param(&res, "state"), "state-123");
    }
}

#[tokio::test]
async fn used_verifiers_are_invalid_request() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    consent_challenge(&ua.get(&done.redirect_to).await);
    assert_client_error(&ua.get(&done.redirect_to).await, "invalid_request");
}

#[tokio::test]
async fn fresh_request_shows_the_login_request() {
    // Catalog 3.
    let h = harness().await;
    let mut ua = h.user_agent();
    let query = code_query(&[
        ("display", "page"),
        ("ui_locales", "de en"),
        ("scope", "openid offline"),
    ]);
    let lc = login_challenge(&mut ua, &query).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    assert_eq!(login.challenge, lc);
    assert_eq!(login.client.client_id, "app");
    assert!(login.client.client_secret.is_none());
    assert_eq!(login.requested_scope, ["openid", "offline"]);
    assert!(!login.skip);
    assert_eq!(login.subject, "");
    assert_eq!(login.session_id, "");
    assert_eq!(
        login.request_url,
        format!("https://auth.example.com/oauth2/auth?{query}")
    );
    assert_eq!(login.oidc_context.display, "page");
    assert_eq!(login.oidc_context.ui_locales, ["de", "en"]);
}

#[tokio::test]
async fn rejected_login_sends_the_error_to_the_client() {
    // Catalog 4.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h
        .provider
        .reject_login(
            &lc,
            RejectRequest {
                error: "interaction_required".into(),
                error_description: "line one\r\nline \"two\"".into(),
                error_hint: "ask again".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "interaction_required");
    assert_eq!(param(&res, "state"), "state-123");
    assert_eq!(param(&res, "error_description"), "line one  line  two ");
    assert_eq!(param(&res, "error_hint"), "ask again");
    // No consent request was ever created.
    assert!(loc(&res).starts_with(CB));
}

#[tokio::test]
async fn reject_defaults_to_access_denied_and_validates_the_error() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let bad = h
        .provider
        .reject_login(
            &lc,
            RejectRequest {
                error: "bad error\"".into(),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(Error::BadRequest(_))));
    let done = h
        .provider
        .reject_login(&lc, RejectRequest::default())
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "access_denied");
    assert!(!param(&res, "error_description").is_empty());
}

#[tokio::test]
async fn rejected_consent_sends_the_error_to_the_client() {
    // Catalog 8.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    let done = h
        .provider
        .reject_consent(
            &cc,
            RejectRequest {
                error: "interaction_required".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "interaction_required");
    assert_eq!(param(&res, "state"), "state-123");
}

#[tokio::test]
async fn missing_csrf_cookie_is_request_forbidden() {
    // Catalog 5: the consent page is never reached.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let mut other = h.user_agent();
    let res = other.get(&done.redirect_to).await;
    assert_client_error(&res, "request_forbidden");
    // Same at the consent step.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    let done = h
        .provider
        .accept_consent(&cc, consent_to(&[]))
        .await
        .unwrap();
    let res = h.user_agent().get(&done.redirect_to).await;
    assert_client_error(&res, "request_forbidden");
}

#[tokio::test]
async fn a_tampered_csrf_cookie_is_request_forbidden() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let name = ua
        .cookie_names()
        .into_iter()
        .find(|n| n.contains("csrf"))
        .unwrap();
    let value = ua.cookie(&name).unwrap().to_owned();
    ua.set_cookie(&name, &value.replacen('.', "x.", 1));
    let res = accept_login(&h, &mut ua, &lc, login_as("u")).await;
    assert_client_error(&res, "request_forbidden");
}

#[tokio::test]
async fn two_flows_in_one_browser_do_not_break_each_other() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let first = login_challenge(&mut ua, &code_query(&[])).await;
    let second = login_challenge(&mut ua, &code_query(&[("nonce", "other-flow")])).await;
    let cc_first = consent_challenge(&accept_login(&h, &mut ua, &first, login_as("u")).await);
    let cc_second = consent_challenge(&accept_login(&h, &mut ua, &second, login_as("u")).await);
    let res = accept_consent(&h, &mut ua, &cc_first, consent_to(&[])).await;
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
    let res = accept_consent(&h, &mut ua, &cc_second, consent_to(&[])).await;
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
}

#[tokio::test]
async fn another_flows_csrf_cookie_does_not_count() {
    let h = harness().await;
    let mut victim = h.user_agent();
    let victim_lc = login_challenge(&mut victim, &code_query(&[])).await;
    let mut attacker = h.user_agent();
    login_challenge(&mut attacker, &code_query(&[])).await;
    // The attacker's browser holds a valid CSRF cookie — of its own flow.
    let done = h
        .provider
        .accept_login(&victim_lc, login_as("u"))
        .await
        .unwrap();
    let res = attacker.get(&done.redirect_to).await;
    assert_client_error(&res, "request_forbidden");
}

#[tokio::test]
async fn a_changed_request_on_return_is_refused() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let tampered = done
        .redirect_to
        .replace("scope=openid+offline", "scope=openid+offline+profile");
    assert_ne!(tampered, done.redirect_to);
    let res = ua.get(&tampered).await;
    assert_client_error(&res, "invalid_request");
}

#[tokio::test]
async fn consent_request_carries_subject_and_acr_values() {
    // Catalog 6.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[("acr_values", "1 2")])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    let consent = h.provider.consent_request(&cc).await.unwrap();
    assert_eq!(consent.subject, "user");
    assert!(!consent.skip);
    assert_eq!(consent.oidc_context.acr_values, ["1", "2"]);
    assert_eq!(consent.requested_scope, ["openid", "offline"]);
}

#[tokio::test]
async fn accepting_twice_is_a_conflict_and_unknown_challenges_are_not_found() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    assert!(matches!(
        h.provider.accept_login(&lc, login_as("u")).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.provider.reject_login(&lc, RejectRequest::default()).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.provider.login_request(&lc).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        h.provider.login_request("nope").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.accept_login("nope", login_as("u")).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.consent_request("nope").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider.accept_consent("nope", consent_to(&[])).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        h.provider
            .reject_consent("nope", RejectRequest::default())
            .await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn invalid_accept_bodies_are_refused_and_nothing_is_stored() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    for bad in [
        login_as(""),
        AcceptLoginRequest {
            remember_for: -1,
            ..login_as("u")
        },
    ] {
        assert!(matches!(
            h.provider.accept_login(&lc, bad).await,
            Err(Error::BadRequest(_))
        ));
    }
    let record = h.provider.store().login_request(&lc).await.unwrap();
    assert!(record.handled.is_none());
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    for bad in [
        consent_to(&["openid", "profile"]),
        consent_to(&["admin"]),
        AcceptConsentRequest {
            remember_for: -5,
            ..consent_to(&[])
        },
    ] {
        assert!(matches!(
            h.provider.accept_consent(&cc, bad).await,
            Err(Error::BadRequest(_))
        ));
    }
    let record = h.provider.store().consent_request(&cc).await.unwrap();
    assert!(record.handled.is_none());
    let res = accept_consent(&h, &mut ua, &cc, consent_to(&["offline"])).await;
    assert_eq!(param(&res, "scope"), "offline");
}

#[tokio::test]
async fn expired_requests_fail_at_accept_with_410_and_at_return_with_request_unauthorized() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.clock.advance(Duration::minutes(31));
    let err = h
        .provider
        .accept_login(&lc, login_as("u"))
        .await
        .unwrap_err();
    let wire = oauth2_provider::OAuthError::from(err);
    assert_eq!(wire.status, StatusCode::GONE);
    assert_eq!(wire.error, "request_expired");
    assert!(h.provider.login_request(&lc).await.is_err());
    let record = h.provider.store().login_request(&lc).await.unwrap();
    assert!(record.handled.is_none());
    // Accepted in time, but the browser comes back too late.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    h.clock.advance(Duration::minutes(31));
    let res = ua.get(&done.redirect_to).await;
    assert_client_error(&res, "request_unauthorized");
    // The consent shares the request's lifespan.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.clock.advance(Duration::minutes(20));
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    h.clock.advance(Duration::minutes(11));
    let err = h
        .provider
        .accept_consent(&cc, consent_to(&[]))
        .await
        .unwrap_err();
    assert_eq!(
        oauth2_provider::OAuthError::from(err).status,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn expired_consent_at_return_is_request_unauthorized() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("u")).await);
    let done = h
        .provider
        .accept_consent(&cc, consent_to(&[]))
        .await
        .unwrap();
    h.clock.advance(Duration::minutes(31));
    assert_client_error(&ua.get(&done.redirect_to).await, "request_unauthorized");
}

#[tokio::test]
async fn lifespan_of_requests_is_configurable() {
    let mut config = config();
    config.lifespans.login_consent_request = Duration::minutes(2);
    let h = harness_with(config).await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    h.clock.advance(Duration::minutes(3));
    assert!(h.provider.accept_login(&lc, login_as("u")).await.is_err());
}

#[tokio::test]
async fn stored_records_hold_digests_not_verifiers() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h.provider.accept_login(&lc, login_as("u")).await.unwrap();
    let verifier = url_param(&done.redirect_to, "login_verifier");
    let record = h.provider.store().login_request(&lc).await.unwrap();
    assert_eq!(record.verifier_digest, signature(&verifier));
    assert!(!serde_json::to_string(&record).unwrap().contains(&verifier));
    assert!(matches!(record.handled, Some(HandledLogin::Accepted(_))));
    let cc = consent_challenge(&ua.get(&done.redirect_to).await);
    let record = h.provider.store().consent_request(&cc).await.unwrap();
    assert!(record.handled.is_none());
    h.provider
        .accept_consent(&cc, consent_to(&[]))
        .await
        .unwrap();
    let record = h.provider.store().consent_request(&cc).await.unwrap();
    assert!(matches!(record.handled, Some(HandledConsent::Accepted(_))));
}

async fn admin(h: &Harness, method: Method, path: &str, body: Option<serde_json::Value>) -> Res {
    let req = match body {
        Some(v) => json_request(method, path, &v),
        None => empty_request(method, path),
    };
    h.provider.admin().handle(req).await
}

#[tokio::test]
async fn admin_http_endpoints_mirror_the_typed_api() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let path = format!("/oauth2/auth/requests/login/{lc}");
    let res = admin(&h, Method::GET, &path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let login = body_json(&res);
    assert_eq!(login["challenge"], lc.as_str());
    assert_eq!(login["skip"], false);
    assert_eq!(login["client"]["client_id"], "app");
    assert!(login["client"].get("client_secret").is_none());
    assert!(
        login["request_url"]
            .as_str()
            .unwrap()
            .contains("/oauth2/auth?")
    );
    // Unknown fields → 400, nothing stored.
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"subject": "u", "bogus": 1})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&res)["error"], "invalid_request");
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"subject": "u", "remember": false})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let redirect_to = body_json(&res)["redirect_to"].as_str().unwrap().to_owned();
    assert!(redirect_to.contains("login_verifier=op_vf_"));
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"subject": "u"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = admin(&h, Method::GET, "/oauth2/auth/requests/login/nope", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(&res)["error"], "not_found");
    let res = admin(
        &h,
        Method::PUT,
        "/oauth2/auth/requests/consent/nope/accept",
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let cc = consent_challenge(&ua.get(&redirect_to).await);
    let path = format!("/oauth2/auth/requests/consent/{cc}");
    let res = admin(&h, Method::GET, &path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let consent = body_json(&res);
    assert_eq!(consent["subject"], "u");
    assert_eq!(consent["login_challenge"], lc.as_str());
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/accept"),
        Some(json!({"grant_scope": ["nope"]})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = admin(
        &h,
        Method::PUT,
        &format!("{path}/reject"),
        Some(json!({"error": "access_denied", "error_description": "no thanks"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let redirect_to = body_json(&res)["redirect_to"].as_str().unwrap().to_owned();
    let res = ua.get(&redirect_to).await;
    assert_client_error(&res, "access_denied");
    assert_eq!(param(&res, "error_description"), "no thanks");
    // Reject with a bad body.
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let res = admin(
        &h,
        Method::PUT,
        &format!("/oauth2/auth/requests/login/{lc}/reject"),
        Some(json!({"status_code": 200})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = admin(
        &h,
        Method::PUT,
        &format!("/oauth2/auth/requests/login/{lc}/reject"),
        Some(json!("x")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_answers_about_challenges_are_never_cached() {
    // Issue 10, item 10: accept and reject answers carry a redirect with a single-use
    // verifier; no shared cache may keep them (nor the requests, nor the errors).
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let login = format!("/oauth2/auth/requests/login/{lc}");
    let res = admin(&h, Method::GET, &login, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_no_store(&res);
    let res = admin(
        &h,
        Method::PUT,
        &format!("{login}/accept"),
        Some(json!("x")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_no_store(&res);
    let body = json!({"subject": "u"});
    let res = admin(&h, Method::PUT, &format!("{login}/accept"), Some(body)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_no_store(&res);
    let redirect_to = body_json(&res)["redirect_to"].as_str().unwrap().to_owned();

    let cc = consent_challenge(&ua.get(&redirect_to).await);
    let consent = format!("/oauth2/auth/requests/consent/{cc}");
    let res = admin(&h, Method::GET, &consent, None).await;
    assert_no_store(&res);
    let res = admin(
        &h,
        Method::PUT,
        &format!("{consent}/reject"),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_no_store(&res);
    let res = admin(
        &h,
        Method::PUT,
        &format!("{consent}/accept"),
        Some(json!({})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_no_store(&res);

    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let path = format!("/oauth2/auth/requests/login/{lc}/reject");
    let res = admin(&h, Method::PUT, &path, Some(json!({}))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_no_store(&res);
}

#[tokio::test]
async fn default_fallback_login_url_receives_the_challenge() {
    let h = harness_with(oauth2_provider::Config::new(ISSUER).unwrap()).await;
    let mut ua = h.user_agent();
    let res = ua.authorize(&code_query(&[])).await;
    assert!(
        loc(&res).starts_with("https://auth.example.com/oauth2/fallbacks/consent?login_challenge=")
    );
}

/// A subject with a control character is refused before anything is stored.
#[tokio::test]
async fn a_subject_with_a_control_character_is_refused() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let refused = h.provider.accept_login(&lc, login_as("al\0ice")).await;
    assert!(matches!(refused, Err(Error::BadRequest(_))), "{refused:?}");
    // Nothing was stored: the request can still be accepted.
    assert!(
        h.provider
            .accept_login(&lc, login_as("alice"))
            .await
            .is_ok()
    );
}
