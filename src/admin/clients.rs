//! The five client operations: `POST /clients`, `GET /clients`, `GET|PUT|DELETE
//! /clients/{id}`. Each is a typed method on [`Provider`]; the HTTP functions only decode
//! JSON, call it and encode the answer.

use std::sync::Arc;

use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use percent_encoding::utf8_percent_encode;

use crate::audit::AuditKind;
use crate::context::Context;
use crate::error::{Error, OAuthError, StoreError};
use crate::http::params::{MAX_PAGE_SIZE, json_body, pagination};
use crate::http::{Request, Response, response};
use crate::model::client::{Client, ClientRecord};

fn not_found(e: StoreError) -> Error {
    match e {
        StoreError::NotFound => Error::NotFound("OAuth 2.0 client"),
        e => Error::Store(e),
    }
}

/// See [`Provider::create_client`](crate::Provider::create_client).
pub(crate) async fn create_client(p: &Context, client: Client) -> Result<Client, Error> {
    let registration = client.register(None, &p.config.registration_policy(), p.now())?;
    let shown = registration.shown();
    match p.store.create_client(registration.record).await {
        Ok(()) => {
            p.audit(|| AuditKind::ClientCreated {
                client_id: shown.client_id.clone(),
            });
            Ok(shown)
        }
        Err(StoreError::Conflict) => Err(Error::Conflict(
            "An OAuth 2.0 client with this client_id exists already.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// See [`Provider::client`](crate::Provider::client).
pub(crate) async fn client(p: &Context, client_id: &str) -> Result<Client, Error> {
    Ok(client_record(p, client_id).await?.client.without_secret())
}

/// See [`Provider::list_clients`](crate::Provider::list_clients).
pub(crate) async fn list_clients(
    p: &Context,
    limit: usize,
    offset: usize,
) -> Result<Vec<Client>, Error> {
    let records = p
        .store
        .list_clients(limit.clamp(1, MAX_PAGE_SIZE), offset)
        .await?;
    Ok(records
        .into_iter()
        .map(|r| r.client.without_secret())
        .collect())
}

/// See [`Provider::update_client`](crate::Provider::update_client).
pub(crate) async fn update_client(
    p: &Context,
    client_id: &str,
    client: Client,
) -> Result<Client, Error> {
    let previous = client_record(p, client_id).await?;
    let registration = Client {
        client_id: client_id.to_owned(),
        ..client
    }
    .register(Some(&previous), &p.config.registration_policy(), p.now())?;
    let shown = registration.shown();
    p.store
        .update_client(registration.record)
        .await
        .map_err(not_found)?;
    p.audit(|| AuditKind::ClientUpdated {
        client_id: shown.client_id.clone(),
    });
    Ok(shown)
}

/// See [`Provider::delete_client`](crate::Provider::delete_client): one store call removes
/// the client with its tokens, consents, pending requests and forced subjects, so no
/// remembered consent survives for a client registered again under the same id.
pub(crate) async fn delete_client(p: &Context, client_id: &str) -> Result<(), Error> {
    p.store.delete_client(client_id).await.map_err(not_found)?;
    p.audit(|| AuditKind::ClientDeleted {
        client_id: client_id.to_owned(),
    });
    Ok(())
}

async fn client_record(p: &Context, client_id: &str) -> Result<Arc<ClientRecord>, Error> {
    p.store.client(client_id).await.map_err(not_found)
}

/// Renders a typed result: `ok` builds the success response, errors become Hydra's JSON.
fn respond<T>(
    p: &Context,
    result: Result<T, OAuthError>,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(e) => p.error_response(&e),
    }
}

/// A client response; `no-store` when it carries a plaintext secret.
fn client_response(status: StatusCode, client: &Client) -> Response {
    let res = response::json(status, client);
    if client.client_secret.is_some() {
        response::no_store(res)
    } else {
        res
    }
}

/// `GET /clients?limit&offset`.
///
/// Paging rule: `limit` defaults to 100 and is clamped to 1..=500 (so `0` means 1 and
/// `1000` means 500); `offset` defaults to 0. A negative, non-numeric or repeated value is
/// a 400 `invalid_request`. The order is stable: by `created_at`, then `client_id`.
pub(crate) async fn list(p: &Context, req: &Request) -> Response {
    let result = async {
        let (limit, offset) = pagination(req)?;
        Ok::<_, OAuthError>(list_clients(p, limit, offset).await?)
    }
    .await;
    respond(p, result, |clients| {
        response::json(StatusCode::OK, &clients)
    })
}

/// `POST /clients` → 201 with `Location: /clients/{id}` and the client, secret included.
pub(crate) async fn create(p: &Context, req: &Request) -> Response {
    let result = async {
        let client: Client = json_body(req)?;
        Ok::<_, OAuthError>(create_client(p, client).await?)
    }
    .await;
    respond(p, result, |client| {
        let mut res = client_response(StatusCode::CREATED, &client);
        let location = format!(
            "/clients/{}",
            utf8_percent_encode(&client.client_id, response::PATH_SEGMENT)
        );
        if let Ok(value) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(LOCATION, value);
        }
        res
    })
}

/// `GET /clients/{id}`.
pub(crate) async fn get(p: &Context, id: &str) -> Response {
    let result = client(p, id).await.map_err(OAuthError::from);
    respond(p, result, |client| response::json(StatusCode::OK, &client))
}

/// `PUT /clients/{id}`.
pub(crate) async fn update(p: &Context, req: &Request, id: &str) -> Response {
    let result = async {
        let client: Client = json_body(req)?;
        Ok::<_, OAuthError>(update_client(p, id, client).await?)
    }
    .await;
    respond(p, result, |client| client_response(StatusCode::OK, &client))
}

/// `DELETE /clients/{id}` → 204.
pub(crate) async fn delete(p: &Context, id: &str) -> Response {
    let result = delete_client(p, id).await.map_err(OAuthError::from);
    respond(p, result, |()| response::empty(StatusCode::NO_CONTENT))
}
