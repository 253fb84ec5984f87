//! A small demo login and consent app for the axum example, and the demo client that uses it.
//!
//! `GET /demo/start` sends the browser through a real authorization-code flow with PKCE:
//! the provider redirects to `/demo/login` (any user name is accepted — there are no
//! passwords here, this is where a host checks its users), then to `/demo/consent` (the
//! requested scopes and resources as checkboxes), then to `/demo/callback`, which redeems
//! the code at the token endpoint in-process and shows the tokens, with a link that logs out
//! (RP-initiated logout, confirmed on `/demo/logout`, back to `/demo/`). Every echoed value is
//! HTML-escaped and every page is sent with `X-Frame-Options: DENY` and a restrictive CSP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use oauth2_provider::{
    AcceptConsentRequest, AcceptLoginRequest, Client, Error, Provider, RejectRequest,
};
use sha2::{Digest, Sha256};

use crate::common::Failure;

/// Where the demo is mounted under the issuer.
pub(crate) const PATH: &str = "/demo";
/// The demo client's id.
const CLIENT_ID: &str = "demo-client";
/// The scopes the demo client asks for.
const SCOPE: &str = "openid offline profile email";
/// Pending authorization requests kept at most (state → PKCE verifier); older ones are dropped.
const MAX_PENDING: usize = 1024;
/// The demo's state cookie, binding the callback to the browser that started the flow.
const STATE_COOKIE: &str = "demo_state";

/// The demo's shared state.
#[derive(Debug)]
struct Demo {
    provider: Provider,
    /// `{issuer}/demo`, for absolute URLs.
    base: String,
    /// PKCE verifiers of flows in progress, by `state`.
    pending: Mutex<HashMap<String, String>>,
}

impl Demo {
    fn redirect_uri(&self) -> String {
        format!("{}/callback", self.base)
    }

    /// RP-initiated logout of the demo client, back to the demo's index.
    fn logout_url(&self, id_token: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", &format!("{}/", self.base))
            .append_pair("state", &random_token())
            .finish();
        let issuer = self.provider.config().issuer.trim_end_matches('/');
        format!("{issuer}/oauth2/sessions/logout?{query}")
    }
}

fn base_url(provider: &Provider) -> String {
    format!("{}{PATH}", provider.config().issuer.trim_end_matches('/'))
}

/// Registers the demo client (a public client using PKCE) unless it exists already, and
/// returns the URL that starts a flow.
pub(crate) async fn register_client(provider: &Provider) -> Result<String, Failure> {
    let base = base_url(provider);
    let client = Client {
        client_id: CLIENT_ID.into(),
        client_name: "Demo client".into(),
        redirect_uris: vec![format!("{base}/callback")],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        scope: SCOPE.into(),
        token_endpoint_auth_method: "none".into(),
        post_logout_redirect_uris: vec![format!("{base}/")],
        ..Default::default()
    };
    match provider.create_client(client).await {
        Ok(_) | Err(Error::Conflict(_)) => Ok(format!("{base}/start")),
        Err(e) => Err(Failure::Runtime(format!(
            "the demo client could not be registered: {e}"
        ))),
    }
}

/// The demo's routes, to nest under [`PATH`].
pub(crate) fn router(provider: &Provider) -> Router {
    let demo = Arc::new(Demo {
        base: base_url(provider),
        provider: provider.clone(),
        pending: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/", get(index))
        .route("/start", get(start))
        .route("/login", get(login_page).post(login_submit))
        .route("/consent", get(consent_page).post(consent_submit))
        .route("/callback", get(callback))
        .route("/logout", get(logout_page).post(logout_submit))
        .layer(DefaultBodyLimit::max(provider.config().max_body_bytes))
        .with_state(demo)
}

// ---------------------------------------------------------------------------------------
// HTML

/// Escapes text for element content and double-quoted attributes, as a host's template
/// engine would (`&`, `<`, `>`, `"`, `'` and `/`).
fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_safe(text)
}

/// A page that cannot be framed, runs no script, and is not cached.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}\
         pre{{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem}}\
         label{{display:block;margin:.3rem 0}}button{{margin:.5rem .5rem 0 0}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    );
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `form-action *`: the forms post here, but the redirect that follows goes to the
    // client's redirect URI, which browsers also check against form-action.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A typed-API error as a page with the matching status.
fn error_page(err: &Error) -> Response {
    let status = match err {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::OAuth(e) => e.status,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    page(
        status,
        "Something went wrong",
        &format!("<p id=\"error\">{}</p>", escape(&err.to_string())),
    )
}

/// One ticked checkbox `name` per value, labelled by `label` (given the escaped value).
fn checkboxes(name: &str, values: &[String], label: impl Fn(&str) -> String) -> String {
    values
        .iter()
        .map(|value| {
            let value = escape(value);
            format!(
                "<label><input type=\"checkbox\" name=\"{name}\" value=\"{value}\" checked> \
                 {}</label>",
                label(&value)
            )
        })
        .collect()
}

fn bad_request(why: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Bad request",
        &format!("<p id=\"error\">{}</p>", escape(why)),
    )
}

// ---------------------------------------------------------------------------------------
// Form and query decoding

/// The decoded `name=value` pairs of a query string or form body.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(encoded: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(encoded)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn query(uri: &Uri) -> Self {
        Self::parse(uri.query().unwrap_or("").as_bytes())
    }

    /// The first value of `name`, if present and non-empty.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (checkbox groups).
    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn random_token() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

// ---------------------------------------------------------------------------------------
// Handlers

async fn index(State(demo): State<Arc<Demo>>) -> Response {
    page(
        StatusCode::OK,
        "oauth2-provider demo",
        &format!(
            "<p>This demo runs an OpenID Connect authorization-code flow with PKCE against \
             this server, using its demo login and consent pages.</p>\
             <p><a id=\"start\" href=\"{}/start\">Start a flow</a></p>",
            escape(&demo.base)
        ),
    )
}

/// Starts a flow: a fresh `state` and PKCE verifier, then off to `/oauth2/auth`.
async fn start(State(demo): State<Arc<Demo>>) -> Response {
    let state = random_token();
    let verifier = random_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    {
        let mut pending = demo
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pending.len() >= MAX_PENDING {
            pending.clear();
        }
        pending.insert(state.clone(), verifier);
    }
    let redirect_uri = demo.redirect_uri();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("state", &state)
        .append_pair("nonce", &random_token())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let issuer = demo.provider.config().issuer.trim_end_matches('/');
    let mut res = Redirect::to(&format!("{issuer}/oauth2/auth?{query}")).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{STATE_COOKIE}={state}; Path={PATH}; HttpOnly; SameSite=Lax"
    )) {
        res.headers_mut().insert(header::SET_COOKIE, value);
    }
    res
}

async fn login_page(State(demo): State<Arc<Demo>>, uri: Uri) -> Response {
    let query = Fields::query(&uri);
    let Some(challenge) = query.get("login_challenge") else {
        return bad_request("The login_challenge parameter is missing.");
    };
    let request = match demo.provider.login_request(challenge).await {
        Ok(request) => request,
        Err(e) => return error_page(&e),
    };
    if request.skip {
        // A remembered session authenticated the user already: no form.
        let accept = AcceptLoginRequest {
            subject: request.subject,
            ..Default::default()
        };
        return match demo.provider.accept_login(challenge, accept).await {
            Ok(done) => Redirect::to(&done.redirect_to).into_response(),
            Err(e) => error_page(&e),
        };
    }
    let client = if request.client.client_name.is_empty() {
        &request.client.client_id
    } else {
        &request.client.client_name
    };
    page(
        StatusCode::OK,
        "Log in",
        &format!(
            "<p><strong>{client}</strong> asks you to log in. This demo accepts any user \
             name; a real app checks a password here.</p>\
             <form method=\"post\" action=\"{base}/login\">\
             <input type=\"hidden\" name=\"challenge\" value=\"{challenge}\">\
             <label>User name <input id=\"username\" name=\"username\" required \
             autocomplete=\"username\"></label>\
             <label><input type=\"checkbox\" name=\"remember\" value=\"1\"> Remember me</label>\
             <button id=\"login\" name=\"action\" value=\"accept\">Log in</button>\
             <button id=\"deny\" name=\"action\" value=\"deny\" formnovalidate>Cancel</button>\
             </form>",
            client = escape(client),
            base = escape(&demo.base),
            challenge = escape(challenge),
        ),
    )
}

async fn login_submit(State(demo): State<Arc<Demo>>, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let Some(challenge) = form.get("challenge") else {
        return bad_request("The challenge field is missing.");
    };
    let result = if form.get("action") == Some("deny") {
        let reject = RejectRequest {
            error: "access_denied".into(),
            error_description: "The user cancelled the login.".into(),
            ..Default::default()
        };
        demo.provider.reject_login(challenge, reject).await
    } else {
        let Some(subject) = form
            .get("username")
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            return bad_request("Enter a user name.");
        };
        let accept = AcceptLoginRequest {
            subject: subject.to_owned(),
            remember: form.get("remember").is_some(),
            ..Default::default()
        };
        demo.provider.accept_login(challenge, accept).await
    };
    match result {
        Ok(done) => Redirect::to(&done.redirect_to).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn consent_page(State(demo): State<Arc<Demo>>, uri: Uri) -> Response {
    let query = Fields::query(&uri);
    let Some(challenge) = query.get("consent_challenge") else {
        return bad_request("The consent_challenge parameter is missing.");
    };
    let request = match demo.provider.consent_request(challenge).await {
        Ok(request) => request,
        Err(e) => return error_page(&e),
    };
    if request.skip {
        // A remembered consent covers these scopes and resources already.
        let accept = AcceptConsentRequest {
            grant_scope: request.requested_scope,
            grant_access_token_audience: request.requested_access_token_audience,
            ..Default::default()
        };
        return match demo.provider.accept_consent(challenge, accept).await {
            Ok(done) => Redirect::to(&done.redirect_to).into_response(),
            Err(e) => error_page(&e),
        };
    }
    let client = if request.client.client_name.is_empty() {
        &request.client.client_id
    } else {
        &request.client.client_name
    };
    let scopes = checkboxes("grant_scope", &request.requested_scope, str::to_owned);
    // The resources (RFC 8707) the access is for: the `aud` of the access tokens.
    let resources = checkboxes(
        "grant_access_token_audience",
        &request.requested_access_token_audience,
        |resource| format!("for use at <code>{resource}</code>"),
    );
    page(
        StatusCode::OK,
        "Grant access",
        &format!(
            "<p>Hello <strong id=\"subject\">{subject}</strong>. <strong>{client}</strong> \
             asks for these permissions:</p>\
             <form method=\"post\" action=\"{base}/consent\">\
             <input type=\"hidden\" name=\"challenge\" value=\"{challenge}\">{scopes}{resources}\
             <label><input type=\"checkbox\" name=\"remember\" value=\"1\"> Remember this \
             decision</label>\
             <button id=\"allow\" name=\"action\" value=\"accept\">Allow</button>\
             <button id=\"deny\" name=\"action\" value=\"deny\">Deny</button>\
             </form>",
            subject = escape(&request.subject),
            client = escape(client),
            base = escape(&demo.base),
            challenge = escape(challenge),
        ),
    )
}

async fn consent_submit(State(demo): State<Arc<Demo>>, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let Some(challenge) = form.get("challenge") else {
        return bad_request("The challenge field is missing.");
    };
    let result = if form.get("action") == Some("deny") {
        let reject = RejectRequest {
            error: "access_denied".into(),
            error_description: "The user denied the request.".into(),
            ..Default::default()
        };
        demo.provider.reject_consent(challenge, reject).await
    } else {
        let accept = AcceptConsentRequest {
            grant_scope: form.all("grant_scope"),
            grant_access_token_audience: form.all("grant_access_token_audience"),
            remember: form.get("remember").is_some(),
            ..Default::default()
        };
        demo.provider.accept_consent(challenge, accept).await
    };
    match result {
        Ok(done) => Redirect::to(&done.redirect_to).into_response(),
        Err(e) => error_page(&e),
    }
}

/// The demo client's redirect URI: checks `state`, redeems the code in-process, shows tokens.
async fn callback(State(demo): State<Arc<Demo>>, uri: Uri, headers: HeaderMap) -> Response {
    let query = Fields::query(&uri);
    if let Some(error) = query.get("error") {
        return page(
            StatusCode::OK,
            "The flow ended with an error",
            &format!(
                "<p>error: <code id=\"error\">{}</code></p><p>{}</p>\
                 <p><a href=\"{}/start\">Try again</a></p>",
                escape(error),
                escape(query.get("error_description").unwrap_or("")),
                escape(&demo.base),
            ),
        );
    }
    let (Some(code), Some(state)) = (query.get("code"), query.get("state")) else {
        return bad_request("The code or state parameter is missing.");
    };
    if cookie(&headers, STATE_COOKIE) != Some(state) {
        return bad_request("The state does not belong to this browser (start the flow again).");
    }
    let verifier = demo
        .pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(state);
    let Some(verifier) = verifier else {
        return bad_request("Unknown or already used state (start the flow again).");
    };
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &demo.redirect_uri())
        .append_pair("client_id", CLIENT_ID)
        .append_pair("code_verifier", &verifier)
        .finish();
    let token_request = http::Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Bytes::from(form));
    let token_request = match token_request {
        Ok(req) => req,
        Err(e) => return bad_request(&e.to_string()),
    };
    let res = demo.provider.public().handle(token_request).await;
    let tokens: serde_json::Value = serde_json::from_slice(res.body()).unwrap_or_default();
    if !res.status().is_success() {
        return page(
            StatusCode::BAD_GATEWAY,
            "The code exchange failed",
            &format!(
                "<pre id=\"error\">{}</pre>",
                escape(&String::from_utf8_lossy(res.body()))
            ),
        );
    }
    let field = |name: &str| tokens[name].as_str().unwrap_or("").to_owned();
    let id_token = field("id_token");
    let claims = id_token_claims(&id_token).unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&claims).unwrap_or_default();
    page(
        StatusCode::OK,
        "Tokens received",
        &format!(
            "<p>The demo client redeemed its code. Subject: \
             <strong id=\"subject\">{sub}</strong></p>\
             <h2>ID token</h2><pre id=\"id_token\">{id_token}</pre>\
             <h2>ID token claims</h2><pre id=\"id_token_claims\">{pretty}</pre>\
             <h2>Access token</h2><pre id=\"access_token\">{access}</pre>\
             <h2>Refresh token</h2><pre id=\"refresh_token\">{refresh}</pre>\
             <p>Granted scope: <code id=\"scope\">{scope}</code></p>\
             <p><a href=\"{base}/start\">Start another flow</a></p>\
             <p><a id=\"logout\" href=\"{logout}\">Log out</a></p>",
            sub = escape(claims["sub"].as_str().unwrap_or("")),
            id_token = escape(&id_token),
            pretty = escape(&pretty),
            access = escape(&field("access_token")),
            refresh = escape(&field("refresh_token")),
            scope = escape(&field("scope")),
            base = escape(&demo.base),
            logout = escape(&demo.logout_url(&id_token)),
        ),
    )
}

/// The logout page: asks the user to confirm (a link alone must not log anyone out).
async fn logout_page(State(demo): State<Arc<Demo>>, uri: Uri) -> Response {
    let query = Fields::query(&uri);
    let Some(challenge) = query.get("logout_challenge") else {
        return bad_request("The logout_challenge parameter is missing.");
    };
    let request = match demo.provider.logout_request(challenge).await {
        Ok(request) => request,
        Err(e) => return error_page(&e),
    };
    page(
        StatusCode::OK,
        "Log out",
        &format!(
            "<p>Log <strong id=\"subject\">{subject}</strong> out of every application of \
             this session?</p>\
             <form method=\"post\" action=\"{base}/logout\">\
             <input type=\"hidden\" name=\"challenge\" value=\"{challenge}\">\
             <button id=\"confirm-logout\" name=\"action\" value=\"accept\">Log out</button>\
             <button id=\"stay\" name=\"action\" value=\"reject\">Stay logged in</button>\
             </form>",
            subject = escape(&request.subject),
            base = escape(&demo.base),
            challenge = escape(challenge),
        ),
    )
}

async fn logout_submit(State(demo): State<Arc<Demo>>, body: Bytes) -> Response {
    let form = Fields::parse(&body);
    let Some(challenge) = form.get("challenge") else {
        return bad_request("The challenge field is missing.");
    };
    if form.get("action") == Some("reject") {
        return match demo.provider.reject_logout(challenge).await {
            Ok(()) => Redirect::to(&format!("{}/", demo.base)).into_response(),
            Err(e) => error_page(&e),
        };
    }
    match demo.provider.accept_logout(challenge).await {
        Ok(done) => Redirect::to(&done.redirect_to).into_response(),
        Err(e) => error_page(&e),
    }
}

/// The claims of a JWT, decoded for display only (the token came straight from the
/// provider in-process; a relying party verifies the signature against the JWKS).
fn id_token_claims(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}
