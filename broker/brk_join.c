// The resend index: a hash table keyed by sender and request_id. Each entry
// keeps one resend (the latest) beside the request's own routing id: a
// client waits only for the answer to its latest send (docs/PROTOCOL.md,
// section 4), and keeping every copy would be memory a center spends at will.
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
    bool has_latest;
    zmq_msg_t latest_id; // the latest resend's routing id (owned)
    char latest_correlation[RR_WIRE_MAX_CORRELATION + 1];
    UT_hash_handle hh;
};

_Static_assert(sizeof(struct brk_join) <= BRK_QUEUE_JOIN_BYTES,
               "BRK_QUEUE_RECORD_BYTES charges an index entry");

struct brk_joins {
    struct brk_join *table;
};

brk_joins *
brk_joins_new(void)
{
    return calloc(1, sizeof(brk_joins));
}

static void
free_entry(struct brk_join *j)
{
    rr_msg_close(&j->latest_id);
    free(j);
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
        free_entry(j);
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
    struct brk_join *j = calloc(1, sizeof *j);
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
    int rc = zmq_msg_init(&j->latest_id);
    assert(rc == 0);
    (void) rc;
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

void
brk_joins_resend(brk_request *held, zmq_msg_t *client_id, const char *correlation)
{
    struct brk_join *j = held->join;
    assert(j != NULL);
    if (same_frame(client_id, &held->client_id) && strcmp(correlation, held->correlation) == 0) {
        j->has_latest = false; // the request's own answer reaches it
        return;
    }
    rr_msg_move(&j->latest_id, client_id);
    size_t n = strnlen(correlation, RR_WIRE_MAX_CORRELATION);
    memcpy(j->latest_correlation, correlation, n);
    j->latest_correlation[n] = '\0';
    j->has_latest = true;
}

bool
brk_joins_latest(const brk_request *held, const zmq_msg_t **client_id, const char **correlation)
{
    const struct brk_join *j = held->join;
    if (j == NULL || !j->has_latest) {
        return false;
    }
    *client_id = &j->latest_id;
    *correlation = j->latest_correlation;
    return true;
}

void
brk_joins_remove(brk_joins *self, brk_request *req)
{
    struct brk_join *j = req->join;
    assert(j != NULL && j->req == req);
    HASH_DEL(self->table, j);
    free_entry(j);
    req->join = NULL;
}

size_t
brk_joins_count(const brk_joins *self)
{
    return HASH_COUNT(self->table);
}
