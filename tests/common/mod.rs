//! The one support tree of the integration tests; every test file says `mod common;` and
//! uses the part it needs:
//!
//! - this module: the shared constants, providers on a manual clock, a temporary directory;
//! - `http` (re-exported here): request builders and response assertions;
//! - [`seed`]: clients, grants, codes, tokens and sessions put straight into the store, and
//!   reading token state back;
//! - [`flow`]: driving the browser flow through the harness (login and consent pages,
//!   accept bodies, redirect accessors);
//! - [`process`]: the example servers run as child processes, spoken to over loopback;
//! - [`props`]: what the property tests share (bounded cases, a provider per property);
//! - [`postgres`] (feature `postgres`): a scratch database per test.
//!
//! Credential formats and store digests are never re-implemented here: they come from
//! `oauth2_provider::testing::fixtures`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oauth2_provider::testing::FaultyStore;
use oauth2_provider::{Config, ManualClock, MemoryStore, Provider, Store};

pub mod flow;
mod http;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod process;
pub mod props;
pub mod seed;

pub use self::http::*;

/// The issuer of every test provider.
pub const ISSUER: &str = "https://auth.example.com/";

/// A PKCE verifier (RFC 7636 Appendix B).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The S256 challenge of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Every `ClientStore` method, for `FaultyStore::fail_operations`.
pub const CLIENT_OPERATIONS: [&str; 5] = [
    "create_client",
    "client",
    "update_client",
    "delete_client",
    "list_clients",
];

/// A provider on a fresh memory store and a manual clock.
pub async fn provider() -> (Provider, Arc<ManualClock>) {
    provider_with(Config::new(ISSUER).unwrap()).await
}

/// A provider with the given configuration.
pub async fn provider_with(config: Config) -> (Provider, Arc<ManualClock>) {
    provider_on(config, Arc::new(MemoryStore::new())).await
}

/// A provider with the given configuration on `store` and a manual clock.
pub async fn provider_on(config: Config, store: Arc<dyn Store>) -> (Provider, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_now());
    let provider = Provider::builder(config)
        .store(store)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    (provider, clock)
}

/// A provider on a fresh [`FaultyStore`] (faults off) and a manual clock.
pub async fn faulty_provider() -> (Provider, Arc<FaultyStore>, Arc<ManualClock>) {
    let store = Arc::new(FaultyStore::new());
    let (provider, clock) = provider_on(Config::new(ISSUER).unwrap(), store.clone()).await;
    (provider, store, clock)
}

/// A fresh directory under the system's temporary directory, removed (with everything in
/// it, SQLite WAL files included) on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `oauth2-<purpose>-<pid>-<nanos>`.
    pub fn new(purpose: &str) -> Self {
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let dir =
            std::env::temp_dir().join(format!("oauth2-{purpose}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The `sqlite://` URL of the database file `file` in the directory.
    pub fn sqlite_url(&self, file: &str) -> String {
        format!("sqlite://{}", self.0.join(file).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
