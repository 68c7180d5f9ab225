// `referralctl neighbourhood profile|show|history`. profile reads a JSON
// file into a ProfileRequest and sends it as the center (PROFILE); show and
// history read neighbourhood_profile (migration 0019), days in the Solar
// Hijri calendar by default.
#include "tool_profile.h"

#include "cli_nbhd.h"
#include "rr_config.h"
#include "rr_format.h"
#include "rr_uuid.h"
#include "tool_calendar.h"
#include "tool_client.h"
#include "tool_db.h"
#include "tool_filter.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: referralctl neighbourhood profile --center C --neighbourhood NAME --file PROFILE.json\n"
    "           [--base VERSION] [--id UUID]\n"
    "       referralctl neighbourhood show ID|NAME [--county C] [--calendar jalali|gregorian]\n"
    "       referralctl neighbourhood history ID [--calendar jalali|gregorian]\n";

typedef struct profile_opts {
    const char *broker, *key_file, *broker_key, *db, *center, *neighbourhood, *file, *id, *county,
        *calendar;
    long base, timeout_ms, attempts;
} profile_opts;

// The profile's lists, each an array of protobuf items pointing into the
// JSON document (which must outlive them).
typedef struct profile_lists {
    Rr__V1__ProfileCapacity *caps, **capp;
    Rr__V1__ProfileAsset *assets, **assetp;
    Rr__V1__ProfileNeed *needs, **needp;
    Rr__V1__ProfileParticipant *parts, **partp;
    char days[3][TOOL_DATE_LEN + 1];
} profile_lists;

static const char *
text_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void
lists_free(profile_lists *l)
{
    free(l->caps);
    free(l->capp);
    free(l->assets);
    free(l->assetp);
    free(l->needs);
    free(l->needp);
    free(l->parts);
    free(l->partp);
}

// One list of the file: its items (n of them, in *items, each size bytes,
// and the pointer array). False when out of memory or over the limit.
static bool
list_alloc(const json_t *doc, const char *key, size_t size, void **items, void ***ptrs, size_t *n)
{
    const json_t *a = json_object_get(doc, key);
    *n = json_is_array(a) ? json_array_size(a) : 0;
    if (*n > RR_WIRE_MAX_PROFILE_ITEMS) {
        fprintf(stderr, "too many %s in the file: %zu, limit %d\n", key, *n,
                RR_WIRE_MAX_PROFILE_ITEMS);
        return false;
    }
    *items = calloc(*n + 1, size);
    *ptrs = calloc(*n + 1, sizeof **ptrs);
    for (size_t i = 0; *items && *ptrs && i < *n; i++) {
        (*ptrs)[i] = (char *) *items + i * size;
    }
    return *items != NULL && *ptrs != NULL;
}

// Fills p from doc: {"capacities": [{"kind", "name", "note"}], "assets":
// [{"name", "note"}], "needs": [{"rank", "need", "service_code"}],
// "participants": [{"role", "count"}], and the three "*_assessed_on" days
// in either calendar}. False after printing why.
static bool
read_profile(const json_t *doc, Rr__V1__ProfileRequest *p, profile_lists *l)
{
    if (!list_alloc(doc, "capacities", sizeof *l->caps, (void **) &l->caps, (void ***) &l->capp,
                    &p->n_capacities) ||
        !list_alloc(doc, "assets", sizeof *l->assets, (void **) &l->assets, (void ***) &l->assetp,
                    &p->n_assets) ||
        !list_alloc(doc, "needs", sizeof *l->needs, (void **) &l->needs, (void ***) &l->needp,
                    &p->n_needs) ||
        !list_alloc(doc, "participants", sizeof *l->parts, (void **) &l->parts,
                    (void ***) &l->partp, &p->n_participants)) {
        return false;
    }
    static const char *const KINDS[] = {"organisation", "place", "programme"};
    for (size_t i = 0; i < p->n_capacities; i++) {
        const json_t *o = json_array_get(json_object_get(doc, "capacities"), i);
        rr__v1__profile_capacity__init(&l->caps[i]);
        for (int k = 0; k < 3; k++) {
            if (strcmp(text_of(o, "kind"), KINDS[k]) == 0) {
                l->caps[i].kind = (Rr__V1__CapacityKind) (k + 1);
            }
        }
        l->caps[i].name = (char *) text_of(o, "name");
        l->caps[i].note = (char *) text_of(o, "note");
    }
    for (size_t i = 0; i < p->n_assets; i++) {
        const json_t *o = json_array_get(json_object_get(doc, "assets"), i);
        rr__v1__profile_asset__init(&l->assets[i]);
        l->assets[i].name = (char *) text_of(o, "name");
        l->assets[i].note = (char *) text_of(o, "note");
    }
    for (size_t i = 0; i < p->n_needs; i++) {
        const json_t *o = json_array_get(json_object_get(doc, "needs"), i);
        rr__v1__profile_need__init(&l->needs[i]);
        json_int_t rank = json_integer_value(json_object_get(o, "rank"));
        l->needs[i].rank = rank > 0 && rank <= 1000 ? (uint32_t) rank : 0;
        l->needs[i].need = (char *) text_of(o, "need");
        l->needs[i].service_code = (char *) text_of(o, "service_code");
    }
    for (size_t i = 0; i < p->n_participants; i++) {
        const json_t *o = json_array_get(json_object_get(doc, "participants"), i);
        rr__v1__profile_participant__init(&l->parts[i]);
        json_int_t count = json_integer_value(json_object_get(o, "count"));
        l->parts[i].role = (char *) text_of(o, "role");
        l->parts[i].count = count > 0 && count <= RR_WIRE_MAX_PARTICIPANTS ? (uint32_t) count : 0;
    }
    p->capacities = l->capp;
    p->assets = l->assetp;
    p->needs = l->needp;
    p->participants = l->partp;
    static const char *const DAYS[3] = {"capacity_assessed_on", "asset_assessed_on",
                                        "needs_assessed_on"};
    char **fields[3] = {&p->capacity_assessed_on, &p->asset_assessed_on, &p->needs_assessed_on};
    for (int k = 0; k < 3; k++) {
        const char *typed = text_of(doc, DAYS[k]);
        const char *why = NULL;
        if (typed[0] != '\0' && !tool_calendar_parse(typed, l->days[k], &why)) {
            fprintf(stderr, "invalid %s \"%s\": %s\n", DAYS[k], typed, why);
            return false;
        }
        *fields[k] = typed[0] != '\0' ? l->days[k] : "";
    }
    return true;
}

static int
send_profile(const profile_opts *o)
{
    char *end = NULL;
    unsigned long center = strtoul(o->center, &end, 10);
    if (o->center[0] == '\0' || *end != '\0' || center == 0 || center > UINT32_MAX ||
        o->neighbourhood[0] == '\0' || o->file[0] == '\0') {
        fprintf(stderr, "neighbourhood profile needs --center, --neighbourhood and --file\n");
        return TOOL_EXIT_USAGE;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(o->file, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        fprintf(stderr, "cannot read %s: %s (line %d)\n", o->file,
                doc ? "not a JSON object" : jerr.text, jerr.line);
        json_decref(doc);
        return TOOL_EXIT_USAGE;
    }
    Rr__V1__ProfileRequest p = RR__V1__PROFILE_REQUEST__INIT;
    profile_lists l = {0};
    char id[40];
    int rc = TOOL_EXIT_USAGE;
    cli_center *client = NULL;
    if (!read_profile(doc, &p, &l)) {
        goto done;
    }
    if (o->id[0]) {
        rr_format_fits(id, sizeof id, "%s", o->id);
    } else {
        rr_uuid_generate(id);
    }
    p.update_id = id;
    p.center_code = (uint32_t) center;
    p.neighbourhood = (char *) o->neighbourhood;
    p.base_version = (uint32_t) o->base;
    client = tool_client_open(o->broker, o->key_file, o->broker_key);
    if (client == NULL) {
        goto done;
    }
    Rr__V1__ProfileReply *reply = NULL;
    rr_wire_error err = {0};
    rr_status st = cli_center_profile(client, &p, o->timeout_ms, (int) o->attempts, &reply, &err);
    rc = TOOL_EXIT_FAILED;
    if (st != RR_OK) {
        printf("%s %s %s: %s\n", id, rr_status_name((int) err.code), err.field, err.message);
    } else if (reply->status != RR__V1__STATUS__STATUS_OK) {
        printf("%s %s %s: %s\n", id, rr_status_name((int) reply->status),
               reply->error ? reply->error->field : "", reply->error ? reply->error->message : "");
    } else {
        printf("%s %s version %u of neighbourhood %u\n", id,
               reply->replayed ? "replayed" : "recorded", reply->version, reply->neighbourhood_id);
        rc = TOOL_EXIT_DONE;
    }
    rr_wire_free(reply);
done:
    cli_center_destroy(&client);
    lists_free(&l);
    json_decref(doc);
    return rc;
}

// The neighbourhood typed: an id, or a name (canonical, in --county when
// given). $1 the text, $2 the county or NULL.
static const char RESOLVE_SQL[] =
    "SELECT n.id FROM neighbourhood n WHERE CASE WHEN $1 ~ '^[0-9]{1,9}$'"
    " THEN n.id = $1::integer ELSE n.name_key = canonical_text($1)"
    " AND ($2::text IS NULL OR n.county_code = $2) END ORDER BY n.id";

// The latest version's head and the "within a month" rule: the three
// assessments are due 30 days after the neighbourhood was selected (its
// registration in the register, reference_change of 0018).
static const char HEAD_SQL[] =
    "WITH p AS (SELECT * FROM neighbourhood_profile WHERE neighbourhood_id = $1::integer"
    "           ORDER BY version DESC LIMIT 1),"
    " sel AS (SELECT coalesce((SELECT min(at) FROM reference_change WHERE entity ="
    "         'neighbourhood' AND key = $1::integer::text AND action = 'insert'), (SELECT "
    "min(recorded_at)"
    "         FROM neighbourhood_profile WHERE neighbourhood_id = $1::integer), now()) AS at),"
    " d AS (SELECT (sel.at AT TIME ZONE 'UTC')::date AS selected,"
    "       (sel.at AT TIME ZONE 'UTC')::date + 30 AS due FROM sel)"
    " SELECT n.id, n.name AS neighbourhood, n.county_code AS county, n.setting,"
    "        CASE WHEN n.red_line THEN 'yes' ELSE 'no' END AS red_line, p.version,"
    "        to_char(p.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS recorded_on,"
    "        p.center_code AS center, p.recorded_by,"
    "        to_char(p.capacity_assessed_on, 'YYYY-MM-DD') AS capacity_assessed_on,"
    "        to_char(p.asset_assessed_on, 'YYYY-MM-DD') AS asset_assessed_on,"
    "        to_char(p.needs_assessed_on, 'YYYY-MM-DD') AS needs_assessed_on,"
    "        to_char(d.selected, 'YYYY-MM-DD') AS selected_on, to_char(d.due, 'YYYY-MM-DD') AS "
    "due_on,"
    "        CASE WHEN p.capacity_assessed_on IS NULL OR p.asset_assessed_on IS NULL"
    "                  OR p.needs_assessed_on IS NULL"
    "             THEN CASE WHEN (now() AT TIME ZONE 'UTC')::date > d.due THEN 'OVERDUE: an"
    " assessment is missing past 30 days' ELSE 'incomplete: an assessment is missing' END"
    "             WHEN greatest(p.capacity_assessed_on, p.asset_assessed_on,"
    "                           p.needs_assessed_on) > d.due"
    "             THEN 'LATE: completed after 30 days' ELSE 'complete within 30 days' END"
    "        AS within_a_month"
    " FROM neighbourhood n CROSS JOIN d LEFT JOIN p ON true WHERE n.id = $1::integer";

// The latest version's body, then one of its lists.
#define LATEST                                                                                     \
    "WITH latest AS (SELECT body FROM neighbourhood_profile WHERE neighbourhood_id = $1::integer"  \
    " ORDER BY version DESC LIMIT 1) "
static const char *const SECTIONS[][2] = {
    {"capacities", LATEST "SELECT e ->> 'kind' AS kind, e ->> 'name' AS name,"
                          " coalesce(e ->> 'note', '') AS note"
                          " FROM latest, jsonb_array_elements(latest.body -> 'capacities') e"},
    {"assets", LATEST "SELECT e ->> 'name' AS name, coalesce(e ->> 'note', '') AS note"
                      " FROM latest, jsonb_array_elements(latest.body -> 'assets') e"},
    {"needs, as the community ranked them",
     LATEST "SELECT (e ->> 'rank')::integer AS rank, e ->> 'need' AS need,"
            " coalesce(e ->> 'service_code', '') AS service"
            " FROM latest, jsonb_array_elements(latest.body -> 'needs') e ORDER BY 1"},
    {"who took part", LATEST "SELECT e ->> 'role' AS role, (e ->> 'count')::integer AS count"
                             " FROM latest, jsonb_array_elements(latest.body -> 'participants') e"},
};

static const char HISTORY_SQL[] =
    "SELECT p.version, p.base_version AS replaces,"
    " to_char(p.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS recorded_on,"
    " to_char(p.recorded_at AT TIME ZONE 'UTC', 'HH24:MI') AS utc, p.center_code AS center,"
    " p.recorded_by, p.update_id, jsonb_array_length(p.body -> 'capacities') AS capacities,"
    " jsonb_array_length(p.body -> 'assets') AS assets,"
    " jsonb_array_length(p.body -> 'needs') AS needs,"
    " to_char(p.needs_assessed_on, 'YYYY-MM-DD') AS needs_assessed_on"
    " FROM neighbourhood_profile p WHERE p.neighbourhood_id = $1::integer ORDER BY p.version";

static const char *const DAY_COLUMNS[] = {"recorded_on",
                                          "capacity_assessed_on",
                                          "asset_assessed_on",
                                          "needs_assessed_on",
                                          "selected_on",
                                          "due_on",
                                          NULL};

static bool
print_rows(const PGresult *res, tool_calendar calendar)
{
    tool_filter_days days = {calendar, DAY_COLUMNS};
    tool_db_cells cells = {tool_filter_day_cell, &days};
    return tool_db_print_cells(stdout, res, TOOL_DB_TABLE, &cells) == RR_OK;
}

// The head's one row as "name  value" lines: fifteen columns do not fit a
// table's width.
static bool
print_head(const PGresult *res, tool_calendar calendar)
{
    tool_filter_days days = {calendar, DAY_COLUMNS};
    for (int c = 0; c < PQnfields(res); c++) {
        char buf[TOOL_DATE_LEN + 1];
        const char *v = tool_filter_day_cell(&days, res, c, PQgetvalue(res, 0, c), buf, sizeof buf);
        if (printf("%-21s %s\n", PQfname(res, c), v) < 0) {
            return false;
        }
    }
    return true;
}

static int
read_profile_db(const profile_opts *o, const char *typed, bool history)
{
    tool_calendar calendar = TOOL_CALENDAR_JALALI;
    if (!tool_filter_calendar(o->calendar, &calendar)) {
        return TOOL_EXIT_USAGE;
    }
    PGconn *conn = tool_db_connect(o->db);
    if (conn == NULL) {
        return TOOL_EXIT_FAILED;
    }
    int rc = TOOL_EXIT_FAILED;
    const char *params[2] = {typed, tool_filter_or_null(o->county)};
    PGresult *res = tool_db_query(conn, "find the neighbourhood", RESOLVE_SQL, 2, params);
    if (res == NULL) {
        goto done;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr, "%s neighbourhood \"%s\"%s\n",
                PQntuples(res) == 0 ? "unrecognized" : "ambiguous", typed,
                PQntuples(res) == 0 ? "" : ": several counties have it (give --county or the id)");
        goto done;
    }
    char id[16];
    rr_format_fits(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *idp = id;
    if (history) {
        res = tool_db_query(conn, "read the profile's history", HISTORY_SQL, 1, &idp);
        rc = res != NULL && print_rows(res, calendar) ? TOOL_EXIT_DONE : TOOL_EXIT_FAILED;
        goto done;
    }
    res = tool_db_query(conn, "read the profile", HEAD_SQL, 1, &idp);
    if (res == NULL || PQntuples(res) != 1 || !print_head(res, calendar)) {
        goto done;
    }
    if (PQgetisnull(res, 0, 5)) {
        printf("no profile recorded yet\n");
        rc = TOOL_EXIT_DONE;
        goto done;
    }
    for (size_t k = 0; k < sizeof SECTIONS / sizeof SECTIONS[0]; k++) {
        PQclear(res);
        res = tool_db_query(conn, "read the profile", SECTIONS[k][1], 1, &idp);
        printf("\n%s\n", SECTIONS[k][0]);
        if (res == NULL || !print_rows(res, calendar)) {
            goto done;
        }
    }
    rc = TOOL_EXIT_DONE;
done:
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int
tool_profile_main(int argc, char **argv)
{
    profile_opts o = {0};
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "profile: broker front-end endpoints, comma-separated", &o.broker, 0, 0},
        TOOL_CURVE_OPTS(&o.key_file, &o.broker_key),
        {"db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "show, history: libpq connection",
         &o.db, 0, 0},
        {"center", RR_OPT_STRING, NULL, "", "profile: the recording center's code", &o.center, 0,
         0},
        {"neighbourhood", RR_OPT_STRING, NULL, "", "profile: the neighbourhood, by name",
         &o.neighbourhood, 0, 0},
        {"file", RR_OPT_STRING, NULL, "", "profile: the profile as JSON (docs/OPERATIONS.md)",
         &o.file, 0, 0},
        {"base", RR_OPT_INT, NULL, "0", "profile: the version it replaces (0: the first)", &o.base,
         0, 1000000},
        {"id", RR_OPT_STRING, NULL, "", "profile: the update id (default: a new UUID)", &o.id, 0,
         0},
        {"county", RR_OPT_STRING, NULL, "", "show: the county of a name (four digits)", &o.county,
         0, 0},
        {"calendar", RR_OPT_STRING, NULL, "jalali", "days printed as jalali or gregorian",
         &o.calendar, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "profile: wait per attempt, ms",
         &o.timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "3", "profile: attempts", &o.attempts, 1,
         100},
    };
    int first = 0;
    rr_status st = rr_config_parse("referralctl neighbourhood",
                                   "referralctl neighbourhood profile|show|history: a "
                                   "neighbourhood's profile (شناسنامه محله)",
                                   opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return TOOL_EXIT_DONE;
    }
    if (st != RR_OK) {
        return TOOL_EXIT_USAGE;
    }
    const char *sub = first < argc ? argv[first] : "";
    if (argc - first == 1 && strcmp(sub, "profile") == 0) {
        return send_profile(&o);
    }
    if (argc - first == 2 && (strcmp(sub, "show") == 0 || strcmp(sub, "history") == 0)) {
        return read_profile_db(&o, argv[first + 1], strcmp(sub, "history") == 0);
    }
    fputs(USAGE, stderr);
    return TOOL_EXIT_USAGE;
}
