-- 0001: geography, offices, the service catalogue, centers, routing rules,
-- referrals and their append-only history. Everything lives in schema
-- "referral"; every connection pins search_path to it.

CREATE TABLE province (
    code        char(2) PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    name_fa     text NOT NULL,
    name_en     text NOT NULL
);

CREATE TABLE county (
    code          char(4) PRIMARY KEY CHECK (code ~ '^[0-9]{4}$'),
    province_code char(2) NOT NULL REFERENCES province (code),
    name_fa       text NOT NULL,
    name_en       text NOT NULL
);
CREATE INDEX county_province_idx ON county (province_code);

-- A welfare office: one per county ("CO-<county>") and one per province
-- ("PO-<province>"), which takes what a county cannot handle.
CREATE TABLE office (
    code          text PRIMARY KEY CHECK (code ~ '^(CO-[0-9]{4}|PO-[0-9]{2})$'),
    kind          text NOT NULL CHECK (kind IN ('county', 'province')),
    province_code char(2) NOT NULL REFERENCES province (code),
    county_code   char(4) REFERENCES county (code),
    name_fa       text NOT NULL,
    name_en       text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    CHECK ((kind = 'county') = (county_code IS NOT NULL))
);
CREATE UNIQUE INDEX office_one_per_county ON office (county_code) WHERE kind = 'county';
CREATE UNIQUE INDEX office_one_per_province ON office (province_code) WHERE kind = 'province';

CREATE TABLE service (
    code      text PRIMARY KEY CHECK (code ~ '^[A-Z]{3}-[0-9]{2}$'),
    domain    text NOT NULL CHECK (domain IN ('prevention', 'rehabilitation', 'social')),
    name_en   text NOT NULL,
    name_fa   text NOT NULL,
    active    boolean NOT NULL DEFAULT true
);

-- A Positive Life center (مرکز مثبت زندگی).
CREATE TABLE center (
    code          integer PRIMARY KEY CHECK (code > 0),
    county_code   char(4) NOT NULL REFERENCES county (code),
    neighbourhood text NOT NULL DEFAULT '',
    name          text NOT NULL,
    active        boolean NOT NULL DEFAULT true
);

-- Routing overrides. A rule matches when each of its non-null criteria equals
-- the request's; the most specific match wins (see workers/wrk_route.c);
-- without a match the referral goes to the center's county office.
CREATE TABLE routing_rule (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_code  text REFERENCES service (code),
    province_code char(2) REFERENCES province (code),
    county_code   char(4) REFERENCES county (code),
    priority      text CHECK (priority IN ('routine', 'urgent', 'asap', 'stat')),
    office_code   text NOT NULL REFERENCES office (code),
    note          text NOT NULL DEFAULT '',
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE referral (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id    uuid NOT NULL,
    center_code   integer NOT NULL REFERENCES center (code),
    household_id  text NOT NULL,
    national_id   char(10) NOT NULL CHECK (national_id ~ '^[0-9]{10}$'),
    service_code  text NOT NULL REFERENCES service (code),
    domain        text NOT NULL CHECK (domain IN ('prevention', 'rehabilitation', 'social')),
    priority      text NOT NULL CHECK (priority IN ('routine', 'urgent', 'asap', 'stat')),
    risk_flags    text[] NOT NULL DEFAULT '{}',
    note          text NOT NULL DEFAULT '',
    consent       boolean NOT NULL CHECK (consent),
    office_code   text NOT NULL REFERENCES office (code),
    routing_rule_id integer REFERENCES routing_rule (id),
    status        text NOT NULL DEFAULT 'requested'
                  CHECK (status IN ('requested', 'received', 'accepted', 'in-progress', 'on-hold',
                                    'completed', 'rejected', 'failed', 'cancelled')),
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- The idempotency key: a retried submission finds the first row.
    CONSTRAINT referral_request_id_key UNIQUE (request_id)
);
CREATE INDEX referral_center_idx ON referral (center_code, id);
CREATE INDEX referral_household_idx ON referral (household_id);
CREATE INDEX referral_office_idx ON referral (office_code, status);

-- Every change of a referral, append-only: the first row is the submission.
CREATE TABLE referral_event (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    referral_id  bigint NOT NULL REFERENCES referral (id),
    from_status  text,
    to_status    text NOT NULL,
    actor        text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_event_referral_idx ON referral_event (referral_id, id);

-- History is append-only: refuse UPDATE and DELETE on events.
CREATE FUNCTION referral_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'referral_event is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER referral_event_no_change BEFORE UPDATE OR DELETE ON referral_event
    FOR EACH ROW EXECUTE FUNCTION referral_event_append_only();
