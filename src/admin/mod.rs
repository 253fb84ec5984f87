//! The admin endpoints: a JSON layer over the typed API.

pub(crate) mod clients;
pub(crate) mod flush;
pub(crate) mod health;
pub(crate) mod introspect;
pub(crate) mod keys;
pub(crate) mod requests;
pub(crate) mod sessions;

pub use flush::FlushSummary;
pub use introspect::Introspection;
pub use keys::{JsonWebKeySetGeneratorRequest, SIGNING_SET};
pub use sessions::PreviousConsentSession;
