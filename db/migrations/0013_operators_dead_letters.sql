-- 0013: operators and dead letters that explain themselves (issue 14).
--   * A dead letter keeps the database's cause (SQLSTATE and the primary
--     message with its values taken out, workers/wrk_pgcause.c: never a
--     row's personal data) and counts every failed delivery as an attempt
--     (the broker tells the worker how many came before).
--   * An operator ("operator:<name>") retries a dead letter on its center's
--     behalf: the referral's first event names the operator, and the dead
--     letter who retried it and when.

ALTER TABLE dead_letter
    ADD COLUMN sqlstate text CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
    ADD COLUMN cause text NOT NULL DEFAULT '',
    ADD COLUMN retried_by text,
    ADD COLUMN retried_at timestamptz;

-- As 0009's, with the attempts the call accounts for (the failed
-- deliveries) and the cause. The seven-argument form stays for workers of
-- 0.4 during an upgrade (it counts one attempt per call).
CREATE FUNCTION dead_letter_request(
    p_request_id uuid, p_center integer, p_domain text, p_service text, p_body bytea,
    p_code text, p_message text, p_attempts integer, p_sqlstate text, p_cause text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(p_request_id::text));
    IF EXISTS (SELECT 1 FROM referral WHERE request_id = p_request_id)
       OR EXISTS (SELECT 1 FROM duplicate_answer WHERE request_id = p_request_id) THEN
        RETURN false;
    END IF;
    INSERT INTO dead_letter (request_id, center_code, domain, service_code, body, error_code,
                             error_message, attempts, sqlstate, cause)
    VALUES (p_request_id, p_center, p_domain, p_service, p_body, p_code, p_message,
            greatest(p_attempts, 1), p_sqlstate, coalesce(p_cause, ''))
    ON CONFLICT (request_id) WHERE state = 'open' DO UPDATE
        SET attempts = dead_letter.attempts + EXCLUDED.attempts,
            error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
            sqlstate = EXCLUDED.sqlstate, cause = EXCLUDED.cause, updated_at = now();
    RETURN true;
END
$$;

-- An operator's retry (workers/wrk_record.c, wrk_store_retry) sets
-- referral.retry_actor for its transaction: the submission's event then
-- names the operator. The WHEN clause keeps the function off every other
-- insert (one setting lookup per submission).
CREATE FUNCTION referral_event_retry_actor() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    who text := current_setting('referral.retry_actor');
BEGIN
    IF who !~ '^operator:[a-z0-9][a-z0-9._-]{0,13}$' THEN
        RAISE EXCEPTION 'referral.retry_actor must name an operator'
            USING ERRCODE = 'object_not_in_prerequisite_state'; -- a setup fault: not a dead letter
    END IF;
    NEW.actor := who;
    NEW.reason := 'submitted: dead letter retried on behalf of center:' || NEW.center_code;
    RETURN NEW;
END
$$;
CREATE TRIGGER referral_event_retry_actor BEFORE INSERT ON referral_event FOR EACH ROW
    WHEN (NEW.kind = 'submit' AND coalesce(current_setting('referral.retry_actor', true), '') <> '')
    EXECUTE FUNCTION referral_event_retry_actor();
