#include "wrk_echo.h"

#include "rr_format.h"
#include "rr_wire.h"

#include <assert.h>
#include <stdio.h>

void
wrk_echo_reply(wrk_job *job, uint64_t serial, zmq_msg_t *reply)
{
    Rr__V1__SubmitRequest *req = NULL;
    rr_wire_error err;
    rr_status st = RR_EPROTO;
    if (job->command == RR_CMD_SUBMIT) {
        st = rr_wire_unpack(zmq_msg_data((zmq_msg_t *) &job->body),
                            zmq_msg_size((zmq_msg_t *) &job->body), &req, &err);
    } else {
        (void) rr_wire_fail(&err, RR_EPROTO, "", "benchmark worker: submissions only");
    }
    job->outcome =
        st == RR_OK ? RR__V1__OUTCOME__OUTCOME_ACCEPTED : RR__V1__OUTCOME__OUTCOME_REJECTED;
    if (st == RR_OK) {
        Rr__V1__SubmitReply out = RR__V1__SUBMIT_REPLY__INIT;
        char refid[32];
        rr_format_fits(refid, sizeof refid, "R-%llu", (unsigned long long) serial);
        out.request_id = req->request_id;
        out.outcome = RR__V1__OUTCOME__OUTCOME_ACCEPTED;
        out.referral_id = refid;
        out.office_code = "CO-0000";
        out.referral_status = RR__V1__REFERRAL_STATUS__REFERRAL_STATUS_REQUESTED;
        st = rr_wire_pack(&out.base, reply);
    } else {
        st = rr_wire_pack_refusal(RR_CMD_SUBMIT, req ? req->request_id : NULL,
                                  RR__V1__OUTCOME__OUTCOME_REJECTED, 0, &err, reply);
    }
    if (st != RR_OK) {
        int rc = zmq_msg_init(reply);
        assert(rc == 0);
        (void) rc;
    }
    if (req != NULL) {
        rr_wire_free(req);
    }
}
