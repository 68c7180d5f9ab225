-- Acceptance deadlines (DOMAIN.md) and risk rules that raise priority.
-- Inserted once: the organisation's later edits are kept on re-seeding.
INSERT INTO priority_sla (priority, accept_within) VALUES
    ('stat', interval '4 hours'),
    ('asap', interval '24 hours'),
    ('urgent', interval '3 days'),
    ('routine', interval '10 days')
ON CONFLICT (priority) DO NOTHING;

-- Flags are listed in sorted order: a combination has one spelling.
INSERT INTO risk_priority_rule (flags, min_priority, note) VALUES
    ('{domestic_violence}', 'stat', 'violence at home: act now'),
    ('{child_at_risk}', 'asap', 'a child at risk'),
    ('{addiction,unemployment}', 'urgent', 'addiction with unemployment: divorce risk'),
    ('{divorce_risk}', 'urgent', 'risk of divorce'),
    ('{out_of_school_child}', 'urgent', 'a child out of school'),
    ('{disability,woman_head_of_household}', 'urgent', 'disabled member, woman-headed household')
ON CONFLICT (flags) DO NOTHING;
