-- 0020 (issue 18, point 6): the client's satisfaction with a completed
-- referral, "the people are the best evaluators". (0019 is another change's.)
--   * referral_rating: at most one per referral (UNIQUE referral_id), made by
--     the center that made the referral, idempotent by rating_id; a score on
--     a five-point scale and an optional one-line comment, compared in
--     canonical form (comment_key) so that a retry typed with Arabic kaf or
--     yeh is the same comment. Append-only: a rating is the client's word at
--     one moment and is not edited afterwards.
--   * record_rating: the checks and the insert in one statement (the
--     worker's RATE), answering with an outcome word as record_donation does.

CREATE DOMAIN satisfaction_score AS smallint CHECK (VALUE BETWEEN 1 AND 5);

CREATE TABLE referral_rating (
    rating_id   uuid PRIMARY KEY,
    referral_id bigint NOT NULL UNIQUE REFERENCES referral (id),
    center_code integer NOT NULL REFERENCES center (code),
    score       satisfaction_score NOT NULL,
    comment     text NOT NULL DEFAULT '' CHECK (octet_length(comment) <= 1000),
    comment_key text GENERATED ALWAYS AS (canonical_text(comment)) STORED,
    recorded_by text NOT NULL,
    rated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_rating_center_idx ON referral_rating (center_code);

-- 0018's ledger_append_only names the table and the operation refused.
CREATE TRIGGER referral_rating_append_only BEFORE UPDATE OR DELETE ON referral_rating
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER referral_rating_no_truncate BEFORE TRUNCATE ON referral_rating
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Records center p_center's rating p_id of referral p_referral. outcome is
-- 'ok' (replayed: the same rating_id with the same content was recorded
-- before) or a refusal word with the field at fault: 'notfound' (no such
-- center; no such referral, or another center's that this one has never
-- been shown — the two cannot be told apart, as for STATUS), 'perm'
-- (another center's referral this one knows from a duplicate answer),
-- 'state' (the referral is not completed), 'conflict' (the rating_id used
-- for other content, naming the first field that differs; or the referral
-- already rated under another rating_id).
CREATE FUNCTION record_rating(p_id uuid, p_center integer, p_referral bigint, p_score integer,
                              p_comment text, p_actor text)
RETURNS TABLE (outcome text, field text, message text, replayed boolean, score integer,
               rated_at_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_ref referral;
    v_old referral_rating;
    v_inserted boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM center c WHERE c.code = p_center) THEN
        RETURN QUERY SELECT 'notfound', 'center_code', format('unrecognized center "%s"', p_center),
            false, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    SELECT * INTO v_ref FROM referral r WHERE r.id = p_referral;
    IF NOT FOUND OR (v_ref.center_code <> p_center AND NOT EXISTS (
            SELECT 1 FROM duplicate_answer d
            WHERE d.referral_id = p_referral AND d.center_code = p_center)) THEN
        RETURN QUERY SELECT 'notfound', 'referral_id',
            format('referral "R-%s" does not exist', p_referral), false, NULL::integer,
            NULL::bigint;
        RETURN;
    END IF;
    IF v_ref.center_code <> p_center THEN
        RETURN QUERY SELECT 'perm', 'referral_id',
            format('cannot rate referral "R-%s": it was made by center "%s"; only that center '
                   'records its client''s satisfaction', p_referral, v_ref.center_code),
            false, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    IF v_ref.status <> 'completed' THEN
        RETURN QUERY SELECT 'state', 'referral_id',
            format('cannot rate referral "R-%s": it is %s, not completed', p_referral,
                   v_ref.status), false, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO referral_rating (rating_id, referral_id, center_code, score, comment, recorded_by)
    VALUES (p_id, p_referral, p_center, p_score, coalesce(p_comment, ''), p_actor)
    ON CONFLICT DO NOTHING
    RETURNING true INTO v_inserted;
    IF v_inserted THEN
        RETURN QUERY SELECT 'ok', ''::text, ''::text, false, p_score,
            (SELECT (extract(epoch FROM g.rated_at) * 1000)::bigint FROM referral_rating g
             WHERE g.rating_id = p_id);
        RETURN;
    END IF;
    -- Not inserted: this rating_id, or this referral, is taken (by an
    -- earlier attempt or a concurrent one, committed by now: READ COMMITTED
    -- gives this statement a fresh snapshot). An answer read from storage,
    -- a replay or "already rated", writes WAL so that its commit waits for
    -- the standby as the first one's did (0017).
    PERFORM answer_from_storage_is_durable();
    SELECT * INTO v_old FROM referral_rating g WHERE g.rating_id = p_id;
    IF NOT FOUND THEN
        SELECT * INTO v_old FROM referral_rating g WHERE g.referral_id = p_referral;
        RETURN QUERY SELECT 'conflict', 'referral_id',
            format('cannot rate referral "R-%s": it was already rated (rating "%s")', p_referral,
                   v_old.rating_id), false, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    field := CASE WHEN v_old.center_code <> p_center THEN 'center_code'
                  WHEN v_old.referral_id <> p_referral THEN 'referral_id'
                  WHEN v_old.score <> p_score THEN 'score'
                  WHEN v_old.comment_key <> canonical_text(coalesce(p_comment, '')) THEN 'comment'
             END;
    IF field IS NOT NULL THEN
        RETURN QUERY SELECT 'conflict', field,
            format('cannot record rating "%s": this rating_id was already used for a different '
                   'rating (%s differs)', p_id, field), false, NULL::integer, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok', ''::text, ''::text, true, v_old.score::integer,
        (extract(epoch FROM v_old.rated_at) * 1000)::bigint;
END
$$;

GRANT SELECT, INSERT ON referral_rating TO referral_worker;
GRANT SELECT ON referral_rating TO referral_admin;
