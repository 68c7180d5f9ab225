// rabbit-peer: the referral router's peer comparison with RabbitMQ (issue
// 15; docs/PERFORMANCE.md, "A peer: RabbitMQ"; run by tools/peer-compare.sh).
// Built only with -DRR_PEER_RABBITMQ=ON. This file picks the role.
#include "peer_roles.h"
#include "rr_version.h"

#include <stdio.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out, "usage: rabbit-peer load [options]     publish the bench's requests and report\n"
                 "       rabbit-peer consume [options]  record one queue's requests\n"
                 "       rabbit-peer ROLE --help        the role's options\n");
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "load") == 0) {
        return peer_load_main(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "consume") == 0) {
        return peer_consume_main(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("rabbit-peer %s\n", rr_version_string());
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
