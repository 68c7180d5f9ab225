// Dates as Iranian offices write them: the Solar Hijri (Jalali) calendar
// beside the Gregorian one, converted by ICU's Persian calendar (no
// arithmetic of our own). Pure.
#ifndef TOOL_CALENDAR_H
#define TOOL_CALENDAR_H

#include <stdbool.h>

#define TOOL_DATE_LEN 10 // "YYYY-MM-DD" or "YYYY/MM/DD"

typedef enum tool_calendar {
    TOOL_CALENDAR_JALALI,    // 1405/09/01
    TOOL_CALENDAR_GREGORIAN, // 2026-11-22
} tool_calendar;

// Reads a day typed in either calendar: "YYYY-MM-DD" is Gregorian,
// "YYYY/MM/DD" is Solar Hijri; Persian or Arabic-Indic digits are read as
// ASCII. Writes the Gregorian "YYYY-MM-DD" into iso. False for anything
// else, or a day that does not exist (1405/12/30, 2025-02-29), with *why a
// static reason.
bool tool_calendar_parse(const char *text, char iso[TOOL_DATE_LEN + 1], const char **why);

// Writes the Gregorian day iso ("YYYY-MM-DD") in calendar into out. False
// when iso is not such a day.
bool tool_calendar_format(const char *iso, tool_calendar calendar, char out[TOOL_DATE_LEN + 1]);

#endif
