// The tools' schedule for reaching the database again after losing it:
// how long to wait before each attempt, within a budget (pure).
#ifndef TOOL_RETRY_H
#define TOOL_RETRY_H

#define TOOL_RETRY_BUDGET_MS 30000 // about a PostgreSQL restart, with room to spare

// The wait in ms before reconnection attempt `attempt` (0 for the first)
// when elapsed_ms have passed since the loss: none for the first, then
// 100 ms doubling to at most 2 s. -1 when waiting would pass budget_ms:
// give up.
long tool_retry_wait_ms(int attempt, long elapsed_ms, long budget_ms);

#endif
