-- 0019 (issue 18, points 2 to 4): the neighbourhood side's field work.
--   * neighbourhood_profile: the profile of a neighbourhood (شناسنامه محله),
--     one row per version, append-only. A version names the version it
--     replaces (base_version = version - 1), so that two centers editing
--     the same version cannot both win: the second is a conflict. Its lists
--     (capacities, assets, ranked needs, participants) are one jsonb body,
--     written by the worker from the checked message.
--   * trustee (معتمد محله) with trustee_event, its append-only history
--     (register, deactivate). A trustee is registered only with consent.
--   * finding: a household or person in need found in the field, with
--     finding_event (record, referred, closed). A referral made from a
--     finding marks it referred, with the link, in the statement that
--     records the referral (wrk_record.c); a finding closed without one
--     keeps its reason.
-- Who may write: a center, for the neighbourhoods it serves
-- (neighbourhood_center, 0018). Each function answers one row: outcome ok,
-- or conflict, notfound, state, perm, invalid, with the field and a
-- message for the center (no personal data in it).

CREATE DOMAIN finding_source AS text
    CHECK (VALUE IN ('outreach', 'trustee', 'school', 'health_house', 'other'));
CREATE DOMAIN finding_state AS text CHECK (VALUE IN ('open', 'referred', 'closed'));

CREATE TABLE neighbourhood_profile (
    neighbourhood_id     integer NOT NULL REFERENCES neighbourhood (id),
    version              integer NOT NULL CHECK (version > 0),
    base_version         integer NOT NULL,
    update_id            uuid NOT NULL UNIQUE,
    center_code          integer NOT NULL REFERENCES center (code),
    recorded_by          text NOT NULL,
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    capacity_assessed_on date,
    asset_assessed_on    date,
    needs_assessed_on    date,
    body                 jsonb NOT NULL, -- {capacities, assets, needs, participants}
    PRIMARY KEY (neighbourhood_id, version),
    CHECK (base_version = version - 1)
);

CREATE TABLE trustee (
    trustee_id       uuid PRIMARY KEY,
    neighbourhood_id integer NOT NULL REFERENCES neighbourhood (id),
    center_code      integer NOT NULL REFERENCES center (code),
    name             text NOT NULL CHECK (name <> '' AND octet_length(name) <= 200),
    role             text NOT NULL CHECK (role <> '' AND octet_length(role) <= 200),
    phone            text CHECK (phone ~ '^\+?[0-9]{7,15}$'),
    national_id      char(10) CHECK (national_id ~ '^[0-9]{10}$'),
    consent          boolean NOT NULL CHECK (consent),
    active           boolean NOT NULL DEFAULT true
);
CREATE INDEX trustee_neighbourhood_idx ON trustee (neighbourhood_id);

CREATE TABLE trustee_event (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trustee_id uuid NOT NULL REFERENCES trustee (trustee_id),
    kind       text NOT NULL CHECK (kind IN ('register', 'deactivate')),
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    reason     text,
    UNIQUE (trustee_id, kind)
);

CREATE TABLE finding (
    finding_id       uuid PRIMARY KEY,
    center_code      integer NOT NULL REFERENCES center (code),
    neighbourhood_id integer NOT NULL REFERENCES neighbourhood (id),
    household_id     text NOT NULL, -- canonical, as referrals keep it
    national_id      char(10) CHECK (national_id ~ '^[0-9]{10}$'),
    service_code     text REFERENCES service (code),
    need             text,
    source           finding_source NOT NULL,
    trustee_id       uuid REFERENCES trustee (trustee_id),
    state            finding_state NOT NULL DEFAULT 'open',
    referral_id      bigint, -- once referred; referral rows are never deleted (0014)
    CHECK (service_code IS NOT NULL OR need IS NOT NULL),
    CHECK ((source = 'trustee') = (trustee_id IS NOT NULL)),
    CHECK ((state = 'referred') = (referral_id IS NOT NULL))
);
CREATE INDEX finding_neighbourhood_idx ON finding (neighbourhood_id);
-- Not unique: two findings of a household may lead to the one open referral.
CREATE INDEX finding_referral_idx ON finding (referral_id) WHERE referral_id IS NOT NULL;

CREATE TABLE finding_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finding_id  uuid NOT NULL REFERENCES finding (finding_id),
    kind        text NOT NULL CHECK (kind IN ('record', 'referred', 'closed')),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    referral_id bigint,
    reason      text,
    UNIQUE (finding_id, kind)
);

-- Versions and histories are append-only (0018's trigger function: a
-- no-op update passes, anything else is refused).
CREATE TRIGGER neighbourhood_profile_append_only BEFORE UPDATE OR DELETE ON neighbourhood_profile
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER trustee_event_append_only BEFORE UPDATE OR DELETE ON trustee_event
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER finding_event_append_only BEFORE UPDATE OR DELETE ON finding_event
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER neighbourhood_profile_no_truncate BEFORE TRUNCATE ON neighbourhood_profile
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER trustee_event_no_truncate BEFORE TRUNCATE ON trustee_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER finding_event_no_truncate BEFORE TRUNCATE ON finding_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- The neighbourhood a center names, and whether it may record for it:
-- outcome ok with its id, or notfound (center, neighbourhood) or perm.
CREATE FUNCTION center_neighbourhood(p_center integer, p_name text, p_what text,
                                     OUT outcome text, OUT field text, OUT message text,
                                     OUT neighbourhood_id integer, OUT active boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_county char(4);
BEGIN
    SELECT c.county_code, c.active INTO v_county, active FROM center c WHERE c.code = p_center;
    IF NOT FOUND THEN
        outcome := 'notfound'; field := 'center_code';
        message := format('unrecognized center "%s"', p_center);
        RETURN;
    END IF;
    neighbourhood_id := neighbourhood_named(v_county, p_name);
    IF neighbourhood_id IS NULL THEN
        outcome := 'notfound'; field := 'neighbourhood';
        message := format('unrecognized neighbourhood "%s" in county "%s"', p_name, v_county);
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM neighbourhood_center nc
                   WHERE nc.neighbourhood_id = center_neighbourhood.neighbourhood_id
                     AND nc.center_code = p_center) THEN
        outcome := 'perm'; field := 'neighbourhood';
        message := format('cannot record %s for neighbourhood "%s": center "%s" does not serve it',
                          p_what, p_name, p_center);
        RETURN;
    END IF;
    outcome := 'ok'; field := ''; message := '';
END
$$;

CREATE FUNCTION serves(p_center integer, p_neighbourhood integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM neighbourhood_center
                   WHERE neighbourhood_id = p_neighbourhood AND center_code = p_center)
$$;

CREATE FUNCTION epoch_ms(p timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT (extract(epoch FROM p) * 1000)::bigint $$;

-- A day a center typed ("YYYY-MM-DD"): NULL for none; raises 22007 for a
-- day the calendar does not have or one after tomorrow (UTC).
CREATE FUNCTION assessment_day(p text, p_field text) RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v date;
BEGIN
    IF p IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        v := to_date(p, 'YYYY-MM-DD');
        IF to_char(v, 'YYYY-MM-DD') <> p THEN
            RAISE EXCEPTION 'bad day';
        END IF;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'invalid % "%": no such day', p_field, p USING ERRCODE = '22007',
            COLUMN = p_field;
    END;
    IF v > (now() AT TIME ZONE 'UTC')::date + 1 THEN
        RAISE EXCEPTION 'invalid % "%": the day is in the future', p_field, p
            USING ERRCODE = '22007', COLUMN = p_field;
    END IF;
    RETURN v;
END
$$;

-- A new version of a neighbourhood's profile (command PROFILE).
CREATE FUNCTION record_profile(p_update uuid, p_center integer, p_neighbourhood text,
                               p_base integer, p_body jsonb, p_capacity text, p_asset text,
                               p_needs text, p_actor text)
RETURNS TABLE (outcome text, field text, message text, replayed boolean,
               neighbourhood_id integer, version integer, recorded_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_old neighbourhood_profile;
    v_latest integer;
    v_days date[];
    v_bad text;
BEGIN
    SELECT * INTO r FROM center_neighbourhood(p_center, p_neighbourhood, 'a profile');
    IF r.outcome <> 'ok' THEN
        RETURN QUERY SELECT r.outcome, r.field, r.message, false, NULL::integer, NULL::integer,
            NULL::bigint;
        RETURN;
    END IF;
    BEGIN
        v_days := ARRAY[assessment_day(p_capacity, 'capacity_assessed_on'),
                        assessment_day(p_asset, 'asset_assessed_on'),
                        assessment_day(p_needs, 'needs_assessed_on')];
    EXCEPTION WHEN invalid_datetime_format THEN
        GET STACKED DIAGNOSTICS v_bad = COLUMN_NAME, message = MESSAGE_TEXT;
        RETURN QUERY SELECT 'invalid', v_bad, message, false, NULL::integer, NULL::integer,
            NULL::bigint;
        RETURN;
    END;
    SELECT format('needs[%s].service_code', n.i - 1) INTO v_bad
    FROM jsonb_array_elements(p_body -> 'needs') WITH ORDINALITY AS n(e, i)
    WHERE n.e ? 'service_code' AND NOT EXISTS (SELECT 1 FROM service s
                                               WHERE s.code = n.e ->> 'service_code')
    ORDER BY n.i LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RETURN QUERY SELECT 'notfound', v_bad, format('unrecognized service in %s', v_bad), false,
            NULL::integer, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    FOR attempt IN 1 .. 2 LOOP
        SELECT * INTO v_old FROM neighbourhood_profile p WHERE p.update_id = p_update;
        IF FOUND THEN
            PERFORM answer_from_storage_is_durable(); -- a replay waits for the standby too (0017)
            field := CASE WHEN v_old.center_code <> p_center THEN 'center_code'
                          WHEN v_old.neighbourhood_id <> r.neighbourhood_id THEN 'neighbourhood'
                          WHEN v_old.base_version <> p_base THEN 'base_version'
                          WHEN v_old.capacity_assessed_on IS DISTINCT FROM v_days[1]
                              THEN 'capacity_assessed_on'
                          WHEN v_old.asset_assessed_on IS DISTINCT FROM v_days[2]
                              THEN 'asset_assessed_on'
                          WHEN v_old.needs_assessed_on IS DISTINCT FROM v_days[3]
                              THEN 'needs_assessed_on'
                          WHEN v_old.body -> 'capacities' <> p_body -> 'capacities' THEN 'capacities'
                          WHEN v_old.body -> 'assets' <> p_body -> 'assets' THEN 'assets'
                          WHEN v_old.body -> 'needs' <> p_body -> 'needs' THEN 'needs'
                          WHEN v_old.body -> 'participants' <> p_body -> 'participants'
                              THEN 'participants' END;
            IF field IS NOT NULL THEN
                RETURN QUERY SELECT 'conflict', field,
                    format('cannot record profile update "%s": this update_id was already used '
                           'for a different profile (%s differs)', p_update, field), false,
                    NULL::integer, NULL::integer, NULL::bigint;
                RETURN;
            END IF;
            RETURN QUERY SELECT 'ok', '', '', true, v_old.neighbourhood_id, v_old.version,
                epoch_ms(v_old.recorded_at);
            RETURN;
        END IF;
        IF NOT r.active THEN
            RETURN QUERY SELECT 'state', 'center_code',
                format('cannot accept requests from center "%s": it is inactive', p_center),
                false, NULL::integer, NULL::integer, NULL::bigint;
            RETURN;
        END IF;
        SELECT max(p.version) INTO v_latest FROM neighbourhood_profile p
        WHERE p.neighbourhood_id = r.neighbourhood_id;
        IF p_base <> coalesce(v_latest, 0) THEN
            RETURN QUERY SELECT 'conflict', 'base_version',
                format('cannot record profile of neighbourhood "%s" on version %s: the latest '
                       'version is %s', p_neighbourhood, p_base, coalesce(v_latest, 0)),
                false, NULL::integer, NULL::integer, NULL::bigint;
            RETURN;
        END IF;
        BEGIN
            INSERT INTO neighbourhood_profile (neighbourhood_id, version, base_version, update_id,
                center_code, recorded_by, capacity_assessed_on, asset_assessed_on,
                needs_assessed_on, body)
            VALUES (r.neighbourhood_id, p_base + 1, p_base, p_update, p_center, p_actor,
                    v_days[1], v_days[2], v_days[3], p_body);
            RETURN QUERY SELECT 'ok', '', '', false, r.neighbourhood_id, p_base + 1,
                epoch_ms(now());
            RETURN;
        EXCEPTION WHEN unique_violation THEN
            -- A concurrent copy of this update (replayed on the next turn) or
            -- another update of the same version (a stale base then).
            NULL;
        END;
    END LOOP;
    RETURN QUERY SELECT 'eagain', '', 'retry', false, NULL::integer, NULL::integer, NULL::bigint;
END
$$;

-- Registers (p_action 'register') or deactivates a trustee (command TRUSTEE).
CREATE FUNCTION record_trustee(p_id uuid, p_center integer, p_action text, p_neighbourhood text,
                               p_name text, p_role text, p_phone text, p_natid text,
                               p_reason text, p_actor text)
RETURNS TABLE (outcome text, field text, message text, replayed boolean,
               neighbourhood_id integer, active boolean, recorded_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_old trustee;
    v_ev trustee_event;
BEGIN
    SELECT * INTO v_old FROM trustee t WHERE t.trustee_id = p_id;
    IF p_action = 'deactivate' THEN
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'notfound', 'trustee_id',
                format('unrecognized trustee "%s"', p_id), false, NULL::integer, NULL::boolean,
                NULL::bigint;
            RETURN;
        END IF;
        IF NOT serves(p_center, v_old.neighbourhood_id) THEN
            RETURN QUERY SELECT 'perm', 'center_code',
                format('cannot deactivate trustee "%s": center "%s" does not serve its '
                       'neighbourhood', p_id, p_center), false, NULL::integer, NULL::boolean,
                NULL::bigint;
            RETURN;
        END IF;
        UPDATE trustee t SET active = false WHERE t.trustee_id = p_id AND t.active;
        IF FOUND THEN
            INSERT INTO trustee_event (trustee_id, kind, actor, reason)
            VALUES (p_id, 'deactivate', p_actor, p_reason) RETURNING * INTO v_ev;
            RETURN QUERY SELECT 'ok', '', '', false, v_old.neighbourhood_id, false,
                epoch_ms(v_ev.at);
            RETURN;
        END IF;
        PERFORM answer_from_storage_is_durable();
        SELECT * INTO v_ev FROM trustee_event e WHERE e.trustee_id = p_id AND e.kind = 'deactivate';
        IF v_ev.reason IS DISTINCT FROM p_reason THEN
            RETURN QUERY SELECT 'conflict', 'reason',
                format('cannot deactivate trustee "%s": it was deactivated before for another '
                       'reason', p_id), false, NULL::integer, NULL::boolean, NULL::bigint;
            RETURN;
        END IF;
        RETURN QUERY SELECT 'ok', '', '', true, v_old.neighbourhood_id, false, epoch_ms(v_ev.at);
        RETURN;
    END IF;
    SELECT * INTO r FROM center_neighbourhood(p_center, p_neighbourhood, 'a trustee');
    IF r.outcome <> 'ok' THEN
        RETURN QUERY SELECT r.outcome, r.field, r.message, false, NULL::integer, NULL::boolean,
            NULL::bigint;
        RETURN;
    END IF;
    IF v_old.trustee_id IS NOT NULL THEN
        PERFORM answer_from_storage_is_durable();
        field := CASE WHEN v_old.center_code <> p_center THEN 'center_code'
                      WHEN v_old.neighbourhood_id <> r.neighbourhood_id THEN 'neighbourhood'
                      WHEN v_old.name <> p_name THEN 'name'
                      WHEN v_old.role <> p_role THEN 'role'
                      WHEN v_old.phone IS DISTINCT FROM p_phone THEN 'phone'
                      WHEN v_old.national_id IS DISTINCT FROM p_natid THEN 'national_id' END;
        IF field IS NOT NULL THEN
            RETURN QUERY SELECT 'conflict', field,
                format('cannot register trustee "%s": this trustee_id was already used for a '
                       'different trustee (%s differs)', p_id, field), false, NULL::integer,
                NULL::boolean, NULL::bigint;
            RETURN;
        END IF;
        RETURN QUERY SELECT 'ok', '', '', true, v_old.neighbourhood_id, v_old.active,
            (SELECT epoch_ms(e.at) FROM trustee_event e
             WHERE e.trustee_id = p_id AND e.kind = 'register');
        RETURN;
    END IF;
    IF NOT r.active THEN
        RETURN QUERY SELECT 'state', 'center_code',
            format('cannot accept requests from center "%s": it is inactive', p_center), false,
            NULL::integer, NULL::boolean, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO trustee (trustee_id, neighbourhood_id, center_code, name, role, phone,
                         national_id, consent)
    VALUES (p_id, r.neighbourhood_id, p_center, p_name, p_role, p_phone, p_natid, true)
    ON CONFLICT (trustee_id) DO NOTHING;
    IF NOT FOUND THEN -- a concurrent copy: let the center retry, it replays
        RETURN QUERY SELECT 'eagain', '', 'retry', false, NULL::integer, NULL::boolean,
            NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO trustee_event (trustee_id, kind, actor) VALUES (p_id, 'register', p_actor)
    RETURNING * INTO v_ev;
    RETURN QUERY SELECT 'ok', '', '', false, r.neighbourhood_id, true, epoch_ms(v_ev.at);
END
$$;

-- The answer about a finding as it stands.
CREATE FUNCTION finding_answer(p_id uuid, p_kind text, p_replayed boolean)
RETURNS TABLE (outcome text, field text, message text, replayed boolean, state text,
               referral_id bigint, neighbourhood_id integer, recorded_at_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT 'ok', '', '', p_replayed, f.state::text, f.referral_id, f.neighbourhood_id,
           (SELECT epoch_ms(e.at) FROM finding_event e
            WHERE e.finding_id = p_id AND e.kind = p_kind)
    FROM finding f WHERE f.finding_id = p_id
$$;

-- Records a finding (command FINDING, action RECORD).
CREATE FUNCTION record_finding(p_id uuid, p_center integer, p_household text, p_natid text,
                               p_neighbourhood text, p_service text, p_need text,
                               p_source text, p_trustee uuid, p_actor text)
RETURNS TABLE (outcome text, field text, message text, replayed boolean, state text,
               referral_id bigint, neighbourhood_id integer, recorded_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_old finding;
    v_trustee trustee;
BEGIN
    SELECT * INTO r FROM center_neighbourhood(p_center, p_neighbourhood, 'a finding');
    IF r.outcome <> 'ok' THEN
        RETURN QUERY SELECT r.outcome, r.field, r.message, false, NULL::text, NULL::bigint,
            NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    SELECT * INTO v_old FROM finding f WHERE f.finding_id = p_id;
    IF FOUND THEN
        PERFORM answer_from_storage_is_durable();
        field := CASE WHEN v_old.center_code <> p_center THEN 'center_code'
                      WHEN v_old.neighbourhood_id <> r.neighbourhood_id THEN 'neighbourhood'
                      WHEN v_old.household_id <> p_household THEN 'household_id'
                      WHEN v_old.national_id IS DISTINCT FROM p_natid THEN 'national_id'
                      WHEN v_old.service_code IS DISTINCT FROM p_service THEN 'service_code'
                      WHEN v_old.need IS DISTINCT FROM p_need THEN 'need'
                      WHEN v_old.source <> p_source THEN 'source'
                      WHEN v_old.trustee_id IS DISTINCT FROM p_trustee THEN 'trustee_id' END;
        IF field IS NOT NULL THEN
            RETURN QUERY SELECT 'conflict', field,
                format('cannot record finding "%s": this finding_id was already used for a '
                       'different finding (%s differs)', p_id, field), false, NULL::text,
                NULL::bigint, NULL::integer, NULL::bigint;
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM finding_answer(p_id, 'record', true);
        RETURN;
    END IF;
    IF NOT r.active THEN
        RETURN QUERY SELECT 'state', 'center_code',
            format('cannot accept requests from center "%s": it is inactive', p_center), false,
            NULL::text, NULL::bigint, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    IF p_service IS NOT NULL AND NOT EXISTS (SELECT 1 FROM service s WHERE s.code = p_service) THEN
        RETURN QUERY SELECT 'notfound', 'service_code',
            format('unrecognized service "%s"', p_service), false, NULL::text, NULL::bigint,
            NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    IF p_trustee IS NOT NULL THEN
        SELECT * INTO v_trustee FROM trustee t WHERE t.trustee_id = p_trustee;
        IF NOT FOUND OR v_trustee.neighbourhood_id <> r.neighbourhood_id THEN
            RETURN QUERY SELECT 'notfound', 'trustee_id',
                format('unrecognized trustee "%s" in neighbourhood "%s"', p_trustee,
                       p_neighbourhood), false, NULL::text, NULL::bigint, NULL::integer,
                NULL::bigint;
            RETURN;
        END IF;
        IF NOT v_trustee.active THEN
            RETURN QUERY SELECT 'state', 'trustee_id',
                format('cannot record a finding from trustee "%s": the trustee is inactive',
                       p_trustee), false, NULL::text, NULL::bigint, NULL::integer, NULL::bigint;
            RETURN;
        END IF;
    END IF;
    INSERT INTO finding (finding_id, center_code, neighbourhood_id, household_id, national_id,
                         service_code, need, source, trustee_id)
    VALUES (p_id, p_center, r.neighbourhood_id, p_household, p_natid, p_service, p_need,
            p_source, p_trustee)
    ON CONFLICT (finding_id) DO NOTHING;
    IF NOT FOUND THEN -- a concurrent copy: the center's retry replays
        RETURN QUERY SELECT 'eagain', '', 'retry', false, NULL::text, NULL::bigint,
            NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO finding_event (finding_id, kind, actor) VALUES (p_id, 'record', p_actor);
    RETURN QUERY SELECT * FROM finding_answer(p_id, 'record', false);
END
$$;

-- Closes a finding without a referral (command FINDING, action CLOSE).
CREATE FUNCTION close_finding(p_id uuid, p_center integer, p_reason text, p_actor text)
RETURNS TABLE (outcome text, field text, message text, replayed boolean, state text,
               referral_id bigint, neighbourhood_id integer, recorded_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_old finding;
BEGIN
    SELECT * INTO v_old FROM finding f WHERE f.finding_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'notfound', 'finding_id', format('unrecognized finding "%s"', p_id),
            false, NULL::text, NULL::bigint, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    IF NOT serves(p_center, v_old.neighbourhood_id) THEN
        RETURN QUERY SELECT 'perm', 'center_code',
            format('cannot close finding "%s": center "%s" does not serve its neighbourhood',
                   p_id, p_center), false, NULL::text, NULL::bigint, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    IF v_old.state = 'referred' THEN
        RETURN QUERY SELECT 'state', 'finding_id',
            format('cannot close finding "%s": it was referred as R-%s', p_id, v_old.referral_id),
            false, NULL::text, NULL::bigint, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    IF v_old.state = 'closed' THEN
        PERFORM answer_from_storage_is_durable();
        IF (SELECT e.reason FROM finding_event e
            WHERE e.finding_id = p_id AND e.kind = 'closed') IS DISTINCT FROM p_reason THEN
            RETURN QUERY SELECT 'conflict', 'reason',
                format('cannot close finding "%s": it was closed before for another reason',
                       p_id), false, NULL::text, NULL::bigint, NULL::integer, NULL::bigint;
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM finding_answer(p_id, 'closed', true);
        RETURN;
    END IF;
    UPDATE finding f SET state = 'closed' WHERE f.finding_id = p_id;
    INSERT INTO finding_event (finding_id, kind, actor, reason)
    VALUES (p_id, 'closed', p_actor, p_reason);
    RETURN QUERY SELECT * FROM finding_answer(p_id, 'closed', false);
END
$$;

-- Whether a SUBMIT may name a finding (the worker asks before recording):
-- ok, or notfound, perm (a neighbourhood the center does not serve),
-- invalid (another household), state (closed, or referred by another
-- request; referred by this same request, or to the open referral this
-- request was answered as a duplicate of, is a retry: ok).
CREATE FUNCTION finding_for_referral(p_id uuid, p_center integer, p_household text,
                                     p_request uuid,
                                     OUT outcome text, OUT field text, OUT message text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v finding;
BEGIN
    field := 'finding_id';
    SELECT * INTO v FROM finding f WHERE f.finding_id = p_id;
    IF NOT FOUND THEN
        outcome := 'notfound';
        message := format('unrecognized finding "%s"', p_id);
    ELSIF NOT serves(p_center, v.neighbourhood_id) THEN
        outcome := 'perm';
        message := format('cannot refer finding "%s": center "%s" does not serve its '
                          'neighbourhood', p_id, p_center);
    ELSIF v.household_id <> p_household THEN
        outcome := 'invalid';
        message := format('cannot refer finding "%s": it was found for another household', p_id);
    ELSIF v.state = 'closed' THEN
        outcome := 'state';
        message := format('cannot refer finding "%s": it is closed', p_id);
    ELSIF v.state = 'referred'
          AND NOT EXISTS (SELECT 1 FROM referral x
                          WHERE x.id = v.referral_id AND x.request_id = p_request)
          AND NOT EXISTS (SELECT 1 FROM duplicate_answer d -- answered as a duplicate of it
                          WHERE d.request_id = p_request AND d.referral_id = v.referral_id) THEN
        outcome := 'state';
        message := format('cannot refer finding "%s": it was referred as R-%s', p_id,
                          v.referral_id);
    ELSE
        outcome := 'ok'; field := ''; message := '';
    END IF;
END
$$;

GRANT SELECT, INSERT ON neighbourhood_profile, trustee_event, finding_event TO referral_worker;
GRANT SELECT, INSERT, UPDATE ON trustee, finding TO referral_worker;
GRANT SELECT ON neighbourhood_profile, trustee, trustee_event, finding, finding_event
    TO referral_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA referral TO referral_worker, referral_admin;
