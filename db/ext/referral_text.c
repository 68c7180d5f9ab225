// referral.canonical_text(text): common/rr_text.c's canonical form inside
// PostgreSQL, so that migrations, constraints and reports compare exactly
// what the broker, the workers and referralctl compare (one function, not
// a second implementation in SQL). `referralctl migrate` declares it from
// this module (--pg-module).
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "rr_text.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(referral_canonical_text);

// Text that rr_text_check refuses is an error (SQLSTATE 22023, naming the
// reason); text with nothing left once canonical is '' (SQL's empty value,
// for columns such as a center's optional neighbourhood).
Datum
referral_canonical_text(PG_FUNCTION_ARGS)
{
    text *in = PG_GETARG_TEXT_PP(0);
    const char *s = VARDATA_ANY(in);
    size_t n = VARSIZE_ANY_EXHDR(in);
    rr_text_fault fault = {0};
    if (!rr_text_check(s, n, RR_TEXT_LINE, &fault)) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("text %s (at byte %zu)", fault.why, fault.at)));
    }
    // Compatibility forms can grow: a first guess, then the exact size.
    size_t cap = 2 * n + 16;
    char *out = palloc(cap);
    size_t len = 0;
    rr_status st = rr_text_canon(s, n, out, cap, &len, &fault);
    if (st == RR_ETOOBIG && len >= cap) {
        pfree(out);
        cap = len + 1;
        out = palloc(cap);
        st = rr_text_canon(s, n, out, cap, &len, &fault);
    }
    if (st == RR_EINVAL) { // nothing left: rr_text_check passed above
        len = 0;
    } else if (st == RR_ENOMEM) {
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
    } else if (st != RR_OK) {
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("could not write text canonically (status %d)", (int) st)));
    }
    text *result = cstring_to_text_with_len(out, (int) len);
    pfree(out);
    PG_RETURN_TEXT_P(result);
}
