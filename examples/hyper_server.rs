//! The provider on plain hyper 1: the public API on `PUBLIC_HOST:PUBLIC_PORT` (default
//! 127.0.0.1:4444), the admin API on `ADMIN_HOST:ADMIN_PORT` (default 127.0.0.1:4445), one task
//! per connection, HTTP/1.1 keep-alive, bodies collected up to `Config::max_body_bytes` (a
//! larger one is drained, within a bound, before its 413, so that the client can read it).
//!
//! ```sh
//! cargo run --release --example hyper_server
//! ```
//!
//! Configuration: Hydra's environment variables, see the README. The login, consent and logout
//! URLs default to the provider's fallback pages; point `OAUTH2_LOGIN_URL`,
//! `OAUTH2_CONSENT_URL` and `OAUTH2_LOGOUT_URL` at your own pages (or run the axum example for
//! a demo app). Back-channel logout tokens are sent with hyper's client (see
//! `common/notifier.rs`).

mod common;

use std::convert::Infallible;
use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use oauth2_provider::tower::collect_request;
use oauth2_provider::{AdminApi, Provider, PublicApi};
use tokio::net::TcpListener;

use common::telemetry::{self, Metrics};
use common::{Failure, Settings, Shutdown, Started};

/// One of the provider's two HTTP APIs.
#[derive(Debug, Clone)]
enum Api {
    Public(PublicApi),
    Admin(AdminApi),
}

impl Api {
    async fn handle(&self, req: http::Request<Bytes>) -> http::Response<Bytes> {
        match self {
            Self::Public(api) => api.handle(req).await,
            Self::Admin(api) => api.handle(req).await,
        }
    }

    fn kind(&self) -> telemetry::Api {
        match self {
            Self::Public(_) => telemetry::Api::Public,
            Self::Admin(_) => telemetry::Api::Admin,
        }
    }
}

/// What every request of a listener needs.
#[derive(Debug)]
struct Served {
    api: Api,
    provider: Provider,
    /// Counts and times the requests, and is served on the admin listener, if on.
    metrics: Option<Arc<Metrics>>,
    shutdown: Shutdown,
}

impl Served {
    /// Collects the body with the provider's limit (413 when over, after draining what the
    /// client is still sending; 400 when the connection fails midway) and hands the request
    /// to the provider; on the admin listener, answers `GET /metrics/prometheus` itself.
    async fn serve(&self, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
        let Some(metrics) = &self.metrics else {
            return self.answer(req).await.map(Full::new);
        };
        if matches!(self.api, Api::Admin(_))
            && req.uri().path() == common::METRICS_PATH
            && req.method() == http::Method::GET
        {
            let mut res =
                http::Response::new(Full::new(Bytes::from(metrics.render(&self.provider))));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            return res;
        }
        let timing = metrics.start(self.api.kind());
        let res = self.answer(req).await;
        timing.finish(&res);
        res.map(Full::new)
    }

    async fn answer(&self, req: http::Request<Incoming>) -> http::Response<Bytes> {
        // Boxed: the provider's future is a few KB, and every layer above that awaits it (the
        // shutdown race, the timing, hyper's service) would otherwise move it again; ~8 % of
        // a `client_credentials` request's CPU time went to those copies.
        let handling = Box::pin(async {
            match collect_request(&self.provider, req).await {
                Ok(req) => self.api.handle(req).await,
                Err(res) => res,
            }
        });
        self.shutdown.answer(handling).await
    }
}

/// Accepts connections until shutdown, one task each, then waits for them to finish.
async fn run(listener: TcpListener, served: Served) -> io::Result<()> {
    let served = Arc::new(served);
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // With a timer, hyper drops connections that take over 30 s to send their headers.
    http.keep_alive(true).timer(TokioTimer::new());
    let signalled = served.shutdown.signalled();
    tokio::pin!(signalled);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    common::say_err!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signalled => break,
        };
        // Small responses: send them now rather than wait for more to coalesce.
        let _ = stream.set_nodelay(true);
        let served = Arc::clone(&served);
        let service = service_fn(move |req| {
            let served = Arc::clone(&served);
            async move { Ok::<_, Infallible>(served.serve(req).await) }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away mid-request is not the server's problem.
            let _ = conn.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

async fn main_inner() -> Result<(), Failure> {
    let Started {
        provider,
        public,
        admin,
        metrics,
    } = Settings::from_env(None)?.start().await?;
    let shutdown = Shutdown::on_signals()?;
    let served = |api| Served {
        api,
        provider: provider.clone(),
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
    };
    let servers = async {
        tokio::try_join!(
            run(public, served(Api::Public(provider.public()))),
            run(admin, served(Api::Admin(provider.admin()))),
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
