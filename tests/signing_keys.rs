//! Signing keys as a lifecycle: enabled algorithms in discovery and registration, the next key
//! published before it signs, rotation, scheduled rotation and removal of retired keys,
//! instances on one store converging, a host's signer that fails, and signed userinfo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use common::flow::{
    APP_SECRET, code_query, config, consent_to, harness_with, id_token_for, login_as,
};
use common::{ISSUER, basic_form_request, body_json, empty_request, json_request, jwt_header, q};
use http::{Method, StatusCode};
use oauth2_provider::internals::VerifyingKeys;
use oauth2_provider::store::KeyState;
use oauth2_provider::testing::{Harness, redirect_param};
use oauth2_provider::{
    Algorithm, Config, Error, JwkSet, ManualClock, MemoryStore, Provider, Signer, SignerError,
    SignerKey, SigningKey, Store,
};
use serde_json::{Value, json};
use time::Duration;

async fn get_json(provider: &Provider, path: &str) -> Value {
    let res = provider
        .public()
        .handle(empty_request(Method::GET, path))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    body_json(&res)
}

async fn jwks(provider: &Provider) -> JwkSet {
    serde_json::from_value(get_json(provider, "/.well-known/jwks.json").await).unwrap()
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys.iter().map(|k| k.kid.clone()).collect()
}

fn kid_of(jwt: &str) -> String {
    jwt_header(jwt)["kid"].as_str().unwrap().to_owned()
}

/// The states of the stored keys of `alg`, oldest first.
async fn states(store: &dyn Store, alg: Algorithm) -> Vec<(String, KeyState)> {
    store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == alg)
        .map(|k| (k.kid, k.state))
        .collect()
}

#[tokio::test]
async fn discovery_and_the_jwks_list_exactly_the_enabled_algorithms() {
    let mut config = Config::new(ISSUER).unwrap();
    config.keys.algorithms = vec![Algorithm::EdDSA];
    let (provider, _) = common::provider_with(config).await;
    let discovery = get_json(&provider, "/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
    assert_eq!(
        discovery["userinfo_signing_alg_values_supported"],
        json!(["EdDSA", "none"])
    );
    let set = jwks(&provider).await;
    assert_eq!(set.keys.len(), 2, "an active and a next key");
    assert!(set.keys.iter().all(|k| k.alg == Algorithm::EdDSA));

    // RS256 and PS256 exist only with the `rsa` feature.
    let mut rsa = Config::new(ISSUER).unwrap();
    rsa.keys.algorithms = vec![Algorithm::RS256, Algorithm::ES256];
    if cfg!(feature = "rsa") {
        let (provider, _) = common::provider_with(rsa).await;
        let discovery = get_json(&provider, "/.well-known/openid-configuration").await;
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"],
            json!(["RS256", "ES256"])
        );
        let set = jwks(&provider).await;
        assert_eq!(set.keys.iter().filter(|k| k.kty == "RSA").count(), 2);
    } else {
        let err = rsa.validate().unwrap_err();
        assert!(err.0.contains("`rsa` feature"), "{err}");
    }
}

#[tokio::test]
async fn registration_refuses_algorithms_that_are_not_enabled() {
    let (provider, _) = common::provider().await;
    let register = |field: &str, alg: &str| {
        json_request(
            Method::POST,
            "/clients",
            &json!({"redirect_uris": ["https://app.example.com/cb"], field: alg}),
        )
    };
    for (field, alg) in [
        ("id_token_signed_response_alg", "RS256"),
        ("id_token_signed_response_alg", "PS256"),
        ("userinfo_signed_response_alg", "RS256"),
        ("userinfo_signed_response_alg", "HS256"),
    ] {
        let res = provider.admin().handle(register(field, alg)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field}={alg}");
        let body = body_json(&res);
        let text = body.to_string();
        assert!(
            text.contains(field) || text.contains("unknown variant"),
            "{text}"
        );
        if alg == "RS256" && field.starts_with("id_token") {
            let why = if cfg!(feature = "rsa") {
                "not enabled"
            } else {
                "without RSA"
            };
            assert!(text.contains(why), "{text}");
        }
    }
    // An enabled one is stored, and the default is the first enabled algorithm.
    let res = provider
        .admin()
        .handle(register("userinfo_signed_response_alg", "EdDSA"))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body = body_json(&res);
    assert_eq!(body["userinfo_signed_response_alg"], "EdDSA");
    assert_eq!(body["id_token_signed_response_alg"], "ES256");
}

#[tokio::test]
async fn the_next_key_is_published_before_it_signs_and_old_tokens_verify_after_rotation() {
    let h = harness_with(config()).await;
    let p = &h.provider;
    let before = jwks(p).await;
    let first = id_token_for(&h, "alice").await;
    let first_kid = kid_of(&first);
    let store_states = states(p.store().as_ref(), Algorithm::ES256).await;
    let (next_kid, _) = store_states
        .iter()
        .find(|(_, state)| *state == KeyState::Next)
        .cloned()
        .unwrap();
    assert!(
        kids(&before).contains(&next_kid),
        "the next key is published"
    );
    assert_eq!(
        before.keys[0].kid, first_kid,
        "the active key is listed first"
    );

    assert_eq!(p.rotate_keys(Algorithm::ES256).await.unwrap(), next_kid);
    let second = id_token_for(&h, "alice").await;
    assert_eq!(
        kid_of(&second),
        next_kid,
        "new tokens carry the promoted key"
    );

    // Both tokens verify against the JWKS published after the rotation.
    let after = jwks(p).await;
    let verifier = VerifyingKeys::from_jwk_set(&after).unwrap();
    for token in [&first, &second] {
        assert!(verifier.verify_jwt(token).is_ok());
    }
    assert_eq!(
        states(p.store().as_ref(), Algorithm::ES256)
            .await
            .iter()
            .map(|(_, s)| *s)
            .collect::<Vec<_>>(),
        [KeyState::Retired, KeyState::Active, KeyState::Next]
    );
    assert!(kids(&after).contains(&first_kid));
    assert_eq!(after.keys.len(), before.keys.len() + 1);
}

#[tokio::test]
async fn scheduled_rotation_and_removal_of_retired_keys() {
    let mut config = config();
    config.keys.rotation_periods = vec![(Algorithm::ES256, Duration::days(30))];
    let h = harness_with(config).await;
    let p = &h.provider;
    let report = p.maintain_keys().await.unwrap();
    assert!(
        report.rotated.is_empty() && report.removed == 0,
        "{report:?}"
    );

    let old = id_token_for(&h, "alice").await;
    h.clock.advance(Duration::days(30));
    let report = p.maintain_keys().await.unwrap();
    assert_eq!(report.rotated.len(), 1, "{report:?}");
    assert_eq!(report.rotated[0].0, Algorithm::ES256);
    assert_ne!(kid_of(&id_token_for(&h, "bob").await), kid_of(&old));

    // The retired key stays published while a token it signed may be alive: ID-token
    // lifespan (1h) + leeway (5 min) + refresh interval (30 s).
    h.clock.advance(Duration::hours(1));
    assert_eq!(p.maintain_keys().await.unwrap().removed, 0);
    assert!(kids(&jwks(p).await).contains(&kid_of(&old)));
    h.clock.advance(Duration::minutes(6));
    let report = p.maintain_keys().await.unwrap();
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(!kids(&jwks(p).await).contains(&kid_of(&old)));
    assert!(report.rotated.is_empty(), "EdDSA has no rotation period");
}

/// Two instances on one store with one clock.
async fn two_instances(config: Config) -> (Provider, Provider, Arc<ManualClock>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::starting_now());
    let mut instances = Vec::new();
    for _ in 0..2 {
        let provider = Provider::builder(config.clone())
            .store(Arc::clone(&store))
            .clock(clock.clone())
            .build()
            .await
            .unwrap();
        instances.push(provider);
    }
    let b = instances.pop().unwrap();
    let a = instances.pop().unwrap();
    (a, b, clock)
}

/// An ID token from `provider`'s authorization endpoint (implicit flow of `app`).
async fn id_token_from(provider: &Provider, clock: &Arc<ManualClock>) -> String {
    let h = Harness {
        provider: provider.clone(),
        clock: clock.clone(),
    };
    id_token_for(&h, "alice").await
}

#[tokio::test]
async fn instances_sharing_a_store_converge_after_a_rotation() {
    let (a, b, clock) = two_instances(config()).await;
    let h = Harness {
        provider: a.clone(),
        clock: clock.clone(),
    };
    h.register(common::flow::flow_client("app"), Some(APP_SECRET))
        .await
        .unwrap();
    let original = kid_of(&id_token_from(&b, &clock).await);

    // A rotates; B signs with the key it loaded until its view is older than the refresh
    // interval (the retired key stays published that much longer), then with the new one.
    let promoted = a.rotate_keys(Algorithm::ES256).await.unwrap();
    assert_eq!(kid_of(&id_token_from(&a, &clock).await), promoted);
    assert_eq!(kid_of(&id_token_from(&b, &clock).await), original);
    clock.advance(Duration::seconds(31));
    assert_eq!(kid_of(&id_token_from(&b, &clock).await), promoted);

    // A rotates twice more: B has never seen the key that now signs at A, yet accepts A's
    // token as an id_token_hint, since an unknown kid makes it reload.
    a.rotate_keys(Algorithm::ES256).await.unwrap();
    let newest = a.rotate_keys(Algorithm::ES256).await.unwrap();
    let from_a = id_token_from(&a, &clock).await;
    assert_eq!(kid_of(&from_a), newest);
    let mut ua = Harness {
        provider: b.clone(),
        clock: clock.clone(),
    }
    .user_agent();
    let res = ua
        .authorize(&code_query(&[
            ("prompt", "none"),
            ("id_token_hint", &from_a),
        ]))
        .await;
    assert_eq!(
        redirect_param(&res, "error").as_deref(),
        Some("login_required"),
        "a valid hint without a session; not invalid_request"
    );
    // A hint signed by a key nobody published is still refused.
    let stranger = SigningKey::generate(Algorithm::ES256, "stranger".into()).unwrap();
    let forged = stranger
        .sign_jwt(
            "JWT",
            &json!({"iss": ISSUER, "sub": "alice", "aud": ["app"]}),
        )
        .unwrap();
    let res = ua
        .authorize(&code_query(&[
            ("prompt", "none"),
            ("id_token_hint", &forged),
        ]))
        .await;
    assert_eq!(
        redirect_param(&res, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn instances_maintaining_together_rotate_once() {
    let mut config = config();
    config.keys.rotation_periods = vec![(Algorithm::ES256, Duration::days(1))];
    let (a, b, clock) = two_instances(config).await;
    clock.advance(Duration::days(1));
    let (ra, rb) = tokio::join!(a.maintain_keys(), b.maintain_keys());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let retired = states(a.store().as_ref(), Algorithm::ES256)
        .await
        .into_iter()
        .filter(|(_, s)| *s == KeyState::Retired)
        .count();
    assert_eq!(retired, 1, "one rotation, whoever ran it ({ra:?}, {rb:?})");
    assert_eq!(jwks(&a).await, jwks(&b).await, "both publish the same keys");
}

/// A host signer holding ES256 keys, which can be made to fail, be slow or sign wrongly.
#[derive(Debug)]
struct FakeSigner {
    active: SigningKey,
    impostor: SigningKey,
    mode: Mutex<Mode>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Good,
    Failing,
    SlowThenFailing,
    WrongKey,
}

#[async_trait::async_trait]
impl Signer for FakeSigner {
    async fn keys(&self) -> Result<Vec<SignerKey>, SignerError> {
        Ok(vec![SignerKey {
            jwk: self.active.public_jwk(),
            state: KeyState::Active,
        }])
    }

    async fn sign(
        &self,
        kid: &str,
        alg: Algorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, SignerError> {
        assert_eq!((kid, alg), (self.active.kid(), Algorithm::ES256));
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Good => self
                .active
                .sign(message)
                .map_err(|e| SignerError(e.to_string())),
            Mode::Failing => Err(SignerError("KMS unreachable".into())),
            Mode::SlowThenFailing => {
                tokio::time::sleep(StdDuration::from_millis(50)).await;
                Err(SignerError("KMS timed out".into()))
            }
            Mode::WrongKey => self
                .impostor
                .sign(message)
                .map_err(|e| SignerError(e.to_string())),
        }
    }
}

#[tokio::test]
async fn a_failing_slow_or_wrong_signer_never_yields_a_token() {
    let signer = Arc::new(FakeSigner {
        active: SigningKey::generate(Algorithm::ES256, "kms-1".into()).unwrap(),
        impostor: SigningKey::generate(Algorithm::ES256, "kms-1".into()).unwrap(),
        mode: Mutex::new(Mode::Failing),
    });
    let clock = Arc::new(ManualClock::starting_now());
    let provider = Provider::builder(config())
        .clock(clock.clone())
        .signer(signer.clone())
        .build()
        .await
        .unwrap();
    let h = Harness { provider, clock };
    h.register(common::flow::flow_client("app"), Some(APP_SECRET))
        .await
        .unwrap();
    assert_eq!(kids(&jwks(&h.provider).await), ["kms-1"]);
    assert!(matches!(
        h.provider.rotate_keys(Algorithm::ES256).await,
        Err(Error::BadRequest(_))
    ));

    let code = h
        .user_agent()
        .code(&code_query(&[]), login_as("alice"), consent_to(&["openid"]))
        .await
        .unwrap();
    let exchange = || {
        basic_form_request(
            "/oauth2/token",
            "app",
            APP_SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", common::flow::CB),
            ],
        )
    };
    for mode in [Mode::Failing, Mode::SlowThenFailing, Mode::WrongKey] {
        *signer.mode.lock().unwrap() = mode;
        let res = h.provider.public().handle(exchange()).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{mode:?}");
        let body = body_json(&res);
        assert_eq!(body["error"], "temporarily_unavailable", "{mode:?}");
        assert!(body.get("id_token").is_none() && body.get("access_token").is_none());
    }
    // The code was not spent by the failures: once the signer recovers it is redeemed.
    *signer.mode.lock().unwrap() = Mode::Good;
    let res = h.provider.public().handle(exchange()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let id_token = body_json(&res)["id_token"].as_str().unwrap().to_owned();
    let verifier = VerifyingKeys::from_jwk_set(&jwks(&h.provider).await).unwrap();
    assert_eq!(verifier.verify_jwt(&id_token).unwrap()["sub"], "alice");
}

#[tokio::test]
async fn signed_userinfo_is_a_jwt_with_iss_and_aud() {
    let h = harness_with(config()).await;
    let mut client = common::flow::flow_client("signed");
    client.userinfo_signed_response_alg = "EdDSA".into();
    h.register(client, Some(APP_SECRET)).await.unwrap();
    let code = h
        .user_agent()
        .code(
            &q(&[
                ("client_id", "signed"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "state-123"),
            ]),
            login_as("alice"),
            consent_to(&["openid"]),
        )
        .await
        .unwrap();
    let res = h
        .provider
        .public()
        .handle(basic_form_request(
            "/oauth2/token",
            "signed",
            APP_SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", common::flow::CB),
            ],
        ))
        .await;
    let access_token = body_json(&res)["access_token"].as_str().unwrap().to_owned();
    let req = http::Request::get("/userinfo")
        .header("authorization", format!("Bearer {access_token}"))
        .body(bytes::Bytes::new())
        .unwrap();
    let res = h.provider.public().handle(req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/jwt");
    let jwt = std::str::from_utf8(res.body()).unwrap();
    assert_eq!(jwt_header(jwt)["alg"], "EdDSA");
    let verifier = VerifyingKeys::from_jwk_set(&jwks(&h.provider).await).unwrap();
    let claims = verifier.verify_jwt(jwt).unwrap();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], "signed");
    assert_eq!(claims["sub"], "alice");
}
