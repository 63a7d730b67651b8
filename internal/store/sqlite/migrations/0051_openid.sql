-- OpenID Connect: how each browser session was signed in to (RFC 8176
-- method names, separated by spaces), and on a grant code of an OpenID
-- request and the refresh tokens after it, the sign-in its ID tokens
-- describe (JSON: auth_time, amr, sid, nonce).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN sign_in TEXT;
