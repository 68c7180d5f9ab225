-- 0005: least privilege. Two group roles (NOLOGIN); deployments give login
-- users membership (CREATE ROLE w1 LOGIN IN ROLE referral_worker). The
-- migrating user owns the schema and runs `referralctl migrate`.
--   referral_worker: what the workers do, and nothing else: read the
--     catalogue; insert and update referrals, households, persons and dead
--     letters; append events and number them. No DELETE, DROP or ALTER.
--   referral_reporting: read everything (referralctl reports), write nothing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'referral_worker') THEN
        CREATE ROLE referral_worker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'referral_reporting') THEN
        CREATE ROLE referral_reporting NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA referral TO referral_worker, referral_reporting;

GRANT SELECT ON province, county, office, service, center, routing_rule, priority_sla,
                risk_priority_rule TO referral_worker;
GRANT SELECT, INSERT, UPDATE ON referral, household, person, dead_letter TO referral_worker;
GRANT SELECT, INSERT ON referral_event TO referral_worker;
GRANT UPDATE (seq) ON referral_event TO referral_worker;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA referral TO referral_worker;

GRANT SELECT ON ALL TABLES IN SCHEMA referral TO referral_reporting;
REVOKE SELECT ON schema_migrations FROM referral_reporting;

-- Tables later migrations create (as the same migrating user) are readable
-- for reporting too; each migration grants what workers need on its own.
ALTER DEFAULT PRIVILEGES IN SCHEMA referral GRANT SELECT ON TABLES TO referral_reporting;
