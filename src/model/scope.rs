//! Scopes: space-separated lists and Hydra's wildcard matching strategy.

/// Splits a space-separated scope string into its distinct, non-empty scopes, keeping order.
/// Linear in the number of scopes, because a scope arrives from unauthenticated requests and
/// may hold thousands of tokens; a handful costs no allocation beyond the result.
pub fn split(scope: &str) -> Vec<String> {
    let mut seen = super::seen::Seen::new(scope.matches(' ').count() + 1);
    scope
        .split(' ')
        .filter(|s| !s.is_empty() && seen.insert(s))
        .map(str::to_owned)
        .collect()
}

/// Joins scopes with single spaces.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Whether `granted` (which may contain wildcards) covers the concrete scope `needle`.
///
/// Hydra's wildcard strategy: scopes are split on `.`; `a.*` matches `a.b` and `a.b.c`;
/// `*` alone matches any non-empty scope; otherwise segments must be equal and the lengths
/// the same.
pub fn matches(granted: &str, needle: &str) -> bool {
    // Without a wildcard, equal segments of equal count are equal strings.
    if granted == needle || !granted.contains('*') {
        return granted == needle;
    }
    let needle_parts: Vec<&str> = needle.split('.').collect();
    let granted_parts: Vec<&str> = granted.split('.').collect();
    if granted_parts.len() > needle_parts.len() {
        return false;
    }
    let last = granted_parts.len() - 1;
    for (k, part) in granted_parts.iter().enumerate() {
        if k == last && granted_parts.len() != needle_parts.len() && *part != "*" {
            return false;
        }
        if *part == "*" && !needle_parts[k].is_empty() {
            continue;
        }
        if *part != needle_parts[k] {
            return false;
        }
    }
    true
}

/// The first of `requested` that no scope of `allowed` (a client's registered scope, space
/// separated, wildcards as in [`matches`]) covers.
pub(crate) fn first_not_allowed<'a>(requested: &'a [String], allowed: &str) -> Option<&'a str> {
    requested
        .iter()
        .map(String::as_str)
        .find(|s| !allowed.split(' ').any(|a| !a.is_empty() && matches(a, s)))
}

/// Whether `openid` was granted, which is what makes a grant an OpenID Connect one that
/// gets an ID token and may read userinfo.
pub(crate) fn is_openid(scope: &[String]) -> bool {
    scope.iter().any(|s| s == "openid")
}

/// Whether every scope in `needles` is covered by some scope in `granted`.
pub fn all_covered<G: AsRef<str>, N: AsRef<str>>(granted: &[G], needles: &[N]) -> bool {
    needles
        .iter()
        .all(|n| granted.iter().any(|g| matches(g.as_ref(), n.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_strategy_as_hydra() {
        assert!(matches("foo", "foo"));
        assert!(!matches("foo", "foo.bar"));
        assert!(matches("foo.*", "foo.bar"));
        assert!(matches("foo.*", "foo.bar.baz"));
        assert!(!matches("foo.*", "foo"));
        assert!(!matches("foo.*", "bar.baz"));
        assert!(matches("*", "anything"));
        assert!(!matches("*", ""));
        assert!(!matches("foo.bar", "foo"));
        assert!(!matches("a.*.c", "a.b"));
        assert!(matches("a.*.c", "a.b.c"));
        assert!(!matches("foo.*", "foo."));
        assert!(!matches("foo", "fo"));
        assert!(all_covered(&["core", "foo.*"], &["foo.bar", "core"]));
        assert!(!all_covered(&["core"], &["core", "bar"]));
    }

    #[test]
    fn split_drops_empties_and_duplicates() {
        assert_eq!(split("  a b  a c "), vec!["a", "b", "c"]);
        assert!(split("").is_empty());
    }
}
