//! Remembered logins and consents, prompt / max_age / id_token_hint rules, pairwise and
//! forced subjects (Hydra reference §3.2–3.5, 3.18; test catalog §4 items 10–38).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::flow::*;
use common::seed::signature;
use common::*;
use oauth2_provider::Clock;
use oauth2_provider::testing::{Harness, redirect_param};
use oauth2_provider::{AcceptConsentRequest, AcceptLoginRequest, Error};
use time::Duration;

#[tokio::test]
async fn remembered_login_and_consent_are_skipped_next_time() {
    // Catalog 10, 13.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let cookie = ua
        .cookie("__Host-oauth2_authentication_session")
        .unwrap()
        .to_owned();
    assert!(!cookie.is_empty());
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    assert!(login.skip);
    assert_eq!(login.subject, "user");
    assert!(!login.session_id.is_empty());
    assert!(login.client.client_secret.is_none());
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    let consent = h.provider.consent_request(&cc).await.unwrap();
    assert!(consent.skip);
    assert_eq!(consent.login_session_id, login.session_id);
    let res = accept_consent(&h, &mut ua, &cc, consent_to(&["openid", "offline"])).await;
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    // sid = the login session; auth_time = the session's.
    assert_eq!(
        record.grant.session_id.as_deref(),
        Some(login.session_id.as_str())
    );
}

#[tokio::test]
async fn session_cookie_is_signed_http_only_and_secure() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let done = h
        .provider
        .accept_login(
            &lc,
            AcceptLoginRequest {
                remember_for: 3600,
                ..remembered_login("u")
            },
        )
        .await
        .unwrap();
    let url = done
        .redirect_to
        .strip_prefix("https://auth.example.com")
        .unwrap()
        .to_owned();
    // Send the request by hand to look at the Set-Cookie header.
    let csrf = ua
        .cookie_names()
        .into_iter()
        .find(|n| n.contains("csrf"))
        .unwrap();
    let req = http::Request::builder()
        .uri(url)
        .header("cookie", format!("{csrf}={}", ua.cookie(&csrf).unwrap()))
        .body(Bytes::new())
        .unwrap();
    let res = h.provider.public().handle(req).await;
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-oauth2_authentication_session="))
        .unwrap();
    for attr in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=3600",
    ] {
        assert!(session.contains(attr), "{session}");
    }
    let sessions = h
        .provider
        .store()
        .delete_login_sessions_of("u")
        .await
        .unwrap();
    assert_eq!(sessions, 1);
}

#[tokio::test]
async fn remember_for_is_capped_by_the_login_session_lifespan() {
    let mut config = config();
    config.lifespans.login_session = Duration::hours(1);
    let h = harness_with(config).await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        AcceptLoginRequest {
            remember_for: 86_400,
            ..remembered_login("u")
        },
        consent_to(&[]),
    )
    .await
    .unwrap();
    h.clock.advance(Duration::minutes(59));
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert!(h.provider.login_request(&lc).await.unwrap().skip);
    h.clock.advance(Duration::minutes(2));
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert!(
        !h.provider.login_request(&lc).await.unwrap().skip,
        "session expired"
    );
}

#[tokio::test]
async fn public_native_client_never_skips_consent() {
    // Catalog 11.
    let h = harness().await;
    let mut native = flow_client("native");
    native.token_endpoint_auth_method = "none".into();
    native.redirect_uris = vec!["com.example.app:/cb".into()];
    h.register(native, None).await.unwrap();
    let query = |extra: &[(&str, &str)]| {
        let mut v = vec![
            ("client_id", "native"),
            ("response_type", "code"),
            ("scope", "openid"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ];
        v.extend_from_slice(extra);
        q(&v)
    };
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &query(&[]),
            remembered_login("u"),
            remembered_consent_to(&["openid"]),
        )
        .await
        .unwrap();
    assert!(
        loc(&res).starts_with("com.example.app:/cb?code="),
        "{}",
        loc(&res)
    );
    let res = ua
        .authorize_and_consent(
            &query(&[("prompt", "none")]),
            login_as("u"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    assert!(loc(&res).starts_with("com.example.app:/cb?"));
    assert_eq!(param(&res, "error"), "consent_required");
}

#[tokio::test]
async fn skip_requests_must_be_accepted_with_the_session_subject_and_without_remember() {
    // Catalog 12, 17.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let other = h.provider.accept_login(&lc, login_as("someone-else")).await;
    assert!(matches!(other, Err(Error::BadRequest(_))));
    let remember = h.provider.accept_login(&lc, remembered_login("user")).await;
    assert!(matches!(remember, Err(Error::BadRequest(_))));
    // Nothing was stored: a correct accept still works.
    let res = accept_login(&h, &mut ua, &lc, login_as("user")).await;
    let cc = consent_challenge(&res);
    // Catalog 18: consent skip + remember → 400 before storing.
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
    let remember = h
        .provider
        .accept_consent(&cc, remembered_consent_to(&["openid"]))
        .await;
    assert!(matches!(remember, Err(Error::BadRequest(_))));
    let res = accept_consent(&h, &mut ua, &cc, consent_to(&["openid"])).await;
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn prompt_login_and_consent_force_the_pages() {
    // Catalog 14.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[("prompt", "login consent")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(!h.provider.consent_request(&cc).await.unwrap().skip);
    let res = accept_consent(&h, &mut ua, &cc, consent_to(&["openid"])).await;
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn prompt_login_alone_still_skips_a_remembered_consent() {
    // Catalog 36.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[("prompt", "login")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
}

#[tokio::test]
async fn max_age_exceeded_forces_a_new_login() {
    // Catalog 15.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    h.clock.advance(Duration::seconds(2));
    let lc = login_challenge(&mut ua, &code_query(&[("max_age", "1")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
    let res = accept_consent(&h, &mut ua, &cc, consent_to(&["openid"])).await;
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(
        record.grant.auth_time,
        Some(h.clock.now()),
        "auth_time is the new login"
    );
}

#[tokio::test]
async fn max_age_zero_forces_a_new_login() {
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[("max_age", "0")])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
}

#[tokio::test]
async fn max_age_exceeded_with_prompt_none_is_login_required() {
    // Catalog 16, 35.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    h.clock.advance(Duration::seconds(2));
    let res = ua
        .authorize(&code_query(&[("max_age", "1"), ("prompt", "none")]))
        .await;
    assert_client_error(&res, "login_required");
    assert_eq!(param(&res, "state"), "state-123");
}

#[tokio::test]
async fn prompt_none_with_session_and_consent_succeeds_silently() {
    // Catalog 33: both skip; auth_time unchanged.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let first_auth = h.clock.now();
    h.clock.advance(Duration::seconds(2));
    let res = ua
        .authorize_and_consent(
            &code_query(&[("prompt", "none"), ("max_age", "60")]),
            login_as("user"),
            consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(record.grant.auth_time, Some(first_auth));
    assert_eq!(record.grant.granted_scope, ["openid", "offline"]);
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required() {
    // Catalog 19, 34: no code, no login request.
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = ua.authorize(&code_query(&[("prompt", "none")])).await;
    assert_client_error(&res, "login_required");
}

#[tokio::test]
async fn prompt_none_without_remembered_consent_is_consent_required() {
    // Catalog 20.
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        remembered_login("user"),
        consent_to(&["openid"]),
    )
    .await
    .unwrap();
    let res = ua
        .authorize_and_consent(
            &code_query(&[("prompt", "none")]),
            login_as("user"),
            consent_to(&[]),
        )
        .await
        .unwrap();
    assert_client_error(&res, "consent_required");
}

#[tokio::test]
async fn remembered_consent_must_cover_every_requested_scope() {
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[("scope", "openid")]),
        remembered_login("user"),
        remembered_consent_to(&["openid"]),
    )
    .await
    .unwrap();
    let lc = login_challenge(&mut ua, &code_query(&[("scope", "openid a")])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(!h.provider.consent_request(&cc).await.unwrap().skip);
}

#[tokio::test]
async fn remembered_consent_expires_after_remember_for() {
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        AcceptLoginRequest {
            remember_for: 0,
            ..remembered_login("user")
        },
        AcceptConsentRequest {
            remember_for: 60,
            ..remembered_consent_to(&["openid", "offline"])
        },
    )
    .await
    .unwrap();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
    h.clock.advance(Duration::seconds(61));
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(!h.provider.consent_request(&cc).await.unwrap().skip);
}

#[tokio::test]
async fn id_token_hint_rules() {
    // Catalog 21, 22, 23, 31, 37.
    let h = harness().await;
    let hint = id_token_for(&h, "foouser").await;
    // 21: prompt=none, no session.
    let mut ua = h.user_agent();
    let res = ua
        .authorize(&code_query(&[("prompt", "none"), ("id_token_hint", &hint)]))
        .await;
    assert_client_error(&res, "login_required");
    // 31: the claims are shown to the login app; 22: another user logs in.
    let lc = login_challenge(&mut ua, &code_query(&[("id_token_hint", &hint)])).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    let claims = login.oidc_context.id_token_hint_claims.unwrap();
    assert_eq!(claims["sub"], "foouser");
    let res = accept_login(&h, &mut ua, &lc, login_as("not-foouser")).await;
    assert_client_error(&res, "login_required");
    // 23: the right user.
    let res = ua
        .authorize_and_consent(
            &code_query(&[("id_token_hint", &hint)]),
            login_as("foouser"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn id_token_hint_with_a_matching_session_succeeds_silently() {
    let h = harness().await;
    let mut ua = remembered_browser(&h, "foouser").await;
    let hint = id_token_for(&h, "foouser").await;
    let res = ua
        .authorize_and_consent(
            &code_query(&[("prompt", "none"), ("id_token_hint", &hint)]),
            login_as("foouser"),
            consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
    // A hint for someone else with prompt=none: the session does not match.
    let other = id_token_for(&h, "other").await;
    let res = ua
        .authorize(&code_query(&[
            ("prompt", "none"),
            ("id_token_hint", &other),
        ]))
        .await;
    assert_client_error(&res, "login_required");
}

#[tokio::test]
async fn expired_id_token_hint_is_tolerated() {
    let h = harness().await;
    let hint = id_token_for(&h, "foouser").await;
    h.clock.advance(Duration::hours(5));
    let mut ua = h.user_agent();
    login_challenge(&mut ua, &code_query(&[("id_token_hint", &hint)])).await;
}

fn pairwise_config() -> oauth2_provider::Config {
    let mut config = config();
    config.pairwise_salt = Some(oauth2_provider::model::secret::Secret::new(
        b"76d5d2bf-747f-4592-9fbd-d2b895a54b3a".to_vec(),
    ));
    config
}

async fn pairwise_harness() -> Harness {
    let h = harness_with(pairwise_config()).await;
    let mut c = flow_client("pw");
    c.subject_type = "pairwise".into();
    c.sector_identifier_uri = Some("foo".into());
    h.register(c, Some("secret")).await.unwrap();
    h
}

fn pw_query(extra: &[(&str, &str)]) -> String {
    let mut v = vec![
        ("client_id", "pw"),
        ("response_type", "code id_token"),
        ("scope", "openid"),
        ("nonce", "nonce-12345678"),
        ("state", "state-123"),
    ];
    v.extend_from_slice(extra);
    q(&v)
}

const HYDRA_PAIRWISE: &str = "c737d5e1fec8896d096d49f6b1a73eb45ac7becb87de9ac3f0a350bad2a9c9fd";

#[tokio::test]
async fn pairwise_subject_reproduces_hydras_worked_example() {
    // Catalog 24, 25.
    let h = pairwise_harness().await;
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &pw_query(&[]),
            remembered_login("auth-user"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    let id_token = param(&res, "id_token");
    assert_eq!(jwt_claims(&id_token)["sub"], HYDRA_PAIRWISE);
    let code = param(&res, "code");
    let record = h.provider.store().code(&signature(&code)).await.unwrap();
    assert_eq!(record.grant.subject, "auth-user");
    assert_eq!(record.grant.subject_identifier, HYDRA_PAIRWISE);
    // The consent app sees the real subject.
    // 25: a hint carrying the pairwise sub matches the session.
    let res = ua
        .authorize_and_consent(
            &pw_query(&[("id_token_hint", &id_token), ("prompt", "none")]),
            login_as("auth-user"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    assert_client_error_or_consent(&res);
}

/// prompt=none without remembered consent ends in consent_required — the login (and thus
/// the hint) was accepted.
fn assert_client_error_or_consent(res: &Res) {
    assert_eq!(param(res, "error"), "consent_required", "{}", loc(res));
}

#[tokio::test]
async fn forced_subject_identifier_overrides_and_is_remembered() {
    // Catalog 26, 27.
    let h = pairwise_harness().await;
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &pw_query(&[]),
            AcceptLoginRequest {
                force_subject_identifier: "forced-auth-user".into(),
                ..login_as("auth-user")
            },
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    let id_token = param(&res, "id_token");
    assert_eq!(jwt_claims(&id_token)["sub"], "forced-auth-user");
    let forced = h
        .provider
        .store()
        .forced_subject("pw", "auth-user")
        .await
        .unwrap();
    assert_eq!(forced.as_deref(), Some("forced-auth-user"));
    // 27: a hint with the forced identifier matches a later login of the same user.
    let res = ua
        .authorize_and_consent(
            &pw_query(&[("id_token_hint", &id_token)]),
            login_as("auth-user"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    assert_eq!(
        jwt_claims(&param(&res, "id_token"))["sub"],
        "forced-auth-user"
    );
}

#[tokio::test]
async fn login_as_another_user_revokes_the_old_session() {
    // Catalog 28, 29.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let old_sid = h.provider.login_request(&lc).await.unwrap().session_id;
    let lc = login_challenge(&mut ua, &code_query(&[("prompt", "login")])).await;
    let res = accept_login(&h, &mut ua, &lc, login_as("other-user")).await;
    consent_challenge(&res);
    assert!(h.provider.store().login_session(&old_sid).await.is_err());
    assert!(ua.cookie("__Host-oauth2_authentication_session").is_none());
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let login = h.provider.login_request(&lc).await.unwrap();
    assert!(!login.skip);
    assert_eq!(login.subject, "");
}

#[tokio::test]
async fn cookie_of_a_deleted_session_does_not_skip() {
    // Catalog 30.
    let h = harness().await;
    let mut ua = remembered_browser(&h, "user").await;
    h.provider
        .store()
        .delete_login_sessions_of("user")
        .await
        .unwrap();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    assert!(!h.provider.login_request(&lc).await.unwrap().skip);
}

#[tokio::test]
async fn slow_login_and_consent_within_max_age_still_succeed() {
    // Catalog 38: auth_time is stamped at accept.
    let h = harness().await;
    let mut ua = h.user_agent();
    let lc = login_challenge(&mut ua, &code_query(&[("max_age", "3")])).await;
    h.clock.advance(Duration::seconds(5));
    let res = accept_login(&h, &mut ua, &lc, login_as("u")).await;
    let cc = consent_challenge(&res);
    h.clock.advance(Duration::seconds(5));
    let res = accept_consent(&h, &mut ua, &cc, consent_to(&["openid"])).await;
    assert!(redirect_param(&res, "code").is_some(), "{}", loc(&res));
}

/// `max_age` is read as a `u32` of seconds: the largest one means "any authentication is
/// recent enough" (and stays far inside what instants can hold); anything larger is a clean
/// `invalid_request` to the client, never an overflow.
#[tokio::test]
async fn max_age_at_its_bounds() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let code = ua
        .code(
            &code_query(&[("max_age", &u32::MAX.to_string())]),
            login_as("user"),
            consent_to(&["openid", "offline"]),
        )
        .await
        .unwrap();
    assert!(code.starts_with("op_ac_"));
    let res = ua
        .authorize(&code_query(&[("max_age", &i64::MAX.to_string())]))
        .await;
    assert_client_error(&res, "invalid_request");
}

/// A `remember_for` far past the last representable instant must not overflow where the
/// remembered consent is checked (it panicked on every later authorization of the subject
/// and client, and in the consent-session list): it means "remembered for good".
#[tokio::test]
async fn a_huge_remember_for_remembers_for_good_without_a_panic() {
    let h = harness().await;
    let mut ua = h.user_agent();
    ua.code(
        &code_query(&[]),
        remembered_login("user"),
        AcceptConsentRequest {
            remember_for: 1_000_000_000_000,
            ..remembered_consent_to(&["openid", "offline"])
        },
    )
    .await
    .unwrap();
    let lc = login_challenge(&mut ua, &code_query(&[])).await;
    let cc = consent_challenge(&accept_login(&h, &mut ua, &lc, login_as("user")).await);
    assert!(h.provider.consent_request(&cc).await.unwrap().skip);
    let listed = h.provider.consent_sessions("user", 10, 0).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].remember_for(), 1_000_000_000_000);
}
