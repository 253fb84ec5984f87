//! Rotating the system secret (Hydra's semantics: the first secret signs and seals, all verify
//! and open): with a live login session and a flow in flight, a restart with a new first
//! secret breaks nothing and re-seals the signing keys; dropping the old secret afterwards
//! invalidates the old cookies, while the keys still open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::flow::{
    APP_SECRET, code_query, config, consent_to, flow_client, login_as, remembered_browser,
};
use oauth2_provider::model::secret::Secret;
use oauth2_provider::testing::{Harness, UserAgent, redirect_param};
use oauth2_provider::{Config, ManualClock, MemoryStore, Provider, Store};

const OLD: &[u8] = b"the old system secret, 32 bytes!";
const NEW: &[u8] = b"the new system secret, 32 bytes!";

async fn instance(store: &Arc<dyn Store>, clock: &Arc<ManualClock>, secrets: &[&[u8]]) -> Harness {
    let mut config: Config = config();
    config.system_secret = Secret::new(secrets[0].to_vec());
    config.old_system_secrets = secrets[1..]
        .iter()
        .map(|s| Secret::new(s.to_vec()))
        .collect();
    let provider = Provider::builder(config)
        .store(Arc::clone(store))
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    Harness {
        provider,
        clock: clock.clone(),
    }
}

/// `from`'s cookies in a browser of `to`.
fn moved(from: &UserAgent, to: &Harness) -> UserAgent {
    let mut ua = to.user_agent();
    for name in from.cookie_names() {
        ua.set_cookie(&name, from.cookie(&name).unwrap());
    }
    ua
}

async fn jwks(h: &Harness) -> bytes::Bytes {
    let req = http::Request::get("/.well-known/jwks.json")
        .body(bytes::Bytes::new())
        .unwrap();
    h.provider.public().handle(req).await.into_body()
}

#[tokio::test]
async fn a_new_first_secret_breaks_nothing_and_dropping_the_old_one_ends_old_cookies() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::starting_now());
    let before = instance(&store, &clock, &[OLD]).await;
    before
        .register(flow_client("app"), Some(APP_SECRET))
        .await
        .unwrap();
    let sealed_before = store.keys().await.unwrap();

    // A remembered login, and a second flow waiting at the login page (its CSRF cookie set).
    let session = remembered_browser(&before, "alice").await;
    let mut in_flight = before.user_agent();
    let res = in_flight.authorize(&code_query(&[])).await;
    let challenge = redirect_param(&res, "login_challenge").unwrap();

    // Restart with a new first secret, the old one still listed.
    let rotating = instance(&store, &clock, &[NEW, OLD]).await;
    assert_eq!(
        jwks(&rotating).await,
        jwks(&before).await,
        "the same keys open"
    );
    let resealed = store.keys().await.unwrap();
    for (old, new) in sealed_before.iter().zip(&resealed) {
        assert_eq!(old.kid, new.kid);
        assert_ne!(
            old.sealed_private_key, new.sealed_private_key,
            "re-sealed under the new secret"
        );
    }
    // The flow in flight completes (its verifier and CSRF cookie came from the old secret).
    let done = rotating
        .provider
        .accept_login(&challenge, login_as("bob"))
        .await
        .unwrap();
    let mut in_flight = moved(&in_flight, &rotating);
    let res = in_flight.get(&done.redirect_to).await;
    let consent =
        redirect_param(&res, "consent_challenge").expect("the login verifier was accepted");
    let done = rotating
        .provider
        .accept_consent(&consent, consent_to(&["openid"]))
        .await
        .unwrap();
    let res = in_flight.get(&done.redirect_to).await;
    assert!(redirect_param(&res, "code").is_some(), "{res:?}");
    // The remembered login still counts.
    let mut session_now = moved(&session, &rotating);
    let res = session_now
        .authorize(&code_query(&[("prompt", "none")]))
        .await;
    let challenge = redirect_param(&res, "login_challenge").expect("no login_required");
    let request = rotating.provider.login_request(&challenge).await.unwrap();
    assert!(
        request.skip,
        "the session cookie signed with the old secret still counts"
    );
    assert_eq!(request.subject, "alice");

    // The old secret dropped: old cookies are worthless, the re-sealed keys still open.
    let after = instance(&store, &clock, &[NEW]).await;
    assert_eq!(jwks(&after).await, jwks(&before).await);
    let mut stale = moved(&session, &after);
    let res = stale.authorize(&code_query(&[("prompt", "none")])).await;
    assert_eq!(
        redirect_param(&res, "error").as_deref(),
        Some("login_required")
    );
    // A key set sealed only under a secret the provider no longer has refuses to start.
    assert!(
        Provider::builder({
            let mut c = config();
            c.system_secret = Secret::new(b"a third secret, nothing opens!!!".to_vec());
            c
        })
        .store(Arc::clone(&store))
        .build()
        .await
        .is_err()
    );
}
