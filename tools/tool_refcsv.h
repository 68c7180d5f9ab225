// The center register as a CSV file (RFC 4180): reading records, the header
// that names the columns, each row checked into a center or refused with its
// line, field and reason, and codes that appear twice. Pure: the caller
// reads the file and says which counties exist.
#ifndef TOOL_REFCSV_H
#define TOOL_REFCSV_H

#include <stdbool.h>
#include <stddef.h>

#define TOOL_CSV_MAX_FIELDS 8 // fields kept per record; more are counted, not kept

// One record. Fields are NUL-terminated copies in the caller's scratch
// buffer, unquoted ("" inside quotes is one "); len excludes the NUL (a
// field may hold NUL bytes: the length says where it ends).
typedef struct tool_csv_record {
    size_t line;  // the line the record starts on, counting from 1
    size_t count; // fields in the record (field[] keeps the first TOOL_CSV_MAX_FIELDS)
    const char *field[TOOL_CSV_MAX_FIELDS];
    size_t len[TOOL_CSV_MAX_FIELDS];
    const char *error; // NULL, or why the record is malformed (a static phrase)
} tool_csv_record;

// Reads the record that starts at data[*pos] (n bytes in all) and moves *pos
// past it and *line to the line after it. A record ends at an LF or CRLF
// outside quotes, or at the end of data. A malformed record (a quote inside
// an unquoted field, text after a closing quote, a quote never closed) sets
// rec->error and resumes at the next line. scratch must hold n + 1 bytes.
// False at the end of data (no record read).
bool tool_csv_next(const char *data, size_t n, size_t *pos, size_t *line, char *scratch,
                   tool_csv_record *rec);

// True when rec is an empty line (which the import skips).
bool tool_csv_blank(const tool_csv_record *rec);

// Where each column of the center register is: an index into the record,
// or -1 when the header does not name it (only "active" may be missing).
typedef struct tool_center_columns {
    int code, county, neighbourhood, name, active;
    size_t count; // columns in the header
} tool_center_columns;

#define TOOL_REFUSAL_REASON_BYTES 200

// Why a row (or the header) was refused: the line, the field ("row" for
// the record as a whole) and a reason in the style of our messages.
typedef struct tool_refusal {
    size_t line;
    const char *field;
    char reason[TOOL_REFUSAL_REASON_BYTES];
} tool_refusal;

// Reads the header: the column names code, county, neighbourhood, name and
// optionally active, in any order. False with *why (line 1, field "header")
// for an unknown, repeated or missing column.
bool tool_center_header(const tool_csv_record *rec, tool_center_columns *cols, tool_refusal *why);

#define TOOL_CENTER_NAME_MAX_BYTES          400
#define TOOL_CENTER_NEIGHBOURHOOD_MAX_BYTES 200
#define TOOL_COUNTY_CODE_LEN                4

// A center as a row of the register asks for it.
typedef struct tool_center_row {
    size_t line;
    long code; // 1 .. INT32_MAX
    char county[TOOL_COUNTY_CODE_LEN + 1];
    char neighbourhood[TOOL_CENTER_NEIGHBOURHOOD_MAX_BYTES + 1];
    char name[TOOL_CENTER_NAME_MAX_BYTES + 1];
    int active; // 1, 0, or -1 when the row does not say (an existing center keeps its state)
} tool_center_row;

// Reads a center code as typed: a number from 1 to INT32_MAX, Persian or
// Arabic-Indic digits read as ASCII, spaces around it dropped. False with
// *why (field "code", at line).
bool tool_center_code_read(const char *typed, size_t len, size_t line, long *code,
                           tool_refusal *why);

// Does the county with this four-digit code exist? (The caller's lookup.)
typedef bool (*tool_county_exists_fn)(void *ctx, const char *code);

// Checks one data record: the field count, then code (a positive number;
// Persian or Arabic-Indic digits are read as ASCII), county (four digits,
// existing), name (not empty), neighbourhood, active ("true"/"false", any
// case, or empty). Texts must pass rr_text_check (UTF-8, no control or bidi
// override character) and fit their limit; spaces around them are dropped.
// True fills *row; false fills *why with the first problem found.
bool tool_center_row_check(const tool_csv_record *rec, const tool_center_columns *cols,
                           tool_county_exists_fn county_exists, void *ctx, tool_center_row *row,
                           tool_refusal *why);

// Finds codes that more than one row of rows (n) asks for: every such row
// is refused (the file does not say which one is right). Writes one
// refusal per such row into why (room for n) and sets dup[i] for each.
// Returns how many rows were refused. False only when out of memory.
bool tool_center_rows_duplicates(const tool_center_row *rows, size_t n, bool *dup,
                                 tool_refusal *why, size_t *refused);

// Where each column of the neighbourhood register is (-1: absent; only
// red_line and centers may be).
typedef struct tool_nbhd_columns {
    int county, name, setting, red_line, centers;
    size_t count; // columns in the header
} tool_nbhd_columns;

// Reads the neighbourhood register's header: county, name, setting and
// optionally red_line and centers, in any order. False with *why.
bool tool_nbhd_header(const tool_csv_record *rec, tool_nbhd_columns *cols, tool_refusal *why);

#define TOOL_NBHD_NAME_MAX_BYTES 200
#define TOOL_NBHD_MAX_CENTERS    32

// A neighbourhood as a row of the register asks for it.
typedef struct tool_nbhd_row {
    size_t line;
    char county[TOOL_COUNTY_CODE_LEN + 1];
    char name[TOOL_NBHD_NAME_MAX_BYTES + 1]; // as written; the database keys it canonically
    bool rural;                              // setting: urban (false) or rural (true)
    bool red_line;                           // marginal or high-risk ("red-line") area
    long centers[TOOL_NBHD_MAX_CENTERS];     // the centers that serve it
    size_t n_centers;
} tool_nbhd_row;

// Checks one data record of the neighbourhood register: the field count,
// county (four digits, Persian digits read as ASCII), name (clean text, not
// empty, at most 200 bytes), setting ("urban" or "rural"), red_line
// ("true"/"false", any case; empty is false), centers (center codes
// separated by ";" or spaces, at most 32). Whether the county and the
// centers exist is the database's check. True fills *row; false fills
// *why with the first problem.
bool tool_nbhd_row_check(const tool_csv_record *rec, const tool_nbhd_columns *cols,
                         tool_nbhd_row *row, tool_refusal *why);

#endif
