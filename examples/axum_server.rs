//! The provider on axum, with a demo login and consent app: the public API and the demo on
//! `PUBLIC_HOST:PUBLIC_PORT` (default 127.0.0.1:4444), the admin API on
//! `ADMIN_HOST:ADMIN_PORT` (default 127.0.0.1:4445).
//!
//! ```sh
//! cargo run --example axum_server
//! # then open http://127.0.0.1:4444/demo/start
//! ```
//!
//! Each API is mounted with one line (`fallback_service`), thanks to the `tower` feature.
//! Configuration: Hydra's environment variables, see the README.

mod common;
#[path = "common/demo.rs"]
mod demo;

use std::future::IntoFuture;
use std::process::ExitCode;

use axum::Router;
use tower::Layer as _;

use common::telemetry::Api;
use common::{Failure, Settings, Shutdown, Started};

async fn main_inner() -> Result<(), Failure> {
    let Started {
        provider,
        public,
        admin,
        metrics,
    } = Settings::from_env(Some(demo::PATH))?.start().await?;
    let start_url = demo::register_client(&provider).await?;
    let shutdown = Shutdown::on_signals()?;
    let shutdown_for_requests = shutdown.clone();

    // With metrics on, the provider's requests (not the demo's, nor the scrape) are counted
    // and timed around the provider's service, by the route each response names.
    let timed = |api: Api| {
        let metrics = metrics.clone();
        axum::middleware::from_fn(move |req, next: axum::middleware::Next| {
            let metrics = metrics.clone();
            async move {
                let timing = metrics.as_ref().map(|metrics| metrics.start(api));
                let res = next.run(req).await;
                if let Some(timing) = timing {
                    timing.finish(&res);
                }
                res
            }
        })
    };
    let public_app = Router::new()
        .nest(demo::PATH, demo::router(&provider))
        .fallback_service(timed(Api::Public).layer(provider.public()));
    let mut admin_app = Router::new();
    if let Some(metrics) = metrics.clone() {
        let provider = provider.clone();
        let render = move || async move {
            (
                [("content-type", "text/plain; version=0.0.4")],
                metrics.render(&provider),
            )
        };
        admin_app = admin_app.route(common::METRICS_PATH, axum::routing::get(render));
    }
    let admin_app = admin_app.fallback_service(timed(Api::Admin).layer(provider.admin()));
    // Past the drain deadline, requests still running get a 503 instead of a cut connection.
    let answer = move |req, next: axum::middleware::Next| {
        let shutdown = shutdown_for_requests.clone();
        async move { shutdown.answer(next.run(req)).await }
    };
    let public_app = public_app.layer(axum::middleware::from_fn(answer.clone()));
    let admin_app = admin_app.layer(axum::middleware::from_fn(answer));

    common::say!("demo: open {start_url} to log in and consent as any user");
    let servers = async {
        tokio::try_join!(
            axum::serve(public, public_app)
                .with_graceful_shutdown(shutdown.signalled())
                .into_future(),
            axum::serve(admin, admin_app)
                .with_graceful_shutdown(shutdown.signalled())
                .into_future(),
        )
        .map(|_| ())
    };
    shutdown.serve(servers).await
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_inner().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
