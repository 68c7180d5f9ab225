// What every long-running process does at start: set up logging from its
// options and turn SIGTERM/SIGINT into a stop flag the main loop reads.
#ifndef RR_PROCESS_H
#define RR_PROCESS_H

#include "rr_status.h"

#include <signal.h>
#include <stdbool.h>

// Set to 1 by SIGTERM or SIGINT once rr_process_start has run.
extern volatile sig_atomic_t rr_process_stop;

// Starts logging as process at level_text ("error", "warn", "info",
// "debug") in format_text ("text" or "json"; RR_EINVAL with a message on
// stderr for anything else), installs the stop handlers and ignores SIGPIPE.
// RR_EIO when a handler cannot be set.
RR_NODISCARD rr_status rr_process_start(const char *process, const char *level_text,
                                        const char *format_text);

#endif
