// Reading the center register (see tool_refcsv.h): an RFC 4180 record
// reader, the header, and each row's checks. Pure.
#include "tool_refcsv.h"

#include "rr_text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Room for a canonical code: generous, since a typed code may carry
// invisible characters that canonicalisation drops.
#define CODE_CAP 64

static bool __attribute__((format(printf, 4, 5)))
refuse(tool_refusal *why, size_t line, const char *field, const char *fmt, ...)
{
    why->line = line;
    why->field = field;
    va_list ap;
    va_start(ap, fmt);
    // clang 14 misreads va_start in a static variadic function it inlines.
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    int n = vsnprintf(why->reason, sizeof why->reason, fmt, ap);
    va_end(ap);
    // Values in reasons are short codes; a long one is cut, and the reason
    // still says what was wrong.
    (void) n;
    return false;
}

// Skips to the byte after the next LF (or to the end), counting lines.
static void
skip_line(const char *data, size_t n, size_t *pos, size_t *line)
{
    while (*pos < n && data[*pos] != '\n') {
        (*pos)++;
    }
    if (*pos < n) {
        (*pos)++;
        (*line)++;
    }
}

static void
end_field(tool_csv_record *rec, char *scratch, size_t start, size_t *out)
{
    if (rec->count < TOOL_CSV_MAX_FIELDS) {
        rec->field[rec->count] = scratch + start;
        rec->len[rec->count] = *out - start;
    }
    scratch[(*out)++] = '\0';
    rec->count++;
}

bool
tool_csv_next(const char *data, size_t n, size_t *pos, size_t *line, char *scratch,
              tool_csv_record *rec)
{
    memset(rec, 0, sizeof *rec);
    if (*pos >= n) {
        return false;
    }
    rec->line = *line;
    size_t out = 0, start = 0;
    bool quoted = false, after_quote = false;
    while (*pos < n) {
        char c = data[*pos];
        if (quoted) {
            (*pos)++;
            if (c == '"') {
                if (*pos < n && data[*pos] == '"') {
                    scratch[out++] = '"';
                    (*pos)++;
                } else {
                    quoted = false;
                    after_quote = true;
                }
            } else {
                *line += c == '\n';
                scratch[out++] = c;
            }
            continue;
        }
        if (c == ',') {
            (*pos)++;
            end_field(rec, scratch, start, &out);
            start = out;
            after_quote = false;
            continue;
        }
        bool crlf = c == '\r' && *pos + 1 < n && data[*pos + 1] == '\n';
        if (c == '\n' || crlf) {
            *pos += crlf ? 2 : 1;
            (*line)++;
            end_field(rec, scratch, start, &out);
            return true;
        }
        if (after_quote) {
            rec->error = "has text after the closing quote of a field";
            skip_line(data, n, pos, line);
            return true;
        }
        if (c == '"') {
            if (out != start) {
                rec->error = "has a quote inside an unquoted field";
                skip_line(data, n, pos, line);
                return true;
            }
            quoted = true;
            (*pos)++;
            continue;
        }
        scratch[out++] = c;
        (*pos)++;
    }
    if (quoted) {
        rec->error = "has a quoted field that is never closed";
        return true;
    }
    end_field(rec, scratch, start, &out);
    return true;
}

bool
tool_csv_blank(const tool_csv_record *rec)
{
    return rec->error == NULL && rec->count == 1 && rec->len[0] == 0;
}

static const char *const COLUMN_NAMES[] = {"code", "county", "neighbourhood", "name", "active"};
#define COLUMN_COUNT (sizeof COLUMN_NAMES / sizeof COLUMN_NAMES[0])

static int *
column_slot(tool_center_columns *cols, size_t i)
{
    int *slots[COLUMN_COUNT] = {&cols->code, &cols->county, &cols->neighbourhood, &cols->name,
                                &cols->active};
    return slots[i];
}

// A field without the spaces around it: *len shrinks, the start moves.
static const char *
trim(const char *s, size_t *len)
{
    while (*len > 0 && s[0] == ' ') {
        s++;
        (*len)--;
    }
    while (*len > 0 && s[*len - 1] == ' ') {
        (*len)--;
    }
    return s;
}

// Reads a header naming the columns names[0..count) in any order into
// slots (-1 when absent); the first required of them must be there.
static bool
read_header(const tool_csv_record *rec, const char *const *names, size_t count, size_t required,
            int **slots, const char *expected, tool_refusal *why)
{
    for (size_t i = 0; i < count; i++) {
        *slots[i] = -1;
    }
    if (rec->error != NULL) {
        return refuse(why, rec->line, "header", "%s", rec->error);
    }
    if (rec->count > TOOL_CSV_MAX_FIELDS) {
        return refuse(why, rec->line, "header", "has more than %d columns", TOOL_CSV_MAX_FIELDS);
    }
    for (size_t f = 0; f < rec->count; f++) {
        size_t len = rec->len[f];
        const char *name = trim(rec->field[f], &len);
        // A spreadsheet may start the file with a byte order mark.
        if (f == 0 && len >= 3 && memcmp(name, "\xEF\xBB\xBF", 3) == 0) {
            name += 3;
            len -= 3;
        }
        size_t i = 0;
        while (i < count && (strlen(names[i]) != len || memcmp(names[i], name, len) != 0)) {
            i++;
        }
        if (i == count) {
            if (!rr_text_check(name, len, RR_TEXT_LINE, NULL)) {
                return refuse(why, rec->line, "header", "has an unreadable column name");
            }
            char shown[64];
            int k = snprintf(shown, sizeof shown, "%.*s", (int) (len < 40 ? len : 40), name);
            (void) k; // cut to 40 bytes on purpose: the name only identifies the column
            return refuse(why, rec->line, "header", "unrecognized column \"%s\": expected %s",
                          shown, expected);
        }
        if (*slots[i] != -1) {
            return refuse(why, rec->line, "header", "column \"%s\" appears twice", names[i]);
        }
        *slots[i] = (int) f;
    }
    for (size_t i = 0; i < required; i++) {
        if (*slots[i] == -1) {
            return refuse(why, rec->line, "header", "column \"%s\" is missing", names[i]);
        }
    }
    return true;
}

bool
tool_center_header(const tool_csv_record *rec, tool_center_columns *cols, tool_refusal *why)
{
    int *slots[COLUMN_COUNT];
    for (size_t i = 0; i < COLUMN_COUNT; i++) {
        slots[i] = column_slot(cols, i);
    }
    cols->count = rec->count;
    return read_header(rec, COLUMN_NAMES, COLUMN_COUNT, COLUMN_COUNT - 1, slots,
                       "code, county, neighbourhood, name and optionally active", why);
}

// A text field checked and trimmed into out (cap bytes). empty_ok says
// whether nothing at all is acceptable.
static bool
text_field(const tool_csv_record *rec, int col, const char *field, size_t cap, bool empty_ok,
           char *out, tool_refusal *why)
{
    size_t len = rec->len[col];
    const char *s = trim(rec->field[col], &len);
    rr_text_fault fault;
    if (!rr_text_check(s, len, RR_TEXT_LINE, &fault)) {
        return refuse(why, rec->line, field, "%s", fault.why);
    }
    if (len == 0 && !empty_ok) {
        return refuse(why, rec->line, field, "is empty");
    }
    if (len >= cap) {
        char limit[24];
        int k = snprintf(limit, sizeof limit, "%zu", cap - 1);
        (void) k; // a size_t always fits 24 bytes
        return refuse(why, rec->line, field, "is longer than %s bytes", limit);
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

// A code as typed, canonical (Persian and Arabic-Indic digits read as
// ASCII, spaces around it dropped) into out (CODE_CAP bytes).
static bool
code_text(const char *typed, size_t len, size_t line, const char *field, char *out,
          tool_refusal *why)
{
    size_t got = 0;
    const char *s = trim(typed, &len);
    rr_text_fault fault;
    if (!rr_text_check(s, len, RR_TEXT_LINE, &fault)) {
        return refuse(why, line, field, "%s", fault.why);
    }
    if (len == 0) {
        return refuse(why, line, field, "is empty");
    }
    if (rr_text_canon_code(s, len, out, CODE_CAP, &got, &fault) != RR_OK) {
        return refuse(why, line, field, "%s", fault.why != NULL ? fault.why : "is too long");
    }
    return true;
}

static bool
all_digits(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

bool
tool_center_code_read(const char *typed, size_t len, size_t line, long *code, tool_refusal *why)
{
    char text[CODE_CAP] = "";
    *code = 0;
    if (!code_text(typed, len, line, "code", text, why)) {
        return false;
    }
    long value = all_digits(text) && strlen(text) <= 10 ? strtol(text, NULL, 10) : 0;
    if (value < 1 || value > INT32_MAX) {
        return refuse(why, line, "code",
                      "invalid center code \"%s\": expected a number from 1 to 2147483647", text);
    }
    *code = value;
    return true;
}

static bool
bool_field(const tool_csv_record *rec, int col, const char *field, int *active, tool_refusal *why)
{
    *active = -1;
    if (col < 0) {
        return true;
    }
    size_t len = rec->len[col];
    const char *s = trim(rec->field[col], &len);
    char word[8] = "";
    if (len < sizeof word) {
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            word[i] = (char) (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        word[len] = '\0';
    }
    if (len == 0) {
        return true;
    }
    if (strcmp(word, "true") == 0 || strcmp(word, "false") == 0) {
        *active = word[0] == 't';
        return true;
    }
    return refuse(why, rec->line, field, "is not true or false");
}

// A record that could be read and has as many fields as the header.
static bool
record_shape(const tool_csv_record *rec, size_t count, tool_refusal *why)
{
    if (rec->error != NULL) {
        return refuse(why, rec->line, "row", "%s", rec->error);
    }
    if (rec->count != count) {
        char counts[48];
        int k = snprintf(counts, sizeof counts, "%zu fields, expected %zu", rec->count, count);
        (void) k; // two size_t always fit
        return refuse(why, rec->line, "row", "has %s", counts);
    }
    return true;
}

// The county column: four digits (Persian or Arabic-Indic read as ASCII)
// into out.
static bool
county_field(const tool_csv_record *rec, int col, char out[TOOL_COUNTY_CODE_LEN + 1],
             tool_refusal *why)
{
    char county[CODE_CAP] = "";
    if (!code_text(rec->field[col], rec->len[col], rec->line, "county", county, why)) {
        return false;
    }
    if (strlen(county) != TOOL_COUNTY_CODE_LEN || !all_digits(county)) {
        return refuse(why, rec->line, "county", "invalid county code \"%s\": expected four digits",
                      county);
    }
    memcpy(out, county, TOOL_COUNTY_CODE_LEN + 1);
    return true;
}

bool
tool_center_row_check(const tool_csv_record *rec, const tool_center_columns *cols,
                      tool_county_exists_fn county_exists, void *ctx, tool_center_row *row,
                      tool_refusal *why)
{
    memset(row, 0, sizeof *row);
    row->line = rec->line;
    if (!record_shape(rec, cols->count, why) ||
        !tool_center_code_read(rec->field[cols->code], rec->len[cols->code], rec->line, &row->code,
                               why) ||
        !county_field(rec, cols->county, row->county, why)) {
        return false;
    }
    if (!county_exists(ctx, row->county)) {
        return refuse(why, rec->line, "county", "unrecognized county \"%s\"", row->county);
    }
    return text_field(rec, cols->name, "name", sizeof row->name, false, row->name, why) &&
           text_field(rec, cols->neighbourhood, "neighbourhood", sizeof row->neighbourhood, true,
                      row->neighbourhood, why) &&
           bool_field(rec, cols->active, "active", &row->active, why);
}

static const tool_center_row *sort_rows; // qsort has no context argument

static int
by_code_then_line(const void *a, const void *b)
{
    const tool_center_row *x = &sort_rows[*(const size_t *) a];
    const tool_center_row *y = &sort_rows[*(const size_t *) b];
    if (x->code != y->code) {
        return x->code < y->code ? -1 : 1;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

bool
tool_center_rows_duplicates(const tool_center_row *rows, size_t n, bool *dup, tool_refusal *why,
                            size_t *refused)
{
    *refused = 0;
    if (n == 0) {
        return true;
    }
    size_t *order = malloc(n * sizeof *order);
    if (order == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        dup[i] = false;
    }
    sort_rows = rows;
    qsort(order, n, sizeof *order, by_code_then_line);
    sort_rows = NULL;
    for (size_t i = 0; i < n; i++) {
        const tool_center_row *r = &rows[order[i]];
        // The other line named: the first one with this code, or, for the
        // first, the second.
        size_t first = i;
        while (first > 0 && rows[order[first - 1]].code == r->code) {
            first--;
        }
        size_t other = first != i ? first : i + 1;
        if (other >= n || rows[order[other]].code != r->code) {
            continue;
        }
        tool_refusal *w = &why[(*refused)++];
        w->line = r->line;
        w->field = "code";
        int k = snprintf(w->reason, sizeof w->reason,
                         "duplicate code \"%ld\" in the file (also on line %zu)", r->code,
                         rows[order[other]].line);
        (void) k; // a long and a size_t always fit
        dup[order[i]] = true;
    }
    free(order);
    return true;
}

static const char *const NBHD_COLUMNS[] = {"county", "name", "setting", "red_line", "centers"};
#define NBHD_COLUMN_COUNT (sizeof NBHD_COLUMNS / sizeof NBHD_COLUMNS[0])

bool
tool_nbhd_header(const tool_csv_record *rec, tool_nbhd_columns *cols, tool_refusal *why)
{
    int *slots[NBHD_COLUMN_COUNT] = {&cols->county, &cols->name, &cols->setting, &cols->red_line,
                                     &cols->centers};
    cols->count = rec->count;
    return read_header(rec, NBHD_COLUMNS, NBHD_COLUMN_COUNT, 3, slots,
                       "county, name, setting and optionally red_line and centers", why);
}

// The centers field: codes separated by ";" or spaces, each as a center
// code is typed; none is allowed.
static bool
centers_field(const tool_csv_record *rec, int col, tool_nbhd_row *row, tool_refusal *why)
{
    row->n_centers = 0;
    if (col < 0) {
        return true;
    }
    const char *s = rec->field[col];
    size_t len = rec->len[col], at = 0;
    while (at < len) {
        while (at < len && (s[at] == ';' || s[at] == ' ')) {
            at++;
        }
        size_t start = at;
        while (at < len && s[at] != ';' && s[at] != ' ') {
            at++;
        }
        if (at == start) {
            break;
        }
        if (row->n_centers == TOOL_NBHD_MAX_CENTERS) {
            return refuse(why, rec->line, "centers", "names more than %d centers",
                          TOOL_NBHD_MAX_CENTERS);
        }
        long code = 0;
        if (!tool_center_code_read(s + start, at - start, rec->line, &code, why)) {
            why->field = "centers";
            return false;
        }
        row->centers[row->n_centers++] = code;
    }
    return true;
}

bool
tool_nbhd_row_check(const tool_csv_record *rec, const tool_nbhd_columns *cols, tool_nbhd_row *row,
                    tool_refusal *why)
{
    memset(row, 0, sizeof *row);
    row->line = rec->line;
    if (!record_shape(rec, cols->count, why) ||
        !county_field(rec, cols->county, row->county, why) ||
        !text_field(rec, cols->name, "name", sizeof row->name, false, row->name, why)) {
        return false;
    }
    char setting[8] = "";
    if (!text_field(rec, cols->setting, "setting", sizeof setting, true, setting, why) ||
        (strcmp(setting, "urban") != 0 && strcmp(setting, "rural") != 0)) {
        return refuse(why, rec->line, "setting", "is not urban or rural");
    }
    row->rural = setting[0] == 'r';
    int red_line = -1;
    if (!bool_field(rec, cols->red_line, "red_line", &red_line, why)) {
        return false;
    }
    row->red_line = red_line == 1;
    return centers_field(rec, cols->centers, row, why);
}
