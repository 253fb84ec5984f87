//! STUB, replaced by `demo.rs` once the login/consent flow (`Provider::accept_login` and
//! friends) and client creation have landed: the demo pages only say so.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::common::Failure;

/// Where the demo is mounted under the issuer.
pub(crate) const PATH: &str = "/demo";

/// Would register the demo client; returns the URL of the demo's start page.
pub(crate) async fn register_client(
    provider: &oauth2_provider::Provider,
) -> Result<String, Failure> {
    Ok(format!(
        "{}{PATH}/start",
        provider.config().issuer.trim_end_matches('/')
    ))
}

/// Every demo path answers 501 until the flow lands.
pub(crate) fn router(_provider: &oauth2_provider::Provider) -> Router {
    async fn not_yet() -> (StatusCode, &'static str) {
        (
            StatusCode::NOT_IMPLEMENTED,
            "The demo login/consent app is not functional in this build: it needs the \
             authorization flow, which has not landed yet.",
        )
    }
    Router::new().fallback(get(not_yet))
}
