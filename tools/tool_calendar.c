// Jalali <-> Gregorian days through ICU's calendars (see tool_calendar.h).
// Days are civil dates at midnight UTC: the reports count days in UTC.
#include "tool_calendar.h"

#include "rr_format.h"
#include "rr_text.h"

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include <stdio.h>
#include <string.h>

static UCalendar *
open_calendar(const char *locale)
{
    UChar zone[4];
    u_uastrcpy(zone, "UTC");
    UErrorCode st = U_ZERO_ERROR;
    UCalendar *cal = ucal_open(zone, -1, locale, UCAL_DEFAULT, &st);
    if (U_FAILURE(st)) {
        return NULL;
    }
    ucal_setAttribute(cal, UCAL_LENIENT, 0); // 1405/13/01 is an error, not 1406/01/01
    return cal;
}

// The instant of day y/m/d in the calendar of locale; false when no such day.
static bool
to_millis(const char *locale, int y, int m, int d, UDate *ms)
{
    UCalendar *cal = open_calendar(locale);
    if (cal == NULL) {
        return false;
    }
    UErrorCode st = U_ZERO_ERROR;
    ucal_clear(cal);
    ucal_setDate(cal, y, m - 1, d, &st);
    *ms = ucal_getMillis(cal, &st);
    ucal_close(cal);
    return U_SUCCESS(st);
}

static bool
from_millis(const char *locale, UDate ms, int *y, int *m, int *d)
{
    UCalendar *cal = open_calendar(locale);
    if (cal == NULL) {
        return false;
    }
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(cal, ms, &st);
    *y = ucal_get(cal, UCAL_YEAR, &st);
    *m = ucal_get(cal, UCAL_MONTH, &st) + 1;
    *d = ucal_get(cal, UCAL_DATE, &st);
    ucal_close(cal);
    return U_SUCCESS(st);
}

static const char PERSIAN[] = "fa_IR@calendar=persian";
static const char GREGORIAN[] = "en_US@calendar=gregorian";

// Reads exactly "NNNN" sep "NN" sep "NN".
static bool
read_ymd(const char *s, char sep, int *y, int *m, int *d)
{
    if (strlen(s) != TOOL_DATE_LEN || s[4] != sep || s[7] != sep) {
        return false;
    }
    for (int i = 0; i < TOOL_DATE_LEN; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return false;
        }
    }
    return sscanf(s, sep == '-' ? "%4d-%2d-%2d" : "%4d/%2d/%2d", y, m, d) == 3;
}

bool
tool_calendar_parse(const char *text, char iso[TOOL_DATE_LEN + 1], const char **why)
{
    char ascii[64];
    size_t len = 0;
    // "۱۴۰۵/۰۹/۰۱" as typed on a Persian keyboard: ASCII digits first.
    if (rr_text_canon(text, strlen(text), ascii, sizeof ascii, &len, NULL) != RR_OK) {
        *why = "expected a date, YYYY-MM-DD (Gregorian) or YYYY/MM/DD (Solar Hijri)";
        return false;
    }
    int y = 0, m = 0, d = 0;
    UDate ms = 0;
    if (read_ymd(ascii, '/', &y, &m, &d)) {
        if (!to_millis(PERSIAN, y, m, d, &ms) || !from_millis(GREGORIAN, ms, &y, &m, &d)) {
            *why = "no such day in the Solar Hijri calendar";
            return false;
        }
    } else if (read_ymd(ascii, '-', &y, &m, &d)) {
        if (!to_millis(GREGORIAN, y, m, d, &ms)) {
            *why = "no such day in the Gregorian calendar";
            return false;
        }
    } else {
        *why = "expected a date, YYYY-MM-DD (Gregorian) or YYYY/MM/DD (Solar Hijri)";
        return false;
    }
    return rr_format_exact(iso, TOOL_DATE_LEN + 1, "%04d-%02d-%02d", y, m, d) == RR_OK;
}

bool
tool_calendar_format(const char *iso, tool_calendar calendar, char out[TOOL_DATE_LEN + 1])
{
    int y = 0, m = 0, d = 0;
    UDate ms = 0;
    if (!read_ymd(iso, '-', &y, &m, &d) || !to_millis(GREGORIAN, y, m, d, &ms)) {
        return false;
    }
    if (calendar == TOOL_CALENDAR_GREGORIAN) {
        return rr_format_exact(out, TOOL_DATE_LEN + 1, "%04d-%02d-%02d", y, m, d) == RR_OK;
    }
    if (!from_millis(PERSIAN, ms, &y, &m, &d)) {
        return false;
    }
    return rr_format_exact(out, TOOL_DATE_LEN + 1, "%04d/%02d/%02d", y, m, d) == RR_OK;
}
