//! Credentials: opaque tokens (256 random bits behind a type prefix) and RFC 9068 JWT access
//! tokens; stores see only their SHA-256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::store::TokenKind;

/// What an opaque credential is: a token of one of the store's [`TokenKind`]s, or one of the
/// two credentials that are not tokens. The prefix makes the type visible (and secret
/// scanners able to spot leaked tokens) and lets one kind never be mistaken for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    /// An access or refresh token.
    Token(TokenKind),
    AuthorizationCode,
    /// Login and consent verifiers.
    Verifier,
    /// The registration access token of a dynamically registered client (RFC 7592), which
    /// manages only that client's registration.
    RegistrationToken,
}

impl CredentialKind {
    pub(crate) const ACCESS_TOKEN: Self = Self::Token(TokenKind::AccessToken);
    pub(crate) const REFRESH_TOKEN: Self = Self::Token(TokenKind::RefreshToken);

    /// The prefix of every credential of this kind.
    pub(crate) const fn prefix(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "op_ac_",
            Self::Token(TokenKind::AccessToken) => "op_at_",
            Self::Token(TokenKind::RefreshToken) => "op_rt_",
            Self::Verifier => "op_vf_",
            Self::RegistrationToken => "op_rg_",
        }
    }

    /// The kind a presented credential claims by its prefix; a compact JWS (RFC 9068 access
    /// tokens have no prefix) claims to be an access token, and its digest decides.
    pub(crate) fn of(token: &str) -> Option<Self> {
        [
            Self::AuthorizationCode,
            Self::ACCESS_TOKEN,
            Self::REFRESH_TOKEN,
            Self::Verifier,
            Self::RegistrationToken,
        ]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))
        .or_else(|| looks_like_jwt(token).then_some(Self::ACCESS_TOKEN))
    }
}

/// Whether `token` has the shape of a compact JWS whose header is a JSON object (`eyJ` is
/// base64url of `{"`): three parts, no more.
fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// A freshly minted opaque credential and the digest a store keeps.
#[derive(Debug)]
pub(crate) struct Credential {
    pub(crate) token: String,
    pub(crate) signature: String,
}

/// Mints a credential of `kind`: prefix + base64url of 32 random bytes.
pub(crate) fn mint(kind: CredentialKind) -> Credential {
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

/// The id of a grant that exists for one token (`client_credentials`): the first half of the
/// token's signature, 32 hex digits like [`random_id`](crate::crypto::random_id) and as unique
/// as the token. The memory store then finds the grant through the token (see
/// `store::memory::tokens`) and needs no second index entry for it.
pub(crate) fn grant_id_of(signature: &str) -> String {
    signature.get(..32).unwrap_or(signature).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_prefixed_random_and_hashed() {
        let a = mint(CredentialKind::ACCESS_TOKEN);
        let b = mint(CredentialKind::ACCESS_TOKEN);
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with("op_at_"));
        assert_eq!(a.token.len(), 6 + 43);
        assert_eq!(a.signature, signature(&a.token));
        assert_eq!(a.signature.len(), 64);
        assert!(!a.signature.contains(&a.token[6..]));
        assert_eq!(
            CredentialKind::of(&a.token),
            Some(CredentialKind::ACCESS_TOKEN)
        );
        assert_eq!(
            CredentialKind::of(&mint(CredentialKind::REFRESH_TOKEN).token),
            Some(CredentialKind::REFRESH_TOKEN)
        );
        assert_eq!(CredentialKind::of("garbage"), None);
        assert_eq!(
            CredentialKind::of("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"),
            Some(CredentialKind::ACCESS_TOKEN)
        );
        assert_eq!(CredentialKind::of("eyJhbGciOiJFUzI1NiJ9.e30"), None);
    }

    #[test]
    fn credentials_are_one_vocabulary_with_the_store_token_kinds() {
        for kind in [TokenKind::AccessToken, TokenKind::RefreshToken] {
            let minted = mint(CredentialKind::Token(kind));
            assert_eq!(
                CredentialKind::of(&minted.token),
                Some(CredentialKind::Token(kind))
            );
            assert_eq!(TokenKind::from_name(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(TokenKind::from_name("id_token"), None);
        let verifier = mint(CredentialKind::Verifier).token;
        assert_eq!(
            CredentialKind::of(&verifier),
            Some(CredentialKind::Verifier)
        );
    }
}

pub(crate) mod claims;
pub(crate) mod issue;
pub(crate) mod lookup;
