// PostgreSQL's notices and warnings (RAISE NOTICE, "relation already exists,
// skipping", deprecation warnings) through the project's logger instead of
// libpq's default, which writes raw lines to stderr and would break a JSON
// log's one object per line.
#ifndef WRK_PGLOG_H
#define WRK_PGLOG_H

#include <libpq-fe.h>

// Sends conn's notices to rr_log: WARNING as warn, NOTICE, INFO and LOG as
// info, DEBUG as debug. Safe on a connection still being made; NULL is a no-op.
void wrk_pglog_attach(PGconn *conn);

#endif
