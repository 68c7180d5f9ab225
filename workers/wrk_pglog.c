// libpq notice receiver. A receiver (not a processor) sees the severity
// as a field, so a WARNING is not logged as an info line.
#define RR_LOG_MODULE "postgres"
#include "wrk_pglog.h"

#include "rr_log.h"

#include <string.h>

static void
on_notice(void *arg, const PGresult *res)
{
    (void) arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (severity == NULL) {
        severity = "NOTICE";
    }
    rr_log_level level = RR_LOG_INFO;
    if (strcmp(severity, "WARNING") == 0) {
        level = RR_LOG_WARN;
    } else if (strcmp(severity, "DEBUG") == 0) {
        level = RR_LOG_DEBUG;
    }
    rr_log_write(level, RR_LOG_MODULE, "%s: %s (SQLSTATE %s)", severity,
                 message ? message : "(no message)", sqlstate ? sqlstate : "?");
}

void
wrk_pglog_attach(PGconn *conn)
{
    if (conn != NULL) {
        PQsetNoticeReceiver(conn, on_notice, NULL);
    }
}
