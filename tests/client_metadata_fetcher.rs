//! The example servers' Client ID Metadata Document fetcher
//! (`examples/common/client_metadata.rs`) against servers on loopback: the real policy refuses
//! special-use addresses without connecting; with the dangerous loopback policy (the only way
//! a test server on this machine is reachable) redirects, slow answers, oversized bodies and
//! documents naming another client are refused or left uncached, and `Cache-Control` is
//! honoured within bounds. Last, a provider on the fetcher runs a flow and refuses a redirect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/common/client_metadata.rs"]
mod client_metadata;
mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use client_metadata::{AddressPolicy, HyperFetcher, Limits, is_special_use};
use common::flow::{ERROR, LOGIN, config, loc, param};
use oauth2_provider::testing::UserAgent;
use oauth2_provider::{ClientMetadataError, ClientMetadataFetcher, Provider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the test server answers.
#[derive(Debug, Clone)]
enum Answer {
    /// 200 with this body and `Cache-Control` (if any).
    Document(String, Option<&'static str>),
    /// A redirect to another document.
    Redirect,
    /// Nothing, ever.
    Hang,
    /// A `Content-Length` of 100 MB, then endless bytes.
    HugeLength,
    /// Chunked, endless.
    EndlessChunks,
}

/// A server on 127.0.0.1 answering every request with what `answer` makes of its address;
/// counts the connections.
async fn serve(answer: impl FnOnce(SocketAddr) -> Answer) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = answer(addr);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let chunk = vec![b'x'; 16 * 1024];
                match answer {
                    Answer::Document(body, cache) => {
                        let cache =
                            cache.map_or(String::new(), |c| format!("Cache-Control: {c}\r\n"));
                        let response = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{cache}Content-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(response.as_bytes()).await;
                    }
                    Answer::Redirect => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\nContent-Length: 0\r\n\r\n")
                            .await;
                    }
                    Answer::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
                    Answer::HugeLength => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n")
                            .await;
                        while stream.write_all(&chunk).await.is_ok() {}
                    }
                    Answer::EndlessChunks => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                            .await;
                        let framed =
                            [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                        while stream.write_all(&framed).await.is_ok() {}
                    }
                }
            });
        }
    });
    (addr, hits)
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/client.json")
}

fn document(url: &str) -> String {
    serde_json::json!({
        "client_id": url,
        "client_name": "Loopback MCP Client",
        "redirect_uris": ["http://127.0.0.1:33418/callback"],
        "token_endpoint_auth_method": "none",
    })
    .to_string()
}

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}

fn loopback_fetcher(limits: Limits) -> HyperFetcher {
    HyperFetcher::with_limits(AddressPolicy::DangerousLoopback, limits).unwrap()
}

#[test]
fn special_use_addresses_are_refused() {
    for special in [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "2001:db8::1",
        "2002:a00:1::1",
    ] {
        let ip: IpAddr = special.parse().unwrap();
        assert!(is_special_use(ip), "{special}");
        assert!(!AddressPolicy::PublicOnly.allows(ip), "{special}");
    }
    for public in [
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
    ] {
        let ip: IpAddr = public.parse().unwrap();
        assert!(AddressPolicy::PublicOnly.allows(ip), "{public}");
    }
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    assert!(AddressPolicy::DangerousLoopback.allows(loopback));
    let private: IpAddr = "10.0.0.1".parse().unwrap();
    assert!(!AddressPolicy::DangerousLoopback.allows(private));
}

/// A server answering with its own document and `cache_control`.
async fn serve_document(cache_control: Option<&'static str>) -> (String, Arc<AtomicUsize>) {
    let (addr, hits) = serve(|addr| Answer::Document(document(&url(addr)), cache_control)).await;
    (url(addr), hits)
}

fn hits_of(hits: &AtomicUsize) -> usize {
    hits.load(Ordering::SeqCst)
}

#[tokio::test]
async fn the_real_policy_never_connects_to_loopback() {
    let (addr, hits) = serve(|addr| Answer::Document(document(&url(addr)), None)).await;
    let fetcher = HyperFetcher::new(AddressPolicy::PublicOnly).unwrap();
    let port = addr.port();
    for url in [
        format!("https://127.0.0.1:{port}/client.json"),
        format!("https://[::ffff:127.0.0.1]:{port}/client.json"),
        format!("https://localhost:{port}/client.json"),
        format!("http://127.0.0.1:{port}/client.json"),
        format!("http://example.com:{port}/client.json"),
    ] {
        assert_eq!(
            fetcher.fetch(&url).await,
            Err(ClientMetadataError::Forbidden),
            "{url}"
        );
    }
    assert_eq!(hits_of(&hits), 0, "no connection was made");
}

#[tokio::test]
async fn documents_are_cached_for_their_max_age_within_bounds() {
    let (url, hits) = serve_document(Some("public, max-age=3600")).await;
    let fetcher = loopback_fetcher(Limits {
        min_ttl: Duration::from_millis(100),
        max_ttl: Duration::from_millis(300),
        ..limits()
    });
    let first = fetcher.fetch(&url).await.unwrap();
    assert_eq!(first, document(&url).as_bytes());
    assert_eq!(fetcher.fetch(&url).await.unwrap(), first);
    assert_eq!(hits_of(&hits), 1, "the second fetch came from the cache");
    tokio::time::sleep(Duration::from_millis(400)).await;
    fetcher.fetch(&url).await.unwrap();
    assert_eq!(hits_of(&hits), 2, "max-age is capped by max_ttl");

    // max-age=0 is raised to the minimum; no-store and no-cache are not cached at all.
    let (url, hits) = serve_document(Some("max-age=0")).await;
    let fetcher = loopback_fetcher(limits());
    fetcher.fetch(&url).await.unwrap();
    fetcher.fetch(&url).await.unwrap();
    assert_eq!(hits_of(&hits), 1);
    for directive in ["no-store", "no-cache, max-age=600"] {
        let (url, hits) = serve_document(Some(directive)).await;
        fetcher.fetch(&url).await.unwrap();
        fetcher.fetch(&url).await.unwrap();
        assert_eq!(hits_of(&hits), 2, "{directive}");
    }
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let fetcher = loopback_fetcher(Limits {
        max_entries: 2,
        ..limits()
    });
    let mut servers = Vec::new();
    for _ in 0..3 {
        let (url, hits) = serve_document(Some("max-age=600")).await;
        fetcher.fetch(&url).await.unwrap();
        servers.push((url, hits));
    }
    // The first document, closest to expiry, made room for the third.
    for (url, _) in servers.iter().rev() {
        fetcher.fetch(url).await.unwrap();
    }
    let counts: Vec<usize> = servers.iter().map(|(_, hits)| hits_of(hits)).collect();
    assert_eq!(counts, [2, 1, 1]);
}

#[tokio::test]
async fn documents_naming_another_client_or_refused_are_not_cached() {
    let (addr, hits) = serve(|_| {
        Answer::Document(
            document("https://other.example.com/client.json"),
            Some("max-age=600"),
        )
    })
    .await;
    let fetcher = loopback_fetcher(limits());
    fetcher.fetch(&url(addr)).await.unwrap();
    fetcher.fetch(&url(addr)).await.unwrap();
    assert_eq!(hits_of(&hits), 2);

    let (url, hits) = serve_document(Some("max-age=600")).await;
    fetcher.fetch(&url).await.unwrap();
    fetcher.refused(&url);
    fetcher.fetch(&url).await.unwrap();
    assert_eq!(
        hits_of(&hits),
        2,
        "a document the provider refused is dropped"
    );
}

#[tokio::test]
async fn redirects_are_failures_and_never_followed() {
    let (addr, hits) = serve(|_| Answer::Redirect).await;
    let fetcher = loopback_fetcher(limits());
    for _ in 0..2 {
        assert_eq!(
            fetcher.fetch(&url(addr)).await,
            Err(ClientMetadataError::Status(302))
        );
    }
    assert_eq!(hits_of(&hits), 2, "not cached");
}

#[tokio::test]
async fn a_server_that_does_not_answer_times_out() {
    let (addr, _) = serve(|_| Answer::Hang).await;
    let fetcher = loopback_fetcher(limits());
    let started = Instant::now();
    assert_eq!(
        fetcher.fetch(&url(addr)).await,
        Err(ClientMetadataError::Timeout)
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_hundred_megabytes_are_never_read() {
    let fetcher = loopback_fetcher(Limits {
        timeout: Duration::from_secs(10),
        ..limits()
    });
    for answer in [Answer::HugeLength, Answer::EndlessChunks] {
        let (addr, hits) = serve(|_| answer.clone()).await;
        let started = Instant::now();
        assert_eq!(
            fetcher.fetch(&url(addr)).await,
            Err(ClientMetadataError::TooLarge),
            "{answer:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "{answer:?}");
        fetcher.fetch(&url(addr)).await.unwrap_err();
        assert_eq!(hits_of(&hits), 2, "not cached");
    }
}

/// A provider with CIMD on, fetching from loopback through the example fetcher.
async fn provider(fetcher: HyperFetcher) -> Provider {
    let mut config = config();
    config.client_id_metadata_documents = true;
    config.dangerous.http_loopback_client_metadata = true;
    Provider::builder(config)
        .client_metadata_fetcher(Arc::new(fetcher))
        .build()
        .await
        .unwrap()
}

fn authorize_query(client_id: &str) -> String {
    common::q(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", "http://127.0.0.1:33418/callback"),
        ("code_challenge", common::CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "openid"),
    ])
}

#[tokio::test]
async fn a_provider_on_the_fetcher_resolves_a_loopback_document_and_refuses_a_redirect() {
    let (url, hits) = serve_document(Some("max-age=600")).await;
    let provider = provider(loopback_fetcher(limits())).await;
    let res = UserAgent::new(&provider)
        .authorize(&authorize_query(&url))
        .await;
    assert!(loc(&res).starts_with(LOGIN), "{}", loc(&res));
    let login = provider
        .login_request(&param(&res, "login_challenge"))
        .await
        .unwrap();
    assert_eq!(login.client.client_name, "Loopback MCP Client");
    assert_eq!(
        login.client_metadata_document_url.as_deref(),
        Some(url.as_str())
    );
    assert_eq!(
        hits_of(&hits),
        1,
        "the login request read the cached document"
    );

    let (addr, _) = serve(|_| Answer::Redirect).await;
    let res = UserAgent::new(&provider)
        .authorize(&authorize_query(&self::url(addr)))
        .await;
    assert!(loc(&res).starts_with(ERROR), "{}", loc(&res));
    assert_eq!(param(&res, "error"), "invalid_client");
}
