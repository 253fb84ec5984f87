//! oauth2-provider: an embeddable OAuth 2.0 / OpenID Connect authorization server.

pub mod jose;
