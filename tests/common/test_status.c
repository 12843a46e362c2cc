/* The status table: every code has a distinct name and message, OK is 0,
 * AGAIN and DONE are positive, every error is negative. */
#include <string.h>

#include "testutil.h"

static const int all_codes[] = {
#define CODE_(name, value, msg) value,
    MAILOUT_STATUS_MAP(CODE_)
#undef CODE_
};

static void test_values(void **state)
{
    (void)state;
    assert_int_equal(MAILOUT_OK, 0);
    assert_int_equal(MAILOUT_AGAIN, 1);
    assert_int_equal(MAILOUT_DONE, 2);
    for (size_t i = 3; i < sizeof all_codes / sizeof all_codes[0]; i++)
        assert_true(all_codes[i] < 0);
}

static void test_unique(void **state)
{
    (void)state;
    size_t n = sizeof all_codes / sizeof all_codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *msg = mailout_strerror(all_codes[i]);
        const char *name = mailout_errname(all_codes[i]);
        assert_non_null(msg);
        assert_non_null(name);
        assert_string_not_equal(msg, "unknown status");
        assert_string_not_equal(name, "?");
        for (size_t j = i + 1; j < n; j++) {
            assert_int_not_equal(all_codes[i], all_codes[j]);
            assert_string_not_equal(msg, mailout_strerror(all_codes[j]));
            assert_string_not_equal(name, mailout_errname(all_codes[j]));
        }
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(mailout_errname(MAILOUT_OK), "OK");
    assert_string_equal(mailout_errname(MAILOUT_E_PROTO), "E_PROTO");
    assert_string_equal(mailout_strerror(MAILOUT_E_SERVER_SHUTDOWN), "server is shutting down (421)");
    assert_string_equal(mailout_strerror(12345), "unknown status");
    assert_string_equal(mailout_errname(-12345), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_unique),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
