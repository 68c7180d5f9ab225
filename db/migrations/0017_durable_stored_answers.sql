-- 0017: an answer from storage waits for the synchronous standby (issue 17).
-- PostgreSQL makes a COMMIT wait for its synchronous standbys only when the
-- transaction wrote WAL. A retry answered wholly from stored answers writes
-- none, so its COMMIT returned at once, and the worker acknowledged. Yet the
-- row it answered from may be on the primary alone: a referral's first
-- COMMIT is visible to other sessions as soon as it is in the primary's WAL,
-- while its own session still waits for the standby. Kill the primary then,
-- promote the standby, and a referral the center was told about is gone.
-- (Reproduced on the pg_auto_failover formation: the standby's WAL receiver
-- stopped, a new request waited, a resent one was answered in 65 ms.)
-- A transactional logical message is a WAL record after the stored row's
-- commit record, so this transaction's COMMIT now waits until the standby
-- has both. It costs one small record per batch that has a retry in it;
-- batches that insert or record a duplicate answer write WAL anyway.
-- Status changes need nothing: a retried update_id is found under the
-- referral's row lock (SELECT ... FOR UPDATE writes WAL).

CREATE FUNCTION answer_from_storage_is_durable() RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_logical_emit_message(true, 'referral', 'answered from storage');
END
$$;

-- As 0009's, for submit_referrals: now volatile, and it writes WAL when
-- it answers anything.
CREATE OR REPLACE FUNCTION stored_answers(p_n integer[], p_id bigint[], p_dup boolean[],
                                          p_why text[])
RETURNS SETOF submission_result
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF cardinality(p_n) > 0 THEN
        PERFORM answer_from_storage_is_durable();
    END IF;
    RETURN QUERY
    SELECT v.n::bigint, x.id, x.center_code, x.household_id, x.service_code, x.office_code,
           x.status::text, (extract(epoch FROM x.created_at) * 1000)::bigint, false, v.dup,
           o.name_en, o.name_fa, x.version, v.why
    FROM unnest(p_n, p_id, p_dup, p_why) AS v(n, id, dup, why)
    JOIN referral x ON x.id = v.id JOIN office o ON o.code = x.office_code;
END
$$;

-- As 0016's, for the one-request form: the same when it answers from storage.
CREATE OR REPLACE FUNCTION submit_referral(
    p_request_id uuid, p_center integer, p_household text, p_national_id text,
    p_service text, p_scope text, p_domain text, p_priority text, p_requested_priority text,
    p_risk_flags text[], p_note text, p_office text, p_rule integer, p_ord bigint DEFAULT 1)
RETURNS SETOF submission_result
LANGUAGE plpgsql AS $$
DECLARE
    r_id bigint;
    is_duplicate boolean := false;
    was_inserted boolean := false;
    why text;
BEGIN
    -- The request's lock: a dead-letter of the same request waits for us.
    PERFORM pg_advisory_xact_lock(hashtext(p_request_id::text));
    PERFORM pg_advisory_xact_lock(need_lock_space(),
                                  need_lock_key(p_scope, p_national_id, p_household, p_service));
    SELECT a.referral_id, a.duplicate, a.conflict INTO r_id, is_duplicate, why
    FROM stored_answer(p_request_id, p_center, p_national_id, p_household, p_service,
                       p_requested_priority, p_risk_flags, p_note) a;
    IF r_id IS NOT NULL THEN
        PERFORM answer_from_storage_is_durable();
    END IF;
    -- A race can end the open referral between our insert failing on it and
    -- our reading it: then insert again (a bounded number of times).
    FOR attempt IN 1..3 LOOP
        EXIT WHEN r_id IS NOT NULL;
        BEGIN
            INSERT INTO referral AS x (request_id, center_code, household_id, national_id,
                                       service_code, scope, domain, priority, requested_priority,
                                       risk_flags, note, consent, office_code, routing_rule_id,
                                       accept_deadline)
            VALUES (p_request_id, p_center, p_household, p_national_id, p_service, p_scope,
                    p_domain, p_priority, p_requested_priority, p_risk_flags, p_note, true,
                    p_office, p_rule, accept_deadline_for(p_priority, p_office))
            RETURNING x.id INTO r_id;
            was_inserted := true;
        EXCEPTION WHEN unique_violation THEN
            -- Only the open-referral indexes can fail here: the request's
            -- lock is held and it had no stored answer.
            r_id := open_referral_for(p_scope, p_national_id, p_household, p_service);
            IF r_id IS NOT NULL THEN
                is_duplicate := true;
                INSERT INTO duplicate_answer (request_id, referral_id, center_code, household_id,
                                              national_id, service_code, requested_priority,
                                              risk_flags, note)
                VALUES (p_request_id, r_id, p_center, p_household, p_national_id, p_service,
                        p_requested_priority, p_risk_flags, p_note);
            ELSIF attempt = 3 THEN
                RAISE EXCEPTION 'open referral for this need keeps changing'
                    USING ERRCODE = 'serialization_failure';
            END IF;
        END;
    END LOOP;
    IF was_inserted THEN
        INSERT INTO referral_event (referral_id, from_status, to_status, actor, reason, kind,
                                    office_code, center_code)
        VALUES (r_id, NULL, 'requested', 'center:' || p_center, 'submitted', 'submit', p_office,
                p_center);
    END IF;
    RETURN QUERY
    SELECT p_ord, x.id, x.center_code, x.household_id, x.service_code, x.office_code,
           x.status::text, (extract(epoch FROM x.created_at) * 1000)::bigint, was_inserted,
           is_duplicate, o.name_en, o.name_fa, x.version, why
    FROM referral x JOIN office o ON o.code = x.office_code WHERE x.id = r_id;
END
$$;
