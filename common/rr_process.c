// Process start-up shared by the broker and the workers.
#define RR_LOG_MODULE "main"
#include "rr_process.h"

#include "rr_log.h"
#include "rr_service.h"

#include <stdio.h>
#include <string.h>

volatile sig_atomic_t rr_process_stop = 0;

static void
on_stop_signal(int sig)
{
    (void) sig;
    rr_process_stop = 1;
}

rr_status
rr_process_start(const char *process, const char *level_text, const char *format_text)
{
    bool json = strcmp(format_text, "json") == 0;
    if (!json && strcmp(format_text, "text") != 0) {
        fprintf(stderr, "invalid --log-format \"%s\": expected text or json\n", format_text);
        return RR_EINVAL;
    }
    rr_log_level level;
    if (!rr_log_level_parse(level_text, &level)) {
        fprintf(stderr, "invalid --log-level \"%s\": expected error, warn, info or debug\n",
                level_text);
        return RR_EINVAL;
    }
    rr_log_init(process, level, json);
    rr_service_init();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGPIPE, &ignore, NULL) != 0) {
        rr_log_error("cannot install signal handlers");
        return RR_EIO;
    }
    return RR_OK;
}
