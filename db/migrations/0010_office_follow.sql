-- 0010: offices follow their work (FOLLOW with office_code): the events
-- that left a referral with an office, by cursor, and the moves (forward,
-- escalation) that took one away. Both are read in seq order from a cursor.
CREATE INDEX referral_event_office_seq_idx ON referral_event (office_code, seq)
    WHERE seq IS NOT NULL;
CREATE INDEX referral_event_moves_seq_idx ON referral_event (seq)
    WHERE kind IN ('forward', 'escalate') AND seq IS NOT NULL;
