// A status change's checks against the referral as locked: whether the
// actor may see it, and whether the change is allowed (domain, ownership,
// version, the lifecycle table, reason, forward target). Pure: the store
// reads and locks the row, asks here, and writes what is allowed.
#ifndef WRK_CHANGE_H
#define WRK_CHANGE_H

#include "rr_lifecycle.h"
#include "rr_principal.h"
#include "rr_wire.h"

#include <stdbool.h>
#include <stdint.h>

// A status change asked for by an office or a center (borrowed strings).
typedef struct wrk_update {
    const char *update_id; // idempotency key
    int64_t referral_id;
    rr_domain domain; // the worker's domain: the referral must be of it
    rr_ref_state to;
    const char *office_code; // acting office, or NULL
    uint32_t center_code;    // acting center, or 0
    uint32_t expected_version;
    const char *reason;
    const char *forward_to; // new owner for a forward, or NULL
} wrk_update;

// The referral's row as the update locked it.
typedef struct wrk_locked {
    rr_ref_state status;
    uint32_t version;
    char owner[RR_WIRE_MAX_OFFICE_BYTES + 1]; // the owning office
    uint32_t center_code;                     // the center that submitted it
    rr_domain domain;
} wrk_locked;

// What an allowed change is.
typedef struct wrk_change {
    rr_actor who;
    char actor[RR_PRINCIPAL_MAX + 1]; // "office:CO-2301" or "center:941", as events name it
    rr_ref_event event;               // RR_EV_FORWARD: the store checks forward_to is active
} wrk_change;

// Who acts in u, and the actor's principal text. False when u's actor
// makes no principal (wrk_update comes from a checked UpdateRequest: then
// it always does).
bool wrk_change_actor(const wrk_update *u, wrk_change *out);

// False when the actor may not even see the referral: a center acting on
// another center's (answered "does not exist", like a missing one).
bool wrk_change_visible(const wrk_locked *row, const wrk_update *u, const wrk_change *change);

// Checks u against row, in this order: the domain (EINVAL "domain"), an
// office acting on another office's referral (EPERM "office_code"), the
// version (ECONFLICT "expected_version"), the lifecycle table (EPERM or
// ESTATE "to_status"), a required reason (EINVAL "reason"), and forward_to
// (EINVAL "forward_to": required for a forward, to another office, and
// only then). RR_OK sets change->event. Messages name the referral as
// "R-<id>".
RR_NODISCARD rr_status wrk_change_check(const wrk_locked *row, const wrk_update *u,
                                        wrk_change *change, rr_wire_error *err);

// A change recorded under an update_id, as its event holds it.
typedef struct wrk_prior_update {
    int64_t referral_id;
    char actor[RR_PRINCIPAL_MAX + 1];
    rr_ref_state to;
    uint32_t version_before; // the version the change was made at
    char reason[RR_WIRE_MAX_REASON_BYTES + 1];
    bool forward;                                   // the event was a forward ...
    char owner_after[RR_WIRE_MAX_OFFICE_BYTES + 1]; // ... to this office
} wrk_prior_update;

// The first field, in the request's order, in which u asks for another
// change than the one prior recorded under the same update_id
// ("referral_id", "office_code" or "center_code" for another actor,
// "to_status", "expected_version", "reason", "forward_to"); NULL when u is
// the same change again.
const char *wrk_change_differs(const wrk_prior_update *prior, const wrk_update *u,
                               const wrk_change *change);

#endif
