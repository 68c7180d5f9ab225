// The resend index: a hash table keyed by sender and request_id; each
// entry keeps its waiting resends in a list. Several copies of one request
// may wait at once (a center's two workstations, or the client's retries
// after timeouts): each hears the answer under its own correlation.
#include "brk_join.h"

#include "rr_principal.h"
#include "rr_wire.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define REQUEST_ID_MAX 36 // a canonical UUID

struct brk_join {
    char key[RR_PRINCIPAL_MAX + 1 + REQUEST_ID_MAX + 1]; // sender, NUL, request_id; zero-padded
    brk_request *req;                                    // borrowed
    brk_waiter *waiters;                                 // owned, oldest first
    unsigned nwaiters;
    UT_hash_handle hh;
};

_Static_assert(sizeof(struct brk_join) <= BRK_QUEUE_JOIN_BYTES,
               "BRK_QUEUE_RECORD_BYTES charges an index entry");

struct brk_joins {
    struct brk_join *table;
    size_t waiting; // waiters in all entries
    // Entries freed, kept for the next request (through hh.next): each
    // submission makes one and frees it, and malloc showed in the profile.
    struct brk_join *unused;
    size_t nunused;
};

#define UNUSED_ENTRIES_MAX 256

brk_joins *
brk_joins_new(void)
{
    return calloc(1, sizeof(brk_joins));
}

static void
free_entry(brk_joins *self, struct brk_join *j)
{
    while (j->waiters != NULL) {
        brk_waiter *w = j->waiters;
        j->waiters = w->next;
        rr_msg_close(&w->client_id);
        free(w);
        self->waiting--;
    }
    if (self->nunused < UNUSED_ENTRIES_MAX) {
        j->hh.next = self->unused;
        self->unused = j;
        self->nunused++;
    } else {
        free(j);
    }
}

// A zeroed entry: a kept one, else a new one; NULL when out of memory.
static struct brk_join *
new_entry(brk_joins *self)
{
    struct brk_join *j = self->unused;
    if (j == NULL) {
        return calloc(1, sizeof *j);
    }
    self->unused = j->hh.next;
    self->nunused--;
    memset(j, 0, sizeof *j);
    return j;
}

void
brk_joins_destroy(brk_joins **self_p)
{
    assert(self_p != NULL);
    brk_joins *self = *self_p;
    if (self == NULL) {
        return;
    }
    struct brk_join *j, *tmp;
    HASH_ITER(hh, self->table, j, tmp)
    {
        HASH_DEL(self->table, j);
        free_entry(self, j);
    }
    while (self->unused != NULL) {
        j = self->unused;
        self->unused = j->hh.next;
        free(j);
    }
    free(self);
    *self_p = NULL;
}

// False when the request_id is too long to be a key (never a valid one).
static bool
make_key(char key[RR_PRINCIPAL_MAX + 1 + REQUEST_ID_MAX + 1], const char *sender,
         const char *request_id)
{
    size_t s = strnlen(sender, RR_PRINCIPAL_MAX + 1), r = strnlen(request_id, REQUEST_ID_MAX + 1);
    if (s > RR_PRINCIPAL_MAX || r > REQUEST_ID_MAX) {
        return false;
    }
    memset(key, 0, RR_PRINCIPAL_MAX + 1 + REQUEST_ID_MAX + 1);
    memcpy(key, sender, s);
    memcpy(key + RR_PRINCIPAL_MAX + 1, request_id, r);
    return true;
}

rr_status
brk_joins_add(brk_joins *self, brk_request *req, const char *request_id)
{
    assert(req->join == NULL);
    struct brk_join *j = new_entry(self);
    if (j == NULL) {
        return RR_ENOMEM;
    }
    if (!make_key(j->key, req->sender, request_id)) {
        free(j);
        return RR_EINVAL;
    }
    struct brk_join *old = NULL;
    HASH_FIND(hh, self->table, j->key, sizeof j->key, old);
    if (old != NULL) {
        free(j);
        return RR_ESTATE;
    }
    j->req = req;
    HASH_ADD(hh, self->table, key, sizeof j->key, j);
    req->join = j;
    return RR_OK;
}

brk_request *
brk_joins_find(const brk_joins *self, const char *sender, const char *request_id)
{
    char key[RR_PRINCIPAL_MAX + 1 + REQUEST_ID_MAX + 1];
    if (!make_key(key, sender, request_id)) {
        return NULL;
    }
    struct brk_join *j = NULL;
    HASH_FIND(hh, self->table, key, sizeof key, j);
    return j ? j->req : NULL;
}

bool
brk_joins_same(const brk_request *held, uint8_t command, const zmq_msg_t *body)
{
    size_t n = zmq_msg_size((zmq_msg_t *) body);
    return command == RR_CMD_SUBMIT && held->command == RR_CMD_SUBMIT &&
           n == zmq_msg_size((zmq_msg_t *) &held->body) &&
           memcmp(zmq_msg_data((zmq_msg_t *) body), zmq_msg_data((zmq_msg_t *) &held->body), n) ==
               0;
}

static bool
same_frame(const zmq_msg_t *a, const zmq_msg_t *b)
{
    size_t n = zmq_msg_size((zmq_msg_t *) a);
    return n == zmq_msg_size((zmq_msg_t *) b) &&
           memcmp(zmq_msg_data((zmq_msg_t *) a), zmq_msg_data((zmq_msg_t *) b), n) == 0;
}

bool
brk_joins_resend(brk_joins *self, brk_request *held, zmq_msg_t *client_id, const char *correlation)
{
    struct brk_join *j = held->join;
    assert(j != NULL);
    if (same_frame(client_id, &held->client_id) && strcmp(correlation, held->correlation) == 0) {
        return true; // the request's own answer reaches it
    }
    brk_waiter **tail = &j->waiters;
    for (; *tail != NULL; tail = &(*tail)->next) {
        if (same_frame(client_id, &(*tail)->client_id) &&
            strcmp(correlation, (*tail)->correlation) == 0) {
            return true;
        }
    }
    if (j->nwaiters >= BRK_JOIN_MAX_PER_REQUEST || self->waiting >= BRK_JOIN_MAX_WAITERS) {
        return false;
    }
    brk_waiter *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return false;
    }
    int rc = zmq_msg_init(&w->client_id);
    assert(rc == 0);
    (void) rc;
    rr_msg_move(&w->client_id, client_id);
    size_t n = strnlen(correlation, RR_WIRE_MAX_CORRELATION);
    memcpy(w->correlation, correlation, n);
    w->correlation[n] = '\0';
    *tail = w;
    j->nwaiters++;
    self->waiting++;
    return true;
}

const brk_waiter *
brk_joins_waiters(const brk_request *held)
{
    return held->join ? held->join->waiters : NULL;
}

void
brk_joins_remove(brk_joins *self, brk_request *req)
{
    struct brk_join *j = req->join;
    assert(j != NULL && j->req == req);
    HASH_DEL(self->table, j);
    free_entry(self, j);
    req->join = NULL;
}

size_t
brk_joins_count(const brk_joins *self)
{
    return HASH_COUNT(self->table);
}

size_t
brk_joins_waiting(const brk_joins *self)
{
    return self->waiting;
}
