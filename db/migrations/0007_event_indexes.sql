-- 0007: a submission's first event carried three index entries for
-- nothing: update_id is NULL except on status changes, and seq is NULL
-- until the follow-up numbers the event. Indexes over the non-null values
-- keep the same rules (update_id and seq unique) and serve the same
-- queries (a seq > n condition implies seq IS NOT NULL), and a new event
-- writes three index entries instead of six.
ALTER TABLE referral_event DROP CONSTRAINT referral_event_update_id_key,
                           DROP CONSTRAINT referral_event_seq_key;
DROP INDEX referral_event_center_seq_idx;
CREATE UNIQUE INDEX referral_event_update_id_key ON referral_event (update_id)
    WHERE update_id IS NOT NULL;
CREATE UNIQUE INDEX referral_event_seq_key ON referral_event (seq) WHERE seq IS NOT NULL;
CREATE INDEX referral_event_center_seq_idx ON referral_event (center_code, seq)
    WHERE seq IS NOT NULL;
