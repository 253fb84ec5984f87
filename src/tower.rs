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
//! 413 before the endpoint sees it, an unreadable one with 400 — then calls `handle`. Hosts
//! that call `handle` themselves (plain hyper) collect with [`collect_request`].
//!
//! Before a 413 the rest of the body is read and thrown away, up to [`DRAIN_BYTES`] and for
//! at most [`DRAIN_TIME`], as nginx's lingering close does: a server that closes while the
//! client is still sending makes the client's kernel see a reset, and clients that write the
//! whole body before reading (Node's `fetch`, Python `requests`) then report a broken pipe
//! instead of the 413. A request with `Expect: 100-continue` and a declared length over the
//! limit is answered at once without draining: its client has not sent the body.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes};
use http_body::Body;
use http_body_util::{BodyExt, Full};

use crate::error::OAuthError;
use crate::provider::{AdminApi, Provider, PublicApi};

/// The error type request bodies may fail with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of both services: boxed, because the handler futures are not nameable.
pub type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Full<Bytes>>, Infallible>> + Send>>;

/// The most of an oversized body read and discarded before the 413 is sent (1 MiB). A body
/// declared longer than `max_body_bytes` plus this is not read at all: it could not be
/// drained to its end anyway.
pub const DRAIN_BYTES: u64 = 1024 * 1024;

/// The longest an oversized body is drained before the 413 is sent (1 s), checked between
/// the body's frames; a client that stops sending altogether is bounded by the server's own
/// read timeout, as any body is.
pub const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Which handler a service forwards to.
#[derive(Debug, Clone, Copy)]
enum Api {
    Public,
    Admin,
}

/// Collects a request body (any [`http_body::Body`], for example hyper's `Incoming`) the
/// way the tower services do, for hosts that call `handle` themselves: `Ok` is the request
/// for `handle`; `Err` is the response to send instead — Hydra's 413
/// `request_entity_too_large` after draining (see the [module docs](self)) when the body
/// exceeds [`Config::max_body_bytes`](crate::Config::max_body_bytes), or 400 when it could not
/// be read.
pub async fn collect_request<B>(
    provider: &Provider,
    req: http::Request<B>,
) -> Result<http::Request<Bytes>, http::Response<Bytes>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let limit = provider.cx.config.max_body_bytes;
    let too_large = || {
        provider
            .cx
            .error_response(&OAuthError::request_entity_too_large(format!(
                "The request body must not exceed {limit} bytes."
            )))
    };
    let (parts, body) = req.into_parts();
    let mut body = pin!(body);
    let declared = body.size_hint().lower();
    if declared > limit as u64 {
        let continues = parts
            .headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !continues && declared - limit as u64 <= DRAIN_BYTES {
            drain(body).await;
        }
        return Err(too_large());
    }
    let mut collected = Collected::Empty;
    loop {
        // Matched in one statement so that no frame or error lives across the drain's await.
        let mut data = match body.frame().await {
            None => break,
            Some(Err(e)) => {
                let e: BoxError = e.into();
                return Err(provider.cx.error_response(
                    &OAuthError::invalid_request("The request body could not be read.")
                        .with_debug(e),
                ));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_trailers) => continue,
            },
        };
        if data.remaining() > limit - collected.len() {
            drop(data);
            drain(body).await;
            return Err(too_large());
        }
        collected.push(&mut data);
    }
    Ok(http::Request::from_parts(parts, collected.into_bytes()))
}

/// A body as its frames arrive. Most requests come in one frame, which hyper hands over as
/// `Bytes`: that one is kept as it is, without a copy.
enum Collected {
    Empty,
    One(Bytes),
    Many(Vec<u8>),
}

impl Collected {
    fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::One(bytes) => bytes.len(),
            Self::Many(all) => all.len(),
        }
    }

    fn push(&mut self, data: &mut impl Buf) {
        *self = match std::mem::replace(self, Self::Empty) {
            Self::Empty => Self::One(data.copy_to_bytes(data.remaining())),
            Self::One(first) => {
                let mut all = Vec::with_capacity(first.len() + data.remaining());
                all.extend_from_slice(&first);
                all.put(data);
                Self::Many(all)
            }
            Self::Many(mut all) => {
                all.put(data);
                Self::Many(all)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Self::Empty => Bytes::new(),
            Self::One(bytes) => bytes,
            Self::Many(all) => Bytes::from(all),
        }
    }
}

/// Reads and discards the rest of an oversized body, up to [`DRAIN_BYTES`] and
/// [`DRAIN_TIME`]; a read error ends it early (the connection is going away anyway).
async fn drain<B: Body>(mut body: Pin<&mut B>) {
    let started = Instant::now();
    let mut discarded: u64 = 0;
    while discarded < DRAIN_BYTES && started.elapsed() < DRAIN_TIME {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    discarded += data.remaining() as u64;
                }
            }
            Some(Err(_)) | None => return,
        }
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
    let res = match collect_request(&provider, req).await {
        Ok(req) => match api {
            Api::Public => crate::router::public(&provider.cx, &req).await,
            Api::Admin => crate::router::admin(&provider.cx, &req).await,
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
