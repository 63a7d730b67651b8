-- Rate limits and throttles kept in the database file, so that a restart
-- (kill -9 included) resets none of them: for each key, the GCRA
-- theoretical arrival time, in microseconds on the process's clock, after
-- which its budget is full again. A row whose time has passed means the
-- same as no row; the sweep deletes such rows.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limits_tat ON rate_limits (tat);
