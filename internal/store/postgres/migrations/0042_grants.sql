-- An account's grant of a scope to a client is found in one lookup: the
-- consent check, and the authorize request that reuses the grant instead
-- of making another authorization.
CREATE INDEX authorizations_grant ON authorizations (account_id, client_id, scope);

-- An authorization's last use (TouchAuthorization, once a minute per
-- authorization in use) is no change the caches of other replicas need to
-- hear of: an update that changes nothing but last_used_at announces
-- nothing. Deletions, and every other update, still do.
DROP TRIGGER authorizations_notify ON authorizations;
CREATE TRIGGER authorizations_notify AFTER DELETE ON authorizations
    FOR EACH ROW EXECUTE FUNCTION keyhole_notify_change('auth');
CREATE TRIGGER authorizations_notify_update AFTER UPDATE ON authorizations
    FOR EACH ROW WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION keyhole_notify_change('auth');
