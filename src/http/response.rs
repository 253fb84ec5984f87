//! Response builders: JSON, errors, redirects and HTML pages with the security headers.

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};
use serde::Serialize;

use super::Response;
use crate::error::{ErrorCode, OAuthError};

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A JSON response.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    // Room for a token response or an introspection without growing (`to_vec` starts at 128).
    let mut body = Vec::with_capacity(256);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_bytes(status, Bytes::from(body)),
        Err(e) => error(
            &OAuthError::server_error("The response could not be encoded.").with_debug(e),
            false,
        ),
    }
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it: `"`, `\\` and the
/// control characters below U+0020, nothing else. Hand-written bodies (the token response) use
/// it; tokens never need escaping, so the text is scanned for a byte that does and, without
/// one, copied whole.
pub(crate) fn push_json_str(out: &mut Vec<u8>, text: &str) {
    /// Which bytes JSON strings escape.
    const ESCAPED: [bool; 256] = {
        let mut table = [false; 256];
        let mut byte = 0;
        while byte < 0x20 {
            table[byte] = true;
            byte += 1;
        }
        table[b'"' as usize] = true;
        table[b'\\' as usize] = true;
        table
    };
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut clean_from = 0;
    while let Some(offset) = bytes[clean_from..]
        .iter()
        .position(|&b| ESCAPED[usize::from(b)])
    {
        let at = clean_from + offset;
        out.extend_from_slice(&bytes[clean_from..at]);
        let byte = bytes[at];
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                let [high, low] = crate::crypto::hex_pair(byte);
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
            }
        }
        clean_from = at + 1;
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

/// A JSON response from pre-encoded bytes.
pub(crate) fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut res = http::Response::new(body);
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, JSON);
    res
}

/// Hydra's flat error JSON with the error's status.
pub(crate) fn error(err: &OAuthError, share_debug: bool) -> Response {
    crate::trace::error(err.error.as_str());
    let body = serde_json::to_vec(&err.body(share_debug)).unwrap_or_else(|_| {
        br#"{"error":"server_error","error_description":"","status_code":500}"#.to_vec()
    });
    let mut res = json_bytes(err.status, Bytes::from(body));
    // RFC 6749 §5.2 and RFC 6750 §3: tell the client which scheme failed.
    let challenge = match err.error {
        ErrorCode::InvalidClient => {
            Some(HeaderValue::from_static(r#"Basic realm="oauth2-provider""#))
        }
        ErrorCode::InvalidToken => Some(HeaderValue::from_static(
            r#"Bearer error="invalid_token", error_description="The access token is invalid, expired or revoked.""#,
        )),
        _ => None,
    };
    if let Some(challenge) = challenge {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    res
}

/// A response with no body.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut res = http::Response::new(Bytes::new());
    *res.status_mut() = status;
    res
}

/// Marks a response as uncacheable (`Cache-Control: no-store`, `Pragma: no-cache`), as every
/// response carrying or about tokens and secrets must be.
pub(crate) fn no_store(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// A `302 Found` to `location`. A location that is not a valid header value (it can only
/// come from a misconfigured URL) becomes a 500 instead of a panic.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut res = empty(StatusCode::FOUND);
            res.headers_mut().insert(header::LOCATION, value);
            no_store(res)
        }
        Err(e) => error(
            &OAuthError::server_error("The redirect location is invalid.").with_debug(e),
            false,
        ),
    }
}

/// An HTML page that cannot be framed, leaks no referrer and is not cached.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut res = no_store(http::Response::new(Bytes::from(body)));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action *; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// An [`html`] page that may load `frame_sources` (CSP source expressions, such as
/// origins) in frames, and nothing else.
pub(crate) fn html_with_frames(status: StatusCode, body: String, frame_sources: &str) -> Response {
    let mut res = html(status, body);
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; frame-src {frame_sources}; frame-ancestors 'none'; base-uri 'none'"
    );
    match HeaderValue::from_str(&policy) {
        Ok(value) => {
            res.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
            res
        }
        Err(e) => error(
            &OAuthError::server_error("The frame sources are invalid.").with_debug(e),
            false,
        ),
    }
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2F;"),
            '`' => out.push_str("&#x60;"),
            '=' => out.push_str("&#x3D;"),
            _ => out.push(c),
        }
    }
    out
}

/// Characters escaped in a path segment of a `Location` header.
pub(crate) const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'?')
    .add(b'#')
    .add(b'%');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape_html(r#""><script>alert('x')</script>"#),
            "&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2F;script&gt;"
        );
    }

    #[test]
    fn html_pages_carry_security_headers() {
        let res = html(StatusCode::OK, "<p>hi</p>".into());
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
    }

    #[test]
    fn bad_redirect_location_is_a_500_not_a_panic() {
        assert_eq!(
            redirect("https://a.example/\n").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever the text — controls, separators, non-characters, astral — the string is
        /// what serde_json writes, byte for byte.
        #[test]
        fn json_strings_are_written_as_serde_writes_them(
            text in "\\PC{0,30}|[\\x00-\\x7f\u{80}-\u{a0}\u{2028}\u{2029}\u{feff}é🦀]{0,30}|(?s:.{0,30})"
        ) {
            let mut out = Vec::new();
            super::push_json_str(&mut out, &text);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
        }
    }
}
