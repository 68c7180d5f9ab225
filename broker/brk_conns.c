// Connection caps through a ZeroMQ socket monitor (brk_conns.h). Events of
// one socket come in order from its I/O thread (the context has one), so a
// descriptor's ACCEPTED comes before its DISCONNECTED and before a later
// connection that reuses the number; an ACCEPTED for a descriptor still
// counted means its DISCONNECTED was not sent (socket shutdown), and the
// old entry is dropped first.
#define RR_LOG_MODULE "conns"
#include "brk_conns.h"

#include "rr_format.h"
#include "rr_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uthash.h>
#include <zmq.h>

#define EVENTS_PER_CALL 1024 // then the loop looks at its other sockets
#define ADDR_MAX        64   // INET6_ADDRSTRLEN and a little

typedef struct conn_addr {
    char addr[ADDR_MAX];
    size_t open;
    UT_hash_handle hh;
} conn_addr;

typedef struct conn_fd {
    int fd;
    conn_addr *from; // borrowed from the address table
    UT_hash_handle hh;
} conn_fd;

struct brk_conns {
    void *monitor; // PAIR connected to the socket's monitor
    char name[32];
    brk_conns_limits limits;
    brk_noisy *noisy;
    conn_fd *by_fd;
    conn_addr *by_addr;
    size_t open;
    uint64_t refused_total, refused_addr;
};

brk_conn_verdict
brk_conns_decide(const brk_conns_limits *limits, size_t total, size_t from_addr)
{
    if (total >= limits->max_total) {
        return BRK_CONN_OVER_TOTAL;
    }
    if (from_addr >= limits->max_per_addr) {
        return BRK_CONN_OVER_ADDR;
    }
    return BRK_CONN_ADMIT;
}

static size_t
scaled(size_t want, size_t room, size_t sum)
{
    size_t v = (size_t) ((double) want * (double) room / (double) sum);
    return v > 0 ? v : 1;
}

brk_conns_plan
brk_conns_fit(uint64_t fd_limit, size_t centers, size_t workers, size_t monitor)
{
    size_t room =
        fd_limit > BRK_CONNS_RESERVE_FDS ? (size_t) (fd_limit - BRK_CONNS_RESERVE_FDS) : 0;
    size_t sum = centers + workers + monitor;
    if (sum <= room) {
        return (brk_conns_plan){centers, workers, monitor, false};
    }
    return (brk_conns_plan){scaled(centers, room, sum), scaled(workers, room, sum),
                            scaled(monitor, room, sum), true};
}

brk_conns *
brk_conns_new(void *ctx, void *socket, const char *name, brk_conns_limits limits, brk_noisy *noisy)
{
    brk_conns *self = calloc(1, sizeof *self);
    if (self == NULL) {
        rr_log_error("out of memory watching the %s socket's connections", name);
        return NULL;
    }
    (void) rr_format(self->name, sizeof self->name, "%s", name);
    self->limits = limits;
    self->noisy = noisy;
    char endpoint[64];
    rr_format_fits(endpoint, sizeof endpoint, "inproc://brk-conns-%.16s-%p", self->name,
                   (void *) self);
    if (zmq_socket_monitor(socket, endpoint, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        rr_log_error("cannot watch the %s socket's connections: %s", name, zmq_strerror(errno));
        free(self);
        return NULL;
    }
    self->monitor = zmq_socket(ctx, ZMQ_PAIR);
    int linger = 0;
    if (self->monitor == NULL ||
        zmq_setsockopt(self->monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(self->monitor, endpoint) != 0) {
        rr_log_error("cannot watch the %s socket's connections: %s", name, zmq_strerror(errno));
        if (self->monitor != NULL) {
            zmq_close(self->monitor);
        }
        (void) zmq_socket_monitor(socket, NULL, 0);
        free(self);
        return NULL;
    }
    return self;
}

void
brk_conns_destroy(brk_conns **self_p)
{
    brk_conns *self = *self_p;
    if (self == NULL) {
        return;
    }
    // HASH_CLEAR frees the tables and leaves the entries linked (hh.next).
    conn_fd *f = self->by_fd;
    HASH_CLEAR(hh, self->by_fd);
    while (f != NULL) {
        conn_fd *next = f->hh.next;
        free(f);
        f = next;
    }
    conn_addr *a = self->by_addr;
    HASH_CLEAR(hh, self->by_addr);
    while (a != NULL) {
        conn_addr *next = a->hh.next;
        free(a);
        a = next;
    }
    if (self->monitor != NULL && zmq_close(self->monitor) != 0) {
        rr_log_warn("closing the %s connection monitor failed: %s", self->name,
                    zmq_strerror(errno));
    }
    free(self);
    *self_p = NULL;
}

void *
brk_conns_socket(brk_conns *self)
{
    return self->monitor;
}

brk_conns_counts
brk_conns_count(const brk_conns *self)
{
    return (brk_conns_counts){self->open, self->refused_total, self->refused_addr};
}

// The peer's address as text ("?" when it cannot be read: the connection
// is gone already, and its DISCONNECTED follows).
static void
peer_address(int fd, char out[ADDR_MAX])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    rr_format_fits(out, ADDR_MAX, "?");
    if (getpeername(fd, (struct sockaddr *) &ss, &len) != 0) {
        return;
    }
    if (ss.ss_family == AF_INET) {
        (void) inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, out, ADDR_MAX);
    } else if (ss.ss_family == AF_INET6) {
        (void) inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, out, ADDR_MAX);
    } else {
        rr_format_fits(out, ADDR_MAX, "local"); // ipc: one "address" for all
    }
}

static void
forget(brk_conns *self, int fd)
{
    conn_fd *f = NULL;
    HASH_FIND_INT(self->by_fd, &fd, f);
    if (f == NULL) {
        return; // refused at accept, or accepted before we watched
    }
    HASH_DEL(self->by_fd, f);
    if (--f->from->open == 0) {
        HASH_DEL(self->by_addr, f->from);
        free(f->from);
    }
    free(f);
    self->open--;
}

static void
refuse(brk_conns *self, int fd, const char *addr, brk_conn_verdict why, int64_t now_ms)
{
    if (why == BRK_CONN_OVER_TOTAL) {
        self->refused_total++;
    } else {
        self->refused_addr++;
    }
    // shutdown, not close: the descriptor stays libzmq's to close.
    if (shutdown(fd, SHUT_RDWR) != 0 && errno != ENOTCONN) {
        rr_log_debug("shutdown of a refused %s connection failed: %s", self->name, strerror(errno));
    }
    if (brk_noisy_ok(self->noisy, now_ms)) {
        rr_log_warn("%s connection from %s refused: %s (%zu open, at most %zu, %zu per address)",
                    self->name, addr,
                    why == BRK_CONN_OVER_TOTAL ? "too many connections"
                                               : "too many connections from this address",
                    self->open, self->limits.max_total, self->limits.max_per_addr);
    }
}

static void
on_accepted(brk_conns *self, int fd, int64_t now_ms)
{
    forget(self, fd); // a number reused without its DISCONNECTED
    char addr[ADDR_MAX];
    peer_address(fd, addr);
    conn_addr *a = NULL;
    HASH_FIND_STR(self->by_addr, addr, a);
    brk_conn_verdict v = brk_conns_decide(&self->limits, self->open, a ? a->open : 0);
    if (v != BRK_CONN_ADMIT) {
        refuse(self, fd, addr, v, now_ms);
        return;
    }
    conn_fd *f = calloc(1, sizeof *f);
    if (a == NULL) {
        a = calloc(1, sizeof *a);
        if (a != NULL) {
            rr_format_fits(a->addr, sizeof a->addr, "%s", addr);
            HASH_ADD_STR(self->by_addr, addr, a);
        }
    }
    if (f == NULL || a == NULL) {
        free(f);
        if (a != NULL && a->open == 0) {
            HASH_DEL(self->by_addr, a);
            free(a);
        }
        refuse(self, fd, addr, BRK_CONN_OVER_TOTAL, now_ms); // out of memory: not this one
        return;
    }
    f->fd = fd;
    f->from = a;
    a->open++;
    HASH_ADD_INT(self->by_fd, fd, f);
    self->open++;
}

void
brk_conns_handle(brk_conns *self, int64_t now_ms)
{
    for (int i = 0; i < EVENTS_PER_CALL; i++) {
        // Frame 1: the event (2 bytes) and its value (4 bytes, the
        // descriptor), in host order; frame 2: the endpoint, unused.
        uint8_t head[6];
        int n = zmq_recv(self->monitor, head, sizeof head, ZMQ_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                rr_log_error("reading the %s connection monitor failed: %s", self->name,
                             zmq_strerror(errno));
            }
            return;
        }
        int more = 0;
        size_t more_len = sizeof more;
        while (zmq_getsockopt(self->monitor, ZMQ_RCVMORE, &more, &more_len) == 0 && more) {
            char skip[256];
            if (zmq_recv(self->monitor, skip, sizeof skip, 0) < 0) {
                break;
            }
        }
        if (n != (int) sizeof head) {
            continue; // not an event frame: nothing to count
        }
        uint16_t event;
        int32_t value;
        memcpy(&event, head, sizeof event);
        memcpy(&value, head + 2, sizeof value);
        if (event == ZMQ_EVENT_ACCEPTED) {
            on_accepted(self, value, now_ms);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            forget(self, value);
        }
    }
}
