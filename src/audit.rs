//! Audit events: typed records of what changed and who decided it (clients, logins, consents,
//! tokens, keys), for a host's [`EventSink`] set with
//! [`ProviderBuilder::event_sink`](crate::ProviderBuilder::event_sink). Default: none, and
//! then no event is even built.
//!
//! **Delivery never blocks or fails a request.** A request only puts its event on a bounded
//! queue (`try_send`, no lock held while the sink runs); one thread of the provider's own hands
//! the queued events to the sink, in order. When the sink is slower than the events arrive
//! and the queue is full, the new event is dropped and counted
//! ([`Provider::events_dropped`](crate::Provider::events_dropped)); the request goes on
//! as if nothing happened. A sink that panics loses that event only.
//!
//! **No event holds a secret**: client ids, subjects, scopes, error codes, key ids and a
//! grant reference — never a token, code, verifier, challenge or client secret. The grant
//! reference ties a grant's tokens, their revocation and a reuse together; it is a digest of
//! the grant id (which, for the authorization code flow, is the consent challenge).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::{Algorithm, GrantType};

/// Receives the provider's audit events, on a thread of the provider's, one at a time and in
/// the order they were emitted. It may block (write a file, call a service): requests do
/// not wait for it, but while it blocks, events beyond the queue are dropped.
pub trait EventSink: Send + Sync + std::fmt::Debug + 'static {
    /// Handles one event.
    fn record(&self, event: &AuditEvent);
}

/// One audit event: when, and what. Serializes as one flat JSON object with the kind in
/// `event` (`{"at":"…","event":"token_issued","grant_type":"client_credentials",…}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// The provider's clock when it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened.
    #[serde(flatten)]
    pub kind: AuditKind,
}

/// What happened. New kinds may be added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditKind {
    /// A client was registered.
    ClientCreated {
        /// The client.
        client_id: String,
    },
    /// A client was replaced.
    ClientUpdated {
        /// The client.
        client_id: String,
    },
    /// A client was deleted, with its tokens, consents and requests.
    ClientDeleted {
        /// The client.
        client_id: String,
    },
    /// The host accepted a login.
    LoginAccepted {
        /// The client that asked for it.
        client_id: String,
        /// Who logged in.
        subject: String,
    },
    /// The host rejected a login.
    LoginRejected {
        /// The client that asked for it.
        client_id: String,
        /// The error code the client receives.
        error: String,
    },
    /// The user granted scopes to a client.
    ConsentGranted {
        /// The client.
        client_id: String,
        /// The user.
        subject: String,
        /// The scopes granted.
        scope: Vec<String>,
    },
    /// The host rejected a consent request.
    ConsentRejected {
        /// The client.
        client_id: String,
        /// The user.
        subject: String,
        /// The error code the client receives.
        error: String,
    },
    /// Remembered consents were revoked, with every token issued through them.
    ConsentRevoked {
        /// The user.
        subject: String,
        /// The one client, or every client (`None`).
        client_id: Option<String>,
    },
    /// Tokens were issued.
    TokenIssued {
        /// How: at the token endpoint, or `implicit` for tokens in an authorization response.
        grant_type: GrantType,
        /// To whom.
        client_id: String,
        /// For whom (the client itself for `client_credentials`).
        subject: String,
        /// The grant the tokens belong to.
        grant: String,
    },
    /// A client revoked a token, and with it every token of its grant.
    TokenRevoked {
        /// The client.
        client_id: String,
        /// The grant revoked.
        grant: String,
    },
    /// A redeemed code or a rotated refresh token was presented again: every token of its
    /// grant was revoked.
    ReuseDetected {
        /// What was replayed.
        credential: Credential,
        /// The client the credential was issued to.
        client_id: String,
        /// The grant revoked.
        grant: String,
    },
    /// A user logged out.
    Logout {
        /// Who.
        subject: String,
    },
    /// The host refused a logout; the session stays.
    LogoutRejected {
        /// Whose session.
        subject: String,
        /// The error the host gave.
        error: String,
    },
    /// A new signing key was added; it signs from now on.
    KeyRotated {
        /// Its key id.
        kid: String,
        /// Its algorithm.
        alg: Algorithm,
    },
}

/// A single-use credential whose reuse is detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// An authorization code.
    AuthorizationCode,
    /// A refresh token.
    RefreshToken,
}

impl Credential {
    /// The name events and traces use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// The reference events carry for a grant: the first 128 bits of the SHA-256 of its id, hex.
pub(crate) fn grant_ref(grant_id: &str) -> String {
    let mut digest = crate::crypto::sha256_hex(grant_id.as_bytes());
    digest.truncate(32);
    digest
}

/// How many events may wait for the sink by default.
pub(crate) const DEFAULT_QUEUE: usize = 1024;

/// A provider's side of delivery: the queue to the sink's thread, if there is a sink.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    queue: Option<SyncSender<AuditEvent>>,
    dropped: AtomicU64,
}

impl Audit {
    /// Delivery to `sink` on a thread of its own, with at most `queue` events waiting. The
    /// thread ends when the provider is dropped.
    pub(crate) fn new(sink: Arc<dyn EventSink>, queue: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<AuditEvent>(queue);
        std::thread::Builder::new()
            .name("oauth2-audit-events".into())
            .spawn(move || {
                for event in rx {
                    // A panicking sink loses this event, not the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        sink.record(&event);
                    }));
                }
            })?;
        Ok(Self {
            queue: Some(tx),
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues the event `event` builds (built only when there is a sink); drops and counts it
    /// when the queue is full.
    #[inline]
    pub(crate) fn emit(&self, event: impl FnOnce() -> AuditEvent) {
        if let Some(queue) = &self.queue {
            if queue.try_send(event()).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Whether events go anywhere (for callers that must build theirs ahead of time).
    pub(crate) fn is_on(&self) -> bool {
        self.queue.is_some()
    }

    /// Events dropped so far because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::mpsc::{Receiver, Sender};
    use std::time::Duration;

    fn event(n: usize) -> AuditEvent {
        AuditEvent {
            at: OffsetDateTime::UNIX_EPOCH,
            kind: AuditKind::ClientCreated {
                client_id: n.to_string(),
            },
        }
    }

    /// Reports each event it starts on, then waits until the test lets it go on.
    #[derive(Debug)]
    struct Slow {
        started: Mutex<Sender<AuditEvent>>,
        go_on: Mutex<Receiver<()>>,
    }

    impl EventSink for Slow {
        fn record(&self, event: &AuditEvent) {
            let _ = self.started.lock().unwrap().send(event.clone());
            let _ = self.go_on.lock().unwrap().recv();
        }
    }

    #[test]
    fn a_slow_sink_never_blocks_the_emitter_and_what_overflows_is_dropped_and_counted() {
        let (started_tx, started) = mpsc::channel();
        let (go_on, go_on_rx) = mpsc::channel();
        let sink = Slow {
            started: Mutex::new(started_tx),
            go_on: Mutex::new(go_on_rx),
        };
        let audit = Audit::new(Arc::new(sink), 2).unwrap();
        audit.emit(|| event(0));
        // The sink holds event 0: the queue has room for two more, the rest are dropped
        // at once, without waiting.
        assert_eq!(
            started.recv_timeout(Duration::from_secs(5)).unwrap(),
            event(0)
        );
        for n in 1..=5 {
            audit.emit(|| event(n));
        }
        assert_eq!(audit.dropped(), 3);
        for _ in 0..3 {
            go_on.send(()).unwrap();
        }
        let delivered: Vec<_> = (0..2)
            .map(|_| started.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(delivered, [event(1), event(2)], "in order, then nothing");
    }

    #[derive(Debug)]
    struct Panics(Mutex<Sender<AuditEvent>>);

    impl EventSink for Panics {
        fn record(&self, event: &AuditEvent) {
            assert_ne!(event, &self::event(0), "the sink fails on event 0");
            self.0.lock().unwrap().send(event.clone()).unwrap();
        }
    }

    #[test]
    fn a_panicking_sink_loses_only_that_event() {
        let (tx, rx) = mpsc::channel();
        let audit = Audit::new(Arc::new(Panics(Mutex::new(tx))), 8).unwrap();
        audit.emit(|| event(0));
        audit.emit(|| event(1));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), event(1));
    }

    #[test]
    fn without_a_sink_no_event_is_built() {
        let audit = Audit::default();
        audit.emit(|| unreachable!("no sink, no event"));
        assert_eq!(audit.dropped(), 0);
    }

    #[test]
    fn events_serialize_flat_with_their_kind() {
        let json = serde_json::to_value(AuditEvent {
            at: OffsetDateTime::UNIX_EPOCH,
            kind: AuditKind::TokenIssued {
                grant_type: GrantType::ClientCredentials,
                client_id: "c".into(),
                subject: "c".into(),
                grant: grant_ref("g"),
            },
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "at": "1970-01-01T00:00:00Z",
                "event": "token_issued",
                "grant_type": "client_credentials",
                "client_id": "c",
                "subject": "c",
                "grant": &crate::crypto::sha256_hex(b"g")[..32],
            })
        );
    }
}
