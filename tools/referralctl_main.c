// referralctl: the operator's and integrator's command line. Dispatches to
// one module per command.
#include "rr_log.h"
#include "tool_migrate.h"
#include "tool_queues.h"
#include "tool_submit.h"

#include <stdio.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out, "usage: referralctl COMMAND [options]\n\n"
                 "commands:\n"
                 "  migrate   apply db/migrations and load db/seed\n"
                 "  submit    submit requests (flags, or --file of JSON lines)\n"
                 "  status    show a referral and its history\n"
                 "  queues    show a broker's queues, workers and counters\n\n"
                 "\"referralctl COMMAND --help\" lists a command's options.\n");
}

int
main(int argc, char **argv)
{
    rr_log_init("referralctl", RR_LOG_WARN, false);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "migrate") == 0) {
        return tool_migrate_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "submit") == 0) {
        return tool_submit_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "status") == 0) {
        return tool_status_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "queues") == 0) {
        return tool_queues_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "unrecognized command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
