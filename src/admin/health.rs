//! `GET /health/alive` and `GET /health/ready` (Hydra's `healthx`): alive answers as long as
//! the process serves HTTP and never touches the store, so an orchestrator does not restart
//! instances because the database is down; ready asks the store ([`KeyStore::ping`]) and is a
//! 503 with the reason while it fails, so that load balancers stop sending traffic.
//!
//! [`KeyStore::ping`]: crate::store::KeyStore::ping

use http::StatusCode;
use serde_json::json;

use crate::context::Context;
use crate::http::Response;
use crate::http::response::json;

/// `GET /health/alive`: `{"status":"ok"}`.
pub(crate) fn alive() -> Response {
    json(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /health/ready`: `{"status":"ok"}`, or 503 with Hydra's `healthNotReadyStatus`
/// (`{"errors":{"database":"…"}}`) while the store fails.
pub(crate) async fn ready(p: &Context) -> Response {
    match p.store.ping().await {
        Ok(()) => alive(),
        Err(e) => {
            crate::trace::event!(WARN, "not ready: the store does not answer");
            let errors = json!({"errors": {"database": format!("the store does not answer: {e}")}});
            json(StatusCode::SERVICE_UNAVAILABLE, &errors)
        }
    }
}
