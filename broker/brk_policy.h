// The broker's rules for a request whose worker fails it or is lost: who
// is blamed, when it is retried, when it becomes a dead letter, and how its
// next delivery is flagged (docs/PROTOCOL.md section 6). Pure functions of
// the request's history: the server applies their answers.
#ifndef BRK_POLICY_H
#define BRK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brk_policy {
    unsigned max_attempts; // deliveries in all before a request is given up
    unsigned max_failures; // failures blamed on it before it is given up
    int64_t backoff_us;    // the first retry's wait; doubles with each failure
} brk_policy;

// A request's history, as the rules see it.
typedef struct brk_attempts {
    unsigned attempts; // deliveries so far
    unsigned failures; // failures blamed on it
    bool suspect;      // a worker holding it was lost: it goes alone to an idle worker
    bool dead;         // its next delivery asks the worker to record a dead letter
} brk_attempts;

typedef enum brk_next {
    BRK_NEXT_REQUEUE,     // back to the head of its queue at once
    BRK_NEXT_RETRY_LATER, // held back for brk_policy_backoff_us, then the head of its queue
    BRK_NEXT_DEAD_LETTER, // delivered once more, flagged: the worker keeps it as a dead letter
    BRK_NEXT_GIVE_UP,     // answered busy with EINTERNAL: nothing more can be done
} brk_next;

// The worker holding the request is gone. crashed: it expired, became
// unreachable or broke the protocol (false: it left on purpose, which
// blames nothing). held: how many requests it held. Only a suspect held
// alone by a crashed worker is blamed (a failure); every crash makes the
// request a suspect. Updates *a and says what comes next; submit tells
// whether the request is a SUBMIT (only those become dead letters).
brk_next brk_policy_worker_lost(const brk_policy *p, brk_attempts *a, bool crashed, unsigned held,
                                bool submit);

// The worker answered FAILED (the database refused it): a failure.
brk_next brk_policy_failed(const brk_policy *p, brk_attempts *a, bool submit);

// RR_CMD_DEAD_LETTER_FLAG, RR_CMD_LAST_ATTEMPT_FLAG or 0 for the next delivery.
uint8_t brk_policy_delivery_flags(const brk_policy *p, const brk_attempts *a);

// The wait before retrying a request that failed `failures` times (>= 1):
// backoff_us doubled per failure, at most 32 times, plus up to a quarter
// from jitter (any number: its remainder spreads requests failed together).
int64_t brk_policy_backoff_us(const brk_policy *p, unsigned failures, uint64_t jitter);

// True when text a worker reports about itself (its host name, its version)
// may be shown to operators: printable ASCII only (no control characters,
// no bytes above 0x7e), at most max bytes; empty is allowed (an older
// worker may send no version). Logs, metrics labels and the
// dashboard carry it.
bool brk_policy_label_ok(const char *text, size_t max);

#endif
