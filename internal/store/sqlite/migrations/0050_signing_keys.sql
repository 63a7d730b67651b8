-- The keys that sign ID tokens: the private half sealed under the server
-- key, the times it is published, signs and stops signing. The same on
-- every replica, since they share the database.
CREATE TABLE signing_keys (
    id           TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    retires_at   INTEGER
) STRICT;
