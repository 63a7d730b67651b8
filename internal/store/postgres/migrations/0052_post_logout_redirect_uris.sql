-- OpenID Connect RP-Initiated Logout: where a client's logout may send the
-- browser besides its redirect URI.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT[] NOT NULL DEFAULT '{}';
