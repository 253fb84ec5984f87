//! Claims about the end-user that the consent app attached to a grant (`session.id_token`),
//! as ID tokens and the userinfo endpoint both show them: never overriding a claim the
//! provider sets itself.

use crate::store::JsonObject;

/// Claims an extra from `session.id_token` may never override (in ID tokens and userinfo).
const PROTECTED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "jti",
    "rat",
];

/// The consented extra claims without the protected ones; the caller adds its own.
pub(crate) fn consented(extra: JsonObject) -> JsonObject {
    extra
        .into_iter()
        .filter(|(name, _)| !PROTECTED_CLAIMS.contains(&name.as_str()))
        .collect()
}
