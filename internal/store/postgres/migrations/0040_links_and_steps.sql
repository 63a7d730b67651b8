-- Mailed links are bound to the credentials version of their account when
-- they were made: a link works only while the account is still at that
-- version, so that a password change or reset, an email change (or a new
-- request for one), two-factor turned on or off and "end every other
-- session" end every link mailed before. Links outstanding now keep
-- working at the account's current version.
ALTER TABLE mail_tokens ADD COLUMN credentials_version BIGINT NOT NULL DEFAULT 0;
UPDATE mail_tokens SET credentials_version = accounts.credentials_version FROM accounts WHERE accounts.id = mail_tokens.account_id;

-- One-time codes are accepted in increasing time-step order: each account
-- keeps the last step it accepted, and a step not after it is refused, in
-- one statement, whichever replica sees it.
CREATE TABLE otp_last_steps (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    step       BIGINT NOT NULL,
    used_at    TIMESTAMPTZ NOT NULL
);
INSERT INTO otp_last_steps (account_id, step, used_at)
    SELECT account_id, max(step), max(used_at) FROM otp_steps GROUP BY account_id;
DROP TABLE otp_steps;
