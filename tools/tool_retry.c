// The reconnection schedule (tool_retry.h).
#include "tool_retry.h"

#define FIRST_MS 100
#define MAX_MS   2000

long
tool_retry_wait_ms(int attempt, long elapsed_ms, long budget_ms)
{
    long wait = 0;
    if (attempt > 0) {
        wait = FIRST_MS;
        for (int i = 1; i < attempt && wait < MAX_MS; i++) {
            wait *= 2;
        }
        wait = wait < MAX_MS ? wait : MAX_MS;
    }
    return elapsed_ms + wait > budget_ms ? -1 : wait;
}
