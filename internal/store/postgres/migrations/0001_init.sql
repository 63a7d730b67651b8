-- Keyhole's schema on PostgreSQL. Times are microseconds since the Unix
-- epoch, UTC, as on SQLite, so that both backends share their queries;
-- NULL is "never" for optional times. Tables are unqualified: the
-- connection's search_path chooses the schema.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE, -- the email folded to lower case
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    mfa_enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    last_login    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    secret_hash   TEXT NOT NULL DEFAULT '',
    secret_sealed BYTEA,
    trusted       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX clients_account ON clients (account_id, id);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash        TEXT UNIQUE, -- NULL for CLI logins
    description TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id, id);

CREATE TABLE authorizations (
    id          TEXT PRIMARY KEY,
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    client_id   TEXT REFERENCES clients (id) ON DELETE CASCADE,
    session_id  TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL, -- space-separated, in order
    description TEXT NOT NULL DEFAULT '',
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX authorizations_account ON authorizations (account_id, id);
CREATE INDEX authorizations_client ON authorizations (client_id);
CREATE INDEX authorizations_session ON authorizations (session_id);
CREATE UNIQUE INDEX authorizations_default ON authorizations (account_id) WHERE is_default;

CREATE TABLE tokens (
    id               TEXT PRIMARY KEY,
    authorization_id TEXT NOT NULL REFERENCES authorizations (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    hash             TEXT NOT NULL UNIQUE,
    hint             TEXT NOT NULL DEFAULT '',
    sealed           BYTEA,
    expires_at       BIGINT,
    created_at       BIGINT NOT NULL,
    used_at          BIGINT,
    redirect_uri     TEXT NOT NULL DEFAULT '',
    code_challenge   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tokens_authorization ON tokens (authorization_id, created_at);
CREATE INDEX tokens_expires ON tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL UNIQUE,
    region      TEXT NOT NULL,
    stack       TEXT NOT NULL,
    maintenance BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX apps_account ON apps (account_id, id);
CREATE INDEX apps_account_name ON apps (account_id, name);

CREATE TABLE config_vars (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (app_id, key)
);

CREATE TABLE device_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    device_hash TEXT NOT NULL UNIQUE,
    user_code   TEXT NOT NULL UNIQUE,
    poll_interval INTEGER NOT NULL,
    polled_at   BIGINT,
    status      TEXT NOT NULL,
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    session_id  TEXT REFERENCES sessions (id) ON DELETE SET NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
