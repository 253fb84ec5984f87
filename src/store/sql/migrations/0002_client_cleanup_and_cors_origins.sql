-- oauth2-provider schema version 2: what deleting a client must find, and the CORS origin index.
--
-- Deleting a client deletes its login requests, consent requests and forced subjects in the same
-- transaction, so each is found by client. Login requests gain a `client_id` column; rows written
-- before this version are backfilled from their JSON by the store right after this script runs.
ALTER TABLE oauth2_login_requests ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
CREATE INDEX oauth2_login_requests_client ON oauth2_login_requests (client_id);
CREATE INDEX oauth2_consent_requests_client ON oauth2_consent_requests (client_id);

-- Every (origin, client) pair of the clients' `allowed_cors_origins`, written in the same
-- transaction as the client: a CORS preflight asks whether any client allows an origin, which is
-- one primary-key lookup here instead of decoding every client. Backfilled like the above.
CREATE TABLE oauth2_client_cors_origins (
    origin TEXT NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (origin, client_id)
);
CREATE INDEX oauth2_client_cors_origins_client ON oauth2_client_cors_origins (client_id);

-- Before this version, deleting a client kept its consents and forced subjects: a client
-- registered again under the same id would have skipped the consent page on them.
DELETE FROM oauth2_consent_requests
    WHERE client_id NOT IN (SELECT client_id FROM oauth2_clients);
DELETE FROM oauth2_forced_subjects
    WHERE client_id NOT IN (SELECT client_id FROM oauth2_clients);
