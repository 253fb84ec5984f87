//! The [`ClientMetadataFetcher`] both example servers run when Client ID Metadata Documents
//! are on (`OAUTH2_CLIENT_ID_METADATA_DOCUMENTS=true`): hyper's HTTP/1 client over rustls,
//! with the SSRF rules of draft-ietf-oauth-client-id-metadata-document ("Server Side Request
//! Forgery (SSRF) Attacks", "Maximum Response Size", §5 and §5.2) and a small cache.
//!
//! * `https` only. The host is resolved here, and if **any** of its addresses is special-use
//!   (RFC 6890: loopback, private, link-local, unique-local, shared CGNAT, multicast,
//!   unspecified, documentation, the IPv4-mapped and NAT64 forms of those, …) nothing is
//!   fetched; otherwise the connection goes to an address that was checked, so a second DNS
//!   answer cannot rebind the name to an internal address.
//! * A redirect, like any status but 200, is a failure: nothing is followed.
//! * One time-out covers resolution, connection, TLS, request and body; the body is read
//!   frame by frame and the exchange is dropped as soon as it passes
//!   [`MAX_CLIENT_METADATA_BYTES`] (a `Content-Length` above it is refused before reading).
//! * Documents are cached for their `Cache-Control: max-age`, kept between
//!   [`Limits::min_ttl`] and [`Limits::max_ttl`] (the draft lets the server bound it);
//!   `no-store` and `no-cache` are honoured (not cached), no header means the minimum. A
//!   failure is never cached (§5.2), nor a document whose `client_id` is not its URL or that
//!   the provider refused ([`ClientMetadataFetcher::refused`]). The cache holds at most
//!   [`Limits::max_entries`] documents.
//!
//! [`AddressPolicy::DangerousLoopback`] (`DANGEROUS_ALLOW_LOOPBACK_CLIENT_METADATA=true`)
//! also allows loopback addresses, and plain `http` to a loopback IP literal, which the
//! draft permits only for development with the server on loopback: for an MCP client test on
//! one machine, never in production.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use oauth2_provider::{
    ClientMetadataError, ClientMetadataFetcher, MAX_CLIENT_METADATA_BYTES, async_trait,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, RootCertStore};

/// Which addresses a document may be fetched from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressPolicy {
    /// Public unicast addresses only, over https.
    PublicOnly,
    /// Also loopback, and plain http to a loopback IP literal (development only).
    DangerousLoopback,
}

impl AddressPolicy {
    /// Whether a document may be fetched from `ip`.
    pub(crate) fn allows(self, ip: IpAddr) -> bool {
        match self {
            Self::PublicOnly => !is_special_use(ip),
            Self::DangerousLoopback => canonical(ip).is_loopback() || !is_special_use(ip),
        }
    }
}

/// The bounds of one fetcher.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The whole exchange, from resolution to the last body byte.
    pub(crate) timeout: Duration,
    /// The longest body read.
    pub(crate) max_bytes: usize,
    /// The shortest time a document is cached (also when it names no `max-age`).
    pub(crate) min_ttl: Duration,
    /// The longest time a document is cached, whatever its `max-age`.
    pub(crate) max_ttl: Duration,
    /// The most documents cached.
    pub(crate) max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_bytes: MAX_CLIENT_METADATA_BYTES,
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            max_entries: 1000,
        }
    }
}

/// Fetches Client ID Metadata Documents with hyper and rustls (see the module docs).
#[derive(Debug)]
pub(crate) struct HyperFetcher {
    policy: AddressPolicy,
    limits: Limits,
    tls: Arc<rustls::ClientConfig>,
    cache: Mutex<HashMap<String, Cached>>,
}

#[derive(Debug)]
struct Cached {
    expires: Instant,
    document: Bytes,
}

impl HyperFetcher {
    /// A fetcher with the default [`Limits`], trusting the Mozilla roots of `webpki-roots`.
    pub(crate) fn new(policy: AddressPolicy) -> Result<Self, String> {
        Self::with_limits(policy, Limits::default())
    }

    pub(crate) fn with_limits(policy: AddressPolicy, limits: Limits) -> Result<Self, String> {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            policy,
            limits,
            tls: Arc::new(config),
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, url: &str) -> Option<Bytes> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(url)
            .filter(|entry| entry.expires > Instant::now())
            .map(|entry| entry.document.clone())
    }

    fn remember(&self, url: &str, document: &Bytes, ttl: Duration) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= self.limits.max_entries && !cache.contains_key(url) {
            let now = Instant::now();
            cache.retain(|_, entry| entry.expires > now);
            if cache.len() >= self.limits.max_entries {
                // Still full of live entries: the one closest to expiry makes room.
                if let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, entry)| entry.expires)
                    .map(|(key, _)| key.clone())
                {
                    cache.remove(&oldest);
                }
            }
        }
        cache.insert(
            url.to_owned(),
            Cached {
                expires: Instant::now() + ttl,
                document: document.clone(),
            },
        );
    }

    /// Resolves, checks, connects and GETs `url`; the body and how long it may be cached.
    async fn download(
        &self,
        url: &url::Url,
    ) -> Result<(Bytes, Option<Duration>), ClientMetadataError> {
        let host = url.host().ok_or(ClientMetadataError::Forbidden)?;
        let plain = match url.scheme() {
            "https" => false,
            "http" if self.policy == AddressPolicy::DangerousLoopback && is_loopback_ip(&host) => {
                true
            }
            _ => return Err(ClientMetadataError::Forbidden),
        };
        let port = url
            .port_or_known_default()
            .ok_or(ClientMetadataError::Forbidden)?;
        let addresses = self.resolve(&host, port).await?;
        let stream = connect(&addresses).await?;
        let request = http::Request::get(request_target(url))
            .header(http::header::HOST, authority(url))
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, "oauth2-provider-example")
            .body(Empty::<Bytes>::new())
            .map_err(|e| ClientMetadataError::Failed(e.to_string()))?;
        if plain {
            return self.exchange(stream, request).await;
        }
        let name = match host {
            url::Host::Domain(domain) => ServerName::try_from(domain.to_owned())
                .map_err(|e| ClientMetadataError::Failed(format!("server name: {e}")))?,
            url::Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(ip).into()),
            url::Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(ip).into()),
        };
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name, stream)
            .await
            .map_err(|e| ClientMetadataError::Failed(format!("TLS: {e}")))?;
        self.exchange(tls, request).await
    }

    /// The addresses of `host`, each allowed by the policy; any forbidden one refuses all.
    async fn resolve(
        &self,
        host: &url::Host<&str>,
        port: u16,
    ) -> Result<Vec<SocketAddr>, ClientMetadataError> {
        let addresses: Vec<SocketAddr> = match host {
            url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(*ip), port)],
            url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(*ip), port)],
            url::Host::Domain(domain) => tokio::net::lookup_host((*domain, port))
                .await
                .map_err(|e| ClientMetadataError::Failed(format!("DNS: {e}")))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(ClientMetadataError::Failed("DNS: no address".into()));
        }
        if addresses.iter().any(|a| !self.policy.allows(a.ip())) {
            return Err(ClientMetadataError::Forbidden);
        }
        Ok(addresses)
    }

    /// One HTTP/1.1 GET on `stream`: the body of a 200 within the size cap, and its TTL.
    async fn exchange<S>(
        &self,
        stream: S,
        request: http::Request<Empty<Bytes>>,
    ) -> Result<(Bytes, Option<Duration>), ClientMetadataError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientMetadataError::Failed(format!("HTTP: {e}")))?;
        // The connection task ends with the exchange: dropping the sender closes it.
        tokio::spawn(connection);
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| ClientMetadataError::Failed(format!("HTTP: {e}")))?;
        if response.status() != http::StatusCode::OK {
            return Err(ClientMetadataError::Status(response.status().as_u16()));
        }
        let announced = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|len| len > self.limits.max_bytes as u64) {
            return Err(ClientMetadataError::TooLarge);
        }
        let ttl = ttl(response.headers(), &self.limits);
        let mut body = response.into_body();
        let mut document = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ClientMetadataError::Failed(format!("HTTP: {e}")))?;
            if let Some(data) = frame.data_ref() {
                if document.len() + data.len() > self.limits.max_bytes {
                    return Err(ClientMetadataError::TooLarge);
                }
                document.extend_from_slice(data);
            }
        }
        Ok((document.freeze(), ttl))
    }
}

#[async_trait]
impl ClientMetadataFetcher for HyperFetcher {
    async fn fetch(&self, url: &str) -> Result<Bytes, ClientMetadataError> {
        if let Some(document) = self.cached(url) {
            return Ok(document);
        }
        let parsed = url::Url::parse(url).map_err(|_| ClientMetadataError::Forbidden)?;
        let (document, ttl) = tokio::time::timeout(self.limits.timeout, self.download(&parsed))
            .await
            .map_err(|_| ClientMetadataError::Timeout)??;
        if let Some(ttl) = ttl.filter(|_| names_itself(&document, url)) {
            self.remember(url, &document, ttl);
        }
        Ok(document)
    }

    fn refused(&self, url: &str) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.remove(url);
    }
}

/// Whether the document is a JSON object whose `client_id` is `url`: the least a document
/// must be to be cached (the provider checks the rest, and says when it refuses one).
fn names_itself(document: &[u8], url: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(document)
        .is_ok_and(|doc| doc.get("client_id").and_then(|id| id.as_str()) == Some(url))
}

/// How long a 200 answer may be cached: `None` for `no-store`/`no-cache`, else its
/// `max-age` (or nothing named) kept within the limits.
fn ttl(headers: &http::HeaderMap, limits: &Limits) -> Option<Duration> {
    let mut max_age = None;
    for value in headers.get_all(http::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            return None;
        };
        for directive in value.split(',').map(str::trim) {
            let (name, argument) = directive.split_once('=').unwrap_or((directive, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "no-store" | "no-cache" => return None,
                "max-age" => max_age = argument.trim().trim_matches('"').parse::<u64>().ok(),
                _ => {}
            }
        }
    }
    let seconds = Duration::from_secs(max_age.unwrap_or(0));
    // Not `clamp`, which panics when the bounds cross: the maximum wins.
    Some(seconds.max(limits.min_ttl).min(limits.max_ttl))
}

/// Connects to the first of `addresses` that answers (all of them were checked).
async fn connect(addresses: &[SocketAddr]) -> Result<tokio::net::TcpStream, ClientMetadataError> {
    let mut last = String::from("no address");
    for address in addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e.to_string(),
        }
    }
    Err(ClientMetadataError::Failed(format!("connect: {last}")))
}

fn is_loopback_ip(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(_) => false,
    }
}

fn request_target(url: &url::Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The IPv4 address an IPv6 one stands for (mapped `::ffff:a.b.c.d`, or the NAT64
/// well-known prefix `64:ff9b::/96`), else the address itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        IpAddr::V4(_) => ip,
    }
}

/// Whether `ip` is special-use (RFC 6890 and its updates): anything but a public unicast
/// address.
pub(crate) fn is_special_use(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (18..20).contains(&b)) // benchmarking
}

fn special_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::/96 (deprecated)
        || s[..3] == [0x64, 0xff9b, 1] // NAT64 local use 64:ff9b:1::/48
        || s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments 2001::/23 (Teredo, …)
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        || s[0] == 0x2002 // 6to4, which embeds an IPv4 address
}
