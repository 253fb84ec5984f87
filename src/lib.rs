#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
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

mod admin;
pub mod audit;
pub mod clock;
pub mod config;
mod context;
mod crypto;
mod endpoint;
pub mod error;
mod flow;
mod grant;
mod http;
mod jose;
pub mod model;
mod provider;
pub mod resource_server;
mod router;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod token;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
mod trace;

pub use admin::{
    FlushSummary, Introspection, JsonWebKeySetGeneratorRequest, PreviousConsentSession, SIGNING_SET,
};
pub use async_trait::async_trait;
pub use audit::{AuditEvent, AuditKind, EventSink};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Config, ConfigError, Dangerous, DynamicRegistration, InitialAccessTokens, KeyConfig, Lifespans,
    RegistrationDecision, RegistrationHook, RegistrationPolicy, RegistrationRequest,
};
pub use context::counters::{Counts, FlowCounts};
pub use context::secret_check::{SecretCheckExecutor, SecretCheckJob};
pub use context::{
    ClientMetadataError, ClientMetadataFetcher, KeyMaintenance, MAX_CLIENT_METADATA_BYTES, Signer,
    SignerError, SignerKey,
};
pub use error::{Error, ErrorCode, OAuthError, StoreError};
pub use flow::{
    AcceptConsentRequest, AcceptLoginRequest, CompletedRequest, ConsentRequest,
    ConsentRequestSession, DeliveryReport, LoginRequest, LogoutNotifier, LogoutRequest,
    RejectRequest,
};
pub use jose::{Jwk, JwkSet, PrivateJwk, SigningKey};
pub use model::client::Client;
pub use model::{AccessTokenStrategy, Algorithm, RsaBits};
pub use provider::{AdminApi, Provider, ProviderBuilder, PublicApi};
pub use router::Route;
pub use store::{MemoryStore, Store};

/// Internals that the crate's own benchmarks and tests use directly: JOSE (signing and
/// verifying JWTs, reading a JWK set) and the router's route table (`tests/openapi.rs`
/// holds the OpenAPI documents to it). Not part of the API: hidden, and exempt from semver.
#[doc(hidden)]
pub mod internals {
    pub use crate::jose::{JoseError, Jwk, JwkSet, SigningKey, VerifyingKeys};
    pub use crate::router::table as routes;
}
