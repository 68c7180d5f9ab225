// Log limiter: a fixed window of one second.
#define RR_LOG_MODULE "server"
#include "brk_noisy.h"

#include "rr_log.h"

void
brk_noisy_init(brk_noisy *self, unsigned burst, const char *what)
{
    self->window_ms = 0;
    self->in_window = 0;
    self->burst = burst;
    self->suppressed = 0;
    self->what = what;
}

void
brk_noisy_flush(brk_noisy *self, int64_t now_ms)
{
    if (now_ms - self->window_ms < 1000) {
        return;
    }
    if (self->suppressed > 0) {
        rr_log_warn("%llu more %s lines suppressed in the last %lld ms",
                    (unsigned long long) self->suppressed, self->what,
                    (long long) (now_ms - self->window_ms));
    }
    self->window_ms = now_ms;
    self->in_window = 0;
    self->suppressed = 0;
}

bool
brk_noisy_ok(brk_noisy *self, int64_t now_ms)
{
    brk_noisy_flush(self, now_ms);
    if (self->in_window < self->burst) {
        self->in_window++;
        return true;
    }
    self->suppressed++;
    return false;
}
