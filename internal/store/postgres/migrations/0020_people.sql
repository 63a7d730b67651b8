-- The people's side: verified emails, two-factor authentication, mailed
-- links, the activity log, and when sessions and authorizations were last
-- used. Accounts made before sign-up verified addresses count as verified.

ALTER TABLE accounts
    ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT TRUE,
    -- The TOTP seed, sealed under the server key; NULL without MFA.
    ADD COLUMN mfa_seed BYTEA;

ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ, ADD COLUMN reauth_at TIMESTAMPTZ;
ALTER TABLE authorizations ADD COLUMN last_used_at TIMESTAMPTZ;

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (account_id, hash)
);

-- TOTP time steps accepted per account, so that a code is accepted once,
-- whichever replica sees it.
CREATE TABLE otp_steps (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    step       BIGINT NOT NULL,
    used_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, step)
);
CREATE INDEX otp_steps_used ON otp_steps (used_at);

CREATE TABLE mail_tokens (
    hash       TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
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
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);
CREATE INDEX events_created ON events (created_at);
