/*
 * Helpers shared by the cmocka tests.
 */
#ifndef MAILOUT_TESTUTIL_H
#define MAILOUT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the above first */
#include <cmocka.h>

#include <mailout/mailout.h>

/*
 * Assert two byte strings are equal; on mismatch print the offset of the
 * first difference and both sides around it, escaped, then fail.
 */
#define assert_bytes_equal(exp, exp_len, got, got_len) \
    testutil_assert_bytes((exp), (exp_len), (got), (got_len), __FILE__, __LINE__)
void testutil_assert_bytes(const void *exp, size_t exp_len, const void *got, size_t got_len, const char *file,
                           int line);

/* Assert a mailout status, printing both names on mismatch. */
#define assert_status(exp, got) testutil_assert_status((int)(exp), (int)(got), __FILE__, __LINE__)
void testutil_assert_status(int exp, int got, const char *file, int line);

/* Deterministic platform for messages: a fixed clock and a seeded PRNG. */
typedef struct testutil_env {
    int64_t now;       /* Unix seconds returned by the clock */
    int utc_offset;    /* minutes */
    uint64_t rng;      /* xorshift64 state, must not be 0 */
    unsigned random_calls;
} testutil_env;

/* Fill *env with defaults (2026-11-22 14:49:00 +0000, seed 1) and return
 * the mailout_env that draws from it. */
mailout_env testutil_env_init(testutil_env *env);

/* Escape bytes for printing ("\r\n" etc.) into a static buffer. */
const char *testutil_escape(const void *data, size_t len);

#endif
