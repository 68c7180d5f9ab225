-- 0016: a new referral is inserted with one probe of each unique index, not
-- two (issue 15). `INSERT ... ON CONFLICT DO NOTHING` checks every unique
-- index before the insert (the primary key, request_id, the row's
-- open-need index) and again while inserting, and confirms each row with a
-- WAL record of its own. Both conflicts it guarded against are already
-- excluded under locks:
--   * the same request_id: submit_referrals holds the request's lock and
--     looked up its stored answer first;
--   * an open referral for the same need: each need now has a lock too
--     (need_lock_key), taken after the requests' locks by every function
--     that inserts a referral, and the batch's insert skips a need whose
--     open referral it can see (one probe of that need's partial index).
-- So the insert is plain. The unique indexes stay as the rule's guard: a
-- path that inserted without the locks would get an error, never a second
-- referral. Lock order everywhere: requests' locks (sorted), then needs'
-- locks (sorted), so no two submissions wait for each other in a circle.

-- The key of a need's lock (pg_advisory_xact_lock(need_lock_space(), key)):
-- the two-key form, whose keys never meet the one-key request locks.
CREATE FUNCTION need_lock_space() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 7240118 $$;

CREATE FUNCTION need_lock_key(p_scope text, p_natid text, p_household text, p_service text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtext(p_service || CASE p_scope WHEN 'person' THEN '/p/' || p_natid
                                               ELSE '/h/' || p_household END)
$$;

-- As 0015's, with the need's lock after the request's.
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

-- As 0015's: the needs' locks after the requests', and a plain insert of
-- the requests whose need has no open referral (pass 2).
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
    PERFORM pg_advisory_xact_lock(need_lock_space(), k)
    FROM (SELECT DISTINCT need_lock_key(s, p, h, v) AS k
          FROM unnest(p_scope, p_national_id, p_household, p_service) AS u(s, p, h, v)
          ORDER BY 1) x;

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

    -- 2. New referrals: a need's first request in the batch, when the need
    --    has no open referral (its lock is held: none can appear).
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
    ), fresh AS (
        -- CASE, not two NOT EXISTS joins: each row probes only its own
        -- scope's partial index.
        SELECT q.* FROM by_need q
        WHERE CASE q.scope
              WHEN 'person' THEN
                  NOT EXISTS (SELECT 1 FROM referral x
                              WHERE x.scope = 'person' AND referral_is_open(x.status)
                                AND x.national_id = q.natid::char(10)
                                AND x.service_code = q.service)
              ELSE
                  NOT EXISTS (SELECT 1 FROM referral x
                              WHERE x.scope = 'household' AND referral_is_open(x.status)
                                AND x.household_id = q.household
                                AND x.service_code = q.service)
              END
    ), ins AS (
        INSERT INTO referral AS r (request_id, center_code, household_id, national_id,
                                   service_code, scope, domain, priority, requested_priority,
                                   risk_flags, note, consent, office_code, routing_rule_id,
                                   accept_deadline)
        SELECT q.request_id, q.center, q.household, q.natid, q.service, q.scope, q.domain,
               q.priority, q.requested, string_to_array(q.flags, ','), q.note, true, q.office,
               q.rule, now() + coalesce(sla.accept_within, default_accept_within())
        FROM fresh q
        LEFT JOIN office owner ON owner.code = q.office
        LEFT JOIN priority_sla sla ON sla.priority = q.priority AND sla.level = owner.kind
        ORDER BY q.n
        RETURNING r.id, r.request_id, r.household_id, r.national_id, r.office_code,
                  r.center_code, r.created_at
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

    -- 4. Races: an open referral closed between pass 2 and pass 3.
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
