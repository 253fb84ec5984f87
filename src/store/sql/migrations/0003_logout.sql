-- oauth2-provider schema version 3: logout (OpenID Connect RP-Initiated, Front- and Back-Channel
-- Logout).

-- Logout requests: the third kind of challenge, with the columns of login requests.
CREATE TABLE oauth2_logout_requests (
    challenge TEXT PRIMARY KEY,
    verifier_digest TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    handled TEXT,
    verifier_used BOOLEAN NOT NULL DEFAULT FALSE,
    record TEXT NOT NULL
);
CREATE INDEX oauth2_logout_requests_expiry ON oauth2_logout_requests (expires_at);
CREATE INDEX oauth2_logout_requests_client ON oauth2_logout_requests (client_id);

-- The grants issued in a login session, with their clients: who is told when it ends, and
-- what is revoked with it when the provider is configured so.
CREATE TABLE oauth2_session_grants (
    session_id TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (session_id, grant_id)
);

-- The outbox of back-channel logout notifications, written in the transaction that ends the
-- session. `status` is 'pending' or 'failed'; delivered rows are deleted.
CREATE TABLE oauth2_logout_deliveries (
    session_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX oauth2_logout_deliveries_due ON oauth2_logout_deliveries (status, next_attempt_at);
CREATE INDEX oauth2_logout_deliveries_order
    ON oauth2_logout_deliveries (created_at, session_id, client_id);
