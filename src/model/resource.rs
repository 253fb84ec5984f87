//! Resource indicators (RFC 8707): the `resource` values a client sends at the authorization
//! and token endpoints, the audiences a client may be restricted to (Hydra's client
//! `audience`), and narrowing a grant's audience at the token endpoint.
//!
//! Values are kept and compared as sent: a resource server checks `aud` by exact string, so
//! normalising here would only hide a mismatch until it failed there.

use crate::error::OAuthError;

/// Most resources one request may name; each is kept with the grant and in every token.
pub(crate) const MAX_RESOURCES: usize = 16;
/// The longest resource indicator accepted, in bytes.
pub(crate) const MAX_RESOURCE_LEN: usize = 2048;

/// Why `value` is not a resource indicator (RFC 8707 §2: "an absolute URI … MUST NOT include
/// a fragment component"), or `None` when it is one.
pub(crate) fn problem(value: &str) -> Option<&'static str> {
    if value.len() > MAX_RESOURCE_LEN {
        return Some("is too long");
    }
    if value.contains('#') {
        return Some("must not contain a fragment");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain whitespace");
    }
    match url::Url::parse(value) {
        Ok(_) => None,
        Err(_) => Some("must be an absolute URI"),
    }
}

/// The resources a request names (each `resource` parameter), in request order without
/// repeats: each one a valid indicator, at most [`MAX_RESOURCES`]; else `invalid_target`.
pub(crate) fn requested<'a>(
    values: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, OAuthError> {
    let mut resources: Vec<String> = Vec::new();
    for value in values {
        if let Some(why) = problem(value) {
            return Err(OAuthError::invalid_target(format!(
                "The resource '{}' {why}.",
                shorten(value)
            )));
        }
        if !resources.iter().any(|r| r == value) {
            if resources.len() == MAX_RESOURCES {
                return Err(OAuthError::invalid_target(format!(
                    "At most {MAX_RESOURCES} resources may be requested at once."
                )));
            }
            resources.push(value.to_owned());
        }
    }
    Ok(resources)
}

/// Whether a client restricted to `allowed` audiences may ask for `resource`: it equals an
/// allowed audience, or lies under one as a path below it (`https://api.example/v1` allows
/// `https://api.example/v1/orders`, not `https://api.example/v10`), as Hydra matches
/// audiences. An allowed audience with a query matches only exactly.
fn allowed_by(allowed: &[String], resource: &str) -> bool {
    allowed.iter().any(|a| {
        if a == resource {
            return true;
        }
        if a.contains('?') {
            return false;
        }
        match resource.strip_prefix(a.as_str()) {
            Some(rest) => a.ends_with('/') || rest.starts_with('/'),
            None => false,
        }
    })
}

/// Refuses the first resource a client restricted to `allowed` may not ask for. An empty
/// list restricts nothing: the user's consent decides (see the README).
pub(crate) fn check_allowed(allowed: &[String], resources: &[String]) -> Result<(), OAuthError> {
    if allowed.is_empty() {
        return Ok(());
    }
    match resources.iter().find(|r| !allowed_by(allowed, r)) {
        Some(denied) => Err(OAuthError::invalid_target(format!(
            "The client is not allowed to request the resource '{}'.",
            shorten(denied)
        ))),
        None => Ok(()),
    }
}

/// The audience of an access token a token request asks for: the grant's whole audience when
/// it names no resource, else the named ones, each of which must have been granted (RFC 8707
/// §2.2: the token request may only narrow what was authorized).
pub(crate) fn narrow(
    granted: &[String],
    requested: Vec<String>,
) -> Result<Vec<String>, OAuthError> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    match requested.iter().find(|r| !granted.contains(r)) {
        Some(extra) => Err(OAuthError::invalid_target(format!(
            "The resource '{}' was not granted; a token request may only narrow the granted resources.",
            shorten(extra)
        ))),
        None => Ok(requested),
    }
}

/// `value` cut for an error message (a refused value may be long).
fn shorten(value: &str) -> &str {
    let mut end = value.len().min(200);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<Vec<String>, OAuthError>) -> String {
        r.map(|_| ()).unwrap_err().error.as_str().to_owned()
    }

    #[test]
    fn indicators_are_absolute_uris_without_fragments() {
        let ok = requested(["https://api.example/v1", "urn:example:api"].into_iter());
        assert_eq!(ok.unwrap(), ["https://api.example/v1", "urn:example:api"]);
        for bad in [
            "https://api.example/#x",
            "/relative",
            "api",
            "https://a b",
            "",
        ] {
            assert_eq!(err(requested([bad].into_iter())), "invalid_target", "{bad}");
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_RESOURCE_LEN));
        assert_eq!(
            err(requested([long.as_str()].into_iter())),
            "invalid_target"
        );
    }

    #[test]
    fn repeats_collapse_and_the_count_is_bounded() {
        let same = requested(["https://a.example", "https://a.example"].into_iter());
        assert_eq!(same.unwrap(), ["https://a.example"]);
        let many: Vec<String> = (0..=MAX_RESOURCES)
            .map(|i| format!("https://a.example/{i}"))
            .collect();
        assert_eq!(
            err(requested(many.iter().map(String::as_str))),
            "invalid_target"
        );
    }

    #[test]
    fn allowed_audiences_match_exactly_or_by_path_below() {
        let allowed = vec!["https://api.example/v1".to_owned(), "urn:x?y=1".to_owned()];
        assert!(allowed_by(&allowed, "https://api.example/v1"));
        assert!(allowed_by(&allowed, "https://api.example/v1/orders"));
        assert!(!allowed_by(&allowed, "https://api.example/v10"));
        assert!(!allowed_by(&allowed, "https://api.example"));
        assert!(!allowed_by(&allowed, "https://api.example.evil/v1"));
        assert!(allowed_by(&allowed, "urn:x?y=1"));
        assert!(!allowed_by(&allowed, "urn:x?y=1/more"));
        let slash = vec!["https://api.example/".to_owned()];
        assert!(allowed_by(&slash, "https://api.example/anything"));
        assert!(check_allowed(&[], &["https://any.example".into()]).is_ok());
        assert!(check_allowed(&allowed, &["https://other.example".into()]).is_err());
    }

    #[test]
    fn token_requests_only_narrow() {
        let granted = vec![
            "https://a.example".to_owned(),
            "https://b.example".to_owned(),
        ];
        assert_eq!(narrow(&granted, vec![]).unwrap(), granted);
        assert_eq!(
            narrow(&granted, vec!["https://b.example".into()]).unwrap(),
            ["https://b.example"]
        );
        assert_eq!(
            narrow(&granted, vec!["https://c.example".into()])
                .unwrap_err()
                .error
                .as_str(),
            "invalid_target"
        );
    }
}
