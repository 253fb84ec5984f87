//! Finding a client by its id — the one door every flow goes through. A registered (stored)
//! client always wins. Otherwise, when Client ID Metadata Documents are on
//! ([`Config::client_id_metadata_documents`](crate::Config::client_id_metadata_documents)),
//! a `client_id` that is a Client Identifier URL is resolved by fetching its document through
//! the host's [`ClientMetadataFetcher`] and checking it into a public client
//! ([`crate::model::metadata_document`]). Nothing about such a client is stored: it is
//! resolved again at each use, and caching is the fetcher's (the draft's §5.2 lets the server
//! cache within bounds it chooses, and forbids caching failures).

use std::sync::Arc;

use bytes::Bytes;

use crate::context::Context;
use crate::error::StoreError;
use crate::model::client::ClientRecord;
use crate::model::metadata_document;

/// The largest Client ID Metadata Document accepted, in bytes: the draft's recommended
/// maximum ("Maximum Response Size": 5 kilobytes). A fetcher should stop reading past it;
/// the provider refuses a longer body whatever the fetcher returned.
pub const MAX_CLIENT_METADATA_BYTES: usize = 5 * 1024;

/// Fetches Client ID Metadata Documents for the provider, which does no I/O itself. Set with
/// [`ProviderBuilder::client_metadata_fetcher`](crate::ProviderBuilder::client_metadata_fetcher).
///
/// The URL comes from an anonymous request, so the fetcher is where Server-Side Request
/// Forgery is stopped (draft-ietf-oauth-client-id-metadata-document, "Server Side Request
/// Forgery (SSRF) Attacks"). The provider has already checked that `url` is a Client
/// Identifier URL (https, a path, no userinfo, fragment or dot segments, normal form); a
/// fetcher must still
///
/// * refuse a host that resolves to any special-use address (loopback, private, link-local,
///   unique-local, shared, multicast, unspecified, …) and connect to the address it checked;
/// * never follow a redirect (the draft's §5: anything but `200` is an error);
/// * bound the time of the whole exchange and stop reading past
///   [`MAX_CLIENT_METADATA_BYTES`];
/// * cache only documents it fetched successfully, for a bounded time (§5.2).
///
/// The example servers ship one on hyper and rustls (`examples/common/client_metadata.rs`).
#[async_trait::async_trait]
pub trait ClientMetadataFetcher: Send + Sync + std::fmt::Debug {
    /// The body of the `200 OK` answer to `GET url`.
    async fn fetch(&self, url: &str) -> Result<Bytes, ClientMetadataError>;

    /// The provider refused the document `fetch` returned for `url` (too large, not JSON,
    /// breaking a rule): a caching fetcher drops it, since the draft's §5.2 forbids caching
    /// invalid documents. The default does nothing.
    fn refused(&self, url: &str) {
        let _ = url;
    }
}

/// Why a [`ClientMetadataFetcher`] returned no document. The provider refuses the client
/// either way; the kind goes into the error description and the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientMetadataError {
    /// The fetcher will not fetch this URL: its host resolves to an address it must not
    /// reach, or the scheme or port is not allowed.
    Forbidden,
    /// The answer's status was not 200 (a redirect included: it is never followed).
    Status(u16),
    /// The document is longer than the fetcher reads.
    TooLarge,
    /// No complete answer in time.
    Timeout,
    /// Anything else (DNS, connection, TLS). The text is for logs, not for clients.
    Failed(String),
}

impl std::fmt::Display for ClientMetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Forbidden => f.write_str("its URL may not be fetched from this server"),
            Self::Status(status) => write!(f, "it was answered with status {status}, not 200"),
            Self::TooLarge => write!(f, "it is larger than {MAX_CLIENT_METADATA_BYTES} bytes"),
            Self::Timeout => f.write_str("it did not arrive in time"),
            Self::Failed(_) => f.write_str("it could not be fetched"),
        }
    }
}

impl std::error::Error for ClientMetadataError {}

/// How a client was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientSource {
    /// Registered: in the store.
    Registered,
    /// Not registered: described by the Client ID Metadata Document at its id.
    MetadataDocument,
}

/// Why no client was found.
#[derive(Debug)]
pub(crate) enum ClientLookupError {
    /// No client has this id (and it is not a Client Identifier URL to fetch).
    NotFound,
    /// The id is a Client Identifier URL, but its document could not be fetched or was
    /// refused; the text says why and may be shown to the client.
    Refused(String),
    /// The store failed.
    Store(StoreError),
}

impl Context {
    /// The client `id` names, and how it was found (see the module docs).
    pub(crate) async fn resolve_client(
        &self,
        id: &str,
    ) -> Result<(Arc<ClientRecord>, ClientSource), ClientLookupError> {
        match self.store.client(id).await {
            Ok(record) => return Ok((record, ClientSource::Registered)),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(ClientLookupError::Store(e)),
        }
        let Some(fetcher) = &self.client_metadata else {
            return Err(ClientLookupError::NotFound);
        };
        if !metadata_document::looks_like_url(id) {
            return Err(ClientLookupError::NotFound);
        }
        match self.client_from_document(fetcher.as_ref(), id).await {
            Ok(record) => Ok((Arc::new(record), ClientSource::MetadataDocument)),
            Err(why) => {
                crate::trace::event!(WARN,
                    client_id = %id,
                    reason = %why,
                    "client metadata document refused"
                );
                Err(ClientLookupError::Refused(why))
            }
        }
    }

    /// The client `id` names, registered or described by its metadata document.
    pub(crate) async fn client(&self, id: &str) -> Result<Arc<ClientRecord>, ClientLookupError> {
        self.resolve_client(id).await.map(|(record, _)| record)
    }

    /// The client `id` names, if there is one now: for the steps that treat a missing client
    /// and a refused document alike (its tokens are dead, it takes no part in logout). Only a
    /// store failure is an error.
    pub(crate) async fn find_client(
        &self,
        id: &str,
    ) -> Result<Option<Arc<ClientRecord>>, StoreError> {
        match self.client(id).await {
            Ok(record) => Ok(Some(record)),
            Err(ClientLookupError::NotFound | ClientLookupError::Refused(_)) => Ok(None),
            Err(ClientLookupError::Store(e)) => Err(e),
        }
    }

    /// Checks `url`, fetches its document and checks it into a client.
    async fn client_from_document(
        &self,
        fetcher: &dyn ClientMetadataFetcher,
        url: &str,
    ) -> Result<ClientRecord, String> {
        metadata_document::check_url(url, self.config.dangerous.http_loopback_client_metadata)
            .map_err(|why| format!("The client_id URL {why}."))?;
        let document = fetcher.fetch(url).await.map_err(|e| {
            if let ClientMetadataError::Failed(detail) = &e {
                crate::trace::event!(WARN, client_id = %url, detail = %detail, "client metadata fetch failed");
            }
            format!("The client's metadata document was not accepted: {e}.")
        })?;
        let checked = if document.len() > MAX_CLIENT_METADATA_BYTES {
            Err(format!(
                "The client's metadata document was not accepted: {}.",
                ClientMetadataError::TooLarge
            ))
        } else {
            metadata_document::client(
                url,
                &document,
                &self.config.registration_policy(),
                &self.config.advertised_scopes(),
                self.now(),
            )
            .map_err(|why| format!("The client's metadata document is invalid: {why}"))
        };
        if checked.is_err() {
            fetcher.refused(url);
        }
        checked
    }
}
