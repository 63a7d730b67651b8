-- The people's side: verified emails, two-factor authentication, mailed
-- links, the activity log, and when sessions and authorizations were last
-- used. Accounts made before sign-up verified addresses count as verified.

ALTER TABLE accounts ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 1;
-- The TOTP seed, sealed under the server key; NULL without MFA.
ALTER TABLE accounts ADD COLUMN mfa_seed BLOB;

ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
ALTER TABLE sessions ADD COLUMN reauth_at INTEGER;
ALTER TABLE authorizations ADD COLUMN last_used_at INTEGER;

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (account_id, hash)
) STRICT;

-- TOTP time steps accepted per account, so that a code is accepted once.
CREATE TABLE otp_steps (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    used_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, step)
) STRICT;
CREATE INDEX otp_steps_used ON otp_steps (used_at);

CREATE TABLE mail_tokens (
    hash       TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX mail_tokens_expires ON mail_tokens (expires_at);
CREATE INDEX mail_tokens_account ON mail_tokens (account_id);

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_account ON events (account_id, id);
CREATE INDEX events_created ON events (created_at);
