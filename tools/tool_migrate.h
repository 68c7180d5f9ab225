// `referralctl migrate`: applies db/migrations in order, once each
// (tracked in referral.schema_migrations), then loads db/seed.
#ifndef TOOL_MIGRATE_H
#define TOOL_MIGRATE_H

#include <stddef.h>

int tool_migrate_main(int argc, char **argv);

// Reads a whole file (at most 64 MiB) into a NUL-terminated buffer the
// caller frees, its length in *len (len may be NULL). NULL after printing
// why to stderr.
char *tool_migrate_read_file(const char *path, size_t *len);

#endif
