// Names and descriptions of rr_status codes.
#include "rr_status.h"

#include <stddef.h>

static const struct {
    const char *name;
    const char *text;
} status_table[] = {
    [RR_OK] = {"OK", "success"},
    [RR_EINVAL] = {"EINVAL", "invalid input"},
    [RR_ENOMEM] = {"ENOMEM", "out of memory"},
    [RR_EAGAIN] = {"EAGAIN", "temporarily unavailable, try again"},
    [RR_ESTATE] = {"ESTATE", "not allowed in the current state"},
    [RR_EDB] = {"EDB", "database unavailable"},
    [RR_ETIMEDOUT] = {"ETIMEDOUT", "timed out"},
    [RR_ESHUTDOWN] = {"ESHUTDOWN", "shutting down"},
    [RR_ENOTFOUND] = {"ENOTFOUND", "not found"},
    [RR_ECONFLICT] = {"ECONFLICT", "conflicts with an earlier request"},
    [RR_EBUSY] = {"EBUSY", "queue full, retry later"},
    [RR_EPROTO] = {"EPROTO", "protocol error"},
    [RR_ETOOBIG] = {"ETOOBIG", "too large"},
    [RR_EUNAVAIL] = {"EUNAVAIL", "no worker available"},
    [RR_EPERM] = {"EPERM", "not permitted"},
    [RR_EINTERNAL] = {"EINTERNAL", "internal error"},
    [RR_EIO] = {"EIO", "input/output error"},
};

const char *
rr_status_name(int status)
{
    if (status < 0 || status > RR_STATUS_MAX) {
        return "EUNKNOWN";
    }
    return status_table[status].name;
}

const char *
rr_strerror(int status)
{
    if (status < 0 || status > RR_STATUS_MAX) {
        return "unknown status";
    }
    return status_table[status].text;
}
