//! The five client operations: `POST /clients`, `GET /clients`, `GET|PUT|DELETE
//! /clients/{id}`. Each is a typed method on [`Provider`]; the HTTP functions only decode
//! JSON, call it and encode the answer.

use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::Provider;
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

impl Provider {
    /// Registers a client (`POST /clients`) and returns it with its plaintext secret, which
    /// is shown this once: the one sent, or a generated 256-bit secret when none was sent.
    /// A missing `client_id` is generated (UUID v4).
    ///
    /// Invalid input is [`Error::BadRequest`] with the reason, an existing id
    /// [`Error::Conflict`]; in both cases nothing is stored. The rules are listed in
    /// [`model::client`](crate::model::client).
    pub async fn create_client(&self, client: Client) -> Result<Client, Error> {
        let registration =
            client.register(None, self.inner.config.pairwise_enabled(), self.inner.now())?;
        let shown = registration.shown();
        match self.inner.store.create_client(registration.record).await {
            Ok(()) => Ok(shown),
            Err(StoreError::Conflict) => Err(Error::Conflict(
                "An OAuth 2.0 client with this client_id exists already.".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The client with this id, without its secret; [`Error::NotFound`] if none.
    pub async fn client(&self, client_id: &str) -> Result<Client, Error> {
        Ok(self.client_record(client_id).await?.client.without_secret())
    }

    /// A page of clients, ordered by creation time then id, without secrets. `limit` is
    /// clamped to 1..=500.
    pub async fn list_clients(&self, limit: usize, offset: usize) -> Result<Vec<Client>, Error> {
        let records = self
            .inner
            .store
            .list_clients(limit.clamp(1, MAX_PAGE_SIZE), offset)
            .await?;
        Ok(records
            .into_iter()
            .map(|r| r.client.without_secret())
            .collect())
    }

    /// Replaces the client `client_id` (`PUT /clients/{id}`); the `client_id` in `client` is
    /// ignored. An absent or empty `client_secret` keeps the stored secret; a new one is
    /// stored hashed and returned this once. `created_at` is kept, `updated_at` set.
    /// [`Error::NotFound`] if there is no such client, [`Error::BadRequest`] on invalid
    /// input (nothing changes).
    pub async fn update_client(&self, client_id: &str, client: Client) -> Result<Client, Error> {
        let previous = self.client_record(client_id).await?;
        let registration = Client {
            client_id: client_id.to_owned(),
            ..client
        }
        .register(
            Some(&previous),
            self.inner.config.pairwise_enabled(),
            self.inner.now(),
        )?;
        let shown = registration.shown();
        self.inner
            .store
            .update_client(registration.record)
            .await
            .map_err(not_found)?;
        Ok(shown)
    }

    /// Deletes the client and revokes every token and unused code issued to it.
    /// [`Error::NotFound`] if there is no such client.
    ///
    /// The tokens are revoked even when the client is already gone, so that retrying a
    /// delete whose revocation failed (an [`Error::Store`]) finishes the job.
    pub async fn delete_client(&self, client_id: &str) -> Result<(), Error> {
        let deleted = self.inner.store.delete_client(client_id).await;
        self.inner.store.revoke_client_tokens(client_id).await?;
        deleted.map_err(not_found)
    }

    async fn client_record(&self, client_id: &str) -> Result<ClientRecord, Error> {
        self.inner.store.client(client_id).await.map_err(not_found)
    }
}

/// Characters escaped in the `Location` path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'?')
    .add(b'#')
    .add(b'%');

/// Renders a typed result: `ok` builds the success response, errors become Hydra's JSON.
fn respond<T>(
    p: &Provider,
    result: Result<T, OAuthError>,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(e) => p.inner.error_response(&e),
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
pub(crate) async fn list(p: &Provider, req: Request) -> Response {
    let result = async {
        let (limit, offset) = pagination(&req)?;
        Ok::<_, OAuthError>(p.list_clients(limit, offset).await?)
    }
    .await;
    respond(p, result, |clients| {
        response::json(StatusCode::OK, &clients)
    })
}

/// `POST /clients` → 201 with `Location: /clients/{id}` and the client, secret included.
pub(crate) async fn create(p: &Provider, req: Request) -> Response {
    let result = async {
        let client: Client = json_body(&req)?;
        Ok::<_, OAuthError>(p.create_client(client).await?)
    }
    .await;
    respond(p, result, |client| {
        let mut res = client_response(StatusCode::CREATED, &client);
        let location = format!(
            "/clients/{}",
            utf8_percent_encode(&client.client_id, SEGMENT)
        );
        if let Ok(value) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(LOCATION, value);
        }
        res
    })
}

/// `GET /clients/{id}`.
pub(crate) async fn get(p: &Provider, id: &str) -> Response {
    let result = p.client(id).await.map_err(OAuthError::from);
    respond(p, result, |client| response::json(StatusCode::OK, &client))
}

/// `PUT /clients/{id}`.
pub(crate) async fn update(p: &Provider, req: Request, id: &str) -> Response {
    let result = async {
        let client: Client = json_body(&req)?;
        Ok::<_, OAuthError>(p.update_client(id, client).await?)
    }
    .await;
    respond(p, result, |client| client_response(StatusCode::OK, &client))
}

/// `DELETE /clients/{id}` → 204.
pub(crate) async fn delete(p: &Provider, id: &str) -> Response {
    let result = p.delete_client(id).await.map_err(OAuthError::from);
    respond(p, result, |()| response::empty(StatusCode::NO_CONTENT))
}
