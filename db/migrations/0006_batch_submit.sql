-- 0006: a worker's whole batch of submissions in a few set-based
-- statements. submit_referral (0003) does eight statements per request in
-- PL/pgSQL, and the executor's start-up for each of them (check constraints
-- parsed again, plans looked up, a subtransaction for its EXCEPTION block)
-- cost more than the rows: a batch of 32 paid that 32 times.
--
-- submit_referrals takes the batch as parallel arrays (element i of every
-- array is request i, risk flags comma-joined) and returns one row per
-- request, numbered by ord (1-based, the arrays' order; rows come in no
-- particular order, so the caller sorts on ord), with
-- submit_referral's columns and meanings:
--   a new request is inserted with its first event;
--   a retry (request_id already stored, or repeated within the batch)
--     returns the stored row, inserted = false;
--   a request for a household and service with an open referral returns
--     that referral, duplicate = true (within the batch, the first request
--     for a household and service is the one inserted).
-- Whatever the set-based pass cannot settle (say, the open referral it
-- collided with was closed before it looked) goes through submit_referral,
-- in the same transaction. Like submit_referral it resolves names through
-- the caller's search_path (workers pin it to referral), and it is meant
-- for generic plans (workers set plan_cache_mode): a SET clause here would
-- cost more per call than a small batch's rows.
CREATE FUNCTION submit_referrals(
    p_request_id uuid[], p_center integer[], p_household text[], p_national_id text[],
    p_service text[], p_domain text[], p_priority text[], p_requested_priority text[],
    p_risk_flags text[], p_note text[], p_office text[], p_rule integer[])
RETURNS TABLE (ord bigint, id bigint, center_code integer, household_id text,
               service_code text, office_code text, status text, created_ms bigint,
               inserted boolean, office_name_en text, office_name_fa text, duplicate boolean,
               version integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
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
    -- The requests' locks (see dead_letter_request), in one order so that
    -- two batches sharing requests cannot deadlock on them. A batch of
    -- retries alone writes no row: a transaction id makes its COMMIT wait
    -- for the WAL flush all the same, so nothing is acknowledged before it
    -- is durable.
    PERFORM pg_advisory_xact_lock(k), pg_current_xact_id()
    FROM (SELECT DISTINCT hashtext(r::text) AS k FROM unnest(p_request_id) r ORDER BY 1) x;

    -- Every row in one statement (foreign keys are checked at its end). The
    -- referral is inserted for the first request of each request_id, then
    -- of each household and service; a conflict with a stored row (either
    -- unique index) skips it, and the lookup below says why. A person
    -- belongs to the household of their latest request.
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
               now() + coalesce(sla.accept_within, interval '10 days')
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
           'requested'::text, v.ms, true, o.name_en, o.name_fa, false, 1
    FROM unnest(new_n, new_id, new_ms) AS v(n, id, ms) JOIN office o ON o.code = p_office[v.n];
    IF cardinality(new_n) = cardinality(p_request_id) THEN
        RETURN;
    END IF;

    -- The rest are retries and duplicates. A new statement, so a new
    -- snapshot: it sees the rows of concurrent transactions our inserts
    -- waited for and skipped. Each request finds its own row by
    -- request_id, else the open referral it duplicates.
    WITH look AS (
        SELECT q.n::integer AS n, f.id, f.request_id <> q.request_id AS dup
        FROM unnest(p_request_id, p_household, p_service)
            WITH ORDINALITY AS q(request_id, household, service, n)
        LEFT JOIN LATERAL (
            (SELECT x.id, x.request_id FROM referral x WHERE x.request_id = q.request_id)
            UNION ALL
            (SELECT x.id, x.request_id FROM referral x
             WHERE x.household_id = q.household AND x.service_code = q.service
               AND x.status NOT IN ('completed', 'rejected', 'failed', 'cancelled'))
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
           x.status, (extract(epoch FROM x.created_at) * 1000)::bigint, false, o.name_en,
           o.name_fa, v.dup, x.version
    FROM unnest(found_n, found_id, found_dup) AS v(n, id, dup)
    JOIN referral x ON x.id = v.id JOIN office o ON o.code = x.office_code;

    FOREACH i IN ARRAY unsettled LOOP
        RETURN QUERY
        SELECT i::bigint, s.id, s.center_code, s.household_id, s.service_code, s.office_code,
               s.status, s.created_ms, s.inserted, s.office_name_en, s.office_name_fa,
               s.duplicate, s.version
        FROM submit_referral(p_request_id[i], p_center[i], p_household[i], p_national_id[i],
                             p_service[i], p_domain[i], p_priority[i], p_requested_priority[i],
                             string_to_array(p_risk_flags[i], ','), p_note[i], p_office[i],
                             p_rule[i]) s;
    END LOOP;
END
$$;
