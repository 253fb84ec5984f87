//! `GET /.well-known/jwks.json`: the public parts of every signing key, old ones included.

use http::StatusCode;

use crate::Provider;
use crate::http::{Request, Response, response};

/// Serves the pre-rendered key set.
pub(crate) fn jwks(p: &Provider, _req: Request) -> Response {
    response::json_bytes(StatusCode::OK, p.inner.keys().jwks.clone())
}
