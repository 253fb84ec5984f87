//! Back-channel logout delivery on the hyper client: the [`LogoutNotifier`] both example
//! servers run, and the loop that drives [`Provider::deliver_logouts`].
//!
//! Each notification is one form POST ([`http_client::post_form`]: time-outs, a capped
//! answer, redirects never followed, so a relying party cannot bounce the provider's
//! requests elsewhere). An `https` URI fails (and shows up in `Provider::logout_deliveries`)
//! until the host plugs in a TLS connector.

use std::time::Duration;

use oauth2_provider::{LogoutNotifier, Provider, async_trait};

use crate::common::http_client;
use crate::common::{say, say_err};

/// Most response bytes read (the body is not needed; reading it lets the connection end
/// cleanly).
const MAX_RESPONSE_BYTES: usize = 16 * 1024;
/// How often due deliveries are sent, and how many per round.
const INTERVAL: Duration = Duration::from_secs(2);
const PER_ROUND: usize = 100;

/// POSTs logout tokens with hyper.
#[derive(Debug, Default)]
pub(crate) struct HyperNotifier;

#[async_trait]
impl LogoutNotifier for HyperNotifier {
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String> {
        let url = url::Url::parse(uri).map_err(|e| format!("invalid URI: {e}"))?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", logout_token)
            .finish();
        let (status, _) = http_client::post_form(&url, body, MAX_RESPONSE_BYTES).await?;
        if status == http::StatusCode::OK || status == http::StatusCode::NO_CONTENT {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}

/// Sends due back-channel logout notifications every [`INTERVAL`].
pub(crate) async fn deliver_every(provider: Provider) {
    let mut ticks = tokio::time::interval(INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match provider.deliver_logouts(&HyperNotifier, PER_ROUND).await {
            Ok(report) if report.delivered + report.retrying + report.failed == 0 => {}
            Ok(report) => say!(
                "back-channel logout: {} delivered, {} to retry, {} failed",
                report.delivered,
                report.retrying,
                report.failed
            ),
            Err(e) => say_err!("back-channel logout delivery failed: {e}"),
        }
    }
}
