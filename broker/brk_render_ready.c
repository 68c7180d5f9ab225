// The /readyz body: readiness, then the workers that lost some of their
// brokers. A worker detached from another broker leaves this one ready: it
// still serves here, and the other broker's own /readyz speaks for it.
#include "brk_attach.h"
#include "brk_render.h"

#include "rr_format.h"
#include "rr_vocab.h"

#include <assert.h>
#include <string.h>

// Room kept for the last line, which says how many workers were left out.
#define TAIL_BYTES 80

// Appends text to buf (len bytes used of cap); the caller made room for it.
static void
append(char *buf, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    assert(*len + n < cap);
    memcpy(buf + *len, text, n + 1);
    *len += n;
}

size_t
brk_render_readyz(const brk_snapshot *snap, char *buf, size_t cap)
{
    assert(cap >= 256 + TAIL_BYTES);
    size_t len = 0;
    buf[0] = '\0';
    char line[BRK_READYZ_LINE_BYTES];
    if (brk_snapshot_ready(snap)) {
        append(buf, cap, &len, "ready\n");
    } else {
        append(buf, cap, &len, "not ready:");
        for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
            if (snap->queue[d].workers == 0) {
                rr_format_fits(line, sizeof line, " no %s worker;", rr_domain_name(d));
                append(buf, cap, &len, line);
            }
        }
        if (snap->draining) {
            append(buf, cap, &len, " stopping;");
        }
        append(buf, cap, &len, "\n");
    }
    size_t missing = 0, shown = 0;
    for (size_t i = 0; i < snap->nworkers; i++) {
        missing += brk_attach_missing(&snap->workers[i]) ? 1 : 0;
    }
    for (size_t i = 0; i < snap->nworkers && shown < missing; i++) {
        const brk_worker_view *w = &snap->workers[i];
        if (!brk_attach_missing(w)) {
            continue;
        }
        brk_attach_line(w, line, sizeof line - 1);
        size_t n = strlen(line);
        if (len + n + 1 + TAIL_BYTES >= cap) {
            break; // bounded: the tail says how many more
        }
        line[n] = '\n';
        line[n + 1] = '\0';
        append(buf, cap, &len, line);
        shown++;
    }
    if (shown < missing) {
        rr_format_fits(line, sizeof line,
                       "... and %zu more worker(s) not attached to all their brokers\n",
                       missing - shown);
        append(buf, cap, &len, line);
    }
    return len;
}
