// `referralctl rate --center C --referral R-n --score 1..5 [--comment TEXT]`:
// a center's act, so it goes through the broker like a submission (the
// worker checks the key, the database the rules: completed, the center's
// own, once per referral). The same --id on a retry replays the answer.
#include "tool_rate.h"

#include "cli_rate.h"
#include "rr_config.h"
#include "rr_uuid.h"
#include "tool_client.h"
#include "tool_refdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
tool_rate_main(int argc, char **argv)
{
    const char *broker = NULL, *key_file = NULL, *broker_key = NULL, *center = NULL,
               *referral = NULL, *comment = NULL, *id_opt = NULL;
    long score = 0, timeout_ms = 0, attempts = 0;
    rr_opt opts[] = {
        {"broker", RR_OPT_STRING, "REFERRAL_BROKER", "tcp://127.0.0.1:5555",
         "broker front-end endpoints, comma-separated", &broker, 0, 0},
        TOOL_CURVE_OPTS(&key_file, &broker_key),
        {"center", RR_OPT_STRING, NULL, "", "the center that made the referral", &center, 0, 0},
        {"referral", RR_OPT_STRING, NULL, "", "the completed referral, e.g. R-1042", &referral, 0,
         0},
        {"score", RR_OPT_INT, NULL, "0",
         "the client's satisfaction: 1 very dissatisfied .. 5 very satisfied", &score, 0, 5},
        {"comment", RR_OPT_STRING, NULL, "", "the client's words (optional, one line)", &comment, 0,
         0},
        {"id", RR_OPT_STRING, NULL, "", "the rating id (default: a new UUID; reuse it to retry)",
         &id_opt, 0, 0},
        {"timeout-ms", RR_OPT_INT, "REFERRAL_TIMEOUT_MS", "5000", "wait per attempt, ms",
         &timeout_ms, 10, 600000},
        {"attempts", RR_OPT_INT, "REFERRAL_ATTEMPTS", "3", "attempts", &attempts, 1, 100},
    };
    int first = 0;
    rr_status st =
        rr_config_parse("referralctl rate",
                        "referralctl rate: record a client's satisfaction with a completed "
                        "referral (once per referral)",
                        opts, (int) (sizeof opts / sizeof opts[0]), argc, argv, &first);
    if (st == RR_ESHUTDOWN) {
        return TOOL_EXIT_DONE;
    }
    if (st != RR_OK || first != argc) {
        return TOOL_EXIT_USAGE;
    }
    char *end = NULL;
    errno = 0;
    unsigned long code = strtoul(center, &end, 10);
    if (center[0] < '0' || center[0] > '9' || *end != '\0' || errno != 0 || code == 0 ||
        code > UINT32_MAX || referral[0] == '\0' || score == 0) {
        fprintf(stderr, "rate needs --center (a code), --referral (R-<n>) and --score (1 to 5)\n");
        return TOOL_EXIT_USAGE;
    }
    char id[40];
    if (id_opt[0] != '\0') {
        (void) snprintf(id, sizeof id, "%s", id_opt);
    } else {
        rr_uuid_generate(id);
    }
    Rr__V1__RateRequest r = RR__V1__RATE_REQUEST__INIT;
    r.rating_id = id;
    r.center_code = (uint32_t) code;
    r.referral_id = (char *) referral;
    r.score = (uint32_t) score;
    r.comment = (char *) comment;
    cli_center *client = tool_client_open(broker, key_file, broker_key);
    if (client == NULL) {
        return TOOL_EXIT_USAGE;
    }
    Rr__V1__RateReply *reply = NULL;
    rr_wire_error err = {0};
    st = cli_center_rate(client, &r, timeout_ms, (int) attempts, &reply, &err);
    int rc = TOOL_EXIT_REFUSED;
    if (!tool_client_refused(id, st, &err, st == RR_OK ? (int) reply->status : 0,
                             st == RR_OK ? reply->error : NULL)) {
        printf("%s %s %s score %" PRIu32 "\n", id, reply->replayed ? "replayed" : "recorded",
               reply->referral_id, reply->score);
        rc = TOOL_EXIT_DONE;
    }
    rr_wire_free(reply);
    cli_center_destroy(&client);
    return rc;
}
