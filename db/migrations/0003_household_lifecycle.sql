-- 0003: household files, one open referral per household and service,
-- priorities raised by risk, acceptance deadlines, the lifecycle's event
-- history with a gap-free follow-up cursor.

-- One file per household (پرونده واحد خانواده). A person (by national id)
-- belongs to one household at a time: the latest referral's.
CREATE TABLE household (
    id          text PRIMARY KEY,
    center_code integer NOT NULL REFERENCES center (code), -- the center that opened it
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO household (id, center_code)
SELECT DISTINCT ON (household_id) household_id, center_code FROM referral ORDER BY household_id, id;
ALTER TABLE referral ADD CONSTRAINT referral_household_fk
    FOREIGN KEY (household_id) REFERENCES household (id);

CREATE TABLE person (
    national_id  char(10) PRIMARY KEY CHECK (national_id ~ '^[0-9]{10}$'),
    household_id text NOT NULL REFERENCES household (id),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_household_idx ON person (household_id);
INSERT INTO person (national_id, household_id)
SELECT DISTINCT ON (national_id) national_id, household_id FROM referral ORDER BY national_id, id DESC;


-- Acceptance deadlines per priority (DOMAIN.md defaults; the organisation edits them).
CREATE TABLE priority_sla (
    priority      text PRIMARY KEY CHECK (priority IN ('routine', 'urgent', 'asap', 'stat')),
    accept_within interval NOT NULL CHECK (accept_within > interval '0')
);

-- Risk flags raise a request's priority: a rule applies when the request
-- carries all its flags (kept sorted, so a combination has one spelling).
CREATE TABLE risk_priority_rule (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flags        text[] NOT NULL CHECK (cardinality(flags) >= 1),
    min_priority text NOT NULL CHECK (min_priority IN ('routine', 'urgent', 'asap', 'stat')),
    note         text NOT NULL DEFAULT '',
    CONSTRAINT risk_priority_rule_flags_key UNIQUE (flags)
);

ALTER TABLE referral
    ADD COLUMN requested_priority text CHECK (requested_priority IN ('routine', 'urgent', 'asap', 'stat')),
    ADD COLUMN accept_deadline timestamptz,
    ADD COLUMN escalated_at timestamptz;
-- Referrals recorded before deadlines existed get DOMAIN.md's defaults,
-- counted from the upgrade: counting from their creation would escalate the
-- whole open backlog at once. (priority_sla is seeded after the migrations.)
UPDATE referral SET accept_deadline = now() + CASE priority
    WHEN 'stat' THEN interval '4 hours' WHEN 'asap' THEN interval '24 hours'
    WHEN 'urgent' THEN interval '3 days' ELSE interval '10 days' END;
CREATE INDEX referral_deadline_idx ON referral (accept_deadline)
    WHERE status IN ('requested', 'received') AND escalated_at IS NULL;

-- Events: what happened (kind), who owns the referral after it, the
-- idempotency key of the update that made it, the owning center (for
-- follow-up) and seq, the follow-up cursor.
ALTER TABLE referral_event
    ADD COLUMN kind text NOT NULL DEFAULT 'submit'
        CHECK (kind IN ('submit', 'claim', 'accept', 'reject', 'start', 'pause', 'resume',
                        'complete', 'fail', 'withdraw', 'cancel', 'forward', 'escalate')),
    ADD COLUMN office_code text REFERENCES office (code),
    ADD COLUMN center_code integer REFERENCES center (code),
    ADD COLUMN update_id uuid,
    ADD COLUMN seq bigint;
-- Backfilling the new columns is the one rewrite history ever gets.
ALTER TABLE referral_event DISABLE TRIGGER referral_event_no_change;
UPDATE referral_event e SET office_code = r.office_code, center_code = r.center_code
    FROM referral r WHERE r.id = e.referral_id;
ALTER TABLE referral_event ENABLE TRIGGER referral_event_no_change;
ALTER TABLE referral_event
    ALTER COLUMN office_code SET NOT NULL,
    ALTER COLUMN center_code SET NOT NULL,
    ADD CONSTRAINT referral_event_update_id_key UNIQUE (update_id),
    ADD CONSTRAINT referral_event_seq_key UNIQUE (seq);
CREATE INDEX referral_event_center_seq_idx ON referral_event (center_code, seq);

-- No parallel work: at most one open referral per household and service.
-- Parallel referrals recorded before this rule are closed first: the
-- oldest stays open, each later one is cancelled with an event naming it.
WITH ranked AS (
    SELECT id, status, office_code, center_code,
           first_value(id) OVER w AS keep, row_number() OVER w AS n
    FROM referral
    WHERE status NOT IN ('completed', 'rejected', 'failed', 'cancelled')
    WINDOW w AS (PARTITION BY household_id, service_code ORDER BY id)
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
CREATE UNIQUE INDEX referral_open_per_household_service ON referral (household_id, service_code)
    WHERE status NOT IN ('completed', 'rejected', 'failed', 'cancelled');
CREATE INDEX referral_event_unstamped_idx ON referral_event (id) WHERE seq IS NULL;

-- Event ids come from a sequence and do not follow commit order, so a
-- reader could pass an id whose transaction commits later. seq does follow
-- it: stamp_events gives committed, unstamped events the next numbers under
-- one lock, in one transaction, so seq becomes visible in increasing order.
CREATE SEQUENCE referral_event_seq_seq AS bigint;
-- The history already there is committed: number it now, in id order.
ALTER TABLE referral_event DISABLE TRIGGER referral_event_no_change;
UPDATE referral_event SET seq = id;
SELECT setval('referral_event_seq_seq', max(id)) FROM referral_event HAVING max(id) IS NOT NULL;
ALTER TABLE referral_event ENABLE TRIGGER referral_event_no_change;

-- History stays append-only; the one change allowed is stamping seq once.
CREATE OR REPLACE FUNCTION referral_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (NEW.id, NEW.referral_id, NEW.from_status, NEW.to_status, NEW.actor, NEW.reason,
            NEW.at, NEW.kind, NEW.office_code, NEW.center_code, NEW.update_id)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.referral_id, OLD.from_status, OLD.to_status, OLD.actor, OLD.reason,
            OLD.at, OLD.kind, OLD.office_code, OLD.center_code, OLD.update_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'referral_event is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION stamp_events(max_rows integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    stamped bigint;
BEGIN
    -- Serialises stampers; the UPDATE below takes its snapshot after the
    -- lock, so it sees every stamp committed before it. When another worker
    -- is stamping, skip: it numbers what is there, and later stamps always
    -- get higher numbers.
    IF NOT pg_try_advisory_xact_lock(7240117) THEN
        RETURN 0;
    END IF;
    UPDATE referral_event e SET seq = s.seq
    FROM (SELECT id, nextval('referral_event_seq_seq') AS seq
          FROM (SELECT id FROM referral_event WHERE seq IS NULL ORDER BY id LIMIT max_rows) x
          ORDER BY id) s
    WHERE e.id = s.id;
    GET DIAGNOSTICS stamped = ROW_COUNT;
    RETURN stamped;
END
$$;

-- Submits a referral in one round trip: the household and person, the
-- referral with its deadline, and its first event. A retry with the same
-- request_id returns the stored row (DO UPDATE, not DO NOTHING, so that the
-- retry's commit waits for durability too). When the household already has
-- an open referral for the service, that one is returned with duplicate.
CREATE FUNCTION submit_referral(
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

-- Escalates referrals nobody accepted in time to their province office,
-- as an event; SKIP LOCKED lets every worker run it without double work.
CREATE FUNCTION escalate_overdue(max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        SELECT x.id, x.status, x.office_code, x.center_code, x.accept_deadline,
               'PO-' || o.province_code AS province_office
        FROM referral x JOIN office o ON o.code = x.office_code
        WHERE x.status IN ('requested', 'received') AND x.escalated_at IS NULL
          AND x.accept_deadline < now() AND o.kind = 'county'
        ORDER BY x.accept_deadline
        LIMIT max_rows
        FOR UPDATE OF x SKIP LOCKED
    LOOP
        UPDATE referral SET office_code = r.province_office, escalated_at = now(),
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

CREATE TRIGGER risk_priority_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON risk_priority_rule FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_change();
CREATE TRIGGER priority_sla_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON priority_sla FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_change();
