//! Fallback pages (pending).

/// Not yet implemented.
pub(crate) fn page(
    _p: &crate::Provider,
    _req: crate::http::Request,
    _page: &str,
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
