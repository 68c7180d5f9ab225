-- Acceptance deadlines (DOMAIN.md) per priority and owner level, and risk
-- rules that raise priority. Inserted once: the organisation's later edits
-- are kept on re-seeding.
INSERT INTO priority_sla (priority, level, accept_within) VALUES
    ('stat', 'county', interval '4 hours'),
    ('asap', 'county', interval '24 hours'),
    ('urgent', 'county', interval '3 days'),
    ('routine', 'county', interval '10 days')
ON CONFLICT (priority, level) DO NOTHING;
-- A province office gets the county's times (docs/DOMAIN.md, "Deadlines
-- follow the owner"), counted from when it takes the referral over.
INSERT INTO priority_sla (priority, level, accept_within)
SELECT priority, 'province', accept_within FROM priority_sla WHERE level = 'county'
ON CONFLICT (priority, level) DO NOTHING;

-- Flags are listed in sorted order: a combination has one spelling.
INSERT INTO risk_priority_rule (flags, min_priority, note) VALUES
    ('{domestic_violence}', 'stat', 'violence at home: act now'),
    ('{child_at_risk}', 'asap', 'a child at risk'),
    ('{addiction,unemployment}', 'urgent', 'addiction with unemployment: divorce risk'),
    ('{divorce_risk}', 'urgent', 'risk of divorce'),
    ('{out_of_school_child}', 'urgent', 'a child out of school'),
    ('{disability,woman_head_of_household}', 'urgent', 'disabled member, woman-headed household')
ON CONFLICT (flags) DO NOTHING;
