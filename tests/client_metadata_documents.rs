//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, as MCP uses
//! it) through the public API, with a fake fetcher in place of the host's: an unregistered
//! public client whose `client_id` is its document's URL runs the whole code flow with PKCE;
//! every document or fetch the rules refuse ends at the error page (never at a redirect URI
//! the provider could not trust) or in a 401 at the token endpoint; the feature is off by
//! default, and a registered client always wins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::flow::*;
use common::*;
use http::{Method, StatusCode};
use oauth2_provider::model::client::Client;
use oauth2_provider::testing::UserAgent;
use oauth2_provider::{
    ClientMetadataError, ClientMetadataFetcher, Config, MAX_CLIENT_METADATA_BYTES, ManualClock,
    MemoryStore, Provider, async_trait,
};
use serde_json::{Value, json};

/// The client's id: the URL of its metadata document.
const URL: &str = "https://mcp-client.example.com/oauth/client.json";
/// Where the client wants the code.
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

/// Serves documents from a map and counts the fetches.
#[derive(Debug, Default)]
struct FakeFetcher {
    answers: Mutex<HashMap<String, Result<Bytes, ClientMetadataError>>>,
    fetches: AtomicUsize,
}

impl FakeFetcher {
    fn serve(&self, url: &str, answer: Result<Bytes, ClientMetadataError>) {
        self.answers.lock().unwrap().insert(url.into(), answer);
    }

    fn serve_json(&self, url: &str, document: &Value) {
        self.serve(url, Ok(Bytes::from(document.to_string())));
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ClientMetadataFetcher for FakeFetcher {
    async fn fetch(&self, url: &str) -> Result<Bytes, ClientMetadataError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.answers
            .lock()
            .unwrap()
            .get(url)
            .cloned()
            .unwrap_or(Err(ClientMetadataError::Status(404)))
    }
}

/// The document an MCP client publishes (the MCP specification's example, 2025-11-25).
fn document() -> Value {
    json!({
        "client_id": URL,
        "client_name": "Example MCP Client",
        "client_uri": "https://mcp-client.example.com",
        "redirect_uris": [REDIRECT, "http://localhost:33418/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

fn cimd_config() -> Config {
    let mut config = config();
    config.client_id_metadata_documents = true;
    config.scopes_supported = vec!["mcp:tools".into()];
    config
}

async fn provider_with(config: Config, fetcher: &Arc<FakeFetcher>) -> Provider {
    Provider::builder(config)
        .store(Arc::new(MemoryStore::new()))
        .clock(Arc::new(ManualClock::starting_now()))
        .client_metadata_fetcher(fetcher.clone())
        .build()
        .await
        .unwrap()
}

/// A provider with the feature on, serving [`document`] at [`URL`].
async fn cimd_provider() -> (Provider, Arc<FakeFetcher>) {
    let fetcher = Arc::new(FakeFetcher::default());
    fetcher.serve_json(URL, &document());
    (provider_with(cimd_config(), &fetcher).await, fetcher)
}

/// The MCP SDK's authorization request (`startAuthorization`): code, PKCE S256, the
/// redirect URI, state and scope.
fn mcp_query(client_id: &str) -> String {
    q(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("redirect_uri", REDIRECT),
        ("state", "state-123"),
        ("scope", "openid offline mcp:tools"),
    ])
}

/// The MCP SDK's token request for a public client: `client_id` in the body, no secret.
async fn token(provider: &Provider, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = public(provider, form_request("/oauth2/token", pairs)).await;
    (res.status(), body_json(&res))
}

async fn exchange(provider: &Provider, code: &str) -> (StatusCode, Value) {
    token(
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
            ("client_id", URL),
        ],
    )
    .await
}

/// Runs the flow up to the code, checking what the login and consent apps are told.
async fn code_for(provider: &Provider, ua: &mut UserAgent) -> String {
    let res = ua.authorize(&mcp_query(URL)).await;
    let challenge = param(&res, "login_challenge");
    let login = provider.login_request(&challenge).await.unwrap();
    assert_eq!(login.client.client_id, URL);
    assert_eq!(login.client.client_name, "Example MCP Client");
    assert_eq!(login.client_metadata_document_url.as_deref(), Some(URL));
    let done = provider
        .accept_login(&challenge, login_as("alice"))
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    let challenge = consent_challenge(&res);
    let consent = provider.consent_request(&challenge).await.unwrap();
    assert_eq!(consent.client_metadata_document_url.as_deref(), Some(URL));
    let json = serde_json::to_value(&consent).unwrap();
    assert_eq!(json["client_metadata_document_url"], URL);
    let done = provider
        .accept_consent(&challenge, consent_to(&["openid", "offline", "mcp:tools"]))
        .await
        .unwrap();
    let res = ua.get(&done.redirect_to).await;
    assert!(loc(&res).starts_with(REDIRECT), "{}", loc(&res));
    param(&res, "code")
}

#[tokio::test]
async fn an_unregistered_mcp_client_runs_the_code_flow_with_pkce() {
    let (provider, fetcher) = cimd_provider().await;
    let mut ua = UserAgent::new(&provider);
    let code = code_for(&provider, &mut ua).await;

    // Without the verifier the public client gets nothing; with it, tokens.
    let (status, body) = token(
        &provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", URL),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let code = code_for(&provider, &mut ua).await;
    let (status, body) = exchange(&provider, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        jwt_claims(body["id_token"].as_str().unwrap())["aud"],
        json!([URL])
    );

    // Refresh, userinfo and introspection find the client through its document too.
    let (status, refreshed) = token(
        &provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", URL),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access = refreshed["access_token"]
        .as_str()
        .map_or(access, str::to_owned);
    let mut req = empty_request(Method::GET, "/userinfo");
    req.headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    let res = public(&provider, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_json(&res)["sub"], "alice");
    let info = provider.introspect(&access, None).await.unwrap();
    assert!(info.active);
    assert_eq!(info.client_id, URL);
    assert!(fetcher.fetches() > 0);

    // Once the document is gone, so is the client: its tokens stop working.
    fetcher.serve(URL, Err(ClientMetadataError::Status(410)));
    assert!(!provider.introspect(&access, None).await.unwrap().active);
}

#[tokio::test]
async fn the_metadata_advertise_the_feature_only_when_it_is_on() {
    let fetcher = Arc::new(FakeFetcher::default());
    for (on, want) in [(true, Some(true)), (false, None)] {
        let mut config = cimd_config();
        config.client_id_metadata_documents = on;
        let provider = provider_with(config, &fetcher).await;
        for path in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ] {
            let res = public(&provider, empty_request(Method::GET, path)).await;
            let body = body_json(&res);
            assert_eq!(
                body.get("client_id_metadata_document_supported")
                    .and_then(Value::as_bool),
                want,
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn turned_on_without_a_fetcher_the_provider_does_not_build() {
    let err = Provider::builder(cimd_config()).build().await.unwrap_err();
    assert!(err.to_string().contains("client_metadata_fetcher"), "{err}");
}

#[tokio::test]
async fn off_by_default_a_url_client_id_is_an_unknown_client() {
    assert!(!Config::new(ISSUER).unwrap().client_id_metadata_documents);
    let fetcher = Arc::new(FakeFetcher::default());
    fetcher.serve_json(URL, &document());
    let provider = provider_with(config(), &fetcher).await;
    let res = UserAgent::new(&provider).authorize(&mcp_query(URL)).await;
    assert_error_page(&res, "invalid_client");
    assert!(url_param(&loc(&res), "error_hint").contains("does not exist"));
    let (status, body) = exchange(&provider, "op_ac_x").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(
        fetcher.fetches(),
        0,
        "nothing is fetched while the feature is off"
    );
}

#[tokio::test]
async fn a_registered_client_wins_over_a_document_at_its_id() {
    let (provider, fetcher) = cimd_provider().await;
    let registered = Client {
        client_id: URL.into(),
        redirect_uris: vec![CB.into()],
        scope: "openid".into(),
        token_endpoint_auth_method: "none".into(),
        ..Client::default()
    };
    provider
        .store()
        .create_client(oauth2_provider::model::client::ClientRecord {
            client: registered,
            secret_hash: None,
            registration_token: None,
        })
        .await
        .unwrap();
    let mut ua = UserAgent::new(&provider);
    // The document's redirect URI is not the registered client's.
    let res = ua.authorize(&mcp_query(URL)).await;
    assert_error_page(&res, "invalid_request");
    let query = q(&[
        ("response_type", "code"),
        ("client_id", URL),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "openid"),
    ]);
    let res = ua.authorize(&query).await;
    let challenge = param(&res, "login_challenge");
    let login = provider.login_request(&challenge).await.unwrap();
    assert_eq!(login.client_metadata_document_url, None);
    let json = serde_json::to_value(&login).unwrap();
    assert!(json.get("client_metadata_document_url").is_none());
    assert_eq!(fetcher.fetches(), 0);
}

/// Starts a flow for `client_id` with a document `document` (or a fetch answer) and
/// asserts that it ends at the error page with `invalid_client`, and that the token
/// endpoint refuses the client with a 401.
async fn assert_refused(answer: Result<Bytes, ClientMetadataError>, why: &str) {
    let fetcher = Arc::new(FakeFetcher::default());
    fetcher.serve(URL, answer);
    let provider = provider_with(cimd_config(), &fetcher).await;
    let res = UserAgent::new(&provider).authorize(&mcp_query(URL)).await;
    assert_error_page(&res, "invalid_client");
    let hint = url_param(&loc(&res), "error_hint");
    assert!(hint.contains(why), "{why}: {hint}");
    let (status, body) = exchange(&provider, "op_ac_x").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_hint"].as_str().unwrap().contains(why), "{body}");
}

fn with(key: &str, value: Value) -> Result<Bytes, ClientMetadataError> {
    let mut doc = document();
    doc[key] = value;
    Ok(Bytes::from(doc.to_string()))
}

#[tokio::test]
async fn a_document_for_another_client_id_is_refused() {
    assert_refused(
        with("client_id", "https://other.example.com/client.json".into()),
        "client_id",
    )
    .await;
}

#[tokio::test]
async fn documents_with_bad_redirect_uris_are_refused_at_the_error_page() {
    for uris in [
        json!([]),
        json!(["http://attacker.example/cb"]),
        json!(["javascript:alert(1)"]),
        json!(["https://app.example.com/cb#fragment"]),
    ] {
        assert_refused(with("redirect_uris", uris), "redirect_uris").await;
    }
    // A redirect URI the document does not list is never used.
    let (provider, _) = cimd_provider().await;
    let query = mcp_query(URL).replace("%2Fcallback", "%2Fother");
    let res = UserAgent::new(&provider).authorize(&query).await;
    assert_error_page(&res, "invalid_request");
}

#[tokio::test]
async fn confidential_clients_cannot_use_a_document() {
    for method in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ] {
        assert_refused(with("token_endpoint_auth_method", method.into()), method).await;
    }
    assert_refused(
        with("client_secret", "a-secret-anyone-can-read".into()),
        "client_secret",
    )
    .await;
    // A public document's client cannot authenticate with a secret either.
    let (provider, _) = cimd_provider().await;
    let req = basic_form_request(
        "/oauth2/token",
        URL,
        "guessed-secret",
        &[("grant_type", "client_credentials")],
    );
    assert_error(
        &public(&provider, req).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn fetch_failures_refuse_the_client() {
    for (answer, why) in [
        (Err(ClientMetadataError::Forbidden), "may not be fetched"),
        (Err(ClientMetadataError::Status(302)), "status 302"),
        (Err(ClientMetadataError::Status(500)), "status 500"),
        (Err(ClientMetadataError::TooLarge), "larger than"),
        (Err(ClientMetadataError::Timeout), "in time"),
        (
            Err(ClientMetadataError::Failed("tls: bad certificate".into())),
            "could not be fetched",
        ),
        (
            Ok(Bytes::from_static(b"<html>not json</html>")),
            "JSON object",
        ),
        (
            Ok(Bytes::from(vec![b' '; MAX_CLIENT_METADATA_BYTES + 1])),
            "larger than",
        ),
    ] {
        assert_refused(answer, why).await;
    }
}

#[tokio::test]
async fn ids_that_are_not_client_identifier_urls_are_never_fetched() {
    let fetcher = Arc::new(FakeFetcher::default());
    let provider = provider_with(cimd_config(), &fetcher).await;
    for id in [
        "http://mcp-client.example.com/client.json",
        "https://mcp-client.example.com/",
        "https://mcp-client.example.com/a/../client.json",
        "https://user@mcp-client.example.com/client.json",
        "https://MCP-client.example.com/client.json",
    ] {
        let res = UserAgent::new(&provider).authorize(&mcp_query(id)).await;
        assert_error_page(&res, "invalid_client");
    }
    assert_eq!(fetcher.fetches(), 0);
}

#[tokio::test]
async fn scopes_are_those_advertised_narrowed_by_the_document() {
    let fetcher = Arc::new(FakeFetcher::default());
    let mut doc = document();
    doc["scope"] = "openid unadvertised".into();
    fetcher.serve_json(URL, &doc);
    let provider = provider_with(cimd_config(), &fetcher).await;
    let res = UserAgent::new(&provider).authorize(&mcp_query(URL)).await;
    // The client and its redirect URI are trusted: the error goes to the client.
    assert!(loc(&res).starts_with(REDIRECT), "{}", loc(&res));
    assert_eq!(param(&res, "error"), "invalid_scope");
}
