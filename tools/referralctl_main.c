// referralctl: the operator's and integrator's command line. Dispatches to
// one module per command.
#include "rr_log.h"
#include "rr_version.h"
#include "tool_bench.h"
#include "tool_centers.h"
#include "tool_deadletters.h"
#include "tool_donations.h"
#include "tool_fieldwork.h"
#include "tool_follow.h"
#include "tool_inbox.h"
#include "tool_keys.h"
#include "tool_migrate.h"
#include "tool_neighbourhoods.h"
#include "tool_offices.h"
#include "tool_profile.h"
#include "tool_queues.h"
#include "tool_rate.h"
#include "tool_reflog.h"
#include "tool_relay.h"
#include "tool_reports.h"
#include "tool_route.h"
#include "tool_rules.h"
#include "tool_services.h"
#include "tool_submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"migrate", tool_migrate_main, "apply db/migrations and load db/seed"},
    {"submit", tool_submit_main, "submit requests (flags, or --file of JSON lines)"},
    {"status", tool_status_main, "show a referral and its history"},
    {"update", tool_update_main, "change a referral's status (an office, or a center cancelling)"},
    {"follow", tool_follow_main,
     "print every change to a center's referrals or an office's work, and keep following"},
    {"inbox", tool_inbox_main, "an office's inbox: the referrals it owns now, most urgent first"},
    {"queues", tool_queues_main, "show a broker's queues and counters (from its HTTP API)"},
    {"workers", tool_workers_main, "show a broker's live workers (from its HTTP API)"},
    {"household", tool_household_main, "show a household's members and referrals"},
    {"overdue", tool_overdue_main, "list referrals past their current owner's acceptance deadline"},
    {"dead-letters", tool_deadletters_main,
     "requests that could not be processed: list, show ID, retry ID, drop ID"},
    {"route", tool_route_main, "\"route explain\": the office a request goes to, and why"},
    {"bench", tool_bench_main,
     "load a running stack; referrals/s and latency against PostgreSQL's own ceiling"},
    {"relay", tool_relay_main,
     "a bare ZeroMQ relay with echo threads: the wire's limit, for bench --no-db"},
    {"keys", tool_keys_main,
     "CURVE keys: generate, and register, revoke or list in the broker's key directory"},
    {"report", tool_report_main,
     "reports from the database: \"report needs\" (need-finding), \"report sla\" (time to "
     "acceptance, on hold, to completion), \"report donations\" (the donations ledger), "
     "\"report satisfaction\" (clients' ratings)"},
    {"centers", tool_centers_main,
     "Positive Life centers: list, add, activate, deactivate, import FILE.csv"},
    {"neighbourhoods", tool_neighbourhoods_main,
     "the neighbourhoods of each county and the centers that serve them: list, import FILE.csv"},
    {"neighbourhood", tool_profile_main,
     "a neighbourhood's profile: profile (a center, over the broker), show ID|NAME, history ID"},
    {"trustees", tool_trustees_main,
     "a neighbourhood's trustees: register, deactivate (a center, over the broker), list"},
    {"findings", tool_findings_main,
     "active need-finding: record, close (a center, over the broker), list"},
    {"donations", tool_donations_main,
     "earmarked cash donations: record (a center, over the broker), allocate (a council "
     "decision)"},
    {"rate", tool_rate_main,
     "record a client's satisfaction (1..5) with a completed referral (a center, over the "
     "broker)"},
    {"offices", tool_offices_main, "welfare offices: list, add, activate, deactivate"},
    {"services", tool_services_main,
     "the service catalogue: list, add, activate, deactivate, scope"},
    {"rules", tool_rules_main, "routing rules and risk rules: list, add, remove"},
    {"reference-log", tool_reflog_main,
     "who changed centers, offices, services and rules, when, and how"},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: referralctl COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(out, "\n\"referralctl COMMAND --help\" lists a command's options; "
                 "\"referralctl --version\" prints the version.\n");
}

int
main(int argc, char **argv)
{
    // Warnings and errors by default; REFERRAL_LOG_LEVEL shows more (the
    // database's notices are info).
    rr_log_level level = RR_LOG_WARN;
    const char *level_text = getenv("REFERRAL_LOG_LEVEL");
    if (level_text != NULL && !rr_log_level_parse(level_text, &level)) {
        fprintf(stderr, "invalid REFERRAL_LOG_LEVEL \"%s\": expected error, warn, info or debug\n",
                level_text);
        return 2;
    }
    rr_log_init("referralctl", level, false);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("referralctl %s\n", rr_version_string());
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "unrecognized command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
