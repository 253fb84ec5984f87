//! The example servers' log (`LOG_LEVEL`, `LOG_FORMAT=json`) and their Prometheus metrics at
//! `/metrics/prometheus` on the admin listener, both from the provider's `tracing` spans and
//! events: the core depends on no metrics crate, the host derives what it wants.
//!
//! The metrics: requests by API, route and status with a latency histogram (from the
//! `request` span: opened when the request arrives, closed when its response is ready), tokens
//! issued by grant type (the `tokens issued` event), flows started (`request started` of a
//! login request) and completed (`authorization response issued`), audit events dropped, and
//! the checks of chosen client secrets queued or running (asked of the provider).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use oauth2_provider::Provider;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, LevelFilter, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use super::{Failure, var};

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// What the provider's spans and events have counted so far.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<HashMap<(Name, Name, u16), Requests>>,
    tokens: Mutex<HashMap<String, u64>>,
    flows_started: AtomicU64,
    flows_completed: AtomicU64,
    /// Requests being handled now: public, admin.
    in_flight: [AtomicU64; 2],
}

/// The requests of one API, route and status.
#[derive(Debug, Default)]
struct Requests {
    /// Requests at or under each bucket's bound (not cumulative yet).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    seconds: f64,
}

/// Installs the log and, unless `PROMETHEUS_METRICS=false`, the metrics layer. Nothing at
/// all is installed with `LOG_LEVEL=off` and no metrics, so the provider then runs without
/// a subscriber.
pub(crate) fn install() -> Result<Option<Arc<Metrics>>, Failure> {
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
    let metrics = super::flag_or("PROMETHEUS_METRICS", true)?.then(Arc::<Metrics>::default);
    if level == LevelFilter::OFF && metrics.is_none() {
        return Ok(None);
    }
    // Logs go to stderr: stdout carries the lines that say where the server listens. Below
    // debug, the log takes events only: keeping every request span's fields for the context
    // of events that mostly never come would cost each request more than all the metrics.
    let logged = move |meta: &tracing_core::Metadata<'_>| {
        level >= *meta.level() && (meta.is_event() || level >= LevelFilter::DEBUG)
    };
    let text = (!json && level != LevelFilter::OFF).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter_fn(logged))
    });
    let json = (json && level != LevelFilter::OFF).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter_fn(logged))
    });
    let counting = metrics.clone().map(|metrics| {
        Counting(metrics).with_filter(filter_fn(|meta| {
            meta.target() == "oauth2_provider" && *meta.level() <= Level::DEBUG
        }))
    });
    tracing_subscriber::registry()
        .with(text)
        .with(json)
        .with(counting)
        .try_init()
        .map_err(|e| Failure::Runtime(format!("the log could not be installed: {e}")))?;
    Ok(metrics)
}

/// The layer that counts.
struct Counting(Arc<Metrics>);

/// A short label value (an API or route name) kept inline: counting a request allocates
/// nothing. Longer names are cut (route names are at most 25 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Name {
    len: u8,
    bytes: [u8; 31],
}

impl Name {
    fn new(value: &str) -> Self {
        let mut name = Self::default();
        let mut len = value.len().min(name.bytes.len());
        while !value.is_char_boundary(len) {
            len -= 1;
        }
        name.bytes[..len].copy_from_slice(&value.as_bytes()[..len]);
        name.len = len as u8;
        name
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the layer keeps of a request span while it is open.
struct RequestSpan {
    start: Instant,
    api: Name,
    route: Name,
    status: u16,
}

impl Visit for RequestSpan {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "api" => self.api = Name::new(value),
            "route" => self.route = Name::new(value),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.status = u16::try_from(value).unwrap_or(0);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The message and the `grant_type` / `stage` of an event.
#[derive(Default)]
struct EventFields {
    message: String,
    label: String,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if matches!(field.name(), "grant_type" | "stage") {
            value.clone_into(&mut self.label);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Counting {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut request = RequestSpan {
            start: Instant::now(),
            api: Name::default(),
            route: Name::default(),
            status: 0,
        };
        attrs.record(&mut request);
        self.0
            .in_flight(request.api.as_str())
            .fetch_add(1, Ordering::Relaxed);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(request);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(request) = span.extensions_mut().get_mut::<RequestSpan>() {
                values.record(request);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        match (fields.message.as_str(), fields.label.as_str()) {
            ("tokens issued", grant_type) => {
                *lock(&self.0.tokens)
                    .entry(grant_type.to_owned())
                    .or_default() += 1;
            }
            ("request started", "login request") => {
                self.0.flows_started.fetch_add(1, Ordering::Relaxed);
            }
            ("authorization response issued", _) => {
                self.0.flows_completed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(request) = span.extensions_mut().remove::<RequestSpan>() else {
            return;
        };
        self.0
            .in_flight(request.api.as_str())
            .fetch_sub(1, Ordering::Relaxed);
        let seconds = request.start.elapsed().as_secs_f64();
        let mut requests = lock(&self.0.requests);
        let stats = requests
            .entry((request.api, request.route, request.status))
            .or_default();
        stats.count += 1;
        stats.seconds += seconds;
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            stats.buckets[bucket] += 1;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Metrics {
    fn in_flight(&self, api: &str) -> &AtomicU64 {
        &self.in_flight[usize::from(api == "admin")]
    }

    /// The Prometheus text exposition (format 0.0.4) of everything counted, plus the
    /// provider's gauges.
    pub(crate) fn render(&self, provider: &Provider) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out, provider);
        out
    }

    fn write(&self, out: &mut String, provider: &Provider) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP oauth2_requests_total Requests answered, by API, route and status."
        )?;
        writeln!(out, "# TYPE oauth2_requests_total counter")?;
        let requests = lock(&self.requests);
        let mut keys: Vec<_> = requests.keys().collect();
        keys.sort();
        for key @ (api, route, status) in &keys {
            let labels = format!("api=\"{api}\",route=\"{route}\",status=\"{status}\"");
            writeln!(
                out,
                "oauth2_requests_total{{{labels}}} {}",
                requests[*key].count
            )?;
        }
        writeln!(
            out,
            "# HELP oauth2_request_duration_seconds Time from a request's arrival to its response."
        )?;
        writeln!(out, "# TYPE oauth2_request_duration_seconds histogram")?;
        for key @ (api, route, status) in &keys {
            let stats = &requests[*key];
            let labels = format!("api=\"{api}\",route=\"{route}\",status=\"{status}\"");
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                cumulative += n;
                writeln!(
                    out,
                    "oauth2_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                )?;
            }
            writeln!(
                out,
                "oauth2_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            )?;
            writeln!(
                out,
                "oauth2_request_duration_seconds_sum{{{labels}}} {}",
                stats.seconds
            )?;
            writeln!(
                out,
                "oauth2_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            )?;
        }
        drop(requests);
        writeln!(
            out,
            "# HELP oauth2_tokens_issued_total Grant steps that issued tokens, by grant type."
        )?;
        writeln!(out, "# TYPE oauth2_tokens_issued_total counter")?;
        let tokens = lock(&self.tokens);
        let mut grants: Vec<_> = tokens.iter().collect();
        grants.sort();
        for (grant_type, n) in grants {
            writeln!(
                out,
                "oauth2_tokens_issued_total{{grant_type=\"{grant_type}\"}} {n}"
            )?;
        }
        drop(tokens);
        writeln!(
            out,
            "# HELP oauth2_requests_in_flight Requests being handled now, by API."
        )?;
        writeln!(out, "# TYPE oauth2_requests_in_flight gauge")?;
        for api in ["public", "admin"] {
            let n = self.in_flight(api).load(Ordering::Relaxed);
            writeln!(out, "oauth2_requests_in_flight{{api=\"{api}\"}} {n}")?;
        }
        let gauges = [
            (
                "oauth2_flows_started_total",
                "counter",
                "Authorization flows that reached the login page.",
                self.flows_started.load(Ordering::Relaxed),
            ),
            (
                "oauth2_flows_completed_total",
                "counter",
                "Authorization flows that ended with a code or tokens for the client.",
                self.flows_completed.load(Ordering::Relaxed),
            ),
            (
                "oauth2_audit_events_dropped_total",
                "counter",
                "Audit events dropped because the sink fell behind.",
                provider.events_dropped(),
            ),
            (
                "oauth2_secret_checks_in_flight",
                "gauge",
                "Checks of chosen client secrets queued or running.",
                provider.secret_checks_in_flight() as u64,
            ),
        ];
        for (name, kind, help, value) in gauges {
            writeln!(out, "# HELP {name} {help}")?;
            writeln!(out, "# TYPE {name} {kind}")?;
            writeln!(out, "{name} {value}")?;
        }
        Ok(())
    }
}
