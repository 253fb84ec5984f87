//! Admin endpoint (pending).

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn list(
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

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn create(
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

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn get(_p: &crate::Provider, _id: &str) -> crate::http::Response {
    crate::http::response::error(
        &crate::error::OAuthError::new(
            "not_implemented",
            "This endpoint is not implemented yet.",
            http::StatusCode::NOT_IMPLEMENTED,
        ),
        false,
    )
}

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn update(
    _p: &crate::Provider,
    _req: crate::http::Request,
    _id: &str,
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

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn delete(_p: &crate::Provider, _id: &str) -> crate::http::Response {
    crate::http::response::error(
        &crate::error::OAuthError::new(
            "not_implemented",
            "This endpoint is not implemented yet.",
            http::StatusCode::NOT_IMPLEMENTED,
        ),
        false,
    )
}
