// Dead letters: reading them (through tool_db, read-only), submitting one
// again through the broker under its own request_id (so a retry can never
// make a second referral), and marking it retried or dropped.
#include "tool_deadletters.h"

#include "cli_center.h"
#include "tool_client.h"
#include "rr_config.h"
#include "rr_vocab.h"
#include "rr_wire.h"
#include "tool_db.h"
#include "tool_request.h"
#include "wrk_pglog.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char LIST_SQL[] =
    "SELECT id, request_id, center_code AS center, domain, service_code AS service,"
    " error_code, coalesce(sqlstate, '') AS sqlstate, attempts, state,"
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_failed"
    " FROM dead_letter WHERE $1 = 'all' OR state = $1 ORDER BY id";

static const char SHOW_SQL[] =
    "SELECT id, request_id, center_code, domain, service_code, error_code, error_message,"
    " attempts, state, encode(body, 'hex'),"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " cause, coalesce(retried_by, ''),"
    " coalesce(to_char(retried_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
    " FROM dead_letter WHERE id = $1::bigint";

// Decodes the stored request; NULL when it is not a SubmitRequest. The
// caller frees with rr__v1__submit_request__free_unpacked.
static Rr__V1__SubmitRequest *
decode_body(const char *hex)
{
    size_t n = strlen(hex) / 2;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(buf);
            return NULL;
        }
        buf[i] = (uint8_t) v;
    }
    Rr__V1__SubmitRequest *req = NULL;
    rr_wire_error err;
    if (rr_wire_unpack(buf, n, &req, &err) != RR_OK && req != NULL) {
        // Field checks may fail (that may be why it is here): keep it anyway.
    }
    free(buf);
    return req;
}

static PGresult *
fetch_one(PGconn *conn, const char *id)
{
    const char *p[1] = {id};
    PGresult *res = tool_db_query(conn, "read the dead letter", SHOW_SQL, 1, p);
    if (res != NULL && PQntuples(res) != 1) {
        fprintf(stderr, "dead letter \"%s\" does not exist\n", id);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int
show(PGconn *conn, const char *id)
{
    PGresult *res = fetch_one(conn, id);
    if (res == NULL) {
        return 1;
    }
    printf("dead letter  %s (%s)\nrequest_id   %s\ncenter       %s\ndomain       %s\n"
           "service      %s\nerror        %s: %s\ncause        %s\nattempts     %s\n"
           "first failed %s\nlast failed  %s\n",
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 1),
           PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
           PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6),
           PQgetvalue(res, 0, 12)[0] ? PQgetvalue(res, 0, 12)
                                     : "not the database's: the workers that took it died",
           PQgetvalue(res, 0, 7), PQgetvalue(res, 0, 10), PQgetvalue(res, 0, 11));
    if (PQgetvalue(res, 0, 13)[0] != '\0') {
        printf("retried      by %s at %s\n", PQgetvalue(res, 0, 13), PQgetvalue(res, 0, 14));
    }
    Rr__V1__SubmitRequest *req = decode_body(PQgetvalue(res, 0, 9));
    if (req != NULL) {
        size_t nid = req->national_id ? strlen(req->national_id) : 0;
        printf("request      household %s, priority %s, national id ******%s, %zu risk flag(s), "
               "note of %zu bytes\n",
               req->household_id,
               rr_priority_name(req->priority) ? rr_priority_name(req->priority) : "routine",
               nid >= 4 ? req->national_id + nid - 4 : "", req->n_risk_flags,
               req->note ? strlen(req->note) : 0);
        rr_wire_free(req);
    }
    PQclear(res);
    return 0;
}

// True when the dead letter is marked retried (by the worker that recorded
// an operator's retry).
static bool
already_retried(PGconn *conn, const char *id)
{
    const char *p[1] = {id};
    PGresult *res = PQexecParams(conn,
                                 "SELECT retried_by FROM referral.dead_letter"
                                 " WHERE id = $1::bigint AND state = 'retried'",
                                 1, NULL, p, NULL, NULL, 0);
    bool yes = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (yes) {
        printf("dead letter %s retried by %s\n", id,
               PQgetisnull(res, 0, 0) ? "its center" : PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return yes;
}

// Marks a dead letter; false (printed) when it is not open any more.
static bool
mark(const char *conninfo, const char *id, const char *state)
{
    PGconn *conn = PQconnectdb(conninfo);
    wrk_pglog_attach(conn);
    bool ok = false;
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "could not connect to the database: %s", PQerrorMessage(conn));
    } else {
        const char *p[2] = {id, state};
        PGresult *res =
            PQexecParams(conn,
                         "UPDATE referral.dead_letter SET state = $2, updated_at = now()"
                         " WHERE id = $1::bigint AND state = 'open'",
                         2, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "could not mark dead letter \"%s\": %s", id, PQresultErrorMessage(res));
        } else if (strcmp(PQcmdTuples(res), "1") == 0) {
            ok = true;
        } else {
            fprintf(stderr, "cannot mark dead letter \"%s\" %s: it is not open\n", id, state);
        }
        PQclear(res);
    }
    PQfinish(conn);
    return ok;
}

static int
retry(PGconn *conn, const char *conninfo, const char *id, const char *broker, const char *key_file,
      const char *broker_key, long timeout_ms)
{
    PGresult *res = fetch_one(conn, id);
    if (res == NULL) {
        return 1;
    }
    if (strcmp(PQgetvalue(res, 0, 8), "open") != 0) {
        fprintf(stderr, "cannot retry dead letter \"%s\": it is %s\n", id, PQgetvalue(res, 0, 8));
        PQclear(res);
        return 1;
    }
    Rr__V1__SubmitRequest *req = decode_body(PQgetvalue(res, 0, 9));
    PQclear(res);
    if (req == NULL) {
        fprintf(stderr, "cannot retry dead letter \"%s\": its request is unreadable\n", id);
        return 1;
    }
    cli_center *client = tool_client_open(broker, key_file, broker_key);
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err = {0};
    int rc = 1;
    if (client != NULL && cli_center_submit(client, req, timeout_ms, 3, &reply, &err) == RR_OK) {
        tool_request_print_reply(stdout, reply, false);
        if (reply->outcome == RR__V1__OUTCOME__OUTCOME_ACCEPTED ||
            reply->outcome == RR__V1__OUTCOME__OUTCOME_DUPLICATE) {
            // An operator's retry was marked by the worker, naming them (a
            // read is enough to see it); a center's key leaves it to us.
            rc = already_retried(conn, id) || mark(conninfo, id, "retried") ? 0 : 1;
        }
        rr_wire_free(reply);
    } else {
        fprintf(stderr, "%s: %s\n", rr_status_name(err.code), err.message);
    }
    cli_center_destroy(&client);
    rr_wire_free(req);
    return rc;
}

int
tool_deadletters_main(int argc, char **argv)
{
    const char *db = NULL, *broker = NULL, *state = NULL, *format_name = NULL;
    const char *key_file = NULL, *broker_key = NULL;
    long timeout_ms = 0;
    int first = 0;
    rr_opt opts[] = {
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", &db, 0,
         0},
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoint (for retry)", &broker, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"state", RR_OPT_STRING, NULL, "open", "list: open, retried, dropped or all", &state, 0, 0},
        {"format", RR_OPT_STRING, NULL, "table", "list: table or csv", &format_name, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "retry: wait per attempt, ms",
         &timeout_ms, 10, 600000},
    };
    rr_status st = rr_config_parse("referralctl dead-letters",
                                   "referralctl dead-letters list | show ID | retry ID | drop ID: "
                                   "requests that could not be processed",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return 0;
    }
    tool_db_format format;
    if (st != RR_OK || first >= argc || tool_db_format_parse(format_name, &format) != RR_OK) {
        fprintf(stderr, "usage: referralctl dead-letters list [--state S] | show ID | retry ID | "
                        "drop ID\n");
        return 2;
    }
    const char *action = argv[first];
    const char *id = first + 1 < argc ? argv[first + 1] : NULL;
    bool needs_id = strcmp(action, "list") != 0;
    if ((needs_id && (id == NULL || first + 2 != argc)) || (!needs_id && first + 1 != argc)) {
        fprintf(stderr, "usage: referralctl dead-letters list [--state S] | show ID | retry ID | "
                        "drop ID\n");
        return 2;
    }
    if (needs_id) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(id, &end, 10);
        if (errno != 0 || *end != '\0' || v <= 0) {
            fprintf(stderr, "invalid dead letter id \"%s\": expected a number\n", id);
            return 2;
        }
    }
    PGconn *conn = tool_db_connect(db);
    if (conn == NULL) {
        return 1;
    }
    int rc = 2;
    if (strcmp(action, "list") == 0) {
        const char *p[1] = {state};
        PGresult *res = tool_db_query(conn, "list dead letters", LIST_SQL, 1, p);
        rc = res != NULL && tool_db_print(stdout, res, format) == RR_OK ? 0 : 1;
        PQclear(res);
    } else if (strcmp(action, "show") == 0) {
        rc = show(conn, id);
    } else if (strcmp(action, "retry") == 0) {
        rc = retry(conn, db, id, broker, key_file, broker_key, timeout_ms);
    } else if (strcmp(action, "drop") == 0) {
        PGresult *res = fetch_one(conn, id);
        rc = res != NULL && mark(db, id, "dropped") ? 0 : 1;
        if (rc == 0) {
            printf("dead letter %s dropped\n", id);
        }
        PQclear(res);
    } else {
        fprintf(stderr, "unrecognized action \"%s\": expected list, show, retry or drop\n", action);
    }
    PQfinish(conn);
    return rc;
}
