//! Test support for hosts (feature `testing`): an in-process harness for driving flows, the
//! store conformance kit, and [`fixtures`] for seeding a store in the provider's own formats.
//!
//! [`Harness`] builds a provider on a [`MemoryStore`] and a [`ManualClock`]; [`UserAgent`] is
//! a tiny browser: it keeps cookies, follows redirects that stay on the provider (through
//! [`PublicApi::handle`](crate::PublicApi::handle), no sockets), and stops at the first
//! response that leaves it — the login page, the consent page, the error URL (also when they
//! are the provider's own fallback pages), or the client's redirect URI.
//! [`UserAgent::authorize_and_consent`] runs a whole authorize → login → consent round with
//! typed accept calls, so a test can get a code in one line and then exercise the token
//! endpoint, or test its own login and consent logic step by step.
//!
//! ```
//! use oauth2_provider::testing::{Harness, redirect_param};
//! use oauth2_provider::{AcceptConsentRequest, AcceptLoginRequest, Client, Config};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let harness = Harness::new(Config::new("https://auth.example.com/")?).await?;
//! harness
//!     .register(
//!         Client {
//!             client_id: "app".into(),
//!             redirect_uris: vec!["https://app.example.com/cb".into()],
//!             scope: "openid offline".into(),
//!             ..Client::default()
//!         },
//!         Some("app-secret"),
//!     )
//!     .await?;
//!
//! // Step by step: the browser lands on the login page with a challenge.
//! let mut browser = harness.user_agent();
//! let res = browser
//!     .authorize("client_id=app&response_type=code&scope=openid&state=xyz12345")
//!     .await;
//! let challenge = redirect_param(&res, "login_challenge").unwrap();
//! let login = harness.provider.login_request(&challenge).await?;
//! assert!(!login.skip);
//!
//! // Or all at once: the final redirect to the client carries the code.
//! let mut browser = harness.user_agent();
//! let code = browser
//!     .code(
//!         "client_id=app&response_type=code&scope=openid%20offline&state=xyz12345",
//!         AcceptLoginRequest { subject: "alice".into(), ..Default::default() },
//!         AcceptConsentRequest {
//!             grant_scope: vec!["openid".into(), "offline".into()],
//!             ..Default::default()
//!         },
//!     )
//!     .await?;
//! assert!(code.starts_with("op_ac_"));
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, header};

use crate::model::client::{Client, ClientRecord, SecretHash};
use crate::{
    AcceptConsentRequest, AcceptLoginRequest, Config, Error, ManualClock, MemoryStore, Provider,
};

pub mod conformance;
mod faulty;
pub mod fixtures;

pub use faulty::FaultyStore;

/// A provider on a [`MemoryStore`] and a [`ManualClock`] (starting at the current second).
#[derive(Debug, Clone)]
pub struct Harness {
    /// The provider under test.
    pub provider: Provider,
    /// Its clock: `harness.clock.advance(Duration::minutes(5))` to test expiry.
    pub clock: Arc<ManualClock>,
}

impl Harness {
    /// Builds the provider.
    pub async fn new(config: Config) -> Result<Self, Error> {
        let clock = Arc::new(ManualClock::starting_now());
        let provider = Provider::builder(config)
            .store(Arc::new(MemoryStore::new()))
            .clock(clock.clone())
            .build()
            .await?;
        Ok(Self { provider, clock })
    }

    /// Stores a client directly (no validation). With `secret` it is confidential
    /// (`client_secret_basic` unless the client says otherwise); without, it must be public
    /// (`token_endpoint_auth_method = "none"`).
    pub async fn register(&self, client: Client, secret: Option<&str>) -> Result<(), Error> {
        let record = ClientRecord {
            client: Client {
                client_secret: None,
                ..client
            },
            secret_hash: secret.map(SecretHash::of_generated),
            registration_token: None,
        };
        Ok(self.provider.store().create_client(record).await?)
    }

    /// A fresh browser with an empty cookie jar.
    pub fn user_agent(&self) -> UserAgent {
        UserAgent::new(&self.provider)
    }
}

/// A minimal browser over the provider's public API: a cookie jar keyed by name, and
/// redirect following that stays on the provider.
#[derive(Debug, Clone)]
pub struct UserAgent {
    provider: Provider,
    cookies: BTreeMap<String, String>,
}

/// Redirects followed before giving up (a loop would otherwise never end).
const MAX_REDIRECTS: usize = 20;

impl UserAgent {
    /// A browser with an empty cookie jar.
    pub fn new(provider: &Provider) -> Self {
        Self {
            provider: provider.clone(),
            cookies: BTreeMap::new(),
        }
    }

    /// `GET /oauth2/auth?{query}`, following redirects on the provider.
    pub async fn authorize(&mut self, query: &str) -> Response<Bytes> {
        let url = format!("{}/oauth2/auth?{query}", self.provider.config().base_url());
        self.get(&url).await
    }

    /// `GET url` (an absolute URL on the provider's issuer, or a path), following redirects
    /// that stay on the provider; returns the first response that does not.
    pub async fn get(&mut self, url: &str) -> Response<Bytes> {
        self.send(Method::GET, url, None).await
    }

    /// `POST url` with a form body, following redirects like [`UserAgent::get`].
    pub async fn post_form(&mut self, url: &str, pairs: &[(&str, &str)]) -> Response<Bytes> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.send(Method::POST, url, Some(Bytes::from(body))).await
    }

    /// The value of a cookie in the jar (as the provider set it, i.e. signed).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Puts a cookie into the jar (e.g. to simulate a stolen or forged cookie).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    /// Empties the cookie jar (a new browser with the same handle).
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    /// Names of the cookies in the jar.
    pub fn cookie_names(&self) -> Vec<String> {
        self.cookies.keys().cloned().collect()
    }

    async fn send(&mut self, method: Method, url: &str, body: Option<Bytes>) -> Response<Bytes> {
        let mut method = method;
        let mut body = body;
        let mut target = self.on_provider(url).unwrap_or_else(|| url.to_owned());
        for _ in 0..MAX_REDIRECTS {
            let res = self.once(&method, &target, body.take()).await;
            let next = location(&res)
                .filter(|l| !self.is_host_page(l))
                .and_then(|l| self.on_provider(l));
            match next {
                Some(path) if res.status().is_redirection() => {
                    target = path;
                    method = Method::GET;
                }
                _ => return res,
            }
        }
        self.once(&method, &target, None).await
    }

    /// Whether `url` is one of the host's pages (login, consent, error, logout), where the browser
    /// stops even when the page is one of the provider's fallbacks.
    fn is_host_page(&self, url: &str) -> bool {
        let config = self.provider.config();
        [
            &config.login_url,
            &config.consent_url,
            &config.error_url,
            &config.logout_url,
        ]
        .iter()
        .any(|page| {
            url.strip_prefix(page.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['?', '#']))
        })
    }

    /// The path and query of `url` if it points at the provider (or is already a path).
    fn on_provider(&self, url: &str) -> Option<String> {
        if url.starts_with('/') {
            return Some(url.to_owned());
        }
        let base = self.provider.config().base_url();
        let rest = url.strip_prefix(base)?;
        match rest.chars().next() {
            None => Some("/".to_owned()),
            Some('/') => Some(rest.to_owned()),
            Some('?') => Some(format!("/{rest}")),
            _ => None,
        }
    }

    async fn once(&mut self, method: &Method, path: &str, body: Option<Bytes>) -> Response<Bytes> {
        let mut builder = Request::builder().method(method.clone()).uri(path);
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header(header::COOKIE, cookie);
        }
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = match builder.body(body.unwrap_or_default()) {
            Ok(req) => req,
            Err(e) => {
                let mut res = Response::new(Bytes::from(format!("bad request URL {path}: {e}")));
                *res.status_mut() = http::StatusCode::BAD_REQUEST;
                return res;
            }
        };
        let res = self.provider.public().handle(req).await;
        self.store_cookies(&res);
        res
    }

    fn store_cookies(&mut self, res: &Response<Bytes>) {
        for value in res.headers().get_all(header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let deleted = parts.any(|attr| {
                attr.trim().split_once('=').is_some_and(|(k, v)| {
                    k.eq_ignore_ascii_case("max-age") && v.trim().starts_with(['0', '-'])
                })
            });
            if deleted || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// Runs authorize → login → consent: starts at `/oauth2/auth?{query}`, accepts the login
    /// and the consent with the given bodies (forcing `remember = false` when the request is
    /// `skip`, as the API requires), and returns the response that leaves the provider —
    /// normally the redirect to the client with the code or tokens, or an error.
    pub async fn authorize_and_consent(
        &mut self,
        query: &str,
        login: AcceptLoginRequest,
        consent: AcceptConsentRequest,
    ) -> Result<Response<Bytes>, FlowError> {
        let mut res = self.authorize(query).await;
        if let Some(challenge) = redirect_param(&res, "login_challenge") {
            let request = self.provider.login_request(&challenge).await?;
            let mut body = login;
            if request.skip {
                body.remember = false;
            }
            let done = self.provider.accept_login(&challenge, body).await?;
            res = self.get(&done.redirect_to).await;
        }
        if let Some(challenge) = redirect_param(&res, "consent_challenge") {
            let request = self.provider.consent_request(&challenge).await?;
            let mut body = consent;
            if request.skip {
                body.remember = false;
            }
            let done = self.provider.accept_consent(&challenge, body).await?;
            res = self.get(&done.redirect_to).await;
        }
        Ok(res)
    }

    /// Like [`UserAgent::authorize_and_consent`], returning the authorization code (from the
    /// query or the fragment); an error if the client got none.
    pub async fn code(
        &mut self,
        query: &str,
        login: AcceptLoginRequest,
        consent: AcceptConsentRequest,
    ) -> Result<String, FlowError> {
        let res = self.authorize_and_consent(query, login, consent).await?;
        redirect_param(&res, "code").ok_or_else(|| FlowError {
            message: format!(
                "no code in the final response ({}, location {:?}, error {:?})",
                res.status(),
                location(&res),
                redirect_param(&res, "error")
            ),
        })
    }
}

/// The `Location` header of a response.
pub fn location(res: &Response<Bytes>) -> Option<&str> {
    res.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
}

/// A parameter of the redirect in `res`: looked up in the query, then the fragment.
pub fn redirect_param(res: &Response<Bytes>, name: &str) -> Option<String> {
    let url = url::Url::parse(location(res)?).ok()?;
    let from = |text: Option<&str>| {
        url::form_urlencoded::parse(text.unwrap_or("").as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    from(url.query()).or_else(|| from(url.fragment()))
}

/// A flow driven by the harness did not go as expected.
#[derive(Debug)]
pub struct FlowError {
    message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FlowError {}

impl From<Error> for FlowError {
    fn from(e: Error) -> Self {
        Self {
            message: e.to_string(),
        }
    }
}
