-- An account's grant of a scope to a client is found in one lookup: the
-- consent check, and the authorize request that reuses the grant instead
-- of making another authorization.

CREATE INDEX authorizations_grant ON authorizations (account_id, client_id, scope);
