// referralctl's requests (tool_request): a SubmitRequest from one JSON
// object (every key, defaults, each refusal and its message), and the
// outcome line printed for each kind of reply, as text and as JSON.
#include "tool_request.h"

#include "rr_uuid.h"
#include "rr_vocab.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
load(const char *text)
{
    json_error_t err;
    json_t *obj = json_loads(text, 0, &err);
    if (obj == NULL) {
        print_error("bad test JSON: %s\n", err.text);
        _fail(__FILE__, __LINE__);
    }
    return obj;
}

static void
test_tool_request_from_json_reads_every_key(void **state)
{
    (void) state;
    json_t *obj = load("{\"request_id\": \"0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b\","
                       " \"center_code\": 941, \"national_id\": \"0012345679\","
                       " \"household_id\": \"H-941-0007\", \"service_code\": \"SOC-03\","
                       " \"note\": \"first visit\", \"priority\": \"stat\","
                       " \"domain\": \"social\", \"consent\": false,"
                       " \"risk_flags\": [\"addiction\", \"child_at_risk\"],"
                       " \"neighbourhood\": \"نارمک\","
                       " \"finding_id\": \"3b2f6a1e-8c4d-4f5a-9b7e-2d1c0a9f8e7d\"}");
    tool_request r;
    char why[256] = "";
    assert_int_equal(tool_request_from_json(obj, &r, why, sizeof why), RR_OK);
    json_decref(obj); // the request keeps its own copies
    assert_string_equal(r.req.request_id, "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_ptr_equal(r.req.request_id, r.request_id);
    assert_int_equal(r.req.center_code, 941);
    assert_string_equal(r.req.national_id, "0012345679");
    assert_string_equal(r.req.household_id, "H-941-0007");
    assert_string_equal(r.req.service_code, "SOC-03");
    assert_string_equal(r.req.note, "first visit");
    assert_string_equal(r.req.neighbourhood, "نارمک");
    assert_string_equal(r.req.finding_id, "3b2f6a1e-8c4d-4f5a-9b7e-2d1c0a9f8e7d");
    assert_int_equal(r.req.priority, RR_PRIORITY_STAT);
    assert_int_equal(r.req.domain, RR_DOMAIN_SOCIAL);
    assert_false(r.req.consent);
    assert_int_equal(r.req.n_risk_flags, 2);
    assert_int_equal(r.req.risk_flags[0], rr_risk_flag_parse("addiction"));
    assert_int_equal(r.req.risk_flags[1], rr_risk_flag_parse("child_at_risk"));
    assert_int_equal(r.req.risk_flags[1], 8);
    assert_string_equal(why, ""); // untouched on success
    tool_request_clear(&r);
    for (size_t i = 0; i < 4; i++) {
        assert_null(r.strings[i]);
    }
    tool_request_clear(&r); // twice is harmless
}

static void
test_tool_request_from_json_generates_a_request_id_and_defaults_consent_to_true(void **state)
{
    (void) state;
    json_t *obj = load("{\"center_code\": 941, \"service_code\": \"PRV-01\"}");
    tool_request a, b;
    char why[256];
    assert_int_equal(tool_request_from_json(obj, &a, why, sizeof why), RR_OK);
    assert_int_equal(tool_request_from_json(obj, &b, why, sizeof why), RR_OK);
    assert_true(rr_uuid_is_valid(a.req.request_id));
    assert_true(rr_uuid_is_valid(b.req.request_id));
    assert_string_not_equal(a.req.request_id, b.req.request_id); // a new one each time
    assert_true(a.req.consent);
    assert_int_equal(a.req.priority, RR_PRIORITY_NONE); // unspecified: the broker's default
    assert_int_equal(a.req.domain, RR_DOMAIN_NONE);     // from the service code's prefix
    assert_string_equal(a.req.national_id, "");         // absent strings are empty, never NULL
    assert_string_equal(a.req.household_id, "");
    assert_string_equal(a.req.note, "");
    assert_int_equal(a.req.n_risk_flags, 0);
    tool_request_clear(&a);
    tool_request_clear(&b);
    json_decref(obj);

    obj = load("{\"consent\": true, \"center_code\": 4294967295}"); // the largest uint32
    assert_int_equal(tool_request_from_json(obj, &a, why, sizeof why), RR_OK);
    assert_true(a.req.consent);
    assert_int_equal(a.req.center_code, 4294967295u);
    tool_request_clear(&a);
    json_decref(obj);
}

static void
test_tool_request_from_json_passes_persian_text_and_digits_through_unchanged(void **state)
{
    (void) state;
    // Persian digits are the broker's to normalise and check, not the tool's.
    json_t *obj = load("{\"national_id\": \"۰۰۱۲۳۴۵۶۷۹\", \"household_id\": \"H-۹۴۱-۰۰۰۷\","
                       " \"note\": \"مراجعه اول، با همراه\"}");
    tool_request r;
    char why[256];
    assert_int_equal(tool_request_from_json(obj, &r, why, sizeof why), RR_OK);
    json_decref(obj);
    assert_string_equal(r.req.national_id, "۰۰۱۲۳۴۵۶۷۹");
    assert_int_equal(strlen(r.req.national_id), 20); // ten 2-byte digits
    assert_string_equal(r.req.household_id, "H-۹۴۱-۰۰۰۷");
    assert_string_equal(r.req.note, "مراجعه اول، با همراه");
    tool_request_clear(&r);
}

typedef struct refusal {
    const char *json;
    const char *why;
} refusal;

static void
test_tool_request_from_json_refuses_wrong_types_and_unknown_names_with_the_field(void **state)
{
    (void) state;
    const refusal cases[] = {
        {"{\"request_id\": 42}", "field \"request_id\" must be a UUID string"},
        {"{\"request_id\": \"0123456789012345678901234567890123456789\"}", // 40 characters
         "field \"request_id\" must be a UUID string"},
        {"{\"center_code\": \"941\"}", "field \"center_code\" must be a positive integer"},
        {"{\"center_code\": 0}", "field \"center_code\" must be a positive integer"},
        {"{\"center_code\": -941}", "field \"center_code\" must be a positive integer"},
        {"{\"center_code\": 4294967296}", "field \"center_code\" must be a positive integer"},
        {"{\"center_code\": 941.0}", "field \"center_code\" must be a positive integer"},
        {"{\"national_id\": 12345679}", "field \"national_id\" must be a string"},
        {"{\"household_id\": null}", "field \"household_id\" must be a string"},
        {"{\"service_code\": [\"SOC-03\"]}", "field \"service_code\" must be a string"},
        {"{\"note\": {}}", "field \"note\" must be a string"},
        {"{\"priority\": 4}", "field \"priority\" must be one of routine, urgent, asap, stat"},
        {"{\"priority\": \"emergency\"}",
         "field \"priority\" must be one of routine, urgent, asap, stat"},
        {"{\"priority\": \"STAT\"}",
         "field \"priority\" must be one of routine, urgent, asap, stat"},
        {"{\"domain\": \"housing\"}",
         "field \"domain\" must be one of prevention, rehabilitation, social"},
        {"{\"domain\": 3}", "field \"domain\" must be one of prevention, rehabilitation, social"},
        {"{\"consent\": \"yes\"}", "field \"consent\" must be true or false"},
        {"{\"consent\": 1}", "field \"consent\" must be true or false"},
        {"{\"risk_flags\": \"addiction\"}",
         "field \"risk_flags\" must be an array of at most 16 names"},
        {"{\"risk_flags\": [\"addiction\", \"gambling\"]}",
         "field \"risk_flags\" holds an unrecognized risk flag"},
        {"{\"risk_flags\": [1]}", "field \"risk_flags\" holds an unrecognized risk flag"},
        {"{\"center_code\": 941, \"colour\": \"blue\"}", "unrecognized field \"colour\""},
        {"{\"Center_Code\": 941}", "unrecognized field \"Center_Code\""},
        {"[1, 2]", "each line must be a JSON object"},
        {"\"SOC-03\"", "each line must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *obj = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(obj);
        tool_request r;
        char why[256] = "";
        assert_int_equal(tool_request_from_json(obj, &r, why, sizeof why), RR_EINVAL);
        assert_string_equal(why, cases[i].why);
        tool_request_clear(&r);
        json_decref(obj);
    }
}

static void
test_tool_request_from_json_refuses_more_than_16_risk_flags(void **state)
{
    (void) state;
    json_t *flags = json_array();
    for (int i = 0; i < 17; i++) {
        json_array_append_new(flags, json_string("addiction"));
    }
    json_t *obj = json_pack("{s:o}", "risk_flags", flags);
    tool_request r;
    char why[256];
    assert_int_equal(tool_request_from_json(obj, &r, why, sizeof why), RR_EINVAL);
    assert_string_equal(why, "field \"risk_flags\" must be an array of at most 16 names");
    tool_request_clear(&r);
    json_array_remove(flags, 0); // 16 is the limit
    assert_int_equal(tool_request_from_json(obj, &r, why, sizeof why), RR_OK);
    assert_int_equal(r.req.n_risk_flags, 16);
    tool_request_clear(&r);
    json_decref(obj);
}

static void
test_tool_request_clear_frees_strings_copied_before_a_refusal(void **state)
{
    (void) state;
    json_t *obj = load("{\"national_id\": \"0012345679\", \"note\": \"x\", \"colour\": 1}");
    tool_request r;
    char why[256];
    assert_int_equal(tool_request_from_json(obj, &r, why, sizeof why), RR_EINVAL);
    assert_string_equal(why, "unrecognized field \"colour\"");
    assert_non_null(r.strings[0]); // taken before the refusal: the caller clears
    assert_non_null(r.strings[3]);
    tool_request_clear(&r);
    assert_null(r.strings[0]);
    assert_null(r.strings[3]);
    json_decref(obj);
}

// ---- outcome lines --------------------------------------------------------------------

// What tool_request_print_reply writes for reply, as a string (caller frees).
static char *
printed(const Rr__V1__SubmitReply *reply, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    tool_request_print_reply(out, reply, json);
    assert_int_equal(fclose(out), 0);
    assert_non_null(buf);
    return buf;
}

// A reply as a worker sends it for an accepted submission.
static void
accepted_reply(Rr__V1__SubmitReply *reply)
{
    rr__v1__submit_reply__init(reply);
    reply->request_id = "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
    reply->outcome = RR__V1__OUTCOME__OUTCOME_ACCEPTED;
    reply->referral_id = "R-1042";
    reply->domain = RR__V1__DOMAIN__DOMAIN_SOCIAL;
    reply->office_code = "CO-2301";
    reply->office_name = "Tehran County Welfare Office";
    reply->office_name_fa = "اداره بهزیستی شهرستان تهران";
}

static json_t *
printed_json(const Rr__V1__SubmitReply *reply)
{
    char *text = printed(reply, true);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    assert_ptr_equal(strchr(text, '\n'), text + len - 1); // one line
    for (size_t i = 0; i < len; i++) {
        assert_true((unsigned char) text[i] < 0x80); // JSON_ENSURE_ASCII: \u escapes
    }
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    free(text);
    return o;
}

static void
test_tool_request_print_reply_prints_accepted_and_duplicate_with_the_office(void **state)
{
    (void) state;
    Rr__V1__SubmitReply reply;
    accepted_reply(&reply);
    char *text = printed(&reply, false);
    assert_string_equal(text, "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b accepted R-1042 -> CO-2301 "
                              "Tehran County Welfare Office (اداره بهزیستی شهرستان تهران)\n");
    free(text);
    reply.outcome = RR__V1__OUTCOME__OUTCOME_DUPLICATE;
    reply.shared_file = true;
    text = printed(&reply, false);
    assert_string_equal(text, "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b duplicate R-1042 -> CO-2301 "
                              "Tehran County Welfare Office (اداره بهزیستی شهرستان تهران); "
                              "shared: this center may read and follow it\n");
    free(text);
    reply.shared_file = false;

    reply.outcome = RR__V1__OUTCOME__OUTCOME_ACCEPTED;
    json_t *o = printed_json(&reply);
    assert_int_equal(json_object_size(o), 8);
    assert_true(json_is_false(json_object_get(o, "shared_file")));
    assert_string_equal(json_string_value(json_object_get(o, "request_id")),
                        "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "accepted");
    assert_string_equal(json_string_value(json_object_get(o, "referral_id")), "R-1042");
    assert_string_equal(json_string_value(json_object_get(o, "domain")), "social");
    assert_string_equal(json_string_value(json_object_get(o, "office_code")), "CO-2301");
    assert_string_equal(json_string_value(json_object_get(o, "office_name")),
                        "Tehran County Welfare Office");
    assert_string_equal(json_string_value(json_object_get(o, "office_name_fa")),
                        "اداره بهزیستی شهرستان تهران");
    json_decref(o);
    reply.outcome = RR__V1__OUTCOME__OUTCOME_DUPLICATE;
    reply.shared_file = true;
    o = printed_json(&reply);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "duplicate");
    assert_true(json_is_true(json_object_get(o, "shared_file")));
    assert_string_equal(json_string_value(json_object_get(o, "referral_id")), "R-1042");
    json_decref(o);
}

static void
test_tool_request_print_reply_prints_a_rejection_with_its_code_field_and_reason(void **state)
{
    (void) state;
    Rr__V1__Error error;
    rr__v1__error__init(&error);
    error.code = RR__V1__STATUS__STATUS_ENOTFOUND;
    error.field = "service_code";
    error.message = "unrecognized service \"SOC-99\"";
    Rr__V1__SubmitReply reply;
    rr__v1__submit_reply__init(&reply);
    reply.request_id = "req-1";
    reply.outcome = RR__V1__OUTCOME__OUTCOME_REJECTED;
    reply.error = &error;
    char *text = printed(&reply, false);
    assert_string_equal(text, "req-1 rejected ENOTFOUND service_code: unrecognized service "
                              "\"SOC-99\"\n");
    free(text);
    error.field = ""; // no field: no blank before the colon
    error.code = RR__V1__STATUS__STATUS_EINVAL;
    error.message = "consent is required";
    text = printed(&reply, false);
    assert_string_equal(text, "req-1 rejected EINVAL: consent is required\n");
    free(text);

    error.field = "service_code";
    error.code = RR__V1__STATUS__STATUS_ENOTFOUND;
    error.message = "unrecognized service \"SOC-99\"";
    json_t *o = printed_json(&reply);
    assert_int_equal(json_object_size(o), 5); // no referral, no retry hint
    assert_string_equal(json_string_value(json_object_get(o, "request_id")), "req-1");
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "rejected");
    assert_string_equal(json_string_value(json_object_get(o, "error_code")), "ENOTFOUND");
    assert_string_equal(json_string_value(json_object_get(o, "error_field")), "service_code");
    assert_string_equal(json_string_value(json_object_get(o, "error")),
                        "unrecognized service \"SOC-99\"");
    json_decref(o);
}

static void
test_tool_request_print_reply_prints_busy_with_the_retry_hint_in_json(void **state)
{
    (void) state;
    Rr__V1__Error error;
    rr__v1__error__init(&error);
    error.code = RR__V1__STATUS__STATUS_EBUSY;
    error.message = "queue \"social\" is full";
    Rr__V1__SubmitReply reply;
    rr__v1__submit_reply__init(&reply);
    reply.request_id = "req-2";
    reply.outcome = RR__V1__OUTCOME__OUTCOME_BUSY;
    reply.error = &error;
    reply.retry_after_ms = 250;
    char *text = printed(&reply, false);
    assert_string_equal(text, "req-2 busy EBUSY: queue \"social\" is full\n");
    free(text);
    json_t *o = printed_json(&reply);
    assert_int_equal(json_object_size(o), 6);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "busy");
    assert_string_equal(json_string_value(json_object_get(o, "error_code")), "EBUSY");
    assert_string_equal(json_string_value(json_object_get(o, "error_field")), "");
    assert_string_equal(json_string_value(json_object_get(o, "error")), "queue \"social\" is full");
    assert_int_equal(json_integer_value(json_object_get(o, "retry_after_ms")), 250);
    json_decref(o);
}

static void
test_tool_request_print_reply_names_an_unset_outcome_unknown(void **state)
{
    (void) state;
    Rr__V1__SubmitReply reply;
    rr__v1__submit_reply__init(&reply);
    reply.request_id = "req-3";
    char *text = printed(&reply, false);
    assert_int_equal(strncmp(text, "req-3 unknown", 13), 0);
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    free(text);
    json_t *o = printed_json(&reply);
    assert_int_equal(json_object_size(o), 2);
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "unknown");
    json_decref(o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tool_request_from_json_reads_every_key),
        cmocka_unit_test(
            test_tool_request_from_json_generates_a_request_id_and_defaults_consent_to_true),
        cmocka_unit_test(
            test_tool_request_from_json_passes_persian_text_and_digits_through_unchanged),
        cmocka_unit_test(
            test_tool_request_from_json_refuses_wrong_types_and_unknown_names_with_the_field),
        cmocka_unit_test(test_tool_request_from_json_refuses_more_than_16_risk_flags),
        cmocka_unit_test(test_tool_request_clear_frees_strings_copied_before_a_refusal),
        cmocka_unit_test(
            test_tool_request_print_reply_prints_accepted_and_duplicate_with_the_office),
        cmocka_unit_test(
            test_tool_request_print_reply_prints_a_rejection_with_its_code_field_and_reason),
        cmocka_unit_test(test_tool_request_print_reply_prints_busy_with_the_retry_hint_in_json),
        cmocka_unit_test(test_tool_request_print_reply_names_an_unset_outcome_unknown),
    };
    return cmocka_run_group_tests_name("unit.request", tests, NULL, NULL);
}
