//! HTTP plumbing shared by the endpoints: parameter and JSON decoding with limits, signed
//! cookies and response builders. No business rules: nothing here reads the store.

pub(crate) mod bearer;
pub(crate) mod cookies;
pub(crate) mod params;
pub(crate) mod response;

use bytes::Bytes;

/// A request with its body collected.
pub(crate) type Request = http::Request<Bytes>;
/// A response with its body in memory.
pub(crate) type Response = http::Response<Bytes>;
