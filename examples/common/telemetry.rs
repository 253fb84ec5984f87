//! The example servers' log (`LOG_LEVEL`, `LOG_FORMAT=json`) and their Prometheus metrics at
//! `/metrics/prometheus` on the admin listener. The two are independent: the metrics need no
//! tracing subscriber, and the log costs a request nothing below `debug`.
//!
//! The metrics: requests by API, route and status with a latency histogram, counted and timed
//! here around the provider's `handle` by the [`Route`] every response carries, and requests
//! in flight; everything else is [`Provider::counts`], read at scrape time — tokens issued by
//! grant type, login, consent and logout requests started and completed, store failures, the
//! checks of chosen client secrets queued or running, and audit events dropped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use oauth2_provider::{Counts, FlowCounts, Provider, Route};
use tracing_core::subscriber::Interest;
use tracing_core::{LevelFilter, Metadata};
use tracing_subscriber::filter::DynFilterFn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

use super::{Failure, var};

/// Installs the log on stderr (stdout carries the lines that say where the server listens).
/// With `LOG_LEVEL=off` nothing is installed, and the provider runs without a subscriber.
pub(crate) fn install_log() -> Result<(), Failure> {
    let level = match var("LOG_LEVEL")
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("info") => LevelFilter::INFO,
        Some("trace") => LevelFilter::TRACE,
        Some("debug") => LevelFilter::DEBUG,
        Some("warn" | "warning") => LevelFilter::WARN,
        Some("error" | "fatal" | "panic") => LevelFilter::ERROR,
        Some("off") => LevelFilter::OFF,
        Some(other) => {
            return Err(Failure::Config(format!(
                "LOG_LEVEL={other:?}: use trace, debug, info, warn, error or off"
            )));
        }
    };
    let json = match var("LOG_FORMAT").as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            return Err(Failure::Config(format!(
                "LOG_FORMAT={other:?}: use json, or leave it unset for text"
            )));
        }
    };
    if level == LevelFilter::OFF {
        return Ok(());
    }
    // Below debug, the log takes events only: the request span (an `info` span, there for the
    // context of events) is then turned off at its call site once, so a request neither
    // builds nor enters it.
    let logged = move |meta: &Metadata<'_>| {
        level >= *meta.level() && (meta.is_event() || level >= LevelFilter::DEBUG)
    };
    let filter = DynFilterFn::new(move |meta, _| logged(meta))
        .with_callsite_filter(move |meta| {
            if logged(meta) {
                Interest::always()
            } else {
                Interest::never()
            }
        })
        .with_max_level_hint(level);
    let text = fmt::layer().with_writer(std::io::stderr);
    let installed = if json {
        tracing_subscriber::registry()
            .with(text.json().with_filter(filter))
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(text.with_filter(filter))
            .try_init()
    };
    installed.map_err(|e| Failure::Runtime(format!("the log could not be installed: {e}")))
}

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// One of the provider's two HTTP APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Api {
    Public,
    Admin,
}

impl Api {
    fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Admin => "admin",
        }
    }
}

/// What a series of requests is kept by: API, route name (none: answered before a route
/// matched) and status.
type Key = (Api, Option<&'static str>, u16);

/// The requests counted and timed here (the rest comes from [`Provider::counts`]).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// A request takes the read lock; only the first of each series takes the write lock.
    requests: RwLock<HashMap<Key, Series>>,
    /// Requests being handled now: public, admin.
    in_flight: [AtomicU64; 2],
}

/// The requests of one API, route and status.
#[derive(Debug, Default)]
struct Series {
    /// Requests at or under each bucket's bound (not cumulative yet).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    nanos: AtomicU64,
}

impl Series {
    fn add(&self, seconds: f64, nanos: u64) {
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// One request being timed: counted in flight until dropped, also when its handling is
/// cancelled.
pub(crate) struct Timing<'a> {
    metrics: &'a Metrics,
    api: Api,
    start: Instant,
}

impl Drop for Timing<'_> {
    fn drop(&mut self) {
        self.metrics.in_flight[self.api as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

impl Timing<'_> {
    /// Counts the request by the route its response names.
    pub(crate) fn finish<B>(self, res: &http::Response<B>) {
        let elapsed = self.start.elapsed();
        // A response the host made itself (413 while collecting the body, 503 at shutdown)
        // has no route.
        let route = res.extensions().get::<Route>().and_then(Route::name);
        self.metrics
            .observe((self.api, route, res.status().as_u16()), elapsed);
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Metrics {
    /// Starts timing a request to `api`; [`Timing::finish`] counts it. The handling is
    /// awaited in the caller, not wrapped: moving the provider's future into a wrapper
    /// would copy it (kilobytes) for each request.
    pub(crate) fn start(&self, api: Api) -> Timing<'_> {
        self.in_flight[api as usize].fetch_add(1, Ordering::Relaxed);
        Timing {
            metrics: self,
            api,
            start: Instant::now(),
        }
    }

    fn observe(&self, key: Key, elapsed: std::time::Duration) {
        let (seconds, nanos) = (
            elapsed.as_secs_f64(),
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
        );
        if let Some(series) = read(&self.requests).get(&key) {
            return series.add(seconds, nanos);
        }
        self.requests
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(key)
            .or_default()
            .add(seconds, nanos);
    }

    /// The Prometheus text exposition (format 0.0.4) of the requests and of the provider's
    /// counts.
    pub(crate) fn render(&self, provider: &Provider) -> String {
        let mut out = String::new();
        let _ = self.write_requests(&mut out);
        let _ = write_counts(&mut out, &provider.counts());
        out
    }

    fn write_requests(&self, out: &mut String) -> std::fmt::Result {
        let requests = read(&self.requests);
        let mut keys: Vec<_> = requests.keys().copied().collect();
        keys.sort_unstable();
        let labels = |(api, route, status): Key| {
            format!(
                "api=\"{}\",route=\"{}\",status=\"{status}\"",
                api.as_str(),
                route.unwrap_or_default()
            )
        };
        family(
            out,
            "oauth2_requests_total",
            "counter",
            "Requests answered, by API, route (empty: no route matched) and status.",
        )?;
        for key in &keys {
            let n = requests[key].count.load(Ordering::Relaxed);
            writeln!(out, "oauth2_requests_total{{{}}} {n}", labels(*key))?;
        }
        family(
            out,
            "oauth2_request_duration_seconds",
            "histogram",
            "Time from a request's arrival at the handler to its response.",
        )?;
        for key in &keys {
            let series = &requests[key];
            let labels = labels(*key);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&series.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                writeln!(
                    out,
                    "oauth2_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                )?;
            }
            let count = series.count.load(Ordering::Relaxed);
            let seconds = series.nanos.load(Ordering::Relaxed) as f64 / 1e9;
            writeln!(
                out,
                "oauth2_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            )?;
            writeln!(
                out,
                "oauth2_request_duration_seconds_sum{{{labels}}} {seconds}"
            )?;
            writeln!(
                out,
                "oauth2_request_duration_seconds_count{{{labels}}} {count}"
            )?;
        }
        drop(requests);
        family(
            out,
            "oauth2_requests_in_flight",
            "gauge",
            "Requests being handled now, by API.",
        )?;
        for api in [Api::Public, Api::Admin] {
            let n = self.in_flight[api as usize].load(Ordering::Relaxed);
            writeln!(
                out,
                "oauth2_requests_in_flight{{api=\"{}\"}} {n}",
                api.as_str()
            )?;
        }
        Ok(())
    }
}

/// `# HELP` and `# TYPE` of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) -> std::fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

fn write_counts(out: &mut String, counts: &Counts) -> std::fmt::Result {
    family(
        out,
        "oauth2_tokens_issued_total",
        "counter",
        "Grant steps that issued tokens, by grant type.",
    )?;
    for (grant_type, n) in &counts.tokens_issued {
        writeln!(
            out,
            "oauth2_tokens_issued_total{{grant_type=\"{grant_type}\"}} {n}"
        )?;
    }
    let flows = [
        (
            "oauth2_flows_started_total",
            "Login, consent and logout requests started: the browser sent to the host's page.",
            counts.flows_started,
        ),
        (
            "oauth2_flows_completed_total",
            "Login, consent and logout requests the host answered (accepted or rejected).",
            counts.flows_completed,
        ),
    ];
    for (
        name,
        help,
        FlowCounts {
            login,
            consent,
            logout,
            ..
        },
    ) in flows
    {
        family(out, name, "counter", help)?;
        for (stage, n) in [("login", login), ("consent", consent), ("logout", logout)] {
            writeln!(out, "{name}{{stage=\"{stage}\"}} {n}")?;
        }
    }
    let single = [
        (
            "oauth2_store_failures_total",
            "counter",
            "Requests answered with a storage failure.",
            counts.store_failures,
        ),
        (
            "oauth2_secret_checks_in_flight",
            "gauge",
            "Checks of chosen client secrets queued or running.",
            counts.secret_checks_in_flight as u64,
        ),
        (
            "oauth2_audit_events_dropped_total",
            "counter",
            "Audit events dropped because the sink fell behind.",
            counts.events_dropped,
        ),
    ];
    for (name, kind, help, value) in single {
        family(out, name, kind, help)?;
        writeln!(out, "{name} {value}")?;
    }
    Ok(())
}
