-- CLI logins made in a browser. A login session may be made through a
-- browser session (parent_id) and ends with it; a device authorization
-- carries the description its CLI gave. The built-in public client of
-- Keyhole's command line belongs to a system account nobody signs in as
-- (it has no password).

ALTER TABLE sessions ADD COLUMN parent_id TEXT REFERENCES sessions (id) ON DELETE CASCADE;
CREATE INDEX sessions_parent ON sessions (parent_id) WHERE parent_id IS NOT NULL;

ALTER TABLE device_grants ADD COLUMN description TEXT NOT NULL DEFAULT '';

INSERT INTO accounts (id, email, name, password_hash, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-000000000000', 'system@keyhole.invalid', 'Keyhole', '',
        date_trunc('second', now()), date_trunc('second', now()))
ON CONFLICT DO NOTHING;

INSERT INTO clients (id, account_id, name, redirect_uri, secret_hash, trusted, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-000000000c11', '00000000-0000-4000-8000-000000000000', 'Keyhole CLI',
        'http://127.0.0.1/', '', FALSE, date_trunc('second', now()), date_trunc('second', now()))
ON CONFLICT DO NOTHING;
