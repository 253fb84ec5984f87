//! Hydra's JSON Web Key API: `GET|POST|PUT|DELETE /keys/{set}`, `GET|PUT|DELETE
//! /keys/{set}/{kid}`.
//!
//! The set [`SIGNING_SET`] is the provider's own signing keys, and changes to it follow their
//! lifecycle: generating a key (`POST`) rotates (the next key signs, the generated one is
//! published as the next key), importing one (`PUT`) makes it the next key of its algorithm,
//! and only retired keys can be deleted. Every other set is storage for the host: keys it
//! generated or imported, sealed like the signing keys, never published or used to sign.
//!
//! Unlike Hydra, private key material never leaves through this API unless
//! [`Dangerous::expose_private_keys`](crate::Dangerous::expose_private_keys) is set.

use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::AuditKind;
use crate::context::Context;
use crate::context::keys::record_of;
use crate::error::{Error, OAuthError, StoreError};
use crate::http::params::json_body;
use crate::http::{Request, Response, response};
use crate::jose::{Jwk, JwkSet, PrivateJwk, SigningKey};
use crate::model::Algorithm;
use crate::store::{KeyChange, KeyRecord, KeyState};

/// The set holding the provider's own signing keys (Hydra's name for the ID-token keys).
pub const SIGNING_SET: &str = "hydra.openid.id-token";

/// `POST /keys/{set}`: which key to generate (Hydra's `JsonWebKeySetGeneratorRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JsonWebKeySetGeneratorRequest {
    /// `ES256`, `EdDSA`, or with the `rsa` feature `RS256` or `PS256`.
    pub alg: String,
    /// The key id; generated when empty.
    #[serde(default)]
    pub kid: String,
    /// The key's use: `sig` (the default; encryption keys are not supported).
    #[serde(default, rename = "use")]
    pub use_: String,
}

impl JsonWebKeySetGeneratorRequest {
    /// A request for a key of `alg`.
    pub fn new(alg: Algorithm) -> Self {
        Self {
            alg: alg.as_str().to_owned(),
            ..Self::default()
        }
    }
}

fn bad(why: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::BadRequest(why.into())
}

fn set_not_found(e: StoreError) -> Error {
    match e {
        StoreError::NotFound => Error::NotFound("JSON Web Key"),
        e => Error::Store(e),
    }
}

/// The keys of a host's set, oldest first, opened.
async fn set_keys(p: &Context, set: &str) -> Result<Vec<SigningKey>, Error> {
    let records: Vec<KeyRecord> = p
        .store
        .keys()
        .await?
        .into_iter()
        .filter(|r| r.set.as_deref() == Some(set))
        .collect();
    records
        .iter()
        .map(|r| {
            let der = p
                .signing_keys
                .sealer()
                .open(&r.kid, r.alg.as_str(), &r.sealed_private_key)
                .map_err(|e| {
                    Error::Internal(format!("stored key {} cannot be opened: {e}", r.kid).into())
                })?;
            SigningKey::from_pkcs8_der(r.alg, r.kid.clone(), &der)
                .map_err(|e| Error::Internal(format!("stored key {}: {e}", r.kid).into()))
        })
        .collect()
}

/// What a key view shows: the public members, or the private ones where allowed.
enum View {
    Public,
    Private,
}

/// The JWKs of `set` (only `kid` when given), as `view` shows them; 404 when none.
async fn keys_of(
    p: &Context,
    set: &str,
    kid: Option<&str>,
    view: View,
) -> Result<Vec<Value>, Error> {
    let wanted = |k: &str| kid.is_none_or(|kid| kid == k);
    let render = |key: &SigningKey| -> Result<Value, Error> {
        let json = match view {
            View::Public => serde_json::to_value(key.public_jwk()),
            View::Private => serde_json::to_value(
                key.private_jwk()
                    .map_err(|e| Error::Internal(format!("{e}").into()))?,
            ),
        };
        json.map_err(|e| Error::Internal(format!("{e}").into()))
    };
    let keys: Vec<Value> = if set == SIGNING_SET {
        let ring = p.keys();
        let mut out = Vec::new();
        for jwk in ring.public_set.keys.iter().filter(|j| wanted(&j.kid)) {
            match (&view, ring.private_key(&jwk.kid)) {
                (View::Private, Some(key)) => out.push(render(key)?),
                _ => out.push(
                    serde_json::to_value(jwk)
                        .map_err(|e| Error::Internal(format!("{e}").into()))?,
                ),
            }
        }
        out
    } else {
        set_keys(p, set)
            .await?
            .iter()
            .filter(|k| wanted(k.kid()))
            .map(render)
            .collect::<Result<_, _>>()?
    };
    if keys.is_empty() {
        return Err(Error::NotFound("JSON Web Key"));
    }
    Ok(keys)
}

fn public_set(keys: Vec<Value>) -> Result<JwkSet, Error> {
    let keys = keys
        .into_iter()
        .map(|k| {
            serde_json::from_value::<Jwk>(k).map_err(|e| Error::Internal(format!("{e}").into()))
        })
        .collect::<Result<_, _>>()?;
    Ok(JwkSet { keys })
}

/// See [`Provider::json_web_key_set`](crate::Provider::json_web_key_set).
pub(crate) async fn get_set(p: &Context, set: &str, kid: Option<&str>) -> Result<JwkSet, Error> {
    public_set(keys_of(p, set, kid, View::Public).await?)
}

/// See [`Provider::create_json_web_key`](crate::Provider::create_json_web_key).
pub(crate) async fn create(
    p: &Context,
    set: &str,
    request: JsonWebKeySetGeneratorRequest,
) -> Result<SigningKey, Error> {
    let alg: Algorithm = request.alg.parse().map_err(|_| {
        bad(format!(
            "Generator {} unknown; use ES256, EdDSA, RS256 or PS256.",
            request.alg
        ))
    })?;
    if !matches!(request.use_.as_str(), "" | "sig") {
        return Err(bad("Only signing keys (use \"sig\") can be generated."));
    }
    check_kid(&request.kid)?;
    let kid = if request.kid.is_empty() {
        crate::crypto::random_id()
    } else {
        request.kid
    };
    let key = SigningKey::generate_sized(alg, kid, p.config.keys.rsa_bits)
        .map_err(|e| bad(format!("{e}.")))?;
    if set == SIGNING_SET {
        let kid = p
            .signing_keys
            .rotate_to(&p.config, p.store.as_ref(), &key, p.now())
            .await?;
        p.audit(|| AuditKind::KeyRotated { kid, alg });
    } else {
        let record = in_set(p, set, &key)?;
        p.store
            .change_keys(KeyChange::AddToSet(record))
            .await
            .map_err(|e| match e {
                StoreError::Conflict => {
                    Error::Conflict("A key with this kid exists in the set.".into())
                }
                e => Error::Store(e),
            })?;
    }
    Ok(key)
}

/// The kid rules: what a path segment and a JWS header carry well.
fn check_kid(kid: &str) -> Result<(), Error> {
    if kid.len() > 255 || kid.chars().any(|c| c.is_control() || c == '/') {
        return Err(bad(
            "The kid must be at most 255 characters, without '/' or control characters.",
        ));
    }
    Ok(())
}

fn in_set(p: &Context, set: &str, key: &SigningKey) -> Result<KeyRecord, Error> {
    check_kid(set)?;
    let mut record = record_of(key, KeyState::Active, p.now(), p.signing_keys.sealer())?;
    record.set = Some(set.to_owned());
    Ok(record)
}

/// See [`Provider::update_json_web_key`](crate::Provider::update_json_web_key).
pub(crate) async fn put(p: &Context, set: &str, jwk: &PrivateJwk) -> Result<Jwk, Error> {
    check_kid(&jwk.public.kid)?;
    if jwk.public.kid.is_empty() {
        return Err(bad("The key needs a kid."));
    }
    let key =
        SigningKey::from_private_jwk(jwk).map_err(|e| bad(format!("The key is invalid: {e}.")))?;
    if !key.algorithm().is_compiled() {
        return Err(bad(format!("{} needs the `rsa` feature.", key.algorithm())));
    }
    if set == SIGNING_SET {
        if !p.config.keys.algorithms.contains(&key.algorithm()) {
            return Err(bad(format!(
                "{} is not an enabled signing algorithm.",
                key.algorithm()
            )));
        }
        p.signing_keys
            .set_next(p.store.as_ref(), &key, p.now())
            .await
            .map_err(|e| match e {
                Error::Store(StoreError::Conflict) => {
                    Error::Conflict("A signing key with this kid exists already.".into())
                }
                e => e,
            })?;
    } else {
        p.store
            .change_keys(KeyChange::PutInSet(in_set(p, set, &key)?))
            .await?;
    }
    Ok(key.public_jwk())
}

/// See [`Provider::delete_json_web_key`](crate::Provider::delete_json_web_key).
pub(crate) async fn delete(p: &Context, set: &str, kid: Option<&str>) -> Result<(), Error> {
    if set != SIGNING_SET {
        let change = KeyChange::RemoveFromSet {
            set: set.to_owned(),
            kid: kid.map(str::to_owned),
        };
        return p
            .store
            .change_keys(change)
            .await
            .map(drop)
            .map_err(set_not_found);
    }
    let Some(kid) = kid else {
        return Err(Error::Conflict(
            "The provider's signing keys cannot be deleted as a set; rotate them instead.".into(),
        ));
    };
    p.signing_keys
        .remove_retired(p.store.as_ref(), kid, p.now())
        .await
        .map_err(|e| match e {
            Error::Store(StoreError::NotFound) => Error::NotFound("JSON Web Key"),
            Error::Store(StoreError::Conflict) => Error::Conflict(
                "Only a retired signing key can be deleted; rotate the active or next key first."
                    .into(),
            ),
            e => e,
        })
}

fn respond<T>(p: &Context, result: Result<T, Error>, ok: impl FnOnce(T) -> Response) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(e) => p.error_response(&OAuthError::from(e)),
    }
}

fn key_set_response(status: StatusCode, keys: &[Value]) -> Response {
    response::no_store(response::json(status, &serde_json::json!({ "keys": keys })))
}

fn view(p: &Context) -> View {
    if p.config.dangerous.expose_private_keys {
        View::Private
    } else {
        View::Public
    }
}

/// `GET /keys/{set}` and `GET /keys/{set}/{kid}` → 200 with a JWK set.
pub(crate) async fn get(p: &Context, set: &str, kid: Option<&str>) -> Response {
    let result = keys_of(p, set, kid, view(p)).await;
    respond(p, result, |keys| key_set_response(StatusCode::OK, &keys))
}

/// `POST /keys/{set}` → 201 with the generated key (as a set) and `Location: /keys/{set}`.
pub(crate) async fn post(p: &Context, req: &Request, set: &str) -> Response {
    let result = async {
        let request: JsonWebKeySetGeneratorRequest = json_body(req)?;
        let key = create(p, set, request).await?;
        let shown = match view(p) {
            View::Private => serde_json::to_value(
                key.private_jwk()
                    .map_err(|e| Error::Internal(format!("{e}").into()))?,
            ),
            View::Public => serde_json::to_value(key.public_jwk()),
        };
        shown.map_err(|e| Error::Internal(format!("{e}").into()))
    }
    .await;
    respond(p, result, |key| {
        let mut res = key_set_response(StatusCode::CREATED, &[key]);
        let location = format!(
            "/keys/{}",
            percent_encoding::utf8_percent_encode(set, response::PATH_SEGMENT)
        );
        if let Ok(value) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(LOCATION, value);
        }
        res
    })
}

/// `PUT /keys/{set}/{kid}` → 200 with the imported key's public JWK.
pub(crate) async fn put_key(p: &Context, req: &Request, set: &str, kid: &str) -> Response {
    let result = async {
        let jwk: PrivateJwk = json_body(req).map_err(Error::OAuth)?;
        if jwk.public.kid != kid {
            return Err(bad("The kid of the key differs from the kid in the path."));
        }
        put(p, set, &jwk).await
    }
    .await;
    respond(p, result, |jwk| response::json(StatusCode::OK, &jwk))
}

/// The body of `PUT /keys/{set}`.
#[derive(Deserialize)]
struct PrivateJwkSet {
    keys: Vec<PrivateJwk>,
}

/// `PUT /keys/{set}` → 200 with the imported keys' public JWKs.
pub(crate) async fn put_set(p: &Context, req: &Request, set: &str) -> Response {
    let result = async {
        let body: PrivateJwkSet = json_body(req).map_err(Error::OAuth)?;
        if body.keys.is_empty() {
            return Err(bad("The set has no keys."));
        }
        let mut imported = Vec::with_capacity(body.keys.len());
        for jwk in &body.keys {
            imported.push(put(p, set, jwk).await?);
        }
        Ok(JwkSet { keys: imported })
    }
    .await;
    respond(p, result, |keys| response::json(StatusCode::OK, &keys))
}

/// `DELETE /keys/{set}` and `DELETE /keys/{set}/{kid}` → 204.
pub(crate) async fn delete_route(p: &Context, set: &str, kid: Option<&str>) -> Response {
    let result = delete(p, set, kid).await;
    respond(p, result, |()| response::empty(StatusCode::NO_CONTENT))
}
