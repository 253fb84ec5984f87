//! Back-Channel Logout 1.0: logout tokens, and the delivery of the outbox that ending a
//! session fills ([`crate::store::LogoutStore::end_login_sessions`]).
//!
//! The core does no I/O, so it never sends: the host implements [`LogoutNotifier`] (the
//! example servers ship one on the hyper client) and calls
//! [`Provider::deliver_logouts`](crate::Provider::deliver_logouts) now and then. Each call
//! claims the deliveries that are due, signs a fresh logout token for each (same `jti` on
//! every attempt), and hands it to the notifier. A failure is retried with exponential
//! back-off ([`RETRY_AFTER`] doubling) until [`MAX_ATTEMPTS`], after which the delivery is
//! kept as failed; [`Provider::logout_deliveries`](crate::Provider::logout_deliveries) lists
//! pending and failed ones, so nothing is dropped silently.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::context::Context;
use crate::error::Error;
use crate::store::{DeliveryStatus, LogoutDelivery};

/// Attempts per delivery before it is marked failed.
pub(crate) const MAX_ATTEMPTS: u32 = 6;
/// The wait after the first failed attempt; each further failure doubles it.
pub(crate) const RETRY_AFTER: Duration = Duration::seconds(10);
/// How long a claimed delivery is reserved for the caller that claimed it; if that caller
/// dies, another call takes it over after this.
const LEASE: Duration = Duration::minutes(2);
/// Lifespan of a logout token (the receiver checks `exp`).
const TOKEN_LIFESPAN: Duration = Duration::minutes(2);
/// The `events` member of every logout token.
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Sends logout tokens: implemented by the host, which owns the I/O.
#[async_trait::async_trait]
pub trait LogoutNotifier: Send + Sync + std::fmt::Debug {
    /// POSTs `logout_token=<logout_token>` (`application/x-www-form-urlencoded`) to `uri`
    /// (the client's `backchannel_logout_uri`). `Ok` only when the relying party answered
    /// 200 or 204; `Err` says why not (it is kept with the delivery).
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String>;
}

/// What one [`Provider::deliver_logouts`](crate::Provider::deliver_logouts) call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Accepted by the relying party.
    pub delivered: usize,
    /// Failed, and scheduled again.
    pub retrying: usize,
    /// Failed for the last time.
    pub failed: usize,
    /// Nothing to send: the client is gone or has no `backchannel_logout_uri`.
    pub skipped: usize,
}

/// When attempt `attempts + 1` is due after `attempts` failures.
fn next_attempt(now: OffsetDateTime, attempts: u32) -> OffsetDateTime {
    let factor = 1_i32 << attempts.saturating_sub(1).min(16);
    now.saturating_add(RETRY_AFTER.saturating_mul(factor))
}

/// See [`Provider::deliver_logouts`](crate::Provider::deliver_logouts).
pub(crate) async fn deliver(
    p: &Context,
    notifier: &dyn LogoutNotifier,
    limit: usize,
) -> Result<DeliveryReport, Error> {
    let now = p.now();
    let due = p
        .store
        .claim_logout_deliveries(now, now.saturating_add(LEASE), limit)
        .await?;
    let mut report = DeliveryReport::default();
    for delivery in due {
        let outcome = attempt(p, notifier, &delivery, now).await?;
        match outcome {
            Attempt::Skipped | Attempt::Delivered => {
                match p
                    .store
                    .delete_logout_delivery(&delivery.session_id, &delivery.client_id)
                    .await
                {
                    Ok(()) | Err(crate::error::StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
                if matches!(outcome, Attempt::Skipped) {
                    report.skipped += 1;
                } else {
                    report.delivered += 1;
                }
            }
            Attempt::Failed(why) => {
                let attempts = delivery.attempts.saturating_add(1);
                let last = attempts >= MAX_ATTEMPTS;
                crate::trace::event!(WARN,
                    client_id = %delivery.client_id,
                    attempts,
                    "back-channel logout delivery failed"
                );
                let updated = LogoutDelivery {
                    attempts,
                    next_attempt_at: if last {
                        now
                    } else {
                        next_attempt(now, attempts)
                    },
                    status: if last {
                        DeliveryStatus::Failed
                    } else {
                        DeliveryStatus::Pending
                    },
                    last_error: why,
                    ..delivery
                };
                p.store.update_logout_delivery(updated).await?;
                if last {
                    report.failed += 1;
                } else {
                    report.retrying += 1;
                }
            }
        }
    }
    Ok(report)
}

/// The outcome of one attempt.
#[derive(Debug)]
enum Attempt {
    Delivered,
    Skipped,
    Failed(String),
}

/// Signs the logout token of `delivery` and hands it to the notifier.
async fn attempt(
    p: &Context,
    notifier: &dyn LogoutNotifier,
    delivery: &LogoutDelivery,
    now: OffsetDateTime,
) -> Result<Attempt, Error> {
    let Some(record) = p.find_client(&delivery.client_id).await? else {
        return Ok(Attempt::Skipped);
    };
    let client = &record.client;
    if client.backchannel_logout_uri.is_empty() {
        return Ok(Attempt::Skipped);
    }
    let subject = match super::subject::identifier(p, client, &delivery.subject, "").await {
        Ok(subject) => subject,
        Err(e) => return Ok(Attempt::Failed(e.description.into_owned())),
    };
    let claims = json!({
        "iss": p.config.issuer,
        "aud": client.client_id,
        "iat": now.unix_timestamp(),
        "exp": now.saturating_add(TOKEN_LIFESPAN).unix_timestamp(),
        "jti": delivery.jti,
        "sub": subject,
        "sid": delivery.session_id,
        "events": { BACKCHANNEL_EVENT: {} },
    });
    let token = match p
        .sign_jwt(p.config.keys.id_token_alg(client), "logout+jwt", &claims)
        .await
    {
        Ok(token) => token,
        Err(e) => {
            return Ok(Attempt::Failed(format!(
                "signing failed: {}",
                e.description
            )));
        }
    };
    Ok(
        match notifier.send(&client.backchannel_logout_uri, &token).await {
            Ok(()) => Attempt::Delivered,
            Err(why) => Attempt::Failed(why),
        },
    )
}

/// See [`Provider::logout_deliveries`](crate::Provider::logout_deliveries).
pub(crate) async fn deliveries(
    p: &Context,
    limit: usize,
    offset: usize,
) -> Result<Vec<LogoutDelivery>, Error> {
    Ok(p.store.logout_deliveries(limit, offset).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_the_first_retry() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(next_attempt(now, 1) - now, RETRY_AFTER);
        assert_eq!(next_attempt(now, 2) - now, RETRY_AFTER * 2);
        assert_eq!(next_attempt(now, 5) - now, RETRY_AFTER * 16);
        assert!(next_attempt(now, u32::MAX) > now);
    }
}
