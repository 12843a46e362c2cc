/*
 * Content scan: every field, for hand-picked inputs, fed whole, byte by
 * byte and cut at every offset (the result must not depend on chunking).
 */
#include <string.h>

#include "streamtest.h"

typedef struct scan_exp {
    uint64_t lines;
    uint32_t max_line;
    unsigned char has_8bit, has_nul, has_ctl, has_bare, utf8_ok, boundary_like;
} scan_exp;

static void compare(const mailout_scan *sc, size_t len, const scan_exp *e)
{
    assert_int_equal(sc->bytes, len);
    assert_int_equal(sc->lines, e->lines);
    assert_int_equal(sc->max_line, e->max_line);
    assert_int_equal(sc->has_8bit, e->has_8bit);
    assert_int_equal(sc->has_nul, e->has_nul);
    assert_int_equal(sc->has_ctl, e->has_ctl);
    assert_int_equal(sc->has_bare, e->has_bare);
    assert_int_equal(sc->utf8_ok, e->utf8_ok);
    assert_int_equal(sc->boundary_like, e->boundary_like);
}

static void check_n(const char *in, size_t len, scan_exp e)
{
    mailout_scan sc;

    mailout_scan_init(&sc);
    mailout_scan_update(&sc, in, len);
    mailout_scan_final(&sc);
    compare(&sc, len, &e);

    mailout_scan_init(&sc);
    for (size_t i = 0; i < len; i++)
        mailout_scan_update(&sc, in + i, 1);
    mailout_scan_final(&sc);
    compare(&sc, len, &e);

    for (size_t cut = 0; cut <= len; cut++) {
        mailout_scan_init(&sc);
        mailout_scan_update(&sc, in, cut);
        mailout_scan_update(&sc, in + cut, 0);
        mailout_scan_update(&sc, in + cut, len - cut);
        mailout_scan_final(&sc);
        compare(&sc, len, &e);
    }
}

static void check(const char *in, scan_exp e)
{
    check_n(in, strlen(in), e);
}

/* Designated initialisers keep the expectations readable. */
#define EXP(...) ((scan_exp){.utf8_ok = 1, __VA_ARGS__})
/* The same with utf8_ok = 0. */
#define EXP_BAD(...) ((scan_exp){__VA_ARGS__})

static void test_empty_and_plain(void **state)
{
    (void)state;
    check("", EXP(.lines = 0));
    check("abc", EXP(.max_line = 3));
    check("ab\r\ncde\r\n", EXP(.lines = 2, .max_line = 3));
    check("aaaa\r\nbb\r\nccccccc", EXP(.lines = 2, .max_line = 7));
    check("\r\n\r\n", EXP(.lines = 2));
    check("a\tb ~", EXP(.max_line = 5));
}

static void test_bare_breaks(void **state)
{
    (void)state;
    check("a\nb", EXP(.lines = 1, .max_line = 1, .has_bare = 1));
    check("a\rb", EXP(.lines = 1, .max_line = 1, .has_bare = 1));
    check("a\r", EXP(.lines = 1, .max_line = 1, .has_bare = 1));
    check("a\r\r\n", EXP(.lines = 2, .max_line = 1, .has_bare = 1));
    check("\n\r", EXP(.lines = 2, .has_bare = 1));
    check("aaaa\nbb\nccccccc", EXP(.lines = 2, .max_line = 7, .has_bare = 1));
    check("abc\r\n", EXP(.lines = 1, .max_line = 3));
}

static void test_controls(void **state)
{
    (void)state;
    check_n("a\0b", 3, EXP(.max_line = 3, .has_nul = 1));
    check("\x01", EXP(.max_line = 1, .has_ctl = 1));
    check("\x1b[0m", EXP(.max_line = 4, .has_ctl = 1));
    check("x\x7f", EXP(.max_line = 2, .has_ctl = 1));
    check("\x0c\r\n", EXP(.lines = 1, .max_line = 1, .has_ctl = 1));
    check("\t", EXP(.max_line = 1));
}

static void test_utf8(void **state)
{
    (void)state;
    check("caf\xc3\xa9", EXP(.max_line = 5, .has_8bit = 1));
    check("\xe2\x82\xac", EXP(.max_line = 3, .has_8bit = 1));             /* U+20AC */
    check("\xe0\xa0\x80", EXP(.max_line = 3, .has_8bit = 1));             /* U+0800, lowest 3-byte */
    check("\xed\x9f\xbf", EXP(.max_line = 3, .has_8bit = 1));             /* U+D7FF */
    check("\xee\x80\x80", EXP(.max_line = 3, .has_8bit = 1));             /* U+E000 */
    check("\xf0\x90\x80\x80", EXP(.max_line = 4, .has_8bit = 1));        /* U+10000 */
    check("\xf4\x8f\xbf\xbf", EXP(.max_line = 4, .has_8bit = 1));        /* U+10FFFF */
    check("\xc2\x80\xdf\xbf", EXP(.max_line = 4, .has_8bit = 1));        /* U+0080, U+07FF */

    scan_exp bad = EXP_BAD(.has_8bit = 1);
    bad.max_line = 1;
    check("\xc3", bad);  /* incomplete at the end */
    check("\x80", bad);  /* stray continuation */
    check("\xff", bad);
    check("\xc1", bad);  /* overlong lead */
    bad.max_line = 2;
    check("\xc0\x80", bad); /* overlong NUL */
    check("\xc3\x28", bad);
    check("\xe2\x82", bad);
    bad.max_line = 3;
    check("\xe0\x80\x80", bad);     /* overlong 3-byte */
    check("\xe0\x9f\xbf", bad);
    check("\xed\xa0\x80", bad);     /* surrogate U+D800 */
    check("\xed\xbf\xbf", bad);     /* surrogate U+DFFF */
    check("\xf0\x90\x80", bad);     /* incomplete 4-byte */
    bad.max_line = 4;
    check("\xf0\x8f\xbf\xbf", bad); /* overlong 4-byte */
    check("\xf4\x90\x80\x80", bad); /* above U+10FFFF */
    check("\xf5\x80\x80\x80", bad);
    /* A line break inside a sequence. */
    check("\xc3\r\n", EXP_BAD(.lines = 1, .max_line = 1, .has_8bit = 1));
    /* Once invalid, valid text after it does not repair it. */
    check("\xff\xc3\xa9", EXP_BAD(.max_line = 3, .has_8bit = 1));
}

static void test_boundary_like(void **state)
{
    (void)state;
    check("--=_abc", EXP(.max_line = 7, .boundary_like = 1));
    check("--=_", EXP(.max_line = 4, .boundary_like = 1));
    check("x\r\n--=_", EXP(.lines = 1, .max_line = 4, .boundary_like = 1));
    check("-\n--=_", EXP(.lines = 1, .max_line = 4, .has_bare = 1, .boundary_like = 1));
    check("\r--=_", EXP(.lines = 1, .max_line = 4, .has_bare = 1, .boundary_like = 1));
    check("x--=_", EXP(.max_line = 5));
    check(" --=_", EXP(.max_line = 5));
    check("--=", EXP(.max_line = 3));
    check("--=-", EXP(.max_line = 4));
    check("---=_", EXP(.max_line = 5));
    check("--\r\n=_", EXP(.lines = 1, .max_line = 2));
    check("--=_\r\n", EXP(.lines = 1, .max_line = 4, .boundary_like = 1));
}

/* A special byte at every offset of a long line, for every lane of the
 * 8-byte scan. */
static void test_every_lane(void **state)
{
    (void)state;
    for (size_t p = 0; p < 40; p++) {
        char in[41];
        memset(in, 'x', 40);
        in[40] = '\0';
        in[p] = '\t';
        check(in, EXP(.max_line = 40));
        in[p] = '\x01';
        check(in, EXP(.max_line = 40, .has_ctl = 1));
        in[p] = '\x7f';
        check(in, EXP(.max_line = 40, .has_ctl = 1));
        in[p] = '\xe9';
        check(in, EXP_BAD(.max_line = 40, .has_8bit = 1));
        in[p] = '\n';
        scan_exp e = EXP(.lines = 1, .has_bare = 1);
        e.max_line = (uint32_t)(p > 39 - p ? p : 39 - p);
        check(in, e);
    }
}

static void test_long_line_count(void **state)
{
    (void)state;
    static char big[5000];
    memset(big, 'q', sizeof big);
    mailout_scan sc;
    mailout_scan_init(&sc);
    for (int i = 0; i < 3; i++)
        mailout_scan_update(&sc, big, sizeof big);
    mailout_scan_update(&sc, "\r\n", 2);
    mailout_scan_update(&sc, big, 10);
    mailout_scan_final(&sc);
    assert_int_equal(sc.max_line, 15000);
    assert_int_equal(sc.cur_line, 10);
    assert_int_equal(sc.lines, 1);
    assert_int_equal(sc.bytes, 15012);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_plain),
        cmocka_unit_test(test_bare_breaks),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_boundary_like),
        cmocka_unit_test(test_every_lane),
        cmocka_unit_test(test_long_line_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
