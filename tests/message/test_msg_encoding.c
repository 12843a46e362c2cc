/* Automatic transfer encodings that depend on the source or the media type:
 * producers with a rewind are scanned by read_start like buffers and files
 * (and keep the choice), and message/... parts are only ever 7bit or 8bit
 * (RFC 2046 §5.2.1, RFC 6532), failing at read time when that cannot be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgtest.h"

#define OUTCAP (1u << 16)

static unsigned char out_a[OUTCAP], out_b[OUTCAP];

#define HDR_SINGLE                                                                                                     \
    "Date: Sun, 22 Nov 2026 14:55:40 +0000\r\n"                                                                        \
    "From: a@example.com\r\n"                                                                                          \
    "To: b@example.com\r\n"                                                                                            \
    "Message-ID: <1@example.com>\r\n"                                                                                  \
    "MIME-Version: 1.0\r\n"

/* ---- producers: msgtest_src (msgtest.h) in chunks of 3 bytes, AGAIN on chosen calls, can fail ----- */

/* A single-part message whose body comes from @p s (rewind if @p rw). */
static mailout_msg *single(testutil_env *te, mailout_env *env, const char *type, msgtest_src *s, int rw, uint64_t size)
{
    mailout_msg *m = msgtest_basic(te, env);
    mailout_part *p;
    assert_status(MAILOUT_OK, mailout_msg_set_message_id(m, "<1@example.com>"));
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    if (type)
        assert_status(MAILOUT_OK, mailout_part_set_type(p, type));
    assert_status(MAILOUT_OK, mailout_part_set_producer(p, msgtest_produce, rw ? msgtest_rewind : NULL, s, size));
    return m;
}

/* The message read through every window size 1..64 must be @p expect, and
 * a second read_start must give it again. */
static void expect_every_window(mailout_msg *m, unsigned flags, const char *expect)
{
    size_t n = strlen(expect);
    for (size_t w = 1; w <= 64; w++) {
        size_t len = 0;
        assert_status(MAILOUT_DONE, msgtest_read_flags(m, flags, w, out_a, OUTCAP, &len));
        assert_bytes_equal(expect, n, out_a, len);
    }
}

/* ---- producers with rewind are scanned ------------------------------------------------------------- */

static void test_producer_7bit(void **state)
{
    (void)state;
    static const char body[] = "Hello\n.hidden\r\nend";
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    msgtest_src_init(&s, body, sizeof body - 1, 3);
    mailout_msg *m = single(&te, &env, NULL, &s, 1, sizeof body - 1);
    expect_every_window(m, 0,
                        HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Transfer-Encoding: 7bit\r\n"
                                   "\r\n"
                                   "Hello\r\n.hidden\r\nend\r\n");
    expect_every_window(m, MAILOUT_READ_SMTP,
                        HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Transfer-Encoding: 7bit\r\n"
                                   "\r\n"
                                   "Hello\r\n..hidden\r\nend\r\n.\r\n");
    /* scanned once (by the first read_start), rewound before every read */
    assert_int_equal(s.rewinds, 128);
    uint64_t size = 0;
    assert_status(MAILOUT_E_SIZE_UNKNOWN, mailout_msg_size(m, 0, &size));
    mailout_msg_free(m);
}

static void test_producer_8bit(void **state)
{
    (void)state;
    static const char body[] = "caf\xc3\xa9\n";
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    msgtest_src_init(&s, body, sizeof body - 1, 3);
    mailout_msg *m = single(&te, &env, NULL, &s, 1, MAILOUT_SIZE_UNKNOWN);
    expect_every_window(m, MAILOUT_READ_8BIT,
                        HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Transfer-Encoding: 8bit\r\n"
                                   "\r\n"
                                   "caf\xc3\xa9\r\n");
    assert_true(mailout_msg_is_8bit(m));
    /* without 8BITMIME the same scan result gives QP */
    expect_every_window(m, 0,
                        HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Transfer-Encoding: quoted-printable\r\n"
                                   "\r\n"
                                   "caf=C3=A9\r\n");
    assert_false(mailout_msg_is_8bit(m));
    mailout_msg_free(m);
}

/* Controls send scanned text to base64; with a declared size the sizing
 * pass counts it exactly without calling the producer again. */
static void test_producer_binary_sized(void **state)
{
    (void)state;
    static const char body[] = "a\x01z";
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    msgtest_src_init(&s, body, 3, 3);
    mailout_msg *m = single(&te, &env, NULL, &s, 1, 3);
    const char *expect = HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                    "Content-Transfer-Encoding: base64\r\n"
                                    "\r\n"
                                    "YQF6\r\n";
    uint64_t size = 0;
    assert_status(MAILOUT_OK, mailout_msg_size(m, 0, &size));
    unsigned calls = s.calls;
    assert_int_equal(size, strlen(expect));
    assert_status(MAILOUT_OK, mailout_msg_size(m, 0, &size));
    assert_int_equal(s.calls, calls); /* not scanned again */
    assert_int_equal(size, strlen(expect));
    expect_every_window(m, 0, expect);
    mailout_msg_free(m);
}

/* AGAIN during the scan: read_start cannot wait, so the part goes QP, and
 * stays QP on every later read (same bytes each time). */
static void test_producer_again_during_scan(void **state)
{
    (void)state;
    static const char body[] = "plain text\n";
    const char *qp = HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Transfer-Encoding: quoted-printable\r\n"
                                "\r\n"
                                "plain text\r\n";
    for (unsigned first = 0; first < 4; first++) { /* AGAIN on the first call, or later */
        testutil_env te;
        mailout_env env;
        msgtest_src s;
        msgtest_src_init(&s, body, sizeof body - 1, 3);
        s.again_mask = 1u << first;
        mailout_msg *m = single(&te, &env, NULL, &s, 1, sizeof body - 1);
        size_t len = 0;
        assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 0, out_a, OUTCAP, &len));
        assert_bytes_equal(qp, strlen(qp), out_a, len);
        assert_int_equal(s.calls, first + 1 + 4); /* scan stopped at the AGAIN; 4 calls to read 11 bytes */
        expect_every_window(m, 0, qp);
        mailout_msg_free(m);
    }
}

/* Without rewind nothing can be scanned: QP, read once. */
static void test_producer_no_rewind(void **state)
{
    (void)state;
    static const char body[] = "plain text\n";
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    msgtest_src_init(&s, body, sizeof body - 1, 3);
    mailout_msg *m = single(&te, &env, NULL, &s, 0, MAILOUT_SIZE_UNKNOWN);
    const char *qp = HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Transfer-Encoding: quoted-printable\r\n"
                                "\r\n"
                                "plain text\r\n";
    size_t len = 0;
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, 0));
    assert_int_equal(s.calls, 0);
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 5, out_a, OUTCAP, &len));
    assert_bytes_equal(qp, strlen(qp), out_a, len);
    mailout_msg_free(m);
}

/* A producer that fails or lies about its size during the scan fails
 * read_start with MAILOUT_E_SOURCE. */
static void test_producer_scan_errors(void **state)
{
    (void)state;
    static const char body[] = "0123456789";
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    msgtest_src_init(&s, body, 10, 3);
    s.fail = 1;
    mailout_msg *m = single(&te, &env, NULL, &s, 1, 10);
    assert_status(MAILOUT_E_SOURCE, mailout_msg_read_start(m, 0));
    s.fail = 0; /* recovered: the next read_start scans again */
    expect_every_window(m, 0,
                        HDR_SINGLE "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Transfer-Encoding: 7bit\r\n"
                                   "\r\n"
                                   "0123456789\r\n");
    mailout_msg_free(m);

    /* declared 9, 11 and 10 (but produces 11): the scan sees the lie */
    const uint64_t declared[] = {9, 11, 10};
    for (size_t i = 0; i < 3; i++) {
        msgtest_src_init(&s, body, 10, 3);
        s.extra = i == 2;
        m = single(&te, &env, NULL, &s, 1, declared[i]);
        assert_status(MAILOUT_E_SOURCE, mailout_msg_read_start(m, 0));
        mailout_msg_free(m);
    }
}

/* ---- message/... ------------------------------------------------------------------------------------- */

/* A message whose body is one part of @p type from a buffer; returns the
 * status of reading it with @p flags (the same through every window size
 * 1..64) and leaves the bytes in out_a. */
static mailout_status read_message_part(const char *type, const void *data, size_t len, unsigned flags,
                                        size_t *olen)
{
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *p;
    assert_status(MAILOUT_OK, mailout_msg_set_message_id(m, "<1@example.com>"));
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    assert_status(MAILOUT_OK, mailout_part_set_type(p, type));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, data, len));
    mailout_status st = MAILOUT_OK;
    for (size_t w = 1; w <= 64; w++) {
        size_t got = 0;
        mailout_status s2 = msgtest_read_flags(m, flags, w, out_b, OUTCAP, &got);
        if (w == 1) {
            st = s2;
            *olen = got;
            memcpy(out_a, out_b, got);
        }
        assert_status(st, s2);
        if (st == MAILOUT_DONE)
            assert_bytes_equal(out_a, *olen, out_b, got);
    }
    mailout_msg_free(m);
    return st;
}

static void test_message_rfc822(void **state)
{
    (void)state;
    static const char inner[] = "From: c@example.com\nSubject: x\n\nbody\n";
    static const char inner8[] = "From: c@example.com\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n";
    size_t len;
    assert_status(MAILOUT_DONE, read_message_part("message/rfc822", inner, sizeof inner - 1, 0, &len));
    const char *expect7 = HDR_SINGLE "Content-Type: message/rfc822\r\n"
                                     "Content-Transfer-Encoding: 7bit\r\n"
                                     "\r\n"
                                     "From: c@example.com\r\nSubject: x\r\n\r\nbody\r\n";
    assert_bytes_equal(expect7, strlen(expect7), out_a, len);
    /* 7-bit content stays 7bit with 8BITMIME too */
    assert_status(MAILOUT_DONE,
                  read_message_part("message/rfc822", inner, sizeof inner - 1, MAILOUT_READ_8BIT, &len));
    assert_bytes_equal(expect7, strlen(expect7), out_a, len);

    assert_status(MAILOUT_DONE,
                  read_message_part("message/global", inner8, sizeof inner8 - 1, MAILOUT_READ_8BIT, &len));
    const char *expect8 = HDR_SINGLE "Content-Type: message/global\r\n"
                                     "Content-Transfer-Encoding: 8bit\r\n"
                                     "\r\n"
                                     "From: c@example.com\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n";
    assert_bytes_equal(expect8, strlen(expect8), out_a, len);

    /* never QP or base64: refused at read time instead */
    assert_status(MAILOUT_E_8BIT, read_message_part("message/global", inner8, sizeof inner8 - 1, 0, &len));
    assert_status(MAILOUT_E_8BIT, read_message_part("Message/RFC822", inner8, sizeof inner8 - 1,
                                                    MAILOUT_READ_SMTP, &len));
    static char line[1200];
    memset(line, 'a', sizeof line);
    assert_status(MAILOUT_E_LINE_TOO_LONG, read_message_part("message/rfc822", line, 999, MAILOUT_READ_8BIT, &len));
    assert_status(MAILOUT_DONE, read_message_part("message/rfc822", line, 998, 0, &len));
    assert_status(MAILOUT_E_INVAL, read_message_part("message/rfc822", "a\0b\r\n", 5, MAILOUT_READ_8BIT, &len));
    /* other controls are allowed in 7bit (RFC 2045 §2.7), unlike for text */
    assert_status(MAILOUT_DONE, read_message_part("message/rfc822", "a\x01z\r\n", 5, 0, &len));
    assert_true(len > 0 && memcmp(out_a + len - 5, "a\x01z\r\n", 5) == 0);
    /* partial and external-body are 7bit only, whatever the server takes */
    assert_status(MAILOUT_E_8BIT,
                  read_message_part("message/partial", inner8, sizeof inner8 - 1, MAILOUT_READ_8BIT, &len));
    assert_status(MAILOUT_E_8BIT,
                  read_message_part("message/external-body", inner8, sizeof inner8 - 1, MAILOUT_READ_8BIT, &len));
    assert_status(MAILOUT_DONE,
                  read_message_part("message/partial", inner, sizeof inner - 1, MAILOUT_READ_8BIT, &len));
}

static void test_message_forced(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *root, *p, *q;
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
    assert_status(MAILOUT_OK, mailout_part_new(m, root, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, "x\r\n", 3));
    assert_status(MAILOUT_OK, mailout_part_set_type(p, "message/rfc822"));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_encoding(p, MAILOUT_ENC_QP));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_encoding(p, MAILOUT_ENC_BASE64));
    assert_status(MAILOUT_OK, mailout_part_set_encoding(p, MAILOUT_ENC_8BIT));
    assert_status(MAILOUT_OK, mailout_part_set_encoding(p, MAILOUT_ENC_7BIT));
    /* the type set after a forced base64: refused when reading starts */
    assert_status(MAILOUT_OK, mailout_part_new(m, root, &q));
    assert_status(MAILOUT_OK, mailout_part_set_data(q, "y\r\n", 3));
    assert_status(MAILOUT_OK, mailout_part_set_encoding(q, MAILOUT_ENC_BASE64));
    assert_status(MAILOUT_OK, mailout_part_set_type(q, "message/global"));
    assert_status(MAILOUT_E_INVAL, mailout_msg_read_start(m, 0));
    uint64_t size;
    assert_status(MAILOUT_E_INVAL, mailout_msg_size(m, 0, &size));
    /* still settable: read_start did not freeze the message */
    assert_status(MAILOUT_OK, mailout_part_set_encoding(q, MAILOUT_ENC_AUTO));
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, 0));
    mailout_msg_free(m);
}

/* message/... from a producer without rewind: not scanned, 8bit where the
 * server takes it, else 7bit, checked as it is sent. */
static void test_message_producer(void **state)
{
    (void)state;
    static const char inner8[] = "Subject: caf\xc3\xa9\r\n\r\nb\r\n";
    const unsigned flags[] = {MAILOUT_READ_8BIT, 0};
    const char *ctes[] = {"Content-Transfer-Encoding: 8bit\r\n", "Content-Transfer-Encoding: 7bit\r\n"};
    const mailout_status want[] = {MAILOUT_DONE, MAILOUT_E_8BIT};
    for (int i = 0; i < 2; i++) {
        testutil_env te;
        mailout_env env;
        msgtest_src s;
        msgtest_src_init(&s, inner8, sizeof inner8 - 1, 3);
        mailout_msg *m = single(&te, &env, "message/global", &s, 0, MAILOUT_SIZE_UNKNOWN);
        size_t len = 0;
        assert_status(want[i], msgtest_read_flags(m, flags[i], 7, out_a, OUTCAP, &len));
        char expect[256];
        snprintf(expect, sizeof expect, HDR_SINGLE "Content-Type: message/global\r\n%s\r\n%s", ctes[i],
                 i == 0 ? inner8 : "");
        assert_true(len >= strlen(expect));
        assert_memory_equal(expect, out_a, strlen(expect));
        if (i == 0)
            assert_int_equal(len, strlen(expect));
        mailout_msg_free(m);
    }
    /* a clean one with rewind is scanned: 7bit even with 8BITMIME */
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    msgtest_src_init(&s, "Subject: x\r\n\r\nb\r\n", 17, 3);
    mailout_msg *m = single(&te, &env, "message/rfc822", &s, 1, 17);
    expect_every_window(m, MAILOUT_READ_8BIT,
                        HDR_SINGLE "Content-Type: message/rfc822\r\n"
                                   "Content-Transfer-Encoding: 7bit\r\n"
                                   "\r\n"
                                   "Subject: x\r\n\r\nb\r\n");
    mailout_msg_free(m);
}

/* Inside a multipart, message/rfc822 goes 7bit between the delimiters. A
 * line that only looks like one of our boundaries is fine (it cannot be
 * escaped, and need not be); one that starts with the delimiter actually
 * drawn (seed 1: "=_sqlg...") makes read_start draw another boundary
 * (test_msg_forward.c has the exact bytes). */
static void test_message_in_multipart(void **state)
{
    (void)state;
    static const char *const inners[] = {"Subject: x\n\nb\n", "Subject: x\r\n\r\n--=_abc\r\n",
                                         "Subject: x\r\n\r\n--=_sqlgdjbrp29a1mbc8ld5av30--\r\n"};
    static const char *const sent[] = {"Subject: x\r\n\r\nb\r\n", "Subject: x\r\n\r\n--=_abc\r\n",
                                       "Subject: x\r\n\r\n--=_sqlgdjbrp29a1mbc8ld5av30--\r\n"};
    for (size_t i = 0; i < 3; i++) {
        testutil_env te;
        mailout_env env;
        mailout_msg *m = msgtest_basic(&te, &env);
        mailout_part *root, *p;
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
        assert_status(MAILOUT_OK, mailout_part_new(m, root, &p));
        assert_status(MAILOUT_OK, mailout_part_set_type(p, "message/rfc822"));
        assert_status(MAILOUT_OK, mailout_part_set_data(p, inners[i], strlen(inners[i])));
        const char *delim = i < 2 ? "\r\n--=_sqlgdjbrp29a1mbc8ld5av30--\r\n" : "\r\n--=_2dp2khqut8i693sprsi423q8--\r\n";
        char part[256];
        snprintf(part, sizeof part,
                 "Content-Type: message/rfc822\r\n"
                 "Content-Transfer-Encoding: 7bit\r\n"
                 "\r\n"
                 "%s%s",
                 sent[i], delim);
        for (size_t w = 1; w <= 64; w++) {
            size_t len = 0;
            assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_8BIT, w, out_a, OUTCAP, &len));
            size_t n = strlen(part);
            assert_true(len >= n);
            assert_memory_equal(out_a + len - n, part, n);
        }
        mailout_msg_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_producer_7bit),
        cmocka_unit_test(test_producer_8bit),
        cmocka_unit_test(test_producer_binary_sized),
        cmocka_unit_test(test_producer_again_during_scan),
        cmocka_unit_test(test_producer_no_rewind),
        cmocka_unit_test(test_producer_scan_errors),
        cmocka_unit_test(test_message_rfc822),
        cmocka_unit_test(test_message_forced),
        cmocka_unit_test(test_message_producer),
        cmocka_unit_test(test_message_in_multipart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
