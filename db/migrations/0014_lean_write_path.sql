-- 0014: a lean write path (issue 15). A submission wrote its rows through
-- ten foreign-key checks; each took a KEY SHARE lock on a parent row that
-- every concurrent submission locks too (the same few centers, services and
-- offices), so PostgreSQL made a MultiXact per transaction, and the checks
-- were a third of the database's time per referral. Integrity is kept by
-- design instead:
--   * Catalogue rows (center, office, service, routing_rule) are never
--     deleted and never recoded: triggers refuse it (deactivate instead, as
--     referralctl does). A worker writes only codes it read from the
--     catalogue, so a referral's references cannot dangle.
--   * The rows a submission writes (household, person, referral, event,
--     duplicate answer) are written together by submit_referral(s), which
--     writes the household before the referral, the referral before its
--     event; and none of them is ever deleted: triggers refuse that too.
--   * The foreign keys among catalogue tables stay (rarely written).
-- A person's household is found from the person's row; the household's
-- members from its referrals (referral_household_idx) and the person rows:
-- person_household_idx, written on every submission, goes.

CREATE FUNCTION row_is_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION '% keys are never changed: referrals name them (add a new row)',
            TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END IF;
    RAISE EXCEPTION '% rows are never deleted: referrals name them (deactivate instead)',
        TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER center_kept BEFORE DELETE ON center FOR EACH ROW EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER center_key_kept BEFORE UPDATE OF code ON center FOR EACH ROW
    WHEN (NEW.code IS DISTINCT FROM OLD.code) EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER office_kept BEFORE DELETE ON office FOR EACH ROW EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER office_key_kept BEFORE UPDATE OF code ON office FOR EACH ROW
    WHEN (NEW.code IS DISTINCT FROM OLD.code) EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER service_kept BEFORE DELETE ON service FOR EACH ROW EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER service_key_kept BEFORE UPDATE OF code ON service FOR EACH ROW
    WHEN (NEW.code IS DISTINCT FROM OLD.code) EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER routing_rule_kept BEFORE DELETE ON routing_rule FOR EACH ROW
    EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER routing_rule_key_kept BEFORE UPDATE OF id ON routing_rule FOR EACH ROW
    WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER referral_kept BEFORE DELETE ON referral FOR EACH ROW
    EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER household_kept BEFORE DELETE ON household FOR EACH ROW
    EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER person_kept BEFORE DELETE ON person FOR EACH ROW EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER duplicate_answer_kept BEFORE DELETE ON duplicate_answer FOR EACH ROW
    EXECUTE FUNCTION row_is_kept();
-- TRUNCATE skips row triggers: refuse it per statement.
CREATE TRIGGER center_not_truncated BEFORE TRUNCATE ON center
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER office_not_truncated BEFORE TRUNCATE ON office
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER service_not_truncated BEFORE TRUNCATE ON service
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER routing_rule_not_truncated BEFORE TRUNCATE ON routing_rule
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER referral_not_truncated BEFORE TRUNCATE ON referral
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER household_not_truncated BEFORE TRUNCATE ON household
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER person_not_truncated BEFORE TRUNCATE ON person
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER referral_event_not_truncated BEFORE TRUNCATE ON referral_event
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();
CREATE TRIGGER duplicate_answer_not_truncated BEFORE TRUNCATE ON duplicate_answer
    FOR EACH STATEMENT EXECUTE FUNCTION row_is_kept();

ALTER TABLE referral
    DROP CONSTRAINT referral_center_code_fkey,
    DROP CONSTRAINT referral_service_code_fkey,
    DROP CONSTRAINT referral_office_code_fkey,
    DROP CONSTRAINT referral_routing_rule_id_fkey,
    DROP CONSTRAINT referral_household_fk;
ALTER TABLE referral_event
    DROP CONSTRAINT referral_event_center_code_fkey,
    DROP CONSTRAINT referral_event_office_code_fkey,
    DROP CONSTRAINT referral_event_referral_id_fkey;
ALTER TABLE household DROP CONSTRAINT household_center_code_fkey;
ALTER TABLE person DROP CONSTRAINT person_household_id_fkey;
ALTER TABLE duplicate_answer DROP CONSTRAINT duplicate_answer_referral_id_fkey;

DROP INDEX person_household_idx;
