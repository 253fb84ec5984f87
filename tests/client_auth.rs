//! Client authentication (RFC 6749 §2.3.1) through `Provider::authenticate_client`:
//! `client_secret_basic`, `client_secret_post`, `none`, and every way to get it wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use common::*;
use http::{Method, Request, StatusCode};
use oauth2_provider::{Client, Config, Error, Provider};

/// A token request with an optional `Authorization` header and a form body.
fn request(authorization: Option<&str>, form: &[(&str, &str)]) -> Request<Bytes> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    builder.body(Bytes::from(body)).unwrap()
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

/// Registers a client and returns its plaintext secret (if any).
async fn register(p: &Provider, id: &str, method: &str, secret: Option<&str>) -> Option<String> {
    let created = p
        .create_client(Client {
            client_id: id.into(),
            token_endpoint_auth_method: method.into(),
            client_secret: secret.map(str::to_owned),
            ..Client::default()
        })
        .await
        .unwrap();
    created.client_secret
}

async fn setup() -> (Provider, String, String) {
    let (p, _) = provider().await;
    let basic_secret = register(&p, "basic-app", "client_secret_basic", None)
        .await
        .unwrap();
    let post_secret = register(&p, "post-app", "client_secret_post", None)
        .await
        .unwrap();
    register(&p, "public-app", "none", None).await;
    (p, basic_secret, post_secret)
}

fn assert_fails(result: Result<Client, Error>, status: StatusCode, error: &str) {
    let Err(Error::OAuth(err)) = result else {
        panic!("authentication must fail with an OAuth error: {result:?}");
    };
    assert_eq!(err.status, status, "{err}");
    assert_eq!(err.error, error, "{err}");
}

fn assert_invalid_client(result: Result<Client, Error>) {
    assert_fails(result, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn basic_with_a_generated_secret() {
    let (p, secret, _) = setup().await;
    let req = request(Some(&basic("basic-app", &secret)), &[GRANT]);
    let client = p.authenticate_client(&req).await.unwrap();
    assert_eq!(client.client_id, "basic-app");
    assert!(client.client_secret.is_none());

    // The scheme is case-insensitive, padding optional, and the same id may repeat in the body.
    let header = basic("basic-app", &secret).replacen("Basic", "bAsIc", 1);
    let req = request(Some(&header), &[GRANT, ("client_id", "basic-app")]);
    assert!(p.authenticate_client(&req).await.is_ok());
    let unpadded = basic("basic-app", &secret).trim_end_matches('=').to_owned();
    let req = request(Some(&unpadded), &[GRANT]);
    assert!(p.authenticate_client(&req).await.is_ok());
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    let (p, _) = provider().await;
    let id = "app:with&odd=chars+";
    let secret = "s3cr:t%with+plus&amp=eq ~ space";
    register(&p, id, "client_secret_basic", Some(secret)).await;
    let req = request(Some(&basic(id, secret)), &[GRANT]);
    assert_eq!(p.authenticate_client(&req).await.unwrap().client_id, id);

    // Sent without the urlencoding, '%' and '+' do not survive.
    let req = request(Some(&basic_raw(&format!("{id}:{secret}"))), &[GRANT]);
    assert_invalid_client(p.authenticate_client(&req).await);
    // A '%' that does not start an escape is refused, not guessed at.
    let req = request(Some(&basic_raw("app%zz:secret")), &[GRANT]);
    assert_invalid_client(p.authenticate_client(&req).await);
}

#[tokio::test]
async fn post_with_a_generated_secret() {
    let (p, _, secret) = setup().await;
    let req = request(
        None,
        &[GRANT, ("client_id", "post-app"), ("client_secret", &secret)],
    );
    assert_eq!(
        p.authenticate_client(&req).await.unwrap().client_id,
        "post-app"
    );
}

#[tokio::test]
async fn the_registered_method_is_enforced_both_ways() {
    let (p, basic_secret, post_secret) = setup().await;
    let post_for_basic_client = request(
        None,
        &[("client_id", "basic-app"), ("client_secret", &basic_secret)],
    );
    assert_invalid_client(p.authenticate_client(&post_for_basic_client).await);
    let basic_for_post_client = request(Some(&basic("post-app", &post_secret)), &[GRANT]);
    assert_invalid_client(p.authenticate_client(&basic_for_post_client).await);
}

#[tokio::test]
async fn two_methods_at_once_are_invalid_request() {
    let (p, basic_secret, _) = setup().await;
    let req = request(
        Some(&basic("basic-app", &basic_secret)),
        &[("client_id", "basic-app"), ("client_secret", &basic_secret)],
    );
    assert_fails(
        p.authenticate_client(&req).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // Basic and a different client_id in the body.
    let req = request(
        Some(&basic("basic-app", &basic_secret)),
        &[("client_id", "post-app")],
    );
    assert_fails(
        p.authenticate_client(&req).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

#[tokio::test]
async fn wrong_secret_unknown_client_and_no_credentials() {
    let (p, basic_secret, post_secret) = setup().await;
    let mut wrong = basic_secret.clone();
    wrong.pop();
    wrong.push('x');
    for req in [
        request(Some(&basic("basic-app", &wrong)), &[GRANT]),
        request(Some(&basic("basic-app", &post_secret)), &[GRANT]),
        request(Some(&basic("nobody", &basic_secret)), &[GRANT]),
        request(
            None,
            &[("client_id", "post-app"), ("client_secret", &basic_secret)],
        ),
        request(
            None,
            &[("client_id", "nobody"), ("client_secret", &post_secret)],
        ),
        request(None, &[("client_id", "nobody")]),
        request(None, &[GRANT]),
        request(Some(&basic("", &basic_secret)), &[GRANT]),
    ] {
        assert_invalid_client(p.authenticate_client(&req).await);
    }
}

#[tokio::test]
async fn empty_password_does_not_authenticate_a_confidential_client() {
    let (p, _, _) = setup().await;
    for req in [
        request(Some(&basic("basic-app", "")), &[GRANT]),
        request(Some(&basic_raw("basic-app:")), &[GRANT]),
        request(None, &[("client_id", "post-app"), ("client_secret", "")]),
        request(None, &[("client_id", "basic-app")]),
    ] {
        assert_invalid_client(p.authenticate_client(&req).await);
    }
}

#[tokio::test]
async fn public_clients_authenticate_with_none_only() {
    let (p, basic_secret, _) = setup().await;
    let req = request(None, &[GRANT, ("client_id", "public-app")]);
    assert_eq!(
        p.authenticate_client(&req).await.unwrap().client_id,
        "public-app"
    );
    // `id:` with an empty password is how some libraries spell a public client.
    let req = request(Some(&basic_raw("public-app:")), &[GRANT]);
    assert!(p.authenticate_client(&req).await.is_ok());
    for req in [
        request(
            None,
            &[("client_id", "public-app"), ("client_secret", "anything")],
        ),
        request(Some(&basic("public-app", &basic_secret)), &[GRANT]),
    ] {
        assert_invalid_client(p.authenticate_client(&req).await);
    }
}

#[tokio::test]
async fn malformed_authorization_headers() {
    let (p, basic_secret, _) = setup().await;
    for header in [
        "Basic !!!not-base64!!!".to_owned(),
        "Basic".to_owned(),
        "Basic ".to_owned(),
        format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'x'])),
        basic_raw("no-colon-here"),
        format!("Bearer {basic_secret}"),
        format!("Digest {}", &basic("basic-app", &basic_secret)[6..]),
    ] {
        let req = request(Some(&header), &[GRANT]);
        assert_invalid_client(p.authenticate_client(&req).await);
    }
}

#[tokio::test]
async fn repeated_parameters_and_non_form_bodies_are_invalid_request() {
    let (p, _, post_secret) = setup().await;
    for req in [
        request(
            None,
            &[
                ("client_id", "post-app"),
                ("client_id", "post-app"),
                ("client_secret", &post_secret),
            ],
        ),
        request(
            None,
            &[
                ("client_id", "post-app"),
                ("client_secret", &post_secret),
                ("client_secret", &post_secret),
            ],
        ),
        raw_request(
            Method::POST,
            "/oauth2/token",
            "application/json",
            r#"{"client_id":"post-app"}"#,
        ),
    ] {
        assert_fails(
            p.authenticate_client(&req).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}

#[tokio::test]
async fn client_assertions_are_not_supported() {
    let (p, _, _) = setup().await;
    let req = request(
        None,
        &[
            ("client_id", "post-app"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", "eyJ.eyJ.sig"),
        ],
    );
    assert_invalid_client(p.authenticate_client(&req).await);
}

#[tokio::test]
async fn a_store_failure_is_a_server_error() {
    let (p, store, _) = faulty_provider().await;
    let secret = register(&p, "app", "client_secret_basic", None)
        .await
        .unwrap();
    store.fail_operations(&CLIENT_OPERATIONS);
    let req = request(Some(&basic("app", &secret)), &[GRANT]);
    assert_fails(
        p.authenticate_client(&req).await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
    );
}

/// A chosen secret is checked with PBKDF2 (~0.1 s of CPU) on a thread of its own: on a
/// one-thread runtime, another request is answered while the check runs — before, the check
/// held the only thread. The right secret then keeps working (remembered), a wrong one never.
#[tokio::test(flavor = "current_thread")]
async fn chosen_secret_checks_leave_the_executor_free() {
    let (p, _) = provider().await;
    let chosen = "a secret somebody chose, 2026";
    register(&p, "chosen-app", "client_secret_basic", Some(chosen)).await;
    let finished = Arc::new(std::sync::Mutex::new(Vec::new()));
    let slow = {
        let (p, finished) = (p.clone(), finished.clone());
        tokio::spawn(async move {
            let outcome = p
                .authenticate_client(&request(Some(&basic("chosen-app", chosen)), &[GRANT]))
                .await;
            finished.lock().unwrap().push("chosen secret");
            outcome
        })
    };
    tokio::task::yield_now().await; // the spawned check starts and waits for its hash
    let res = p
        .public()
        .handle(empty_request(Method::GET, "/.well-known/jwks.json"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    finished.lock().unwrap().push("jwks");
    assert_eq!(slow.await.unwrap().unwrap().client_id, "chosen-app");
    assert_eq!(*finished.lock().unwrap(), ["jwks", "chosen secret"]);

    for _ in 0..3 {
        let again = p
            .authenticate_client(&request(Some(&basic("chosen-app", chosen)), &[GRANT]))
            .await;
        assert_eq!(again.unwrap().client_id, "chosen-app");
        let wrong = p
            .authenticate_client(&request(
                Some(&basic("chosen-app", "a secret somebody chose, 2025")),
                &[GRANT],
            ))
            .await;
        assert_invalid_client(wrong);
    }
}

/// A host executor that hands every slow check to tokio's blocking pool, and counts them.
#[derive(Debug, Default)]
struct SpawnBlocking(std::sync::atomic::AtomicUsize);

impl oauth2_provider::SecretCheckExecutor for SpawnBlocking {
    fn execute(&self, job: oauth2_provider::SecretCheckJob) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::task::spawn_blocking(job);
    }
}

/// A host can run the slow checks on its own executor; each provider has its own checks:
/// what one provider remembers, another checks afresh on its own executor.
#[tokio::test]
async fn chosen_secrets_run_on_the_hosts_executor_per_provider() {
    let chosen = "a secret somebody chose, 2026";
    let mut providers = Vec::new();
    for _ in 0..2 {
        let host = Arc::new(SpawnBlocking::default());
        let p = Provider::builder(Config::new(ISSUER).unwrap())
            .secret_check_executor(host.clone())
            .build()
            .await
            .unwrap();
        register(&p, "chosen-app", "client_secret_basic", Some(chosen)).await;
        providers.push((p, host));
    }
    let checked = |host: &SpawnBlocking| host.0.load(std::sync::atomic::Ordering::SeqCst);
    for (p, host) in &providers {
        for _ in 0..2 {
            let outcome = p
                .authenticate_client(&request(Some(&basic("chosen-app", chosen)), &[GRANT]))
                .await;
            assert_eq!(outcome.unwrap().client_id, "chosen-app");
        }
        assert_eq!(checked(host), 1, "checked once, then remembered");
    }
}

#[tokio::test]
async fn zero_secret_check_workers_are_refused() {
    let built = Provider::builder(Config::new(ISSUER).unwrap())
        .secret_check_workers(0)
        .build()
        .await;
    assert!(matches!(built, Err(Error::BadRequest(_))));
}
