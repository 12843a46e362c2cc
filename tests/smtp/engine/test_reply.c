/*
 * The reply parser and the EHLO keyword scanner, driven directly: every
 * input whole, byte by byte and split at every offset.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

#include "smtp/reply.h"

/* Where parse() puts the reply (the parser keeps a pointer to it). */
static mailout_reply parsed;

/* Parse @p in as one reply with the input split into pieces of @p piece
 * bytes (0 = whole), or [split][rest]. Returns the status of the first
 * non-OK feed, or OK if the input ran out first. */
static mailout_status parse(mailout_reply_parser *p, const char *in, size_t len, size_t piece, size_t split,
                            int esc, mailout_ehlo *e, size_t *consumed)
{
    mailout_reply_init(p, &parsed, esc, e, NULL, 0);
    size_t off = 0;
    while (off < len) {
        size_t n = len - off;
        if (piece && n > piece)
            n = piece;
        if (split && off < split && n > split - off)
            n = split - off;
        size_t used = 0;
        mailout_status st = mailout_reply_feed(p, (const unsigned char *)in + off, n, &used, NULL);
        assert_true(used <= n);
        off += used;
        if (st != MAILOUT_OK) {
            *consumed = off;
            return st;
        }
        assert_int_equal(used, n);
    }
    *consumed = off;
    return MAILOUT_OK;
}

/* The same outcome for every way of cutting the input. */
static void check_all(const char *in, mailout_status exp, uint16_t code, const char *text, size_t exp_used)
{
    size_t len = strlen(in);
    for (size_t mode = 0; mode <= len + 1; mode++) {
        mailout_reply_parser p;
        size_t used = 0;
        mailout_status st = mode == 0   ? parse(&p, in, len, 0, 0, 0, NULL, &used)
                            : mode == 1 ? parse(&p, in, len, 1, 0, 0, NULL, &used)
                                        : parse(&p, in, len, 0, mode - 1, 0, NULL, &used);
        assert_status(exp, st);
        if (exp == MAILOUT_DONE) {
            assert_int_equal(p.reply->code, code);
            assert_string_equal(p.reply->text, text);
            assert_int_equal(used, exp_used ? exp_used : len);
        }
    }
}

static void test_single_line(void **state)
{
    (void)state;
    check_all("250 OK\r\n", MAILOUT_DONE, 250, "OK", 0);
    check_all("220 mail.example.com ESMTP ready\r\n", MAILOUT_DONE, 220, "mail.example.com ESMTP ready", 0);
    check_all("354 \r\n", MAILOUT_DONE, 354, "", 0);
}

static void test_minimal_replies(void **state)
{
    (void)state;
    check_all("250\r\n", MAILOUT_DONE, 250, "", 0);
    check_all("250 \r\n", MAILOUT_DONE, 250, "", 0);
    check_all("250-\r\n250 \r\n", MAILOUT_DONE, 250, "", 0);
    check_all("220 \r\n", MAILOUT_DONE, 220, "", 0);
}

static void test_multi_line(void **state)
{
    (void)state;
    check_all("250-first\r\n250-second\r\n250 last\r\n", MAILOUT_DONE, 250, "first", 0);
    /* stops right after the final line */
    check_all("250-a\r\n250 b\r\n354 go\r\n", MAILOUT_DONE, 250, "a", 14);
    mailout_reply_parser p;
    size_t used;
    assert_status(MAILOUT_DONE, parse(&p, "250-a\r\n250-b\r\n250 c\r\n", 21, 0, 0, 0, NULL, &used));
    assert_int_equal(p.lines, 3);
}

static void test_incomplete(void **state)
{
    (void)state;
    check_all("250-a\r\n", MAILOUT_OK, 0, NULL, 0);
    check_all("250", MAILOUT_OK, 0, NULL, 0);
    check_all("250 ok\r", MAILOUT_OK, 0, NULL, 0);
}

static void test_mismatched_codes(void **state)
{
    (void)state;
    check_all("250-ok\r\n550 no\r\n", MAILOUT_E_PROTO, 0, NULL, 0);
    check_all("220-a\r\n554 b\r\n", MAILOUT_E_PROTO, 0, NULL, 0);
    check_all("250-ok\r\n251 ok\r\n", MAILOUT_E_PROTO, 0, NULL, 0);
}

static void test_bad_codes(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "600 x\r\n", "199 x\r\n", "2a0 x\r\n", "2x0 ok\r\n", "25 ok\r\n", "250ok\r\n", " 250 ok\r\n",
        "+25 ok\r\n", "-25 ok\r\n", "0250 ok\r\n", "2500 ok\r\n", "250\tok\r\n", "\r\n", "260 x\r\n",
        "250 a\nb\r\n", "250 a\rb\r\n", "250\n", "250-a\r\n25x b\r\n", "100 x\r\n", "700 x\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_all(bad[i], MAILOUT_E_PROTO, 0, NULL, 0);
    /* the boundary digits are fine */
    check_all("200 x\r\n", MAILOUT_DONE, 200, "x", 0);
    check_all("559 x\r\n", MAILOUT_DONE, 559, "x", 0);
}

static void test_line_limit_exact(void **state)
{
    (void)state;
    char in[MAILOUT_REPLY_LINE_MAX + 8];
    memset(in, 'x', sizeof in);
    memcpy(in, "250 ", 4);
    memcpy(in + MAILOUT_REPLY_LINE_MAX - 2, "\r\n", 3);
    mailout_reply_parser p;
    size_t used;
    assert_status(MAILOUT_DONE, parse(&p, in, MAILOUT_REPLY_LINE_MAX, 0, 0, 0, NULL, &used));
    assert_int_equal(strlen(p.reply->text), MAILOUT_REPLY_TEXT_MAX);
    /* one more byte: too long, detected without reading further */
    memset(in, 'x', sizeof in);
    memcpy(in, "250 ", 4);
    memcpy(in + MAILOUT_REPLY_LINE_MAX - 1, "\r\n", 3);
    assert_status(MAILOUT_E_REPLY_TOO_LONG, parse(&p, in, MAILOUT_REPLY_LINE_MAX + 1, 1, 0, 0, NULL, &used));
    assert_int_equal(used, MAILOUT_REPLY_LINE_MAX);
}

static void test_too_many_lines(void **state)
{
    (void)state;
    static char in[(MAILOUT_REPLY_LINES_MAX + 2) * 8];
    size_t n = 0;
    for (int i = 0; i < MAILOUT_REPLY_LINES_MAX - 1; i++)
        n += (size_t)sprintf(in + n, "250-ab\r\n");
    n += (size_t)sprintf(in + n, "250 ab\r\n");
    mailout_reply_parser p;
    size_t used;
    assert_status(MAILOUT_DONE, parse(&p, in, n, 0, 0, 0, NULL, &used));
    assert_int_equal(p.lines, MAILOUT_REPLY_LINES_MAX);
    n = 0;
    for (int i = 0; i < MAILOUT_REPLY_LINES_MAX; i++)
        n += (size_t)sprintf(in + n, "250-ab\r\n");
    n += (size_t)sprintf(in + n, "250 ab\r\n");
    assert_status(MAILOUT_E_REPLY_TOO_LONG, parse(&p, in, n, 0, 0, 0, NULL, &used));
    assert_int_equal(used, (size_t)MAILOUT_REPLY_LINES_MAX * 8);
}

static void test_total_cap(void **state)
{
    (void)state;
    /* lines of 1000 bytes: under the line and line-count caps, over the total */
    size_t lines = MAILOUT_REPLY_TOTAL_MAX / 1000 + 2;
    char *in = malloc(lines * 1000 + 1);
    assert_non_null(in);
    for (size_t i = 0; i < lines; i++) {
        char *l = in + i * 1000;
        memset(l, 'y', 1000);
        memcpy(l, i + 1 == lines ? "250 " : "250-", 4);
        memcpy(l + 998, "\r\n", 2);
    }
    mailout_reply_parser p;
    size_t used;
    assert_status(MAILOUT_E_REPLY_TOO_LONG, parse(&p, in, lines * 1000, 0, 0, 0, NULL, &used));
    assert_int_equal(used, MAILOUT_REPLY_TOTAL_MAX);
    free(in);
}

static void test_text_controls(void **state)
{
    (void)state;
    mailout_reply_parser p;
    size_t used;
    const char in[] = "550 bad\x1b[31m\x7f\x80 \x01x\r\n";
    assert_status(MAILOUT_DONE, parse(&p, in, sizeof in - 1, 0, 0, 0, NULL, &used));
    assert_string_equal(p.reply->text, "bad?[31m?? ?x");
}

static void test_enhanced(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int esc;
        unsigned cls, subj, det;
    } v[] = {
        {"550 5.1.1 no such user\r\n", 1, 5, 1, 1},
        {"250 2.0.0\r\n", 1, 2, 0, 0},
        {"451 4.123.999 later\r\n", 1, 4, 123, 999},
        {"550 5.1.1 no such user\r\n", 0, 0, 0, 0},   /* not advertised */
        {"550 4.1.1 class differs\r\n", 1, 0, 0, 0},  /* class must match */
        {"550 5.1234.1 too long\r\n", 1, 0, 0, 0},
        {"550 5.1.1234 too long\r\n", 1, 0, 0, 0},
        {"550 5..1 empty\r\n", 1, 0, 0, 0},
        {"550 5.1.1x\r\n", 1, 0, 0, 0},
        {"550 3.1.1 bad class\r\n", 1, 0, 0, 0},
        {"550 5.1\r\n", 1, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mailout_reply_parser p;
        size_t used;
        assert_status(MAILOUT_DONE, parse(&p, v[i].in, strlen(v[i].in), 1, 0, v[i].esc, NULL, &used));
        assert_int_equal(p.reply->enh_class, v[i].cls);
        assert_int_equal(p.reply->enh_subject, v[i].subj);
        assert_int_equal(p.reply->enh_detail, v[i].det);
    }
}

static mailout_caps ehlo(const char *in, size_t piece)
{
    mailout_reply_parser p;
    mailout_ehlo e;
    size_t used;
    assert_status(MAILOUT_DONE, parse(&p, in, strlen(in), piece, 0, 0, &e, &used));
    return e.acc;
}

static void test_ehlo_keywords(void **state)
{
    (void)state;
    const char *in = "250-mail.example.com hello STARTTLS PIPELINING\r\n"
                     "250-starttls\r\n"
                     "250-Pipelining\r\n"
                     "250-8BITMIME\r\n"
                     "250-SMTPUTF8\r\n"
                     "250-CHUNKING\r\n"
                     "250-SIZE 35882577\r\n"
                     "250-DSN\r\n"
                     "250-ENHANCEDSTATUSCODES\r\n"
                     "250 Auth plain LOGIN cram-md5 X-UNKNOWN\r\n";
    for (size_t piece = 0; piece < 4; piece++) {
        mailout_caps c = ehlo(in, piece);
        assert_int_equal(c.caps, MAILOUT_CAP_STARTTLS | MAILOUT_CAP_PIPELINING | MAILOUT_CAP_8BITMIME |
                                     MAILOUT_CAP_SMTPUTF8 | MAILOUT_CAP_CHUNKING | MAILOUT_CAP_SIZE |
                                     MAILOUT_CAP_DSN | MAILOUT_CAP_ENHANCEDSTATUSCODES | MAILOUT_CAP_AUTH);
        assert_int_equal(c.size_limit, 35882577);
        assert_int_equal(c.auth, MAILOUT_AUTH_PLAIN | MAILOUT_AUTH_LOGIN | MAILOUT_AUTH_CRAM_MD5);
    }
}

static void test_ehlo_whole_words(void **state)
{
    (void)state;
    /* the first line is the greeting, never keywords */
    mailout_caps c = ehlo("250-STARTTLS\r\n250-STARTTLSX\r\n250-AUTHX PLAIN\r\n250-XSTARTTLS\r\n"
                          "250-PIPELININGS\r\n250 SIZEX 10\r\n", 0);
    assert_int_equal(c.caps, 0);
    assert_int_equal(c.auth, 0);
    c = ehlo("250 STARTTLS\r\n", 0);
    assert_int_equal(c.caps, 0);
}

static void test_ehlo_auth_forms(void **state)
{
    (void)state;
    mailout_caps c = ehlo("250-x\r\n250-AUTH=LOGIN\r\n250 AUTH PLAIN\r\n", 1);
    assert_int_equal(c.caps, MAILOUT_CAP_AUTH);
    assert_int_equal(c.auth, MAILOUT_AUTH_LOGIN | MAILOUT_AUTH_PLAIN);
    c = ehlo("250-x\r\n250 AUTH  XOAUTH2   SCRAM-SHA-256 PLAINX\r\n", 0);
    assert_int_equal(c.auth, MAILOUT_AUTH_XOAUTH2 | MAILOUT_AUTH_SCRAM_SHA256);
    /* a 20 KB AUTH line in pieces: bounded, mechanisms still found */
    static char big[21000];
    size_t n = (size_t)sprintf(big, "250-x\r\n250-AUTH");
    for (int i = 0; i < 900 && n < 1000 - 20; i++)
        n += (size_t)sprintf(big + n, " M%d", i);
    n += (size_t)sprintf(big + n, " LOGIN\r\n250 OK\r\n");
    c = ehlo(big, 7);
    assert_int_equal(c.auth, MAILOUT_AUTH_LOGIN);
}

static void test_ehlo_size(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t v;
    } v[] = {
        {"250-x\r\n250 SIZE\r\n", 0},
        {"250-x\r\n250 SIZE 0\r\n", 0},
        {"250-x\r\n250 SIZE 10abc\r\n", 0},
        {"250-x\r\n250 SIZE -5\r\n", 0},
        {"250-x\r\n250 SIZE 18446744073709551615\r\n", UINT64_MAX},
        {"250-x\r\n250 SIZE 18446744073709551616\r\n", UINT64_MAX},
        {"250-x\r\n250 SIZE 99999999999999999999999999999999999\r\n", UINT64_MAX},
        {"250-x\r\n250 SIZE 999999999999999999999999999999999x\r\n", 0},
        {"250-x\r\n250 size 1000 2000\r\n", 1000},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mailout_caps c = ehlo(v[i].in, 0);
        assert_int_equal(c.caps, MAILOUT_CAP_SIZE);
        assert_true(c.size_limit == v[i].v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_line),
        cmocka_unit_test(test_minimal_replies),
        cmocka_unit_test(test_multi_line),
        cmocka_unit_test(test_incomplete),
        cmocka_unit_test(test_mismatched_codes),
        cmocka_unit_test(test_bad_codes),
        cmocka_unit_test(test_line_limit_exact),
        cmocka_unit_test(test_too_many_lines),
        cmocka_unit_test(test_total_cap),
        cmocka_unit_test(test_text_controls),
        cmocka_unit_test(test_enhanced),
        cmocka_unit_test(test_ehlo_keywords),
        cmocka_unit_test(test_ehlo_whole_words),
        cmocka_unit_test(test_ehlo_auth_forms),
        cmocka_unit_test(test_ehlo_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
