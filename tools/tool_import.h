// `referralctl centers import`: the center register from a CSV file, in one
// transaction (a temporary table filled by COPY, then one UPDATE and one
// INSERT), with a report of what was added, changed, left alone and refused.
#ifndef TOOL_IMPORT_H
#define TOOL_IMPORT_H

#include <libpq-fe.h>
#include <stdbool.h>

// Imports path on conn as actor. Valid rows are applied together (or, with
// dry_run, counted and rolled back); refused rows are listed with their
// line, field and reason. Returns the exit status: 0 every row applied, 1
// some row refused (the others applied) or the database failed, 2 the file
// could not be read or its header is wrong (nothing applied).
int tool_centers_import(PGconn *conn, const char *actor, const char *path, bool dry_run);

#endif
