//! The store operations, written once for both SQL dialects.
//!
//! sqlx's executor traits carry higher-ranked bounds that make code generic over the
//! database brittle to write and to read, so the one implementation below is stamped out
//! per concrete database by [`impl_sql_store!`]. A dialect module provides the struct (with a
//! `pool` field) and four hooks, the only places the dialects really differ:
//! `begin_write` (SQLite takes the write lock up front with `BEGIN IMMEDIATE`),
//! `begin_revocation` (PostgreSQL revokes in REPEATABLE READ, so that a token a concurrent
//! transaction rotated or inserted is never missed), `begin_migration` (PostgreSQL
//! serialises concurrent starts with an advisory lock) and `write_tokens` (PostgreSQL
//! writes concurrent `insert_tokens` calls together, see `group_commit`).

/// Implements the six store traits and the migration runner for `$store` on database `$db`.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty) => {
        use $crate::error::StoreError;
        use $crate::model::client::ClientRecord;
        use $crate::store::sql::queries::{self as q, RequestQueries};
        use $crate::store::sql::{
            RequestRow, count, db_error, from_json, micros, micros_json, pending_migrations,
            retry_on_conflict, rows, to_json,
        };
        use $crate::model::TokensAtLogout;
        use $crate::store::{
            ChallengeRecord, ClientStore, CodeRecord, ConsentRequestRecord, DeliveryStatus,
            EndedSession, FlowStore, HandledConsent, HandledLogin, HandledLogout, IssuedTokens,
            KeyChange, KeyRecord, KeyStore, LoginRequestRecord, LoginSessionRecord,
            LogoutDelivery, LogoutRequestRecord, LogoutStore, SessionStore, SessionsToEnd,
            TokenKind, TokenRecord, TokenStatus, TokenStore,
        };
        use serde::Serialize;
        use serde::de::DeserializeOwned;
        use sqlx::Row as _;
        use time::OffsetDateTime;

        type Result<T> = std::result::Result<T, StoreError>;
        type DbRow = <$db as sqlx::Database>::Row;

        fn request_row(row: &DbRow) -> Result<RequestRow> {
            Ok(RequestRow {
                record: row.try_get(0).map_err(db_error)?,
                handled: row.try_get(1).map_err(db_error)?,
                verifier_used: row.try_get(2).map_err(db_error)?,
            })
        }

        fn delivery_from_row(row: &DbRow) -> Result<LogoutDelivery> {
            let record: String = row.try_get(0).map_err(db_error)?;
            let status: String = row.try_get(1).map_err(db_error)?;
            let next: i64 = row.try_get(2).map_err(db_error)?;
            from_json(&record, &[("status", status.into()), ("next_attempt_at", micros_json(next)?)])
        }

        fn status_name(status: DeliveryStatus) -> &'static str {
            match status {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Failed => "failed",
            }
        }

        fn token_from_row(row: &DbRow) -> Result<TokenRecord> {
            let record: String = row.try_get(0).map_err(db_error)?;
            let status: String = row.try_get(1).map_err(db_error)?;
            from_json(&record, &[("status", status.into())])
        }

        /// The one statement inserting the tokens of one grant step.
        fn insert_issued(
            tokens: &IssuedTokens,
        ) -> Result<sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>> {
            let sql = match tokens.refresh {
                Some(_) => q::INSERT_TOKEN_PAIR,
                None => q::INSERT_TOKEN,
            };
            let mut insert = sqlx::query(sql);
            for token in std::iter::once(&tokens.access).chain(&tokens.refresh) {
                insert = insert
                    .bind(token.kind.as_str())
                    .bind(token.signature.as_str())
                    .bind(token.grant.grant_id.as_str())
                    .bind(token.grant.client_id.as_str())
                    .bind(token.expires_at.map(micros))
                    .bind(token.status.as_str())
                    .bind(to_json(token)?);
            }
            Ok(insert)
        }

        /// The "revoke tokens, then unused codes" updates of `key` inside `tx`.
        async fn revoke_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            tokens_sql: &'static str,
            codes_sql: &'static str,
            key: &str,
        ) -> Result<u64> {
            let mut changed = 0;
            for sql in [tokens_sql, codes_sql] {
                changed += sqlx::query(sql)
                    .bind(key)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
            }
            Ok(changed)
        }

        /// Adds the client's origins (each once) to the CORS origin index inside `tx`.
        async fn insert_origins(
            tx: &mut sqlx::Transaction<'static, $db>,
            record: &ClientRecord,
        ) -> Result<()> {
            let origins: std::collections::BTreeSet<&str> =
                record.client.allowed_cors_origins.iter().map(String::as_str).collect();
            for origin in origins {
                sqlx::query(q::INSERT_CORS_ORIGIN)
                    .bind(origin)
                    .bind(record.client.client_id.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
            }
            Ok(())
        }

        /// Keyset pages of the (key, record JSON) rows a backfill query selects, in key order.
        struct BackfillPages {
            sql: &'static str,
            after: Option<String>,
            exhausted: bool,
        }

        impl BackfillPages {
            const SIZE: usize = 500;

            fn new(sql: &'static str) -> Self {
                Self { sql, after: None, exhausted: false }
            }

            /// The next page; `None` after the last.
            async fn next(
                &mut self,
                tx: &mut sqlx::Transaction<'static, $db>,
            ) -> Result<Option<Vec<(String, String)>>> {
                if self.exhausted {
                    return Ok(None);
                }
                let rows = sqlx::query(self.sql)
                    .bind(self.after.as_deref())
                    .bind(count(Self::SIZE))
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db_error)?;
                let page = rows
                    .iter()
                    .map(|row| Ok((row.try_get(0).map_err(db_error)?, row.try_get(1).map_err(db_error)?)))
                    .collect::<Result<Vec<(String, String)>>>()?;
                self.exhausted = page.len() < Self::SIZE;
                self.after = page.last().map(|(key, _)| key.clone());
                Ok(Some(page))
            }
        }

        /// Fills what migration [`q::BACKFILL_VERSION`] added from the records' JSON, in the
        /// migration's transaction: the CORS origins of every client and the `client_id` of
        /// every login request; then drops the login requests of clients deleted before.
        async fn backfill(tx: &mut sqlx::Transaction<'static, $db>) -> Result<()> {
            let mut clients = BackfillPages::new(q::BACKFILL_CLIENTS_PAGE);
            while let Some(page) = clients.next(tx).await? {
                for (_, record) in page {
                    insert_origins(tx, &from_json(&record, &[])?).await?;
                }
            }
            let mut logins = BackfillPages::new(q::BACKFILL_LOGINS_PAGE);
            while let Some(page) = logins.next(tx).await? {
                for (challenge, record) in page {
                    let record: serde_json::Value = from_json(&record, &[])?;
                    if let Some(client_id) = record.get("client_id").and_then(|v| v.as_str()) {
                        sqlx::query(q::SET_LOGIN_CLIENT)
                            .bind(challenge.as_str())
                            .bind(client_id)
                            .execute(&mut **tx)
                            .await
                            .map_err(db_error)?;
                    }
                }
            }
            sqlx::query(q::DELETE_ORPHAN_LOGINS)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            Ok(())
        }

        impl $store {
            /// Sets how long a client read from the database is served from memory
            /// ([`DEFAULT_CLIENT_CACHE_TTL`](crate::store::sql::DEFAULT_CLIENT_CACHE_TTL)
            /// unless set). Writes through this store take effect at once; other instances
            /// on the same database see a changed or deleted client within `ttl`.
            /// `Duration::ZERO` reads every lookup from the database.
            pub fn with_client_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
                self.clients = std::sync::Arc::new(
                    $crate::store::sql::client_cache::ClientCache::new(ttl),
                );
                self
            }

            /// Applies the pending migrations in one transaction.
            async fn migrate(&self) -> Result<()> {
                let mut tx = self.begin_migration().await?;
                sqlx::query(q::CREATE_VERSION_TABLE)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let current: Option<i64> = sqlx::query_scalar(q::SCHEMA_VERSION)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
                for (version, sql) in pending_migrations(current)? {
                    sqlx::raw_sql(*sql)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    if *version == q::BACKFILL_VERSION {
                        backfill(&mut tx).await?;
                    }
                    sqlx::query(q::RECORD_VERSION)
                        .bind(*version)
                        .bind(micros(OffsetDateTime::now_utc()))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            }

            async fn request<T: DeserializeOwned>(&self, sql: &'static str, key: &str) -> Result<T> {
                let row = sqlx::query(sql)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .ok_or(StoreError::NotFound)?;
                request_row(&row)?.decode()
            }

            async fn requests<T: DeserializeOwned>(
                &self,
                query: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<Vec<T>> {
                let found = query.fetch_all(&self.pool).await.map_err(db_error)?;
                found.iter().map(|row| request_row(row)?.decode()).collect()
            }

            /// Inserts a login or logout request: both tables have the same columns.
            async fn insert_request<R: ChallengeRecord + Serialize>(
                &self,
                insert: &'static str,
                request: &R,
                handled: Option<String>,
            ) -> Result<()> {
                sqlx::query(insert)
                    .bind(request.challenge())
                    .bind(request.verifier_digest())
                    .bind(micros(request.expires_at()))
                    .bind(handled)
                    .bind(request.verifier_used())
                    .bind(to_json(request)?)
                    .bind(request.client_id())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            /// The conditional `handled IS NULL` update; `remember` only for consents.
            async fn handle_request<T: DeserializeOwned>(
                &self,
                queries: &RequestQueries,
                challenge: &str,
                handled: String,
                remember: Option<bool>,
            ) -> Result<T> {
                let mut update = sqlx::query(queries.handle).bind(challenge).bind(handled);
                if let Some(remember) = remember {
                    update = update.bind(remember);
                }
                match update.fetch_optional(&self.pool).await.map_err(db_error)? {
                    Some(row) => request_row(&row)?.decode(),
                    None => match self.request::<serde_json::Value>(queries.select, challenge).await {
                        Ok(_) => Err(StoreError::Conflict),
                        Err(error) => Err(error),
                    },
                }
            }

            /// The conditional `verifier_used = FALSE` update.
            async fn consume_verifier<T: DeserializeOwned>(
                &self,
                queries: &RequestQueries,
                verifier_digest: &str,
            ) -> Result<T> {
                let consumed = sqlx::query(queries.consume)
                    .bind(verifier_digest)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                if let Some(row) = consumed {
                    return request_row(&row)?.decode();
                }
                let existing = sqlx::query(queries.select_by_verifier)
                    .bind(verifier_digest)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                Err(match existing {
                    Some(row) => request_row(&row)?.verifier_refusal(),
                    None => StoreError::NotFound,
                })
            }

            async fn token(&self, kind: TokenKind, signature: &str) -> Result<TokenRecord> {
                let row = sqlx::query(q::SELECT_TOKEN)
                    .bind(kind.as_str())
                    .bind(signature)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .ok_or(StoreError::NotFound)?;
                token_from_row(&row)
            }

            /// Runs the two "revoke tokens, then unused codes" updates of `key` in one
            /// revocation transaction, returning how many rows changed.
            async fn revoke(&self, tokens_sql: &'static str, codes_sql: &'static str, key: &str) -> Result<u64> {
                retry_on_conflict(|| async {
                    let mut tx = self.begin_revocation().await?;
                    let changed = revoke_in(&mut tx, tokens_sql, codes_sql, key).await?;
                    tx.commit().await.map_err(db_error)?;
                    Ok(changed)
                })
                .await
            }

            /// Deletes up to `limit` rows with a bounded `DELETE … IN (SELECT … LIMIT $2)`.
            async fn flush(&self, sql: &'static str, before: OffsetDateTime, limit: usize) -> Result<u64> {
                if limit == 0 {
                    return Ok(0);
                }
                Ok(sqlx::query(sql)
                    .bind(micros(before))
                    .bind(count(limit))
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?
                    .rows_affected())
            }

            /// Runs a statement that must touch one row; [`StoreError::NotFound`] if none.
            async fn execute_one(&self, query: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>) -> Result<()> {
                match query.execute(&self.pool).await.map_err(db_error)?.rows_affected() {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }
        }

        fn client_order(record: &ClientRecord) -> i64 {
            record.client.created_at.map_or(0, micros)
        }

        #[async_trait::async_trait]
        impl ClientStore for $store {
            async fn create_client(&self, record: ClientRecord) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(q::INSERT_CLIENT)
                    .bind(record.client.client_id.as_str())
                    .bind(client_order(&record))
                    .bind(to_json(&record)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                insert_origins(&mut tx, &record).await?;
                tx.commit().await.map_err(db_error)
            }

            async fn client(&self, client_id: &str) -> Result<std::sync::Arc<ClientRecord>> {
                if let Some(record) = self.clients.get(client_id) {
                    return Ok(record);
                }
                let generation = self.clients.generation();
                let json: Option<String> = sqlx::query_scalar(q::SELECT_CLIENT)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                let record: std::sync::Arc<ClientRecord> =
                    std::sync::Arc::new(from_json(&json.ok_or(StoreError::NotFound)?, &[])?);
                self.clients.put(generation, &record);
                Ok(record)
            }

            async fn update_client(&self, record: ClientRecord) -> Result<()> {
                let client_id = record.client.client_id.as_str();
                let outcome = async {
                    let mut tx = self.begin_write().await?;
                    let updated = sqlx::query(q::UPDATE_CLIENT)
                        .bind(client_id)
                        .bind(client_order(&record))
                        .bind(to_json(&record)?)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?
                        .rows_affected();
                    if updated == 0 {
                        return Err(StoreError::NotFound);
                    }
                    sqlx::query(q::DELETE_CORS_ORIGINS)
                        .bind(client_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    insert_origins(&mut tx, &record).await?;
                    tx.commit().await.map_err(db_error)
                }
                .await;
                self.clients.forget(client_id);
                outcome
            }

            async fn delete_client(&self, client_id: &str) -> Result<()> {
                // Revokes tokens like `revoke_client_tokens`, so it runs in a revocation
                // transaction (and again when that aborts for a concurrent rotation).
                let outcome = retry_on_conflict(|| async {
                    let mut tx = self.begin_revocation().await?;
                    let deleted = sqlx::query(q::DELETE_CLIENT)
                        .bind(client_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?
                        .rows_affected();
                    for sql in q::DELETE_CLIENT_LEFTOVERS {
                        sqlx::query(sql)
                            .bind(client_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_error)?;
                    }
                    revoke_in(&mut tx, q::REVOKE_CLIENT_TOKENS, q::REVOKE_CLIENT_CODES, client_id)
                        .await?;
                    tx.commit().await.map_err(db_error)?;
                    Ok(deleted)
                })
                .await;
                self.clients.forget(client_id);
                match outcome? {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }

            async fn origin_allowed(&self, origin: &str) -> Result<bool> {
                Ok(sqlx::query(q::ORIGIN_ALLOWED)
                    .bind(origin)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .is_some())
            }

            async fn list_clients(&self, limit: usize, offset: usize) -> Result<Vec<ClientRecord>> {
                let page: Vec<String> = sqlx::query_scalar(q::LIST_CLIENTS)
                    .bind(count(limit))
                    .bind(count(offset))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                page.iter().map(|json| from_json(json, &[])).collect()
            }
        }

        #[async_trait::async_trait]
        impl KeyStore for $store {
            async fn keys(&self) -> Result<Vec<KeyRecord>> {
                let keys: Vec<String> = sqlx::query_scalar(q::SELECT_KEYS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                keys.iter().map(|json| from_json(json, &[])).collect()
            }

            async fn change_keys(&self, change: KeyChange) -> Result<Vec<KeyRecord>> {
                let mut tx = self.begin_write().await?;
                sqlx::query(q::LOCK_KEYS)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let stored: Vec<String> = sqlx::query_scalar(q::SELECT_KEYS)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let mut keys = stored
                    .iter()
                    .map(|json| from_json(json, &[]))
                    .collect::<Result<Vec<KeyRecord>>>()?;
                change.apply(&mut keys)?;
                // A handful of rows under the lock: rewriting them all keeps the order.
                sqlx::query(q::DELETE_KEYS)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                for (position, key) in (1i64..).zip(&keys) {
                    sqlx::query(q::INSERT_KEY_AT)
                        .bind(key.kid.as_str())
                        .bind(position)
                        .bind(micros(key.created_at))
                        .bind(to_json(key)?)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)?;
                Ok(keys)
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query(q::PING)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl FlowStore for $store {
            async fn create_login_request(&self, request: LoginRequestRecord) -> Result<()> {
                let handled = request.handled.as_ref().map(to_json).transpose()?;
                self.insert_request(q::INSERT_LOGIN, &request, handled).await
            }

            async fn login_request(&self, challenge: &str) -> Result<LoginRequestRecord> {
                self.request(q::LOGIN.select, challenge).await
            }

            async fn handle_login_request(
                &self,
                challenge: &str,
                handled: HandledLogin,
            ) -> Result<LoginRequestRecord> {
                self.handle_request(&q::LOGIN, challenge, to_json(&handled)?, None).await
            }

            async fn consume_login_verifier(&self, verifier_digest: &str) -> Result<LoginRequestRecord> {
                self.consume_verifier(&q::LOGIN, verifier_digest).await
            }

            async fn create_consent_request(&self, request: ConsentRequestRecord) -> Result<()> {
                let handled = request.handled.as_ref().map(to_json).transpose()?;
                let remembered = !request.skip
                    && matches!(&request.handled, Some(HandledConsent::Accepted(a)) if a.remember);
                sqlx::query(q::INSERT_CONSENT)
                    .bind(request.challenge.as_str())
                    .bind(request.verifier_digest.as_str())
                    .bind(request.client_id.as_str())
                    .bind(request.subject.as_str())
                    .bind(request.skip)
                    .bind(micros(request.requested_at))
                    .bind(micros(request.expires_at))
                    .bind(handled)
                    .bind(remembered)
                    .bind(request.verifier_used)
                    .bind(to_json(&request)?)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn consent_request(&self, challenge: &str) -> Result<ConsentRequestRecord> {
                self.request(q::CONSENT.select, challenge).await
            }

            async fn handle_consent_request(
                &self,
                challenge: &str,
                handled: HandledConsent,
            ) -> Result<ConsentRequestRecord> {
                let remember = matches!(&handled, HandledConsent::Accepted(a) if a.remember);
                self.handle_request(&q::CONSENT, challenge, to_json(&handled)?, Some(remember))
                    .await
            }

            async fn consume_consent_verifier(
                &self,
                verifier_digest: &str,
            ) -> Result<ConsentRequestRecord> {
                self.consume_verifier(&q::CONSENT, verifier_digest).await
            }

            async fn create_logout_request(&self, request: LogoutRequestRecord) -> Result<()> {
                let handled = request.handled.as_ref().map(to_json).transpose()?;
                self.insert_request(q::INSERT_LOGOUT, &request, handled).await
            }

            async fn logout_request(&self, challenge: &str) -> Result<LogoutRequestRecord> {
                self.request(q::LOGOUT.select, challenge).await
            }

            async fn handle_logout_request(
                &self,
                challenge: &str,
                handled: HandledLogout,
            ) -> Result<LogoutRequestRecord> {
                self.handle_request(&q::LOGOUT, challenge, to_json(&handled)?, None).await
            }

            async fn consume_logout_verifier(&self, verifier_digest: &str) -> Result<LogoutRequestRecord> {
                self.consume_verifier(&q::LOGOUT, verifier_digest).await
            }

            async fn remembered_consents(
                &self,
                subject: &str,
                client_id: &str,
            ) -> Result<Vec<ConsentRequestRecord>> {
                self.requests(sqlx::query(q::REMEMBERED_CONSENTS).bind(subject).bind(client_id))
                    .await
            }

            async fn consent_sessions(
                &self,
                subject: &str,
                limit: usize,
                offset: usize,
            ) -> Result<Vec<ConsentRequestRecord>> {
                let page = sqlx::query(q::CONSENT_SESSIONS)
                    .bind(subject)
                    .bind(count(limit))
                    .bind(count(offset));
                self.requests(page).await
            }

            async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64> {
                retry_on_conflict(|| async {
                    let mut tx = self.begin_revocation().await?;
                    let grants: Vec<String> = sqlx::query_scalar(q::DELETE_CONSENTS)
                        .bind(subject)
                        .bind(client_id)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    for grant_id in &grants {
                        revoke_in(&mut tx, q::REVOKE_GRANT_TOKENS, q::REVOKE_GRANT_CODES, grant_id)
                            .await?;
                    }
                    tx.commit().await.map_err(db_error)?;
                    Ok(grants.len() as u64)
                })
                .await
            }

            async fn flush_requests(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
                let logins = self.flush(q::LOGIN.flush, before, limit).await?;
                let consents = self
                    .flush(q::CONSENT.flush, before, limit.saturating_sub(rows(logins)))
                    .await?;
                let logouts = self
                    .flush(q::LOGOUT.flush, before, limit.saturating_sub(rows(logins + consents)))
                    .await?;
                Ok(logins + consents + logouts)
            }
        }

        #[async_trait::async_trait]
        impl SessionStore for $store {
            async fn create_login_session(&self, session: LoginSessionRecord) -> Result<()> {
                sqlx::query(q::INSERT_SESSION)
                    .bind(session.id.as_str())
                    .bind(session.subject.as_str())
                    .bind(micros(session.expires_at))
                    .bind(to_json(&session)?)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn login_session(&self, id: &str) -> Result<LoginSessionRecord> {
                let json: Option<String> = sqlx::query_scalar(q::SELECT_SESSION)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                from_json(&json.ok_or(StoreError::NotFound)?, &[])
            }

            async fn delete_login_session(&self, id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(q::DELETE_SESSION_GRANTS)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let deleted = sqlx::query(q::DELETE_SESSION)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                tx.commit().await.map_err(db_error)?;
                match deleted {
                    0 => Err(StoreError::NotFound),
                    _ => Ok(()),
                }
            }

            async fn delete_login_sessions_of(&self, subject: &str) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                sqlx::query(q::DELETE_SESSION_GRANTS_OF)
                    .bind(subject)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let deleted = sqlx::query(q::DELETE_SESSIONS_OF)
                    .bind(subject)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                tx.commit().await.map_err(db_error)?;
                Ok(deleted)
            }

            async fn flush_login_sessions(&self, before: OffsetDateTime, limit: usize) -> Result<u64> {
                let flushed = self.flush(q::FLUSH_SESSIONS, before, limit).await?;
                if flushed > 0 {
                    sqlx::query(q::FLUSH_SESSION_GRANTS)
                        .execute(&self.pool)
                        .await
                        .map_err(db_error)?;
                }
                Ok(flushed)
            }

            async fn set_forced_subject(&self, client_id: &str, subject: &str, forced: &str) -> Result<()> {
                sqlx::query(q::UPSERT_FORCED_SUBJECT)
                    .bind(client_id)
                    .bind(subject)
                    .bind(forced)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn forced_subject(&self, client_id: &str, subject: &str) -> Result<Option<String>> {
                sqlx::query_scalar(q::SELECT_FORCED_SUBJECT)
                    .bind(client_id)
                    .bind(subject)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)
            }
        }

        #[async_trait::async_trait]
        impl LogoutStore for $store {
            async fn add_session_grant(&self, session_id: &str, client_id: &str, grant_id: &str) -> Result<()> {
                sqlx::query(q::INSERT_SESSION_GRANT)
                    .bind(session_id)
                    .bind(client_id)
                    .bind(grant_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn end_login_sessions(
                &self,
                which: SessionsToEnd<'_>,
                now: OffsetDateTime,
                tokens: TokensAtLogout,
            ) -> Result<Vec<EndedSession>> {
                let (sql, key) = match which {
                    SessionsToEnd::Id(id) => (q::END_SESSION, id),
                    SessionsToEnd::Subject(subject) => (q::END_SESSIONS_OF, subject),
                };
                // It may revoke like `revoke_grant`, so it runs in a revocation transaction
                // (and again when that aborts for a concurrent rotation).
                retry_on_conflict(|| async {
                    let mut tx = self.begin_revocation().await?;
                    let records: Vec<String> = sqlx::query_scalar(sql)
                        .bind(key)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    let mut ended = Vec::with_capacity(records.len());
                    for record in records {
                        let session: LoginSessionRecord = from_json(&record, &[])?;
                        let taken: Vec<(String, String)> = sqlx::query_as(q::TAKE_SESSION_GRANTS)
                            .bind(session.id.as_str())
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(db_error)?;
                        let mut grant_ids: Vec<String> = taken.iter().map(|(g, _)| g.clone()).collect();
                        grant_ids.sort_unstable();
                        let mut client_ids: Vec<String> = taken.into_iter().map(|(_, c)| c).collect();
                        client_ids.sort_unstable();
                        client_ids.dedup();
                        if tokens == TokensAtLogout::RevokeGrants {
                            for grant_id in &grant_ids {
                                revoke_in(&mut tx, q::REVOKE_GRANT_TOKENS, q::REVOKE_GRANT_CODES, grant_id)
                                    .await?;
                            }
                        }
                        for client_id in &client_ids {
                            let delivery = LogoutDelivery::new(&session, client_id, now);
                            sqlx::query(q::INSERT_DELIVERY)
                                .bind(delivery.session_id.as_str())
                                .bind(delivery.client_id.as_str())
                                .bind(micros(delivery.created_at))
                                .bind(status_name(delivery.status))
                                .bind(micros(delivery.next_attempt_at))
                                .bind(to_json(&delivery)?)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_error)?;
                        }
                        ended.push(EndedSession { session, client_ids, grant_ids });
                    }
                    tx.commit().await.map_err(db_error)?;
                    Ok(ended)
                })
                .await
            }

            async fn claim_logout_deliveries(
                &self,
                now: OffsetDateTime,
                lease_until: OffsetDateTime,
                limit: usize,
            ) -> Result<Vec<LogoutDelivery>> {
                let claimed = sqlx::query(q::CLAIM_DELIVERIES)
                    .bind(micros(now))
                    .bind(micros(lease_until))
                    .bind(count(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                let mut deliveries = claimed
                    .iter()
                    .map(delivery_from_row)
                    .collect::<Result<Vec<_>>>()?;
                deliveries.sort_by(|a, b| a.created_at.cmp(&b.created_at));
                Ok(deliveries)
            }

            async fn delete_logout_delivery(&self, session_id: &str, client_id: &str) -> Result<()> {
                self.execute_one(sqlx::query(q::DELETE_DELIVERY).bind(session_id).bind(client_id))
                    .await
            }

            async fn update_logout_delivery(&self, delivery: LogoutDelivery) -> Result<()> {
                self.execute_one(
                    sqlx::query(q::UPDATE_DELIVERY)
                        .bind(delivery.session_id.as_str())
                        .bind(delivery.client_id.as_str())
                        .bind(status_name(delivery.status))
                        .bind(micros(delivery.next_attempt_at))
                        .bind(to_json(&delivery)?),
                )
                .await
            }

            async fn logout_deliveries(&self, limit: usize, offset: usize) -> Result<Vec<LogoutDelivery>> {
                let found = sqlx::query(q::LIST_DELIVERIES)
                    .bind(count(limit))
                    .bind(count(offset))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                found.iter().map(delivery_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl TokenStore for $store {
            async fn insert_code(&self, code: CodeRecord) -> Result<()> {
                sqlx::query(q::INSERT_CODE)
                    .bind(code.signature.as_str())
                    .bind(code.grant.grant_id.as_str())
                    .bind(code.grant.client_id.as_str())
                    .bind(micros(code.expires_at))
                    .bind(code.used)
                    .bind(to_json(&code)?)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn code(&self, signature: &str) -> Result<CodeRecord> {
                let row = sqlx::query(q::SELECT_CODE)
                    .bind(signature)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .ok_or(StoreError::NotFound)?;
                let record: String = row.try_get(0).map_err(db_error)?;
                let used: bool = row.try_get(1).map_err(db_error)?;
                from_json(&record, &[("used", used.into())])
            }

            async fn redeem_code(&self, signature: &str, tokens: IssuedTokens) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let redeemed = sqlx::query(q::REDEEM_CODE)
                    .bind(signature)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                if redeemed == 0 {
                    // Dropping `tx` rolls back; nothing was written.
                    let exists = sqlx::query(q::SELECT_CODE)
                        .bind(signature)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    return Err(match exists {
                        Some(_) => StoreError::AlreadyUsed,
                        None => StoreError::NotFound,
                    });
                }
                insert_issued(&tokens)?
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            async fn insert_tokens(&self, tokens: IssuedTokens) -> Result<()> {
                self.write_tokens(tokens).await
            }

            async fn access_token(&self, signature: &str) -> Result<TokenRecord> {
                self.token(TokenKind::AccessToken, signature).await
            }

            async fn refresh_token(&self, signature: &str) -> Result<TokenRecord> {
                self.token(TokenKind::RefreshToken, signature).await
            }

            async fn rotate_refresh_token(&self, signature: &str, tokens: IssuedTokens) -> Result<()> {
                // A deadlock with a concurrent revocation of the grant (both lock its tokens)
                // aborts one of the two transactions; either may run again.
                retry_on_conflict(|| async {
                    let mut tx = self.begin_write().await?;
                    let grant_id: Option<String> = sqlx::query_scalar(q::ROTATE_REFRESH_TOKEN)
                        .bind(signature)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    let Some(grant_id) = grant_id else {
                        let existing = sqlx::query(q::SELECT_TOKEN)
                            .bind(TokenKind::RefreshToken.as_str())
                            .bind(signature)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(db_error)?;
                        let status: Option<String> =
                            existing.map(|row| row.try_get(1)).transpose().map_err(db_error)?;
                        return Err(match status.as_deref() {
                            Some(s) if s == TokenStatus::Rotated.as_str() => StoreError::AlreadyUsed,
                            _ => StoreError::NotFound,
                        });
                    };
                    revoke_in(&mut tx, q::REVOKE_GRANT_TOKENS, q::REVOKE_GRANT_CODES, &grant_id)
                        .await?;
                    insert_issued(&tokens)?
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    tx.commit().await.map_err(db_error)
                })
                .await
            }

            async fn revoke_grant(&self, grant_id: &str) -> Result<u64> {
                self.revoke(q::REVOKE_GRANT_TOKENS, q::REVOKE_GRANT_CODES, grant_id).await
            }

            async fn revoke_client_tokens(&self, client_id: &str) -> Result<u64> {
                self.revoke(q::REVOKE_CLIENT_TOKENS, q::REVOKE_CLIENT_CODES, client_id).await
            }

            async fn flush_tokens(&self, not_after: OffsetDateTime, limit: usize) -> Result<u64> {
                let tokens = self.flush(q::FLUSH_TOKENS, not_after, limit).await?;
                let codes = self
                    .flush(q::FLUSH_CODES, not_after, limit.saturating_sub(rows(tokens)))
                    .await?;
                Ok(tokens + codes)
            }
        }
    };
}
