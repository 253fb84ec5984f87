//! # oauth2-provider
//!
//! An embeddable OAuth 2.0 and OpenID Connect authorization server with the HTTP API of
//! ORY Hydra (v1.0.0-beta.8). The host application keeps its users, login page and consent
//! page; this crate runs the protocol.
//!
//! The core is sans-IO: [`PublicApi::handle`] and [`AdminApi::handle`] take an
//! `http::Request<Bytes>` and return an `http::Response<Bytes>`, so the provider mounts in any
//! Rust HTTP framework and flows can be tested in-process without sockets. Persistence goes
//! through the [`store`] traits ([`MemoryStore`] is the embedded default); time through a
//! [`Clock`].
//!
//! See the README for mounting in axum and hyper, configuration, and the security defaults.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::todo,
        clippy::await_holding_lock
    )
)]

pub(crate) mod admin;
pub mod clock;
pub mod config;
mod context;
mod crypto;
pub(crate) mod endpoint;
pub mod error;
mod flow;
pub(crate) mod grant;
pub(crate) mod http;
pub mod jose;
pub mod model;
mod provider;
pub(crate) mod router;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub(crate) mod token;
#[cfg(feature = "tower")]
pub mod tower;

pub use admin::{FlushSummary, Introspection, PreviousConsentSession};
pub use async_trait::async_trait;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigError, Dangerous, Lifespans};
pub use error::{Error, OAuthError, StoreError};
pub use flow::{
    AcceptConsentRequest, AcceptLoginRequest, CompletedRequest, ConsentRequest,
    ConsentRequestSession, LoginRequest, RejectRequest,
};
pub use model::client::Client;
pub use provider::{AdminApi, Provider, ProviderBuilder, PublicApi};
pub use store::{MemoryStore, Store};

/// The README's snippets, compiled and run as doctests so they stay true.
#[cfg(all(doctest, feature = "tower"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
