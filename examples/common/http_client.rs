//! The requests the examples send to other servers: HTTP/1.1 on a fresh connection with
//! hyper, a form POST (back-channel logout tokens to relying parties, tokens to the
//! provider's introspection endpoint) or a GET (the provider's JWKS).
//!
//! A connect time-out, a response time-out and a cap on the answer read; a redirect is
//! returned as it came, never followed, so that a server cannot bounce the request
//! elsewhere. Plain `http` only: the examples have no TLS client, so an `https` URL fails
//! until the host plugs in a TLS connector.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;

/// Time to open the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time from sending the request to the end of the answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// POSTs `form` (`application/x-www-form-urlencoded`) to `url`: the answer's status, and its
/// body unless it was unreadable or longer than `max_answer` bytes.
pub(crate) async fn post_form(
    url: &url::Url,
    form: String,
    max_answer: usize,
) -> Result<(http::StatusCode, Option<Bytes>), String> {
    let form = Some(("application/x-www-form-urlencoded", Bytes::from(form)));
    request(http::Method::POST, url, form, max_answer).await
}

/// One request with an optional body of the given content type (the protected resource
/// example GETs the provider's JWKS with it): as [`post_form`].
pub(crate) async fn request(
    method: http::Method,
    url: &url::Url,
    body: Option<(&'static str, Bytes)>,
    max_answer: usize,
) -> Result<(http::StatusCode, Option<Bytes>), String> {
    if url.scheme() != "http" {
        return Err(format!(
            "{} needs a TLS client, which this example lacks",
            url.scheme()
        ));
    }
    let host = url.host_str().ok_or("no host")?.to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| "connect timed out".to_owned())?
    .map_err(|e| format!("connect failed: {e}"))?;
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, authority);
    let body = match body {
        Some((content_type, body)) => {
            request = request.header(http::header::CONTENT_TYPE, content_type);
            body
        }
        None => Bytes::new(),
    };
    let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
    let exchange = async {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake failed: {e}"))?;
        tokio::spawn(connection);
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        // Read (at most the cap of) the body, so that the exchange completes.
        let body = Limited::new(response.into_body(), max_answer)
            .collect()
            .await
            .ok()
            .map(|body| body.to_bytes());
        Ok::<_, String>((status, body))
    };
    tokio::time::timeout(RESPONSE_TIMEOUT, exchange)
        .await
        .map_err(|_| "response timed out".to_owned())?
}
