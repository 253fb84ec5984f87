//! HTTP plumbing shared by the endpoints: parameter and JSON decoding with limits, client
//! authentication, signed cookies and response builders.

pub(crate) mod client_auth;
pub(crate) mod cookies;
pub(crate) mod cors;
pub(crate) mod params;
pub(crate) mod response;
pub(crate) mod secret_check;

use bytes::Bytes;

/// A request with its body collected.
pub(crate) type Request = http::Request<Bytes>;
/// A response with its body in memory.
pub(crate) type Response = http::Response<Bytes>;
