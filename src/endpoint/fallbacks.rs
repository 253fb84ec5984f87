//! The built-in pages under `/oauth2/fallbacks/`: the error page (where authorization errors
//! go while the client is not trusted), the placeholder for unconfigured login, consent and
//! logout pages, and the default page after logout. Everything echoed is HTML-escaped (Hydra CVE-2019-8400).

use http::StatusCode;

use crate::context::Context;
use crate::http::params::Params;
use crate::http::response::{escape_html, html};
use crate::http::{Request, Response};

/// A page under `/oauth2/fallbacks/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    /// `error`: where authorization errors go while the client is not trusted.
    Error,
    /// `consent`: the placeholder for unconfigured login, consent and logout pages.
    Consent,
    /// `logout`: where logout lands by default.
    Logout,
}

/// Renders the fallback page `page`.
pub(crate) fn page(_p: &Context, req: &Request, page: Page) -> Response {
    match page {
        Page::Error => error_page(req),
        Page::Consent => simple_page(
            "Login, consent and logout are not configured",
            "The authorization server has no login, consent or logout page configured. Set \
             Config::login_url, Config::consent_url and Config::logout_url to the pages of \
             your application.",
        ),
        Page::Logout => simple_page("Logged out", "You have been logged out."),
    }
}

fn error_page(req: &Request) -> Response {
    // A query past the parameter cap shows an empty page rather than nothing at all.
    let params = Params::from_query(req).unwrap_or_default();
    let field = |name: &str| {
        params
            .pairs()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| escape_html(v))
            .unwrap_or_default()
    };
    let error = field("error");
    let body = format!(
        "<dl><dt>Error</dt><dd id=\"error\">{}</dd><dt>Description</dt>\
         <dd id=\"error_description\">{}</dd><dt>Hint</dt><dd id=\"error_hint\">{}</dd></dl>",
        if error.is_empty() {
            "unknown_error".to_owned()
        } else {
            error
        },
        field("error_description"),
        field("error_hint"),
    );
    render("An error occurred", &body)
}

fn simple_page(title: &str, text: &str) -> Response {
    render(title, &format!("<p>{}</p>", escape_html(text)))
}

fn render(title: &str, body: &str) -> Response {
    html(
        StatusCode::OK,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1>{body}</body></html>",
            t = escape_html(title)
        ),
    )
}
