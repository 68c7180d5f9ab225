-- 0004: requests that could not be processed, kept with the error they
-- hit, for operators to read, retry or drop (referralctl dead-letters).
-- The body is the center's request as it came (personal data: it stays in
-- the database like the referral would have).
CREATE TABLE dead_letter (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id    uuid NOT NULL,
    center_code   integer,
    domain        text NOT NULL CHECK (domain IN ('prevention', 'rehabilitation', 'social')),
    service_code  text NOT NULL DEFAULT '',
    body          bytea NOT NULL,
    error_code    text NOT NULL,
    error_message text NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'retried', 'dropped')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- One open dead letter per request: a center's retries count as attempts.
CREATE UNIQUE INDEX dead_letter_open_request ON dead_letter (request_id) WHERE state = 'open';
CREATE INDEX dead_letter_state_idx ON dead_letter (state, id);
