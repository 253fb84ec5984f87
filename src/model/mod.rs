//! The library's data model: clients, scopes, secrets, identifiers.

mod algorithm;
pub mod client;
pub(crate) mod metadata_document;
pub(crate) mod redirect_uri;
pub(crate) mod registration;
pub(crate) mod resource;
pub mod scope;
pub mod secret;
pub(crate) mod seen;
mod vocabulary;

pub use algorithm::{Algorithm, RsaBits, UnsupportedAlgorithm};

/// What ending a login session (logout, or the admin API) does to the tokens of the grants
/// issued in it ([`Config::tokens_at_logout`](crate::Config::tokens_at_logout)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokensAtLogout {
    /// They stay valid until they expire or are revoked, as in Hydra v2: logout ends the
    /// login session and tells the relying parties.
    #[default]
    Keep,
    /// Every token and unused code of those grants is revoked with the session, in the same
    /// store call.
    RevokeGrants,
}
pub use vocabulary::{
    AccessTokenStrategy, ApplicationType, AuthMethod, GrantType, InvalidResponseType, ResponseType,
    SubjectType, UnknownValue,
};
