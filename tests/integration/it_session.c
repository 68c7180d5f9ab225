// The group fixture most integration tests share, and submitting through
// the client library (it_harness.h).
#include "it_harness.h"

#include "cli_center.h"
#include "rr_keys.h"
#include "rr_uuid.h"
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

const Rr__V1__ReferralStatus IT_TO_COMPLETED[3] = {
    RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_ACCEPTED,
    RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_IN_PROGRESS,
    RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_COMPLETED,
};

void
it_advance(cli_center *c, const char *id, Rr__V1__Domain domain, const char *office,
           uint32_t version, const Rr__V1__ReferralStatus *to, size_t nto)
{
    for (size_t i = 0; i < nto; i++) {
        char update_id[40];
        rr_uuid_generate(update_id);
        Rr__V1__UpdateRequest u = RR__V1__UPDATE_REQUEST__INIT;
        u.update_id = update_id;
        u.referral_id = (char *) id;
        u.domain = domain;
        u.to_status = to[i];
        u.office_code = (char *) office;
        u.expected_version = version;
        u.reason = "the service was given";
        Rr__V1__UpdateReply *ur = NULL;
        rr_wire_error err = {0};
        assert_int_equal(cli_center_update(c, &u, 10000, 3, &ur, &err), RR_OK);
        if (ur->status != RR__V1__STATUS__STATUS_OK) {
            print_message("update %s: %s\n", id, ur->error ? ur->error->message : "");
        }
        assert_int_equal(ur->status, RR__V1__STATUS__STATUS_OK);
        version = ur->referral->version;
        rr_wire_free(ur);
    }
}

void
it_referral(cli_center *c, unsigned center, const char *service, const char *tag,
            const Rr__V1__ReferralStatus *to, size_t nto, char id[IT_REFERRAL_ID_CAP])
{
    it_request r;
    it_request_init(&r, center, service, tag);
    Rr__V1__SubmitReply *s = it_submit(c, &r.req);
    assert_int_equal(s->outcome, RR__V1__OUTCOME__OUTCOME_ACCEPTED);
    (void) snprintf(id, IT_REFERRAL_ID_CAP, "%s", s->referral_id);
    it_advance(c, id, s->domain, s->office_code, s->version, to, nto);
    rr_wire_free(s);
}
