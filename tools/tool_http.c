// libcurl easy interface, one handle per request: referralctl makes one or
// two requests per run, so there is nothing to reuse.
#include "tool_http.h"

#include "rr_format.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buffer {
    char *data; // owned
    size_t len;
    bool too_big;
} buffer;

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    buffer *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > TOOL_HTTP_MAX_BODY_BYTES) {
        b->too_big = true;
        return 0; // makes curl stop with CURLE_WRITE_ERROR
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL) {
        return 0;
    }
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

rr_status
tool_http_url(const tool_http_options *o, const char *path, char *url, size_t cap, char *why,
              size_t why_cap)
{
    const char *base = o->base;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') {
        blen--; // "https://host/prefix/" + "/api/..."
    }
    bool has_scheme = strstr(base, "://") != NULL;
    if (blen == 0) {
        (void) rr_format(why, why_cap, "invalid --http \"%s\": expected HOST:PORT or a URL", base);
        return RR_EINVAL;
    }
    if (!has_scheme) {
        const char *first = strchr(base, ':');
        if (first != NULL && strchr(first + 1, ':') != NULL && base[0] != '[') {
            (void) rr_format(why, why_cap,
                             "invalid --http \"%s\": write an IPv6 address in brackets, as in "
                             "[::1]:8080",
                             base);
            return RR_EINVAL;
        }
    }
    int n = snprintf(url, cap, "%s%.*s%s", has_scheme ? "" : "http://", (int) blen, base, path);
    if (n < 0 || (size_t) n >= cap) {
        (void) rr_format(why, why_cap, "invalid --http \"%s\": too long", base);
        return RR_EINVAL;
    }
    return RR_OK;
}

rr_status
tool_http_get(const tool_http_options *o, const char *path, long *status, char **body, char *why,
              size_t why_cap)
{
    *status = 0;
    *body = NULL;
    char url[2048];
    rr_status st = tool_http_url(o, path, url, sizeof url, why, why_cap);
    if (st != RR_OK) {
        return st;
    }
    static bool global_ready = false;
    if (!global_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            (void) rr_format(why, why_cap, "could not start libcurl");
            return RR_EIO;
        }
        global_ready = true;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        (void) rr_format(why, why_cap, "could not start libcurl: out of memory");
        return RR_ENOMEM;
    }
    buffer b = {NULL, 0, false};
    char errbuf[CURL_ERROR_SIZE] = "";
    // Only http and https, also after a redirect; credentials are not sent
    // to another host than the one named (libcurl's default).
    bool set_ok = curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o->timeout_ms) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_USERAGENT, "referralctl") == CURLE_OK;
    if (set_ok && o->user != NULL && o->user[0] != '\0') {
        set_ok = curl_easy_setopt(curl, CURLOPT_USERPWD, o->user) == CURLE_OK &&
                 curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC) == CURLE_OK;
    }
    if (set_ok && o->cacert != NULL && o->cacert[0] != '\0') {
        set_ok = curl_easy_setopt(curl, CURLOPT_CAINFO, o->cacert) == CURLE_OK;
    }
    if (!set_ok) {
        (void) rr_format(why, why_cap, "could not set up the request to %s (libcurl too old?)",
                         url);
        curl_easy_cleanup(curl);
        free(b.data);
        return RR_EIO;
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status) != CURLE_OK) {
            *status = 0;
        }
        if (b.data == NULL) {
            b.data = calloc(1, 1); // an empty body is still a body
        }
        if (b.data == NULL) {
            (void) rr_format(why, why_cap, "could not read %s: out of memory", url);
            st = RR_ENOMEM;
        } else {
            *body = b.data;
            b.data = NULL;
            st = RR_OK;
        }
    } else if (b.too_big) {
        (void) rr_format(why, why_cap, "could not read %s: the answer is larger than %zu bytes",
                         url, TOOL_HTTP_MAX_BODY_BYTES);
        st = RR_ETOOBIG;
    } else {
        (void) rr_format(why, why_cap, "could not reach the monitor at %s: %s%s%s%s", url,
                         curl_easy_strerror(rc), errbuf[0] ? " (" : "", errbuf,
                         errbuf[0] ? ")" : "");
        st = rc == CURLE_OPERATION_TIMEDOUT ? RR_ETIMEDOUT : RR_EIO;
    }
    curl_easy_cleanup(curl);
    free(b.data);
    return st;
}
