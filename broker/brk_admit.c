// The brk_admission of each center command (brk_admit.h): what the broker
// reads from a body before it queues it.
#include "brk_admit.h"

#include "rr_principal.h"

#include <assert.h>
#include <string.h>

// The sender a body names: its office_code, else its center_code.
static void
name_sender(brk_admission *a, uint32_t center_code, const char *office_code)
{
    a->sender[0] = '\0';
    if (office_code != NULL && office_code[0] != '\0') {
        (void) rr_principal_of_office(office_code, a->sender);
    } else if (center_code != 0) {
        (void) rr_principal_of_center(center_code, a->sender);
    }
}

static void
keep_id(brk_admission *a, const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n > RR_WIRE_MAX_QUERY_ID_BYTES) {
        n = 0; // refused anyway; not echoed cut inside a character
    }
    memcpy(a->id, id ? id : "", n);
    a->id[n] = '\0';
}

rr_status
brk_admit_submit(const brk_server *self, const void *data, size_t size, brk_admission *a,
                 rr_wire_error *err)
{
    Rr__V1__SubmitRequest *sub = NULL;
    rr_status st = rr_wire_unpack(data, size, &sub, err);
    if (sub == NULL) {
        return st;
    }
    keep_id(a, sub->request_id);
    name_sender(a, sub->center_code, NULL);
    if (st == RR_OK) {
        rr_domain d = (rr_domain) sub->domain;
        if (d == RR_DOMAIN_NONE) {
            d = rr_domain_of_service_code(sub->service_code);
        }
        if (d == RR_DOMAIN_NONE) {
            st = rr_wire_fail(err, RR_ENOTFOUND, "service_code",
                              "unrecognized service \"%s\": its code names no domain",
                              sub->service_code);
        }
        a->domain = (uint8_t) d;
        // Queue by the priority the worker will record: risk flags raise
        // it by the rules the workers passed on.
        int flags[RR_WIRE_MAX_RISK_FLAGS];
        for (size_t k = 0; k < sub->n_risk_flags; k++) {
            flags[k] = (int) sub->risk_flags[k];
        }
        a->priority =
            (uint8_t) rr_risk_effective(self->risk, self->risk_count, (rr_priority) sub->priority,
                                        rr_risk_mask(flags, sub->n_risk_flags));
    }
    rr_wire_free(sub);
    return st;
}

// Status changes close the loop: they queue with the referral's domain,
// ahead of routine submissions.
rr_status
brk_admit_update(const brk_server *self, const void *data, size_t size, brk_admission *a,
                 rr_wire_error *err)
{
    (void) self;
    Rr__V1__UpdateRequest *u = NULL;
    rr_status st = rr_wire_unpack(data, size, &u, err);
    if (u != NULL) {
        keep_id(a, u->update_id);
        name_sender(a, u->center_code, u->office_code);
        a->domain = (uint8_t) u->domain;
        rr_wire_free(u);
    }
    a->priority = RR_PRIORITY_URGENT;
    return st;
}

// A query (STATUS, FOLLOW, INBOX): checked, named by its query_id (field
// 1 of each), to any worker, as routine.
static rr_status
admit_query(const ProtobufCMessageDescriptor *d, const void *data, size_t size, brk_admission *a,
            rr_wire_error *err)
{
    ProtobufCMessage *m = NULL;
    rr_status st = rr_wire_unpack_as(d, data, size, &m, err);
    if (m != NULL) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, 1);
        assert(f != NULL && f->type == PROTOBUF_C_TYPE_STRING); // query_id
        const char *id = NULL;
        memcpy(&id, (const char *) m + f->offset, sizeof id);
        keep_id(a, id);
        uint32_t center_code = 0;
        const char *office_code = NULL;
        f = protobuf_c_message_descriptor_get_field_by_name(d, "center_code");
        if (f != NULL && f->type == PROTOBUF_C_TYPE_UINT32) {
            memcpy(&center_code, (const char *) m + f->offset, sizeof center_code);
        }
        f = protobuf_c_message_descriptor_get_field_by_name(d, "office_code");
        if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING) {
            memcpy(&office_code, (const char *) m + f->offset, sizeof office_code);
        }
        name_sender(a, center_code, office_code);
        rr_wire_free(m);
    }
    a->domain = QUEUE_ANY;
    a->priority = RR_PRIORITY_ROUTINE;
    return st;
}

rr_status
brk_admit_follow(const brk_server *self, const void *data, size_t size, brk_admission *a,
                 rr_wire_error *err)
{
    (void) self;
    return admit_query(&rr__v1__follow_request__descriptor, data, size, a, err);
}

rr_status
brk_admit_inbox(const brk_server *self, const void *data, size_t size, brk_admission *a,
                rr_wire_error *err)
{
    (void) self;
    return admit_query(&rr__v1__inbox_request__descriptor, data, size, a, err);
}

// A center's record (DONATE, and issue 18's PROFILE, TRUSTEE, FINDING, RATE):
// named by its id field, from its center_code, to any worker, as routine
// (none is a referral, none has a domain of its own).
static rr_status
admit_record(const ProtobufCMessageDescriptor *d, const char *id_field, const void *data,
             size_t size, brk_admission *a, rr_wire_error *err)
{
    ProtobufCMessage *m = NULL;
    rr_status st = rr_wire_unpack_as(d, data, size, &m, err);
    if (m != NULL) {
        const ProtobufCFieldDescriptor *id =
            protobuf_c_message_descriptor_get_field_by_name(d, id_field);
        const ProtobufCFieldDescriptor *center =
            protobuf_c_message_descriptor_get_field_by_name(d, "center_code");
        assert(id != NULL && id->type == PROTOBUF_C_TYPE_STRING && center != NULL &&
               center->type == PROTOBUF_C_TYPE_UINT32);
        const char *id_value = NULL;
        uint32_t code = 0;
        memcpy(&id_value, (const char *) m + id->offset, sizeof id_value);
        memcpy(&code, (const char *) m + center->offset, sizeof code);
        keep_id(a, id_value);
        name_sender(a, code, NULL);
        rr_wire_free(m);
    }
    a->domain = QUEUE_ANY;
    a->priority = RR_PRIORITY_ROUTINE;
    return st;
}

rr_status
brk_admit_donate(const brk_server *self, const void *data, size_t size, brk_admission *a,
                 rr_wire_error *err)
{
    (void) self;
    return admit_record(&rr__v1__donate_request__descriptor, "donation_id", data, size, a, err);
}

rr_status
brk_admit_profile(const brk_server *self, const void *data, size_t size, brk_admission *a,
                  rr_wire_error *err)
{
    (void) self;
    return admit_record(&rr__v1__profile_request__descriptor, "update_id", data, size, a, err);
}

rr_status
brk_admit_trustee(const brk_server *self, const void *data, size_t size, brk_admission *a,
                  rr_wire_error *err)
{
    (void) self;
    return admit_record(&rr__v1__trustee_request__descriptor, "trustee_id", data, size, a, err);
}

rr_status
brk_admit_finding(const brk_server *self, const void *data, size_t size, brk_admission *a,
                  rr_wire_error *err)
{
    (void) self;
    return admit_record(&rr__v1__finding_request__descriptor, "finding_id", data, size, a, err);
}

rr_status
brk_admit_rate(const brk_server *self, const void *data, size_t size, brk_admission *a,
               rr_wire_error *err)
{
    (void) self;
    return admit_record(&rr__v1__rate_request__descriptor, "rating_id", data, size, a, err);
}

rr_status
brk_admit_status(const brk_server *self, const void *data, size_t size, brk_admission *a,
                 rr_wire_error *err)
{
    (void) self;
    return admit_query(&rr__v1__status_query__descriptor, data, size, a, err);
}
