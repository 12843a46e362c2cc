/*
 * Line filter: CRLF normalisation, dot-stuffing, the DATA terminator, and
 * the 7bit / NUL / 998 checks, with hand-written expected output under the
 * full streaming matrix (whole, byte by byte, every cut, windows 1..64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamtest.h"

#define STUFF_TERM (MAILOUT_LINE_STUFF | MAILOUT_LINE_TERMINATE)

typedef struct line_case {
    mailout_line f;
    unsigned flags;
} line_case;

static mailout_status line_fn(void *state, mailout_stream *s, int end)
{
    return mailout_line_filter(&((line_case *)state)->f, s, end);
}

static void line_reset(void *state)
{
    line_case *c = state;
    assert_status(MAILOUT_OK, mailout_line_init(&c->f, c->flags));
}

static void check_n(unsigned flags, const char *in, size_t len, const char *exp, size_t exp_len,
                    mailout_status st, size_t consumed)
{
    line_case c = {{{0}}, flags};
    st_check_all(line_fn, line_reset, &c, in, len, exp, exp_len, st, consumed);
}

static void check(unsigned flags, const char *in, const char *exp)
{
    check_n(flags, in, strlen(in), exp, strlen(exp), MAILOUT_DONE, strlen(in));
}

static void check_err(unsigned flags, const char *in, size_t len, const char *exp, mailout_status st,
                      size_t at)
{
    check_n(flags, in, len, exp, strlen(exp), st, at);
}

static void test_normalise(void **state)
{
    (void)state;
    check(0, "", "");
    check(0, "abc", "abc");
    check(0, "a\r\nb", "a\r\nb");
    check(0, "a\nb", "a\r\nb");
    check(0, "a\rb", "a\r\nb");
    check(0, "a\r\r\nb", "a\r\n\r\nb");
    check(0, "a\n\nb", "a\r\n\r\nb");
    check(0, "\n\r", "\r\n\r\n");
    check(0, "\r\n\r\n", "\r\n\r\n");
    check(0, "\r\r", "\r\n\r\n");
    check(0, "\n", "\r\n");
    check(0, "\r", "\r\n");
    check(0, "a\n\r\nb\r", "a\r\n\r\nb\r\n");
    check(0, ".a\n", ".a\r\n"); /* no stuffing without the flag */
}

/* A break at each position of a run, to hit every lane of the 8-byte scan. */
static void test_break_at_every_offset(void **state)
{
    (void)state;
    static const char *const breaks[] = {"\n", "\r", "\r\n"};
    for (size_t b = 0; b < 3; b++) {
        for (size_t p = 0; p <= 20; p++) {
            char in[40], exp[40];
            memset(in, 'x', p);
            strcpy(in + p, breaks[b]);
            memset(in + p + strlen(breaks[b]), 'y', 20 - p);
            in[20 + strlen(breaks[b])] = '\0';
            memset(exp, 'x', p);
            memcpy(exp + p, "\r\n", 2);
            memset(exp + p + 2, 'y', 20 - p);
            exp[22] = '\0';
            check(0, in, exp);
        }
    }
}

static void test_stuffing(void **state)
{
    (void)state;
    unsigned f = MAILOUT_LINE_STUFF;
    check(f, ".", "..");
    check(f, ".a\n.\r..\r\n", "..a\r\n..\r\n...\r\n");
    check(f, "a.b\r\n", "a.b\r\n");
    check(f, "\r.", "\r\n..");
    check(f, "\n.", "\r\n..");
    check(f, "a\r\r\n.", "a\r\n\r\n..");
    check(f, "a\r\n.\r\nb", "a\r\n..\r\nb");
    check(f, " .", " .");
}

static void test_terminate(void **state)
{
    (void)state;
    check(STUFF_TERM, "", ".\r\n");
    check(STUFF_TERM, "a", "a\r\n.\r\n");
    check(STUFF_TERM, "a\r\n", "a\r\n.\r\n");
    check(STUFF_TERM, "a\n", "a\r\n.\r\n");
    check(STUFF_TERM, "a\r", "a\r\n.\r\n");
    check(STUFF_TERM, "\r\n", "\r\n.\r\n");
    check(STUFF_TERM, ".", "..\r\n.\r\n");
    check(STUFF_TERM, ".\r\n", "..\r\n.\r\n");
    check(STUFF_TERM | MAILOUT_LINE_FINAL_CRLF, "a", "a\r\n.\r\n");
    /* Smuggling attempts: no bare ".\n" etc. can survive. */
    check(STUFF_TERM, "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check(STUFF_TERM, "a\r.\rb", "a\r\n..\r\nb\r\n.\r\n");
    check(STUFF_TERM, "a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
    check(STUFF_TERM, "a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n");
    check(STUFF_TERM, "\r\n.\r\n", "\r\n..\r\n.\r\n");
}

static void test_final_crlf(void **state)
{
    (void)state;
    unsigned f = MAILOUT_LINE_FINAL_CRLF;
    check(f, "", "");
    check(f, "a", "a\r\n");
    check(f, "a\r\n", "a\r\n");
    check(f, "a\r", "a\r\n");
    check(f, "a\n", "a\r\n");
    check(f, ".", ".\r\n");
    check(f | MAILOUT_LINE_STUFF, ".", "..\r\n");
}

static void test_errors(void **state)
{
    (void)state;
    check_err(MAILOUT_LINE_7BIT, "ab\x80" "c", 4, "ab", MAILOUT_E_8BIT, 2);
    check_err(MAILOUT_LINE_7BIT, "\xff", 1, "", MAILOUT_E_8BIT, 0);
    check_err(MAILOUT_LINE_7BIT | STUFF_TERM, "x\r\n\xff", 4, "x\r\n", MAILOUT_E_8BIT, 3);
    check_err(MAILOUT_LINE_7BIT | STUFF_TERM, "x\r\n.\xc3\xa9", 6, "x\r\n..", MAILOUT_E_8BIT, 4);
    check_err(MAILOUT_LINE_7BIT | STUFF_TERM, "0123456789abcdef\x80", 17, "0123456789abcdef", MAILOUT_E_8BIT,
              16);
    check_err(MAILOUT_LINE_NO_NUL, "a\0", 2, "a", MAILOUT_E_INVAL, 1);
    check_err(MAILOUT_LINE_NO_NUL | STUFF_TERM, "abcdefghij\r\n\0", 13, "abcdefghij\r\n", MAILOUT_E_INVAL, 12);
    check_err(MAILOUT_LINE_NO_NUL | MAILOUT_LINE_7BIT, "ab\0\x80", 4, "ab", MAILOUT_E_INVAL, 2);
    check_err(MAILOUT_LINE_NO_NUL | MAILOUT_LINE_7BIT, "ab\x80\0", 4, "ab", MAILOUT_E_8BIT, 2);
    /* Without the flags the same bytes pass unchanged. */
    check_n(0, "a\0b\x80\xff", 5, "a\0b\x80\xff", 5, MAILOUT_DONE, 5);
    check_n(MAILOUT_LINE_7BIT, "a\0b", 3, "a\0b", 3, MAILOUT_DONE, 3);
    check_n(MAILOUT_LINE_NO_NUL, "a\x80\xff", 3, "a\x80\xff", 3, MAILOUT_DONE, 3);
}

static void test_max998(void **state)
{
    (void)state;
    unsigned f = MAILOUT_LINE_MAX998 | STUFF_TERM;
    size_t cap = 3000;
    char *in = malloc(cap), *exp = malloc(cap);
    assert_non_null(in);
    assert_non_null(exp);

    /* 998 bytes, LF, 998 bytes: fine; CRLF and terminator added. */
    memset(in, 'a', 998);
    in[998] = '\n';
    memset(in + 999, 'b', 998);
    memset(exp, 'a', 998);
    memcpy(exp + 998, "\r\n", 2);
    memset(exp + 1000, 'b', 998);
    memcpy(exp + 1998, "\r\n.\r\n", 5);
    check_n(f, in, 1997, exp, 2003, MAILOUT_DONE, 1997);

    /* 999 bytes: the 999th is refused; 998 written, no terminator. */
    memset(in, 'a', 999);
    check_n(f, in, 999, in, 998, MAILOUT_E_LINE_TOO_LONG, 998);
    /* Same on the second line, after a lone CR. */
    in[0] = '\r';
    memset(exp, 'a', 1000);
    memcpy(exp, "\r\n", 2);
    check_n(f, in, 1000, exp, 1000, MAILOUT_E_LINE_TOO_LONG, 999);

    /* The doubled dot does not count (RFC 5321 §4.5.3.1.6). */
    in[0] = '.';
    memset(in + 1, 'a', 997);
    exp[0] = '.';
    memset(exp + 1, '.', 1);
    memset(exp + 2, 'a', 997);
    memcpy(exp + 999, "\r\n.\r\n", 5);
    check_n(f, in, 998, exp, 1004, MAILOUT_DONE, 998);
    in[998] = 'a';
    check_n(f, in, 999, exp, 999, MAILOUT_E_LINE_TOO_LONG, 998);

    /* Without the flag, long lines pass. */
    memset(in, 'z', 2000);
    check_n(0, in, 2000, in, 2000, MAILOUT_DONE, 2000);
    free(in);
    free(exp);
}

/* Runs of whole CRLF lines (the fast path copies them without stopping):
 * stuffing after each CRLF, the 998 limit counted per line, a CRLF cut by
 * every window (the matrix), lines ending at every lane. */
static void test_crlf_runs(void **state)
{
    (void)state;
    unsigned f = MAILOUT_LINE_STUFF;
    check(f, "ab\r\ncd\r\nef\r\n", "ab\r\ncd\r\nef\r\n");
    check(f, "ab\r\n.c\r\n..\r\n.", "ab\r\n..c\r\n...\r\n..");
    check(f, "\r\n\r\n.\r\n", "\r\n\r\n..\r\n");
    check(f, "abcdefghijklmnop\r\nabcdefghijklmnop\r\n.", "abcdefghijklmnop\r\nabcdefghijklmnop\r\n..");
    check(STUFF_TERM, "ab\r\ncd\r\n", "ab\r\ncd\r\n.\r\n");
    check(STUFF_TERM, "ab\r\ncd\r\r\n\n", "ab\r\ncd\r\n\r\n\r\n.\r\n");
    check(STUFF_TERM, "ab\r\n\rcd", "ab\r\n\r\ncd\r\n.\r\n");
    check_err(MAILOUT_LINE_7BIT | f, "ab\r\ncd\r\n\x80", 9, "ab\r\ncd\r\n", MAILOUT_E_8BIT, 8);
    check_err(MAILOUT_LINE_NO_NUL | f, "ab\r\n\0", 5, "ab\r\n", MAILOUT_E_INVAL, 4);

    /* 998-byte lines joined by CRLF pass; a 999th byte after them fails. */
    size_t cap = 4100;
    char *in = malloc(cap);
    assert_non_null(in);
    for (size_t k = 0; k < 4; k++) {
        memset(in + k * 1000, k == 1 ? '.' : 'q', 998);
        memcpy(in + k * 1000 + 998, "\r\n", 2);
    }
    unsigned m = MAILOUT_LINE_MAX998; /* no stuffing: the dot line stays 998 */
    check_n(m, in, 4000, in, 4000, MAILOUT_DONE, 4000);
    in[4000] = 'x';
    check_n(m, in, 4001, in, 4001, MAILOUT_DONE, 4001);
    memset(in + 3000, 'q', 999);
    check_n(m, in, 3999, in, 3998, MAILOUT_E_LINE_TOO_LONG, 3998);
    free(in);
}

/* The obvious byte-at-a-time filter, as the model for random inputs. */
static mailout_status model(unsigned flags, const unsigned char *in, size_t len, unsigned char *out,
                            size_t *out_len, size_t *consumed)
{
    int st = 0; /* 0 start, 1 mid, 2 after CR */
    size_t n = 0, linelen = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (c == '\r' || c == '\n') {
            if (c == '\n' && st == 2) {
                st = 0;
                continue;
            }
            out[n++] = '\r';
            out[n++] = '\n';
            st = c == '\r' ? 2 : 0;
            linelen = 0;
            continue;
        }
        mailout_status err = MAILOUT_OK;
        if (c >= 0x80 && (flags & MAILOUT_LINE_7BIT))
            err = MAILOUT_E_8BIT;
        else if (c == 0 && (flags & MAILOUT_LINE_NO_NUL))
            err = MAILOUT_E_INVAL;
        else if ((flags & MAILOUT_LINE_MAX998) && linelen >= 998)
            err = MAILOUT_E_LINE_TOO_LONG;
        if (err != MAILOUT_OK) {
            *out_len = n;
            *consumed = i;
            return err;
        }
        if (c == '.' && st != 1 && (flags & MAILOUT_LINE_STUFF))
            out[n++] = '.';
        out[n++] = c;
        st = 1;
        linelen++;
    }
    if (st == 1 && (flags & (MAILOUT_LINE_TERMINATE | MAILOUT_LINE_FINAL_CRLF))) {
        out[n++] = '\r';
        out[n++] = '\n';
    }
    if (flags & MAILOUT_LINE_TERMINATE) {
        memcpy(out + n, ".\r\n", 3);
        n += 3;
    }
    *out_len = n;
    *consumed = len;
    return MAILOUT_DONE;
}

/* Random inputs, mostly well-formed CRLF lines with the odd dot, bare CR,
 * bare LF, NUL and 8-bit byte, under every flag combination and the full
 * streaming matrix, against the model. */
static void test_random_vs_model(void **state)
{
    (void)state;
    static const unsigned flag_sets[] = {
        0, MAILOUT_LINE_STUFF, STUFF_TERM, STUFF_TERM | MAILOUT_LINE_7BIT | MAILOUT_LINE_NO_NUL,
        MAILOUT_LINE_FINAL_CRLF | MAILOUT_LINE_MAX998, STUFF_TERM | MAILOUT_LINE_MAX998,
    };
    unsigned char in[160], exp[2 * 160 + 8];
    uint32_t seed = 12345;
    for (int round = 0; round < 60; round++) {
        size_t len = 0, target = (size_t)(seed % 150) + 1;
        while (len < target) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) % 100;
            if (r < 6 && len + 1 < sizeof in) {
                in[len++] = '\r';
                in[len++] = '\n';
            } else {
                in[len++] = (unsigned char)(r < 9 ? '.' : r < 10 ? '\r' : r < 11 ? '\n' : r < 12 ? 0x80 : r == 12 ? 0 : 'a' + r % 26);
            }
        }
        for (size_t k = 0; k < sizeof flag_sets / sizeof flag_sets[0]; k++) {
            size_t exp_len = 0, consumed = 0;
            mailout_status st = model(flag_sets[k], in, len, exp, &exp_len, &consumed);
            check_n(flag_sets[k], (const char *)in, len, (const char *)exp, exp_len, st, consumed);
        }
    }
}

/* One message through the SMTP engine's in-place arrangement
 * (lib/smtp/txn.c, fill_filtered): each buffer of @p cap bytes is filled
 * by flushing what the filter holds, then reading k = (room + 1) / 2
 * input bytes (fewer when @p seed says so) into the END of the free room
 * and filtering them forward into its start, in the same buffer. The
 * writer must never overwrite input it has not read (the output would
 * differ from the model) and every read must be consumed whole. */
static void inplace_one(const unsigned char *in, size_t len, size_t cap, uint32_t *seed)
{
    unsigned char buf[300], got_all[2 * 400 + 8], exp[2 * 400 + 8];
    size_t exp_len = 0, consumed = 0, total = 0, pos = 0;
    assert_true(cap <= sizeof buf && len <= 400);
    assert_status(MAILOUT_DONE, model(STUFF_TERM, in, len, exp, &exp_len, &consumed));
    mailout_line f;
    assert_status(MAILOUT_OK, mailout_line_init(&f, STUFF_TERM));
    int done = 0;
    while (!done) {
        size_t n = 0;
        memset(buf, 0xEE, sizeof buf);
        for (;;) {
            mailout_stream s = {buf + n, 0, buf + n, cap - n};
            mailout_status st = mailout_line_filter(&f, &s, pos == len);
            n = cap - s.avail_out;
            if (st == MAILOUT_DONE) {
                done = 1;
                break;
            }
            assert_status(MAILOUT_OK, st);
            if (n == cap)
                break;
            assert_true(pos < len); /* with room and the end given, the filter finishes */
            size_t k = (cap - n + 1) / 2, got = k < len - pos ? k : len - pos;
            *seed = *seed * 1103515245u + 12345u;
            if ((*seed >> 16) % 3 == 0)
                got = 1 + (*seed >> 8) % got; /* a short read */
            unsigned char *p = buf + cap - k;
            memcpy(p, in + pos, got);
            pos += got;
            s = (mailout_stream){p, got, buf + n, cap - n};
            st = mailout_line_filter(&f, &s, pos == len);
            assert_int_equal(s.avail_in, 0); /* the whole read is consumed */
            n = cap - s.avail_out;
            if (st == MAILOUT_DONE) {
                done = 1;
                break;
            }
            assert_status(MAILOUT_OK, st);
        }
        assert_true(total + n <= sizeof got_all);
        memcpy(got_all + total, buf, n);
        total += n;
    }
    assert_bytes_equal(exp, exp_len, got_all, total);
}

static void test_in_place(void **state)
{
    (void)state;
    /* the worst cases first: every byte doubled (bare LFs and CRs, dots
     * after them), then random lines */
    static const char *const worst[] = {
        "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
        "\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r",
        ".\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n",
        ".\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.\r.",
        "abcdefghijklmnopqrstuvwxyz0123456789\r\nabcdefghijklmnopqrstuvwxyz0123456789\r\n.x",
        "",
        ".",
        "a",
    };
    uint32_t seed = 777;
    for (size_t cap = 1; cap <= 70; cap++)
        for (size_t w = 0; w < sizeof worst / sizeof worst[0]; w++)
            inplace_one((const unsigned char *)worst[w], strlen(worst[w]), cap, &seed);
    unsigned char in[400];
    for (int round = 0; round < 40; round++) {
        size_t len = 0, target = (size_t)(seed % 380) + 1;
        while (len < target) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) % 100;
            if (r < 6 && len + 1 < sizeof in) {
                in[len++] = '\r';
                in[len++] = '\n';
            } else {
                in[len++] = (unsigned char)(r < 15 ? '.' : r < 20 ? '\r' : r < 25 ? '\n' : 'a' + r % 26);
            }
        }
        static const size_t caps[] = {1, 2, 3, 5, 8, 13, 16, 31, 64, 100, 256, 300};
        for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++)
            inplace_one(in, len, caps[c], &seed);
    }
}

static void test_init_flags(void **state)
{
    (void)state;
    mailout_line f;
    assert_status(MAILOUT_E_INVAL, mailout_line_init(&f, 64));
    assert_status(MAILOUT_E_INVAL, mailout_line_init(&f, 0x80000000u));
    /* A terminator without stuffing is refused (smuggling). */
    assert_status(MAILOUT_E_INVAL, mailout_line_init(&f, MAILOUT_LINE_TERMINATE));
    assert_status(MAILOUT_E_INVAL, mailout_line_init(&f, MAILOUT_LINE_TERMINATE | MAILOUT_LINE_7BIT));
    assert_status(MAILOUT_OK, mailout_line_init(&f, STUFF_TERM));
    assert_status(MAILOUT_OK, mailout_line_init(&f, 63));
    assert_status(MAILOUT_OK, mailout_line_init(&f, 0));
}

/* After an error or DONE nothing more is ever written, even with new input. */
static void test_sticky(void **state)
{
    (void)state;
    mailout_line f;
    unsigned char out[16];
    assert_status(MAILOUT_OK, mailout_line_init(&f, STUFF_TERM | MAILOUT_LINE_7BIT));
    mailout_stream s = {(const unsigned char *)"a\x80", 2, out, sizeof out};
    assert_status(MAILOUT_E_8BIT, mailout_line_filter(&f, &s, 1));
    assert_int_equal(s.avail_in, 1);
    assert_int_equal(s.next_out - out, 1);
    for (int i = 0; i < 3; i++) {
        mailout_stream t = {(const unsigned char *)"ok", 2, out, sizeof out};
        assert_status(MAILOUT_E_8BIT, mailout_line_filter(&f, &t, 1));
        assert_int_equal(t.avail_in, 2);
        assert_int_equal(t.avail_out, sizeof out);
    }
    assert_status(MAILOUT_OK, mailout_line_init(&f, STUFF_TERM));
    s = (mailout_stream){(const unsigned char *)"a", 1, out, sizeof out};
    assert_status(MAILOUT_DONE, mailout_line_filter(&f, &s, 1));
    assert_bytes_equal("a\r\n.\r\n", 6, out, (size_t)(s.next_out - out));
    for (int i = 0; i < 3; i++) {
        mailout_stream t = {(const unsigned char *)"b", 1, out, sizeof out};
        assert_status(MAILOUT_DONE, mailout_line_filter(&f, &t, 1));
        assert_int_equal(t.avail_out, sizeof out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_break_at_every_offset),
        cmocka_unit_test(test_stuffing),
        cmocka_unit_test(test_terminate),
        cmocka_unit_test(test_final_crlf),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_max998),
        cmocka_unit_test(test_crlf_runs),
        cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_init_flags),
        cmocka_unit_test(test_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
