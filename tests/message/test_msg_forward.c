/* message/... parts inside multiparts: their content goes as it is (never
 * QP or base64), so only a line that starts with the delimiter of an
 * enclosing multipart is a problem (RFC 2046 §5.1.1). Read_start draws the
 * boundaries around such content again; content that cannot be scanned
 * fails while it is sent. A message made by mailout can be forwarded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgtest.h"

#define OUTCAP (1u << 16)

static unsigned char out_a[OUTCAP], out_b[OUTCAP], inner_buf[OUTCAP];

static const unsigned char *find(const unsigned char *p, size_t len, const void *s, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0)
            return p + i;
    return NULL;
}

/* The test env's random strings for seed 1, in the order they are drawn
 * (computed outside the library from the xorshift sequence and the 5-bit
 * alphabet, like GEN_ID / GEN_B1 / GEN_B2 of test_msg_reader.c). */
#define RND1 "8066slcgsnlh96hih8rpc2ak"
#define RND2 "sqlgdjbrp29a1mbc8ld5av30"
#define RND3 "2dp2khqut8i693sprsi423q8"
#define RND4 "vsek36jb0fhrs3fdem5jvl8c"
#define RND5 "37cq528rlol7ltv3db2rhv7s"

#define HDR_COMMON                                                                                                     \
    "Date: Sun, 22 Nov 2026 14:55:40 +0000\r\n"                                                                        \
    "From: a@example.com\r\n"                                                                                          \
    "To: b@example.com\r\n"

/* The content of a message/rfc822 part, from a buffer or a producer
 * (msgtest_src in chunks of 5 bytes). */
enum { FROM_DATA, FROM_REWIND, FROM_ONCE, N_SOURCES };

static void set_source(mailout_part *p, int how, msgtest_src *s, const void *data, size_t len)
{
    if (how == FROM_DATA) {
        assert_status(MAILOUT_OK, mailout_part_set_data(p, data, len));
        return;
    }
    msgtest_src_init(s, data, len, 5);
    assert_status(MAILOUT_OK,
                  mailout_part_set_producer(p, msgtest_produce, how == FROM_REWIND ? msgtest_rewind : NULL, s, len));
}

/* Read through every window size 1..64 (the first read gives the
 * reference: the others must be identical) and return the status. A
 * failure must be the same for every window and never end the message. */
static mailout_status read_windows(mailout_msg *m, unsigned flags, size_t *len)
{
    mailout_status st = msgtest_read_flags(m, flags, 1, out_a, OUTCAP, len);
    if (st < 0) {
        assert_null(find(out_a, *len, "\r\n.\r\n", 5));
        return st;
    }
    for (size_t w = 2; w <= 64; w++) {
        size_t got = 0;
        assert_status(st, msgtest_read_flags(m, flags, w, out_b, OUTCAP, &got));
        assert_bytes_equal(out_a, *len, out_b, got);
    }
    return st;
}

/* ---- forwarding a message made by mailout ----------------------------------------------------------- */

/* The message to forward: multipart/mixed, text and an attachment, made
 * with seed 1 (Message-ID RND1, boundary RND2). */
static const char inner_expect[] =
    HDR_COMMON "Subject: report\r\n"
               "Message-ID: <" RND1 "@example.com>\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=\"=_" RND2 "\"\r\n"
               "\r\n"
               "--=_" RND2 "\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 7bit\r\n"
               "\r\n"
               "See the log.\r\n"
               "\r\n--=_" RND2 "\r\n"
               "Content-Type: application/octet-stream\r\n"
               "Content-Transfer-Encoding: base64\r\n"
               "Content-Disposition: attachment; filename=\"log.bin\"\r\n"
               "\r\n"
               "AAECAw=="
               "\r\n--=_" RND2 "--\r\n";

static size_t make_inner(void)
{
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *mixed, *p;
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "report"));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &mixed));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, "See the log.\n", 13));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_type(p, "application/octet-stream"));
    assert_status(MAILOUT_OK, mailout_part_set_filename(p, "log.bin"));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, "\x00\x01\x02\x03", 4));
    size_t len = 0;
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 0, inner_buf, OUTCAP, &len));
    assert_bytes_equal(inner_expect, sizeof inner_expect - 1, inner_buf, len);
    mailout_msg_free(m);
    return len;
}

/* The forwarding message: multipart/mixed with a note and the message. */
static mailout_msg *forward(testutil_env *te, mailout_env *env, int how, msgtest_src *s, const void *inner, size_t len)
{
    mailout_msg *m = msgtest_basic(te, env);
    mailout_part *mixed, *p;
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "Fwd: report"));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &mixed));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, "Forwarded:\n", 11));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_type(p, "message/rfc822"));
    set_source(p, how, s, inner, len);
    return m;
}

static void forward_expect(char *out, size_t cap, const char *id, const char *b, const char *inner)
{
    snprintf(out, cap,
             HDR_COMMON "Subject: Fwd: report\r\n"
                        "Message-ID: <%s@example.com>\r\n"
                        "MIME-Version: 1.0\r\n"
                        "Content-Type: multipart/mixed; boundary=\"=_%s\"\r\n"
                        "\r\n"
                        "--=_%s\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 7bit\r\n"
                        "\r\n"
                        "Forwarded:\r\n"
                        "\r\n--=_%s\r\n"
                        "Content-Type: message/rfc822\r\n"
                        "Content-Transfer-Encoding: 7bit\r\n"
                        "\r\n"
                        "%s"
                        "\r\n--=_%s--\r\n",
             id, b, b, b, inner, b);
}

/* Made with the same seed, the forwarding message first draws the inner
 * one's boundary: it is drawn again (RND3), once, and kept. */
static void test_forward_own_message(void **state)
{
    (void)state;
    size_t ilen = make_inner();
    static char expect[8192];
    forward_expect(expect, sizeof expect, RND1, RND3, inner_expect);
    for (int how = FROM_DATA; how <= FROM_REWIND; how++) {
        testutil_env te;
        mailout_env env;
        msgtest_src s;
        mailout_msg *m = forward(&te, &env, how, &s, inner_buf, ilen);
        uint64_t size = 0;
        assert_status(how == FROM_DATA ? MAILOUT_OK : MAILOUT_E_SIZE_UNKNOWN, mailout_msg_size(m, 0, &size));
        assert_int_equal(te.random_calls, 3); /* Message-ID, boundary, the boundary again */
        size_t len = 0;
        assert_status(MAILOUT_DONE, read_windows(m, 0, &len));
        assert_bytes_equal(expect, strlen(expect), out_a, len);
        if (how == FROM_DATA)
            assert_int_equal(size, len);
        assert_status(MAILOUT_DONE, read_windows(m, MAILOUT_READ_SMTP | MAILOUT_READ_8BIT, &len));
        assert_int_equal(len, strlen(expect) + 3);
        assert_memory_equal(out_a + strlen(expect), ".\r\n", 3);
        assert_int_equal(te.random_calls, 3); /* kept for every read */
        mailout_msg_free(m);
    }
}

/* A producer without rewind cannot be scanned: the first boundary stays,
 * and the inner message's delimiter lines are refused as they are sent
 * (after the bytes before them; never the end of the message). */
static void test_forward_unscanned(void **state)
{
    (void)state;
    size_t ilen = make_inner();
    for (unsigned flags = 0; flags <= MAILOUT_READ_SMTP; flags += MAILOUT_READ_SMTP) {
        testutil_env te;
        mailout_env env;
        msgtest_src s;
        mailout_msg *m = forward(&te, &env, FROM_ONCE, &s, inner_buf, ilen);
        size_t len = 0;
        assert_status(MAILOUT_OK, mailout_msg_read_start(m, flags));
        assert_status(MAILOUT_E_INVAL, msgtest_read(m, NULL, 0, out_a, OUTCAP, &len));
        /* the part's first delimiter line of the inner message was reached */
        const char *before = "\r\n\r\n--=_" RND2;
        assert_non_null(find(out_a, len, before, strlen(before)));
        assert_null(find(out_a, len, "\r\n.\r\n", 5));
        assert_status(MAILOUT_E_INVAL, mailout_msg_read(m, out_a, 1, &len));
        mailout_msg_free(m);
    }
    /* with other boundaries (another seed) it goes through */
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    mailout_msg *m = forward(&te, &env, FROM_ONCE, &s, inner_buf, ilen);
    te.rng = 77;
    size_t len = 0;
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 7, out_a, OUTCAP, &len));
    assert_non_null(find(out_a, len, inner_buf, ilen));
    const unsigned char *b = find(out_a, len, "boundary=\"", 10); /* the first is the outer one */
    assert_non_null(b);
    assert_memory_not_equal(b + 10, "=_" RND2, 26);
    mailout_msg_free(m);
}

/* ---- which lines collide -------------------------------------------------------------------------- */

/* A message/rfc822 part in a multipart/mixed (first boundary RND2), whose
 * content has the line @p line: the boundary the message gets. */
static void expect_boundary(const char *line, const char *boundary)
{
    char inner[256], expect[2048];
    snprintf(inner, sizeof inner, "Subject: x\r\n\r\n%s\r\nend\r\n", line);
    for (int how = FROM_DATA; how <= FROM_REWIND; how++) {
        testutil_env te;
        mailout_env env;
        msgtest_src s;
        mailout_msg *m = forward(&te, &env, how, &s, inner, strlen(inner));
        forward_expect(expect, sizeof expect, RND1, boundary, inner);
        size_t len = 0;
        assert_status(MAILOUT_DONE, read_windows(m, MAILOUT_READ_8BIT, &len));
        assert_bytes_equal(expect, strlen(expect), out_a, len);
        mailout_msg_free(m);
    }
}

static void test_delimiter_lines(void **state)
{
    (void)state;
    /* a delimiter, a close delimiter, with white space, with anything after */
    expect_boundary("--=_" RND2, RND3);
    expect_boundary("--=_" RND2 "--", RND3);
    expect_boundary("--=_" RND2 " \t", RND3);
    expect_boundary("--=_" RND2 "x", RND3);
    /* not one: ours in form only, one character short, not at the start */
    expect_boundary("--=_abc", RND2);
    expect_boundary("--=_" RND3, RND2);
    expect_boundary("--=_sqlgdjbrp29a1mbc8ld5av3", RND2);
    expect_boundary(" --=_" RND2, RND2);
    expect_boundary("-=_" RND2, RND2);
}

/* A forced 7bit/8bit is scanned for delimiters just the same. */
static void test_delimiter_forced(void **state)
{
    (void)state;
    static const char content[] = "--=_" RND2 "--\r\n";
    for (int eight = 0; eight < 2; eight++) {
        testutil_env te;
        mailout_env env;
        mailout_msg *m = msgtest_basic(&te, &env);
        mailout_part *mixed, *p;
        char expect[2048];
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &mixed));
        assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
        assert_status(MAILOUT_OK, mailout_part_set_type(p, "message/rfc822"));
        assert_status(MAILOUT_OK, mailout_part_set_encoding(p, eight ? MAILOUT_ENC_8BIT : MAILOUT_ENC_7BIT));
        assert_status(MAILOUT_OK, mailout_part_set_data(p, content, strlen(content)));
        snprintf(expect, sizeof expect,
                 HDR_COMMON "Message-ID: <" RND1 "@example.com>\r\n"
                            "MIME-Version: 1.0\r\n"
                            "Content-Type: multipart/mixed; boundary=\"=_" RND3 "\"\r\n"
                            "\r\n"
                            "--=_" RND3 "\r\n"
                            "Content-Type: message/rfc822\r\n"
                            "Content-Transfer-Encoding: %s\r\n"
                            "\r\n"
                            "%s"
                            "\r\n--=_" RND3 "--\r\n",
                 eight ? "8bit" : "7bit", content);
        size_t len = 0;
        assert_status(MAILOUT_DONE, read_windows(m, MAILOUT_READ_8BIT, &len));
        assert_bytes_equal(expect, strlen(expect), out_a, len);
        mailout_msg_free(m);
    }
}

/* Line breaks of any kind start a line (they are sent as CRLF). */
static void test_delimiter_after_bare_breaks(void **state)
{
    (void)state;
    static const char *const contents[] = {"a\n--=_" RND2 "\n", "a\r--=_" RND2 "\r", "--=_" RND2};
    /* (in a multipart no line break is added at the end: the delimiter's CRLF ends the content) */
    static const char *const sent[] = {"a\r\n--=_" RND2 "\r\n", "a\r\n--=_" RND2 "\r\n", "--=_" RND2};
    for (size_t i = 0; i < 3; i++) {
        testutil_env te;
        mailout_env env;
        msgtest_src s;
        char expect[2048];
        mailout_msg *m = forward(&te, &env, FROM_DATA, &s, contents[i], strlen(contents[i]));
        forward_expect(expect, sizeof expect, RND1, RND3, sent[i]);
        size_t len = 0;
        assert_status(MAILOUT_DONE, read_windows(m, 0, &len));
        assert_bytes_equal(expect, strlen(expect), out_a, len);
        mailout_msg_free(m);
    }
}

/* Only the multiparts around the part count, all of them: a line with the
 * grandparent's or the parent's delimiter redraws both (RND4, RND5); one
 * with the delimiter of a multipart beside the part changes nothing. */
#define MSG_PART_HDR                                                                                                   \
    "Content-Type: message/rfc822\r\n"                                                                                \
    "Content-Transfer-Encoding: 7bit\r\n"                                                                             \
    "\r\n"

static void nested_expect(char *out, size_t cap, const char *b1, const char *b2, const char *content, int in_alt)
{
    char msg_in_alt[256] = "", msg_in_mixed[256] = "";
    snprintf(in_alt ? msg_in_alt : msg_in_mixed, sizeof msg_in_alt, "\r\n--=_%s\r\n" MSG_PART_HDR "%s",
             in_alt ? b2 : b1, content);
    snprintf(out, cap,
             HDR_COMMON "Message-ID: <" RND1 "@example.com>\r\n"
                        "MIME-Version: 1.0\r\n"
                        "Content-Type: multipart/mixed; boundary=\"=_%s\"\r\n"
                        "\r\n"
                        "--=_%s\r\n"
                        "Content-Type: multipart/alternative; boundary=\"=_%s\"\r\n"
                        "\r\n"
                        "--=_%s\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 7bit\r\n"
                        "\r\n"
                        "t"
                        "%s"
                        "\r\n--=_%s--"
                        "%s"
                        "\r\n--=_%s--\r\n",
             b1, b1, b2, b2, msg_in_alt, b2, msg_in_mixed, b1);
}

static void test_delimiter_ancestors(void **state)
{
    (void)state;
    static const char *const contents[] = {"--=_" RND2 "\r\n", "--=_" RND3 "\r\n", "--=_" RND3 "\r\n"};
    static const int in_alt[] = {1, 1, 0};
    static const char *const bounds[][2] = {{RND4, RND5}, {RND4, RND5}, {RND2, RND3}};
    for (size_t i = 0; i < 3; i++) {
        testutil_env te;
        mailout_env env;
        mailout_msg *m = msgtest_basic(&te, &env);
        mailout_part *mixed, *alt, *p;
        static char expect[4096];
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &mixed));
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, mixed, MAILOUT_MULTIPART_ALTERNATIVE, &alt));
        assert_status(MAILOUT_OK, mailout_part_new(m, alt, &p));
        assert_status(MAILOUT_OK, mailout_part_set_data(p, "t", 1));
        assert_status(MAILOUT_OK, mailout_part_new(m, in_alt[i] ? alt : mixed, &p));
        assert_status(MAILOUT_OK, mailout_part_set_type(p, "message/rfc822"));
        assert_status(MAILOUT_OK, mailout_part_set_data(p, contents[i], strlen(contents[i])));
        nested_expect(expect, sizeof expect, bounds[i][0], bounds[i][1], contents[i], in_alt[i]);
        size_t len = 0;
        assert_status(MAILOUT_DONE, read_windows(m, 0, &len));
        assert_bytes_equal(expect, strlen(expect), out_a, len);
        mailout_msg_free(m);
    }
}

/* ---- content that changes, sources that cannot be scanned, broken randomness ------------------------ */

/* Boundaries are kept after the first read_start: a buffer that changed to
 * collide fails read_start (MAILOUT_E_SOURCE); a producer that changed
 * after its scan fails while it is sent (MAILOUT_E_INVAL, as for all
 * message/... content: no end of message). */
static void test_delimiter_after_freeze(void **state)
{
    (void)state;
    static char content[] = "Subject: x\r\n\r\n--=_" RND1 "\r\n";
    static const char later[] = "Subject: x\r\n\r\n--=_" RND2 "\r\n";
    testutil_env te;
    mailout_env env;
    msgtest_src s;
    mailout_msg *m = forward(&te, &env, FROM_DATA, &s, content, strlen(content));
    size_t len = 0;
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 0, out_a, OUTCAP, &len));
    memcpy(content, later, sizeof later);
    assert_status(MAILOUT_E_SOURCE, mailout_msg_read_start(m, 0));
    memcpy(content, "Subject: x\r\n\r\n--=_" RND1 "\r\n", sizeof later);
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 0, out_b, OUTCAP, &len));
    assert_bytes_equal(out_a, len, out_b, len);
    mailout_msg_free(m);

    m = forward(&te, &env, FROM_REWIND, &s, content, strlen(content));
    s.later = (const unsigned char *)later;
    assert_status(MAILOUT_E_INVAL, read_windows(m, MAILOUT_READ_SMTP, &len));
    mailout_msg_free(m);
}

/* A random source that gives the same bytes every time: for a buffer the
 * redraw gives up (MAILOUT_E_INTERNAL) and the message stays unfrozen; a
 * producer is scanned only once, so after the first redraw its lines are
 * checked as they are sent (MAILOUT_E_INVAL, no end of message). */
static int same_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0, len);
    return 0;
}

static void test_delimiter_rigged_random(void **state)
{
    (void)state;
    static const char content[] = "--=_000000000000000000000000\r\n";
    for (int how = FROM_DATA; how <= FROM_REWIND; how++) {
        testutil_env te;
        mailout_env env;
        msgtest_src s;
        mailout_msg *m = forward(&te, &env, how, &s, content, strlen(content));
        env.random = same_random;
        assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
        if (how == FROM_DATA) {
            assert_status(MAILOUT_E_INTERNAL, mailout_msg_read_start(m, 0));
            assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "still settable"));
            assert_status(MAILOUT_E_INTERNAL, mailout_msg_read_start(m, 0));
        } else {
            size_t len = 0;
            assert_status(MAILOUT_E_INVAL, read_windows(m, MAILOUT_READ_SMTP, &len));
            assert_int_equal(s.rewinds, 1); /* scanned once (not again after the redraw), rewound */
        }
        mailout_msg_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_own_message),
        cmocka_unit_test(test_forward_unscanned),
        cmocka_unit_test(test_delimiter_lines),
        cmocka_unit_test(test_delimiter_forced),
        cmocka_unit_test(test_delimiter_after_bare_breaks),
        cmocka_unit_test(test_delimiter_ancestors),
        cmocka_unit_test(test_delimiter_after_freeze),
        cmocka_unit_test(test_delimiter_rigged_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
