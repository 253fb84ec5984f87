//! Subject identifiers: the `sub` a client sees. Public clients see the subject itself;
//! `pairwise` clients see `hex(SHA-256(sector ‖ subject ‖ salt))` (OIDC Core §8.1, Hydra's
//! formula); a `force_subject_identifier` from the login accept overrides both and is
//! remembered per (client, subject).

use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::error::OAuthError;
use crate::model::SubjectType;
use crate::model::client::Client;

/// The identifier `client` sees for `subject`: `forced` if non-empty, else the forced one
/// remembered for (client, subject), else the public or pairwise one.
pub(crate) async fn identifier(
    p: &Context,
    client: &Client,
    subject: &str,
    forced: &str,
) -> Result<String, OAuthError> {
    if !forced.is_empty() {
        return Ok(forced.to_owned());
    }
    let remembered = p
        .store
        .forced_subject(&client.client_id, subject)
        .await
        .map_err(OAuthError::store_failure)?;
    if let Some(remembered) = remembered {
        return Ok(remembered);
    }
    computed(p, client, subject)
}

/// The public or pairwise identifier, without forced overrides.
pub(crate) fn computed(p: &Context, client: &Client, subject: &str) -> Result<String, OAuthError> {
    if client.effective_subject_type() != SubjectType::Pairwise {
        return Ok(subject.to_owned());
    }
    let Some(salt) = &p.config.pairwise_salt else {
        return Err(OAuthError::invalid_request(
            "The client uses pairwise subjects, but pairwise subjects are not enabled on this server.",
        ));
    };
    let sector = sector(client)?;
    Ok(pairwise(&sector, subject, salt.expose()))
}

/// The sector of a pairwise client: its `sector_identifier_uri`, else the host (with port)
/// of its single redirect URI.
fn sector(client: &Client) -> Result<String, OAuthError> {
    if let Some(uri) = client
        .sector_identifier_uri
        .as_ref()
        .filter(|u| !u.is_empty())
    {
        return Ok(uri.clone());
    }
    let [only] = client.redirect_uris.as_slice() else {
        return Err(OAuthError::invalid_request(
            "A pairwise client with several redirect URIs needs a sector_identifier_uri.",
        ));
    };
    let url = url::Url::parse(only).map_err(|e| {
        OAuthError::invalid_request("The client's redirect URI is not a URL.").with_debug(e)
    })?;
    let host = url.host_str().unwrap_or_default();
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// `hex(SHA-256(sector ‖ subject ‖ salt))`.
pub(crate) fn pairwise(sector: &str, subject: &str, salt: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(sector.as_bytes());
    hash.update(subject.as_bytes());
    hash.update(salt);
    crate::crypto::hex(&hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hydra_worked_example_reproduces() {
        assert_eq!(
            pairwise("foo", "auth-user", b"76d5d2bf-747f-4592-9fbd-d2b895a54b3a"),
            "c737d5e1fec8896d096d49f6b1a73eb45ac7becb87de9ac3f0a350bad2a9c9fd"
        );
    }

    #[test]
    fn sector_is_host_with_port_of_single_redirect_uri() {
        let mut client = Client {
            redirect_uris: vec!["https://app.example.com:8443/cb".into()],
            ..Client::default()
        };
        assert_eq!(sector(&client).unwrap(), "app.example.com:8443");
        client.redirect_uris.push("https://other.example/cb".into());
        assert!(sector(&client).is_err());
        client.sector_identifier_uri = Some("https://sector.example/ids.json".into());
        assert_eq!(sector(&client).unwrap(), "https://sector.example/ids.json");
    }
}
