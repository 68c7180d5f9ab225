// Logger implementation: formats into a stack buffer and writes the line
// with one write(2) so that lines from several processes do not interleave.
#include "rr_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_process[64] = "rr"; // as long as worker_main allows
static rr_log_level log_level = RR_LOG_INFO;
static bool log_json = false;
static bool log_journal = false; // stderr is journald's stream: prefix priorities

// journald reads "<N>" at the start of a line as its syslog priority.
static const char *const journal_prefixes[] = {"<3>", "<4>", "<6>", "<7>"};

// True when stderr is the stream systemd connected to the journal: it names
// that stream's device and inode in JOURNAL_STREAM (systemd.exec(5)), which
// a child whose stderr was redirected elsewhere inherits but no longer matches.
static bool
stderr_is_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev = 0, ino = 0;
    char tail = 0;
    if (stream == NULL || sscanf(stream, "%llu:%llu%c", &dev, &ino, &tail) != 2) {
        return false;
    }
    struct stat st;
    return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long) st.st_dev == dev &&
           (unsigned long long) st.st_ino == ino;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
rr_log_init(const char *process, rr_log_level level, bool json)
{
    if (process != NULL) {
        int n = snprintf(log_process, sizeof log_process, "%s", process);
        (void) n; // a longer name is cut, which is harmless
    }
    log_level = level;
    log_json = json;
    log_journal = stderr_is_journal();
}

bool
rr_log_level_parse(const char *text, rr_log_level *level)
{
    for (int i = 0; i <= RR_LOG_DEBUG; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (rr_log_level) i;
            return true;
        }
    }
    return false;
}

bool
rr_log_enabled(rr_log_level level)
{
    return level <= log_level;
}

// Appends text to buf as a JSON string body, escaping what JSON requires.
static size_t
json_escape(char *buf, size_t cap, size_t len, const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p && len + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char) *p;
        } else if (*p < 0x20) {
            int n = snprintf(buf + len, cap - len, "\\u%04x", *p);
            len += (n > 0) ? (size_t) n : 0;
        } else {
            buf[len++] = (char) *p;
        }
    }
    return len;
}

static void write_line(rr_log_level level, const char *module, const char *id, char *msg);

void
rr_log_write(rr_log_level level, const char *module, const char *fmt, ...)
{
    if (!rr_log_enabled(level)) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n >= 0) {
        write_line(level, module, NULL, msg);
    }
}

void
rr_log_write_id(rr_log_level level, const char *module, const char *id, const char *fmt, ...)
{
    if (!rr_log_enabled(level)) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n >= 0) {
        write_line(level, module, id, msg);
    }
}

static void
write_line(rr_log_level level, const char *module, const char *id, char *msg)
{
    // libpq messages end in a newline: one event is one line.
    size_t mlen = strlen(msg);
    while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r')) {
        msg[--mlen] = '\0';
    }
    for (size_t i = 0; i < mlen; i++) {
        if (msg[i] == '\n') {
            msg[i] = ' ';
        }
    }

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[40];
    size_t slen = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    int sn = snprintf(stamp + slen, sizeof stamp - slen, ".%03ldZ", (long) (tv.tv_usec / 1000));
    (void) sn;

    char line[1400];
    size_t len = 0;
    const char *prefix = log_journal ? journal_prefixes[level] : "";
    if (log_json) {
        int h = snprintf(line, sizeof line,
                         "%s{\"time\":\"%s\",\"level\":\"%s\",\"process\":\"%s\","
                         "\"pid\":%ld,\"component\":\"%s\",\"msg\":\"",
                         prefix, stamp, level_names[level], log_process, (long) getpid(), module);
        len = (h > 0 && (size_t) h < sizeof line) ? (size_t) h : 0;
        len = json_escape(line, sizeof line, len, msg);
        if (id != NULL && id[0] != '\0' && len + 16 < sizeof line) {
            static const char id_key[] = "\",\"id\":\"";
            memcpy(line + len, id_key, sizeof id_key - 1); // a counted buffer: no NUL needed
            len += sizeof id_key - 1;
            len = json_escape(line, sizeof line, len, id);
        }
        int t = snprintf(line + len, sizeof line - len, "\"}\n");
        len += (t > 0) ? (size_t) t : 0;
    } else {
        int h = snprintf(line, sizeof line, "%s%s %-5s %s[%ld] %s: %s\n", prefix, stamp,
                         level_names[level], log_process, (long) getpid(), module, msg);
        if (h < 0) {
            return;
        }
        len = ((size_t) h < sizeof line) ? (size_t) h : sizeof line - 1;
        line[len - 1] = '\n'; // a cut line still ends the event
    }
    if (len > sizeof line) {
        len = sizeof line;
    }
    ssize_t w = write(STDERR_FILENO, line, len);
    (void) w; // nowhere left to report a failed log write
}
