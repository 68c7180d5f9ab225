// The store's changing jobs: a status change in one transaction (lock the
// referral, settle a retried update_id, check with wrk_change, write the
// change and its event, COMMIT), and escalating overdue referrals.
#define RR_LOG_MODULE "store"
#include "wrk_change.h"
#include "wrk_store_impl.h"

#include "rr_clock.h"
#include "rr_format.h"
#include "rr_log.h"

#include <stdlib.h>
#include <string.h>

static const wrk_statement STATEMENTS[] = {
    // The referral, locked for an update.
    {"lock",
     "SELECT status, version, office_code, center_code, domain"
     " FROM referral WHERE id = $1::bigint FOR UPDATE",
     1},
    // The event an earlier attempt of the same update made, if any. A
    // separate statement after the lock: under READ COMMITTED it gets a
    // fresh snapshot, so it sees an attempt that committed while this one
    // waited on the lock.
    // An event's version is the count of its referral's events before it
    // (each change adds one event and one version; the submission is 1).
    {"find_update",
     "SELECT e.id, e.referral_id, e.actor, e.to_status, e.reason, e.kind = 'forward',"
     " e.office_code, (SELECT count(*) FROM referral_event p"
     "  WHERE p.referral_id = e.referral_id AND p.id < e.id)"
     " FROM referral_event e WHERE e.update_id = $1::uuid",
     1},
    // A forward gives the new owner the full time to accept, by its own
    // level (a county or province office's row of priority_sla, migration
    // 0012), counted from now, and may be escalated again.
    {"change",
     "WITH u AS ("
     " UPDATE referral SET status = $2, version = version + 1, updated_at = now(),"
     "  office_code = coalesce($3, office_code),"
     "  accept_deadline = CASE WHEN $3 IS NULL THEN accept_deadline"
     "   ELSE accept_deadline_for(referral.priority, $3) END,"
     "  escalated_at = CASE WHEN $3 IS NULL THEN escalated_at END"
     " WHERE id = $1::bigint RETURNING id, office_code, center_code"
     ")"
     " INSERT INTO referral_event (referral_id, from_status, to_status, actor, reason, kind,"
     "  office_code, center_code, update_id)"
     " SELECT u.id, $4, $2, $5, $6, $7, u.office_code, u.center_code, $8::uuid FROM u"
     " RETURNING id",
     8},
    {"office_active", "SELECT active FROM office WHERE code = $1", 1},
};

const wrk_statements wrk_update_statements = {STATEMENTS, sizeof STATEMENTS / sizeof STATEMENTS[0]};

#define DB_AWAY "could not change referral \"R-%s\": database unavailable"

// Reads the locked row; RR_ENOTFOUND when there is none.
static rr_status
lock_row(wrk_store *self, const char *ref, wrk_locked *row)
{
    const char *v[1] = {ref};
    PGresult *res = wrk_store_tx_step(self, "lock", NULL, 1, v, PGRES_TUPLES_OK);
    if (res == NULL) {
        return RR_EDB;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return RR_ENOTFOUND;
    }
    row->status = rr_ref_state_parse(PQgetvalue(res, 0, 0));
    row->version = (uint32_t) strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    wrk_store_copy_field(row->owner, sizeof row->owner, res, 0, 2);
    row->center_code = (uint32_t) strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    row->domain = rr_domain_parse(PQgetvalue(res, 0, 4));
    PQclear(res);
    return RR_OK;
}

// Commits, counting the wait. False when the connection failed: the commit
// is in doubt (the connection is dropped; the retry's update_id settles it).
static bool
commit(wrk_store *self)
{
    int64_t t0 = rr_clock_mono_us();
    PGresult *res = wrk_store_tx_step(self, NULL, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
    if (res == NULL) {
        wrk_store_disconnect(self);
        return false;
    }
    PQclear(res);
    wrk_store_commit_done(self, t0);
    return true;
}

// Whether this update_id was applied before. RR_OK with *earlier 0 when
// not; RR_OK with *earlier its event when it was, for this same change;
// RR_ECONFLICT with *field the first field that differs when it named
// another change (wrk_change_differs); RR_EDB.
static rr_status
find_update(wrk_store *self, const wrk_update *u, const wrk_change *change, uint64_t *earlier,
            const char **field)
{
    *earlier = 0;
    *field = NULL;
    const char *v[1] = {u->update_id};
    PGresult *res = wrk_store_tx_step(self, "find_update", NULL, 1, v, PGRES_TUPLES_OK);
    if (res == NULL) {
        return RR_EDB;
    }
    rr_status st = RR_OK;
    if (PQntuples(res) == 1) {
        wrk_prior_update prior = {0};
        prior.referral_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        wrk_store_copy_field(prior.actor, sizeof prior.actor, res, 0, 2);
        prior.to = rr_ref_state_parse(PQgetvalue(res, 0, 3));
        wrk_store_copy_field(prior.reason, sizeof prior.reason, res, 0, 4);
        prior.forward = PQgetvalue(res, 0, 5)[0] == 't';
        wrk_store_copy_field(prior.owner_after, sizeof prior.owner_after, res, 0, 6);
        prior.version_before = (uint32_t) strtoul(PQgetvalue(res, 0, 7), NULL, 10);
        *earlier = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        *field = wrk_change_differs(&prior, u, change);
        st = *field == NULL ? RR_OK : RR_ECONFLICT;
    }
    PQclear(res);
    return st;
}

// forward_to names an active office: RR_OK, RR_ENOTFOUND or RR_EDB.
static rr_status
office_active(wrk_store *self, const char *office)
{
    const char *v[1] = {office};
    PGresult *res = wrk_store_tx_step(self, "office_active", NULL, 1, v, PGRES_TUPLES_OK);
    if (res == NULL) {
        return RR_EDB;
    }
    bool active = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return active ? RR_OK : RR_ENOTFOUND;
}

// Writes the change and its event; *event_id is the event's id.
static rr_status
write_change(wrk_store *self, const char *ref, const wrk_locked *row, const wrk_update *u,
             const wrk_change *change, uint64_t *event_id)
{
    const char *v[8] = {ref,
                        rr_ref_state_name(u->to),
                        change->event == RR_EV_FORWARD ? u->forward_to : NULL,
                        rr_ref_state_name(row->status),
                        change->actor,
                        u->reason ? u->reason : "",
                        rr_ref_event_name(change->event),
                        u->update_id};
    PGresult *res = wrk_store_tx_step(self, "change", NULL, 8, v, PGRES_TUPLES_OK);
    if (res == NULL || PQntuples(res) != 1) {
        PQclear(res);
        return RR_EDB;
    }
    *event_id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return RR_OK;
}

// Runs the update inside its open transaction; any return but RR_OK with
// *committed set leaves the transaction for the caller to roll back.
static rr_status
apply(wrk_store *self, const char *ref, const wrk_update *u, uint64_t *event_id, bool *committed,
      rr_wire_error *err)
{
    wrk_locked row;
    wrk_change change;
    if (!wrk_change_actor(u, &change)) { // rr_wire's checks make this impossible
        return change.who == RR_ACTOR_OFFICE
                   ? rr_wire_fail(err, RR_EINVAL, "office_code", "invalid office_code \"%s\"",
                                  u->office_code)
                   : rr_wire_fail(err, RR_EINVAL, "center_code", "invalid center_code %u",
                                  u->center_code);
    }
    rr_status st = lock_row(self, ref, &row);
    if (st == RR_ENOTFOUND || (st == RR_OK && !wrk_change_visible(&row, u, &change))) {
        return rr_wire_fail(err, RR_ENOTFOUND, "referral_id", "referral \"R-%s\" does not exist",
                            ref);
    }
    uint64_t earlier = 0;
    const char *differs = NULL;
    if (st == RR_OK) {
        st = find_update(self, u, &change, &earlier, &differs);
    }
    if (st == RR_ECONFLICT) {
        return rr_wire_fail(err, RR_ECONFLICT, "update_id",
                            "cannot apply update \"%s\": this update_id was already used for "
                            "another change (its %s differs)",
                            u->update_id, differs);
    }
    if (st != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "", DB_AWAY, ref);
    }
    if (earlier == 0) {
        st = wrk_change_check(&row, u, &change, err);
        if (st != RR_OK) {
            return st;
        }
        if (change.event == RR_EV_FORWARD && (st = office_active(self, u->forward_to)) != RR_OK) {
            return st == RR_ENOTFOUND ? rr_wire_fail(err, RR_ENOTFOUND, "forward_to",
                                                     "unrecognized office \"%s\"", u->forward_to)
                                      : rr_wire_fail(err, RR_EDB, "", DB_AWAY, ref);
        }
        if (write_change(self, ref, &row, u, &change, event_id) != RR_OK) {
            return rr_wire_fail(err, RR_EDB, "", DB_AWAY, ref);
        }
    } else {
        // A retry of an update already made: answer as the first time. End
        // with COMMIT, not ROLLBACK: this transaction holds an id (the row
        // lock), so its commit waits until the first one is durable too.
        *event_id = earlier;
    }
    // Acknowledge only once the COMMIT's own result has been read.
    *committed = true;
    if (!commit(self)) {
        *event_id = 0;
        return rr_wire_fail(err, RR_EDB, "",
                            "could not change referral \"R-%s\": database unavailable, outcome "
                            "unknown: retry with the same update_id",
                            ref);
    }
    return RR_OK;
}

rr_status
wrk_store_update(wrk_store *self, const wrk_update *u, uint64_t *event_id, rr_wire_error *err)
{
    *event_id = 0;
    char ref[24];
    rr_format_fits(ref, sizeof ref, "%lld", (long long) u->referral_id);
    if (wrk_store_ensure(self) != RR_OK) {
        return rr_wire_fail(err, RR_EDB, "", DB_AWAY, ref);
    }
    PGresult *res = wrk_store_tx_step(self, NULL, "BEGIN", 0, NULL, PGRES_COMMAND_OK);
    if (res == NULL) {
        return rr_wire_fail(err, RR_EDB, "", DB_AWAY, ref);
    }
    PQclear(res);
    bool committed = false;
    rr_status st = apply(self, ref, u, event_id, &committed, err);
    if (!committed) {
        wrk_store_rollback(self); // a refusal records nothing
    }
    return st;
}

rr_status
wrk_store_escalate(wrk_store *self, int max, int *count)
{
    *count = 0;
    if (wrk_store_ensure(self) != RR_OK) {
        return RR_EDB;
    }
    char m[16];
    rr_format_fits(m, sizeof m, "%d", max);
    const char *v[1] = {m};
    PGresult *res = wrk_store_exec(self, NULL, "SELECT escalate_overdue($1::integer)", 1, v);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        if (res != NULL) {
            rr_log_error("escalating overdue referrals failed: %s", wrk_store_primary(res));
        }
        PQclear(res);
        return RR_EDB;
    }
    *count = (int) strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return RR_OK;
}
