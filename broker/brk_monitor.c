// The board: one snapshot and the history behind a mutex. Copying a few
// tens of kilobytes a few times a second is cheaper and simpler than
// sharing live state.
#include "brk_monitor.h"

#include "brk_history.h"
#include "rr_format.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double brk_latency_bounds_s[BRK_LATENCY_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60};

struct brk_board {
    pthread_mutex_t lock;
    brk_snapshot snap;
    bool published;
    brk_history *history; // owned
};

brk_board *
brk_board_new(size_t history_samples, long history_step_ms)
{
    brk_board *self = calloc(1, sizeof *self);
    if (self == NULL) {
        return NULL;
    }
    self->history = brk_history_new(history_samples, history_step_ms);
    if (self->history == NULL || pthread_mutex_init(&self->lock, NULL) != 0) {
        brk_history_destroy(&self->history);
        free(self);
        return NULL;
    }
    return self;
}

void
brk_board_destroy(brk_board **self_p)
{
    brk_board *self = *self_p;
    if (self == NULL) {
        return;
    }
    pthread_mutex_destroy(&self->lock);
    brk_history_destroy(&self->history);
    free(self);
    *self_p = NULL;
}

void
brk_board_publish(brk_board *self, const brk_snapshot *snap)
{
    pthread_mutex_lock(&self->lock);
    memcpy(&self->snap, snap, sizeof *snap);
    self->published = true;
    (void) brk_history_feed(self->history, snap);
    pthread_mutex_unlock(&self->lock);
}

bool
brk_board_read(brk_board *self, brk_snapshot *out)
{
    pthread_mutex_lock(&self->lock);
    bool ok = self->published;
    if (ok) {
        memcpy(out, &self->snap, sizeof *out);
    }
    pthread_mutex_unlock(&self->lock);
    return ok;
}

size_t
brk_board_history(brk_board *self, int64_t since_ms, struct brk_sample *out, size_t cap,
                  long *step_ms)
{
    pthread_mutex_lock(&self->lock);
    size_t n = brk_history_copy(self->history, since_ms, out, cap);
    *step_ms = brk_history_step_ms(self->history);
    pthread_mutex_unlock(&self->lock);
    return n;
}

size_t
brk_board_history_capacity(const brk_board *self)
{
    return brk_history_capacity(self->history); // fixed at creation: no lock needed
}

void
brk_latency_observe(brk_latency *h, double seconds)
{
    size_t i = 0;
    while (i < BRK_LATENCY_BUCKETS && seconds > brk_latency_bounds_s[i]) {
        i++;
    }
    h->bucket[i]++;
    h->sum_s += seconds;
    h->count++;
}

double
brk_latency_quantile(const uint64_t bucket[BRK_LATENCY_BUCKETS + 1], double q)
{
    assert(q > 0 && q < 1);
    uint64_t total = 0;
    for (size_t i = 0; i <= BRK_LATENCY_BUCKETS; i++) {
        total += bucket[i];
    }
    if (total == 0) {
        return -1;
    }
    double rank = q * (double) total;
    uint64_t below = 0;
    for (size_t i = 0; i < BRK_LATENCY_BUCKETS; i++) {
        if ((double) (below + bucket[i]) >= rank) {
            double lower = i == 0 ? 0 : brk_latency_bounds_s[i - 1];
            double upper = brk_latency_bounds_s[i];
            return lower + (upper - lower) * ((rank - (double) below) / (double) bucket[i]);
        }
        below += bucket[i];
    }
    return brk_latency_bounds_s[BRK_LATENCY_BUCKETS - 1]; // in the +Inf bucket
}

rr_status
brk_expected_workers_parse(const char *text, uint32_t out[RR_DOMAIN_COUNT + 1], char *why,
                           size_t why_cap)
{
    uint32_t parsed[RR_DOMAIN_COUNT + 1] = {0};
    char *end = NULL;
    errno = 0;
    long all = strtol(text, &end, 10);
    if (end != text && *end == '\0') {
        if (errno != 0 || all < 0 || all > 10000) {
            (void) rr_format(why, why_cap, "invalid --expected-workers \"%s\": expected 0 to 10000",
                             text);
            return RR_EINVAL;
        }
        for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
            out[d] = (uint32_t) all;
        }
        out[0] = 0;
        return RR_OK;
    }
    bool seen[RR_DOMAIN_COUNT + 1] = {false};
    const char *p = text;
    while (*p != '\0') {
        const char *eq = strchr(p, '=');
        const char *comma = strchr(p, ',');
        if (eq == NULL || (comma != NULL && comma < eq) || (size_t) (eq - p) >= 32) {
            break;
        }
        char name[32];
        memcpy(name, p, (size_t) (eq - p));
        name[eq - p] = '\0';
        rr_domain d = rr_domain_parse(name);
        errno = 0;
        long n = strtol(eq + 1, &end, 10);
        if (d == RR_DOMAIN_NONE || seen[d] || end == eq + 1 || errno != 0 || n < 0 || n > 10000 ||
            (*end != ',' && *end != '\0')) {
            break;
        }
        seen[d] = true;
        parsed[d] = (uint32_t) n;
        p = *end == ',' ? end + 1 : end;
        if (*end == '\0') {
            memcpy(out, parsed, sizeof parsed);
            return RR_OK;
        }
    }
    (void) rr_format(
        why, why_cap,
        "invalid --expected-workers \"%s\": expected a number, or domain=N pairs such as "
        "\"prevention=1,rehabilitation=1,social=2\"",
        text);
    return RR_EINVAL;
}

bool
brk_snapshot_ready(const brk_snapshot *snap)
{
    if (snap->draining) {
        return false;
    }
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        if (snap->queue[d].workers == 0) {
            return false;
        }
    }
    return true;
}
