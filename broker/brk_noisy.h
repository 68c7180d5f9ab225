// The limit on log lines that peers can cause at will (refusals, protocol
// errors, refused keys, replies nobody takes): at most `burst` lines a
// second, the others counted and summed up in one line a second, so that
// a flooding peer can fill neither the log nor the disk. One limiter serves
// the whole broker loop (server and authentication). Not thread-safe.
#ifndef BRK_NOISY_H
#define BRK_NOISY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct brk_noisy {
    int64_t window_ms; // start of the current one-second window (monotonic)
    unsigned in_window;
    unsigned burst;
    uint64_t suppressed; // lines not written in the current window
    const char *what;    // static: the lines it limits, named in the summary
} brk_noisy;

// At most burst lines a second; what names them in the summary line
// ("refusal and protocol-error"; a string that outlives the limiter).
void brk_noisy_init(brk_noisy *self, unsigned burst, const char *what);

// True when a line may be written now (counts it); false when the second's
// burst is used up (counts it as suppressed).
bool brk_noisy_ok(brk_noisy *self, int64_t now_ms);

// Closes the window once a second has passed: when lines were suppressed
// in it, writes one warning saying how many. Call on every tick.
void brk_noisy_flush(brk_noisy *self, int64_t now_ms);

#endif
