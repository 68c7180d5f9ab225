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

-- A request is either recorded or dead-lettered, never both: both paths take
-- the request's transaction lock, and the dead-letter path checks for the
-- referral after taking it (a new statement, so a fresh snapshot).
CREATE FUNCTION dead_letter_request(
    p_request_id uuid, p_center integer, p_domain text, p_service text, p_body bytea,
    p_code text, p_message text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(p_request_id::text));
    IF EXISTS (SELECT 1 FROM referral WHERE request_id = p_request_id) THEN
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
