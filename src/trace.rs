//! Tracing (feature `tracing`, on by default): the per-request span the router opens and
//! the macros the security decisions emit their events with. Without the feature every item
//! here is an empty inline shim, so call sites stay the same and cost nothing.
//!
//! **Nothing traced is a secret**: fields and messages carry client ids, route names,
//! methods, statuses, OAuth error codes, key ids and algorithms — never a token, code,
//! verifier, challenge, client secret, password or cookie value (`tests/tracing.rs`).

use std::future::Future;

use http::{Method, StatusCode};

/// An event at `$level` (`WARN` for attacks and reuse, `INFO` for key rotations, `DEBUG`
/// for routine steps) with `tracing`'s field syntax: `tracing::event!` with the feature,
/// nothing but `fields_unused!` without it.
#[cfg(feature = "tracing")]
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        ::tracing::event!(target: "oauth2_provider", ::tracing::Level::$level, $($arg)*)
    };
}
#[cfg(not(feature = "tracing"))]
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {{ $crate::trace::fields_unused!($($arg)*); }};
}

/// Without the feature: borrows each field's value (so what is computed only for an event is
/// still used and the build stays warning-free) and drops the message.
#[cfg(not(feature = "tracing"))]
macro_rules! fields_unused {
    () => {};
    ($message:literal $(,)?) => {};
    ($name:ident = %$value:expr, $($rest:tt)*) => {
        let _ = &$value;
        $crate::trace::fields_unused!($($rest)*);
    };
    ($name:ident = $value:expr, $($rest:tt)*) => {
        let _ = &$value;
        $crate::trace::fields_unused!($($rest)*);
    };
    ($name:ident, $($rest:tt)*) => {
        let _ = &$name;
        $crate::trace::fields_unused!($($rest)*);
    };
}

pub(crate) use event;
#[cfg(not(feature = "tracing"))]
pub(crate) use fields_unused;

/// The span of one request: `oauth2_provider.request` with `api` and `method` from the
/// start, `route` once the path is parsed, `client_id` once a client is named, and `status`
/// and `error` (the OAuth error code) when the response is ready.
#[derive(Debug)]
pub(crate) struct RequestSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl RequestSpan {
    /// Opens the span of a request to `api` (`public` or `admin`).
    #[inline]
    pub(crate) fn new(api: &'static str, method: &Method) -> Self {
        #[cfg(feature = "tracing")]
        {
            let span = tracing::info_span!(
                target: "oauth2_provider",
                "request",
                api,
                method = method.as_str(),
                route = tracing::field::Empty,
                client_id = tracing::field::Empty,
                status = tracing::field::Empty,
                error = tracing::field::Empty,
            );
            Self { span }
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = (api, method);
            Self {}
        }
    }

    /// Records the route's name (never the raw path, which can carry a challenge).
    #[inline]
    pub(crate) fn route(&self, name: &'static str) {
        #[cfg(feature = "tracing")]
        self.span.record("route", name);
        #[cfg(not(feature = "tracing"))]
        let _ = name;
    }

    /// Runs the request's handling inside the span. Not an `async fn`: that would keep
    /// `handling` twice in its state (as the argument and as the awaited future).
    #[inline]
    pub(crate) fn run<F: Future>(&self, handling: F) -> impl Future<Output = F::Output> {
        #[cfg(feature = "tracing")]
        {
            tracing::Instrument::instrument(handling, self.span.clone())
        }
        #[cfg(not(feature = "tracing"))]
        {
            handling
        }
    }

    /// Records the response's status.
    #[inline]
    pub(crate) fn status(&self, status: StatusCode) {
        #[cfg(feature = "tracing")]
        self.span.record("status", status.as_u16());
        #[cfg(not(feature = "tracing"))]
        let _ = status;
    }
}

/// Records the client a request names or authenticates as on the current request span.
#[inline]
pub(crate) fn client_id(id: &str) {
    record_current("client_id", id);
}

/// Records the OAuth error code a response carries on the current request span.
#[inline]
pub(crate) fn error(code: &str) {
    record_current("error", code);
}

#[inline]
fn record_current(field: &'static str, value: &str) {
    #[cfg(feature = "tracing")]
    tracing::Span::current().record(field, value);
    #[cfg(not(feature = "tracing"))]
    let _ = (field, value);
}
