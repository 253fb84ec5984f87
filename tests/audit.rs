//! Audit events (issue 13, item 2): a host's `EventSink` receives one typed event per decision
//! — clients created, updated and deleted, logins and consents accepted and rejected, tokens
//! issued by each grant, revoked, a reused code or refresh token, consents revoked, keys
//! rotated — with the fields an auditor needs and never a token, code, challenge or secret;
//! and a sink that stops never holds up a request: what overflows its queue is dropped and
//! counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::flow::*;
use common::*;
use oauth2_provider::audit::Credential;
use oauth2_provider::model::GrantType;
use oauth2_provider::model::client::Client;
use oauth2_provider::testing::Harness;
use oauth2_provider::{
    Algorithm, AuditEvent, AuditKind, EventSink, ManualClock, MemoryStore, Provider, RejectRequest,
};

/// Passes every event to the test.
#[derive(Debug)]
struct Collect(Mutex<Sender<AuditEvent>>);

impl EventSink for Collect {
    fn record(&self, event: &AuditEvent) {
        let _ = self.0.lock().unwrap().send(event.clone());
    }
}

/// A harness whose provider sends its events to the returned receiver.
async fn audited() -> (Harness, Receiver<AuditEvent>) {
    let (tx, rx) = mpsc::channel();
    let clock = Arc::new(ManualClock::starting_now());
    let provider = Provider::builder(config())
        .store(Arc::new(MemoryStore::new()))
        .clock(clock.clone())
        .event_sink(Arc::new(Collect(Mutex::new(tx))))
        .build()
        .await
        .unwrap();
    (Harness { provider, clock }, rx)
}

/// The events as they arrive (delivery is on the provider's thread), and all seen so far.
struct Events {
    rx: Receiver<AuditEvent>,
    seen: Vec<AuditEvent>,
}

impl Events {
    /// The next event's kind.
    fn next(&mut self) -> AuditKind {
        let event = self
            .rx
            .recv_timeout(Duration::from_secs(5))
            .expect("an event");
        self.seen.push(event.clone());
        event.kind
    }

    fn expect(&mut self, want: AuditKind) {
        assert_eq!(self.next(), want);
    }
}

fn client_secret_of(client: &Client) -> String {
    client.client_secret.clone().expect("a generated secret")
}

#[tokio::test]
async fn every_decision_emits_one_typed_event_without_secrets() {
    let (h, rx) = audited().await;
    let mut events = Events {
        rx,
        seen: Vec::new(),
    };
    let p = &h.provider;
    let mut seen_secrets = Vec::new();

    // Clients.
    let app = p
        .create_client(Client {
            token_endpoint_auth_method: "client_secret_basic".into(),
            ..flow_client("app")
        })
        .await
        .unwrap();
    let secret = client_secret_of(&app);
    seen_secrets.push(secret.clone());
    let app_id = || "app".to_owned();
    events.expect(AuditKind::ClientCreated {
        client_id: app_id(),
    });
    p.update_client(
        "app",
        Client {
            client_secret: Some(secret.clone()),
            ..flow_client("app")
        },
    )
    .await
    .unwrap();
    events.expect(AuditKind::ClientUpdated {
        client_id: app_id(),
    });

    // A code flow: login, consent, the code redeemed, the refresh token rotated and reused.
    let mut ua = h.user_agent();
    let challenge = login_challenge(&mut ua, &code_query(&[])).await;
    let res = accept_login(&h, &mut ua, &challenge, login_as("alice")).await;
    events.expect(AuditKind::LoginAccepted {
        client_id: app_id(),
        subject: "alice".into(),
    });
    seen_secrets.push(challenge);
    let challenge = consent_challenge(&res);
    let res = accept_consent(&h, &mut ua, &challenge, consent_to(&["openid", "offline"])).await;
    events.expect(AuditKind::ConsentGranted {
        client_id: app_id(),
        subject: "alice".into(),
        scope: vec!["openid".into(), "offline".into()],
    });
    seen_secrets.push(challenge);
    let code = param(&res, "code");
    let exchange =
        |pairs: &[(&str, &str)]| basic_form_request("/oauth2/token", "app", &secret, pairs);
    let res = public(
        p,
        exchange(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ]),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let tokens = body_json(&res);
    let issued = events.next();
    let AuditKind::TokenIssued {
        grant_type,
        client_id,
        subject,
        grant,
    } = &issued
    else {
        panic!("not a token event: {issued:?}");
    };
    assert_eq!(
        (*grant_type, client_id.as_str(), subject.as_str()),
        (GrantType::AuthorizationCode, "app", "alice")
    );
    let grant = grant.clone();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let res = public(
        p,
        exchange(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
    )
    .await;
    assert_eq!(res.status(), 200);
    let rotated = body_json(&res);
    events.expect(AuditKind::TokenIssued {
        grant_type: GrantType::RefreshToken,
        client_id: app_id(),
        subject: "alice".into(),
        grant: grant.clone(),
    });
    let res = public(
        p,
        exchange(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
    )
    .await;
    assert_eq!(res.status(), 400);
    events.expect(AuditKind::ReuseDetected {
        credential: Credential::RefreshToken,
        client_id: app_id(),
        grant: grant.clone(),
    });
    let res = public(
        p,
        exchange(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ]),
    )
    .await;
    assert_eq!(res.status(), 400);
    events.expect(AuditKind::ReuseDetected {
        credential: Credential::AuthorizationCode,
        client_id: app_id(),
        grant: grant.clone(),
    });
    for value in [&tokens, &rotated] {
        for field in ["access_token", "refresh_token", "id_token"] {
            seen_secrets.push(value[field].as_str().unwrap().to_owned());
        }
    }
    seen_secrets.push(code);

    // Rejections, in a fresh browser each.
    let mut ua = h.user_agent();
    let challenge = login_challenge(&mut ua, &code_query(&[])).await;
    p.reject_login(&challenge, RejectRequest::default())
        .await
        .unwrap();
    events.expect(AuditKind::LoginRejected {
        client_id: app_id(),
        error: "access_denied".into(),
    });
    let mut ua = h.user_agent();
    let challenge = login_challenge(&mut ua, &code_query(&[])).await;
    let res = accept_login(&h, &mut ua, &challenge, login_as("bob")).await;
    events.next();
    let challenge = consent_challenge(&res);
    let reject = RejectRequest {
        error: "consent_required".into(),
        ..Default::default()
    };
    p.reject_consent(&challenge, reject).await.unwrap();
    events.expect(AuditKind::ConsentRejected {
        client_id: app_id(),
        subject: "bob".into(),
        error: "consent_required".into(),
    });

    // Tokens from the authorization endpoint, then revoked by the client.
    let mut ua = h.user_agent();
    let res = ua
        .authorize_and_consent(
            &code_query(&[
                ("response_type", "id_token token"),
                ("nonce", "nonce-12345678"),
            ]),
            login_as("carol"),
            remembered_consent_to(&["openid"]),
        )
        .await
        .unwrap();
    let access_token = param(&res, "access_token");
    seen_secrets.push(access_token.clone());
    events.next();
    events.next();
    let issued = events.next();
    let AuditKind::TokenIssued {
        grant_type: GrantType::Implicit,
        grant,
        ..
    } = &issued
    else {
        panic!("not an implicit token event: {issued:?}");
    };
    let grant = grant.clone();
    let revoke = basic_form_request(
        "/oauth2/revoke",
        "app",
        &secret,
        &[("token", &access_token)],
    );
    assert_eq!(public(p, revoke).await.status(), 200);
    events.expect(AuditKind::TokenRevoked {
        client_id: app_id(),
        grant,
    });
    p.revoke_consent_sessions("carol", None).await.unwrap();
    events.expect(AuditKind::ConsentRevoked {
        subject: "carol".into(),
        client_id: None,
    });

    // Client credentials, a key rotation, the client deleted.
    let svc = p
        .create_client(Client {
            client_id: "svc".into(),
            grant_types: vec!["client_credentials".into()],
            ..Client::default()
        })
        .await
        .unwrap();
    events.next();
    let svc_secret = client_secret_of(&svc);
    let req = basic_form_request(
        "/oauth2/token",
        "svc",
        &svc_secret,
        &[("grant_type", "client_credentials")],
    );
    let res = public(p, req).await;
    assert_eq!(res.status(), 200);
    seen_secrets.push(svc_secret);
    seen_secrets.push(body_json(&res)["access_token"].as_str().unwrap().to_owned());
    let issued = events.next();
    assert!(
        matches!(&issued, AuditKind::TokenIssued { grant_type: GrantType::ClientCredentials, client_id, subject, .. } if client_id == "svc" && subject == "svc"),
        "{issued:?}"
    );
    let kid = p.rotate_keys(Algorithm::EdDSA).await.unwrap();
    events.expect(AuditKind::KeyRotated {
        kid,
        alg: Algorithm::EdDSA,
    });
    p.delete_client("app").await.unwrap();
    events.expect(AuditKind::ClientDeleted {
        client_id: app_id(),
    });
    assert!(
        events.rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "nothing more"
    );
    assert_eq!(p.events_dropped(), 0);

    let text = serde_json::to_string(&events.seen).unwrap();
    for secret in &seen_secrets {
        assert!(
            !secret.is_empty() && !text.contains(secret.as_str()),
            "{secret} leaked into {text}"
        );
    }
}

/// Blocks on every event until the test ends; reports the first one it holds.
#[derive(Debug)]
struct Stuck {
    holding: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

impl EventSink for Stuck {
    fn record(&self, _: &AuditEvent) {
        let _ = self.holding.lock().unwrap().send(());
        let _ = self.release.lock().unwrap().recv();
    }
}

#[tokio::test]
async fn a_stuck_sink_holds_up_no_request_and_the_overflow_is_counted() {
    let (holding_tx, holding) = mpsc::channel();
    let (_release, release) = mpsc::channel::<()>();
    let sink = Stuck {
        holding: Mutex::new(holding_tx),
        release: Mutex::new(release),
    };
    let provider = Provider::builder(config())
        .event_sink(Arc::new(sink))
        .event_queue(2)
        .build()
        .await
        .unwrap();
    let svc = provider
        .create_client(Client {
            client_id: "svc".into(),
            grant_types: vec!["client_credentials".into()],
            ..Client::default()
        })
        .await
        .unwrap();
    // The sink now holds the "client created" event for good.
    holding.recv_timeout(Duration::from_secs(5)).unwrap();
    let secret = client_secret_of(&svc);
    for _ in 0..10 {
        let req = basic_form_request(
            "/oauth2/token",
            "svc",
            &secret,
            &[("grant_type", "client_credentials")],
        );
        let res = tokio::time::timeout(Duration::from_secs(5), public(&provider, req))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // Two waited in the queue, eight were dropped.
    assert_eq!(provider.events_dropped(), 8);
}

#[tokio::test]
async fn an_empty_event_queue_is_refused() {
    let built = Provider::builder(config()).event_queue(0).build().await;
    assert!(built.unwrap_err().to_string().contains("event_queue"));
}
