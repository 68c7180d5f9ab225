#include "wrk_change.h"

#include <string.h>

bool
wrk_change_actor(const wrk_update *u, wrk_change *out)
{
    memset(out, 0, sizeof *out);
    if (u->office_code != NULL && u->office_code[0] != '\0') {
        out->who = RR_ACTOR_OFFICE;
        return rr_principal_of_office(u->office_code, out->actor);
    }
    out->who = RR_ACTOR_CENTER;
    return rr_principal_of_center(u->center_code, out->actor);
}

bool
wrk_change_visible(const wrk_locked *row, const wrk_update *u, const wrk_change *change)
{
    return change->who != RR_ACTOR_CENTER || row->center_code == u->center_code;
}

rr_status
wrk_change_check(const wrk_locked *row, const wrk_update *u, wrk_change *change, rr_wire_error *err)
{
    long long ref = (long long) u->referral_id;
    const char *to_name = rr_ref_state_name(u->to);
    bool has_forward = u->forward_to != NULL && u->forward_to[0] != '\0';
    if (row->domain != u->domain) {
        return rr_wire_fail(err, RR_EINVAL, "domain",
                            "referral \"R-%lld\" belongs to domain \"%s\", not \"%s\"", ref,
                            rr_domain_name(row->domain), rr_domain_name(u->domain));
    }
    if (change->who == RR_ACTOR_OFFICE && strcmp(row->owner, u->office_code) != 0) {
        return rr_wire_fail(err, RR_EPERM, "office_code",
                            "cannot change referral \"R-%lld\": it is owned by office \"%s\", not "
                            "\"%s\"",
                            ref, row->owner, u->office_code);
    }
    if (row->version != u->expected_version) {
        return rr_wire_fail(err, RR_ECONFLICT, "expected_version",
                            "cannot change referral \"R-%lld\": it is at version %u, not %u (it "
                            "changed since you read it)",
                            ref, row->version, u->expected_version);
    }
    bool needs_reason = false;
    rr_status st =
        rr_lifecycle_decide(row->status, u->to, change->who, &change->event, &needs_reason);
    if (st == RR_EPERM) {
        return rr_wire_fail(err, RR_EPERM, "to_status",
                            "cannot change referral \"R-%lld\" to \"%s\": only %s may", ref,
                            to_name, change->who == RR_ACTOR_CENTER ? "its office" : "its center");
    }
    if (st != RR_OK) {
        return rr_wire_fail(err, RR_ESTATE, "to_status",
                            "cannot change referral \"R-%lld\" to \"%s\": it is %s", ref, to_name,
                            rr_ref_state_name(row->status));
    }
    if (needs_reason && (u->reason == NULL || u->reason[0] == '\0')) {
        return rr_wire_fail(err, RR_EINVAL, "reason",
                            "missing required field \"reason\": a %s needs one",
                            rr_ref_event_name(change->event));
    }
    if (change->event == RR_EV_FORWARD &&
        (!has_forward || strcmp(u->forward_to, row->owner) == 0)) {
        return rr_wire_fail(err, RR_EINVAL, "forward_to",
                            "a forward needs \"forward_to\": an office other than \"%s\"",
                            row->owner);
    }
    if (change->event != RR_EV_FORWARD && has_forward) {
        return rr_wire_fail(err, RR_EINVAL, "forward_to",
                            "field \"forward_to\" is only for a forward (to \"requested\")");
    }
    return RR_OK;
}

const char *
wrk_change_differs(const wrk_prior_update *prior, const wrk_update *u, const wrk_change *change)
{
    const char *forward_to = u->forward_to != NULL ? u->forward_to : "";
    if (prior->referral_id != u->referral_id) {
        return "referral_id";
    }
    if (strcmp(prior->actor, change->actor) != 0) {
        return change->who == RR_ACTOR_OFFICE ? "office_code" : "center_code";
    }
    if (prior->to != u->to) {
        return "to_status";
    }
    if (prior->version_before != u->expected_version) {
        return "expected_version";
    }
    if (strcmp(prior->reason, u->reason != NULL ? u->reason : "") != 0) {
        return "reason";
    }
    if (prior->forward ? strcmp(prior->owner_after, forward_to) != 0 : forward_to[0] != '\0') {
        return "forward_to";
    }
    return NULL;
}
