//! The protocol vocabulary of clients: grant types, response types, token endpoint
//! authentication methods and subject types. Each is parsed from its registered spelling
//! (exact and case-sensitive) and renders as that spelling, in `Display` and in JSON.
//!
//! The [`Client`](crate::Client) wire model keeps these values as the strings it was
//! registered with; registration parses every one of them, and the rest of the crate reads
//! them through the typed accessors of [`Client`](crate::Client) only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that is not one of the spellings of its vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownValue {
    what: &'static str,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}", self.what)
    }
}

impl std::error::Error for UnknownValue {}

/// Renders and parses a vocabulary type as its spelling, in text and in JSON.
macro_rules! spelled {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Declares a closed vocabulary: the enum, its spellings (in the order discovery lists
/// them) and parsing.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in the order the discovery document lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The registered spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text {
                    $($text => Ok(Self::$variant),)*
                    _ => Err(UnknownValue { what: $what }),
                }
            }
        }

        spelled!($name);
    };
}

vocabulary! {
    /// An OAuth 2.0 grant type a client may register (RFC 6749, RFC 7591 §2). The default
    /// is what a client that registers none may use.
    #[derive(Default)]
    GrantType ("grant type") {
        /// `authorization_code`: the code flow (the default when a client names none).
        #[default]
        AuthorizationCode => "authorization_code",
        /// `implicit`: tokens from the authorization endpoint (response types with `token`
        /// or `id_token`).
        Implicit => "implicit",
        /// `client_credentials`: a confidential client acting for itself.
        ClientCredentials => "client_credentials",
        /// `refresh_token`: refresh tokens are issued and redeemed.
        RefreshToken => "refresh_token",
    }
}

impl GrantType {
    /// Whether the grant is redeemed at the token endpoint (`implicit` is not).
    pub const fn at_token_endpoint(self) -> bool {
        !matches!(self, Self::Implicit)
    }
}

vocabulary! {
    /// How a client authenticates at the token and revocation endpoints
    /// (`token_endpoint_auth_method`, RFC 7591 §2). The default is what a client that
    /// names none registers.
    #[derive(Default)]
    AuthMethod ("token endpoint authentication method") {
        /// `client_secret_post`: `client_id` and `client_secret` in the form body.
        ClientSecretPost => "client_secret_post",
        /// `client_secret_basic`: HTTP Basic (the default).
        #[default]
        ClientSecretBasic => "client_secret_basic",
        /// `none`: a public client, which has no secret.
        None => "none",
    }
}

vocabulary! {
    /// The kind of `sub` a client sees (OIDC Core §8). The default is what a client that
    /// names none registers.
    #[derive(Default)]
    SubjectType ("subject type") {
        /// `public`: the subject itself (the default).
        #[default]
        Public => "public",
        /// `pairwise`: a per-sector identifier, so clients cannot correlate users.
        Pairwise => "pairwise",
    }
}

vocabulary! {
    /// What kind of access token a client gets (Hydra v2's `access_token_strategy`, per
    /// client, with [`Config::access_token_strategy`](crate::Config::access_token_strategy)
    /// as the provider-wide default).
    #[derive(Default)]
    AccessTokenStrategy ("access token strategy") {
        /// `opaque`: a random string only this provider can resolve (the default).
        #[default]
        Opaque => "opaque",
        /// `jwt`: an RFC 9068 JWT a resource server can verify with the provider's keys.
        Jwt => "jwt",
    }
}

/// A response type: one of the registered combinations of `code`, `token` and `id_token`
/// (OAuth 2.0 Multiple Response Type Encoding Practices). The parts are a set: any order
/// parses, each part at most once; the value renders in its registered spelling
/// (`code id_token token`, …). The default is what a client that registers none may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ResponseType {
    /// `code`: the authorization code flow (the default).
    #[default]
    Code,
    /// `token`: an access token from the authorization endpoint.
    Token,
    /// `id_token`: an ID token from the authorization endpoint.
    IdToken,
    /// `code token`.
    CodeToken,
    /// `code id_token`.
    CodeIdToken,
    /// `id_token token`.
    IdTokenToken,
    /// `code id_token token`.
    CodeIdTokenToken,
}

/// Why a text is not a [`ResponseType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidResponseType {
    /// Empty, or a part other than `code`, `token` and `id_token` (parts are separated by
    /// single spaces).
    Unknown,
    /// The part is named more than once.
    Repeated(&'static str),
}

impl fmt::Display for InvalidResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str(
                "a response type is a space-separated combination of 'code', 'token' and 'id_token'",
            ),
            Self::Repeated(part) => write!(f, "the response type names '{part}' more than once"),
        }
    }
}

impl std::error::Error for InvalidResponseType {}

impl ResponseType {
    /// Every combination, in registered order.
    pub const ALL: &'static [Self] = &[
        Self::Code,
        Self::Token,
        Self::IdToken,
        Self::CodeToken,
        Self::CodeIdToken,
        Self::IdTokenToken,
        Self::CodeIdTokenToken,
    ];

    /// The registered spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Token => "token",
            Self::IdToken => "id_token",
            Self::CodeToken => "code token",
            Self::CodeIdToken => "code id_token",
            Self::IdTokenToken => "id_token token",
            Self::CodeIdTokenToken => "code id_token token",
        }
    }

    /// Whether an authorization code is returned.
    pub const fn has_code(self) -> bool {
        matches!(
            self,
            Self::Code | Self::CodeToken | Self::CodeIdToken | Self::CodeIdTokenToken
        )
    }

    /// Whether an access token is returned from the authorization endpoint.
    pub const fn has_token(self) -> bool {
        matches!(
            self,
            Self::Token | Self::CodeToken | Self::IdTokenToken | Self::CodeIdTokenToken
        )
    }

    /// Whether an ID token is returned from the authorization endpoint.
    pub const fn has_id_token(self) -> bool {
        matches!(
            self,
            Self::IdToken | Self::CodeIdToken | Self::IdTokenToken | Self::CodeIdTokenToken
        )
    }

    /// Whether tokens leave through the front channel (so never in a query).
    pub const fn returns_tokens(self) -> bool {
        self.has_token() || self.has_id_token()
    }

    const fn of_parts(code: bool, token: bool, id_token: bool) -> Option<Self> {
        Some(match (code, token, id_token) {
            (true, false, false) => Self::Code,
            (false, true, false) => Self::Token,
            (false, false, true) => Self::IdToken,
            (true, true, false) => Self::CodeToken,
            (true, false, true) => Self::CodeIdToken,
            (false, true, true) => Self::IdTokenToken,
            (true, true, true) => Self::CodeIdTokenToken,
            (false, false, false) => return None,
        })
    }

    /// The combination of `parts`, in any order, each at most once.
    fn from_parts<'a>(parts: impl Iterator<Item = &'a str>) -> Result<Self, InvalidResponseType> {
        let mut seen = [false; 3];
        for part in parts {
            let (slot, name) = match part {
                "code" => (0, "code"),
                "token" => (1, "token"),
                "id_token" => (2, "id_token"),
                _ => return Err(InvalidResponseType::Unknown),
            };
            if seen[slot] {
                return Err(InvalidResponseType::Repeated(name));
            }
            seen[slot] = true;
        }
        Self::of_parts(seen[0], seen[1], seen[2]).ok_or(InvalidResponseType::Unknown)
    }

    /// Parses the `response_type` parameter of an authorization request, where runs of
    /// spaces between parts (and around them) are tolerated; `None` for anything else that
    /// [`FromStr`] refuses.
    pub(crate) fn parse_request(text: &str) -> Option<Self> {
        Self::from_parts(text.split(' ').filter(|part| !part.is_empty())).ok()
    }
}

impl FromStr for ResponseType {
    type Err = InvalidResponseType;

    /// Parses a registered response type: parts separated by single spaces, in any order.
    fn from_str(text: &str) -> Result<Self, InvalidResponseType> {
        Self::from_parts(text.split(' '))
    }
}

spelled!(ResponseType);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_vocabularies_round_trip_their_spelling() {
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>(), Ok(*g));
        }
        for m in AuthMethod::ALL {
            assert_eq!(m.to_string().parse::<AuthMethod>(), Ok(*m));
        }
        assert_eq!("pairwise".parse(), Ok(SubjectType::Pairwise));
        assert!("Public".parse::<SubjectType>().is_err());
        assert!("password".parse::<GrantType>().is_err());
        assert_eq!(
            serde_json::to_string(&AuthMethod::None).unwrap(),
            r#""none""#
        );
        let back: GrantType = serde_json::from_str(r#""refresh_token""#).unwrap();
        assert_eq!(back, GrantType::RefreshToken);
        assert!(serde_json::from_str::<GrantType>(r#""password""#).is_err());
    }

    #[test]
    fn response_types_are_sets_rendered_in_registered_spelling() {
        assert_eq!("id_token code".parse(), Ok(ResponseType::CodeIdToken));
        assert_eq!(
            "token id_token code"
                .parse::<ResponseType>()
                .map(|r| r.as_str()),
            Ok("code id_token token")
        );
        assert_eq!(
            "code code".parse::<ResponseType>(),
            Err(InvalidResponseType::Repeated("code"))
        );
        for bad in ["", "none", "Code", "code  token", " code", "code device"] {
            assert_eq!(
                bad.parse::<ResponseType>(),
                Err(InvalidResponseType::Unknown),
                "{bad:?}"
            );
        }
        assert_eq!(
            ResponseType::parse_request(" code  token "),
            Some(ResponseType::CodeToken)
        );
        assert_eq!(ResponseType::parse_request(""), None);
        for rt in ResponseType::ALL {
            assert_eq!(rt.as_str().parse(), Ok(*rt));
            assert_eq!(rt.returns_tokens(), rt.has_token() || rt.has_id_token());
        }
        assert!(ResponseType::CodeIdToken.has_code() && !ResponseType::IdToken.has_code());
    }
}
