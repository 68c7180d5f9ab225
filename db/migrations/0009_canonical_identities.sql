-- 0009: one household, one file, as people really type.
--   * Household ids are kept in canonical form (canonical_text: the one
--     function of common/rr_text.c, declared by `referralctl migrate` from
--     db/ext). Spellings that become equal are merged into one household,
--     keeping every referral and its history; each old spelling is kept in
--     household_spelling. Centers' neighbourhoods get a canonical key.
--   * Who a service is for: service.scope, 'person' or 'household'. No
--     parallel work means one open referral per (national id, service) for
--     person-level services, across households, and one per (household,
--     service) for household-level ones. Referrals open in parallel under
--     these rules (spellings merged, one person in two households) are
--     settled as 0003 settled them: the oldest stays open, each later one
--     is cancelled with an event naming it.
--   * Answers that stay true: a duplicate answer is recorded with its
--     request (duplicate_answer), so a retry gets the same answer after the
--     referral it names has closed, and a request_id reused with other
--     content is told which field differs (submission_result.conflict).
--   * A refused or duplicate request changes nothing: households and
--     persons are written only for referrals inserted.

-- Who a service is for (DOMAIN.md). Seeds name it for new databases; this
-- sets it for a catalogue seeded before.
ALTER TABLE service ADD COLUMN scope text NOT NULL DEFAULT 'person'
    CHECK (scope IN ('person', 'household'));
UPDATE service SET scope = 'household'
WHERE code IN ('SOC-01', 'SOC-02', 'SOC-03', 'SOC-04', 'SOC-05', 'SOC-06', 'SOC-08', 'SOC-11',
               'PRV-06', 'RHB-03');
-- A referral keeps the scope its service had when it was submitted.
ALTER TABLE referral ADD COLUMN scope text NOT NULL DEFAULT 'person'
    CHECK (scope IN ('person', 'household'));
UPDATE referral r SET scope = 'household'
FROM service s WHERE s.code = r.service_code AND s.scope = 'household';

-- Old ids may hold what is refused today (C1 controls, bidi overrides):
-- those characters go; an id with nothing left gets a name of its own.
CREATE FUNCTION pg_temp.canonical_household(id text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(nullif(canonical_text(regexp_replace(
               id, '[\u0001-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]', '', 'g')), ''),
           'unreadable-' || left(md5(id), 12))
$$;

CREATE TABLE household_spelling (
    spelling     text PRIMARY KEY,
    household_id text NOT NULL REFERENCES household (id),
    merged_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX household_spelling_household_idx ON household_spelling (household_id);

DROP INDEX referral_open_per_household_service;

CREATE TEMPORARY TABLE household_map ON COMMIT DROP AS
SELECT h.id AS old_id, pg_temp.canonical_household(h.id) AS new_id, h.center_code, h.created_at
FROM household h WHERE pg_temp.canonical_household(h.id) <> h.id;

-- The canonical household: the one already there, or the oldest spelling's.
INSERT INTO household (id, center_code, created_at)
SELECT DISTINCT ON (new_id) new_id, center_code, created_at FROM household_map
ORDER BY new_id, created_at
ON CONFLICT (id) DO NOTHING;
UPDATE referral r SET household_id = m.new_id FROM household_map m WHERE r.household_id = m.old_id;
UPDATE person p SET household_id = m.new_id FROM household_map m WHERE p.household_id = m.old_id;
DELETE FROM household h USING household_map m WHERE h.id = m.old_id;
INSERT INTO household_spelling (spelling, household_id)
SELECT old_id, new_id FROM household_map;
ALTER TABLE household ADD CONSTRAINT household_id_canonical CHECK (id = canonical_text(id));

-- Parallel referrals under the new rules: the oldest stays open.
WITH ranked AS (
    SELECT id, status, office_code, center_code,
           first_value(id) OVER w AS keep, row_number() OVER w AS n
    FROM referral
    WHERE referral_is_open(status)
    WINDOW w AS (PARTITION BY service_code, scope,
                 CASE scope WHEN 'person' THEN national_id::text ELSE household_id END
                 ORDER BY id)
), closed AS (
    UPDATE referral r SET status = 'cancelled', version = version + 1, updated_at = now()
    FROM ranked d WHERE r.id = d.id AND d.n > 1
    RETURNING r.id, d.status AS was, d.keep, r.office_code, r.center_code
)
INSERT INTO referral_event (referral_id, from_status, to_status, actor, reason, kind, office_code,
                            center_code)
SELECT id, was, 'cancelled', 'system', 'parallel referral: R-' || keep || ' stays open', 'cancel',
       office_code, center_code
FROM closed;

CREATE UNIQUE INDEX referral_open_per_person_service ON referral (national_id, service_code)
    WHERE referral_is_open(status) AND scope = 'person';
CREATE UNIQUE INDEX referral_open_per_household_service ON referral (household_id, service_code)
    WHERE referral_is_open(status) AND scope = 'household';

-- Neighbourhoods as the report groups them (invisible control characters
-- that canonical_text refuses are dropped first).
UPDATE center SET neighbourhood = regexp_replace(
    neighbourhood, '[\u0001-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]', '', 'g')
WHERE neighbourhood ~ '[\u0001-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]';
ALTER TABLE center ADD COLUMN neighbourhood_key text
    GENERATED ALWAYS AS (canonical_text(neighbourhood)) STORED;

-- A duplicate answer, as given: the referral it named and what was asked
-- (to tell a retry from a reuse of the request_id with other content).
-- The center it was given to may read and follow that referral.
CREATE TABLE duplicate_answer (
    request_id         uuid PRIMARY KEY,
    referral_id        bigint NOT NULL REFERENCES referral (id),
    center_code        integer NOT NULL,
    household_id       text NOT NULL,
    national_id        char(10) NOT NULL,
    service_code       text NOT NULL,
    requested_priority priority_level NOT NULL,
    risk_flags         text[] NOT NULL,
    note               text NOT NULL,
    answered_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX duplicate_answer_center_idx ON duplicate_answer (center_code, referral_id);
GRANT SELECT, INSERT ON duplicate_answer TO referral_worker;
GRANT SELECT ON duplicate_answer, household_spelling TO referral_reporting;
GRANT SELECT ON household_spelling TO referral_worker;

-- A request is recorded, answered as a duplicate, or dead-lettered, never
-- two of these (as 0004, the duplicate answer added).
CREATE OR REPLACE FUNCTION dead_letter_request(
    p_request_id uuid, p_center integer, p_domain text, p_service text, p_body bytea,
    p_code text, p_message text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(p_request_id::text));
    IF EXISTS (SELECT 1 FROM referral WHERE request_id = p_request_id)
       OR EXISTS (SELECT 1 FROM duplicate_answer WHERE request_id = p_request_id) THEN
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

-- The first field, in the request's order, in which a stored submission
-- differs from a request under the same request_id; NULL when none does.
-- Risk flags compare as a set.
CREATE FUNCTION submission_conflict(
    s_center integer, s_natid text, s_household text, s_service text, s_priority text,
    s_flags text[], s_note text,
    p_center integer, p_natid text, p_household text, p_service text, p_priority text,
    p_flags text[], p_note text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN s_center IS DISTINCT FROM p_center THEN 'center_code'
        WHEN s_natid IS DISTINCT FROM p_natid THEN 'national_id'
        WHEN s_household IS DISTINCT FROM p_household THEN 'household_id'
        WHEN s_service IS DISTINCT FROM p_service THEN 'service_code'
        WHEN s_priority IS DISTINCT FROM p_priority THEN 'priority'
        WHEN NOT (s_flags @> p_flags AND p_flags @> s_flags) THEN 'risk_flags'
        WHEN s_note IS DISTINCT FROM p_note THEN 'note'
    END
$$;

DROP FUNCTION submit_referrals(uuid[], integer[], text[], text[], text[], text[], text[], text[],
                               text[], text[], text[], integer[]);
DROP FUNCTION submit_referral(uuid, integer, text, text, text, text, text, text, text[], text,
                              text, integer, bigint);
ALTER TYPE submission_result ADD ATTRIBUTE conflict text;

-- The stored answer to request p_request_id, if it has one (no row if
-- not): its referral, whether that was a duplicate answer, and the field
-- that differs.
CREATE FUNCTION stored_answer(
    p_request_id uuid, p_center integer, p_natid text, p_household text, p_service text,
    p_requested_priority text, p_flags text[], p_note text)
RETURNS TABLE (referral_id bigint, duplicate boolean, conflict text)
LANGUAGE sql STABLE AS $$
    (SELECT x.id, false,
            submission_conflict(x.center_code, x.national_id, x.household_id, x.service_code,
                                coalesce(x.requested_priority, x.priority), x.risk_flags, x.note,
                                p_center, p_natid, p_household, p_service, p_requested_priority,
                                p_flags, p_note)
     FROM referral x WHERE x.request_id = p_request_id)
    UNION ALL
    (SELECT d.referral_id, true,
            submission_conflict(d.center_code, d.national_id, d.household_id, d.service_code,
                                d.requested_priority, d.risk_flags, d.note,
                                p_center, p_natid, p_household, p_service, p_requested_priority,
                                p_flags, p_note)
     FROM duplicate_answer d WHERE d.request_id = p_request_id)
    LIMIT 1
$$;

-- Requests p_n answered from stored referrals p_id (a duplicate answer when
-- p_dup, a conflict on field p_why), as submission_result rows.
CREATE FUNCTION stored_answers(p_n integer[], p_id bigint[], p_dup boolean[], p_why text[])
RETURNS SETOF submission_result
LANGUAGE sql STABLE AS $$
    SELECT v.n::bigint, x.id, x.center_code, x.household_id, x.service_code, x.office_code,
           x.status::text, (extract(epoch FROM x.created_at) * 1000)::bigint, false, v.dup,
           o.name_en, o.name_fa, x.version, v.why
    FROM unnest(p_n, p_id, p_dup, p_why) AS v(n, id, dup, why)
    JOIN referral x ON x.id = v.id JOIN office o ON o.code = x.office_code
$$;

-- The open referral a request for this need would duplicate. One branch
-- per scope, each naming its scope as a constant, so that each is answered
-- by its partial unique index.
CREATE FUNCTION open_referral_for(p_scope text, p_natid text, p_household text, p_service text)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    (SELECT x.id FROM referral x
     WHERE p_scope = 'person' AND x.scope = 'person' AND referral_is_open(x.status)
       AND x.national_id = p_natid::char(10) AND x.service_code = p_service)
    UNION ALL
    (SELECT x.id FROM referral x
     WHERE p_scope = 'household' AND x.scope = 'household' AND referral_is_open(x.status)
       AND x.household_id = p_household AND x.service_code = p_service)
    LIMIT 1
$$;

-- One request, with the batch's answers (see submit_referrals), answering
-- as request p_ord of a batch. p_household is canonical.
CREATE FUNCTION submit_referral(
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
                    p_office, p_rule, accept_deadline_for(p_priority))
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

-- A batch in one statement per pass (0006 explains the shape):
--   1. requests answered before get their stored answer (or a conflict);
--   2. the others are inserted, one per request and one per need, in
--      order; households, persons and first events only for those;
--   3. the rest name a stored referral: the same request_id earlier in the
--      batch, or the need's open referral (a duplicate answer, recorded);
--   4. anything still unsettled (a race) goes through submit_referral.
-- p_household is canonical; p_scope is each service's scope.
CREATE FUNCTION submit_referrals(
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
        FROM by_need q LEFT JOIN priority_sla sla ON sla.priority = q.priority
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
