-- The grant lifecycle: a credentials version that sign-ins check, scopes
-- and successors on tokens, and indexes for the sweeps.

ALTER TABLE accounts ADD COLUMN credentials_version BIGINT NOT NULL DEFAULT 1;

-- A token's own scope, narrower than its authorization's; NULL means the
-- authorization's. A rotated refresh token keeps its successor pair,
-- sealed, for the grace.
ALTER TABLE tokens ADD COLUMN scope TEXT[], ADD COLUMN successor BYTEA;
CREATE INDEX tokens_successor ON tokens (used_at) WHERE successor IS NOT NULL;

CREATE INDEX sessions_expires ON sessions (expires_at);

-- Consents to a client no longer end with the browser session they were
-- given in.
UPDATE authorizations SET session_id = NULL WHERE client_id IS NOT NULL;

-- The tokens of a login session end with it.
UPDATE tokens t SET expires_at = s.expires_at
FROM authorizations a JOIN sessions s ON s.id = a.session_id
WHERE a.id = t.authorization_id AND (t.expires_at IS NULL OR t.expires_at > s.expires_at);
