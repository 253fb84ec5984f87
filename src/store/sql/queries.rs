//! The SQL text of every statement, shared by SQLite and PostgreSQL: both accept `$n`
//! placeholders, `RETURNING`, `ON CONFLICT … DO UPDATE`, row values and `LIMIT` in subqueries.
//! Values are always bound as parameters, never formatted into the text.

/// The versioned migrations, oldest first. A database records each applied version in
/// `oauth2_provider_schema_version`.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (
        2,
        include_str!("migrations/0002_client_cleanup_and_cors_origins.sql"),
    ),
    (3, include_str!("migrations/0003_logout.sql")),
];
/// The version whose new columns and tables the store backfills from the records' JSON
/// (in the migration's transaction) right after applying it.
pub(crate) const BACKFILL_VERSION: i64 = 2;

pub(crate) const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS \
    oauth2_provider_schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
pub(crate) const SCHEMA_VERSION: &str = "SELECT MAX(version) FROM oauth2_provider_schema_version";
pub(crate) const RECORD_VERSION: &str =
    "INSERT INTO oauth2_provider_schema_version (version, applied_at) VALUES ($1, $2)";

// Clients.
pub(crate) const INSERT_CLIENT: &str =
    "INSERT INTO oauth2_clients (client_id, created_at, record) VALUES ($1, $2, $3)";
pub(crate) const SELECT_CLIENT: &str = "SELECT record FROM oauth2_clients WHERE client_id = $1";
pub(crate) const UPDATE_CLIENT: &str =
    "UPDATE oauth2_clients SET created_at = $2, record = $3 WHERE client_id = $1";
pub(crate) const DELETE_CLIENT: &str = "DELETE FROM oauth2_clients WHERE client_id = $1";
/// What deleting a client deletes besides the client row, in its transaction (`$1` the id).
pub(crate) const DELETE_CLIENT_LEFTOVERS: [&str; 5] = [
    "DELETE FROM oauth2_client_cors_origins WHERE client_id = $1",
    "DELETE FROM oauth2_login_requests WHERE client_id = $1",
    "DELETE FROM oauth2_consent_requests WHERE client_id = $1",
    "DELETE FROM oauth2_forced_subjects WHERE client_id = $1",
    "DELETE FROM oauth2_logout_requests WHERE client_id = $1",
];
pub(crate) const INSERT_CORS_ORIGIN: &str =
    "INSERT INTO oauth2_client_cors_origins (origin, client_id) VALUES ($1, $2)";
pub(crate) const DELETE_CORS_ORIGINS: &str =
    "DELETE FROM oauth2_client_cors_origins WHERE client_id = $1";
pub(crate) const ORIGIN_ALLOWED: &str =
    "SELECT 1 FROM oauth2_client_cors_origins WHERE origin = $1 LIMIT 1";
/// Backfill pages (keyset on the key, `$1` the last key seen, `$2` the page size).
pub(crate) const BACKFILL_CLIENTS_PAGE: &str = "SELECT client_id, record FROM oauth2_clients \
    WHERE ($1 IS NULL OR client_id > $1) ORDER BY client_id LIMIT $2";
pub(crate) const BACKFILL_LOGINS_PAGE: &str = "SELECT challenge, record FROM oauth2_login_requests \
    WHERE client_id = '' AND ($1 IS NULL OR challenge > $1) ORDER BY challenge LIMIT $2";
pub(crate) const SET_LOGIN_CLIENT: &str =
    "UPDATE oauth2_login_requests SET client_id = $2 WHERE challenge = $1";
/// Login requests of clients deleted before schema version 2, once backfilled.
pub(crate) const DELETE_ORPHAN_LOGINS: &str = "DELETE FROM oauth2_login_requests \
    WHERE client_id NOT IN (SELECT client_id FROM oauth2_clients)";
pub(crate) const LIST_CLIENTS: &str =
    "SELECT record FROM oauth2_clients ORDER BY created_at, client_id LIMIT $1 OFFSET $2";

// Keys.
/// The readiness probe: one round trip that needs the schema.
pub(crate) const PING: &str = "SELECT 1 FROM oauth2_keys LIMIT 1";
pub(crate) const SELECT_KEYS: &str =
    "SELECT record FROM oauth2_keys ORDER BY position, created_at, kid";
/// Takes the key lock row (an upsert always writes it), serialising key changes.
pub(crate) const LOCK_KEYS: &str = "INSERT INTO oauth2_key_lock (id) VALUES (1) \
    ON CONFLICT (id) DO UPDATE SET id = excluded.id";
pub(crate) const DELETE_KEYS: &str = "DELETE FROM oauth2_keys";
pub(crate) const INSERT_KEY_AT: &str =
    "INSERT INTO oauth2_keys (kid, position, created_at, record) VALUES ($1, $2, $3, $4)";

/// The statements of one request table (login or consent): they differ only in the table.
#[derive(Debug)]
pub(crate) struct RequestQueries {
    pub(crate) select: &'static str,
    pub(crate) select_by_verifier: &'static str,
    /// `$1` challenge, `$2` handled JSON, and for consent `$3` "accepted with remember".
    pub(crate) handle: &'static str,
    pub(crate) consume: &'static str,
    /// `$1` cut-off, `$2` limit.
    pub(crate) flush: &'static str,
}

/// The columns every request query returns, in this order.
macro_rules! request_columns {
    () => {
        "record, handled, verifier_used"
    };
}

pub(crate) const INSERT_LOGIN: &str = "INSERT INTO oauth2_login_requests \
    (challenge, verifier_digest, expires_at, handled, verifier_used, record, client_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const LOGIN: RequestQueries = RequestQueries {
    select: concat!(
        "SELECT ",
        request_columns!(),
        " FROM oauth2_login_requests WHERE challenge = $1"
    ),
    select_by_verifier: concat!(
        "SELECT ",
        request_columns!(),
        " FROM oauth2_login_requests WHERE verifier_digest = $1"
    ),
    handle: concat!(
        "UPDATE oauth2_login_requests SET handled = $2 WHERE challenge = $1 AND handled IS NULL \
         RETURNING ",
        request_columns!()
    ),
    consume: concat!(
        "UPDATE oauth2_login_requests SET verifier_used = TRUE WHERE verifier_digest = $1 \
         AND handled IS NOT NULL AND verifier_used = FALSE RETURNING ",
        request_columns!()
    ),
    flush: "DELETE FROM oauth2_login_requests WHERE challenge IN \
        (SELECT challenge FROM oauth2_login_requests WHERE expires_at < $1 LIMIT $2)",
};

pub(crate) const INSERT_CONSENT: &str = "INSERT INTO oauth2_consent_requests \
    (challenge, verifier_digest, client_id, subject, skip, requested_at, expires_at, handled, \
     remembered, verifier_used, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub(crate) const CONSENT: RequestQueries = RequestQueries {
    select: concat!(
        "SELECT ",
        request_columns!(),
        " FROM oauth2_consent_requests WHERE challenge = $1"
    ),
    select_by_verifier: concat!(
        "SELECT ",
        request_columns!(),
        " FROM oauth2_consent_requests WHERE verifier_digest = $1"
    ),
    handle: concat!(
        "UPDATE oauth2_consent_requests SET handled = $2, remembered = ($3 AND NOT skip) \
         WHERE challenge = $1 AND handled IS NULL RETURNING ",
        request_columns!()
    ),
    consume: concat!(
        "UPDATE oauth2_consent_requests SET verifier_used = TRUE WHERE verifier_digest = $1 \
         AND handled IS NOT NULL AND verifier_used = FALSE RETURNING ",
        request_columns!()
    ),
    // A remembered consent is kept: it is what later requests skip on.
    flush: "DELETE FROM oauth2_consent_requests WHERE challenge IN \
        (SELECT challenge FROM oauth2_consent_requests \
         WHERE expires_at < $1 AND remembered = FALSE LIMIT $2)",
};
pub(crate) const REMEMBERED_CONSENTS: &str = concat!(
    "SELECT ",
    request_columns!(),
    " FROM oauth2_consent_requests WHERE subject = $1 AND client_id = $2 AND remembered = TRUE \
     ORDER BY requested_at DESC, challenge"
);
pub(crate) const CONSENT_SESSIONS: &str = concat!(
    "SELECT ",
    request_columns!(),
    " FROM oauth2_consent_requests WHERE subject = $1 AND remembered = TRUE \
     ORDER BY requested_at DESC, challenge LIMIT $2 OFFSET $3"
);
pub(crate) const DELETE_CONSENTS: &str = "DELETE FROM oauth2_consent_requests \
    WHERE subject = $1 AND handled IS NOT NULL AND ($2 IS NULL OR client_id = $2) \
    RETURNING challenge";

// Login sessions and forced subjects.
pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO oauth2_login_sessions (id, subject, expires_at, record) VALUES ($1, $2, $3, $4)";
pub(crate) const SELECT_SESSION: &str = "SELECT record FROM oauth2_login_sessions WHERE id = $1";
pub(crate) const DELETE_SESSION: &str = "DELETE FROM oauth2_login_sessions WHERE id = $1";
pub(crate) const DELETE_SESSIONS_OF: &str = "DELETE FROM oauth2_login_sessions WHERE subject = $1";
pub(crate) const FLUSH_SESSIONS: &str = "DELETE FROM oauth2_login_sessions WHERE id IN \
    (SELECT id FROM oauth2_login_sessions WHERE expires_at < $1 LIMIT $2)";
pub(crate) const UPSERT_FORCED_SUBJECT: &str = "INSERT INTO oauth2_forced_subjects \
    (client_id, subject, forced) VALUES ($1, $2, $3) \
    ON CONFLICT (client_id, subject) DO UPDATE SET forced = excluded.forced";
pub(crate) const SELECT_FORCED_SUBJECT: &str =
    "SELECT forced FROM oauth2_forced_subjects WHERE client_id = $1 AND subject = $2";

// Codes.
pub(crate) const INSERT_CODE: &str = "INSERT INTO oauth2_codes \
    (signature, grant_id, client_id, expires_at, used, record) VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const SELECT_CODE: &str = "SELECT record, used FROM oauth2_codes WHERE signature = $1";
pub(crate) const REDEEM_CODE: &str =
    "UPDATE oauth2_codes SET used = TRUE WHERE signature = $1 AND used = FALSE";
pub(crate) const REVOKE_GRANT_CODES: &str =
    "UPDATE oauth2_codes SET used = TRUE WHERE grant_id = $1 AND used = FALSE";
pub(crate) const REVOKE_CLIENT_CODES: &str =
    "UPDATE oauth2_codes SET used = TRUE WHERE client_id = $1 AND used = FALSE";
pub(crate) const FLUSH_CODES: &str = "DELETE FROM oauth2_codes WHERE signature IN \
    (SELECT signature FROM oauth2_codes WHERE expires_at < $1 LIMIT $2)";

// Access and refresh tokens.
pub(crate) const INSERT_TOKEN: &str = "INSERT INTO oauth2_tokens \
    (kind, signature, grant_id, client_id, expires_at, status, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// An access and a refresh token in one statement: atomic without a transaction, and one
/// round trip.
pub(crate) const INSERT_TOKEN_PAIR: &str = "INSERT INTO oauth2_tokens \
    (kind, signature, grant_id, client_id, expires_at, status, record) \
    VALUES ($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14)";
/// Any number of tokens in one statement (PostgreSQL only): the columns come as arrays, so
/// one prepared statement serves every batch size (`store::sql::group_commit`).
#[cfg(feature = "postgres")]
pub(crate) const INSERT_TOKENS_UNNEST: &str = "INSERT INTO oauth2_tokens \
    (kind, signature, grant_id, client_id, expires_at, status, record) \
    SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], \
    $6::TEXT[], $7::TEXT[])";
pub(crate) const SELECT_TOKEN: &str =
    "SELECT record, status FROM oauth2_tokens WHERE kind = $1 AND signature = $2";
/// Marks an active refresh token rotated, returning its grant.
pub(crate) const ROTATE_REFRESH_TOKEN: &str = "UPDATE oauth2_tokens SET status = 'rotated' \
    WHERE kind = 'refresh_token' AND signature = $1 AND status = 'active' RETURNING grant_id";
pub(crate) const REVOKE_GRANT_TOKENS: &str =
    "UPDATE oauth2_tokens SET status = 'revoked' WHERE grant_id = $1 AND status = 'active'";
pub(crate) const REVOKE_CLIENT_TOKENS: &str =
    "UPDATE oauth2_tokens SET status = 'revoked' WHERE client_id = $1 AND status = 'active'";
/// Tokens without expiry (`expires_at` NULL) never match `<`.
pub(crate) const FLUSH_TOKENS: &str = "DELETE FROM oauth2_tokens WHERE (kind, signature) IN \
    (SELECT kind, signature FROM oauth2_tokens WHERE expires_at < $1 LIMIT $2)";

pub(crate) const INSERT_LOGOUT: &str = "INSERT INTO oauth2_logout_requests \
    (challenge, verifier_digest, expires_at, handled, verifier_used, record, client_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const LOGOUT: RequestQueries = RequestQueries {
    select: concat!(
        "SELECT ",
        request_columns!(),
        " FROM oauth2_logout_requests WHERE challenge = $1"
    ),
    select_by_verifier: concat!(
        "SELECT ",
        request_columns!(),
        " FROM oauth2_logout_requests WHERE verifier_digest = $1"
    ),
    handle: concat!(
        "UPDATE oauth2_logout_requests SET handled = $2 WHERE challenge = $1 AND handled IS NULL \
         RETURNING ",
        request_columns!()
    ),
    consume: concat!(
        "UPDATE oauth2_logout_requests SET verifier_used = TRUE WHERE verifier_digest = $1 \
         AND handled IS NOT NULL AND verifier_used = FALSE RETURNING ",
        request_columns!()
    ),
    flush: "DELETE FROM oauth2_logout_requests WHERE challenge IN \
        (SELECT challenge FROM oauth2_logout_requests WHERE expires_at < $1 LIMIT $2)",
};

// Logout: the grants of each session and the back-channel outbox.
/// Only for a session that exists, so that a session ended meanwhile leaves nothing behind.
pub(crate) const INSERT_SESSION_GRANT: &str = "INSERT INTO oauth2_session_grants \
    (session_id, client_id, grant_id) SELECT $1, $2, $3 WHERE EXISTS \
    (SELECT 1 FROM oauth2_login_sessions WHERE id = $1) ON CONFLICT DO NOTHING";
pub(crate) const END_SESSION: &str =
    "DELETE FROM oauth2_login_sessions WHERE id = $1 RETURNING record";
pub(crate) const END_SESSIONS_OF: &str =
    "DELETE FROM oauth2_login_sessions WHERE subject = $1 RETURNING record";
pub(crate) const TAKE_SESSION_GRANTS: &str =
    "DELETE FROM oauth2_session_grants WHERE session_id = $1 RETURNING grant_id, client_id";
pub(crate) const DELETE_SESSION_GRANTS: &str =
    "DELETE FROM oauth2_session_grants WHERE session_id = $1";
pub(crate) const DELETE_SESSION_GRANTS_OF: &str = "DELETE FROM oauth2_session_grants \
    WHERE session_id IN (SELECT id FROM oauth2_login_sessions WHERE subject = $1)";
/// After a flush of sessions: the grants of sessions that are gone.
pub(crate) const FLUSH_SESSION_GRANTS: &str = "DELETE FROM oauth2_session_grants \
    WHERE session_id NOT IN (SELECT id FROM oauth2_login_sessions)";
pub(crate) const INSERT_DELIVERY: &str = "INSERT INTO oauth2_logout_deliveries \
    (session_id, client_id, created_at, status, next_attempt_at, record) \
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, client_id) DO NOTHING";
/// The columns every delivery query returns, in this order.
macro_rules! delivery_columns {
    () => {
        "record, status, next_attempt_at"
    };
}
/// `$1` now, `$2` lease end, `$3` limit. The outer condition is checked again on the row a
/// concurrent claim may have moved, so that two claims never both take it.
pub(crate) const CLAIM_DELIVERIES: &str = concat!(
    "UPDATE oauth2_logout_deliveries SET next_attempt_at = $2 \
     WHERE status = 'pending' AND next_attempt_at <= $1 AND (session_id, client_id) IN \
     (SELECT session_id, client_id FROM oauth2_logout_deliveries \
      WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3) \
     RETURNING ",
    delivery_columns!()
);
pub(crate) const DELETE_DELIVERY: &str =
    "DELETE FROM oauth2_logout_deliveries WHERE session_id = $1 AND client_id = $2";
pub(crate) const UPDATE_DELIVERY: &str = "UPDATE oauth2_logout_deliveries \
    SET status = $3, next_attempt_at = $4, record = $5 WHERE session_id = $1 AND client_id = $2";
pub(crate) const LIST_DELIVERIES: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM oauth2_logout_deliveries ORDER BY created_at, session_id, client_id LIMIT $1 OFFSET $2"
);
