// Per-sender limits: a hash table of the senders with requests outstanding
// or a bucket not yet full again; everyone else is as if never seen.
#include "brk_limits.h"

#include "rr_principal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct sender {
    char key[RR_PRINCIPAL_MAX + 1];
    size_t outstanding;
    double tokens; // at refilled_us
    int64_t refilled_us;
    bool op; // an operator's: the larger rate and burst
    UT_hash_handle hh;
} sender;

struct brk_limits {
    brk_limits_config cfg;
    sender *senders;
};

brk_limits *
brk_limits_new(const brk_limits_config *cfg)
{
    brk_limits *self = calloc(1, sizeof *self);
    if (self != NULL) {
        self->cfg = *cfg;
    }
    return self;
}

void
brk_limits_destroy(brk_limits **self_p)
{
    assert(self_p != NULL);
    brk_limits *self = *self_p;
    if (self == NULL) {
        return;
    }
    // HASH_CLEAR frees the table and leaves the entries linked (hh.next).
    sender *s = self->senders;
    HASH_CLEAR(hh, self->senders);
    while (s != NULL) {
        sender *next = s->hh.next;
        free(s);
        s = next;
    }
    free(self);
    *self_p = NULL;
}

static double
rate_of(const brk_limits *self, bool op)
{
    return self->cfg.queries_per_s * (op ? self->cfg.operator_factor : 1.0);
}

static double
burst_of(const brk_limits *self, bool op)
{
    return self->cfg.burst * (op ? self->cfg.operator_factor : 1.0);
}

// Brings s's bucket up to now_us.
static void
refill(const brk_limits *self, sender *s, int64_t now_us)
{
    if (now_us > s->refilled_us) {
        s->tokens += rate_of(self, s->op) * (double) (now_us - s->refilled_us) / 1e6;
        s->refilled_us = now_us;
    }
    if (s->tokens > burst_of(self, s->op)) {
        s->tokens = burst_of(self, s->op);
    }
}

static sender *
find(const brk_limits *self, const char *key)
{
    sender *s = NULL;
    HASH_FIND_STR(self->senders, key, s);
    return s;
}

// Drops s from the table. uthash frees its table with its last entry: the
// last one goes through HASH_CLEAR, which the analyzer follows.
static void
forget(brk_limits *self, sender *s)
{
    if (HASH_COUNT(self->senders) == 1) {
        HASH_CLEAR(hh, self->senders);
    } else {
        HASH_DEL(self->senders, s);
    }
    free(s);
}

static bool
idle(const brk_limits *self, sender *s, int64_t now_us)
{
    refill(self, s, now_us);
    return s->outstanding == 0 &&
           (self->cfg.queries_per_s <= 0 || s->tokens >= burst_of(self, s->op));
}

brk_limit
brk_limits_admit(brk_limits *self, const char *key, bool query, bool op, int64_t now_us,
                 int64_t *retry_after_ms)
{
    bool rated = query && self->cfg.queries_per_s > 0;
    sender *s = find(self, key);
    if (s == NULL) {
        if (HASH_COUNT(self->senders) >= self->cfg.max_senders) {
            return BRK_LIMIT_SENDERS;
        }
        s = calloc(1, sizeof *s);
        if (s == NULL) {
            return BRK_LIMIT_SENDERS;
        }
        size_t n = strnlen(key, RR_PRINCIPAL_MAX);
        memcpy(s->key, key, n);
        s->op = op;
        s->tokens = burst_of(self, op);
        s->refilled_us = now_us;
        HASH_ADD_STR(self->senders, key, s);
    }
    refill(self, s, now_us);
    brk_limit verdict = BRK_LIMIT_OK;
    if (self->cfg.max_outstanding > 0 && s->outstanding >= self->cfg.max_outstanding) {
        verdict = BRK_LIMIT_OUTSTANDING;
    } else if (rated && s->tokens < 1.0) {
        double wait_ms = (1.0 - s->tokens) / rate_of(self, s->op) * 1000.0;
        int64_t ms = (int64_t) wait_ms;
        *retry_after_ms = ms + ((double) ms < wait_ms || ms < 1); // rounded up, at least 1
        verdict = BRK_LIMIT_RATE;
    } else {
        s->outstanding++;
        if (rated) {
            s->tokens -= 1.0;
        }
    }
    if (verdict != BRK_LIMIT_OK && idle(self, s, now_us)) {
        forget(self, s); // refused at once and nothing else held: no trace
    }
    return verdict;
}

void
brk_limits_release(brk_limits *self, const char *key, int64_t now_us)
{
    sender *s = find(self, key);
    assert(s != NULL && s->outstanding > 0);
    s->outstanding--;
    if (idle(self, s, now_us)) {
        forget(self, s);
    }
}

void
brk_limits_expire(brk_limits *self, int64_t now_us)
{
    sender *s = self->senders;
    while (s != NULL) {
        sender *next = s->hh.next;
        if (idle(self, s, now_us)) {
            forget(self, s);
        }
        s = next;
    }
}

size_t
brk_limits_senders(const brk_limits *self)
{
    return HASH_COUNT(self->senders);
}

size_t
brk_limits_outstanding(const brk_limits *self, const char *key)
{
    const sender *s = find(self, key);
    return s ? s->outstanding : 0;
}
