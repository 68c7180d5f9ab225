-- 0008: one owner for each vocabulary. The names the C code shares with the
-- wire (common/rr_vocab.c) were repeated as a CHECK list on every column
-- holding them, the closed states in every query asking whether a referral
-- is open, the default acceptance time in three statements, and the twelve
-- columns a submission answers with in two functions. Each is now defined
-- once:
--   domains service_domain, priority_level, referral_state, event_kind;
--   referral_is_open(status), the one definition of "open" (the partial
--     unique index that forbids parallel referrals uses it too);
--   default_accept_within(), the one default SLA, and
--     accept_deadline_for(priority), a deadline from priority_sla;
--   type submission_result, what submit_referral(s) return.
-- No table is rewritten: the columns stay text, checked against the
-- domains (the rows are scanned once), so the upgrade locks each table only
-- for a scan.

CREATE DOMAIN service_domain AS text
    CHECK (VALUE IN ('prevention', 'rehabilitation', 'social'));
CREATE DOMAIN priority_level AS text
    CHECK (VALUE IN ('routine', 'urgent', 'asap', 'stat'));
CREATE DOMAIN referral_state AS text
    CHECK (VALUE IN ('requested', 'received', 'accepted', 'in-progress', 'on-hold',
                     'completed', 'rejected', 'failed', 'cancelled'));
CREATE DOMAIN event_kind AS text
    CHECK (VALUE IN ('submit', 'claim', 'accept', 'reject', 'start', 'pause', 'resume',
                     'complete', 'fail', 'withdraw', 'cancel', 'forward', 'escalate'));

-- Open: every state but the four final ones (DOMAIN.md; rr_ref_state_final
-- in common/rr_lifecycle.c is the same list). A simple SQL function: the
-- planner inlines it, in queries and in index predicates alike, so a query
-- saying referral_is_open(status) can use the partial index below.
CREATE FUNCTION referral_is_open(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status NOT IN ('completed', 'rejected', 'failed', 'cancelled')
$$;

-- The acceptance time of a priority priority_sla does not list (DOMAIN.md:
-- routine's ten days), and the deadline of a priority counted from now.
CREATE FUNCTION default_accept_within() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT interval '10 days'
$$;
CREATE FUNCTION accept_deadline_for(priority text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT now() + coalesce((SELECT s.accept_within FROM priority_sla s
                             WHERE s.priority = accept_deadline_for.priority),
                            default_accept_within())
$$;

-- Each column keeps its type and checks its value against its domain. A
-- change of type to the domain would have rewritten the tables, the whole
-- event history included, under an exclusive lock; a check added NOT VALID
-- and then validated is one scan, and the old CHECKs it replaces held the
-- same vocabulary.
ALTER TABLE service
    DROP CONSTRAINT service_domain_check,
    ADD CONSTRAINT service_domain_vocab CHECK (domain::service_domain = domain) NOT VALID;
ALTER TABLE routing_rule
    DROP CONSTRAINT routing_rule_priority_check,
    ADD CONSTRAINT routing_rule_priority_vocab CHECK (priority::priority_level = priority) NOT VALID;
ALTER TABLE priority_sla
    DROP CONSTRAINT priority_sla_priority_check,
    ADD CONSTRAINT priority_sla_priority_vocab CHECK (priority::priority_level = priority) NOT VALID;
ALTER TABLE risk_priority_rule
    DROP CONSTRAINT risk_priority_rule_min_priority_check,
    ADD CONSTRAINT risk_priority_rule_min_priority_vocab
        CHECK (min_priority::priority_level = min_priority) NOT VALID;
ALTER TABLE dead_letter
    DROP CONSTRAINT dead_letter_domain_check,
    ADD CONSTRAINT dead_letter_domain_vocab CHECK (domain::service_domain = domain) NOT VALID;
ALTER TABLE referral
    DROP CONSTRAINT referral_domain_check,
    DROP CONSTRAINT referral_priority_check,
    DROP CONSTRAINT referral_requested_priority_check,
    DROP CONSTRAINT referral_status_check,
    ADD CONSTRAINT referral_domain_vocab CHECK (domain::service_domain = domain) NOT VALID,
    ADD CONSTRAINT referral_priority_vocab CHECK (priority::priority_level = priority) NOT VALID,
    ADD CONSTRAINT referral_requested_priority_vocab
        CHECK (requested_priority::priority_level = requested_priority) NOT VALID,
    ADD CONSTRAINT referral_status_vocab CHECK (status::referral_state = status) NOT VALID;
-- Events' states were unchecked until now.
ALTER TABLE referral_event
    DROP CONSTRAINT referral_event_kind_check,
    ADD CONSTRAINT referral_event_kind_vocab CHECK (kind::event_kind = kind) NOT VALID,
    ADD CONSTRAINT referral_event_from_vocab
        CHECK (from_status::referral_state = from_status) NOT VALID,
    ADD CONSTRAINT referral_event_to_vocab CHECK (to_status::referral_state = to_status) NOT VALID;
ALTER TABLE service VALIDATE CONSTRAINT service_domain_vocab;
ALTER TABLE routing_rule VALIDATE CONSTRAINT routing_rule_priority_vocab;
ALTER TABLE priority_sla VALIDATE CONSTRAINT priority_sla_priority_vocab;
ALTER TABLE risk_priority_rule VALIDATE CONSTRAINT risk_priority_rule_min_priority_vocab;
ALTER TABLE dead_letter VALIDATE CONSTRAINT dead_letter_domain_vocab;
ALTER TABLE referral VALIDATE CONSTRAINT referral_domain_vocab,
    VALIDATE CONSTRAINT referral_priority_vocab,
    VALIDATE CONSTRAINT referral_requested_priority_vocab,
    VALIDATE CONSTRAINT referral_status_vocab;
ALTER TABLE referral_event VALIDATE CONSTRAINT referral_event_kind_vocab,
    VALIDATE CONSTRAINT referral_event_from_vocab,
    VALIDATE CONSTRAINT referral_event_to_vocab;

-- Texts the workers carry in fixed room (proto/rr_wire.h): longer ones
-- are refused here rather than cut on the way out.
ALTER TABLE office ADD CONSTRAINT office_names_fit
    CHECK (octet_length(name_en) <= 255 AND octet_length(name_fa) <= 255);
ALTER TABLE referral_event ADD CONSTRAINT referral_event_reason_fits
    CHECK (octet_length(reason) <= 1000);

DROP INDEX referral_open_per_household_service;
CREATE UNIQUE INDEX referral_open_per_household_service ON referral (household_id, service_code)
    WHERE referral_is_open(status);

-- What a submission answers with, in the order the workers read it
-- (workers/wrk_record.c): ord numbers the requests of a batch (1 for one).
CREATE TYPE submission_result AS (
    ord            bigint,
    id             bigint,
    center_code    integer,
    household_id   text,
    service_code   text,
    office_code    text,
    status         text,
    created_ms     bigint,
    inserted       boolean,
    duplicate      boolean,
    office_name_en text,
    office_name_fa text,
    version        integer
);

DROP FUNCTION submit_referrals(uuid[], integer[], text[], text[], text[], text[], text[], text[],
                               text[], text[], text[], integer[]);
DROP FUNCTION submit_referral(uuid, integer, text, text, text, text, text, text, text[], text,
                              text, integer);

-- As in 0003, answering as request p_ord of a batch.
CREATE FUNCTION submit_referral(
    p_request_id uuid, p_center integer, p_household text, p_national_id text,
    p_service text, p_domain text, p_priority text, p_requested_priority text,
    p_risk_flags text[], p_note text, p_office text, p_rule integer, p_ord bigint DEFAULT 1)
RETURNS SETOF submission_result
LANGUAGE plpgsql AS $$
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
                    accept_deadline_for(p_priority))
            ON CONFLICT (request_id) DO UPDATE SET request_id = EXCLUDED.request_id
            RETURNING x.id, (x.xmax = 0) INTO r_id, was_inserted;
            SELECT x.* INTO STRICT r FROM referral x WHERE x.id = r_id;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- Only the open-referral index can fail here: request_id
            -- conflicts are taken by ON CONFLICT.
            SELECT x.* INTO r FROM referral x
            WHERE x.household_id = p_household AND x.service_code = p_service
              AND referral_is_open(x.status);
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
    SELECT p_ord, r.id, r.center_code, r.household_id, r.service_code, r.office_code,
           r.status::text, (extract(epoch FROM r.created_at) * 1000)::bigint, was_inserted,
           is_duplicate, o.name_en, o.name_fa, r.version
    FROM office o WHERE o.code = r.office_code;
END
$$;

-- As in 0006 (which explains the passes), returning submission_result.
CREATE FUNCTION submit_referrals(
    p_request_id uuid[], p_center integer[], p_household text[], p_national_id text[],
    p_service text[], p_domain text[], p_priority text[], p_requested_priority text[],
    p_risk_flags text[], p_note text[], p_office text[], p_rule integer[])
RETURNS SETOF submission_result
LANGUAGE plpgsql AS $$
DECLARE
    new_n integer[];   -- the requests inserted, and their referrals' ids and times
    new_id bigint[];
    new_ms bigint[];
    found_n integer[]; -- the others: the stored referral each one names
    found_id bigint[];
    found_dup boolean[];
    unsettled integer[]; -- left to submit_referral
    i integer;
BEGIN
    PERFORM pg_advisory_xact_lock(k), pg_current_xact_id()
    FROM (SELECT DISTINCT hashtext(r::text) AS k FROM unnest(p_request_id) r ORDER BY 1) x;

    WITH req AS (
        SELECT * FROM unnest(p_request_id, p_center, p_household, p_national_id, p_service,
                             p_domain, p_priority, p_requested_priority, p_risk_flags, p_note,
                             p_office, p_rule)
            WITH ORDINALITY AS x(request_id, center, household, natid, service, domain, priority,
                                 requested, flags, note, office, rule, n)
    ), hh AS (
        INSERT INTO household AS h (id, center_code)
        SELECT DISTINCT ON (q.household) q.household, q.center FROM req q
        ORDER BY q.household, q.n
        ON CONFLICT (id) DO NOTHING
    ), pp AS (
        INSERT INTO person AS p (national_id, household_id)
        SELECT DISTINCT ON (q.natid) q.natid, q.household FROM req q
        ORDER BY q.natid, q.n DESC
        ON CONFLICT (national_id) DO UPDATE
            SET household_id = EXCLUDED.household_id, updated_at = now()
            WHERE p.household_id IS DISTINCT FROM EXCLUDED.household_id
    ), by_request AS (
        SELECT DISTINCT ON (request_id) * FROM req ORDER BY request_id, n
    ), by_need AS (
        SELECT DISTINCT ON (household, service) * FROM by_request ORDER BY household, service, n
    ), ins AS (
        INSERT INTO referral AS r (request_id, center_code, household_id, national_id,
                                   service_code, domain, priority, requested_priority,
                                   risk_flags, note, consent, office_code, routing_rule_id,
                                   accept_deadline)
        SELECT q.request_id, q.center, q.household, q.natid, q.service, q.domain, q.priority,
               q.requested, string_to_array(q.flags, ','), q.note, true, q.office, q.rule,
               now() + coalesce(sla.accept_within, default_accept_within())
        FROM by_need q LEFT JOIN priority_sla sla ON sla.priority = q.priority
        ORDER BY q.n
        ON CONFLICT DO NOTHING
        RETURNING r.id, r.request_id, r.office_code, r.center_code, r.created_at
    ), ev AS (
        INSERT INTO referral_event (referral_id, from_status, to_status, actor, reason, kind,
                                    office_code, center_code)
        SELECT ins.id, NULL, 'requested', 'center:' || ins.center_code, 'submitted', 'submit',
               ins.office_code, ins.center_code
        FROM ins ORDER BY ins.id
    )
    SELECT coalesce(array_agg(q.n::integer), '{}'), array_agg(ins.id),
           array_agg((extract(epoch FROM ins.created_at) * 1000)::bigint)
    INTO new_n, new_id, new_ms
    FROM ins JOIN by_need q ON q.request_id = ins.request_id;

    RETURN QUERY
    SELECT v.n::bigint, v.id, p_center[v.n], p_household[v.n], p_service[v.n], p_office[v.n],
           'requested'::text, v.ms, true, false, o.name_en, o.name_fa, 1
    FROM unnest(new_n, new_id, new_ms) AS v(n, id, ms) JOIN office o ON o.code = p_office[v.n];
    IF cardinality(new_n) = cardinality(p_request_id) THEN
        RETURN;
    END IF;

    WITH look AS (
        SELECT q.n::integer AS n, f.id, f.request_id <> q.request_id AS dup
        FROM unnest(p_request_id, p_household, p_service)
            WITH ORDINALITY AS q(request_id, household, service, n)
        LEFT JOIN LATERAL (
            (SELECT x.id, x.request_id FROM referral x WHERE x.request_id = q.request_id)
            UNION ALL
            (SELECT x.id, x.request_id FROM referral x
             WHERE x.household_id = q.household AND x.service_code = q.service
               AND referral_is_open(x.status))
            LIMIT 1) f ON true
        WHERE q.n <> ALL (new_n)
    )
    SELECT array_agg(n) FILTER (WHERE id IS NOT NULL), array_agg(id) FILTER (WHERE id IS NOT NULL),
           array_agg(dup) FILTER (WHERE id IS NOT NULL),
           coalesce(array_agg(n) FILTER (WHERE id IS NULL), '{}')
    INTO found_n, found_id, found_dup, unsettled
    FROM look;

    RETURN QUERY
    SELECT v.n::bigint, x.id, x.center_code, x.household_id, x.service_code, x.office_code,
           x.status::text, (extract(epoch FROM x.created_at) * 1000)::bigint, false, v.dup,
           o.name_en, o.name_fa, x.version
    FROM unnest(found_n, found_id, found_dup) AS v(n, id, dup)
    JOIN referral x ON x.id = v.id JOIN office o ON o.code = x.office_code;

    FOREACH i IN ARRAY unsettled LOOP
        RETURN QUERY
        SELECT * FROM submit_referral(p_request_id[i], p_center[i], p_household[i],
                                      p_national_id[i], p_service[i], p_domain[i], p_priority[i],
                                      p_requested_priority[i],
                                      string_to_array(p_risk_flags[i], ','), p_note[i],
                                      p_office[i], p_rule[i], i);
    END LOOP;
END
$$;
