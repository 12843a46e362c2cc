/*
 * The core built with a firmware configuration (config_defaults.h feature
 * switches; see meson.build for which): every switched-off feature is
 * refused with MAILOUT_E_UNSUPPORTED, and what is left still works, byte
 * for byte. Built from the core's sources with the configuration's
 * defines, without the library, so the two builds never meet.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

#include "encode/header.h"
#include "message/msg_internal.h"

/* call first, expected status second (reads like the call) */
#define expect_st(got, exp) assert_status((exp), (got))

static mailout_msg *new_msg(void)
{
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m = NULL;
    expect_st(mailout_msg_new(&m, &a), MAILOUT_OK);
    expect_st(mailout_msg_set_from(m, "dev@example.com", "Dev 42"), MAILOUT_OK);
    expect_st(mailout_msg_add_recipient(m, MAILOUT_TO, "ops@example.org", NULL), MAILOUT_OK);
    expect_st(mailout_msg_set_date(m, 1700000000, 0), MAILOUT_OK);
    expect_st(mailout_msg_set_message_id(m, "<1@example.com>"), MAILOUT_OK);
    return m;
}

/* The whole message through windows of 1..64 bytes: always the same bytes. */
static void expect_message(mailout_msg *m, unsigned flags, const char *want)
{
    unsigned char buf[4096];
    for (size_t win = 1; win <= 64; win++) {
        size_t total = 0, n;
        mailout_status st;
        expect_st(mailout_msg_read_start(m, flags), MAILOUT_OK);
        do {
            size_t cap = win < sizeof buf - total ? win : sizeof buf - total;
            st = mailout_msg_read(m, buf + total, cap, &n);
            total += n;
        } while (st == MAILOUT_OK);
        expect_st(st, MAILOUT_DONE);
        assert_bytes_equal(want, strlen(want), buf, total);
    }
}

#define HEAD                                                                                   \
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"                                                \
    "From: \"Dev 42\" <dev@example.com>\r\n"                                                   \
    "To: ops@example.org\r\n"                                                                  \
    "Subject: Status report\r\n"                                                               \
    "Message-ID: <1@example.com>\r\n"                                                          \
    "MIME-Version: 1.0\r\n"                                                                    \
    "Content-Type: text/plain; charset=utf-8\r\n"

static void test_text_body(void **state)
{
    (void)state;
    static const char body[] = "line one\nline two\r\n.dot";
    mailout_msg *m = new_msg();
    mailout_part *p;
    expect_st(mailout_msg_set_subject(m, "Status report"), MAILOUT_OK);
    expect_st(mailout_part_new(m, NULL, &p), MAILOUT_OK);
    expect_st(mailout_part_set_data(p, body, sizeof body - 1), MAILOUT_OK);
    expect_message(m, 0, HEAD "Content-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n.dot\r\n");
    expect_message(m, MAILOUT_READ_SMTP,
                   HEAD "Content-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n..dot\r\n.\r\n");
    mailout_msg_free(m);
}

/* 8-bit text: 8bit where the server takes it, else QP or (without QP) base64. */
static int zero_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0, len);
    return 0;
}

/* Without MIME the reader's unit buffer is only MAILOUT_HDR_UNIT_MAX (34)
 * bytes: the longest pieces of a header (the Date, a generated
 * Message-ID, a display name that is all escapes) fit it. Read one byte at
 * a time, a unit is complete in the buffer while its first byte is out. */
static void expect_units(int64_t date, int offset, const char *want)
{
    static const char name[] = "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\"; /* 36 characters, 74 quoted */
    mailout_allocator a = mailout_heap_allocator();
    mailout_env env = {NULL, zero_random, NULL, NULL};
    mailout_msg *m = NULL;
    unsigned char buf[1024];
    size_t total = 0, n, most = 0;
    mailout_status st;
    expect_st(mailout_msg_new(&m, &a), MAILOUT_OK);
    expect_st(mailout_msg_set_env(m, &env), MAILOUT_OK);
    expect_st(mailout_msg_set_from(m, "dev@example.com", name), MAILOUT_OK);
    expect_st(mailout_msg_add_recipient(m, MAILOUT_TO, "ops@example.org", NULL), MAILOUT_OK);
    expect_st(mailout_msg_set_date(m, date, offset), MAILOUT_OK);
    expect_st(mailout_msg_read_start(m, 0), MAILOUT_OK);
    do {
        st = mailout_msg_read(m, buf + total, 1, &n);
        total += n;
        most = m->r.unit.len > most ? m->r.unit.len : most;
        assert_true(total < sizeof buf);
    } while (st == MAILOUT_OK);
    expect_st(st, MAILOUT_DONE);
    assert_bytes_equal(want, strlen(want), buf, total);
    assert_true(most <= MAILOUT_HDR_UNIT_MAX);
    mailout_msg_free(m);
}

#define UNITS_TAIL                                                                             \
    "From:\r\n \"\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\"  \
    "\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\\\"\\\\\"\r\n <dev@example.com>\r\n" \
    "To: ops@example.org\r\n"                                                                  \
    "Message-ID: <000000000000000000000000@example.com>\r\n"                                   \
    "MIME-Version: 1.0\r\n"                                                                    \
    "Content-Type: text/plain; charset=utf-8\r\n"                                              \
    "Content-Transfer-Encoding: 7bit\r\n\r\n"

/* Quotes and backslashes inside a display name, between plain runs. */
static void test_quoted_name(void **state)
{
    (void)state;
    mailout_msg *m = new_msg();
    expect_st(mailout_msg_set_reply_to(m, "r@example.com", "say \"hi\" \\ bye\\"), MAILOUT_OK);
    expect_message(m, 0,
                   "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                   "From: \"Dev 42\" <dev@example.com>\r\n"
                   "Reply-To: \"say \\\"hi\\\" \\\\ bye\\\\\" <r@example.com>\r\n"
                   "To: ops@example.org\r\n"
                   "Message-ID: <1@example.com>\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 7bit\r\n\r\n");
    mailout_msg_free(m);
}

static void test_unit_room(void **state)
{
    (void)state;
    /* the last second of year 9999 (a Friday), and 1900-01-01 00:00 local */
    expect_units(253402300799LL, 0, "Date: Fri, 31 Dec 9999 23:59:59 +0000\r\n" UNITS_TAIL);
    expect_units(-2208988800LL + 1439 * 60, -1439, "Date: Mon, 1 Jan 1900 00:00:00 -2359\r\n" UNITS_TAIL);
}

static void test_8bit_body(void **state)
{
    (void)state;
    static const char body[] = "gr\xc3\xbc\xc3\x9f";
    mailout_msg *m = new_msg();
    mailout_part *p;
    expect_st(mailout_msg_set_subject(m, "Status report"), MAILOUT_OK);
    expect_st(mailout_part_new(m, NULL, &p), MAILOUT_OK);
    expect_st(mailout_part_set_data(p, body, sizeof body - 1), MAILOUT_OK);
    expect_message(m, MAILOUT_READ_8BIT, HEAD "Content-Transfer-Encoding: 8bit\r\n\r\ngr\xc3\xbc\xc3\x9f\r\n");
    assert_int_equal(mailout_msg_is_8bit(m), 1);
#if MAILOUT_ENABLE_QP
    expect_message(m, 0, HEAD "Content-Transfer-Encoding: quoted-printable\r\n\r\ngr=C3=BC=C3=9F=\r\n");
#else
    expect_message(m, 0, HEAD "Content-Transfer-Encoding: base64\r\n\r\nZ3LDvMOf\r\n");
#endif
    mailout_msg_free(m);
}

static void test_refused(void **state)
{
    (void)state;
    mailout_msg *m = new_msg();
    mailout_part *p, *q;
    expect_st(mailout_part_new(m, NULL, &p), MAILOUT_OK);
#if !MAILOUT_ENABLE_MIME
    /* no part tree, no attachments, no RFC 2047/2231 encoding */
    expect_st(mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &q), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_part_new(m, p, &q), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_part_set_disposition(p, MAILOUT_ATTACHMENT), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_part_set_filename(p, "a.txt"), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_msg_set_subject(m, "Gr\xc3\xbc\xc3\x9f""e"), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_msg_set_subject(m, "looks =?encoded?="), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_msg_set_subject(m, " leading space"), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_msg_add_recipient(m, MAILOUT_CC, "a@example.org", "J\xc3\xbcrgen"), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_msg_add_header(m, "X-Note", "caf\xc3\xa9"), MAILOUT_E_UNSUPPORTED);
    assert_int_equal(mailout_msg_recipient_count(m), 1); /* nothing half-added */
    /* what needs no encoding is fine */
    expect_st(mailout_msg_add_header(m, "X-Note", "plain ascii"), MAILOUT_OK);
    expect_st(mailout_msg_add_recipient(m, MAILOUT_CC, "a@example.org", "Jurgen"), MAILOUT_OK);
    expect_st(mailout_htext_check("=?", 2, 0, 8), MAILOUT_E_UNSUPPORTED);
#else
    expect_st(mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &q), MAILOUT_E_STATE);
#endif
#if !MAILOUT_ENABLE_QP
    mailout_qp qp;
    mailout_stream s = {NULL, 0, NULL, 0};
    expect_st(mailout_part_set_encoding(p, MAILOUT_ENC_QP), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_qp_init(&qp, 0), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_qp_encode(&qp, &s, 1), MAILOUT_E_UNSUPPORTED);
#endif
#if !MAILOUT_ENABLE_DSN
    expect_st(mailout_msg_set_dsn(m, MAILOUT_NOTIFY_FAILURE, MAILOUT_DSN_RET_HDRS, NULL), MAILOUT_E_UNSUPPORTED);
#endif
    expect_st(mailout_part_set_encoding(p, MAILOUT_ENC_BASE64), MAILOUT_OK);
    mailout_msg_free(m);
}

/* The server offers PIPELINING, CHUNKING and DSN; a build without them
 * sends one command at a time, DATA, and no DSN parameters. */
static void setup_job(hrun *r)
{
    static const char *const rcpt[] = {"r1@example.org", "r2@example.org", NULL};
    hrun_init(r);
    hrun_job(r, 0, "alice@example.com", rcpt, "Hello\r\n");
    r->jobs[0].dsn_notify = MAILOUT_NOTIFY_FAILURE;
    r->jobs[0].dsn_ret = MAILOUT_DSN_RET_HDRS;
}

static void check_job(hrun *r)
{
    const mailout_result *res = mailout_smtp_result(r->s);
    assert_non_null(res);
    expect_st(res->status, MAILOUT_OK);
    assert_int_equal(res->rcpt_ok, 2);
#if MAILOUT_ENABLE_TRACE
    assert_true(trace_has(r, "EHLO client.example"));
#else
    /* the harness sets a trace callback: a build without trace never
     * calls it */
    assert_int_equal(r->trace_len, 0);
#endif
}

static void test_engine_extensions(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 DSN\r\n"),
        SUBMIT(0, MAILOUT_OK),
#if MAILOUT_ENABLE_PIPELINING
#error "this test is for builds without PIPELINING"
#endif
#if MAILOUT_ENABLE_DSN
        C("MAIL FROM:<alice@example.com> RET=HDRS\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<r1@example.org> NOTIFY=FAILURE ORCPT=rfc822;r1@example.org\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<r2@example.org> NOTIFY=FAILURE ORCPT=rfc822;r2@example.org\r\n"),
#else
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<r1@example.org>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<r2@example.org>\r\n"),
#endif
        S("250 ok\r\n"),
#if MAILOUT_ENABLE_CHUNKING
        C("BDAT 7 LAST\r\nHello\r\n"),
#else
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("Hello\r\n.\r\n"),
#endif
        S("250 queued\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    hrun_all(setup_job, script, 0, 1, check_job);
}

/* AUTH LOGIN with the configuration's challenge room
 * (MAILOUT_SASL_CHALLENGE_MAX): a challenge that fills it exactly is
 * answered, one 4 characters longer is cancelled with "*" (RFC 4954 §4). */
static void setup_login(hrun *r)
{
    hrun_init(r);
    r->cfg.tls = MAILOUT_TLS_IMPLICIT;
    r->cfg.user = "tim";
    r->cfg.password = "tanstaaftanstaaf";
}

static void check_auth_failed(hrun *r)
{
    expect_st(r->final, MAILOUT_E_AUTH);
}

static void test_login_challenge_room(void **state)
{
    (void)state;
    static char fits[MAILOUT_SASL_CHALLENGE_MAX / 4 * 4 + 7], over[MAILOUT_SASL_CHALLENGE_MAX / 4 * 4 + 11];
    size_t n = MAILOUT_SASL_CHALLENGE_MAX / 4 * 4; /* base64 comes in groups of 4 */
    memcpy(fits, "334 ", 4);
    memset(fits + 4, 'A', n);
    memcpy(fits + 4 + n, "\r\n", 3);
    memcpy(over, "334 ", 4);
    memset(over + 4, 'A', n + 4);
    memcpy(over + 8 + n, "\r\n", 3);
    hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH LOGIN\r\n"),
        C("AUTH LOGIN\r\n"),
        {ST_S, fits, strlen(fits), 0, 0},
        C("dGlt\r\n"),
        {ST_S, over, strlen(over), 0, 0},
        C("*\r\n"),
        S("501 5.7.0 cancelled\r\n"),
        END(),
    };
    hrun_all(setup_login, script, 1, 1, check_auth_failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_body),
        cmocka_unit_test(test_8bit_body),
        cmocka_unit_test(test_unit_room),
        cmocka_unit_test(test_quoted_name),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_engine_extensions),
        cmocka_unit_test(test_login_challenge_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
