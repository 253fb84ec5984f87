//! OAuth parameters from query strings and form bodies, and JSON bodies.
//!
//! Repeated parameters are rejected (RFC 6749 §3.1) and a parameter with an empty value
//! counts as absent.

use std::ops::Range;

use serde::de::DeserializeOwned;

use super::Request;
use crate::error::OAuthError;

/// Most parameters one query string or form body may carry. OAuth requests carry a few
/// dozen at most; the cap bounds what reading an unauthenticated request can cost, since
/// parsing decodes every pair before anything checks who sent it.
pub(crate) const MAX_PARAMS: usize = 100;

/// Whether `text` holds a control character (C0, DEL or C1). No identifier the provider
/// keys a store by (client id, challenge, subject) may: some stores refuse them
/// (PostgreSQL's text refuses NUL). Credentials are only ever hashed and need no check.
pub(crate) fn has_control(text: &str) -> bool {
    // Printable ASCII has no control character, and ids almost always are printable ASCII: one
    // pass over the bytes settles them, without an early exit so that the compiler can
    // vectorise it (the char-wise check alone was most of checking a client id).
    let beyond_printable_ascii = text
        .bytes()
        .fold(false, |beyond, b| beyond | !(b' '..=b'~').contains(&b));
    beyond_printable_ascii && text.chars().any(char::is_control)
}

/// `value` of the identifier `name` (a client id, …) if it can key a store: a control
/// character in it is an `invalid_request`.
pub(crate) fn identifier<'a>(name: &str, value: &'a str) -> Result<&'a str, OAuthError> {
    if has_control(value) {
        return Err(OAuthError::invalid_request(format!(
            "The {name} contains a control character."
        )));
    }
    Ok(value)
}

/// Parameters a request may repeat: RFC 8707 §2 lets a client send several `resource`s.
pub(crate) const REPEATABLE: &[&str] = &["resource"];

/// Decoded `application/x-www-form-urlencoded` parameters, in order.
///
/// Every decoded key and value lives in one string: reading a request allocates twice, plus
/// once for each key or value with an escape in it, rather than twice per parameter.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    text: String,
    /// Key and value of each pair, as ranges of `text`.
    pairs: Vec<(Range<usize>, Range<usize>)>,
}

impl Params {
    /// Parses an urlencoded string (query or form body) the provider wrote itself.
    pub(crate) fn parse(raw: &[u8]) -> Self {
        // Nothing to decode (the usual token request): the text is the input, and the pairs
        // are where `form_urlencoded` would split it. A unit test holds the two equal.
        if let Ok(text) = std::str::from_utf8(raw) {
            if !raw.iter().any(|b| matches!(b, b'%' | b'+')) {
                return Self::split_plain(text);
            }
        }
        let mut params = Self {
            text: String::with_capacity(raw.len()),
            pairs: Vec::new(),
        };
        for (key, value) in url::form_urlencoded::parse(raw) {
            params.push_pair(&key, &value);
        }
        params
    }

    /// `text`, which holds no escape, split as `form_urlencoded` does: at each `&`, skipping
    /// empty pieces, and each piece at its first `=` (a piece without one is a key with an
    /// empty value).
    fn split_plain(text: &str) -> Self {
        let mut pairs = Vec::new();
        let mut start = 0;
        for piece in text.split('&') {
            let end = start + piece.len();
            if !piece.is_empty() {
                let pair = match piece.find('=') {
                    Some(eq) => (start..start + eq, start + eq + 1..end),
                    None => (start..end, end..end),
                };
                pairs.push(pair);
            }
            start = end + 1;
        }
        Self {
            text: text.to_owned(),
            pairs,
        }
    }

    fn push_pair(&mut self, key: &str, value: &str) {
        let mut push_text = |part: &str| {
            let start = self.text.len();
            self.text.push_str(part);
            start..self.text.len()
        };
        let pair = (push_text(key), push_text(value));
        self.pairs.push(pair);
    }

    /// Every pair, in order (empty values included).
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(key, value)| (&self.text[key.clone()], &self.text[value.clone()]))
    }

    /// Parses an urlencoded string from a request: more than [`MAX_PARAMS`] pairs is an
    /// `invalid_request`, found by counting separators before anything is decoded.
    fn parse_untrusted(raw: &[u8]) -> Result<Self, OAuthError> {
        let pairs = raw
            .split(|b| *b == b'&')
            .filter(|pair| !pair.is_empty())
            .count();
        if pairs > MAX_PARAMS {
            return Err(OAuthError::invalid_request(format!(
                "A request may carry at most {MAX_PARAMS} parameters."
            )));
        }
        Ok(Self::parse(raw))
    }

    /// The query parameters of a request (at most [`MAX_PARAMS`]).
    pub(crate) fn from_query(req: &Request) -> Result<Self, OAuthError> {
        Self::parse_untrusted(req.uri().query().unwrap_or("").as_bytes())
    }

    /// The form body of a POST request (at most [`MAX_PARAMS`] parameters); an
    /// `invalid_request` error if the body is not
    /// `application/x-www-form-urlencoded` (a missing content type is accepted when the
    /// body is empty).
    pub(crate) fn from_form(req: &Request) -> Result<Self, OAuthError> {
        if req.body().is_empty() {
            return Ok(Self::default());
        }
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "The request body must be application/x-www-form-urlencoded.",
            ));
        }
        Self::parse_untrusted(req.body())
    }

    /// Whether no parameter has a value.
    pub(crate) fn is_empty(&self) -> bool {
        self.pairs.iter().all(|(_, v)| v.is_empty())
    }

    /// The single non-empty value of `name`; `invalid_request` if it appears more than once.
    pub(crate) fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found: Option<&str> = None;
        for (k, v) in self.pairs() {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(OAuthError::invalid_request(format!(
                        "The parameter '{name}' must not be included more than once."
                    )));
                }
                found = Some(v);
            }
        }
        Ok(found)
    }

    /// Like [`Params::get`], but absence is an `invalid_request` error.
    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?.ok_or_else(|| {
            OAuthError::invalid_request(format!("The parameter '{name}' is missing."))
        })
    }

    /// Every non-empty value of `name`, in request order: for the one parameter that may
    /// repeat ([`REPEATABLE`]).
    pub(crate) fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs()
            .filter(move |(k, v)| *k == name && !v.is_empty())
            .map(|(_, v)| v)
    }

    /// Checks every parameter but the [`REPEATABLE`] ones for repetition at once (for
    /// endpoints that read many). Linear in the number of parameters: it runs before client
    /// authentication, so a body of thousands of distinct keys must cost no more than reading
    /// it.
    pub(crate) fn reject_repeated(&self) -> Result<(), OAuthError> {
        let mut seen = crate::model::seen::Seen::new(self.pairs.len());
        for (k, v) in self.pairs() {
            if !v.is_empty() && !REPEATABLE.contains(&k) && !seen.insert(k) {
                return Err(OAuthError::invalid_request(format!(
                    "The parameter '{k}' must not be included more than once."
                )));
            }
        }
        Ok(())
    }

    /// Merges `other` in (e.g. query and body of an authorization POST).
    pub(crate) fn extend(&mut self, other: &Params) {
        for (key, value) in other.pairs() {
            self.push_pair(key, value);
        }
    }
}

/// Decodes a JSON object request body into `T`; malformed JSON, wrong types and unknown
/// fields (for types that deny them) are `invalid_request` errors naming the problem. A body
/// that is not an object is refused up front: serde would otherwise read a JSON array as a
/// struct's fields in order (and `[]` as all defaults).
pub(crate) fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, OAuthError> {
    let first = req.body().iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(OAuthError::invalid_request(
            "The request body is not valid JSON for this endpoint: it must be a JSON object.",
        ));
    }
    serde_json::from_slice(req.body()).map_err(|e| {
        OAuthError::invalid_request(format!(
            "The request body is not valid JSON for this endpoint: {e}."
        ))
    })
}

/// Like [`json_body`], but an empty body decodes as `T::default()`.
pub(crate) fn json_body_or_default<T: DeserializeOwned + Default>(
    req: &Request,
) -> Result<T, OAuthError> {
    if req.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json_body(req)
}

/// The largest page a list endpoint returns.
pub(crate) const MAX_PAGE_SIZE: usize = 500;

/// A `limit`/`offset` page from the query: limit defaults to 100 and is clamped to 1..=500;
/// offset defaults to 0. Non-numeric or negative values are `invalid_request` errors.
pub(crate) fn pagination(req: &Request) -> Result<(usize, usize), OAuthError> {
    let params = Params::from_query(req)?;
    let number = |name: &str, default: usize| -> Result<usize, OAuthError> {
        match params.get(name)? {
            None => Ok(default),
            Some(text) => text.parse::<usize>().map_err(|_| {
                OAuthError::invalid_request(format!(
                    "The query parameter '{name}' must be a non-negative integer."
                ))
            }),
        }
    };
    let limit = number("limit", 100)?.clamp(1, MAX_PAGE_SIZE);
    let offset = number("offset", 0)?;
    Ok((limit, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_rejected_and_empty_ones_ignored() {
        let p = Params::parse(b"a=1&b=&b=2&c=3&c=4");
        assert_eq!(p.get("a").unwrap(), Some("1"));
        assert_eq!(p.get("b").unwrap(), Some("2"));
        assert!(p.get("c").is_err());
        assert_eq!(p.get("d").unwrap(), None);
        assert!(p.require("d").is_err());
        assert!(p.reject_repeated().is_err());
        assert!(Params::parse(b"a=1&b=&b=2").reject_repeated().is_ok());
    }

    #[test]
    fn text_without_escapes_splits_at_separators_like_any_other() {
        let pairs = |raw: &str| -> Vec<(String, String)> {
            let p = Params::parse(raw.as_bytes());
            p.pairs().map(|(k, v)| (k.into(), v.into())).collect()
        };
        let owned = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert_eq!(pairs(""), owned(&[]));
        assert_eq!(pairs("&&"), owned(&[]));
        assert_eq!(
            pairs("&a=1&&b&=c&d==e&é=ü&"),
            owned(&[("a", "1"), ("b", ""), ("", "c"), ("d", "=e"), ("é", "ü")])
        );
        // One escape anywhere decodes the whole text.
        assert_eq!(pairs("a=1+2&b"), owned(&[("a", "1 2"), ("b", "")]));
        assert!(has_control("id\u{85}") && has_control("a\tb") && !has_control("café"));
    }

    #[test]
    fn extending_keeps_both_sides_in_order_and_decoded() {
        let mut query = Params::parse(b"response_type=code&state=a%26b");
        query.extend(&Params::parse(b"scope=openid+email&state=c"));
        let pairs: Vec<_> = query.pairs().collect();
        assert_eq!(
            pairs,
            [
                ("response_type", "code"),
                ("state", "a&b"),
                ("scope", "openid email"),
                ("state", "c"),
            ]
        );
        assert!(query.get("state").is_err());
    }

    #[test]
    fn parameters_past_the_cap_are_refused_before_decoding() {
        let form = |count: usize| {
            let body = (0..count).map(|i| format!("k{i}=v")).collect::<Vec<_>>();
            http::Request::builder()
                .method("POST")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(bytes::Bytes::from(body.join("&")))
                .unwrap()
        };
        assert!(Params::from_form(&form(MAX_PARAMS)).is_ok());
        let err = Params::from_form(&form(MAX_PARAMS + 1)).unwrap_err();
        assert_eq!(err.error, "invalid_request");
        let query = format!("/oauth2/auth?{}", "a=1&".repeat(MAX_PARAMS + 1));
        let req = http::Request::builder()
            .uri(query)
            .body(bytes::Bytes::new())
            .unwrap();
        assert!(Params::from_query(&req).is_err());
    }

    #[test]
    fn repeats_are_found_among_many_distinct_keys() {
        let mut body = (0..MAX_PARAMS - 1)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(Params::parse(body.as_bytes()).reject_repeated().is_ok());
        body.push_str("&k7=again");
        let err = Params::parse(body.as_bytes())
            .reject_repeated()
            .unwrap_err();
        assert!(err.to_string().contains("'k7'"), "{err}");
    }

    #[test]
    fn pagination_rules() {
        let req = |q: &str| {
            http::Request::builder()
                .uri(format!("/clients?{q}"))
                .body(bytes::Bytes::new())
                .unwrap()
        };
        assert_eq!(pagination(&req("")).unwrap(), (100, 0));
        assert_eq!(pagination(&req("limit=1000&offset=5")).unwrap(), (500, 5));
        assert_eq!(pagination(&req("limit=0")).unwrap(), (1, 0));
        assert!(pagination(&req("limit=-1")).is_err());
        assert!(pagination(&req("offset=abc")).is_err());
        assert!(pagination(&req("limit=1&limit=2")).is_err());
    }
}

/// Issue 10, item 15: the urlencoded parser on untrusted bytes.
#[cfg(test)]
mod proptests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any bytes parse or are refused for too many pairs; what parses has at most the
        /// cap, and every lookup and the repetition check answer.
        #[test]
        fn any_bytes_parse_within_the_cap(raw in prop_oneof![
            vec(any::<u8>(), 0..1024),
            "([a-z]{0,3}=?[%+a-z0-9]{0,6}&{0,2}){0,150}".prop_map(String::into_bytes),
        ]) {
            if let Ok(params) = Params::parse_untrusted(&raw) {
                prop_assert!(params.pairs().count() <= MAX_PARAMS);
                let _ = params.reject_repeated();
                for (k, _) in params.pairs() {
                    let _ = params.get(k);
                }
            }
        }

        /// Any bytes split as `form_urlencoded` splits them, on the plain path (nothing to
        /// decode) and the decoding one alike.
        #[test]
        fn any_bytes_split_as_form_urlencoded_does(raw in prop_oneof![
            vec(any::<u8>(), 0..64),
            vec(prop::sample::select(b"a=&%+2\xc3\xa9\xff0".to_vec()), 0..64),
            "[a-z=&é\u{85}\u{1f}]{0,40}".prop_map(String::into_bytes),
        ]) {
            let ours: Vec<_> = Params::parse(&raw)
                .pairs()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let theirs: Vec<_> = url::form_urlencoded::parse(&raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            prop_assert_eq!(ours, theirs);
        }

        /// The control check says what checking every char says.
        #[test]
        fn has_control_is_any_char_a_control(
            text in "\\PC{0,20}|[\\x00-\\x7f\u{80}-\u{a0}\u{2028}é]{0,20}"
        ) {
            prop_assert_eq!(has_control(&text), text.chars().any(char::is_control));
        }

        /// Form encode → parse gives the same pairs, in order, whatever the text.
        #[test]
        fn form_encode_then_parse_round_trips(
            pairs in vec((any::<String>(), any::<String>()), 0..MAX_PARAMS)
        ) {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            let parsed = Params::parse_untrusted(encoded.as_bytes()).unwrap();
            let parsed: Vec<(String, String)> = parsed
                .pairs()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            prop_assert_eq!(parsed, pairs);
        }

        /// Distinct names: `get` finds each non-empty value and repetition is never claimed.
        #[test]
        fn distinct_names_are_found(
            map in prop::collection::btree_map("\\PC{1,10}", "\\PC{0,10}", 0..20)
        ) {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&map)
                .finish();
            let parsed = Params::parse_untrusted(encoded.as_bytes()).unwrap();
            prop_assert!(parsed.reject_repeated().is_ok());
            for (k, v) in &map {
                prop_assert_eq!(parsed.get(k).unwrap(), (!v.is_empty()).then_some(v.as_str()));
            }
        }
    }
}
