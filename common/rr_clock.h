// Clocks: monotonic milliseconds for deadlines, wall-clock for timestamps.
#ifndef RR_CLOCK_H
#define RR_CLOCK_H

#include <stdint.h>

// Milliseconds on a clock that never jumps; only differences mean anything.
int64_t rr_clock_mono_ms(void);

// Microseconds on the same monotonic clock, for latency measurements.
int64_t rr_clock_mono_us(void);

// Milliseconds since the Unix epoch (UTC).
int64_t rr_clock_wall_ms(void);

#endif
