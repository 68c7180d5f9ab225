// Per-sender limits on the front end: how many requests one authenticated
// sender may have queued or in flight at once, and how fast it may ask
// queries (FOLLOW, STATUS, INBOX: a token bucket). Pure data structure: the
// caller passes the clock and sends the refusals.
#ifndef BRK_LIMITS_H
#define BRK_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brk_limits_config {
    size_t max_outstanding; // requests queued or in flight per sender (0: no limit)
    double queries_per_s;   // the bucket's refill rate (0: no limit)
    double burst;           // the bucket's size, queries
    double operator_factor; // an operator's rate and burst are these times larger
    size_t max_senders;     // senders tracked at once; more are refused
} brk_limits_config;

typedef enum brk_limit {
    BRK_LIMIT_OK,          // admitted: counted, and a query took a token
    BRK_LIMIT_OUTSTANDING, // max_outstanding already queued or in flight
    BRK_LIMIT_RATE,        // no token: a query too soon
    BRK_LIMIT_SENDERS,     // max_senders are tracked, or out of memory
} brk_limit;

typedef struct brk_limits brk_limits;

// Limits by cfg (copied). NULL when out of memory. Caller frees with
// brk_limits_destroy.
brk_limits *brk_limits_new(const brk_limits_config *cfg);
void brk_limits_destroy(brk_limits **self_p);

// Decides whether sender may have one more request queued at now_us.
// query: a FOLLOW, STATUS or INBOX (rated); op: an operator's key (its rate
// and burst are larger). BRK_LIMIT_OK counts the request against sender
// until brk_limits_release, and takes a token for a query. On
// BRK_LIMIT_RATE, *retry_after_ms is the time until a token is there (at
// least 1); otherwise it is left alone.
brk_limit brk_limits_admit(brk_limits *self, const char *sender, bool query, bool op,
                           int64_t now_us, int64_t *retry_after_ms);

// One request admitted for sender has been answered or dropped.
void brk_limits_release(brk_limits *self, const char *sender, int64_t now_us);

// Forgets senders with nothing outstanding whose bucket is full again at
// now_us: dropping them changes no later decision, so the table holds only
// senders active within about burst / rate seconds.
void brk_limits_expire(brk_limits *self, int64_t now_us);

// Senders tracked now, and how many requests one of them has outstanding.
size_t brk_limits_senders(const brk_limits *self);
size_t brk_limits_outstanding(const brk_limits *self, const char *sender);

#endif
