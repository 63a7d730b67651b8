-- The grant lifecycle: a credentials version that sign-ins check, scopes
-- and successors on tokens, and indexes for the sweeps.

ALTER TABLE accounts ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 1;

-- A token's own scope (space-separated), narrower than its
-- authorization's; NULL means the authorization's.
ALTER TABLE tokens ADD COLUMN scope TEXT;
-- A rotated refresh token keeps its successor pair, sealed, for the grace.
ALTER TABLE tokens ADD COLUMN successor BLOB;
CREATE INDEX tokens_successor ON tokens (used_at) WHERE successor IS NOT NULL;

CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX device_grants_expires ON device_grants (expires_at);

-- Consents to a client no longer end with the browser session they were
-- given in.
UPDATE authorizations SET session_id = NULL WHERE client_id IS NOT NULL;

-- The tokens of a login session end with it.
UPDATE tokens SET expires_at = (
    SELECT s.expires_at FROM authorizations a JOIN sessions s ON s.id = a.session_id WHERE a.id = tokens.authorization_id)
WHERE authorization_id IN (SELECT id FROM authorizations WHERE session_id IS NOT NULL)
  AND (expires_at IS NULL OR expires_at > (
    SELECT s.expires_at FROM authorizations a JOIN sessions s ON s.id = a.session_id WHERE a.id = tokens.authorization_id));
