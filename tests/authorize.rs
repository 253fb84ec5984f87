//! `GET|POST /oauth2/auth` request validation: safe error delivery, response types, scopes,
//! state, nonce, PKCE, prompt, max_age, id_token_hint, response modes, unsupported features,
//! and the fallback pages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::flow::*;
use common::*;
use http::{Method, Request, StatusCode};
use oauth2_provider::testing::{UserAgent, redirect_param};

async fn start(ua: &mut UserAgent, pairs: &[(&str, &str)]) -> http::Response<Bytes> {
    ua.authorize(&q(pairs)).await
}

const BASE: [(&str, &str); 3] = [
    ("client_id", "app"),
    ("response_type", "code"),
    ("state", "state-123"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = BASE.to_vec();
    v.extend_from_slice(extra);
    v
}

fn goes_to_login(res: &http::Response<Bytes>) {
    let l = loc(res);
    assert!(l.starts_with(LOGIN), "expected login page, got {l}");
    assert_eq!(param(res, "login_challenge").len(), 32);
}

#[tokio::test]
async fn unknown_or_missing_client_goes_to_error_url_never_the_redirect_uri() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = start(
        &mut ua,
        &[
            ("client_id", "nope"),
            ("response_type", "code"),
            ("redirect_uri", CB),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_error_page(&res, "invalid_client");
    let res = start(&mut ua, &[("response_type", "code"), ("redirect_uri", CB)]).await;
    assert_error_page(&res, "invalid_request");
    // A repeated client_id is not trusted either.
    let res = start(&mut ua, &[("client_id", "app"), ("client_id", "app")]).await;
    assert_error_page(&res, "invalid_request");
}

#[tokio::test]
async fn redirect_uri_must_match_exactly() {
    let h = harness().await;
    let mut ua = h.user_agent();
    for bad in [
        "https://app.example.com/CB",
        "https://APP.example.com/cb",
        "https://app.example.com/cb/extra",
        "https://app.example.com/cb?x=1",
        "https://app.example.com:443/cb",
        "https://evil.example/cb",
        "https://app.example.com/x/../cb",
    ] {
        let res = start(&mut ua, &with(&[("redirect_uri", bad)])).await;
        assert_error_page(&res, "invalid_request");
        assert!(redirect_param(&res, "error_description").is_some());
    }
    let res = start(&mut ua, &with(&[("redirect_uri", CB)])).await;
    goes_to_login(&res);
}

#[tokio::test]
async fn redirect_uri_may_be_omitted_only_with_exactly_one_registered() {
    let h = harness().await;
    let mut two = flow_client("two");
    two.redirect_uris
        .push("https://app.example.com/other".into());
    h.register(two, Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    goes_to_login(&start(&mut ua, &BASE).await);
    let res = start(
        &mut ua,
        &[
            ("client_id", "two"),
            ("response_type", "code"),
            ("state", "s"),
        ],
    )
    .await;
    assert_error_page(&res, "invalid_request");
    let res = start(
        &mut ua,
        &[
            ("client_id", "two"),
            ("response_type", "code"),
            ("redirect_uri", "https://app.example.com/other"),
        ],
    )
    .await;
    goes_to_login(&res);
}

#[tokio::test]
async fn loopback_redirect_port_may_vary() {
    let h = harness().await;
    let mut native = flow_client("native");
    native.redirect_uris = vec!["http://127.0.0.1/cb".into()];
    h.register(native, Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    let ok = [
        ("client_id", "native"),
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:51000/cb"),
    ];
    goes_to_login(&start(&mut ua, &ok).await);
    let bad = [
        ("client_id", "native"),
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:51000/other"),
    ];
    assert_error_page(&start(&mut ua, &bad).await, "invalid_request");
}

#[tokio::test]
async fn errors_after_validation_go_to_the_client_with_state_and_iss_keeping_its_query() {
    let h = harness().await;
    let mut c = flow_client("q");
    c.redirect_uris = vec!["https://app.example.com/cb?tenant=7".into()];
    h.register(c, Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    let res = start(
        &mut ua,
        &[
            ("client_id", "q"),
            ("response_type", "code"),
            ("state", "st ate+/&="),
            ("scope", "admin"),
        ],
    )
    .await;
    let l = loc(&res);
    assert!(l.starts_with("https://app.example.com/cb?tenant=7&"), "{l}");
    assert_eq!(param(&res, "error"), "invalid_scope");
    assert_eq!(param(&res, "state"), "st ate+/&=");
    assert_eq!(param(&res, "iss"), ISSUER);
    assert!(redirect_param(&res, "error_description").is_some());
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = start(&mut ua, &with(&[("scope", "openid"), ("scope", "offline")])).await;
    assert_client_error(&res, "invalid_request");
    assert_eq!(param(&res, "state"), "state-123");
    // An empty duplicate counts as absent.
    goes_to_login(&start(&mut ua, &with(&[("scope", "openid"), ("scope", "")])).await);
}

#[tokio::test]
async fn response_type_rules() {
    let h = harness().await;
    let mut code_only = flow_client("code-only");
    code_only.response_types = vec![];
    code_only.grant_types = vec![];
    h.register(code_only, Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    let res = start(&mut ua, &[("client_id", "app"), ("state", "s")]).await;
    assert_client_error(&res, "invalid_request");
    let res = start(
        &mut ua,
        &[("client_id", "app"), ("response_type", "code bogus")],
    )
    .await;
    assert_client_error(&res, "unsupported_response_type");
    for rt in ["token", "id_token", "code id_token"] {
        let res = start(
            &mut ua,
            &[
                ("client_id", "code-only"),
                ("response_type", rt),
                ("scope", "openid"),
                ("nonce", "n-0123456789"),
            ],
        )
        .await;
        assert_client_error(&res, "unauthorized_client");
        // Errors of token-returning requests go in the fragment.
        assert!(loc(&res).contains('#'), "{rt}: {}", loc(&res));
    }
    // The order of the parts does not matter.
    goes_to_login(
        &start(
            &mut ua,
            &[
                ("client_id", "app"),
                ("response_type", "id_token code"),
                ("scope", "openid"),
                ("nonce", "n-0123456789"),
            ],
        )
        .await,
    );
}

#[tokio::test]
async fn implicit_needs_the_implicit_grant() {
    let h = harness().await;
    let mut c = flow_client("no-implicit");
    c.grant_types = vec!["authorization_code".into()];
    h.register(c, Some("secret")).await.unwrap();
    let mut ua = h.user_agent();
    let res = start(
        &mut ua,
        &[("client_id", "no-implicit"), ("response_type", "token")],
    )
    .await;
    assert_client_error(&res, "unauthorized_client");
}

#[tokio::test]
async fn scopes_must_be_allowed_with_wildcards() {
    let h = harness().await;
    let mut ua = h.user_agent();
    goes_to_login(&start(&mut ua, &with(&[("scope", "openid foo.bar foo.bar.baz")])).await);
    let res = start(&mut ua, &with(&[("scope", "openid foo")])).await;
    assert_client_error(&res, "invalid_scope");
    let res = start(&mut ua, &with(&[("scope", "openid admin")])).await;
    assert_client_error(&res, "invalid_scope");
}

#[tokio::test]
async fn state_is_optional_echoed_exactly_and_bounded() {
    let h = harness().await;
    let mut ua = h.user_agent();
    // Decision: no minimum length (Hydra beta.8 demanded 8 characters).
    let res = start(
        &mut ua,
        &[
            ("client_id", "app"),
            ("response_type", "code"),
            ("state", "a"),
        ],
    )
    .await;
    goes_to_login(&res);
    let res = start(&mut ua, &[("client_id", "app"), ("response_type", "bogus")]).await;
    assert_client_error(&res, "unsupported_response_type");
    assert!(redirect_param(&res, "state").is_none());
    let long = "s".repeat(2049);
    let res = start(
        &mut ua,
        &[
            ("client_id", "app"),
            ("response_type", "code"),
            ("state", &long),
        ],
    )
    .await;
    assert_client_error(&res, "invalid_request");
    assert!(redirect_param(&res, "state").is_none(), "never truncated");
    let ok = "s".repeat(2048);
    goes_to_login(
        &start(
            &mut ua,
            &[
                ("client_id", "app"),
                ("response_type", "code"),
                ("state", &ok),
            ],
        )
        .await,
    );
}

#[tokio::test]
async fn nonce_rules() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let implicit = |nonce: Option<&'static str>| {
        let mut v = vec![
            ("client_id", "app"),
            ("response_type", "id_token"),
            ("scope", "openid"),
            ("state", "state-123"),
        ];
        if let Some(n) = nonce {
            v.push(("nonce", n));
        }
        v
    };
    let res = start(&mut ua, &implicit(None)).await;
    assert_client_error(&res, "invalid_request");
    assert!(loc(&res).contains("#error="));
    goes_to_login(&start(&mut ua, &implicit(Some("n"))).await);
    let long = "n".repeat(513);
    let mut pairs = implicit(None);
    pairs.push(("nonce", &long));
    assert_client_error(&start(&mut ua, &pairs).await, "invalid_request");
    // Optional for the code flow; `code token` returns no ID token, so no nonce needed.
    goes_to_login(&start(&mut ua, &with(&[("scope", "openid")])).await);
    goes_to_login(
        &start(
            &mut ua,
            &[("client_id", "app"), ("response_type", "code token")],
        )
        .await,
    );
    // id_token without the openid scope.
    let res = start(
        &mut ua,
        &[
            ("client_id", "app"),
            ("response_type", "id_token"),
            ("nonce", "nonce-1234"),
        ],
    )
    .await;
    assert_client_error(&res, "invalid_scope");
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test]
async fn pkce_s256_only_well_formed_and_required_for_public_clients() {
    let h = harness().await;
    let mut public = flow_client("public");
    public.token_endpoint_auth_method = "none".into();
    h.register(public, None).await.unwrap();
    let mut ua = h.user_agent();
    for bad in [
        vec![("code_challenge", CHALLENGE)],
        vec![
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "plain"),
        ],
        vec![
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S512"),
        ],
        vec![("code_challenge_method", "S256")],
        vec![
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
        vec![
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            ),
            ("code_challenge_method", "S256"),
        ],
    ] {
        let res = start(&mut ua, &with(&bad)).await;
        assert_client_error(&res, "invalid_request");
    }
    goes_to_login(
        &start(
            &mut ua,
            &with(&[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]),
        )
        .await,
    );
    let public_base = [("client_id", "public"), ("response_type", "code")];
    assert_client_error(&start(&mut ua, &public_base).await, "invalid_request");
    let mut ok = public_base.to_vec();
    ok.extend([
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    goes_to_login(&start(&mut ua, &ok).await);
}

#[tokio::test]
async fn prompt_and_max_age_rules() {
    let h = harness().await;
    let mut ua = h.user_agent();
    for bad in [
        ("prompt", "none login"),
        ("prompt", "none consent"),
        ("prompt", "bogus"),
        ("max_age", "-1"),
        ("max_age", "abc"),
        ("max_age", "1.5"),
    ] {
        let res = start(&mut ua, &with(&[bad])).await;
        assert_client_error(&res, "invalid_request");
    }
    for ok in [
        ("prompt", "login consent select_account"),
        ("max_age", "0"),
        ("max_age", "3600"),
    ] {
        goes_to_login(&start(&mut ua, &with(&[ok])).await);
    }
}

#[tokio::test]
async fn undecodable_or_foreign_id_token_hint_is_invalid_request() {
    let h = harness().await;
    let mut ua = h.user_agent();
    for bad in [
        "garbage",
        "a.b.c",
        // A well-formed JWS of an unknown key.
        "eyJhbGciOiJFUzI1NiIsImtpZCI6Im5vcGUifQ.eyJzdWIiOiJ4In0.AAAA",
    ] {
        let res = start(&mut ua, &with(&[("id_token_hint", bad)])).await;
        assert_client_error(&res, "invalid_request");
    }
}

#[tokio::test]
async fn hint_parameters_and_unknown_parameters_are_accepted() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = start(
        &mut ua,
        &with(&[
            ("display", "page"),
            ("ui_locales", "de en"),
            ("claims_locales", "de"),
            ("login_hint", "alice@example.com"),
            ("acr_values", "1 2"),
            ("extra", "foobar"),
        ]),
    )
    .await;
    goes_to_login(&res);
    let login = h
        .provider
        .login_request(&param(&res, "login_challenge"))
        .await
        .unwrap();
    assert_eq!(login.oidc_context.display, "page");
    assert_eq!(login.oidc_context.ui_locales, ["de", "en"]);
    assert_eq!(login.oidc_context.acr_values, ["1", "2"]);
    assert_eq!(login.oidc_context.login_hint, "alice@example.com");
}

#[tokio::test]
async fn request_objects_and_registration_are_refused_explicitly() {
    let h = harness().await;
    let mut ua = h.user_agent();
    for (name, error) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
        ("registration", "registration_not_supported"),
    ] {
        let res = start(&mut ua, &with(&[(name, "x")])).await;
        assert_client_error(&res, error);
    }
}

#[tokio::test]
async fn response_mode_rules() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = start(&mut ua, &with(&[("response_mode", "bogus")])).await;
    assert_client_error(&res, "invalid_request");
    let res = start(
        &mut ua,
        &[
            ("client_id", "app"),
            ("response_type", "token"),
            ("response_mode", "query"),
            ("state", "s"),
        ],
    )
    .await;
    assert_client_error(&res, "invalid_request");
    assert!(
        loc(&res).starts_with(&format!("{CB}#")),
        "never in the query"
    );
    // An error in fragment mode for a code request goes in the fragment.
    let res = start(
        &mut ua,
        &with(&[("response_mode", "fragment"), ("scope", "admin")]),
    )
    .await;
    assert!(loc(&res).starts_with(&format!("{CB}#error=")));
}

#[tokio::test]
async fn form_post_errors_render_an_escaped_auto_submit_page() {
    let h = harness().await;
    let mut ua = h.user_agent();
    let res = start(
        &mut ua,
        &[
            ("client_id", "app"),
            ("response_type", "code"),
            ("response_mode", "form_post"),
            ("scope", "admin"),
            ("state", "\"><script>alert(1)</script>"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = String::from_utf8(res.body().to_vec()).unwrap();
    assert!(!body.contains("<script>"), "{body}");
    assert!(body.contains("&quot;&gt;&lt;script&gt;"));
    assert!(body.contains("name=\"error\" value=\"invalid_scope\""));
    assert!(body.contains("name=\"iss\""));
    assert!(body.contains("method=\"post\""));
    assert!(body.contains("action=\"https:&#x2F;&#x2F;app.example.com&#x2F;cb\""));
}

#[tokio::test]
async fn post_authorization_requests_are_served() {
    let h = harness().await;
    let body = q(&BASE);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/oauth2/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap();
    let res = h.provider.public().handle(req).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a redirect answering a POST is 303, so the form is never re-sent"
    );
    goes_to_login(&res);
    let login = h
        .provider
        .login_request(&param(&res, "login_challenge"))
        .await
        .unwrap();
    assert!(
        login
            .request_url
            .starts_with("https://auth.example.com/oauth2/auth?")
    );
    assert!(login.request_url.contains("client_id=app"));
    // The whole flow completes through the GET return.
    let mut ua = h.user_agent();
    let code = ua
        .code(&q(&BASE), login_as("alice"), consent_to(&[]))
        .await
        .unwrap();
    assert!(code.starts_with("op_ac_"));
}

#[tokio::test]
async fn untrusted_errors_use_the_configured_error_url_and_the_fallback_page_escapes() {
    // Default config: the error URL is the built-in fallback page.
    let h = oauth2_provider::testing::Harness::new(oauth2_provider::Config::new(ISSUER).unwrap())
        .await
        .unwrap();
    let mut ua = h.user_agent();
    let res = ua.authorize("client_id=nope&response_type=code").await;
    let l = loc(&res);
    assert!(l.starts_with("https://auth.example.com/oauth2/fallbacks/error?error=invalid_client"));
    let page = ua.get(&l).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(String::from_utf8_lossy(page.body()).contains("invalid_client"));
    let res = ua
        .get("/oauth2/fallbacks/error?error=x&error_hint=%3Cscript%3Ealert(1)%3C/script%3E&error_description=%22%3E%3Cimg%20src%3Dx%3E")
        .await;
    let body = String::from_utf8(res.body().to_vec()).unwrap();
    assert!(
        !body.contains("<script>") && !body.contains("<img"),
        "{body}"
    );
    assert!(body.contains("&lt;script&gt;"));
    let h = res.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    for page in ["/oauth2/fallbacks/consent", "/oauth2/fallbacks/logout"] {
        let res = ua.get(page).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }
    let res = ua.get("/oauth2/fallbacks/consent").await;
    assert!(String::from_utf8_lossy(res.body()).contains("not configured"));
}

#[tokio::test]
async fn authorization_requests_are_bounded_as_a_whole_and_per_field() {
    // Issue 10, item 1: every open flow stores its request, so an anonymous caller who
    // knows a public client id must not be able to make it store much.
    let h = harness().await;
    let mut ua = h.user_agent();
    let base = code_query(&[]);
    let cap = 16 * 1024;
    // The whole request: junk past the cap is refused before the client is trusted.
    let over = format!("{base}&junk={}", "j".repeat(cap));
    assert_error_page(&ua.authorize(&over).await, "invalid_request");
    let form = Request::builder()
        .method(Method::POST)
        .uri("/oauth2/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(over.clone()))
        .unwrap();
    assert_error_page(&h.provider.public().handle(form).await, "invalid_request");
    // Each kept field has its own cap; those errors go to the client.
    for (name, len) in [
        ("login_hint", 1025),
        ("acr_values", 1025),
        ("ui_locales", 257),
        ("claims_locales", 257),
        ("display", 17),
        ("scope", 4097),
        ("id_token_hint", 8193),
    ] {
        let res = ua
            .authorize(&format!("{base}&{name}={}", "a".repeat(len)))
            .await;
        assert_client_error(&res, "invalid_request");
    }
    // Lists kept value by value hold at most 16 values.
    let many: Vec<String> = (0..17).map(|i| format!("v{i}")).collect();
    for name in ["acr_values", "ui_locales"] {
        let res = ua
            .authorize(&format!("{base}&{name}={}", many.join("+")))
            .await;
        assert_client_error(&res, "invalid_request");
        let res = ua
            .authorize(&format!("{base}&{name}={}", many[..16].join("+")))
            .await;
        assert!(loc(&res).starts_with(LOGIN), "{}", loc(&res));
    }
    // A request just under the cap completes its flow: the verifiers the provider appends
    // on the way back do not count against it.
    let filler = cap - base.len() - "&junk=".len() - 2;
    let query = format!("{base}&junk={}", "j".repeat(filler));
    let challenge = login_challenge(&mut ua, &query).await;
    let res = accept_login(&h, &mut ua, &challenge, login_as("alice")).await;
    let consent = consent_challenge(&res);
    let res = accept_consent(&h, &mut ua, &consent, consent_to(&["openid"])).await;
    assert!(loc(&res).starts_with(CB), "{}", loc(&res));
    assert!(redirect_param(&res, "code").is_some());
}

#[tokio::test]
async fn the_authorization_request_cap_is_configurable() {
    let mut config = config();
    config.max_authorization_request_bytes = 512;
    let h = harness_with(config).await;
    let mut ua = h.user_agent();
    let base = code_query(&[]);
    let res = ua
        .authorize(&format!("{base}&junk={}", "j".repeat(512)))
        .await;
    assert_error_page(&res, "invalid_request");
    goes_to_login(&ua.authorize(&format!("{base}&junk=j")).await);
}
