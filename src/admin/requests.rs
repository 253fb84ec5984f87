//! Admin endpoint (pending).

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn get_login(_p: &crate::Provider, _c: &str) -> crate::http::Response {
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
pub(crate) async fn accept_login(
    _p: &crate::Provider,
    _req: crate::http::Request,
    _c: &str,
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
pub(crate) async fn reject_login(
    _p: &crate::Provider,
    _req: crate::http::Request,
    _c: &str,
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
pub(crate) async fn get_consent(_p: &crate::Provider, _c: &str) -> crate::http::Response {
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
pub(crate) async fn accept_consent(
    _p: &crate::Provider,
    _req: crate::http::Request,
    _c: &str,
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
pub(crate) async fn reject_consent(
    _p: &crate::Provider,
    _req: crate::http::Request,
    _c: &str,
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
