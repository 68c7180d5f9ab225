// HTTP/1.0 GET over a plain socket: the server closes the connection after
// the answer, so reading to EOF frames the body.
#include "cli_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

bool
cli_http_split(const char *address, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address || (size_t) (colon - address) >= cap) {
        return false;
    }
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) {
        return false;
    }
    memcpy(host, address, (size_t) (colon - address));
    host[colon - address] = '\0';
    *port = (int) p;
    return true;
}

rr_status
cli_http_get(const char *host, int port, const char *path, long timeout_ms, int *status,
             char *body, size_t cap)
{
    body[0] = '\0';
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    if (strcmp(host, "localhost") == 0) {
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return RR_EINVAL;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return RR_EIO;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
        close(fd);
        return RR_EIO;
    }
    char req[600];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
    if (n < 0 || (size_t) n >= sizeof req || write(fd, req, (size_t) n) != n) {
        close(fd);
        return RR_EIO;
    }
    size_t raw_cap = cap + 4096;
    char *raw = malloc(raw_cap);
    if (raw == NULL) {
        close(fd);
        return RR_ENOMEM;
    }
    size_t len = 0;
    rr_status st = RR_OK;
    for (;;) {
        if (len == raw_cap - 1) {
            st = RR_ETOOBIG;
            break;
        }
        ssize_t got = read(fd, raw + len, raw_cap - 1 - len);
        if (got == 0) {
            break;
        }
        if (got < 0) {
            st = (errno == EAGAIN || errno == EWOULDBLOCK) ? RR_ETIMEDOUT : RR_EIO;
            break;
        }
        len += (size_t) got;
    }
    close(fd);
    raw[len] = '\0';
    if (st == RR_OK && sscanf(raw, "HTTP/1.%*d %d", status) != 1) {
        st = RR_EPROTO;
    }
    const char *start = st == RR_OK ? strstr(raw, "\r\n\r\n") : NULL;
    if (st == RR_OK && start != NULL) {
        size_t blen = len - (size_t) (start + 4 - raw);
        if (blen >= cap) {
            st = RR_ETOOBIG;
        } else {
            memcpy(body, start + 4, blen + 1);
        }
    }
    free(raw);
    return st;
}
