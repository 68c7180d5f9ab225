// Request ids: canonical UUID text checks and generation.
#ifndef RR_UUID_H
#define RR_UUID_H

#include <stdbool.h>

#define RR_UUID_TEXT_LEN 36

// True when text is a UUID in canonical 8-4-4-4-12 hex form (either case).
bool rr_uuid_is_valid(const char *text);

// Writes a new random (version 4) UUID in lower case into out.
void rr_uuid_generate(char out[RR_UUID_TEXT_LEN + 1]);

#endif
