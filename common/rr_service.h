// Telling the service manager how the process is doing (systemd's
// Type=notify protocol through libsystemd): ready, status lines, stopping,
// and watchdog keep-alives. Every call is a no-op when the process was not
// started by systemd (no NOTIFY_SOCKET), so the binaries run the same by hand.
#ifndef RR_SERVICE_H
#define RR_SERVICE_H

#include <stdint.h>

// Reads the watchdog interval systemd asked for (WatchdogSec=). Call once
// at start (rr_process_start does).
void rr_service_init(void);

// Start-up is over: READY=1, with a status line for `systemctl status`.
void rr_service_ready(const char *status);

// A new status line for `systemctl status` (a long one is cut).
void rr_service_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// The process is stopping on purpose: STOPPING=1.
void rr_service_stopping(void);

// Sends WATCHDOG=1 when half the watchdog interval has passed since the
// last one; cheap to call on every loop turn. now_ms is monotonic.
void rr_service_watchdog(int64_t now_ms);

#endif
