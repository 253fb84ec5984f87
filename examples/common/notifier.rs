//! Back-channel logout delivery on the hyper client: the [`LogoutNotifier`] both example
//! servers run, and the loop that drives [`Provider::deliver_logouts`].
//!
//! Each notification is one HTTP/1.1 POST on a fresh connection, with a connect time-out, a
//! response time-out and a cap on the response body read; a redirect is a failure (never
//! followed), so a relying party cannot bounce the provider's requests elsewhere. Plain
//! `http` only: this example has no TLS client, so an `https` URI fails (and shows up in
//! `Provider::logout_deliveries`) until the host plugs in a TLS connector.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use oauth2_provider::{LogoutNotifier, Provider, async_trait};

use crate::common::{say, say_err};

/// Time to open the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time from sending the request to the end of the response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
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
        if url.scheme() != "http" {
            return Err(format!(
                "{} needs a TLS client, which this example lacks",
                url.scheme()
            ));
        }
        let host = url.host_str().ok_or("no host")?.to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect failed: {e}"))?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", logout_token)
            .finish();
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        let request = http::Request::post(path)
            .header(http::header::HOST, authority)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| format!("handshake failed: {e}"))?;
            tokio::spawn(connection);
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = response.status();
            // Read (at most the cap of) the body, so that the exchange completes.
            let _ = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await;
            Ok::<_, String>(status)
        };
        let status = tokio::time::timeout(RESPONSE_TIMEOUT, exchange)
            .await
            .map_err(|_| "response timed out".to_owned())??;
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
