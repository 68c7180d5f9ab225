// `referralctl migrate`: applies db/migrations in order, once each
// (tracked in referral.schema_migrations), then loads db/seed.
#ifndef TOOL_MIGRATE_H
#define TOOL_MIGRATE_H

int tool_migrate_main(int argc, char **argv);

#endif
