-- 0018 (issue 18, points 1 and 5): neighbourhoods as data, and earmarked
-- cash donations as an append-only ledger. (0017 is another change's.)
--   * neighbourhood: the registry per county, named as households name it
--     (name_key = canonical_text(name), unique per county), urban or rural,
--     the "red-line" flag for marginal and high-risk areas, and the centers
--     that serve it (neighbourhood_center, same county only);
--     referral_neighbourhood, the neighbourhood a referral names.
--   * earmark: one pot per intent and province (the province's donations
--     account): a neighbourhood, a county, a domain, a service, or
--     unrestricted. balance is the sum of its ledger entries, kept in the
--     row so that the allocation's row lock guards it; CHECK (balance >= 0)
--     is the last line: the ledger can never go negative.
--   * donation, allocation, ledger_entry: append-only (UPDATE that changes
--     something, DELETE and TRUNCATE are refused). A donation credits its
--     earmark with one entry; an allocation debits one or more earmarks in
--     the order of allocation_draw_rank (docs/OPERATIONS.md, "Donations").

CREATE DOMAIN neighbourhood_setting AS text CHECK (VALUE IN ('urban', 'rural'));
-- Integer rials only; one donation or allocation is at most 10^13 rials, so
-- a province's sums stay far inside bigint.
CREATE DOMAIN rials AS bigint CHECK (VALUE > 0 AND VALUE <= 10000000000000);
CREATE DOMAIN donation_intent AS text
    CHECK (VALUE IN ('neighbourhood', 'county', 'service', 'domain', 'unrestricted'));

CREATE TABLE neighbourhood (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    county_code char(4) NOT NULL REFERENCES county (code),
    name        text NOT NULL CHECK (name <> '' AND octet_length(name) <= 200),
    name_key    text GENERATED ALWAYS AS (canonical_text(name)) STORED,
    setting     neighbourhood_setting NOT NULL,
    red_line    boolean NOT NULL DEFAULT false,
    UNIQUE (county_code, name_key)
);

CREATE TABLE neighbourhood_center (
    neighbourhood_id integer NOT NULL REFERENCES neighbourhood (id),
    center_code      integer NOT NULL REFERENCES center (code),
    PRIMARY KEY (neighbourhood_id, center_code)
);
CREATE INDEX neighbourhood_center_center_idx ON neighbourhood_center (center_code);

-- Workers keep the registry in their catalogue (a referral may name a
-- neighbourhood): tell them when it changes, as 0002 does for the rest.
CREATE TRIGGER neighbourhood_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON neighbourhood
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_change();

-- The registry is reference data: its changes go to reference_change (0011)
-- like centers'. A neighbourhood is keyed by its id (neighbourhoods list
-- shows it), a serving center by "<neighbourhood id>/<center code>".
ALTER TABLE reference_change DROP CONSTRAINT reference_change_entity_check;
ALTER TABLE reference_change ADD CONSTRAINT reference_change_entity_check
    CHECK (entity IN ('center', 'office', 'service', 'routing_rule', 'risk_priority_rule',
                      'neighbourhood', 'neighbourhood_center'));

-- As 0011's, with the keys of the two new entities.
CREATE OR REPLACE FUNCTION record_reference_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = referral, pg_temp AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    any_row jsonb := coalesce(new_row, old_row);
    row_key text;
BEGIN
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN NULL;
    END IF;
    row_key := CASE
        WHEN TG_TABLE_NAME = 'neighbourhood_center'
            THEN (any_row ->> 'neighbourhood_id') || '/' || (any_row ->> 'center_code')
        WHEN TG_TABLE_NAME IN ('routing_rule', 'risk_priority_rule', 'neighbourhood')
            THEN any_row ->> 'id'
        ELSE any_row ->> 'code' END;
    INSERT INTO reference_change (actor, db_role, entity, key, action, before, after)
    VALUES (coalesce(nullif(current_setting('referral.actor', true), ''), 'sql'), session_user,
            TG_TABLE_NAME, row_key, lower(TG_OP), old_row, new_row);
    RETURN NULL;
END
$$;

CREATE TRIGGER neighbourhood_audit AFTER INSERT OR UPDATE OR DELETE ON neighbourhood
    FOR EACH ROW EXECUTE FUNCTION record_reference_change();
CREATE TRIGGER neighbourhood_center_audit AFTER INSERT OR UPDATE OR DELETE ON neighbourhood_center
    FOR EACH ROW EXECUTE FUNCTION record_reference_change();

-- The neighbourhood a referral names (SubmitRequest.neighbourhood, checked
-- by the worker against its catalogue), written by the statement that
-- inserts the referral. A table of its own rather than a column: the
-- submission functions stay as they are, and a referral without one costs
-- nothing. No foreign keys, as for referral's own rows (0014): both ids
-- come from rows that are never deleted.
CREATE TABLE referral_neighbourhood (
    referral_id      bigint PRIMARY KEY,
    neighbourhood_id integer NOT NULL
);
CREATE INDEX referral_neighbourhood_idx ON referral_neighbourhood (neighbourhood_id);

-- The neighbourhood a center's county holds under a name as typed.
CREATE FUNCTION neighbourhood_named(p_county text, p_name text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT id FROM neighbourhood WHERE county_code = p_county AND name_key = canonical_text(p_name)
$$;

-- One register row (referralctl neighbourhoods import): adds or changes the
-- neighbourhood and sets the centers that serve it to p_centers (each must
-- exist and lie in the county). Returns added, changed or unchanged;
-- raises (SQLSTATE 22023) naming the field for a bad center.
CREATE FUNCTION import_neighbourhood(p_county text, p_name text, p_setting text,
                                     p_red_line boolean, p_centers integer[])
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id integer;
    v_old neighbourhood;
    v_bad integer;
    v_changed boolean := false;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM county WHERE code = p_county) THEN
        RAISE EXCEPTION 'unrecognized county "%"', p_county USING ERRCODE = '22023',
            COLUMN = 'county';
    END IF;
    SELECT c INTO v_bad FROM unnest(p_centers) c
    WHERE NOT EXISTS (SELECT 1 FROM center WHERE code = c AND county_code = p_county) LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'center "%" does not exist in county "%"', v_bad, p_county
            USING ERRCODE = '22023', COLUMN = 'centers';
    END IF;
    SELECT * INTO v_old FROM neighbourhood
    WHERE county_code = p_county AND name_key = canonical_text(p_name) FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO neighbourhood (county_code, name, setting, red_line)
        VALUES (p_county, p_name, p_setting, p_red_line) RETURNING id INTO v_id;
        INSERT INTO neighbourhood_center SELECT DISTINCT v_id, c FROM unnest(p_centers) c;
        RETURN 'added';
    END IF;
    v_id := v_old.id;
    IF v_old.name <> p_name OR v_old.setting <> p_setting OR v_old.red_line <> p_red_line THEN
        UPDATE neighbourhood SET name = p_name, setting = p_setting, red_line = p_red_line
        WHERE id = v_id;
        v_changed := true;
    END IF;
    IF EXISTS (SELECT center_code FROM neighbourhood_center WHERE neighbourhood_id = v_id
               EXCEPT SELECT unnest(p_centers))
       OR EXISTS (SELECT unnest(p_centers)
                  EXCEPT SELECT center_code FROM neighbourhood_center WHERE neighbourhood_id = v_id)
    THEN
        DELETE FROM neighbourhood_center WHERE neighbourhood_id = v_id;
        INSERT INTO neighbourhood_center SELECT DISTINCT v_id, c FROM unnest(p_centers) c;
        v_changed := true;
    END IF;
    RETURN CASE WHEN v_changed THEN 'changed' ELSE 'unchanged' END;
END
$$;

CREATE TABLE earmark (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    province_code    char(2) NOT NULL REFERENCES province (code),
    intent           donation_intent NOT NULL,
    -- One spelling per pot: "neighbourhood:<id>", "county:<code>",
    -- "service:<code>", "domain:<name>" or "unrestricted".
    target_key       text NOT NULL,
    neighbourhood_id integer REFERENCES neighbourhood (id),
    county_code      char(4) REFERENCES county (code), -- also set for a neighbourhood's pot
    domain           service_domain,
    service_code     text REFERENCES service (code),
    balance          bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (province_code, target_key),
    CHECK ((intent = 'neighbourhood') = (neighbourhood_id IS NOT NULL)),
    CHECK ((intent IN ('neighbourhood', 'county')) = (county_code IS NOT NULL)),
    CHECK ((intent = 'domain') = (domain IS NOT NULL)),
    CHECK ((intent = 'service') = (service_code IS NOT NULL))
);

-- The order an allocation draws in (lowest first): the neighbourhood's own
-- funds, then its county's, then funds given for the service, then for its
-- domain, then the province's unrestricted funds; oldest pot first within
-- a rank. The same order is the lock order: no two allocations wait on
-- each other in a cycle.
CREATE FUNCTION allocation_draw_rank(p_intent text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_intent WHEN 'neighbourhood' THEN 1 WHEN 'county' THEN 2 WHEN 'service' THEN 3
                         WHEN 'domain' THEN 4 ELSE 5 END
$$;

CREATE TABLE donation (
    donation_id    uuid PRIMARY KEY,
    center_code    integer NOT NULL REFERENCES center (code),
    amount         rials NOT NULL,
    bank_reference text NOT NULL UNIQUE CHECK (bank_reference <> ''),
    donor          text, -- NULL: anonymous
    earmark_id     bigint NOT NULL REFERENCES earmark (id),
    recorded_by    text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE allocation (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    province_code    char(2) NOT NULL REFERENCES province (code),
    decision_ref     text NOT NULL CHECK (decision_ref <> ''),
    amount           rials NOT NULL,
    purpose          text NOT NULL CHECK (purpose <> ''),
    neighbourhood_id integer REFERENCES neighbourhood (id),
    county_code      char(4) NOT NULL REFERENCES county (code),
    domain           service_domain,
    service_code     text REFERENCES service (code),
    decided_by       text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (province_code, decision_ref)
);

CREATE TABLE ledger_entry (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    earmark_id    bigint NOT NULL REFERENCES earmark (id),
    amount        bigint NOT NULL, -- rials: credit > 0 (a donation), debit < 0 (an allocation)
    donation_id   uuid REFERENCES donation (donation_id),
    allocation_id bigint REFERENCES allocation (id),
    at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((donation_id IS NOT NULL AND allocation_id IS NULL AND amount > 0)
           OR (allocation_id IS NOT NULL AND donation_id IS NULL AND amount < 0))
);
CREATE INDEX ledger_entry_earmark_idx ON ledger_entry (earmark_id);
CREATE INDEX ledger_entry_allocation_idx ON ledger_entry (allocation_id);

-- Append-only, except the no-op update an idempotent retry makes
-- (INSERT ... ON CONFLICT DO UPDATE, so that the retry's commit waits for
-- durability as the first one's did).
CREATE FUNCTION ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, lower(TG_OP)
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER donation_append_only BEFORE UPDATE OR DELETE ON donation
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER allocation_append_only BEFORE UPDATE OR DELETE ON allocation
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER donation_no_truncate BEFORE TRUNCATE ON donation
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER allocation_no_truncate BEFORE TRUNCATE ON allocation
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Every earmark's balance beside the sum of its entries: the report and the
-- tests read it; a row with reconciled = false is a bug.
CREATE VIEW earmark_reconciliation AS
SELECT e.id, e.province_code, e.target_key, e.balance,
       coalesce(sum(l.amount) FILTER (WHERE l.amount > 0), 0)::bigint AS received,
       coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0)::bigint AS allocated,
       e.balance = coalesce(sum(l.amount), 0) AS reconciled
FROM earmark e LEFT JOIN ledger_entry l ON l.earmark_id = e.id
GROUP BY e.id;

-- A center's donation (command DONATE, recorded by a worker in one
-- statement). outcome: ok (recorded now, or replayed: recorded before with
-- the same content), conflict (the id or the bank reference was used for
-- another donation; field names what differs), notfound, state (an
-- inactive center), perm (a neighbourhood the center does not serve, or
-- another county). The national-id-free text of message is the reply's.
CREATE FUNCTION record_donation(p_id uuid, p_center integer, p_amount bigint, p_bank text,
                                p_donor text, p_intent text, p_neighbourhood text,
                                p_county text, p_domain text, p_service text, p_actor text)
RETURNS TABLE (outcome text, field text, message text, replayed boolean, earmark_id bigint,
               target text, province_code char(2), recorded_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_old donation;
    v_center center;
    v_province char(2);
    v_nb integer;
    v_county char(4);
    v_key text;
    v_earmark bigint;
    v_inserted boolean;
BEGIN
    SELECT * INTO v_center FROM center WHERE code = p_center;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'notfound', 'center_code', format('unrecognized center "%s"', p_center),
            false, NULL::bigint, NULL::text, NULL::char(2), NULL::bigint;
        RETURN;
    END IF;
    SELECT k.province_code INTO v_province FROM county k WHERE k.code = v_center.county_code;
    -- The pot the intent names.
    IF p_intent = 'neighbourhood' THEN
        v_nb := neighbourhood_named(v_center.county_code, p_neighbourhood);
        IF v_nb IS NULL THEN
            RETURN QUERY SELECT 'notfound', 'neighbourhood',
                format('unrecognized neighbourhood "%s" in county "%s"', p_neighbourhood,
                       v_center.county_code), false, NULL::bigint, NULL::text, NULL::char(2),
                NULL::bigint;
            RETURN;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM neighbourhood_center
                       WHERE neighbourhood_id = v_nb AND center_code = p_center) THEN
            RETURN QUERY SELECT 'perm', 'neighbourhood',
                format('cannot record a donation for neighbourhood "%s": center "%s" does not '
                       'serve it', p_neighbourhood, p_center), false, NULL::bigint, NULL::text,
                NULL::char(2), NULL::bigint;
            RETURN;
        END IF;
        v_county := v_center.county_code;
        v_key := 'neighbourhood:' || v_nb;
    ELSIF p_intent = 'county' THEN
        IF p_county IS NOT NULL AND p_county <> v_center.county_code THEN
            RETURN QUERY SELECT 'perm', 'county_code',
                format('cannot record a donation for county "%s": center "%s" is in county "%s"',
                       p_county, p_center, v_center.county_code), false, NULL::bigint,
                NULL::text, NULL::char(2), NULL::bigint;
            RETURN;
        END IF;
        v_county := v_center.county_code;
        v_key := 'county:' || v_county;
    ELSIF p_intent = 'service' THEN
        IF NOT EXISTS (SELECT 1 FROM service WHERE code = p_service) THEN
            RETURN QUERY SELECT 'notfound', 'service_code',
                format('unrecognized service "%s"', p_service), false, NULL::bigint, NULL::text,
                NULL::char(2), NULL::bigint;
            RETURN;
        END IF;
        v_key := 'service:' || p_service;
    ELSIF p_intent = 'domain' THEN
        v_key := 'domain:' || p_domain;
    ELSE
        v_key := 'unrestricted';
    END IF;
    -- Same id: the same answer for the same content, a conflict otherwise.
    -- A replay writes WAL (migration 0017), so its commit waits for the
    -- synchronous standby as the first one did.
    SELECT * INTO v_old FROM donation WHERE donation_id = p_id;
    IF NOT FOUND THEN
        IF NOT v_center.active THEN
            RETURN QUERY SELECT 'state', 'center_code',
                format('cannot accept requests from center "%s": it is inactive', p_center),
                false, NULL::bigint, NULL::text, NULL::char(2), NULL::bigint;
            RETURN;
        END IF;
        INSERT INTO earmark AS e (province_code, intent, target_key, neighbourhood_id, county_code,
                                  domain, service_code)
        VALUES (v_province, p_intent, v_key, v_nb, v_county,
                CASE WHEN p_intent = 'domain' THEN p_domain END,
                CASE WHEN p_intent = 'service' THEN p_service END)
        ON CONFLICT ON CONSTRAINT earmark_province_code_target_key_key DO NOTHING;
        SELECT e.id INTO v_earmark FROM earmark e
        WHERE e.province_code = v_province AND e.target_key = v_key;
        BEGIN
            INSERT INTO donation (donation_id, center_code, amount, bank_reference, donor,
                                  earmark_id, recorded_by)
            VALUES (p_id, p_center, p_amount, p_bank, p_donor, v_earmark, p_actor)
            ON CONFLICT (donation_id) DO NOTHING
            RETURNING true INTO v_inserted;
        EXCEPTION WHEN unique_violation THEN
            RETURN QUERY SELECT 'conflict', 'bank_reference',
                format('cannot record donation "%s": bank transfer reference "%s" was already '
                       'recorded for donation "%s"', p_id, p_bank,
                       (SELECT d.donation_id FROM donation d WHERE d.bank_reference = p_bank)),
                false, NULL::bigint, NULL::text, NULL::char(2), NULL::bigint;
            RETURN;
        END;
        IF v_inserted THEN
            INSERT INTO ledger_entry (earmark_id, amount, donation_id)
            VALUES (v_earmark, p_amount, p_id);
            UPDATE earmark SET balance = balance + p_amount WHERE id = v_earmark;
            RETURN QUERY SELECT 'ok', ''::text, ''::text, false, v_earmark, v_key, v_province,
                (SELECT (extract(epoch FROM d.recorded_at) * 1000)::bigint FROM donation d
                 WHERE d.donation_id = p_id);
            RETURN;
        END IF;
        -- Recorded meanwhile by a concurrent copy: answer as a replay.
        SELECT * INTO v_old FROM donation WHERE donation_id = p_id;
    END IF;
    PERFORM answer_from_storage_is_durable();
    SELECT e.id, e.target_key INTO v_earmark, target FROM earmark e WHERE e.id = v_old.earmark_id;
    field := CASE WHEN v_old.center_code <> p_center THEN 'center_code'
                  WHEN v_old.amount <> p_amount THEN 'amount_rials'
                  WHEN v_old.bank_reference <> p_bank THEN 'bank_reference'
                  WHEN v_old.donor IS DISTINCT FROM p_donor THEN 'donor'
                  WHEN target <> v_key THEN 'intent' END;
    IF field IS NOT NULL THEN
        RETURN QUERY SELECT 'conflict', field,
            format('cannot record donation "%s": this donation_id was already used for a '
                   'different donation (%s differs)', p_id, field), false, NULL::bigint,
            NULL::text, NULL::char(2), NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok', ''::text, ''::text, true, v_earmark, target,
        (SELECT e.province_code FROM earmark e WHERE e.id = v_earmark),
        (extract(epoch FROM v_old.recorded_at) * 1000)::bigint;
END
$$;

-- A council decision (referralctl donations allocate): draws p_amount from
-- the earmarks its target may use, in allocation_draw_rank order, or
-- refuses. Target: a neighbourhood (p_neighbourhood, by name, in p_county)
-- or a county; optionally a service or domain, which lets it use funds
-- given for that service or domain. Returns the allocation and whether it
-- was recorded before (same decision, same content). Refusals raise:
-- 22023 a bad argument, 23505 the decision reference used for another
-- decision, 23514 not enough funds (nothing is written).
CREATE FUNCTION allocate_donations(p_province text, p_decision text, p_amount bigint,
                                   p_purpose text, p_county text, p_neighbourhood text,
                                   p_domain text, p_service text, p_actor text)
RETURNS TABLE (allocation_id bigint, replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_nb integer;
    v_domain text := p_domain;
    v_old allocation;
    v_id bigint;
    v_available bigint;
    v_left bigint := p_amount;
    v_take bigint;
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM county WHERE code = p_county AND province_code = p_province) THEN
        RAISE EXCEPTION 'county "%" is not in province "%"', p_county, p_province
            USING ERRCODE = '22023';
    END IF;
    IF p_neighbourhood IS NOT NULL THEN
        v_nb := neighbourhood_named(p_county, p_neighbourhood);
        IF v_nb IS NULL THEN
            RAISE EXCEPTION 'unrecognized neighbourhood "%" in county "%"', p_neighbourhood, p_county
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF p_service IS NOT NULL THEN
        SELECT s.domain INTO v_domain FROM service s WHERE s.code = p_service;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unrecognized service "%"', p_service USING ERRCODE = '22023';
        END IF;
        IF p_domain IS NOT NULL AND p_domain <> v_domain THEN
            RAISE EXCEPTION 'service "%" is in domain "%", not "%"', p_service, v_domain, p_domain
                USING ERRCODE = '22023';
        END IF;
    END IF;
    INSERT INTO allocation (province_code, decision_ref, amount, purpose, neighbourhood_id,
                            county_code, domain, service_code, decided_by)
    VALUES (p_province, p_decision, p_amount, p_purpose, v_nb, p_county, v_domain, p_service,
            p_actor)
    ON CONFLICT (province_code, decision_ref) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT * INTO v_old FROM allocation a
        WHERE a.province_code = p_province AND a.decision_ref = p_decision;
        IF v_old.amount <> p_amount OR v_old.purpose <> p_purpose
           OR v_old.county_code <> p_county OR v_old.neighbourhood_id IS DISTINCT FROM v_nb
           OR v_old.domain IS DISTINCT FROM v_domain
           OR v_old.service_code IS DISTINCT FROM p_service THEN
            RAISE EXCEPTION 'decision "%" of province "%" was already recorded with other content',
                p_decision, p_province USING ERRCODE = '23505';
        END IF;
        PERFORM answer_from_storage_is_durable();
        RETURN QUERY SELECT v_old.id, true;
        RETURN;
    END IF;
    -- Lock the usable pots in draw order (a global order: rank, then id),
    -- so concurrent donations to them wait and the balances read are the
    -- ones debited.
    v_available := 0;
    FOR r IN
        SELECT e.id, e.balance FROM earmark e
        WHERE e.province_code = p_province AND e.balance > 0
          AND ((e.intent = 'neighbourhood' AND e.neighbourhood_id = v_nb)
               OR (e.intent = 'county' AND e.county_code = p_county)
               OR (e.intent = 'service' AND e.service_code = p_service)
               OR (e.intent = 'domain' AND e.domain = v_domain)
               OR e.intent = 'unrestricted')
        ORDER BY allocation_draw_rank(e.intent), e.id
        FOR UPDATE
    LOOP
        EXIT WHEN v_left = 0;
        v_take := least(r.balance, v_left);
        INSERT INTO ledger_entry (earmark_id, amount, allocation_id) VALUES (r.id, -v_take, v_id);
        UPDATE earmark SET balance = balance - v_take WHERE id = r.id;
        v_left := v_left - v_take;
        v_available := v_available + r.balance;
    END LOOP;
    IF v_left > 0 THEN
        RAISE EXCEPTION 'cannot allocate % rials for decision "%": the funds it may use hold % rials',
            p_amount, p_decision, v_available USING ERRCODE = '23514';
    END IF;
    RETURN QUERY SELECT v_id, false;
END
$$;

GRANT SELECT ON neighbourhood, neighbourhood_center TO referral_worker;
GRANT SELECT, INSERT ON referral_neighbourhood TO referral_worker;
GRANT SELECT, INSERT, UPDATE ON earmark TO referral_worker;
GRANT SELECT, INSERT ON donation, ledger_entry TO referral_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON neighbourhood_center TO referral_admin;
GRANT SELECT, INSERT, UPDATE ON neighbourhood, earmark TO referral_admin;
GRANT SELECT, INSERT ON allocation, ledger_entry TO referral_admin;
GRANT SELECT ON donation, earmark_reconciliation TO referral_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA referral TO referral_worker, referral_admin;
