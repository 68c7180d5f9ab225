-- 0002: workers cache the catalogue (services, centers, offices, routing
-- rules); any change to it is announced on channel "referral_catalog" so
-- that every worker reloads without a restart.
CREATE FUNCTION notify_catalog_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('referral_catalog', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER service_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_change();
CREATE TRIGGER center_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON center
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_change();
CREATE TRIGGER office_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON office
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_change();
CREATE TRIGGER routing_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON routing_rule
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_change();
