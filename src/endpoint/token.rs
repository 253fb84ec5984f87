//! Endpoint (pending).

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn token(
    _p: &crate::Provider,
    _req: crate::http::Request,
) -> crate::http::Response {
    crate::http::response::error(
        &crate::error::OAuthError::new(
            "not_implemented",
            "This endpoint is not implemented yet.",
            http::StatusCode::NOT_IMPLEMENTED,
        ),
        false,
    )
}
