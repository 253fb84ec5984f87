//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, as the MCP
//! authorization specification 2025-11-25 uses it): which `client_id`s are Client Identifier
//! URLs, and the client a fetched document describes. Fetching is the host's
//! ([`ClientMetadataFetcher`](crate::ClientMetadataFetcher)); the resolver in
//! `context::client_metadata` puts the two together.
//!
//! A document's client passes the registration rules of [`crate::model::registration`]
//! (the same code, not a copy), and on top of them:
//!
//! * its `client_id` equals the URL it was fetched from, byte for byte (draft §4: simple
//!   string comparison, RFC 3986 §6.2.1);
//! * it is a public client: `token_endpoint_auth_method` absent or `none`. `client_secret`
//!   and `client_secret_expires_at` are refused, as is every method based on a shared secret
//!   (draft §4.1, "Credential and Key Material Restrictions"); `private_key_jwt`, which the
//!   draft allows, is not supported by this provider and is refused too;
//! * it has at least one redirect URI (the MCP specification requires `redirect_uris`; the
//!   draft's §4.2 makes the document the place where they are registered);
//! * of its `grant_types`, only `authorization_code` and `refresh_token` are kept (the grants
//!   a public client that redirects can use), and one of them must remain;
//! * its scope is the server's advertised scopes (`scopes_supported` of the metadata),
//!   narrowed to the document's `scope` when it has one;
//! * only the metadata a public client needs is read: `client_name`, `redirect_uris`,
//!   `grant_types`, `response_types`, `scope`, `client_uri`, `logo_uri`, `tos_uri`,
//!   `policy_uri`, `contacts`, `post_logout_redirect_uris`. Anything else is ignored, as RFC
//!   7591 §2 says of metadata a server does not use — in particular the logout URIs, so that a
//!   document never makes the provider's host call a URL of its choosing.

use time::OffsetDateTime;

use crate::model::client::{Client, ClientRecord, MAX_CLIENT_ID_LEN};
use crate::model::redirect_uri::has_raw_userinfo;
use crate::model::registration::Policy;
use crate::model::{AuthMethod, GrantType, scope};

/// Whether `id` has the shape of a Client Identifier URL (draft §3): the cheap test that
/// decides whether an unknown `client_id` is worth a fetch. [`check_url`] says why one that
/// has the shape is still refused.
pub(crate) fn looks_like_url(id: &str) -> bool {
    id.starts_with("https://") || id.starts_with("http://")
}

/// Checks a Client Identifier URL (draft §3): `https`; no userinfo; a path other than `/`;
/// no single-dot or double-dot path segment; no fragment; a port and a query are allowed. The
/// URL must also be in the normal form of RFC 3986 §6.2.2–6.2.3 (what `url` serialises: a
/// lowercase scheme and host, no default port, no dot segments, no needless percent-encoding):
/// the draft compares identifiers as plain strings and asks clients to normalise, and a
/// normal URL is fetched exactly as it is spelled.
///
/// `http_loopback` (a dangerous opt-in) also accepts `http` with a loopback IP literal as the
/// host, which the draft's SSRF section allows for development only.
pub(crate) fn check_url(id: &str, http_loopback: bool) -> Result<(), String> {
    if id.len() > MAX_CLIENT_ID_LEN {
        return Err(format!("is longer than {MAX_CLIENT_ID_LEN} characters"));
    }
    let url = url::Url::parse(id).map_err(|e| format!("is not an absolute URL ({e})"))?;
    let why = match url.scheme() {
        "https" => None,
        "http" if http_loopback && is_loopback_ip(&url) => None,
        _ => Some("must use the https scheme"),
    };
    let path = id
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
        .map_or("", |path| path.split('?').next().unwrap_or(""));
    let why = why.or_else(|| {
        if !url.username().is_empty() || url.password().is_some() || has_raw_userinfo(id) {
            Some("must not contain user information")
        } else if id.contains('#') {
            Some("must not contain a fragment")
        } else if path.split('/').any(|segment| matches!(segment, "." | "..")) {
            Some("must not contain dot path segments")
        } else if url.path() == "/" {
            Some("must have a path")
        } else if url.as_str() != id {
            Some("must be in normal form (lowercase scheme and host, no default port, no dot segments)")
        } else {
            None
        }
    });
    why.map_or(Ok(()), |why| Err(why.to_owned()))
}

fn is_loopback_ip(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// The client the document fetched from `url` describes, or why it is refused. `advertised`
/// is the server's `scopes_supported`.
pub(crate) fn client(
    url: &str,
    document: &[u8],
    policy: &Policy<'_>,
    advertised: &[&str],
    now: OffsetDateTime,
) -> Result<ClientRecord, String> {
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(document).map_err(|_| "it is not a JSON object.".to_owned())?;
    let read = Fields(&fields);
    if read.string("client_id")?.as_deref() != Some(url) {
        return Err("its client_id is not the URL it was fetched from.".into());
    }
    for forbidden in ["client_secret", "client_secret_expires_at"] {
        if fields.contains_key(forbidden) {
            return Err(format!("it must not contain {forbidden}."));
        }
    }
    let method = read
        .string("token_endpoint_auth_method")?
        .unwrap_or_else(|| AuthMethod::None.as_str().to_owned());
    if method != AuthMethod::None.as_str() {
        return Err(format!(
            "its token_endpoint_auth_method is '{method}'; only public clients ('none') may identify themselves by a metadata document here."
        ));
    }
    let redirect_uris = read.strings("redirect_uris")?;
    if redirect_uris.is_empty() {
        return Err("it has no redirect_uris.".into());
    }
    let grant_types = match read.strings_if_present("grant_types")? {
        None => Vec::new(),
        Some(listed) => {
            let kept: Vec<String> = listed
                .into_iter()
                .filter(|g| {
                    matches!(
                        g.parse(),
                        Ok(GrantType::AuthorizationCode | GrantType::RefreshToken)
                    )
                })
                .collect();
            if !kept
                .iter()
                .any(|g| g == GrantType::AuthorizationCode.as_str())
            {
                return Err("its grant_types must include authorization_code.".into());
            }
            kept
        }
    };
    let scope = match read.string("scope")? {
        None => advertised.join(" "),
        Some(asked) => {
            let asked = scope::split(&asked);
            let kept: Vec<String> = asked
                .into_iter()
                .filter(|s| advertised.contains(&s.as_str()))
                .collect();
            scope::join(&kept)
        }
    };
    let mut client = Client {
        client_id: url.to_owned(),
        client_name: read.string("client_name")?.unwrap_or_default(),
        redirect_uris,
        grant_types,
        response_types: read.strings("response_types")?,
        scope,
        client_uri: read.string("client_uri")?.unwrap_or_default(),
        logo_uri: read.string("logo_uri")?.unwrap_or_default(),
        tos_uri: read.string("tos_uri")?.unwrap_or_default(),
        policy_uri: read.string("policy_uri")?.unwrap_or_default(),
        contacts: read.strings("contacts")?,
        post_logout_redirect_uris: read.strings("post_logout_redirect_uris")?,
        token_endpoint_auth_method: method,
        created_at: Some(now),
        updated_at: Some(now),
        ..Client::default()
    };
    client.apply_defaults(policy);
    client
        .validate(policy)
        .map_err(|refused| refused.why.into_owned())?;
    Ok(ClientRecord {
        client,
        secret_hash: None,
        registration_token: None,
    })
}

/// Typed reads of a document's members; `null` counts as absent.
struct Fields<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Fields<'_> {
    fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.0.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("its {name} is not a string.")),
        }
    }

    fn strings_if_present(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        match self.0.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| format!("its {name} is not an array of strings.")),
            Some(_) => Err(format!("its {name} is not an array of strings.")),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        Ok(self.strings_if_present(name)?.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Algorithm;

    const URL: &str = "https://app.example.com/oauth/client.json";

    #[test]
    fn client_identifier_urls_follow_the_draft() {
        for good in [
            URL,
            "https://app.example.com:8443/client",
            "https://app.example.com/client?v=1",
            "https://app.example.com/@team/client.json",
        ] {
            assert_eq!(check_url(good, false), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("http://app.example.com/client", "https"),
            ("https://app.example.com/", "path"),
            ("https://app.example.com", "path"),
            ("https://user:pw@app.example.com/client", "user information"),
            ("https://user@app.example.com/client", "user information"),
            ("https://app.example.com/client#frag", "fragment"),
            ("https://app.example.com/a/../client", "dot path"),
            ("https://app.example.com/./client", "dot path"),
            ("https://app.example.com/%2e%2e/client", "normal form"),
            ("https://App.Example.com/client", "normal form"),
            ("https://app.example.com:443/client", "normal form"),
            ("ftp://app.example.com/client", "https"),
            ("not a url", "absolute URL"),
        ] {
            let err = check_url(bad, false).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        let long = format!("https://app.example.com/{}", "a".repeat(300));
        assert!(check_url(&long, false).is_err());
    }

    #[test]
    fn http_loopback_only_with_the_dangerous_opt_in_and_only_for_ip_literals() {
        for url in [
            "http://127.0.0.1:9000/client.json",
            "http://[::1]:9000/client.json",
        ] {
            assert!(check_url(url, false).is_err(), "{url}");
            assert_eq!(check_url(url, true), Ok(()), "{url}");
        }
        for url in [
            "http://localhost:9000/client.json",
            "http://10.0.0.1/client.json",
        ] {
            assert!(check_url(url, true).is_err(), "{url}");
        }
    }

    fn policy() -> Policy<'static> {
        Policy {
            pairwise_enabled: false,
            signing_algorithms: &[Algorithm::ES256],
        }
    }

    fn parse(document: serde_json::Value) -> Result<ClientRecord, String> {
        client(
            URL,
            document.to_string().as_bytes(),
            &policy(),
            &["offline_access", "openid", "files:read"],
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_public_document_becomes_a_public_client() {
        let record = parse(serde_json::json!({
            "client_id": URL,
            "client_name": "Example MCP Client",
            "redirect_uris": ["http://127.0.0.1:3000/callback"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "openid files:read files:write",
            "software_id": "ignored",
            "backchannel_logout_uri": "https://evil.example/hook",
            "logo_uri": null,
        }))
        .unwrap();
        let client = &record.client;
        assert!(client.is_public() && record.secret_hash.is_none());
        assert_eq!(client.client_id, URL);
        assert_eq!(client.client_name, "Example MCP Client");
        assert_eq!(client.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(
            client.scope, "openid files:read",
            "narrowed to what is advertised"
        );
        assert!(client.backchannel_logout_uri.is_empty());
        assert_eq!(client.id_token_signed_response_alg, Some(Algorithm::ES256));

        let minimal = parse(serde_json::json!({
            "client_id": URL,
            "redirect_uris": ["https://app.example.com/cb"],
        }))
        .unwrap();
        assert!(minimal.client.is_public());
        assert_eq!(minimal.client.scope, "offline_access openid files:read");
    }

    #[test]
    fn documents_breaking_the_rules_are_refused() {
        let base = || {
            serde_json::json!({
                "client_id": URL,
                "redirect_uris": ["https://app.example.com/cb"],
            })
        };
        let with = |key: &str, value: serde_json::Value| {
            let mut doc = base();
            doc[key] = value;
            parse(doc).unwrap_err()
        };
        assert!(
            with("client_id", "https://other.example/client.json".into()).contains("client_id")
        );
        assert!(with("client_id", serde_json::Value::Null).contains("client_id"));
        assert!(with("client_secret", "s3cret-s3cret-s3cret".into()).contains("client_secret"));
        assert!(with("client_secret_expires_at", 0.into()).contains("client_secret_expires_at"));
        for method in [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ] {
            assert!(with("token_endpoint_auth_method", method.into()).contains(method));
        }
        assert!(with("redirect_uris", serde_json::json!([])).contains("redirect_uris"));
        assert!(
            with("redirect_uris", serde_json::json!(["javascript:alert(1)"]))
                .contains("redirect_uris[0]")
        );
        assert!(
            with(
                "redirect_uris",
                serde_json::json!(["http://evil.example/cb"])
            )
            .contains("redirect_uris[0]")
        );
        assert!(with("redirect_uris", "https://app.example.com/cb".into()).contains("array"));
        assert!(
            with("grant_types", serde_json::json!(["client_credentials"]))
                .contains("authorization_code")
        );
        assert!(with("client_name", 7.into()).contains("client_name"));
        assert!(with("logo_uri", "javascript:alert(1)".into()).contains("logo_uri"));
        assert!(
            parse(serde_json::json!([URL]))
                .unwrap_err()
                .contains("JSON object")
        );
        let garbage = client(URL, b"\xff{", &policy(), &[], OffsetDateTime::UNIX_EPOCH);
        assert!(garbage.is_err());
    }
}
