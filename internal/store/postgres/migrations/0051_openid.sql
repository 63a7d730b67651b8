-- OpenID Connect: how each browser session was signed in to (RFC 8176
-- method names), and on a grant code of an OpenID request and the refresh
-- tokens after it, the sign-in its ID tokens describe (auth_time, amr,
-- sid, nonce).
ALTER TABLE sessions ADD COLUMN amr TEXT[];
ALTER TABLE tokens ADD COLUMN sign_in JSONB;
