-- 0012: deadlines that follow the owner (issue #14, point 5). The time to
-- accept a referral depends on who owns it: priority_sla is keyed by
-- priority and owner level (the office's kind: county or province). Every
-- deadline is counted for the office that owns the referral from that
-- moment on:
--   * a submission, for the office it is routed to (a routing rule may
--     send it straight to a province office);
--   * an escalation, for the province office, from the escalation (until
--     now the province office inherited the county's passed deadline, so
--     it was overdue the moment it got the referral);
--   * a forward, for the new owner (workers/wrk_update.c, "change").
-- No new per-referral write: the deadline is the same one column, written
-- by the same statements. The time a referral spent in each state is
-- derived from its history (referralctl report sla), not stored.

-- The owner levels, one vocabulary (as 0008's domains): office.kind and
-- priority_sla.level.
CREATE DOMAIN office_level AS text CHECK (VALUE IN ('county', 'province'));
ALTER TABLE office
    DROP CONSTRAINT office_kind_check,
    ADD CONSTRAINT office_kind_vocab CHECK (kind::office_level = kind) NOT VALID;
ALTER TABLE office VALIDATE CONSTRAINT office_kind_vocab;

-- The rows there were every owner's; they become the county level, the
-- usual owner. The default keeps an INSERT written for the old key
-- (priority, accept_within) meaning what it meant.
ALTER TABLE priority_sla ADD COLUMN level office_level NOT NULL DEFAULT 'county';
ALTER TABLE priority_sla
    DROP CONSTRAINT priority_sla_pkey,
    ADD CONSTRAINT priority_sla_pkey PRIMARY KEY (priority, level);
-- The province level starts as a copy of the county level, the
-- organisation's edits included (DOMAIN.md: the same times until the
-- organisation decides otherwise). A new database has no rows yet: the
-- seed (040_priorities.sql) writes both levels there.
INSERT INTO priority_sla (priority, level, accept_within)
SELECT priority, 'province', accept_within FROM priority_sla WHERE level = 'county'
ON CONFLICT (priority, level) DO NOTHING;

-- The time an owner of a level has to accept a referral of a priority:
-- its priority_sla row, else DOMAIN.md's default (routine's ten days).
-- submit_referrals joins priority_sla by the same rule, set-based.
CREATE FUNCTION accept_within_for(priority text, level text) RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT s.accept_within FROM priority_sla s
                     WHERE s.priority = accept_within_for.priority
                       AND s.level = accept_within_for.level),
                    default_accept_within())
$$;

-- The deadline, counted from now, for office owner (its code) to accept a
-- referral of a priority. An unknown office gets the default time.
CREATE FUNCTION accept_deadline_for(priority text, owner text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT now() + accept_within_for(accept_deadline_for.priority,
                                     (SELECT o.kind FROM office o
                                      WHERE o.code = accept_deadline_for.owner))
$$;

-- Referrals escalated before this migration and still waiting carry the
-- county's passed deadline: every one would be overdue for its province
-- office at once. They get the province's own, counted from the escalation.
UPDATE referral SET accept_deadline = escalated_at + accept_within_for(priority, 'province')
WHERE status IN ('requested', 'received') AND escalated_at IS NOT NULL;

-- 0008's one-argument form stays for callers that do not know the owner
-- (a worker of an older version during an upgrade): the county level.
CREATE OR REPLACE FUNCTION accept_deadline_for(priority text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT now() + accept_within_for(accept_deadline_for.priority, 'county')
$$;

-- As 0003, and the province office gets a deadline of its own, counted
-- from the escalation, by its level's time.
CREATE OR REPLACE FUNCTION escalate_overdue(max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        SELECT x.id, x.status, x.priority, x.office_code, x.center_code, x.accept_deadline,
               'PO-' || o.province_code AS province_office
        FROM referral x JOIN office o ON o.code = x.office_code
        WHERE x.status IN ('requested', 'received') AND x.escalated_at IS NULL
          AND x.accept_deadline < now() AND o.kind = 'county'
        ORDER BY x.accept_deadline
        LIMIT max_rows
        FOR UPDATE OF x SKIP LOCKED
    LOOP
        UPDATE referral SET office_code = r.province_office, escalated_at = now(),
                            accept_deadline = accept_deadline_for(r.priority, r.province_office),
                            version = version + 1, updated_at = now()
        WHERE referral.id = r.id;
        INSERT INTO referral_event (referral_id, from_status, to_status, actor, reason, kind,
                                    office_code, center_code)
        VALUES (r.id, r.status, r.status, 'system',
                'not accepted by ' || r.office_code || ' before ' ||
                to_char(r.accept_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
                ': escalated to ' || r.province_office,
                'escalate', r.province_office, r.center_code);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- The two submit functions of 0009, unchanged but for the deadline: the
-- owner's level's (the office the request is routed to).
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
    SELECT a.referral_id, a.duplicate, a.conflict INTO r_id, is_duplicate, why
    FROM stored_answer(p_request_id, p_center, p_national_id, p_household, p_service,
                       p_requested_priority, p_risk_flags, p_note) a;
    -- A race can end the open referral between our insert failing on it and
    -- our reading it: then insert again (a bounded number of times).
    FOR attempt IN 1..3 LOOP
        EXIT WHEN r_id IS NOT NULL;
        BEGIN
            -- The household first (the referral refers to it); a duplicate
            -- rolls this block back, household row included.
            INSERT INTO household AS h (id, center_code) VALUES (p_household, p_center)
            ON CONFLICT (id) DO NOTHING;
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
        INSERT INTO person AS p (national_id, household_id) VALUES (p_national_id, p_household)
        ON CONFLICT (national_id) DO UPDATE
            SET household_id = EXCLUDED.household_id, updated_at = now()
            WHERE p.household_id IS DISTINCT FROM EXCLUDED.household_id;
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

-- 0009 explains the passes. The deadline comes from a join (the same rule
-- as accept_within_for, set-based): one lookup per batch, not a function
-- call per referral, on the hot path.
CREATE OR REPLACE FUNCTION submit_referrals(
    p_request_id uuid[], p_center integer[], p_household text[], p_national_id text[],
    p_service text[], p_scope text[], p_domain text[], p_priority text[],
    p_requested_priority text[], p_risk_flags text[], p_note text[], p_office text[],
    p_rule integer[])
RETURNS SETOF submission_result
LANGUAGE plpgsql AS $$
DECLARE
    done_n integer[];  -- the requests answered so far
    new_n integer[];   -- inserted, with their referrals' ids and times
    new_id bigint[];
    new_ms bigint[];
    found_n integer[]; -- answered from a stored referral
    found_id bigint[];
    found_dup boolean[];
    found_why text[];
    unsettled integer[];
    i integer;
BEGIN
    PERFORM pg_advisory_xact_lock(k), pg_current_xact_id()
    FROM (SELECT DISTINCT hashtext(r::text) AS k FROM unnest(p_request_id) r ORDER BY 1) x;

    -- 1. Stored answers.
    SELECT coalesce(array_agg(q.n::integer), '{}'), array_agg(a.referral_id),
           array_agg(a.duplicate), array_agg(a.conflict)
    INTO found_n, found_id, found_dup, found_why
    FROM unnest(p_request_id, p_center, p_national_id, p_household, p_service,
                p_requested_priority, p_risk_flags, p_note)
        WITH ORDINALITY AS q(request_id, center, natid, household, service, requested, flags,
                             note, n)
    CROSS JOIN LATERAL stored_answer(q.request_id, q.center, q.natid, q.household, q.service,
                                     q.requested, string_to_array(q.flags, ','), q.note) a;
    RETURN QUERY SELECT * FROM stored_answers(found_n, found_id, found_dup, found_why);
    done_n := found_n;
    IF cardinality(done_n) = cardinality(p_request_id) THEN
        RETURN;
    END IF;

    -- 2. New referrals.
    WITH req AS (
        SELECT * FROM unnest(p_request_id, p_center, p_household, p_national_id, p_service,
                             p_scope, p_domain, p_priority, p_requested_priority, p_risk_flags,
                             p_note, p_office, p_rule)
            WITH ORDINALITY AS x(request_id, center, household, natid, service, scope, domain,
                                 priority, requested, flags, note, office, rule, n)
        WHERE x.n <> ALL (done_n)
    ), by_request AS (
        SELECT DISTINCT ON (request_id) * FROM req ORDER BY request_id, n
    ), by_need AS (
        SELECT DISTINCT ON (service, scope, CASE scope WHEN 'person' THEN natid ELSE household END)
               *
        FROM by_request
        ORDER BY service, scope, CASE scope WHEN 'person' THEN natid ELSE household END, n
    ), ins AS (
        INSERT INTO referral AS r (request_id, center_code, household_id, national_id,
                                   service_code, scope, domain, priority, requested_priority,
                                   risk_flags, note, consent, office_code, routing_rule_id,
                                   accept_deadline)
        SELECT q.request_id, q.center, q.household, q.natid, q.service, q.scope, q.domain,
               q.priority, q.requested, string_to_array(q.flags, ','), q.note, true, q.office,
               q.rule, now() + coalesce(sla.accept_within, default_accept_within())
        FROM by_need q
        LEFT JOIN office owner ON owner.code = q.office
        LEFT JOIN priority_sla sla ON sla.priority = q.priority AND sla.level = owner.kind
        ORDER BY q.n
        ON CONFLICT DO NOTHING
        RETURNING r.id, r.request_id, r.household_id, r.national_id, r.office_code,
                  r.center_code, r.created_at
    ), hh AS (
        INSERT INTO household AS h (id, center_code)
        SELECT DISTINCT ON (ins.household_id) ins.household_id, ins.center_code FROM ins
        ORDER BY ins.household_id, ins.id
        ON CONFLICT (id) DO NOTHING
    ), pp AS (
        -- A person belongs to the household of their latest referral.
        INSERT INTO person AS p (national_id, household_id)
        SELECT DISTINCT ON (ins.national_id) ins.national_id, ins.household_id FROM ins
        ORDER BY ins.national_id, ins.id DESC
        ON CONFLICT (national_id) DO UPDATE
            SET household_id = EXCLUDED.household_id, updated_at = now()
            WHERE p.household_id IS DISTINCT FROM EXCLUDED.household_id
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
           'requested'::text, v.ms, true, false, o.name_en, o.name_fa, 1, NULL::text
    FROM unnest(new_n, new_id, new_ms) AS v(n, id, ms) JOIN office o ON o.code = p_office[v.n];
    done_n := done_n || new_n;
    IF cardinality(done_n) = cardinality(p_request_id) THEN
        RETURN;
    END IF;

    -- 3. The same request earlier in this batch, or the need's open referral
    --    (a copy of a request in the batch is compared with its first copy).
    WITH look0 AS (
        SELECT q.n::integer AS n, q.request_id, q.center, q.household, q.natid, q.service,
               q.requested, q.flags, q.note, a.referral_id AS seen_id, a.conflict,
               open_referral_for(q.scope, q.natid, q.household, q.service) AS open_id
        FROM unnest(p_request_id, p_center, p_household, p_national_id, p_service, p_scope,
                    p_requested_priority, p_risk_flags, p_note)
            WITH ORDINALITY AS q(request_id, center, household, natid, service, scope,
                                 requested, flags, note, n)
        LEFT JOIN LATERAL stored_answer(q.request_id, q.center, q.natid, q.household, q.service,
                                        q.requested, string_to_array(q.flags, ','), q.note) a
            ON true
        WHERE q.n <> ALL (done_n)
    ), look AS (
        SELECT l.*,
               CASE WHEN l.seen_id IS NULL THEN
                   submission_conflict(first_value(l.center) OVER w, first_value(l.natid) OVER w,
                                       first_value(l.household) OVER w,
                                       first_value(l.service) OVER w,
                                       first_value(l.requested) OVER w,
                                       string_to_array(first_value(l.flags) OVER w, ','),
                                       first_value(l.note) OVER w, l.center, l.natid,
                                       l.household, l.service, l.requested,
                                       string_to_array(l.flags, ','), l.note)
               ELSE l.conflict END AS why
        FROM look0 l
        WINDOW w AS (PARTITION BY l.request_id ORDER BY l.n)
    ), dup AS (
        INSERT INTO duplicate_answer (request_id, referral_id, center_code, household_id,
                                      national_id, service_code, requested_priority, risk_flags,
                                      note)
        SELECT DISTINCT ON (l.request_id) l.request_id, l.open_id, l.center, l.household,
               l.natid, l.service, l.requested, string_to_array(l.flags, ','), l.note
        FROM look l WHERE l.seen_id IS NULL AND l.open_id IS NOT NULL
        ORDER BY l.request_id, l.n
        ON CONFLICT (request_id) DO NOTHING
    )
    SELECT array_agg(l.n) FILTER (WHERE coalesce(l.seen_id, l.open_id) IS NOT NULL),
           array_agg(coalesce(l.seen_id, l.open_id))
               FILTER (WHERE coalesce(l.seen_id, l.open_id) IS NOT NULL),
           array_agg(l.seen_id IS NULL) FILTER (WHERE coalesce(l.seen_id, l.open_id) IS NOT NULL),
           array_agg(l.why) FILTER (WHERE coalesce(l.seen_id, l.open_id) IS NOT NULL),
           coalesce(array_agg(l.n) FILTER (WHERE coalesce(l.seen_id, l.open_id) IS NULL), '{}')
    INTO found_n, found_id, found_dup, found_why, unsettled
    FROM look l;

    RETURN QUERY SELECT * FROM stored_answers(found_n, found_id, found_dup, found_why);

    -- 4. Races.
    FOREACH i IN ARRAY unsettled LOOP
        RETURN QUERY
        SELECT * FROM submit_referral(p_request_id[i], p_center[i], p_household[i],
                                      p_national_id[i], p_service[i], p_scope[i], p_domain[i],
                                      p_priority[i], p_requested_priority[i],
                                      string_to_array(p_risk_flags[i], ','), p_note[i],
                                      p_office[i], p_rule[i], i);
    END LOOP;
END
$$;

