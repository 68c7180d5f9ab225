// Iranian national id (kod-e melli): normalisation and check digit. Pure.
#ifndef RR_NATID_H
#define RR_NATID_H

#include "rr_status.h"

#include <stddef.h>

#define RR_NATID_LEN 10

// Normalises text to 10 ASCII digits in out (RR_NATID_LEN + 1 bytes): Persian
// (U+06F0-U+06F9) and Arabic-Indic (U+0660-U+0669) digits map to ASCII and 8
// or 9 digits are left-padded with zeros. Returns RR_EINVAL for another length,
// a non-digit, the ten all-same-digit codes or a wrong check digit, and sets
// *why to a static reason. out is written only on RR_OK.
RR_NODISCARD rr_status rr_natid_normalize(const char *text, char out[RR_NATID_LEN + 1],
                                          const char **why);

// The check digit of the first nine digits of id (ASCII), as a character.
char rr_natid_check_digit(const char *id);

#endif
