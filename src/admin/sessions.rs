//! Admin endpoint (pending).

/// Not yet implemented: answers 501 until its issue lands.
pub(crate) async fn list_consent_sessions(
    _p: &crate::Provider,
    _req: crate::http::Request,
    _user: &str,
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
pub(crate) async fn revoke_consent_sessions(
    _p: &crate::Provider,
    _user: &str,
    _client: Option<&str>,
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
pub(crate) async fn revoke_login_sessions(
    _p: &crate::Provider,
    _user: &str,
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
