-- Teams: named groups of accounts, each member with a role, that own apps
-- together; invitations mailed to people who have no account yet (the row
-- keeps the hash of the link's secret); and app collaborators, accounts
-- granted permissions on an app they do not own.

CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    default_role TEXT NOT NULL DEFAULT '', -- '' is member
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE team_members (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (team_id, account_id)
) STRICT;
CREATE INDEX team_members_account ON team_members (account_id);

-- One invitation per team and email, compared case-insensitively.
CREATE TABLE team_invitations (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    invited_by TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX team_invitations_email ON team_invitations (team_id, lower(email));
CREATE INDEX team_invitations_expires ON team_invitations (expires_at);

-- An app belongs to an account or to a team, never both; a team that owns
-- apps cannot be deleted. SQLite cannot change a column's constraints in
-- place, and foreign keys stay on inside the migrations' transaction: the
-- table is built anew beside the old one, with config_vars (which refers
-- to it), the rows copied, the old tables dropped (config_vars first, so
-- that nothing refers to apps when it goes) and the new ones renamed, which
-- rewrites config_vars' reference to apps.
CREATE TABLE apps_v2 (
    id          TEXT PRIMARY KEY,
    account_id  TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    team_id     TEXT REFERENCES teams (id) ON DELETE RESTRICT,
    locked      INTEGER NOT NULL DEFAULT 0,
    name        TEXT NOT NULL UNIQUE,
    region      TEXT NOT NULL,
    stack       TEXT NOT NULL,
    maintenance INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK ((account_id IS NULL) <> (team_id IS NULL))
) STRICT;
INSERT INTO apps_v2 (id, account_id, name, region, stack, maintenance, created_at, updated_at)
    SELECT id, account_id, name, region, stack, maintenance, created_at, updated_at FROM apps;

CREATE TABLE config_vars_v2 (
    app_id TEXT NOT NULL REFERENCES apps_v2 (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (app_id, key)
) STRICT;
INSERT INTO config_vars_v2 (app_id, key, value) SELECT app_id, key, value FROM config_vars;

DROP TABLE config_vars;
DROP TABLE apps;
ALTER TABLE apps_v2 RENAME TO apps;
ALTER TABLE config_vars_v2 RENAME TO config_vars;
CREATE INDEX apps_account ON apps (account_id, id);
CREATE INDEX apps_account_name ON apps (account_id, name);
CREATE INDEX apps_team ON apps (team_id, name);

-- Permissions are names separated by commas, in the order given.
CREATE TABLE app_collaborators (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    permissions TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (app_id, account_id)
) STRICT;
CREATE INDEX app_collaborators_account ON app_collaborators (account_id);
