//! An independent relying party — the `openidconnect` crate — completes the code flow with
//! PKCE against the provider: discovery, authorization URL (PKCE S256, nonce, state), login
//! and consent through the harness's browser, code exchange with ID-token verification
//! against the JWKS, refresh, and userinfo. Its HTTP client hook calls
//! `provider.public().handle` directly, so no sockets are involved, but every request and
//! response is built and parsed by the relying party's own code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fmt;

use bytes::Bytes;
use common::flow::{consent_to, login_as};
use common::seed::REDIRECT;
use common::{ISSUER, json_request, query_param};
use http::{Method, Request, StatusCode};
use oauth2_provider::testing::{Harness, UserAgent, redirect_param};
use oauth2_provider::{Algorithm, Config, Provider};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdTokenVerifier,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RequestTokenError,
    Scope, StandardErrorResponse, SubjectIdentifier, TokenResponse, UserInfoError,
};
use serde_json::json;

const SECRET: &str = "rp-secret-0123456789abcdefghijklmnopqrstuvwxyz";

/// The relying party's HTTP transport failed (never expected: the provider always answers).
#[derive(Debug)]
struct TransportError(String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// The relying party's HTTP client: hands each request to the provider's public API and
/// checks on the way that it is addressed to the issuer.
async fn send(
    provider: &Provider,
    req: Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, TransportError> {
    let target = req.uri().to_string();
    if !target.starts_with(provider.config().issuer.trim_end_matches('/')) {
        return Err(TransportError(format!(
            "request leaves the provider: {target}"
        )));
    }
    let res = provider.public().handle(req.map(Bytes::from)).await;
    Ok(res.map(|body| body.to_vec()))
}

/// Registers the relying party through the admin API, as a host's operator would.
async fn register(provider: &Provider, client_id: &str, alg: &str, userinfo_alg: &str) {
    let body = json!({
        "userinfo_signed_response_alg": userinfo_alg,
        "client_id": client_id,
        "client_secret": SECRET,
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid offline",
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": alg,
    });
    let res = provider
        .admin()
        .handle(json_request(Method::POST, "/clients", &body))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(res.body())
    );
}

/// Runs the browser side: follows the authorization URL on the provider, accepts login
/// and consent with the typed API, and returns the final redirect's URL.
async fn browse(browser: &mut UserAgent, provider: &Provider, auth_url: &str) -> url::Url {
    let res = browser.get(auth_url).await;
    let challenge = redirect_param(&res, "login_challenge").expect("login page");
    let done = provider
        .accept_login(&challenge, login_as("alice"))
        .await
        .unwrap();
    let res = browser.get(&done.redirect_to).await;
    let challenge = redirect_param(&res, "consent_challenge").expect("consent page");
    let done = provider
        .accept_consent(&challenge, consent_to(&["openid", "offline"]))
        .await
        .unwrap();
    let res = browser.get(&done.redirect_to).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()[http::header::LOCATION].to_str().unwrap();
    url::Url::parse(location).unwrap()
}

/// The whole flow for a client whose ID tokens are signed with `alg`, on a provider with
/// `enabled` algorithms; with `signed_userinfo`, userinfo answers are JWTs signed with `alg`,
/// which the crate verifies against the JWKS with `iss` and `aud` (it accepts RS256 only).
async fn relying_party_completes_the_flow(
    alg: &str,
    expected: CoreJwsSigningAlgorithm,
    enabled: &[Algorithm],
    signed_userinfo: bool,
) {
    let mut config = Config::new(ISSUER).unwrap();
    config.keys.algorithms = enabled.to_vec();
    let harness = Harness::new(config).await.unwrap();
    let provider = harness.provider.clone();
    let http = |req: Request<Vec<u8>>| send(&provider, req);
    let client_id = format!("rp-{alg}");
    let userinfo_alg = if signed_userinfo { alg } else { "none" };
    register(&provider, &client_id, alg, userinfo_alg).await;

    // Discovery (the crate checks that the document's issuer is byte-identical) and JWKS.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(ISSUER.into()).unwrap(), &http)
            .await
            .unwrap();
    assert!(
        metadata
            .id_token_signing_alg_values_supported()
            .contains(&expected),
        "discovery advertises {alg}"
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());

    // Authorization request: PKCE S256, nonce, state.
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline".into()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let mut browser = harness.user_agent();
    let callback = browse(&mut browser, &provider, auth_url.as_str()).await;
    assert_eq!(
        callback.as_str().split('?').next(),
        Some(REDIRECT),
        "{callback}"
    );
    assert_eq!(
        query_param(callback.as_str(), "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        query_param(callback.as_str(), "iss").as_deref(),
        Some(ISSUER)
    );
    let code = query_param(callback.as_str(), "code").expect("code in the callback");

    // Code exchange: client_secret_basic, PKCE verifier; the crate verifies the ID token's
    // signature against the JWKS, its alg, iss, aud, exp, iat and nonce.
    let tokens: CoreTokenResponse = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http)
        .await
        .unwrap();
    let verifier: CoreIdTokenVerifier = client
        .id_token_verifier()
        .set_allowed_algs([expected.clone()]);
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(id_token.signing_alg().unwrap(), &expected);
    // `at_hash` is optional in a code-flow ID token (Hydra omits it); when present it must bind
    // the access token.
    if let Some(at_hash) = claims.access_token_hash() {
        let signing_key = id_token.signing_key(&verifier).unwrap();
        let computed = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            signing_key,
        )
        .unwrap();
        assert_eq!(at_hash, &computed, "at_hash binds the access token");
    }
    let mut scopes: Vec<_> = tokens
        .scopes()
        .expect("granted scope")
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["offline", "openid"]);
    let subject = claims.subject().clone();

    // Userinfo with the first access token.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(subject.clone()))
        .unwrap()
        .require_signed_response(signed_userinfo)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject(), &subject);

    // Refresh: a new access token, refresh token and ID token for the same subject.
    let refresh_token = tokens.refresh_token().expect("a refresh token");
    let refreshed: CoreTokenResponse = client
        .exchange_refresh_token(refresh_token)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let new_refresh = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(new_refresh.secret(), refresh_token.secret());
    // `openid` was granted, so the refresh returns a new ID token: no nonce is expected on
    // it; signature, iss, aud and exp are verified, and `sub` must not change.
    let id_token = refreshed.id_token().expect("an ID token on refresh");
    let claims = id_token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(claims.subject(), &subject);

    // Userinfo with the refreshed access token; the subject must match the ID token's.
    let info: CoreUserInfoClaims = client
        .user_info(refreshed.access_token().clone(), Some(subject.clone()))
        .unwrap()
        .require_signed_response(signed_userinfo)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject(), &subject);
    // A mismatched expected subject is caught by the crate (it compares `sub`).
    let mismatch: Result<CoreUserInfoClaims, _> = client
        .user_info(
            refreshed.access_token().clone(),
            Some(SubjectIdentifier::new("mallory".into())),
        )
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        matches!(
            mismatch,
            Err(UserInfoError::ClaimsVerification(
                ClaimsVerificationError::InvalidSubject(_)
            ))
        ),
        "{mismatch:?}"
    );

    // The rotated-out refresh token no longer works.
    let reused = client
        .exchange_refresh_token(refresh_token)
        .unwrap()
        .request_async(&http)
        .await;
    assert_oauth_error(reused, CoreErrorResponseType::InvalidGrant);

    // A replayed code is refused with an OAuth error the crate parses, and the replay
    // revokes the tokens issued from it (RFC 6749 §4.1.2), refreshed ones included.
    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&http)
        .await;
    assert_oauth_error(replay, CoreErrorResponseType::InvalidGrant);

    let revoked: Result<CoreUserInfoClaims, _> = client
        .user_info(refreshed.access_token().clone(), Some(subject))
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        matches!(
            revoked,
            Err(UserInfoError::Response(StatusCode::UNAUTHORIZED, ..))
        ),
        "{revoked:?}"
    );
}

fn assert_oauth_error<T: fmt::Debug, E: std::error::Error + 'static>(
    result: Result<T, RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>>,
    expected: CoreErrorResponseType,
) {
    match result {
        Err(RequestTokenError::ServerResponse(err)) => assert_eq!(err.error(), &expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

const DEFAULT_ALGS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::EdDSA];

#[tokio::test]
async fn openidconnect_crate_completes_the_code_flow_with_es256() {
    relying_party_completes_the_flow(
        "ES256",
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        &DEFAULT_ALGS,
        false,
    )
    .await;
}

#[cfg(feature = "rsa")]
#[tokio::test]
async fn openidconnect_crate_verifies_rs256_id_tokens_and_userinfo() {
    relying_party_completes_the_flow(
        "RS256",
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        &[Algorithm::RS256, Algorithm::ES256],
        true,
    )
    .await;
}

#[cfg(feature = "rsa")]
#[tokio::test]
async fn openidconnect_crate_verifies_ps256_id_tokens() {
    relying_party_completes_the_flow(
        "PS256",
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        &[Algorithm::ES256, Algorithm::PS256],
        false,
    )
    .await;
}

#[tokio::test]
async fn openidconnect_crate_completes_the_code_flow_with_eddsa() {
    relying_party_completes_the_flow(
        "EdDSA",
        CoreJwsSigningAlgorithm::EdDsa,
        &DEFAULT_ALGS,
        false,
    )
    .await;
}
