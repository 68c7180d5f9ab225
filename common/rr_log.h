// The one logger: one line per event on stderr with UTC time, level,
// process, module and message; or one JSON object per line.
#ifndef RR_LOG_H
#define RR_LOG_H

#include <stdbool.h>

typedef enum rr_log_level {
    RR_LOG_ERROR = 0,
    RR_LOG_WARN = 1,
    RR_LOG_INFO = 2,
    RR_LOG_DEBUG = 3,
} rr_log_level;

// Names the process in every line (e.g. "broker", "worker.social") and sets
// the least important level written. When stderr is systemd's journal
// stream (JOURNAL_STREAM), each line starts with its syslog priority
// ("<3>" error ... "<7>" debug), which journald takes off and keeps as the
// entry's priority. Call once from main; not thread-safe.
void rr_log_init(const char *process, rr_log_level level, bool json);

// Parses "error", "warn", "info" or "debug"; returns false for anything else.
bool rr_log_level_parse(const char *text, rr_log_level *level);

// True when a line at this level would be written (skip costly formatting).
bool rr_log_enabled(rr_log_level level);

void rr_log_write(rr_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// As rr_log_write, for an event about one request or referral: id (a
// request_id, query id or "R-<n>"; never personal data) becomes the "id"
// field of a JSON line. NULL or "" is no id.
void rr_log_write_id(rr_log_level level, const char *module, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifndef RR_LOG_MODULE
#define RR_LOG_MODULE "main"
#endif

#define rr_log_error(...)        rr_log_write(RR_LOG_ERROR, RR_LOG_MODULE, __VA_ARGS__)
#define rr_log_warn(...)         rr_log_write(RR_LOG_WARN, RR_LOG_MODULE, __VA_ARGS__)
#define rr_log_info(...)         rr_log_write(RR_LOG_INFO, RR_LOG_MODULE, __VA_ARGS__)
#define rr_log_info_id(id, ...)  rr_log_write_id(RR_LOG_INFO, RR_LOG_MODULE, id, __VA_ARGS__)
#define rr_log_warn_id(id, ...)  rr_log_write_id(RR_LOG_WARN, RR_LOG_MODULE, id, __VA_ARGS__)
#define rr_log_error_id(id, ...) rr_log_write_id(RR_LOG_ERROR, RR_LOG_MODULE, id, __VA_ARGS__)
#define rr_log_debug_id(id, ...)                                                                   \
    do {                                                                                           \
        if (rr_log_enabled(RR_LOG_DEBUG)) {                                                        \
            rr_log_write_id(RR_LOG_DEBUG, RR_LOG_MODULE, id, __VA_ARGS__);                         \
        }                                                                                          \
    } while (0)
#define rr_log_debug(...)                                                                          \
    do {                                                                                           \
        if (rr_log_enabled(RR_LOG_DEBUG)) {                                                        \
            rr_log_write(RR_LOG_DEBUG, RR_LOG_MODULE, __VA_ARGS__);                                \
        }                                                                                          \
    } while (0)

#endif
