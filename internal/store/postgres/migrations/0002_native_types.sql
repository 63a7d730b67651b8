-- Native PostgreSQL types. 0001 stored times as microseconds since the Unix
-- epoch (BIGINT) and scopes as space-separated text, so that the queries
-- could be shared with SQLite; this backend now has its own SQL, so times
-- become TIMESTAMPTZ (NULL is still "never"), scopes TEXT[] in their
-- order, and the lower-cased email copy an expression index. Databases
-- already at version 1 are converted in place; new ones pass through 0001
-- and end up the same. Names stay unqualified: search_path picks the schema.

-- schema_migrations was created by the previous binary with applied_at in
-- microseconds, and by this one as TIMESTAMPTZ.
DO $$
BEGIN
    IF (SELECT atttypid FROM pg_attribute
        WHERE attrelid = 'schema_migrations'::regclass AND attname = 'applied_at') = 'bigint'::regtype THEN
        ALTER TABLE schema_migrations
            ALTER applied_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + applied_at * INTERVAL '1 microsecond',
            ALTER applied_at SET DEFAULT now();
    END IF;
END
$$;

ALTER TABLE accounts
    ALTER last_login TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + last_login * INTERVAL '1 microsecond',
    ALTER created_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + created_at * INTERVAL '1 microsecond',
    ALTER updated_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + updated_at * INTERVAL '1 microsecond',
    DROP COLUMN email_key;
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

ALTER TABLE clients
    ALTER created_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + created_at * INTERVAL '1 microsecond',
    ALTER updated_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + updated_at * INTERVAL '1 microsecond';

ALTER TABLE sessions
    ALTER created_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + created_at * INTERVAL '1 microsecond',
    ALTER expires_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + expires_at * INTERVAL '1 microsecond';

ALTER TABLE authorizations
    ALTER scope TYPE TEXT[] USING CASE WHEN scope = '' THEN '{}'::TEXT[] ELSE string_to_array(scope, ' ') END,
    ALTER created_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + created_at * INTERVAL '1 microsecond',
    ALTER updated_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + updated_at * INTERVAL '1 microsecond';

ALTER TABLE tokens
    ALTER expires_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + expires_at * INTERVAL '1 microsecond',
    ALTER created_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + created_at * INTERVAL '1 microsecond',
    ALTER used_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + used_at * INTERVAL '1 microsecond';

-- App names page in byte order, as on SQLite, whatever the database's locale.
ALTER TABLE apps
    ALTER name TYPE TEXT COLLATE "C",
    ALTER created_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + created_at * INTERVAL '1 microsecond',
    ALTER updated_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + updated_at * INTERVAL '1 microsecond';

ALTER TABLE device_grants
    ALTER scope TYPE TEXT[] USING CASE WHEN scope = '' THEN '{}'::TEXT[] ELSE string_to_array(scope, ' ') END,
    ALTER polled_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + polled_at * INTERVAL '1 microsecond',
    ALTER expires_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + expires_at * INTERVAL '1 microsecond',
    ALTER created_at TYPE TIMESTAMPTZ USING TIMESTAMPTZ 'epoch' + created_at * INTERVAL '1 microsecond';
CREATE INDEX device_grants_expires ON device_grants (expires_at);
