// The monitor's connection table (brk_httpcap.h): entries by the caller's handle (uthash),
// counts per address, and a deadline per entry. A few hundred entries at
// most (the cap), so the deadline sweep walks them all.
#include "brk_httpcap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define ADDR_MAX 64

typedef struct cap_addr {
    char addr[ADDR_MAX];
    size_t open;
    UT_hash_handle hh;
} cap_addr;

struct brk_httpcap_conn {
    void *io;            // the caller's handle, and the key
    cap_addr *from;      // borrowed from the address table; NULL until placed or when refused
    bool placed;         // its address was given (brk_httpcap_place)
    bool closing;        // refused or expired: the caller is closing it
    bool over_total;     // opened with the table full already
    int64_t deadline_ms; // monotonic
    UT_hash_handle hh;   // by io
};

struct brk_httpcap {
    brk_conns_limits limits;
    int64_t timeout_ms;
    brk_httpcap_conn *by_io;
    cap_addr *by_addr;
    size_t unplaced; // entries not placed yet
    brk_httpcap_counts counts;
};

brk_conns_limits
brk_httpcap_fit(size_t max_total, size_t max_per_addr)
{
    size_t half = max_total / 2 > 0 ? max_total / 2 : 1;
    return (brk_conns_limits){max_total > 0 ? max_total : 1,
                              max_per_addr > half ? half : (max_per_addr > 0 ? max_per_addr : 1)};
}

brk_httpcap *
brk_httpcap_new(brk_conns_limits limits, int64_t timeout_ms)
{
    assert(limits.max_total >= 1 && limits.max_per_addr >= 1 && timeout_ms > 0);
    brk_httpcap *self = calloc(1, sizeof *self);
    if (self != NULL) {
        self->limits = limits;
        self->timeout_ms = timeout_ms;
    }
    return self;
}

void
brk_httpcap_destroy(brk_httpcap **self_p)
{
    assert(self_p != NULL);
    brk_httpcap *self = *self_p;
    if (self == NULL) {
        return;
    }
    // HASH_CLEAR frees the tables and leaves the entries linked (hh.next).
    brk_httpcap_conn *c = self->by_io;
    HASH_CLEAR(hh, self->by_io);
    while (c != NULL) {
        brk_httpcap_conn *next = c->hh.next;
        free(c);
        c = next;
    }
    cap_addr *a = self->by_addr;
    HASH_CLEAR(hh, self->by_addr);
    while (a != NULL) {
        cap_addr *next = a->hh.next;
        free(a);
        a = next;
    }
    free(self);
    *self_p = NULL;
}

brk_httpcap_conn *
brk_httpcap_open(brk_httpcap *self, void *io, int64_t now_ms)
{
    brk_httpcap_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->io = io;
    c->over_total = self->counts.open >= self->limits.max_total;
    c->deadline_ms = now_ms + self->timeout_ms;
    HASH_ADD_PTR(self->by_io, io, c);
    self->counts.open++;
    self->unplaced++;
    return c;
}

brk_httpcap_conn *
brk_httpcap_find(brk_httpcap *self, const void *io)
{
    brk_httpcap_conn *c = NULL;
    HASH_FIND_PTR(self->by_io, &io, c);
    return c;
}

void *
brk_httpcap_io(const brk_httpcap_conn *conn)
{
    return conn->io;
}

brk_httpcap_conn *
brk_httpcap_unplaced(brk_httpcap *self)
{
    // Insertion order: the oldest first.
    for (brk_httpcap_conn *c = self->by_io; self->unplaced > 0 && c != NULL; c = c->hh.next) {
        if (!c->placed) {
            return c;
        }
    }
    return NULL;
}

brk_conn_verdict
brk_httpcap_place(brk_httpcap *self, brk_httpcap_conn *conn, const char *addr)
{
    assert(!conn->placed && self->unplaced > 0);
    conn->placed = true;
    self->unplaced--;
    char key[ADDR_MAX];
    size_t n = strnlen(addr, ADDR_MAX - 1);
    memcpy(key, addr, n);
    key[n] = '\0';
    cap_addr *a = NULL;
    HASH_FIND_STR(self->by_addr, key, a);
    // The total was judged when it was opened (the caller stops accepting
    // when the table is full); the address now.
    brk_conn_verdict v = conn->over_total
                             ? BRK_CONN_OVER_TOTAL
                             : brk_conns_decide(&self->limits, 0, a != NULL ? a->open : 0);
    if (v == BRK_CONN_ADMIT && a == NULL) {
        a = calloc(1, sizeof *a);
        if (a == NULL) {
            v = BRK_CONN_OVER_TOTAL; // out of memory: not this one
        } else {
            memcpy(a->addr, key, n + 1);
            HASH_ADD_STR(self->by_addr, addr, a);
        }
    }
    if (v != BRK_CONN_ADMIT) {
        conn->closing = true;
        if (v == BRK_CONN_OVER_TOTAL) {
            self->counts.refused_total++;
        } else {
            self->counts.refused_addr++;
        }
        return v;
    }
    a->open++;
    conn->from = a;
    return v;
}

void
brk_httpcap_served(brk_httpcap *self, brk_httpcap_conn *conn, int64_t now_ms)
{
    if (!conn->closing) {
        conn->deadline_ms = now_ms + self->timeout_ms;
    }
}

void
brk_httpcap_close(brk_httpcap *self, brk_httpcap_conn *conn)
{
    HASH_DEL(self->by_io, conn);
    if (!conn->placed) {
        self->unplaced--;
    }
    if (conn->from != NULL && --conn->from->open == 0) {
        HASH_DEL(self->by_addr, conn->from);
        free(conn->from);
    }
    assert(self->counts.open > 0);
    self->counts.open--;
    free(conn);
}

size_t
brk_httpcap_expire(brk_httpcap *self, int64_t now_ms, void **io, size_t cap)
{
    size_t n = 0;
    for (brk_httpcap_conn *c = self->by_io; c != NULL && n < cap; c = c->hh.next) {
        if (!c->closing && now_ms >= c->deadline_ms) {
            c->closing = true;
            self->counts.timed_out++;
            io[n++] = c->io;
        }
    }
    return n;
}

bool
brk_httpcap_full(const brk_httpcap *self)
{
    return self->counts.open >= self->limits.max_total;
}

void
brk_httpcap_note_full(brk_httpcap *self)
{
    self->counts.refused_total++;
}

brk_httpcap_counts
brk_httpcap_count(const brk_httpcap *self)
{
    return self->counts;
}
