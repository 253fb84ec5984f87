//! OAuth 2.0 clients: the `OAuth2Client` JSON model of Hydra and the stored record.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::jose::Algorithm;

/// An OAuth 2.0 client, as Hydra's `OAuth2Client` JSON (beta.8, plus `allowed_cors_origins`,
/// `id_token_signed_response_alg`, `created_at` and `updated_at`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Client {
    /// The client identifier; generated when absent on create.
    pub client_id: String,
    /// A human-readable name.
    pub client_name: String,
    /// The plaintext secret: only in the create response (and an update that set one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Registered redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Allowed grant types; empty means `authorization_code`.
    pub grant_types: Vec<String>,
    /// Allowed response types; empty means `code`.
    pub response_types: Vec<String>,
    /// Space-separated scopes the client may request (wildcards allowed).
    pub scope: String,
    /// The owner of the client.
    pub owner: String,
    /// URL of the client's privacy policy.
    pub policy_uri: String,
    /// URL of the client's terms of service.
    pub tos_uri: String,
    /// URL of the client's home page.
    pub client_uri: String,
    /// URL of the client's logo.
    pub logo_uri: String,
    /// Contact addresses.
    pub contacts: Vec<String>,
    /// Always 0: secrets do not expire.
    pub client_secret_expires_at: i64,
    /// `public` (default) or `pairwise`.
    pub subject_type: String,
    /// The sector identifier for pairwise subjects (not fetched; used as the sector).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    /// The client's public keys (JWK Set), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// URL of the client's JWK Set, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `none`.
    pub token_endpoint_auth_method: String,
    /// Pre-registered request URIs (request objects are not supported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_uris: Vec<String>,
    /// Request object signing algorithm (request objects are not supported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    /// `none` (default): userinfo answers plain JSON.
    pub userinfo_signed_response_alg: String,
    /// Algorithm of this client's ID tokens: `ES256` (default) or `EdDSA`.
    pub id_token_signed_response_alg: Option<Algorithm>,
    /// Origins allowed to call token, revoke and userinfo from a browser.
    pub allowed_cors_origins: Vec<String>,
    /// When the client was created.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When the client was last updated.
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// How a client secret is kept: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecretHash {
    /// SHA-256 of a server-generated 256-bit secret: brute force is hopeless, so a fast hash
    /// is as safe as a slow one and keeps client authentication in the microseconds.
    Sha256 {
        /// Lowercase hex digest.
        digest: String,
    },
    /// PBKDF2-HMAC-SHA256 of a secret chosen by a person, which may be guessable.
    Pbkdf2Sha256 {
        /// Iteration count.
        iterations: u32,
        /// Lowercase hex salt.
        salt: String,
        /// Lowercase hex derived key.
        digest: String,
    },
}

/// A client as stored: the model without plaintext secret, plus the secret's hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client (its `client_secret` is always `None` here).
    pub client: Client,
    /// The secret hash; `None` for public clients (`token_endpoint_auth_method = none`).
    pub secret_hash: Option<SecretHash>,
}

impl Client {
    /// The grant types in force: the registered ones, or `authorization_code` when empty.
    pub fn effective_grant_types(&self) -> Vec<&str> {
        if self.grant_types.is_empty() {
            vec!["authorization_code"]
        } else {
            self.grant_types.iter().map(String::as_str).collect()
        }
    }

    /// Whether the client may use `grant_type`.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.effective_grant_types().contains(&grant_type)
    }

    /// The response types in force: the registered ones, or `code` when empty.
    pub fn effective_response_types(&self) -> Vec<&str> {
        if self.response_types.is_empty() {
            vec!["code"]
        } else {
            self.response_types.iter().map(String::as_str).collect()
        }
    }

    /// Whether the client authenticates with no secret (`token_endpoint_auth_method = none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == "none"
    }

    /// The algorithm of this client's ID tokens.
    pub fn id_token_alg(&self) -> Algorithm {
        self.id_token_signed_response_alg
            .unwrap_or(Algorithm::ES256)
    }

    /// A copy without the plaintext secret, as GET, list and login/consent requests show it.
    pub fn without_secret(&self) -> Client {
        Client {
            client_secret: None,
            ..self.clone()
        }
    }
}

/// PBKDF2 iterations for secrets chosen by people (OWASP 2023 guidance for HMAC-SHA256).
const PBKDF2_ITERATIONS: u32 = 600_000;

impl SecretHash {
    /// The hash of a secret the server generated (256 random bits): plain SHA-256.
    pub fn of_generated(secret: &str) -> Self {
        use sha2::Digest;
        Self::Sha256 {
            digest: crate::model::hex(&sha2::Sha256::digest(secret.as_bytes())),
        }
    }

    /// The hash of a secret chosen by a person: salted PBKDF2-HMAC-SHA256.
    pub fn of_chosen(secret: &str) -> Self {
        let salt = crate::model::random_bytes::<16>();
        let digest = pbkdf2_sha256(secret.as_bytes(), &salt, PBKDF2_ITERATIONS);
        Self::Pbkdf2Sha256 {
            iterations: PBKDF2_ITERATIONS,
            salt: crate::model::hex(&salt),
            digest: crate::model::hex(&digest),
        }
    }

    /// Whether `presented` is the secret, compared in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        use sha2::Digest;
        use subtle::ConstantTimeEq;
        match self {
            Self::Sha256 { digest } => {
                let actual = crate::model::hex(&sha2::Sha256::digest(presented.as_bytes()));
                actual.as_bytes().ct_eq(digest.as_bytes()).into()
            }
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                digest,
            } => {
                let Some(salt) = crate::model::unhex(salt) else {
                    return false;
                };
                let actual = pbkdf2_sha256(presented.as_bytes(), &salt, *iterations);
                crate::model::hex(&actual)
                    .as_bytes()
                    .ct_eq(digest.as_bytes())
                    .into()
            }
        }
    }
}

fn pbkdf2_sha256(secret: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret, salt, iterations, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_verify_fast_path() {
        let hash = SecretHash::of_generated("s3cret-generated");
        assert!(matches!(hash, SecretHash::Sha256 { .. }));
        assert!(hash.verify("s3cret-generated"));
        assert!(!hash.verify("s3cret-generatee"));
        assert!(!hash.verify(""));
    }

    #[test]
    fn chosen_secrets_use_salted_pbkdf2() {
        let a = SecretHash::of_chosen("correct horse");
        let b = SecretHash::of_chosen("correct horse");
        assert_ne!(a, b, "salts must differ");
        assert!(a.verify("correct horse"));
        assert!(!a.verify("correct horsf"));
    }
}
