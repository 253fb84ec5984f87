//! `POST /oauth2/flush` (admin): deletes what can never be used again, in bounded batches.
//!
//! Beyond Hydra (which flushed only access tokens) this also removes expired codes and
//! refresh tokens, expired login and consent requests, and expired login sessions, so that
//! memory and tables stay flat under load. `notAfter` is clamped to now: a flush never
//! deletes anything still usable, whatever the caller asks.

use std::future::Future;

use http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::context::Context;
use crate::error::{Error, OAuthError, StoreError};
use crate::http::params::json_body_or_default;
use crate::http::{Request, Response, response};

/// Rows deleted per store call, so that no call holds a lock or a transaction for long.
const BATCH: usize = 1000;

/// How many rows a flush deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushSummary {
    /// Access and refresh tokens and authorization codes.
    pub tokens: u64,
    /// Login and consent requests.
    pub requests: u64,
    /// Login sessions.
    pub login_sessions: u64,
}

/// `FlushInactiveOAuth2TokensRequest`. Absent, `null` and Go's zero time mean "now".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlushRequest {
    #[serde(rename = "notAfter", default, with = "time::serde::rfc3339::option")]
    not_after: Option<OffsetDateTime>,
}

/// Calls `batch(limit)` until a batch deletes fewer than `limit` rows; returns the total.
async fn drain<F, Fut>(mut batch: F) -> Result<u64, StoreError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let deleted = batch(BATCH).await?;
        total += deleted;
        if deleted < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// See [`Provider::flush`](crate::Provider::flush).
pub(crate) async fn flush(
    p: &Context,
    not_after: Option<OffsetDateTime>,
) -> Result<FlushSummary, Error> {
    let now = p.now();
    let before = not_after.map_or(now, |t| t.min(now));
    let store = &p.store;
    Ok(FlushSummary {
        tokens: drain(|limit| store.flush_tokens(before, limit)).await?,
        requests: drain(|limit| store.flush_requests(before, limit)).await?,
        login_sessions: drain(|limit| store.flush_login_sessions(before, limit)).await?,
    })
}

/// Go's `time.Time{}`, which Hydra's Go SDK sends for an unset `notAfter`.
fn is_go_zero_time(t: OffsetDateTime) -> bool {
    t.year() == 1 && t.ordinal() == 1 && t.time() == time::Time::MIDNIGHT
}

/// The HTTP layer: JSON `{"notAfter": RFC 3339}`; an empty body or `{}` means now.
pub(crate) async fn post(p: &Context, req: &Request) -> Response {
    let outcome = async {
        // serde would also read a struct from a JSON array; only an object is a request.
        if req
            .body()
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b != b'{')
        {
            return Err(OAuthError::invalid_request(
                "The request body must be a JSON object.",
            ));
        }
        let body: FlushRequest = json_body_or_default(req)?;
        let not_after = body.not_after.filter(|t| !is_go_zero_time(*t));
        flush(p, not_after).await?;
        Ok::<_, OAuthError>(())
    }
    .await;
    match outcome {
        Ok(()) => response::empty(StatusCode::NO_CONTENT),
        Err(e) => p.error_response(&e),
    }
}
