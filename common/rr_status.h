// One status code for the whole system. The wire enum rr.v1.Status mirrors
// these values one for one, so a reply can carry any of them.
#ifndef RR_STATUS_H
#define RR_STATUS_H

#define RR_NODISCARD __attribute__((warn_unused_result))

typedef enum rr_status {
    RR_OK = 0,
    RR_EINVAL = 1,     // a field or frame is malformed or out of range
    RR_ENOMEM = 2,     // an allocation failed
    RR_EAGAIN = 3,     // try again later (transient)
    RR_ESTATE = 4,     // not allowed in the current state
    RR_EDB = 5,        // the database failed or is unavailable
    RR_ETIMEDOUT = 6,  // no answer before the deadline
    RR_ESHUTDOWN = 7,  // the process is stopping
    RR_ENOTFOUND = 8,  // no such referral, center, service or office
    RR_ECONFLICT = 9,  // the idempotency key was used for another request
    RR_EBUSY = 10,     // a queue is full: retry after the hinted delay
    RR_EPROTO = 11,    // a frame breaks the wire protocol
    RR_ETOOBIG = 12,   // a frame or field exceeds its limit
    RR_EUNAVAIL = 13,  // no worker serves the domain right now
    RR_EPERM = 14,     // the peer may not do this
    RR_EINTERNAL = 15, // a bug or an unexpected failure: see the log
    RR_EIO = 16,       // a socket or file failed
} rr_status;

#define RR_STATUS_MAX RR_EIO

// The code's symbolic name, e.g. "EINVAL"; "EUNKNOWN" for a value out of range.
const char *rr_status_name(int status);

// A short English description of the code.
const char *rr_strerror(int status);

#endif
