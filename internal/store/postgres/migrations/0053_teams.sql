-- Teams: named groups of accounts, each member with a role, that own apps
-- together; invitations mailed to people who have no account yet (the row
-- keeps the hash of the link's secret); and app collaborators, accounts
-- granted permissions on an app they do not own.

-- Team names page and sort in byte order, as app names do.
CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL UNIQUE,
    default_role TEXT NOT NULL DEFAULT '', -- '' is member
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_members (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (team_id, account_id)
);
CREATE INDEX team_members_account ON team_members (account_id);

-- One invitation per team and email, compared case-insensitively.
CREATE TABLE team_invitations (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    invited_by TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX team_invitations_email ON team_invitations (team_id, lower(email));
CREATE INDEX team_invitations_expires ON team_invitations (expires_at);

-- An app belongs to an account or to a team, never both; a team that owns
-- apps cannot be deleted.
ALTER TABLE apps
    ALTER account_id DROP NOT NULL,
    ADD COLUMN team_id TEXT REFERENCES teams (id) ON DELETE RESTRICT,
    ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE,
    ADD CONSTRAINT apps_one_owner CHECK ((account_id IS NULL) <> (team_id IS NULL));
CREATE INDEX apps_team ON apps (team_id, name);

-- Permissions are kept in the order given.
CREATE TABLE app_collaborators (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    permissions TEXT[] NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (app_id, account_id)
);
CREATE INDEX app_collaborators_account ON app_collaborators (account_id);
