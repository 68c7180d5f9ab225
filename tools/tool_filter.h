// The options referralctl's database reports share, and their checks: the
// area (province, county), an owning office, days typed in either calendar
// and the output format. Messages go to stderr, worded as the reports'.
#ifndef TOOL_FILTER_H
#define TOOL_FILTER_H

#include "rr_config.h"
#include "tool_calendar.h"
#include "tool_db.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

// Exit statuses of a report: done, failed (database, or a named thing that
// does not exist), usage error.
#define TOOL_EXIT_DONE   0
#define TOOL_EXIT_FAILED 1
#define TOOL_EXIT_USAGE  2

// A timestamptz column as UTC ISO 8601, e.g. 2025-03-01T13:00:00Z.
#define TOOL_UTC_TEXT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// The rr_opt entries of --db (env REFERRAL_DB), and of --since and --until
// (read them with tool_filter_day).
#define TOOL_FILTER_DB_OPT(db)                                                                     \
    {                                                                                              \
        "db", RR_OPT_STRING, "REFERRAL_DB", "dbname=referral", "libpq connection string", (db), 0, \
            0                                                                                      \
    }
#define TOOL_FILTER_DAY_OPTS(since, until)                                                         \
    {"since",                                                                                      \
     RR_OPT_STRING,                                                                                \
     NULL,                                                                                         \
     "",                                                                                           \
     "only referrals created on or after this day (UTC): 1405/09/01 (Solar Hijri) or "             \
     "2026-11-22 (Gregorian)",                                                                     \
     (since),                                                                                      \
     0,                                                                                            \
     0},                                                                                           \
    {                                                                                              \
        "until", RR_OPT_STRING, NULL, "", "only referrals created on or before this day (UTC)",    \
            (until), 0, 0                                                                          \
    }

// The rr_opt entries of --province and --county, the area of the centers
// that made the referrals (a report over the whole country without them).
#define TOOL_FILTER_AREA_OPTS(province, county)                                                    \
    {"province",                                                                                   \
     RR_OPT_STRING,                                                                                \
     NULL,                                                                                         \
     "",                                                                                           \
     "province of the centers (two digits; default: the whole country)",                           \
     (province),                                                                                   \
     0,                                                                                            \
     0},                                                                                           \
    {                                                                                              \
        "county", RR_OPT_STRING, NULL, "", "only centers in this county (four digits)", (county),  \
            0, 0                                                                                   \
    }

// The rr_opt entries of --calendar (read it with tool_filter_calendar) and
// --format (tool_filter_check).
#define TOOL_FILTER_OUTPUT_OPTS(calendar, format)                                                  \
    {"calendar",                                                                                   \
     RR_OPT_STRING,                                                                                \
     NULL,                                                                                         \
     "jalali",                                                                                     \
     "days printed as jalali or gregorian",                                                        \
     (calendar),                                                                                   \
     0,                                                                                            \
     0},                                                                                           \
    {                                                                                              \
        "format", RR_OPT_STRING, NULL, "table", "output: table or csv", (format), 0, 0             \
    }

// rr_config_parse for a report. False when the command ends here with
// *exit_code set (after --help, or a usage error already printed).
bool tool_filter_options(const char *program, const char *summary, rr_opt *opts, int count,
                         int argc, char **argv, int *first_arg, int *exit_code);

// Checks --province (two digits), --county (four) and --format (table or
// csv, into *format); "" means the filter is unset. False after printing
// why.
bool tool_filter_check(const char *province, const char *county, const char *format_name,
                       tool_db_format *format);

// Reads --office as a person types it (tool_code) into code (cap bytes);
// "" stays unset. False after printing why when it is not an office code.
bool tool_filter_office(const char *typed, char *code, size_t cap);

// True when the province, the county (inside that province) and the
// office named (each "" when unset) exist; otherwise prints which does not
// and returns false (a typo would otherwise print an empty report).
bool tool_filter_exist(PGconn *conn, const char *province, const char *county, const char *office);

// Reads --OPTION's day typed in either calendar into iso (Gregorian
// "YYYY-MM-DD"); "" stays unset. False after printing why.
bool tool_filter_day(const char *option, const char *text, char iso[TOOL_DATE_LEN + 1]);

// A whole report after its options are checked: connects to conninfo,
// checks that the province, county and office named exist
// (tool_filter_exist), runs sql (WHAT it does, for the error) with params
// and prints its rows to stdout in format, each cell through cells (NULL:
// as stored). Returns the exit status.
int tool_filter_report(const char *conninfo, const char *province, const char *county,
                       const char *office, const char *what, const char *sql, int nparams,
                       const char *const *params, tool_db_format format,
                       const tool_db_cells *cells);

// Reads --calendar: "jalali" or "gregorian" into *calendar. False after
// printing why.
bool tool_filter_calendar(const char *name, tool_calendar *calendar);

// The cells of a report's day columns ("YYYY-MM-DD" from SQL) printed in
// calendar: a column is a day when its name is one of names (NULL-ended).
typedef struct tool_filter_days {
    tool_calendar calendar;
    const char *const *names;
} tool_filter_days;

// A tool_db_cells text function for ctx a tool_filter_days.
const char *tool_filter_day_cell(void *ctx, const PGresult *res, int c, const char *value,
                                 char *buf, size_t cap);

// s, or NULL (an SQL NULL parameter: no filter) when s is "".
const char *tool_filter_or_null(const char *s);

#endif
