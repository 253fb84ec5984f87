//! What a provider counts for the host's metrics: tokens issued by grant type, login, consent
//! and logout requests started and answered, and requests that failed on the store. Relaxed
//! atomics of this provider's own (no process-wide state), bumped where the decision is made
//! and read by [`Provider::counts`](crate::Provider::counts) at scrape time: the hot path pays
//! one uncontended atomic add, with or without a metrics exporter, and no tracing subscriber
//! is needed.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::OAuthError;
use crate::model::GrantType;

/// The counters of one provider.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// By the grant type's place in [`GrantType::ALL`].
    tokens_issued: [AtomicU64; GrantType::ALL.len()],
    /// Requests stored and the browser sent to the host's page.
    pub(crate) flows_started: FlowCounters,
    /// Requests the host answered (accepted or rejected).
    pub(crate) flows_completed: FlowCounters,
    store_failures: AtomicU64,
}

/// One counter per kind of request the host answers.
#[derive(Debug, Default)]
pub(crate) struct FlowCounters {
    pub(crate) login: AtomicU64,
    pub(crate) consent: AtomicU64,
    pub(crate) logout: AtomicU64,
}

impl FlowCounters {
    fn snapshot(&self) -> FlowCounts {
        FlowCounts {
            login: read(&self.login),
            consent: read(&self.consent),
            logout: read(&self.logout),
        }
    }
}

/// Adds one to `counter`.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Counters {
    /// A grant step of `grant_type` stored its tokens.
    #[inline]
    pub(crate) fn tokens_issued(&self, grant_type: GrantType) {
        if let Some(i) = GrantType::ALL.iter().position(|g| *g == grant_type) {
            bump(&self.tokens_issued[i]);
        }
    }

    /// `err` is about to be rendered (as JSON, or as a redirect to the client or the error
    /// URL): counts it when the store failed.
    #[inline]
    pub(crate) fn error_rendered(&self, err: &OAuthError) {
        if err.is_store_failure() {
            bump(&self.store_failures);
        }
    }

    /// What was counted so far; the gauges are the caller's to fill in.
    pub(crate) fn snapshot(&self) -> Counts {
        Counts {
            tokens_issued: GrantType::ALL
                .iter()
                .zip(&self.tokens_issued)
                .map(|(g, n)| (*g, read(n)))
                .collect(),
            flows_started: self.flows_started.snapshot(),
            flows_completed: self.flows_completed.snapshot(),
            store_failures: read(&self.store_failures),
            secret_checks_in_flight: 0,
            events_dropped: 0,
        }
    }
}

/// What a provider counted since it was built ([`Provider::counts`](crate::Provider::counts)),
/// for a host's metrics: the counters only grow (Prometheus counters), the two gauges are
/// the state now. A host derives rates and its own labels from them; nothing here is
/// per-client or per-user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Grant steps that stored tokens, for every grant type in [`GrantType::ALL`]'s order: a
    /// code redeemed, a refresh token rotated, a `client_credentials` token, an implicit
    /// response.
    pub tokens_issued: Vec<(GrantType, u64)>,
    /// Login, consent and logout requests stored, with the browser sent to the host's page.
    pub flows_started: FlowCounts,
    /// Login, consent and logout requests the host answered, accepted or rejected (through
    /// the typed API or the admin API).
    pub flows_completed: FlowCounts,
    /// HTTP requests answered with a storage failure (a 5xx, or the `server_error` an
    /// authorization flow sends to the client): the backend failed. The typed API returns
    /// its storage failures to the caller as [`Error::Store`](crate::Error::Store) instead.
    pub store_failures: u64,
    /// Gauge: checks of chosen client secrets queued or running now
    /// ([`Provider::secret_checks_in_flight`](crate::Provider::secret_checks_in_flight)).
    pub secret_checks_in_flight: usize,
    /// Audit events dropped because the sink fell behind
    /// ([`Provider::events_dropped`](crate::Provider::events_dropped)).
    pub events_dropped: u64,
}

impl Counts {
    /// The tokens issued by `grant_type` (a shortcut into
    /// [`tokens_issued`](Self::tokens_issued)).
    pub fn tokens_issued_by(&self, grant_type: GrantType) -> u64 {
        self.tokens_issued
            .iter()
            .find(|(g, _)| *g == grant_type)
            .map_or(0, |(_, n)| *n)
    }
}

/// One count per kind of request the host answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowCounts {
    /// Login requests (`login_challenge`).
    pub login: u64,
    /// Consent requests (`consent_challenge`).
    pub consent: u64,
    /// Logout requests (`logout_challenge`).
    pub logout: u64,
}
