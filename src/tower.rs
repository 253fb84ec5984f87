//! `tower::Service` implementations of [`PublicApi`] and [`AdminApi`] (feature `tower`), so a
//! host on axum, tonic or any tower stack mounts the provider in one line:
//!
//! ```
//! # fn mount(provider: oauth2_provider::Provider) -> axum::Router {
//! axum::Router::new().fallback_service(provider.public())
//! # }
//! ```
//!
//! Each service collects the request body (any [`http_body::Body`]) up to
//! [`Config::max_body_bytes`](crate::Config::max_body_bytes) — a larger body is answered with
//! 413 before the endpoint sees it, an unreadable one with 400 — then calls `handle`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use crate::error::OAuthError;
use crate::http::{Request, Response};
use crate::provider::{AdminApi, Provider, PublicApi};

/// The error type request bodies may fail with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of both services: boxed, because the handler futures are not nameable.
pub type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Full<Bytes>>, Infallible>> + Send>>;

/// Which handler a service forwards to.
#[derive(Debug, Clone, Copy)]
enum Api {
    Public,
    Admin,
}

/// Collects the body within the size limit; `Err` is the 413 or 400 response to send instead.
async fn collect_body<B>(p: &Provider, req: http::Request<B>) -> Result<Request, Response>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let limit = p.cx.config.max_body_bytes;
    let too_large = || {
        p.cx.error_response(&OAuthError::request_entity_too_large(format!(
            "The request body must not exceed {limit} bytes."
        )))
    };
    let (parts, body) = req.into_parts();
    // A declared Content-Length over the limit is refused without reading anything.
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(http::Request::from_parts(parts, collected.to_bytes())),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(p.cx.error_response(
            &OAuthError::invalid_request("The request body could not be read.").with_debug(e),
        )),
    }
}

/// Collects the body, runs the handler, and wraps the response body for tower.
async fn serve<B>(
    provider: Provider,
    api: Api,
    req: http::Request<B>,
) -> Result<http::Response<Full<Bytes>>, Infallible>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let res = match collect_body(&provider, req).await {
        Ok(req) => match api {
            Api::Public => crate::router::public(&provider.cx, req).await,
            Api::Admin => crate::router::admin(&provider.cx, req).await,
        },
        Err(res) => res,
    };
    Ok(res.map(Full::new))
}

macro_rules! tower_service {
    ($ty:ty, $api:expr) => {
        impl<B> tower_service::Service<http::Request<B>> for $ty
        where
            B: Body + Send + 'static,
            B::Data: Send,
            B::Error: Into<BoxError>,
        {
            type Response = http::Response<Full<Bytes>>;
            type Error = Infallible;
            type Future = ServiceFuture;

            /// Always ready: the handler has no back-pressure of its own.
            fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, req: http::Request<B>) -> Self::Future {
                Box::pin(serve(self.provider.clone(), $api, req))
            }
        }
    };
}

tower_service!(PublicApi, Api::Public);
tower_service!(AdminApi, Api::Admin);
