-- 0011: reference data changed without SQL (referralctl centers, offices,
-- services, rules), and every change to it recorded.
--   * reference_change: one row per changed row of center, office, service,
--     routing_rule or risk_priority_rule, with who, when, and the row before
--     and after (jsonb). Written by row triggers, so it is in the same
--     transaction as the change whoever makes it: referralctl, psql or a
--     re-seed. An UPDATE that changes nothing writes nothing. Append-only.
--   * Who: referralctl sets the transaction setting referral.actor (--by,
--     REFERRAL_ACTOR or the operating-system user); a change made another
--     way is recorded as actor 'sql'. The actor is what the changer says;
--     db_role, the database login (session_user), is what the server knows.
--     Only the trigger writes the table (SECURITY DEFINER): no role can
--     insert a row of its own, with another db_role.
--   * referral_admin: the group role of the people who run these commands.
--   * Every catalogue table the commands change already notifies the
--     workers (0002: service, center, office, routing_rule; 0003:
--     risk_priority_rule).

CREATE TABLE reference_change (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    db_role text NOT NULL DEFAULT session_user,
    entity  text NOT NULL CHECK (entity IN ('center', 'office', 'service', 'routing_rule',
                                            'risk_priority_rule')),
    key     text NOT NULL,
    action  text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    before  jsonb,
    after   jsonb,
    CHECK ((action = 'insert') = (before IS NULL) AND (action = 'delete') = (after IS NULL))
);
CREATE INDEX reference_change_entity_idx ON reference_change (entity, id);

CREATE FUNCTION reference_change_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reference_change is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER reference_change_no_change BEFORE UPDATE OR DELETE ON reference_change
    FOR EACH ROW EXECUTE FUNCTION reference_change_append_only();
CREATE TRIGGER reference_change_no_truncate BEFORE TRUNCATE ON reference_change
    FOR EACH STATEMENT EXECUTE FUNCTION reference_change_append_only();

-- The key of a row: its code, or its id for the rule tables.
CREATE FUNCTION record_reference_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = referral, pg_temp AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    row_key text;
BEGIN
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN NULL;
    END IF;
    row_key := coalesce(new_row, old_row) ->> (CASE WHEN TG_TABLE_NAME IN ('routing_rule',
                                                                           'risk_priority_rule')
                                                    THEN 'id' ELSE 'code' END);
    INSERT INTO reference_change (actor, db_role, entity, key, action, before, after)
    VALUES (coalesce(nullif(current_setting('referral.actor', true), ''), 'sql'), session_user,
            TG_TABLE_NAME, row_key, lower(TG_OP), old_row, new_row);
    RETURN NULL;
END
$$;

CREATE TRIGGER center_audit AFTER INSERT OR UPDATE OR DELETE ON center
    FOR EACH ROW EXECUTE FUNCTION record_reference_change();
CREATE TRIGGER office_audit AFTER INSERT OR UPDATE OR DELETE ON office
    FOR EACH ROW EXECUTE FUNCTION record_reference_change();
CREATE TRIGGER service_audit AFTER INSERT OR UPDATE OR DELETE ON service
    FOR EACH ROW EXECUTE FUNCTION record_reference_change();
CREATE TRIGGER routing_rule_audit AFTER INSERT OR UPDATE OR DELETE ON routing_rule
    FOR EACH ROW EXECUTE FUNCTION record_reference_change();
CREATE TRIGGER risk_priority_rule_audit AFTER INSERT OR UPDATE OR DELETE ON risk_priority_rule
    FOR EACH ROW EXECUTE FUNCTION record_reference_change();

-- referral_admin: what the reference-data commands do, and nothing else.
-- Read the geography and the catalogue; add and change centers, offices and
-- services (no DELETE: codes are never reused, rows are deactivated);
-- add routing rules and deactivate them (referrals name the rule that
-- routed them); add and delete risk rules; read the audit (the triggers
-- write it).
-- No access to referrals, households or persons.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'referral_admin') THEN
        CREATE ROLE referral_admin NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA referral TO referral_admin;
GRANT SELECT ON province, county TO referral_admin;
GRANT SELECT, INSERT, UPDATE ON center, office, service, routing_rule TO referral_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON risk_priority_rule TO referral_admin;
GRANT SELECT ON reference_change TO referral_admin;
GRANT USAGE ON SEQUENCE routing_rule_id_seq, risk_priority_rule_id_seq TO referral_admin;
GRANT SELECT ON reference_change TO referral_reporting;
