//! The library's data model: clients, scopes, secrets, identifiers.

mod algorithm;
pub mod client;
pub(crate) mod redirect_uri;
pub(crate) mod registration;
pub mod scope;
pub mod secret;
mod vocabulary;

pub use algorithm::{Algorithm, RsaBits, UnsupportedAlgorithm};
pub use vocabulary::{
    AuthMethod, GrantType, InvalidResponseType, ResponseType, SubjectType, UnknownValue,
};
