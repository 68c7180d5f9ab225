// Worker registry over uthash (routing ids, delivery ids) and utlist (ready
// lists). A worker sits in its domain's ready list exactly while it has
// spare credit; dispatch takes the head and rotates it to the tail. A worker
// of every domain ("any") has list 0, which every domain falls back on when
// its own list is empty: its own domain's workers go first.
#include "brk_registry.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

struct brk_registry {
    brk_worker *by_id;                      // hash by routing id
    brk_request *inflight;                  // hash by delivery_id
    brk_worker *ready[RR_DOMAIN_COUNT + 1]; // per domain; [RR_DOMAIN_NONE]: "any" workers
    size_t count[RR_DOMAIN_COUNT + 1];
    size_t ready_count[RR_DOMAIN_COUNT + 1];
    size_t inflight_count;
    int any_cursor; // round robin for RR_DOMAIN_NONE
};

brk_registry *
brk_registry_new(void)
{
    return calloc(1, sizeof(brk_registry));
}

void
brk_registry_destroy(brk_registry **self_p, brk_pool *pool)
{
    assert(self_p != NULL);
    brk_registry *self = *self_p;
    if (self == NULL) {
        return;
    }
    brk_worker *w, *tmp;
    HASH_ITER(hh, self->by_id, w, tmp)
    {
        brk_request *orphans = NULL;
        brk_registry_remove(self, &w, &orphans);
        brk_request *r, *rtmp;
        DL_FOREACH_SAFE(orphans, r, rtmp)
        {
            DL_DELETE(orphans, r);
            brk_pool_put(pool, &r);
        }
    }
    free(self);
    *self_p = NULL;
}

brk_worker *
brk_registry_find(brk_registry *self, const void *id, size_t id_len)
{
    brk_worker *w = NULL;
    HASH_FIND(hh, self->by_id, id, id_len, w);
    return w;
}

static void
ready_add(brk_registry *self, brk_worker *w)
{
    if (!w->ready && w->inflight < w->credit && !(w->solo && w->inflight > 0)) {
        DL_APPEND2(self->ready[w->domain], w, rprev, rnext);
        w->ready = true;
        self->ready_count[w->domain]++;
    }
}

static void
ready_del(brk_registry *self, brk_worker *w)
{
    if (w->ready) {
        DL_DELETE2(self->ready[w->domain], w, rprev, rnext);
        w->rnext = w->rprev = NULL;
        w->ready = false;
        self->ready_count[w->domain]--;
    }
}

rr_status
brk_registry_add(brk_registry *self, const void *id, size_t id_len, rr_domain domain,
                 uint32_t credit, const char *host, uint32_t pid, int64_t now_ms, brk_worker **out)
{
    assert(domain >= RR_DOMAIN_NONE && domain <= RR_DOMAIN_COUNT && credit >= 1);
    assert(brk_registry_find(self, id, id_len) == NULL);
    *out = NULL;
    if (id_len == 0 || id_len > BRK_MAX_ID_BYTES) {
        return RR_EINVAL;
    }
    brk_worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return RR_ENOMEM;
    }
    memcpy(w->id, id, id_len);
    w->id_len = id_len;
    w->domain = domain;
    w->credit = credit;
    w->pid = pid;
    w->registered_ms = now_ms;
    w->expiry_ms = now_ms;
    int n = snprintf(w->host, sizeof w->host, "%s", host ? host : "");
    (void) n; // rr_wire_ready_unpack bounds it to fit
    HASH_ADD(hh, self->by_id, id, w->id_len, w);
    self->count[domain]++;
    ready_add(self, w);
    *out = w;
    return RR_OK;
}

void
brk_registry_remove(brk_registry *self, brk_worker **worker_p, brk_request **orphans_p)
{
    brk_worker *w = *worker_p;
    assert(w != NULL);
    ready_del(self, w);
    HASH_DEL(self->by_id, w);
    self->count[w->domain]--;
    brk_request *r, *tmp;
    DL_FOREACH_SAFE(w->deliveries, r, tmp)
    {
        assert(self->inflight != NULL); // every delivery is in the in-flight map
        HASH_DEL(self->inflight, r);
        self->inflight_count--;
        r->worker = NULL;
    }
    *orphans_p = w->deliveries; // the list moves to the caller as it is
    free(w);
    *worker_p = NULL;
}

// Round robin, not idle workers first: giving each request to an idle
// worker spared it a busy worker's COMMIT but made more, smaller
// transactions, and measured worse at 4,000 requests/s (p99 11.7 against
// 9.8 ms with three workers of every domain; docs/PERFORMANCE.md).
brk_worker *
brk_registry_next_ready(brk_registry *self, rr_domain domain)
{
    if (domain == RR_DOMAIN_NONE) {
        for (int i = 0; i < RR_DOMAIN_COUNT; i++) {
            int d = 1 + (self->any_cursor + i) % RR_DOMAIN_COUNT;
            if (self->ready[d] != NULL) {
                self->any_cursor = d % RR_DOMAIN_COUNT; // next time start after d
                return self->ready[d];
            }
        }
        return self->ready[RR_DOMAIN_NONE];
    }
    assert(domain >= 1 && domain <= RR_DOMAIN_COUNT);
    return self->ready[domain] != NULL ? self->ready[domain] : self->ready[RR_DOMAIN_NONE];
}

brk_worker *
brk_registry_next_idle(brk_registry *self, rr_domain domain)
{
    assert(domain >= 1 && domain <= RR_DOMAIN_COUNT);
    brk_worker *w;
    DL_FOREACH2(self->ready[domain], w, rnext)
    {
        if (w->inflight == 0) {
            return w;
        }
    }
    DL_FOREACH2(self->ready[RR_DOMAIN_NONE], w, rnext)
    {
        if (w->inflight == 0) {
            return w;
        }
    }
    return NULL;
}

void
brk_registry_assign(brk_registry *self, brk_worker *w, brk_request *req, uint64_t delivery_id,
                    bool solo)
{
    assert(w->inflight < w->credit);
    assert(!solo || w->inflight == 0);
    w->solo = solo;
    req->delivery_id = delivery_id;
    req->worker = w;
    HASH_ADD(hh, self->inflight, delivery_id, sizeof req->delivery_id, req);
    self->inflight_count++;
    DL_APPEND(w->deliveries, req);
    w->inflight++;
    // Rotate for fairness: the worker goes behind its peers, or out of the
    // ready list when its credit is used up.
    ready_del(self, w);
    ready_add(self, w);
}

brk_request *
brk_registry_complete(brk_registry *self, brk_worker *worker, uint64_t delivery_id)
{
    brk_request *req = NULL;
    HASH_FIND(hh, self->inflight, &delivery_id, sizeof delivery_id, req);
    if (req == NULL || req->worker != worker) {
        return NULL;
    }
    HASH_DEL(self->inflight, req);
    self->inflight_count--;
    brk_worker *w = req->worker;
    assert(w != NULL && w->inflight > 0);
    DL_DELETE(w->deliveries, req);
    req->next = req->prev = NULL;
    w->inflight--;
    if (w->inflight == 0) {
        w->solo = false;
    }
    ready_add(self, w);
    return req;
}

void
brk_registry_touch(brk_worker *worker, int64_t now_ms, int64_t liveness_ms)
{
    worker->expiry_ms = now_ms + liveness_ms;
    worker->last_seen_ms = now_ms;
}

brk_worker *
brk_registry_expired(brk_registry *self, int64_t now_ms)
{
    brk_worker *w, *tmp;
    HASH_ITER(hh, self->by_id, w, tmp)
    {
        if (w->expiry_ms < now_ms) {
            return w;
        }
    }
    return NULL;
}

void
brk_registry_foreach(brk_registry *self, void (*fn)(brk_worker *, void *), void *arg)
{
    brk_worker *w, *tmp;
    HASH_ITER(hh, self->by_id, w, tmp)
    {
        fn(w, arg);
    }
}

size_t
brk_registry_count(const brk_registry *self, rr_domain domain)
{
    assert(domain >= RR_DOMAIN_NONE && domain <= RR_DOMAIN_COUNT);
    return domain == RR_DOMAIN_NONE ? self->count[domain]
                                    : self->count[domain] + self->count[RR_DOMAIN_NONE];
}

size_t
brk_registry_ready_count(const brk_registry *self, rr_domain domain)
{
    assert(domain >= RR_DOMAIN_NONE && domain <= RR_DOMAIN_COUNT);
    return domain == RR_DOMAIN_NONE ? self->ready_count[domain]
                                    : self->ready_count[domain] + self->ready_count[RR_DOMAIN_NONE];
}

size_t
brk_registry_inflight(const brk_registry *self)
{
    return self->inflight_count;
}
