// Retry and blame rules. A worker lost with a batch says nothing about any
// one request of it; a request that kills a worker it holds alone, after
// an earlier loss, is the likely cause: isolating suspects that way finds a
// poison request within two losses, and its batch-mates go on normally.
#include "brk_policy.h"

#include "rr_wire_frames.h"

#include <assert.h>
#include <stddef.h>

// Given up, a SUBMIT is first dead-lettered by one more worker (which
// answers with the referral instead if an attempt committed it); anything
// else, or a dead-letter delivery that failed too, is refused.
static brk_next
give_up(brk_attempts *a, bool submit)
{
    if (submit && !a->dead) {
        a->dead = true;
        return BRK_NEXT_DEAD_LETTER;
    }
    return BRK_NEXT_GIVE_UP;
}

brk_next
brk_policy_worker_lost(const brk_policy *p, brk_attempts *a, bool crashed, unsigned held,
                       bool submit)
{
    bool blamed = crashed && held == 1 && a->suspect && !a->dead;
    a->suspect = a->suspect || crashed;
    if (blamed) {
        a->failures++;
    }
    if (a->attempts >= p->max_attempts || a->failures >= p->max_failures) {
        return give_up(a, submit);
    }
    return blamed ? BRK_NEXT_RETRY_LATER : BRK_NEXT_REQUEUE;
}

brk_next
brk_policy_failed(const brk_policy *p, brk_attempts *a, bool submit)
{
    a->failures++;
    if (a->failures >= p->max_failures || a->dead) {
        // The worker did not honour the last-attempt mark.
        return give_up(a, submit);
    }
    return BRK_NEXT_RETRY_LATER;
}

uint8_t
brk_policy_delivery_flags(const brk_policy *p, const brk_attempts *a)
{
    if (a->dead) {
        return RR_CMD_DEAD_LETTER_FLAG;
    }
    if (a->failures + 1 >= p->max_failures) {
        return RR_CMD_LAST_ATTEMPT_FLAG; // one more failure and it is a dead letter
    }
    return 0;
}

int64_t
brk_policy_backoff_us(const brk_policy *p, unsigned failures, uint64_t jitter)
{
    assert(failures >= 1);
    unsigned shift = failures > 6 ? 5 : failures - 1;
    int64_t base = p->backoff_us << shift;
    return base + (int64_t) (jitter % (uint64_t) (base / 4 + 1));
}

bool
brk_policy_label_ok(const char *text, size_t max)
{
    size_t n = 0;
    for (; text[n] != '\0'; n++) {
        unsigned char c = (unsigned char) text[n];
        if (n >= max || c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return true;
}
