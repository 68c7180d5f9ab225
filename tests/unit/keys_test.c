// rr_keys and rr_principal: principals (parse, format, serve), key files (round trip, modes,
// malformed files) and the client's key loading.
#include "rr_keys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int
setup(void **state)
{
    (void) state;
    snprintf(dir, sizeof dir, "/tmp/rr-keys-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_rr_principal_valid_accepts_only_the_four_kinds(void **state)
{
    (void) state;
    assert_true(rr_principal_valid("center:941"));
    assert_true(rr_principal_valid("office:CO-2301"));
    assert_true(rr_principal_valid("office:PO-11"));
    assert_true(rr_principal_valid("worker:social"));
    assert_true(rr_principal_valid("worker:any"));
    assert_false(rr_principal_valid("center:"));
    assert_false(rr_principal_valid("center:0941"));
    assert_false(rr_principal_valid("center:94a"));
    assert_true(rr_principal_valid("center:2147483647")); // the database's largest code
    assert_false(rr_principal_valid("center:2147483648"));
    assert_false(rr_principal_valid("center:12345678901"));
    assert_false(rr_principal_valid("office:co-2301"));
    assert_false(rr_principal_valid("office:CO"));
    assert_false(rr_principal_valid("office:CO-2301/../x"));
    assert_false(rr_principal_valid("worker:all"));
    assert_true(rr_principal_valid("operator:root"));
    assert_true(rr_principal_valid("operator:maryam.k"));
    assert_true(rr_principal_valid("operator:ops-2"));
    assert_true(rr_principal_valid("operator:abcdefghijklmn")); // 14: the longest name
    assert_false(rr_principal_valid("operator:abcdefghijklmno"));
    assert_false(rr_principal_valid("operator:"));
    assert_false(rr_principal_valid("operator:Maryam"));
    assert_false(rr_principal_valid("operator:-x"));
    assert_false(rr_principal_valid("operator:a/b"));
    assert_false(rr_principal_valid("operator:a b"));
    assert_false(rr_principal_valid("operators:x"));
    assert_false(rr_principal_valid(""));
    assert_false(rr_principal_valid(NULL));
}

static void
test_rr_principal_parse_gives_kind_and_code(void **state)
{
    (void) state;
    rr_principal p;
    assert_true(rr_principal_parse("center:941", &p));
    assert_int_equal(p.kind, RR_PRINCIPAL_CENTER);
    assert_int_equal(p.center, 941);
    assert_string_equal(p.code, "941");
    assert_true(rr_principal_parse("center:2147483647", &p));
    assert_int_equal(p.center, 2147483647u);
    assert_true(rr_principal_parse("office:CO-2301", &p));
    assert_int_equal(p.kind, RR_PRINCIPAL_OFFICE);
    assert_string_equal(p.code, "CO-2301");
    assert_true(rr_principal_parse("worker:social", &p));
    assert_int_equal(p.kind, RR_PRINCIPAL_WORKER);
    assert_int_equal(p.domain, RR_DOMAIN_SOCIAL);
    assert_true(rr_principal_serves(&p, RR_DOMAIN_SOCIAL));
    assert_false(rr_principal_serves(&p, RR_DOMAIN_PREVENTION));
    assert_true(rr_principal_parse("worker:any", &p));
    assert_int_equal(p.domain, RR_DOMAIN_NONE);
    for (int d = 1; d <= RR_DOMAIN_COUNT; d++) {
        assert_true(rr_principal_serves(&p, (rr_domain) d));
    }
    // Not a worker: serves nothing; a failed parse leaves kind NONE.
    assert_true(rr_principal_parse("center:941", &p));
    assert_false(rr_principal_serves(&p, RR_DOMAIN_SOCIAL));
    assert_false(rr_principal_parse("worker:", &p));
    assert_int_equal(p.kind, RR_PRINCIPAL_NONE);
    assert_false(rr_principal_parse("office:CO-2301-LONGER-THAN-ALLOWED", &p));
    assert_int_equal(p.kind, RR_PRINCIPAL_NONE);
}

static void
test_rr_principal_formats_what_it_parses(void **state)
{
    (void) state;
    char out[RR_PRINCIPAL_MAX + 1];
    assert_true(rr_principal_of_center(941, out));
    assert_string_equal(out, "center:941");
    assert_true(rr_principal_of_office("CO-2301", out));
    assert_string_equal(out, "office:CO-2301");
    assert_true(rr_principal_of_center(4294967295u, out) == false); // beyond the database's
    assert_string_equal(out, "");
    assert_false(rr_principal_of_center(0, out));
    assert_false(rr_principal_of_office("co-1", out));
    assert_false(rr_principal_of_office(NULL, out));
    assert_string_equal(out, "");
}

static void
test_rr_keys_write_and_read_round_trip_with_modes(void **state)
{
    (void) state;
    rr_key_file k;
    assert_int_equal(rr_keys_generate(&k), RR_OK);
    assert_true(rr_keys_valid(k.public_key));
    assert_true(rr_keys_valid(k.secret_key));
    snprintf(k.principal, sizeof k.principal, "center:941");
    char path[128], why[512];
    snprintf(path, sizeof path, "%s/c.key", dir);
    assert_int_equal(rr_keys_write(path, &k, why, sizeof why), RR_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    rr_key_file back;
    assert_int_equal(rr_keys_read(path, &back, why, sizeof why), RR_OK);
    assert_string_equal(back.public_key, k.public_key);
    assert_string_equal(back.secret_key, k.secret_key);
    assert_string_equal(back.principal, "center:941");

    memset(k.secret_key, 0, sizeof k.secret_key);
    snprintf(path, sizeof path, "%s/c.pub", dir);
    assert_int_equal(rr_keys_write(path, &k, why, sizeof why), RR_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(rr_keys_read(path, &back, why, sizeof why), RR_OK);
    assert_string_equal(back.secret_key, "");

    char pub[RR_KEY_TEXT_LEN + 1];
    assert_int_equal(rr_keys_public_from(path, pub, why, sizeof why), RR_OK);
    assert_string_equal(pub, k.public_key);
    assert_int_equal(rr_keys_public_from(k.public_key, pub, why, sizeof why), RR_OK);
    assert_string_equal(pub, k.public_key);
}

static void
write_text(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_rr_keys_read_refuses_malformed_files(void **state)
{
    (void) state;
    char path[128], why[512];
    rr_key_file k;
    write_text("short.pub", "[curve]\npublic = abc\n", path, sizeof path);
    assert_int_equal(rr_keys_read(path, &k, why, sizeof why), RR_EINVAL);
    assert_non_null(strstr(why, "no valid public key"));
    write_text("extra.pub", "[curve]\npublic = abc\ncolour = blue\n", path, sizeof path);
    assert_int_equal(rr_keys_read(path, &k, why, sizeof why), RR_EINVAL);
    assert_non_null(strstr(why, "colour"));
    rr_key_file good;
    assert_int_equal(rr_keys_generate(&good), RR_OK);
    char text[256];
    snprintf(text, sizeof text, "[curve]\npublic = %s\nprincipal = root\n", good.public_key);
    write_text("who.pub", text, path, sizeof path);
    assert_int_equal(rr_keys_read(path, &k, why, sizeof why), RR_EINVAL);
    assert_non_null(strstr(why, "invalid principal"));
    snprintf(path, sizeof path, "%s/missing.pub", dir);
    assert_int_equal(rr_keys_read(path, &k, why, sizeof why), RR_EIO);
}

static void
test_rr_curve_client_load_needs_both_halves(void **state)
{
    (void) state;
    rr_curve_client c;
    char why[512];
    assert_int_equal(rr_curve_client_load("", "", &c, why, sizeof why), RR_OK);
    assert_false(c.on);
    rr_key_file k;
    assert_int_equal(rr_keys_generate(&k), RR_OK);
    assert_int_equal(rr_curve_client_load("", k.public_key, &c, why, sizeof why), RR_EINVAL);
    char path[128];
    snprintf(path, sizeof path, "%s/me.key", dir);
    assert_int_equal(rr_keys_write(path, &k, why, sizeof why), RR_OK);
    rr_key_file server;
    assert_int_equal(rr_keys_generate(&server), RR_OK);
    assert_int_equal(rr_curve_client_load(path, server.public_key, &c, why, sizeof why), RR_OK);
    assert_true(c.on);
    assert_string_equal(c.server_key, server.public_key);
    assert_string_equal(c.secret_key, k.secret_key);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_principal_valid_accepts_only_the_four_kinds),
        cmocka_unit_test(test_rr_principal_parse_gives_kind_and_code),
        cmocka_unit_test(test_rr_principal_formats_what_it_parses),
        cmocka_unit_test(test_rr_keys_write_and_read_round_trip_with_modes),
        cmocka_unit_test(test_rr_keys_read_refuses_malformed_files),
        cmocka_unit_test(test_rr_curve_client_load_needs_both_halves),
    };
    return cmocka_run_group_tests_name("unit.keys", tests, setup, teardown);
}
