//! Redirect URIs: what registration accepts, and exact matching at request time with the
//! loopback-port relaxation of RFC 8252 §7.3 as the only exception.

/// Schemes never accepted as a redirect target, compared case-insensitively.
const DENIED_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "filesystem",
    "view-source",
    "ftp",
    "ws",
    "wss",
    "mailto",
    "tel",
];

/// Longest redirect URI accepted, so that pathological inputs stay cheap.
const MAX_LEN: usize = 2000;

/// Checks a redirect URI at registration; the error says what is wrong.
pub(crate) fn validate_registration(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_LEN {
        return Err(format!("redirect URI is longer than {MAX_LEN} characters"));
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("redirect URI must not contain whitespace or control characters".into());
    }
    if uri.contains('#') {
        return Err("redirect URI must not contain a fragment".into());
    }
    let parsed =
        url::Url::parse(uri).map_err(|e| format!("redirect URI is not an absolute URL: {e}"))?;
    let scheme = parsed.scheme();
    if DENIED_SCHEMES.contains(&scheme) {
        return Err(format!("redirect URI scheme {scheme:?} is not allowed"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || has_raw_userinfo(uri) {
        return Err("redirect URI must not contain user information".into());
    }
    if matches!(scheme, "http" | "https")
        && !uri
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
    {
        return Err("redirect URI must be of the form scheme://host/path".into());
    }
    match scheme {
        "https" => {
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err("https redirect URI must have a host".into());
            }
            Ok(())
        }
        "http" => {
            if is_loopback_host(&parsed) {
                Ok(())
            } else {
                Err("http redirect URIs are only allowed for loopback hosts (127.0.0.1, [::1], localhost); use https".into())
            }
        }
        // A private-use scheme of a native app (RFC 8252 §7.1), such as `com.example.app:/cb`.
        _ => Ok(()),
    }
}

/// The stricter rules of a native client's redirect URI (RFC 8252 §7), on top of
/// [`validate_registration`]: `http` only on a loopback host (§7.3; `localhost` is allowed as
/// OpenID Connect Dynamic Client Registration §2 allows it, though §8.3 advises the IP
/// literals, and only they get the any-port match of [`matches`]), `https` (a claimed URI,
/// §7.2), or a private-use scheme that is a reverse domain name (§7.1: "MUST use a URI scheme
/// based on a domain name under their control, expressed in reverse order").
pub(crate) fn validate_native(uri: &str) -> Result<(), String> {
    validate_registration(uri)?;
    let scheme = uri.split_once(':').map_or("", |(scheme, _)| scheme);
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    let labels: Vec<&str> = scheme.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Err(format!(
            "the private-use scheme {scheme:?} of a native client must be a reverse domain name, such as com.example.app (RFC 8252 §7.1)"
        ));
    }
    Ok(())
}

/// Whether the raw text has an `@` in its authority, which some parsers read as userinfo.
pub(crate) fn has_raw_userinfo(uri: &str) -> bool {
    let Some((_, rest)) = uri.split_once("://") else {
        return false;
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    rest[..authority_end].contains('@')
}

/// Whether the requested redirect URI matches the registered one: byte-for-byte, except that
/// the port of a registered `http://127.0.0.1` or `http://[::1]` URI may differ.
pub(crate) fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    for prefix in ["http://127.0.0.1", "http://[::1]"] {
        if let (Some(reg_rest), Some(req_rest)) = (
            registered.strip_prefix(prefix),
            requested.strip_prefix(prefix),
        ) {
            return match (strip_port(reg_rest), strip_port(req_rest)) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
        }
    }
    false
}

/// Removes a leading `:port` (1–65535, no leading zero) and returns what follows, which must
/// be empty or start a path or query.
fn strip_port(rest: &str) -> Option<&str> {
    let after = match rest.strip_prefix(':') {
        Some(port_and_more) => {
            let digits = port_and_more
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(port_and_more.len());
            let port = &port_and_more[..digits];
            if port.is_empty() || port.starts_with('0') || port.parse::<u16>().is_err() {
                return None;
            }
            &port_and_more[digits..]
        }
        None => rest,
    };
    (after.is_empty() || after.starts_with('/') || after.starts_with('?')).then_some(after)
}

/// Whether the URL's host is a loopback IP literal or `localhost`.
pub(crate) fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_accepts_safe_uris() {
        for ok in [
            "https://app.example.com/cb",
            "https://app.example.com/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:9/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
            "myapp://callback",
        ] {
            assert!(validate_registration(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn native_clients_use_loopback_https_or_reverse_domain_schemes() {
        for ok in [
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost/cb",
            "https://app.example.com/cb",
            "com.example.app:/oauth2redirect",
            "com.example.app://cb",
        ] {
            assert!(validate_native(ok).is_ok(), "{ok}");
        }
        for bad in [
            "myapp://callback",
            "com.:/cb",
            ".com.example:/cb",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "com.example.app:/cb#frag",
        ] {
            assert!(validate_native(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registration_rejects_dangerous_uris() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "https://app.example.com/cb#frag",
            "https://user@app.example.com/cb",
            "https://a@b@evil.example/cb",
            "http://app.example.com/cb",
            "/relative/cb",
            "https:///nohost",
            "https://app.example.com/c b",
            "https://app.example.com/cb\n",
            "",
        ] {
            assert!(validate_registration(bad).is_err(), "{bad}");
        }
        assert!(validate_registration(&format!("https://a.example/{}", "x".repeat(3000))).is_err());
    }

    #[test]
    fn matching_is_exact() {
        let reg = "https://client.example.com/cb";
        assert!(matches(reg, reg));
        for bad in [
            "https://client.example.com/CB",
            "https://CLIENT.EXAMPLE.COM/cb",
            "https://client.example.com:443/cb",
            "https://client.example.com/cb/",
            "https://client.example.com/cb?x=1",
            "https://client.example.com/x/../cb",
            "https://client.example.com/cb/..;/evil",
            "http://127.0.0.1/cb",
            "https://client.example.com.evil.com/cb",
        ] {
            assert!(!matches(reg, bad), "{bad}");
        }
    }

    #[test]
    fn loopback_port_may_vary_nothing_else() {
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:51000/cb"));
        assert!(matches(
            "http://127.0.0.1:8080/cb",
            "http://127.0.0.1:9090/cb"
        ));
        assert!(matches("http://[::1]/cb", "http://[::1]:4000/cb"));
        assert!(matches("http://127.0.0.1", "http://127.0.0.1:4000"));
        for bad in [
            "http://127.0.0.1:51000/cb?bar=foo",
            "http://127.0.0.1:51000/other",
            "http://127.000.000.001:8888/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1.evil.com/cb",
            "http://127.0.0.1:80@evil.com/cb",
            "https://127.0.0.1:4000/cb",
        ] {
            assert!(!matches("http://127.0.0.1/cb", bad), "{bad}");
        }
        assert!(!matches("http://localhost/cb", "http://localhost:4000/cb"));
        assert!(!matches(
            "https://example.com/callback",
            "http://127.0.0.1/callback"
        ));
    }
}

/// Issue 10, item 15: redirect URIs on untrusted text.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn uri() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,100}",
            "(https?|HTTP|javascript|data|com\\.example\\.app|file):(//)?[ -~]{0,80}",
            "http://(127\\.0\\.0\\.1|\\[::1\\]|localhost)(:[0-9]{0,7})?[/?#@%:a-z.]{0,20}",
            "https://[a-z@:.%\\[\\]0-9]{0,30}(/[ -~]{0,20})?",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

        /// Registration answers for any text; what it accepts matches itself and is never
        /// longer than the cap, a fragment, userinfo or a denied scheme.
        #[test]
        fn registration_answers_for_any_text(uri in uri()) {
            if validate_registration(&uri).is_ok() {
                prop_assert!(matches(&uri, &uri));
                prop_assert!(uri.len() <= MAX_LEN && !uri.contains('#'));
                let parsed = url::Url::parse(&uri).unwrap();
                prop_assert!(!DENIED_SCHEMES.contains(&parsed.scheme()));
                prop_assert!(parsed.username().is_empty() && parsed.password().is_none());
            }
        }

        /// Matching answers for any pair, and is exact except for a loopback IP's port.
        #[test]
        fn matching_is_exact_but_for_loopback_ports(registered in uri(), requested in uri()) {
            if matches(&registered, &requested) && registered != requested {
                prop_assert!(
                    registered.starts_with("http://127.0.0.1") || registered.starts_with("http://[::1]"),
                    "{} ~ {}", registered, requested
                );
            }
        }

        /// RFC 8252 §7.3: any port of a registered loopback IP matches; the path must not differ.
        #[test]
        fn loopback_ports_are_relaxed(
            host in prop_oneof![Just("127.0.0.1"), Just("[::1]")],
            port in 1u16..,
            other in 1u16..,
            path in "(/[a-z]{0,8}){0,3}(\\?[a-z=]{0,8})?",
            wrong in "/[a-z]{1,8}",
        ) {
            let registered = format!("http://{host}:{port}{path}");
            let other_port = format!("http://{host}:{other}{path}");
            let no_port = format!("http://{host}{path}");
            let other_path = format!("http://{host}:{other}{path}{wrong}x");
            prop_assert!(matches(&registered, &other_port));
            prop_assert!(matches(&registered, &no_port));
            prop_assert!(!matches(&registered, &other_path));
        }
    }
}
