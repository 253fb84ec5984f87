-- oauth2-provider schema version 1. Shared by SQLite and PostgreSQL: only portable types
-- (TEXT, BIGINT, BOOLEAN). Times are Unix microseconds. Each table keeps the columns that
-- lookups, filters, ordering and atomic updates need; `record` is the rest of the record as JSON.
-- Secrets, codes, tokens and verifiers appear only as the SHA-256 digests the core computes.

CREATE TABLE oauth2_clients (
    client_id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX oauth2_clients_order ON oauth2_clients (created_at, client_id);

CREATE TABLE oauth2_keys (
    kid TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    record TEXT NOT NULL
);

-- One row, locked by every `insert_initial_keys` so that concurrent starts agree on one key set.
CREATE TABLE oauth2_key_lock (
    id BIGINT PRIMARY KEY
);

CREATE TABLE oauth2_login_requests (
    challenge TEXT PRIMARY KEY,
    verifier_digest TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    handled TEXT,
    verifier_used BOOLEAN NOT NULL DEFAULT FALSE,
    record TEXT NOT NULL
);
CREATE INDEX oauth2_login_requests_expiry ON oauth2_login_requests (expires_at);

CREATE TABLE oauth2_consent_requests (
    challenge TEXT PRIMARY KEY,
    verifier_digest TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    skip BOOLEAN NOT NULL,
    requested_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    handled TEXT,
    -- accepted with remember and not skip: what later requests may skip on
    remembered BOOLEAN NOT NULL DEFAULT FALSE,
    verifier_used BOOLEAN NOT NULL DEFAULT FALSE,
    record TEXT NOT NULL
);
CREATE INDEX oauth2_consent_requests_subject_client
    ON oauth2_consent_requests (subject, client_id, requested_at);
CREATE INDEX oauth2_consent_requests_subject_remembered
    ON oauth2_consent_requests (subject, remembered, requested_at);
CREATE INDEX oauth2_consent_requests_expiry ON oauth2_consent_requests (expires_at);

CREATE TABLE oauth2_login_sessions (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX oauth2_login_sessions_subject ON oauth2_login_sessions (subject);
CREATE INDEX oauth2_login_sessions_expiry ON oauth2_login_sessions (expires_at);

CREATE TABLE oauth2_forced_subjects (
    client_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    forced TEXT NOT NULL,
    PRIMARY KEY (client_id, subject)
);

CREATE TABLE oauth2_codes (
    signature TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE,
    record TEXT NOT NULL
);
CREATE INDEX oauth2_codes_grant ON oauth2_codes (grant_id);
CREATE INDEX oauth2_codes_client ON oauth2_codes (client_id);
CREATE INDEX oauth2_codes_expiry ON oauth2_codes (expires_at);

-- Access and refresh tokens; `kind` is 'access_token' or 'refresh_token',
-- `status` is 'active', 'rotated' or 'revoked'; `expires_at` NULL never expires.
CREATE TABLE oauth2_tokens (
    kind TEXT NOT NULL,
    signature TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    expires_at BIGINT,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX oauth2_tokens_grant ON oauth2_tokens (grant_id, status);
CREATE INDEX oauth2_tokens_client ON oauth2_tokens (client_id, status);
CREATE INDEX oauth2_tokens_expiry ON oauth2_tokens (expires_at);
