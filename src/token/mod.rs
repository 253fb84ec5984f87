//! Opaque tokens: 256 random bits behind a type prefix; stores see only their SHA-256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What an opaque credential is; the prefix makes the type visible (and secret scanners
/// able to spot leaked tokens) and lets one kind never be mistaken for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    AuthorizationCode,
    AccessToken,
    RefreshToken,
    /// Login and consent verifiers.
    Verifier,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::AuthorizationCode => "op_ac_",
            Kind::AccessToken => "op_at_",
            Kind::RefreshToken => "op_rt_",
            Kind::Verifier => "op_vf_",
        }
    }

    /// The kind a presented token claims by its prefix.
    pub(crate) fn of(token: &str) -> Option<Kind> {
        [
            Kind::AuthorizationCode,
            Kind::AccessToken,
            Kind::RefreshToken,
            Kind::Verifier,
        ]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))
    }
}

/// A freshly minted opaque credential and the digest a store keeps.
#[derive(Debug)]
pub(crate) struct Credential {
    pub(crate) token: String,
    pub(crate) signature: String,
}

/// Mints a credential of `kind`: prefix + base64url of 32 random bytes.
pub(crate) fn mint(kind: Kind) -> Credential {
    let random = crate::crypto::random_bytes::<32>();
    let mut token = String::with_capacity(6 + 43);
    token.push_str(kind.prefix());
    URL_SAFE_NO_PAD.encode_string(random, &mut token);
    let signature = signature(&token);
    Credential { token, signature }
}

/// The store key of a presented credential: lowercase hex SHA-256.
pub(crate) fn signature(token: &str) -> String {
    crate::crypto::sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_prefixed_random_and_hashed() {
        let a = mint(Kind::AccessToken);
        let b = mint(Kind::AccessToken);
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with("op_at_"));
        assert_eq!(a.token.len(), 6 + 43);
        assert_eq!(a.signature, signature(&a.token));
        assert_eq!(a.signature.len(), 64);
        assert!(!a.signature.contains(&a.token[6..]));
        assert_eq!(Kind::of(&a.token), Some(Kind::AccessToken));
        assert_eq!(
            Kind::of(&mint(Kind::RefreshToken).token),
            Some(Kind::RefreshToken)
        );
        assert_eq!(Kind::of("garbage"), None);
    }
}

pub(crate) mod claims;
pub(crate) mod issue;
pub(crate) mod lookup;
