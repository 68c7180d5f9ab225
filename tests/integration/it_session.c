// The group fixture most integration tests share, and submitting through
// the client library (it_harness.h).
#include "it_harness.h"

#include "cli_center.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

bool
it_session_start(it_stack *s, cli_center **client, PGconn **db, const char *name, int slot,
                 const char *const *broker_extra, const char *const *worker_extra)
{
    *client = NULL;
    *db = NULL;
    if (!it_stack_start(s, name, slot, broker_extra, worker_extra)) {
        return false;
    }
    const char *eps[] = {s->frontend};
    *client = cli_center_new(eps, 1);
    *db = it_db(s);
    return *client != NULL;
}

int
it_session_stop(it_stack *s, cli_center **client, PGconn **db)
{
    cli_center_destroy(client);
    PQfinish(*db);
    *db = NULL;
    return it_stack_stop(s) ? 0 : -1;
}

Rr__V1__SubmitReply *
it_submit(cli_center *c, const Rr__V1__SubmitRequest *req)
{
    Rr__V1__SubmitReply *reply = NULL;
    rr_wire_error err = {0};
    if (cli_center_submit(c, req, 10000, 3, &reply, &err) != RR_OK) {
        fail_msg("submit of %s failed: %s", req->request_id, err.message);
    }
    return reply;
}
