//! HMAC-signed cookies: `HttpOnly`, `SameSite=Lax`, `Path=/`, never a `Domain`, and `Secure`
//! when the issuer is https. The signature covers the cookie's name, value and expiry, so a
//! value cannot be moved to another cookie or kept alive past its expiry.
//!
//! A `Secure` cookie's name carries the [`HOST_PREFIX`] ([`name`]): a browser then accepts it
//! only from the issuer's own host, so a sibling subdomain cannot plant or overwrite one (the
//! signature already stops forging a value, not replaying one of the attacker's own).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use http::header::COOKIE;
use time::OffsetDateTime;

use super::Request;

/// Keys cookie signatures; derived from the system secrets so they are never used raw. The
/// current secret's key signs; every secret's key verifies (during a rotation).
#[derive(Clone)]
pub(crate) struct CookieKey {
    current: [u8; 32],
    old: Vec<[u8; 32]>,
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(<redacted>)")
    }
}

impl CookieKey {
    /// Derives the cookie keys from the current system secret and the old ones.
    pub(crate) fn derive<'a>(current: &[u8], old: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let derive =
            |secret: &[u8]| crate::crypto::derive_key(secret, b"oauth2-provider cookie v1");
        Self {
            current: derive(current),
            old: old.into_iter().map(derive).collect(),
        }
    }

    fn mac(key: &[u8; 32], name: &str, value: &str, expires: i64) -> [u8; 32] {
        crate::crypto::hmac_sha256(
            key,
            &[
                name.as_bytes(),
                &[0],
                value.as_bytes(),
                &[0],
                &expires.to_be_bytes(),
            ],
        )
    }

    /// The signed form `base64url(value).expires.base64url(mac)` of a cookie value.
    pub(crate) fn sign(&self, name: &str, value: &str, expires: OffsetDateTime) -> String {
        let expires = expires.unix_timestamp();
        let tag = Self::mac(&self.current, name, value, expires);
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(value),
            expires,
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The value of a signed cookie if the signature holds and it has not expired at `now`.
    pub(crate) fn verify(&self, name: &str, signed: &str, now: OffsetDateTime) -> Option<String> {
        let mut parts = signed.splitn(3, '.');
        let value = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let tag = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        std::iter::once(&self.current)
            .chain(&self.old)
            .any(|key| {
                crate::crypto::constant_time_eq(&Self::mac(key, name, &value, expires), &tag)
            })
            .then_some(())?;
        (now.unix_timestamp() < expires).then_some(value)
    }

    /// Reads and verifies the cookie `name` from the request. With several cookies of that
    /// name, the first valid one wins.
    pub(crate) fn read(&self, req: &Request, name: &str, now: OffsetDateTime) -> Option<String> {
        request_cookies(req)
            .filter(|(n, _)| *n == name)
            .find_map(|(_, v)| self.verify(name, v, now))
    }

    /// A `Set-Cookie` value for a signed cookie valid until `expires`. With `persistent`
    /// the browser keeps it until then (`Max-Age`); otherwise it is a browser-session cookie.
    pub(crate) fn set(
        &self,
        name: &str,
        value: &str,
        now: OffsetDateTime,
        expires: OffsetDateTime,
        persistent: bool,
        secure: bool,
    ) -> HeaderValue {
        let signed = self.sign(name, value, expires);
        let mut cookie = format!("{name}={signed}; Path=/; HttpOnly; SameSite=Lax");
        if persistent {
            let max_age = (expires - now).whole_seconds().max(0);
            cookie.push_str(&format!("; Max-Age={max_age}"));
        }
        if secure {
            cookie.push_str("; Secure");
        }
        header_value(cookie)
    }
}

/// The prefix that binds a cookie to the host that set it (RFC 6265bis §4.1.3.2): a browser
/// accepts a `__Host-` cookie only with `Secure`, `Path=/` and no `Domain`, which is how
/// [`CookieKey::set`] writes a `Secure` cookie.
pub(crate) const HOST_PREFIX: &str = "__Host-";

/// The name a cookie called `base` goes by: with the [`HOST_PREFIX`] when cookies are
/// `Secure` (an https issuer); as is otherwise, since a browser refuses a `__Host-` cookie
/// without `Secure`, and a plain-http issuer (development, loopback) cannot set that.
pub(crate) fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("{HOST_PREFIX}{base}")
    } else {
        base.to_owned()
    }
}

/// The expiry (Unix seconds) a signed value carries, **unverified**: only for ordering a
/// browser's own cookies, never for trusting one (that is [`CookieKey::verify`]).
pub(crate) fn signed_expiry(signed: &str) -> Option<i64> {
    signed.split('.').nth(1)?.parse().ok()
}

/// A `Set-Cookie` value that deletes the cookie `name`.
pub(crate) fn clear(name: &str, secure: bool) -> HeaderValue {
    let mut cookie = format!(
        "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    if secure {
        cookie.push_str("; Secure");
    }
    header_value(cookie)
}

/// Cookie names and signed values are base64url, digits, `.`, `_` and `=`, all valid in a
/// header; the fallback is unreachable for the names this crate uses.
fn header_value(cookie: String) -> HeaderValue {
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Every `name=value` pair of every `Cookie` header.
pub(crate) fn request_cookies(req: &Request) -> impl Iterator<Item = (&str, &str)> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (n, v) = pair.trim().split_once('=')?;
            Some((n.trim(), v.trim()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn key() -> CookieKey {
        CookieKey::derive(b"0123456789abcdef0123456789abcdef", [])
    }

    #[test]
    fn signed_cookies_round_trip_and_resist_tampering() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let signed = key().sign("session", "sid-1", now + Duration::hours(1));
        assert_eq!(
            key().verify("session", &signed, now).as_deref(),
            Some("sid-1")
        );
        // Expired.
        assert_eq!(
            key().verify("session", &signed, now + Duration::hours(2)),
            None
        );
        // Moved to another cookie name.
        assert_eq!(key().verify("csrf", &signed, now), None);
        // Another key.
        let other = CookieKey::derive(b"another secret of sufficient len", []);
        assert_eq!(other.verify("session", &signed, now), None);
        // Tampered value or expiry.
        let forged_value = format!(
            "{}{}",
            URL_SAFE_NO_PAD.encode("sid-2"),
            &signed[signed.find('.').unwrap()..]
        );
        assert_eq!(key().verify("session", &forged_value, now), None);
        let mut parts: Vec<&str> = signed.split('.').collect();
        let later = (now + Duration::days(9)).unix_timestamp().to_string();
        parts[1] = &later;
        assert_eq!(key().verify("session", &parts.join("."), now), None);
        assert_eq!(key().verify("session", "garbage", now), None);
    }

    #[test]
    fn secure_names_get_the_host_prefix_and_signed_values_carry_their_expiry() {
        assert_eq!(name("s", true), "__Host-s");
        assert_eq!(name("s", false), "s");
        let expires = OffsetDateTime::from_unix_timestamp(1_700_000_060).unwrap();
        let signed = key().sign("s", "v.w", expires);
        assert_eq!(signed_expiry(&signed), Some(1_700_000_060));
        assert_eq!(signed_expiry("garbage"), None);
        assert_eq!(signed_expiry("a.b.c"), None);
    }

    #[test]
    fn set_cookie_attributes() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let v = key().set("s", "v", now, now + Duration::seconds(60), true, true);
        let v = v.to_str().unwrap();
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Secure"));
        assert!(v.contains("Max-Age=60"));
        let v = key().set("s", "v", now, now + Duration::seconds(60), false, false);
        assert!(
            !v.to_str().unwrap().contains("Max-Age") && !v.to_str().unwrap().contains("Secure")
        );
    }
}
