//! The library's data model: clients, scopes, secrets, identifiers.

mod algorithm;
pub mod client;
pub(crate) mod redirect_uri;
pub mod scope;
pub mod secret;

pub use algorithm::{Algorithm, UnsupportedAlgorithm};
