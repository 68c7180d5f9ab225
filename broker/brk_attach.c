// A worker's brokers as it reports them.
#include "brk_attach.h"

#include "brk_policy.h"
#include "rr_format.h"
#include "rr_vocab.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

rr_status
brk_attach_take(const Rr__V1__WorkerStats *ws, brk_worker_brokers *out, char *why, size_t cap)
{
    // rr_wire_unpack checked the counts already; checked again here because
    // the copy below relies on them.
    uint32_t configured = ws->brokers_configured, attached = ws->brokers_attached;
    size_t n = ws->n_brokers_detached;
    if (configured == 0 && attached == 0 && n == 0) {
        out->known = false;
        return RR_OK;
    }
    if (configured > RR_WIRE_MAX_BROKERS || attached > configured || n != configured - attached) {
        (void) rr_format(why, cap,
                         "its broker counts disagree: attached to %u of %u, %zu named detached",
                         attached, configured, n);
        return RR_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *e = ws->brokers_detached[i];
        if (e == NULL || e[0] == '\0' || !brk_policy_label_ok(e, RR_WIRE_MAX_ENDPOINT_BYTES)) {
            (void) rr_format(why, cap,
                             "detached broker %zu is empty, longer than %d bytes or not printable "
                             "ASCII",
                             i + 1, RR_WIRE_MAX_ENDPOINT_BYTES);
            return RR_EINVAL;
        }
    }
    out->known = true;
    out->configured = configured;
    out->attached = attached;
    out->ndetached = (uint32_t) n;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ws->brokers_detached[i]); // <= RR_WIRE_MAX_ENDPOINT_BYTES: checked
        memcpy(out->detached[i], ws->brokers_detached[i], len + 1);
    }
    return RR_OK;
}

bool
brk_attach_missing(const brk_worker_view *w)
{
    return w->brokers.known && w->brokers.attached < w->brokers.configured;
}

void
brk_attach_line(const brk_worker_view *w, char *buf, size_t cap)
{
    assert(cap >= 4);
    const brk_worker_brokers *b = &w->brokers;
    // Each endpoint with its separator, then the whole line cut as one.
    char list[RR_WIRE_MAX_BROKERS * (RR_WIRE_MAX_ENDPOINT_BYTES + 2) + 1] = "";
    size_t used = 0;
    for (uint32_t i = 0; i < b->ndetached; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", b->detached[i]);
        assert(n > 0 && (size_t) n < sizeof list - used); // sized for the most there can be
        used += (size_t) n;
    }
    (void) rr_format(buf, cap, "worker %s:%u (%s) attached to %u of %u brokers; not to %s", w->host,
                     w->pid, rr_domain_or_any(w->domain), b->attached, b->configured, list);
}
