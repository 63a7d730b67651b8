-- Keyhole's schema on SQLite. Times are integer microseconds since the Unix
-- epoch, UTC; NULL is "never" for optional times.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE, -- the email folded to lower case
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    mfa_enabled   INTEGER NOT NULL DEFAULT 0,
    last_login    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    secret_hash   TEXT NOT NULL DEFAULT '',
    secret_sealed BLOB,
    trusted       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX clients_account ON clients (account_id, id);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash        TEXT UNIQUE, -- NULL for CLI logins
    description TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id, id);

CREATE TABLE authorizations (
    id          TEXT PRIMARY KEY,
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    client_id   TEXT REFERENCES clients (id) ON DELETE CASCADE,
    session_id  TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL, -- space-separated, in order
    description TEXT NOT NULL DEFAULT '',
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX authorizations_account ON authorizations (account_id, id);
CREATE INDEX authorizations_client ON authorizations (client_id);
CREATE INDEX authorizations_session ON authorizations (session_id);
CREATE UNIQUE INDEX authorizations_default ON authorizations (account_id) WHERE is_default = 1;

CREATE TABLE tokens (
    id               TEXT PRIMARY KEY,
    authorization_id TEXT NOT NULL REFERENCES authorizations (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    hash             TEXT NOT NULL UNIQUE,
    hint             TEXT NOT NULL DEFAULT '',
    sealed           BLOB,
    expires_at       INTEGER,
    created_at       INTEGER NOT NULL,
    used_at          INTEGER,
    redirect_uri     TEXT NOT NULL DEFAULT '',
    code_challenge   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX tokens_authorization ON tokens (authorization_id, created_at);
CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL UNIQUE,
    region      TEXT NOT NULL,
    stack       TEXT NOT NULL,
    maintenance INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX apps_account ON apps (account_id, id);
CREATE INDEX apps_account_name ON apps (account_id, name);

CREATE TABLE config_vars (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (app_id, key)
) STRICT;

CREATE TABLE device_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    device_hash TEXT NOT NULL UNIQUE,
    user_code   TEXT NOT NULL UNIQUE,
    poll_interval INTEGER NOT NULL,
    polled_at   INTEGER,
    status      TEXT NOT NULL,
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    session_id  TEXT REFERENCES sessions (id) ON DELETE SET NULL,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
