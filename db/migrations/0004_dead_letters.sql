-- 0004: requests that could not be processed, kept with the error they
-- hit, for operators to read, retry or drop (referralctl dead-letters).
-- The body is the center's request as it came (personal data: it stays in
-- the database like the referral would have).
CREATE TABLE dead_letter (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id    uuid NOT NULL,
    center_code   integer,
    domain        text NOT NULL CHECK (domain IN ('prevention', 'rehabilitation', 'social')),
    service_code  text NOT NULL DEFAULT '',
    body          bytea NOT NULL,
    error_code    text NOT NULL,
    error_message text NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'retried', 'dropped')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- One open dead letter per request: a center's retries count as attempts.
CREATE UNIQUE INDEX dead_letter_open_request ON dead_letter (request_id) WHERE state = 'open';
CREATE INDEX dead_letter_state_idx ON dead_letter (state, id);

-- A request is either recorded or dead-lettered, never both: both paths take
-- the request's transaction lock, and the dead-letter path checks for the
-- referral after taking it (a new statement, so a fresh snapshot).
CREATE FUNCTION dead_letter_request(
    p_request_id uuid, p_center integer, p_domain text, p_service text, p_body bytea,
    p_code text, p_message text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(p_request_id::text));
    IF EXISTS (SELECT 1 FROM referral WHERE request_id = p_request_id) THEN
        RETURN false;
    END IF;
    INSERT INTO dead_letter (request_id, center_code, domain, service_code, body, error_code,
                             error_message)
    VALUES (p_request_id, p_center, p_domain, p_service, p_body, p_code, p_message)
    ON CONFLICT (request_id) WHERE state = 'open' DO UPDATE
        SET attempts = dead_letter.attempts + 1, error_code = EXCLUDED.error_code,
            error_message = EXCLUDED.error_message, updated_at = now();
    RETURN true;
END
$$;

-- submit_referral of 0003, now taking the request's lock first.
CREATE OR REPLACE FUNCTION submit_referral(
    p_request_id uuid, p_center integer, p_household text, p_national_id text,
    p_service text, p_domain text, p_priority text, p_requested_priority text,
    p_risk_flags text[], p_note text, p_office text, p_rule integer)
RETURNS TABLE (id bigint, center_code integer, household_id text, service_code text,
               office_code text, status text, created_ms bigint, inserted boolean,
               duplicate boolean, office_name_en text, office_name_fa text, version integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r referral%ROWTYPE;
    r_id bigint;
    was_inserted boolean;
    is_duplicate boolean := false;
BEGIN
    -- The request's lock: a dead-letter of the same request waits for us.
    PERFORM pg_advisory_xact_lock(hashtext(p_request_id::text));
    INSERT INTO household AS h (id, center_code) VALUES (p_household, p_center)
    ON CONFLICT (id) DO NOTHING;
    INSERT INTO person AS p (national_id, household_id) VALUES (p_national_id, p_household)
    ON CONFLICT (national_id) DO UPDATE SET household_id = EXCLUDED.household_id, updated_at = now()
        WHERE p.household_id IS DISTINCT FROM EXCLUDED.household_id;
    -- A race can end the open referral between our insert failing on it and
    -- our reading it: then insert again (a bounded number of times).
    FOR attempt IN 1..3 LOOP
        BEGIN
            INSERT INTO referral AS x (request_id, center_code, household_id, national_id,
                                       service_code, domain, priority, requested_priority,
                                       risk_flags, note, consent, office_code, routing_rule_id,
                                       accept_deadline)
            VALUES (p_request_id, p_center, p_household, p_national_id, p_service, p_domain,
                    p_priority, p_requested_priority, p_risk_flags, p_note, true, p_office, p_rule,
                    now() + coalesce((SELECT accept_within FROM priority_sla s
                                      WHERE s.priority = p_priority), interval '10 days'))
            ON CONFLICT (request_id) DO UPDATE SET request_id = EXCLUDED.request_id
            RETURNING x.id, (x.xmax = 0) INTO r_id, was_inserted;
            SELECT x.* INTO STRICT r FROM referral x WHERE x.id = r_id;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- Only the open-referral index can fail here: request_id
            -- conflicts are taken by ON CONFLICT.
            SELECT x.* INTO r FROM referral x
            WHERE x.household_id = p_household AND x.service_code = p_service
              AND x.status NOT IN ('completed', 'rejected', 'failed', 'cancelled');
            IF FOUND THEN
                was_inserted := false;
                is_duplicate := true;
                EXIT;
            END IF;
            IF attempt = 3 THEN
                RAISE EXCEPTION 'open referral for household and service keeps changing'
                    USING ERRCODE = 'serialization_failure';
            END IF;
        END;
    END LOOP;
    IF was_inserted THEN
        INSERT INTO referral_event (referral_id, from_status, to_status, actor, reason, kind,
                                    office_code, center_code)
        VALUES (r.id, NULL, 'requested', 'center:' || p_center, 'submitted', 'submit', r.office_code,
                r.center_code);
    END IF;
    RETURN QUERY
    SELECT r.id, r.center_code, r.household_id, r.service_code, r.office_code, r.status,
           (extract(epoch FROM r.created_at) * 1000)::bigint, was_inserted, is_duplicate,
           o.name_en, o.name_fa, r.version
    FROM office o WHERE o.code = r.office_code;
END
$$;
