-- Replicas cache live tokens, accounts and clients in memory. Every change
-- that can make a cached value wrong is announced on the channel
-- keyhole_changes, in the transaction that makes it (PostgreSQL delivers
-- a notification when, and only if, its transaction commits), with the tag
-- the caches file the value under.

CREATE FUNCTION keyhole_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keyhole_changes', TG_ARGV[0] || ':' || OLD.id);
    RETURN NULL;
END
$$;

-- Only access tokens are cached; inserting one changes nothing cached.
CREATE TRIGGER tokens_notify AFTER DELETE OR UPDATE ON tokens
    FOR EACH ROW WHEN (OLD.kind = 'access') EXECUTE FUNCTION keyhole_notify_change('tok');
CREATE TRIGGER authorizations_notify AFTER DELETE OR UPDATE ON authorizations
    FOR EACH ROW EXECUTE FUNCTION keyhole_notify_change('auth');
CREATE TRIGGER accounts_notify AFTER DELETE OR UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION keyhole_notify_change('acct');
CREATE TRIGGER clients_notify AFTER DELETE OR UPDATE ON clients
    FOR EACH ROW EXECUTE FUNCTION keyhole_notify_change('client');
