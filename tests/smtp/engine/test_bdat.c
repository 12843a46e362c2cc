/*
 * CHUNKING: exact BDAT chunks (sized by a 64-byte output buffer: 40 data
 * bytes after room for the header), with and without PIPELINING, and
 * every failure: refused chunk, refused LAST, 421, lost final reply, and
 * a body source failing mid-message, which is answered with RSET (the
 * session stays usable, unlike DATA).
 */
#include "harness.h"

#include <stdlib.h>

#define D40A "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
#define D40B "OPQRSTUVWXYZ0123456789abcdefghijklmnopqr"
#define D20C "stuvwxyz.\r\n.\r\nABCDEF"
#define BODY D40A D40B D20C

#define HELLO(ehlo) S("220 x\r\n"), C("EHLO client.example\r\n"), S(ehlo)
#define CHUNK_EHLO "250-x\r\n250 CHUNKING\r\n"
#define PIPE_EHLO "250-x\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n"
#define ENVELOPE C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"), C("RCPT TO:<bob@example.org>\r\n"), \
                 S("250 ok\r\n")
#define BYE QUIT(), C("QUIT\r\n"), S("221 bye\r\n"), END()

static const char *const one_rcpt[] = {"bob@example.org", NULL};

static struct {
    const char *body;
    long fail_at;
    int again, is8;
    mailout_status status, result;
    mailout_smtp_stage stage;
    uint16_t code;
} want;

static void reset(void)
{
    memset(&want, 0, sizeof want);
    want.body = BODY;
    want.fail_at = -1;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
}

static void setup(hrun *r)
{
    hrun_init(r);
    r->cfg.out_buf_size = 64;
    hrun_job(r, 0, "alice@example.com", one_rcpt, want.body);
    tbody *b = &r->bodies[0];
    b->fail_at = want.fail_at;
    b->fail_st = MAILOUT_E_SOURCE;
    b->again = want.again;
    b->is8 = want.is8;
    r->jobs[0].body = tbody_body(b);
}

static void check(hrun *r)
{
    assert_status(want.status, r->final);
    const mailout_result *res = mailout_smtp_result(r->s);
    assert_status(want.result, res->status);
    assert_int_equal(res->stage, want.stage);
    assert_int_equal(res->reply.code, want.code);
    /* BDAT never asks the source for the DATA form */
    assert_int_equal(r->bodies[0].start_flags & MAILOUT_READ_SMTP, 0);
}

static void run(const hstep *script)
{
    hrun_all(setup, script, 0, 0, check);
}

static void test_bdat_serial(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE,
        C("BDAT 40\r\n" D40A), S("250 2.0.0 40 octets received\r\n"),
        C("BDAT 40\r\n" D40B), S("250 2.0.0 40 octets received\r\n"),
        C("BDAT 20 LAST\r\n" D20C), S("250 2.0.0 queued\r\n"),
        BYE,
    };
    reset();
    run(script);
    want.again = 1; /* a source answering AGAIN between reads: same chunks */
    run(script);
}

static void test_bdat_pipelined(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PIPE_EHLO), SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com> BODY=8BITMIME\r\nRCPT TO:<bob@example.org>\r\n"),
        S("250 ok\r\n250 ok\r\n"),
        C("BDAT 40\r\n" D40A "BDAT 40\r\n" D40B "BDAT 20 LAST\r\n" D20C),
        S("250 ok\r\n250 ok\r\n250 queued\r\n"),
        BYE,
    };
    reset();
    want.is8 = 1;
    run(script);
}

static void test_bdat_empty(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE, C("BDAT 0 LAST\r\n"), S("250 ok\r\n"), BYE,
    };
    reset();
    want.body = "";
    run(script);
    /* exactly one chunk's worth: the LAST flag rides on it */
    static const hstep one[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE, C("BDAT 40 LAST\r\n" D40A), S("250 ok\r\n"), BYE,
    };
    reset();
    want.body = D40A;
    run(one);
}

static void test_bdat_source_failure(void **state)
{
    (void)state;
    static const hstep serial[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE,
        C("BDAT 40\r\n" D40A), S("250 ok\r\n"),
        C("RSET\r\n"), S("250 flushed\r\n"),
        SUBMIT(0, MAILOUT_OK), /* the session is still usable */
        ENVELOPE,
        C("BDAT 40\r\n" D40A), S("250 ok\r\n"),
        C("RSET\r\n"), S("250 flushed\r\n"),
        BYE,
    };
    reset();
    want.fail_at = 50;
    want.result = MAILOUT_E_SOURCE;
    want.stage = MAILOUT_STAGE_BODY;
    want.code = 0;
    run(serial);
    static const hstep piped[] = {
        HELLO(PIPE_EHLO), SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n250 ok\r\n"),
        C("BDAT 40\r\n" D40A "BDAT 40\r\n" D40B), S("250 ok\r\n250 ok\r\n"),
        C("RSET\r\n"), S("250 flushed\r\n"),
        BYE,
    };
    want.fail_at = 90;
    run(piped);
    /* failing before any byte: no BDAT at all */
    static const hstep first[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE, C("RSET\r\n"), S("250 flushed\r\n"), BYE,
    };
    want.fail_at = 0;
    run(first);
}

static void test_bdat_refused(void **state)
{
    (void)state;
    static const hstep chunk[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE,
        C("BDAT 40\r\n" D40A), S("552 5.3.4 too big\r\n"),
        C("RSET\r\n"), S("250 ok\r\n"), BYE,
    };
    reset();
    want.result = MAILOUT_E_REJ_PERM;
    want.stage = MAILOUT_STAGE_BODY;
    want.code = 552;
    run(chunk);
    static const hstep piped[] = {
        HELLO(PIPE_EHLO), SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n250 ok\r\n"),
        C("BDAT 40\r\n" D40A "BDAT 40\r\n" D40B "BDAT 20 LAST\r\n" D20C),
        S("451 4.3.0 disk\r\n503 5.5.1 no\r\n503 5.5.1 no\r\n"),
        C("RSET\r\n"), S("250 ok\r\n"), BYE,
    };
    want.result = MAILOUT_E_REJ_TEMP;
    want.code = 451;
    run(piped);
    static const hstep last[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE,
        C("BDAT 40\r\n" D40A), S("250 ok\r\n"), C("BDAT 40\r\n" D40B), S("250 ok\r\n"),
        C("BDAT 20 LAST\r\n" D20C), S("554 5.7.1 spam\r\n"),
        C("RSET\r\n"), S("250 ok\r\n"), BYE,
    };
    want.result = MAILOUT_E_REJ_PERM;
    want.stage = MAILOUT_STAGE_END;
    want.code = 554;
    run(last);
    static const hstep norcpt[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("550 no\r\n"), C("RSET\r\n"), S("250 ok\r\n"), BYE,
    };
    want.stage = MAILOUT_STAGE_RCPT;
    want.code = 550;
    run(norcpt);
}

static void test_bdat_lost(void **state)
{
    (void)state;
    static const hstep dropped[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE,
        C("BDAT 40\r\n" D40A), S("250 ok\r\n"), C("BDAT 40\r\n" D40B), S("250 ok\r\n"),
        C("BDAT 20 LAST\r\n" D20C), ABORT(MAILOUT_E_CLOSED), END(),
    };
    reset();
    want.status = want.result = MAILOUT_E_DELIVERY_UNKNOWN;
    want.code = 0;
    run(dropped);
    /* dropped before the last chunk: not delivered */
    static const hstep early[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE,
        C("BDAT 40\r\n" D40A), ABORT(MAILOUT_E_IO), END(),
    };
    want.status = want.result = MAILOUT_E_IO;
    want.stage = MAILOUT_STAGE_BODY;
    run(early);
    static const hstep shutdown[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE,
        C("BDAT 40\r\n" D40A), S("421 4.3.2 bye\r\n"), END(),
    };
    want.status = want.result = MAILOUT_E_SERVER_SHUTDOWN;
    want.code = 421;
    run(shutdown);
}

static void test_no_chunking_option(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(CHUNK_EHLO), SUBMIT(0, MAILOUT_OK), ENVELOPE, C("DATA\r\n"), S("354 go\r\n"),
        C("x\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    hrun *r = malloc(sizeof *r);
    hmode m = {0, 1, 0, 0};
    reset();
    want.body = "x";
    setup(r);
    r->cfg.no_chunking = 1;
    hrun_go(r, script, &m, 0);
    assert_status(MAILOUT_OK, mailout_smtp_result(r->s)->status);
    hrun_free(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bdat_serial),
        cmocka_unit_test(test_bdat_pipelined),
        cmocka_unit_test(test_bdat_empty),
        cmocka_unit_test(test_bdat_source_failure),
        cmocka_unit_test(test_bdat_refused),
        cmocka_unit_test(test_bdat_lost),
        cmocka_unit_test(test_no_chunking_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
