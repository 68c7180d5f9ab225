// PostgreSQL's ceiling for the bench: submissions/s this database takes
// when their rows are written directly the fast way: 100-row multi-row
// INSERTs, one transaction each, from 4 connections, into the four tables
// a submission writes, full durability. The stack's throughput is read
// against it (docs/PERFORMANCE.md).
#ifndef TOOL_CEILING_H
#define TOOL_CEILING_H

#include "rr_wire.h"

#include <stddef.h>

// Runs for seconds against conninfo, drawing centers and services from the
// catalogue's codes; households are C-<tag>-... and stay, like the load's.
// Returns rows per second, or -1 on failure (printed).
double tool_ceiling_measure(const char *conninfo, long seconds, const char *tag,
                            const unsigned *centers, size_t ncenters,
                            const char (*services)[RR_WIRE_MAX_SERVICE_BYTES + 1],
                            size_t nservices);

#endif
