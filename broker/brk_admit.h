// How the broker admits a center's request, command by command: unpacks and
// checks its body (rr_wire), and learns its id, sender, domain and
// priority. Pure: the caller (brk_front.c, the protocol's table) does the I/O.
#ifndef BRK_ADMIT_H
#define BRK_ADMIT_H

#include "brk_server_impl.h"

// What admission learns from a body: its id, and where and how it queues.
typedef struct brk_admission {
    char id[RR_WIRE_MAX_QUERY_ID_BYTES + 1]; // request_id, update_id or query_id; "" unread
    uint8_t domain;
    uint8_t priority;
    // The center or office the body speaks for ("center:941"), "" when it
    // names none: whom the queue's turns count it against without keys.
    char sender[RR_PRINCIPAL_MAX + 1];
} brk_admission;

// Each admits one command's body of size bytes into *a. RR_OK, or the
// refusal with err naming the field (a->id set whenever the id was read,
// so the refusal can echo it).
rr_status brk_admit_submit(const brk_server *self, const void *data, size_t size, brk_admission *a,
                           rr_wire_error *err);
rr_status brk_admit_update(const brk_server *self, const void *data, size_t size, brk_admission *a,
                           rr_wire_error *err);
rr_status brk_admit_follow(const brk_server *self, const void *data, size_t size, brk_admission *a,
                           rr_wire_error *err);
rr_status brk_admit_inbox(const brk_server *self, const void *data, size_t size, brk_admission *a,
                          rr_wire_error *err);
rr_status brk_admit_donate(const brk_server *self, const void *data, size_t size, brk_admission *a,
                           rr_wire_error *err);
rr_status brk_admit_profile(const brk_server *self, const void *data, size_t size, brk_admission *a,
                            rr_wire_error *err);
rr_status brk_admit_trustee(const brk_server *self, const void *data, size_t size, brk_admission *a,
                            rr_wire_error *err);
rr_status brk_admit_finding(const brk_server *self, const void *data, size_t size, brk_admission *a,
                            rr_wire_error *err);
rr_status brk_admit_rate(const brk_server *self, const void *data, size_t size, brk_admission *a,
                         rr_wire_error *err);
rr_status brk_admit_status(const brk_server *self, const void *data, size_t size, brk_admission *a,
                           rr_wire_error *err);

#endif
