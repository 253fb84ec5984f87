//! The public endpoints.

pub(crate) mod authorize;
pub(crate) mod discovery;
pub(crate) mod fallbacks;
pub(crate) mod jwks;
pub(crate) mod logout;
pub(crate) mod registration;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;
