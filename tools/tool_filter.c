// The options referralctl's database reports share, and their checks.
#include "tool_filter.h"

#include "rr_principal.h"
#include "tool_client.h"
#include "tool_refcheck.h"

#include <stdio.h>
#include <string.h>

bool
tool_filter_options(const char *program, const char *summary, rr_opt *opts, int count, int argc,
                    char **argv, int *first_arg, int *exit_code)
{
    rr_status st = rr_config_parse(program, summary, opts, count, argc, argv, first_arg);
    if (st == RR_ESHUTDOWN) {
        *exit_code = TOOL_EXIT_DONE;
        return false;
    }
    if (st != RR_OK) {
        *exit_code = TOOL_EXIT_USAGE;
        return false;
    }
    return true;
}

bool
tool_filter_check(const char *province, const char *county, const char *format_name,
                  tool_db_format *format)
{
    if (province[0] != '\0' && !tool_refcheck_digits(province, 2)) {
        fprintf(stderr, "invalid value \"%s\" for --province: expected a two-digit province code\n",
                province);
        return false;
    }
    if (county[0] != '\0' && !tool_refcheck_digits(county, 4)) {
        fprintf(stderr, "invalid value \"%s\" for --county: expected a four-digit county code\n",
                county);
        return false;
    }
    if (tool_db_format_parse(format_name, format) != RR_OK) {
        fprintf(stderr, "invalid value \"%s\" for --format: expected table or csv\n", format_name);
        return false;
    }
    return true;
}

bool
tool_filter_office(const char *typed, char *code, size_t cap)
{
    code[0] = '\0';
    if (typed[0] == '\0') {
        return true;
    }
    const char *canon = tool_code(typed, code, cap);
    char principal[RR_PRINCIPAL_MAX + 1];
    if (!rr_principal_of_office(canon, principal)) {
        fprintf(stderr,
                "invalid value \"%s\" for --office: expected an office code (CO-2301, PO-23)\n",
                typed);
        return false;
    }
    if (canon != code) {
        (void) snprintf(code, cap, "%s", canon); // valid office codes fit: checked above
    }
    return true;
}

bool
tool_filter_exist(PGconn *conn, const char *province, const char *county, const char *office)
{
    const char *params[3] = {tool_filter_or_null(province), tool_filter_or_null(county),
                             tool_filter_or_null(office)};
    PGresult *res = tool_db_query(conn, "look up the province, county and office",
                                  "SELECT (SELECT count(*) FROM province WHERE code = $1),"
                                  " (SELECT province_code FROM county WHERE code = $2),"
                                  " (SELECT count(*) FROM office WHERE code = $3)",
                                  3, params);
    if (res == NULL) {
        return false;
    }
    bool ok = false;
    if (params[0] != NULL && strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        fprintf(stderr, "province \"%s\" does not exist\n", province);
    } else if (params[1] != NULL && PQgetisnull(res, 0, 1)) {
        fprintf(stderr, "county \"%s\" does not exist\n", county);
    } else if (params[0] != NULL && params[1] != NULL &&
               strcmp(PQgetvalue(res, 0, 1), province) != 0) {
        fprintf(stderr, "county \"%s\" is not in province \"%s\"\n", county, province);
    } else if (params[2] != NULL && strcmp(PQgetvalue(res, 0, 2), "0") == 0) {
        fprintf(stderr, "office \"%s\" does not exist\n", office);
    } else {
        ok = true;
    }
    PQclear(res);
    return ok;
}

bool
tool_filter_day(const char *option, const char *text, char iso[TOOL_DATE_LEN + 1])
{
    iso[0] = '\0';
    const char *why = NULL;
    if (text[0] != '\0' && !tool_calendar_parse(text, iso, &why)) {
        fprintf(stderr, "invalid value \"%s\" for --%s: %s\n", text, option, why);
        return false;
    }
    return true;
}

int
tool_filter_report(const char *conninfo, const char *province, const char *county,
                   const char *office, const char *what, const char *sql, int nparams,
                   const char *const *params, tool_db_format format, const tool_db_cells *cells)
{
    PGconn *conn = tool_db_connect(conninfo);
    if (conn == NULL) {
        return TOOL_EXIT_FAILED;
    }
    int rc = TOOL_EXIT_FAILED;
    PGresult *res = NULL;
    if (tool_filter_exist(conn, province, county, office) &&
        (res = tool_db_query(conn, what, sql, nparams, params)) != NULL) {
        rc = tool_db_print_cells(stdout, res, format, cells) == RR_OK ? TOOL_EXIT_DONE
                                                                      : TOOL_EXIT_FAILED;
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}

const char *
tool_filter_or_null(const char *s)
{
    return s[0] == '\0' ? NULL : s;
}

bool
tool_filter_calendar(const char *name, tool_calendar *calendar)
{
    if (strcmp(name, "gregorian") == 0) {
        *calendar = TOOL_CALENDAR_GREGORIAN;
        return true;
    }
    if (strcmp(name, "jalali") == 0) {
        *calendar = TOOL_CALENDAR_JALALI;
        return true;
    }
    fprintf(stderr, "invalid value \"%s\" for --calendar: expected jalali or gregorian\n", name);
    return false;
}

const char *
tool_filter_day_cell(void *ctx, const PGresult *res, int c, const char *value, char *buf,
                     size_t cap)
{
    const tool_filter_days *days = ctx;
    const char *name = PQfname(res, c);
    bool day = false;
    for (size_t i = 0; days->names[i] != NULL && !day; i++) {
        day = strcmp(name, days->names[i]) == 0;
    }
    if (!day || value[0] == '\0' || cap <= TOOL_DATE_LEN ||
        !tool_calendar_format(value, days->calendar, buf)) {
        return value;
    }
    return buf;
}
