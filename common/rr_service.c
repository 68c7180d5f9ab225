// sd_notify wrappers. A failed notification is logged once and otherwise
// ignored: the service itself keeps working, and systemd acts on the
// missing message (start timeout, watchdog) by its own rules.
#define RR_LOG_MODULE "service"
#include "rr_service.h"

#include "rr_log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

static int64_t watchdog_half_ms = 0; // 0: no watchdog asked for
static int64_t watchdog_last_ms = 0;
static bool notify_failed = false;

static void
notify(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0 && !notify_failed) {
        notify_failed = true;
        rr_log_warn("cannot notify the service manager: %s", strerror(-rc));
    }
}

void
rr_service_init(void)
{
    uint64_t usec = 0;
    int rc = sd_watchdog_enabled(0, &usec);
    if (rc < 0) {
        rr_log_warn("ignoring an invalid WATCHDOG_USEC: %s", strerror(-rc));
    } else if (rc > 0) {
        watchdog_half_ms = (int64_t) (usec / 2000);
        if (watchdog_half_ms < 1) {
            watchdog_half_ms = 1;
        }
        rr_log_info("systemd watchdog: keep-alive every %lld ms", (long long) watchdog_half_ms);
    }
}

void
rr_service_ready(const char *status)
{
    char state[256];
    int n = snprintf(state, sizeof state, "READY=1\nSTATUS=%s", status);
    (void) n; // a long status is cut: it is only shown
    notify(state);
}

void
rr_service_status(const char *fmt, ...)
{
    char state[256] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(state + 7, sizeof state - 7, fmt, ap);
    va_end(ap);
    (void) n; // cut at the buffer: it is only shown
    notify(state);
}

void
rr_service_stopping(void)
{
    notify("STOPPING=1");
}

void
rr_service_watchdog(int64_t now_ms)
{
    if (watchdog_half_ms > 0 && now_ms - watchdog_last_ms >= watchdog_half_ms) {
        watchdog_last_ms = now_ms;
        notify("WATCHDOG=1");
    }
}
