//! PKCE (RFC 7636) at the token endpoint: `S256` verification in constant time, and the
//! downgrade rule (a `code_verifier` for a code that had no challenge is refused).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::OAuthError;

/// Whether `verifier` has the shape RFC 7636 §4.1 requires: 43–128 characters of
/// `[A-Za-z0-9-._~]`.
fn well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the `code_verifier` of a token request against the code's stored `S256`
/// challenge. Every failure is `invalid_grant`, so a client learns nothing about which
/// check failed beyond the hint.
pub(crate) fn verify(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        // Spring Security CVE-2024-22258 / RFC 9700 §4.8.2: accepting a verifier for a code
        // without a challenge lets an attacker strip PKCE from the authorization request.
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "The authorization request had no code_challenge, so a code_verifier must not be sent.",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "The code_verifier is missing; the authorization request had a code_challenge.",
        )),
        (Some(challenge), Some(verifier)) => {
            if !well_formed(verifier) {
                return Err(OAuthError::invalid_grant(
                    "The code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~].",
                ));
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if crate::crypto::constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant(
                    "The code_verifier does not match the code_challenge.",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_example_verifies() {
        assert!(verify(Some(CHALLENGE), Some(VERIFIER)).is_ok());
        assert!(verify(None, None).is_ok());
    }

    #[test]
    fn every_failure_is_invalid_grant() {
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl";
        let too_short = "abc";
        let too_long = "a".repeat(129);
        let bad_chars = "dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        for (challenge, verifier) in [
            (Some(CHALLENGE), None),
            (Some(CHALLENGE), Some(wrong)),
            (Some(CHALLENGE), Some(too_short)),
            (Some(CHALLENGE), Some(too_long.as_str())),
            (Some(CHALLENGE), Some(bad_chars)),
            (None, Some(VERIFIER)),
        ] {
            let err = verify(challenge, verifier).unwrap_err();
            assert_eq!(err.error, "invalid_grant", "{challenge:?} {verifier:?}");
        }
    }

    #[test]
    fn length_bounds_are_inclusive() {
        assert!(well_formed(&"a".repeat(43)));
        assert!(well_formed(&"~".repeat(128)));
        assert!(!well_formed(&"a".repeat(42)));
    }
}
