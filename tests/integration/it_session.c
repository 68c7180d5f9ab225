// The group fixture most integration tests share, and submitting through
// the client library (it_harness.h).
#include "it_harness.h"

#include "cli_center.h"
#include "rr_keys.h"
#include "rr_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void
it_key_make(const char *dir, const char *name, const char *registry, const char *principal)
{
    char out[4096];
    const char *ctl = getenv("RR_CTL_BIN");
    assert_int_equal(it_run(out, sizeof out, "%s keys generate --out %s/%s", ctl, dir, name), 0);
    if (principal != NULL) {
        assert_int_equal(it_run(out, sizeof out,
                                "%s keys register --dir %s --principal %s %s/%s.pub", ctl, registry,
                                principal, dir, name),
                         0);
        assert_non_null(strstr(out, "registered"));
    }
}

cli_center *
it_client_with_key(const it_stack *s, const char *dir, const char *name, const char *broker_pub)
{
    const char *eps[] = {s->frontend};
    cli_center *c = cli_center_new(eps, 1);
    assert_non_null(c);
    char key[700];
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
    rr_curve_client curve;
    char why[512];
    assert_int_equal(rr_curve_client_load(key, broker_pub, &curve, why, sizeof why), RR_OK);
    assert_int_equal(cli_center_set_curve(c, &curve), RR_OK);
    return c;
}
