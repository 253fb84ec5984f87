//! `GET /.well-known/jwks.json`: the public parts of every signing key, old ones included.

use http::StatusCode;

use crate::context::Context;
use crate::http::{Request, Response, response};

/// Serves the pre-rendered key set.
pub(crate) fn jwks(p: &Context, _req: &Request) -> Response {
    response::json_bytes(StatusCode::OK, p.keys().jwks.clone())
}
