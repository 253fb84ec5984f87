//! Rendering authorization responses: to the client's redirect URI in the query, the
//! fragment or an auto-submitting form (`form_post`), or — while the client or its redirect
//! URI is not trusted — to the configured error URL, never to the redirect URI.
//!
//! Every response to the client carries `state` (when the request had one) and `iss`
//! (RFC 9207), success and error alike.

use http::StatusCode;

use super::{UrlPart, with_params};
use crate::context::Context;
use crate::error::OAuthError;
use crate::http::Response;
use crate::http::response::{escape_html, html, redirect};

/// Where the parameters of an authorization response go (OAuth 2.0 Multiple Response Types,
/// Form Post Response Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    /// `?…` on the redirect URI (codes and errors only; never tokens).
    Query,
    /// `#…` on the redirect URI.
    Fragment,
    /// An HTML page that POSTs the parameters to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// Parses the `response_mode` parameter.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// A trusted destination: the validated redirect URI, the response mode, and the `state`
/// to echo.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    /// The redirect URI (registered, exactly matched).
    pub(crate) redirect_uri: String,
    /// How parameters are delivered.
    pub(crate) mode: ResponseMode,
    /// The client's `state`, echoed byte for byte.
    pub(crate) state: Option<String>,
}

/// Delivers `params` (plus `state` and `iss`) to the client.
pub(crate) fn deliver(p: &Context, dest: &Destination, params: Vec<(&str, String)>) -> Response {
    let mut all = params;
    if let Some(state) = &dest.state {
        all.push(("state", state.clone()));
    }
    all.push(("iss", p.config.issuer.clone()));
    match dest.mode {
        ResponseMode::Query => redirect(&with_params(&dest.redirect_uri, UrlPart::Query, &all)),
        ResponseMode::Fragment => {
            redirect(&with_params(&dest.redirect_uri, UrlPart::Fragment, &all))
        }
        ResponseMode::FormPost => form_post(&dest.redirect_uri, &all),
    }
}

/// Delivers an OAuth error to the client.
pub(crate) fn deliver_error(p: &Context, dest: &Destination, err: &OAuthError) -> Response {
    deliver(p, dest, error_params(p, err))
}

/// Sends the browser to the configured error URL: the only place errors go while the client
/// or redirect URI is not validated (no open redirect).
pub(crate) fn to_error_url(p: &Context, err: &OAuthError) -> Response {
    let params = error_params(p, err);
    redirect(&with_params(&p.config.error_url, UrlPart::Query, &params))
}

/// `error`, `error_description`, `error_hint` and (when shared) `error_debug`, restricted to
/// the characters RFC 6749 §4.1.2.1 allows (no CR, LF, `"` or `\`).
fn error_params(p: &Context, err: &OAuthError) -> Vec<(&'static str, String)> {
    crate::trace::error(err.error.as_str());
    p.counters.error_rendered(err);
    let mut params = vec![
        ("error", safe_error_text(err.error.as_str())),
        ("error_description", safe_error_text(&err.description)),
    ];
    if let Some(hint) = &err.hint {
        params.push(("error_hint", safe_error_text(hint)));
    }
    if p.config.share_error_debug {
        if let Some(debug) = &err.debug {
            params.push(("error_debug", safe_error_text(debug)));
        }
    }
    params
}

/// Replaces every character outside `%x20-21 / %x23-5B / %x5D-7E` with a space.
pub(crate) fn safe_error_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => ' ',
        })
        .collect()
}

/// The `form_post` page: every value and the action escaped; submits itself on load.
fn form_post(action: &str, params: &[(&str, String)]) -> Response {
    let mut inputs = String::new();
    for (name, value) in params {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape_html(name),
            escape_html(value)
        ));
    }
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Submitting…</title></head>\
         <body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{}\
         <noscript><button type=\"submit\">Continue</button></noscript></form></body></html>",
        escape_html(action),
        inputs
    );
    html(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_restricted() {
        assert_eq!(safe_error_text("a\r\nb\"c\\d"), "a  b c d");
    }

    #[test]
    fn form_post_escapes_action_and_values() {
        let res = form_post(
            "https://c.example/cb?\"><script>",
            &[("state", "\"><script>alert(1)</script>".to_owned())],
        );
        let body = String::from_utf8(res.body().to_vec()).unwrap();
        assert!(!body.contains("<script>"));
        assert!(body.contains("&quot;&gt;&lt;script&gt;"));
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }
}
