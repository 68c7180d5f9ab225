// `referralctl reference-log`: the reference_change audit, newest first,
// an update shown as the fields it changed.
#include "tool_reflog.h"

#include "tool_refdb.h"
#include "tool_filter.h"

#include <stdio.h>
#include <string.h>

// clang-format off
static const char LOG_SQL[] =
    "SELECT x.id, to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at,"
    "       x.actor, x.db_role, x.entity, x.key, x.action,"
    "       CASE x.action"
    "           WHEN 'update' THEN (SELECT string_agg(k || ': ' || coalesce(x.before -> k, 'null')"
    "                                                 || ' -> ' || coalesce(x.after -> k, 'null'),"
    "                                                 '; ' ORDER BY k)"
    "                               FROM jsonb_object_keys(x.after) k"
    "                               WHERE x.before -> k IS DISTINCT FROM x.after -> k)"
    "           WHEN 'insert' THEN x.after::text ELSE x.before::text END AS change"
    " FROM reference_change x"
    " WHERE ($1::text IS NULL OR x.entity = $1) AND ($2::text IS NULL OR x.key = $2)"
    " ORDER BY x.id DESC LIMIT $3";
// clang-format on

static const char *const ENTITIES[] = {"center",
                                       "office",
                                       "service",
                                       "routing_rule",
                                       "risk_priority_rule",
                                       "neighbourhood",
                                       "neighbourhood_center"};

int
tool_reflog_main(int argc, char **argv)
{
    const char *db = NULL, *entity = NULL, *key = NULL, *format_name = NULL;
    long limit = 50;
    rr_opt opts[] = {
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", &db, 0,
         0},
        {"entity", RR_OPT_STRING, NULL, "",
         "only changes to center, office, service, routing_rule, risk_priority_rule, "
         "neighbourhood or neighbourhood_center",
         &entity, 0, 0},
        {"key", RR_OPT_STRING, NULL, "",
         "only changes to the row with this code, rule or neighbourhood id", &key, 0, 0},
        {"limit", RR_OPT_INT, NULL, "50", "at most this many changes, newest first", &limit, 1,
         100000},
        {"format", RR_OPT_STRING, NULL, "table", "table or csv", &format_name, 0, 0},
    };
    int first = 0, rc = TOOL_EXIT_USAGE;
    if (!tool_refdb_parse("referralctl reference-log",
                          "referralctl reference-log: who changed the reference data, when, and "
                          "how (newest first)",
                          opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first, &rc)) {
        return rc;
    }
    tool_db_format format = TOOL_DB_TABLE;
    if (first != argc) {
        fprintf(stderr, "unexpected argument \"%s\"; try \"referralctl reference-log --help\"\n",
                argv[first]);
        return TOOL_EXIT_USAGE;
    }
    if (!tool_filter_check("", "", format_name, &format)) {
        return TOOL_EXIT_USAGE;
    }
    bool known = entity[0] == '\0';
    for (size_t i = 0; i < sizeof ENTITIES / sizeof ENTITIES[0]; i++) {
        known = known || strcmp(entity, ENTITIES[i]) == 0;
    }
    if (!known) {
        fprintf(stderr,
                "invalid value \"%s\" for --entity: expected center, office, service, "
                "routing_rule, risk_priority_rule, neighbourhood or neighbourhood_center\n",
                entity);
        return TOOL_EXIT_USAGE;
    }
    char limit_text[24];
    int n = snprintf(limit_text, sizeof limit_text, "%ld", limit);
    (void) n; // a long always fits
    PGconn *conn = tool_db_connect(db);
    if (conn == NULL) {
        return TOOL_EXIT_REFUSED;
    }
    const char *params[3] = {entity[0] ? entity : NULL, key[0] ? key : NULL, limit_text};
    rc = tool_refdb_list(conn, "read the reference log", LOG_SQL, 3, params, format);
    PQfinish(conn);
    return rc;
}
