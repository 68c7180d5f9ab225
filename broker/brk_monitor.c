// The board: one snapshot behind a mutex. Copying a few tens of kilobytes
// a few times a second is cheaper and simpler than sharing live state.
#include "brk_monitor.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const double brk_latency_bounds_s[BRK_LATENCY_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct brk_board {
    pthread_mutex_t lock;
    brk_snapshot snap;
    bool published;
};

brk_board *
brk_board_new(void)
{
    brk_board *self = calloc(1, sizeof *self);
    if (self != NULL && pthread_mutex_init(&self->lock, NULL) != 0) {
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
    free(self);
    *self_p = NULL;
}

void
brk_board_publish(brk_board *self, const brk_snapshot *snap)
{
    pthread_mutex_lock(&self->lock);
    memcpy(&self->snap, snap, sizeof *snap);
    self->published = true;
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

void
brk_snapshot_observe_latency(brk_snapshot *snap, double seconds)
{
    size_t i = 0;
    while (i < BRK_LATENCY_BUCKETS && seconds > brk_latency_bounds_s[i]) {
        i++;
    }
    snap->latency_bucket[i]++;
    snap->latency_sum_s += seconds;
    snap->latency_count++;
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
