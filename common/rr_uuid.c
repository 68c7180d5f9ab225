// UUID helpers; generation is libuuid's, the check is ours (libuuid's parser
// also accepts forms we do not want on the wire).
#include "rr_uuid.h"

#include <ctype.h>
#include <string.h>
#include <uuid/uuid.h>

bool
rr_uuid_is_valid(const char *text)
{
    if (text == NULL || strlen(text) != RR_UUID_TEXT_LEN) {
        return false;
    }
    for (int i = 0; i < RR_UUID_TEXT_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') {
                return false;
            }
        } else if (!isxdigit((unsigned char) text[i])) {
            return false;
        }
    }
    return true;
}

void
rr_uuid_generate(char out[RR_UUID_TEXT_LEN + 1])
{
    uuid_t id;
    uuid_generate_random(id);
    uuid_unparse_lower(id, out);
}
