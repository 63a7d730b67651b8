-- Rate limits and throttles that every replica shares: for each key, the
-- GCRA theoretical arrival time, on the database's clock, after which its
-- budget is full again. A row whose time has passed means the same as no
-- row; the sweep deletes such rows.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat TIMESTAMPTZ NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);
