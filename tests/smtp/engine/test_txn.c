/*
 * Mail transactions through the engine: pipelined and not, partial and
 * total recipient failure, errors at every stage, lost final replies,
 * source failures, several messages per session.
 */
#include "txn_common.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- recipients ---- */

static void test_partial_pipelined(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<r1@example.org>\r\nRCPT TO:<r2@example.org>\r\n"
          "RCPT TO:<r3@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n451 4.3.0 later\r\n354 go\r\n"),
        C("Hello\r\n.\r\n"),
        S("250 queued\r\n"),
        BYE,
    };
    reset();
    want.rcpt = three_rcpt;
    want.result = MAILOUT_E_PARTIAL;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    want.failed = 2;
    want.codes[0] = 250, want.codes[1] = 550, want.codes[2] = 451;
    run(script);
}

static void test_partial_serial(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PLAIN_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<r1@example.org>\r\n"),
        S("550 no\r\n"),
        C("RCPT TO:<r2@example.org>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<r3@example.org>\r\n"),
        S("452 full\r\n"),
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("Hello\r\n.\r\n"),
        S("250 queued\r\n"),
        BYE,
    };
    reset();
    want.rcpt = three_rcpt;
    want.result = MAILOUT_E_PARTIAL;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    want.failed = 2;
    want.codes[0] = 550, want.codes[1] = 250, want.codes[2] = 452;
    run(script);
}

/* No recipient, yet the server says 354: the empty message, never the
 * content, and a failure. */
static void test_all_rejected_354(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<r1@example.org>\r\nRCPT TO:<r2@example.org>\r\n"
          "RCPT TO:<r3@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n550 no\r\n550 no\r\n551 moved\r\n354 go\r\n"),
        C(".\r\n"),
        S("554 no valid recipients\r\n"),
        C("RSET\r\n"),
        S("250 ok\r\n"),
        BYE,
    };
    reset();
    want.rcpt = three_rcpt;
    want.result = MAILOUT_E_REJ_PERM;
    want.stage = MAILOUT_STAGE_RCPT;
    want.code = 551;
    want.failed = 3;
    run(script);
    /* the server even "accepts" the empty message: still a failure */
    static const hstep accepted[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n450 busy\r\n354 go\r\n"),
        C(".\r\n"),
        S("250 ok\r\n"),
        C("RSET\r\n"),
        S("250 ok\r\n"),
        BYE,
    };
    reset();
    want.result = MAILOUT_E_REJ_TEMP;
    want.stage = MAILOUT_STAGE_RCPT;
    want.code = 450;
    want.failed = 1;
    run(accepted);
}

static void test_all_rejected(void **state)
{
    (void)state;
    static const hstep piped[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n550 no\r\n554 no valid recipients\r\n"),
        C("RSET\r\n"),
        S("250 ok\r\n"),
        BYE,
    };
    reset();
    want.result = MAILOUT_E_REJ_PERM;
    want.stage = MAILOUT_STAGE_RCPT;
    want.code = 550;
    want.failed = 1;
    run(piped);
    static const hstep serial[] = {
        HELLO(PLAIN_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<r1@example.org>\r\n"),
        S("550 no\r\n"),
        C("RCPT TO:<r2@example.org>\r\n"),
        S("550 no\r\n"),
        C("RCPT TO:<r3@example.org>\r\n"),
        S("451 later\r\n"),
        C("RSET\r\n"),
        S("250 ok\r\n"),
        BYE,
    };
    reset();
    want.rcpt = three_rcpt;
    want.result = MAILOUT_E_REJ_TEMP;
    want.stage = MAILOUT_STAGE_RCPT;
    want.code = 451;
    want.failed = 3;
    run(serial);
}

/* ---- each stage: 4xx, 5xx, 421, dropped ---- */

typedef struct stage_case {
    const char *reply;  /* NULL = connection dropped */
    mailout_status session, result;
    uint16_t code;
} stage_case;

static const stage_case stage_cases[] = {
    {"451 4.3.0 try later\r\n", MAILOUT_OK, MAILOUT_E_REJ_TEMP, 451},
    {"554 5.7.1 refused\r\n", MAILOUT_OK, MAILOUT_E_REJ_PERM, 554},
    {"421 4.4.2 closing\r\n", MAILOUT_E_SERVER_SHUTDOWN, MAILOUT_E_SERVER_SHUTDOWN, 421},
    {NULL, MAILOUT_E_CLOSED, MAILOUT_E_CLOSED, 0},
};

/* Build a serial script that fails at @p at (0 MAIL, 1 RCPT, 2 DATA, 3 end). */
static void stage_script(hstep *sc, int at, const stage_case *c)
{
    static const char *const cmds[] = {"MAIL FROM:<alice@example.com>\r\n", "RCPT TO:<bob@example.org>\r\n",
                                       "DATA\r\n", "Hello\r\n.\r\n"};
    static const char *const oks[] = {"250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n"};
    size_t n = 0;
    sc[n++] = (hstep)S("220 x\r\n");
    sc[n++] = (hstep)C("EHLO client.example\r\n");
    sc[n++] = (hstep)S(PLAIN_EHLO);
    sc[n++] = (hstep)SUBMIT(0, MAILOUT_OK);
    for (int i = 0; i < at; i++) {
        sc[n++] = (hstep){ST_C, cmds[i], strlen(cmds[i]), 0, 0};
        sc[n++] = (hstep){ST_S, oks[i], strlen(oks[i]), 0, 0};
    }
    sc[n++] = (hstep){ST_C, cmds[at], strlen(cmds[at]), 0, 0};
    if (!c->reply) {
        sc[n++] = (hstep)ABORT(MAILOUT_E_CLOSED);
    } else {
        sc[n++] = (hstep){ST_S, c->reply, strlen(c->reply), 0, 0};
        if (c->session == MAILOUT_OK) {
            sc[n++] = (hstep)C("RSET\r\n");
            sc[n++] = (hstep)S("250 ok\r\n");
            sc[n++] = (hstep)QUIT();
            sc[n++] = (hstep)C("QUIT\r\n");
            sc[n++] = (hstep)S("221 bye\r\n");
        }
    }
    sc[n++] = (hstep)END();
}

static void test_stage_errors(void **state)
{
    (void)state;
    static const mailout_smtp_stage stages[] = {MAILOUT_STAGE_MAIL, MAILOUT_STAGE_RCPT, MAILOUT_STAGE_DATA,
                                                MAILOUT_STAGE_END};
    for (int at = 0; at < 4; at++) {
        for (size_t k = 0; k < sizeof stage_cases / sizeof stage_cases[0]; k++) {
            const stage_case *c = &stage_cases[k];
            hstep sc[32];
            stage_script(sc, at, c);
            reset();
            want.status = c->session;
            want.result = c->result;
            want.stage = stages[at];
            want.code = c->code;
            want.ok = at >= 2 ? 1 : 0;
            want.failed = at == 1 && c->reply && c->code != 421 ? 1 : 0;
            if (at == 3 && !c->reply) {
                /* every byte of the data went out, no final reply: the
                 * server may or may not deliver it */
                want.status = want.result = MAILOUT_E_DELIVERY_UNKNOWN;
            }
            run(sc);
        }
    }
}

/* Pipelined: MAIL refused, the RCPT and DATA replies still come in order. */
static void test_mail_refused_pipelined(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
        S("553 5.1.8 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n"),
        C("RSET\r\n"),
        S("250 ok\r\n"),
        BYE,
    };
    reset();
    want.result = MAILOUT_E_REJ_PERM;
    want.stage = MAILOUT_STAGE_MAIL;
    want.code = 553;
    want.failed = 1;
    run(script);
    /* and a server that says 354 anyway gets the empty message */
    static const hstep odd[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
        S("451 later\r\n250 ok\r\n354 go\r\n"),
        C(".\r\n"),
        S("250 ok\r\n"),
        C("RSET\r\n"),
        S("250 ok\r\n"),
        BYE,
    };
    reset();
    want.result = MAILOUT_E_REJ_TEMP;
    want.stage = MAILOUT_STAGE_MAIL;
    want.code = 451;
    want.ok = 1;
    run(odd);
}

static void test_421_mid_group(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<r1@example.org>\r\nRCPT TO:<r2@example.org>\r\n"
          "RCPT TO:<r3@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n250 ok\r\n421 4.3.2 bye\r\n"),
        END(),
    };
    reset();
    want.rcpt = three_rcpt;
    want.status = want.result = MAILOUT_E_SERVER_SHUTDOWN;
    want.stage = MAILOUT_STAGE_RCPT;
    want.code = 421;
    want.ok = 1;
    run(script);
}

/* A garbled final reply is as good as none. */
static void test_end_garbled_or_late(void **state)
{
    (void)state;
    static const hstep garbled[] = {
        HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C("Hello\r\n.\r\n"),
        S("2x0 what\r\n"), END(),
    };
    reset();
    want.status = want.result = MAILOUT_E_DELIVERY_UNKNOWN;
    want.stage = MAILOUT_STAGE_END;
    want.ok = 1;
    run(garbled);
    static const hstep late[] = {
        TIME(0), HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 ok\r\n"), C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
        C("Hello\r\n.\r\n"), TIME(599999), TIME(600000), END(),
    };
    run(late);
}

/* RSET failing (before the second message): the session ends. */
static void test_rset_fails(void **state)
{
    (void)state;
    static const char *const replies[] = {"451 later\r\n", "500 what\r\n", "421 bye\r\n"};
    static const mailout_status st[] = {MAILOUT_E_REJ_TEMP, MAILOUT_E_REJ_PERM, MAILOUT_E_SERVER_SHUTDOWN};
    for (size_t i = 0; i < 3; i++) {
        hstep script[] = {
            HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
            C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
            C("Hello\r\n.\r\n"), S("250 ok\r\n"), SUBMIT(1, MAILOUT_OK), C("RSET\r\n"),
            {ST_S, replies[i], strlen(replies[i]), 0, 0}, END(),
        };
        reset();
        want.status = want.result = st[i];
        want.stage = MAILOUT_STAGE_RSET;
        want.code = (uint16_t)atoi(replies[i]);
        run(script);
    }
    static const hstep dropped[] = {
        HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C("Hello\r\n.\r\n"),
        S("250 ok\r\n"), SUBMIT(1, MAILOUT_OK), C("RSET\r\n"), ABORT(MAILOUT_E_CLOSED), END(),
    };
    reset();
    want.status = want.result = MAILOUT_E_CLOSED;
    want.stage = MAILOUT_STAGE_RSET;
    run(dropped);
}

/* ---- several messages ---- */

static void check_second(hrun *r)
{
    assert_status(MAILOUT_OK, r->final);
    assert_status(MAILOUT_OK, mailout_smtp_result(r->s)->status);
    assert_int_equal(r->bodies[0].starts, 1);
    assert_int_equal(r->bodies[1].starts, 1);
}

static void test_two_messages(void **state)
{
    (void)state;
    static const hstep piped[] = {
        HELLO(PIPE_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n250 ok\r\n354 go\r\n"),
        C("Hello\r\n.\r\n"),
        S("250 ok\r\n"),
        SUBMIT(1, MAILOUT_OK),
        C("RSET\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
        C("second\r\n.\r\n"),
        S("250 ok\r\n"),
        BYE,
    };
    reset();
    hrun_all(setup, piped, 0, 1, check_second);
    static const hstep serial[] = {
        HELLO(PLAIN_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"),
        C("DATA\r\n"), S("354 go\r\n"),
        C("Hello\r\n.\r\n"), S("250 ok\r\n"),
        SUBMIT(1, MAILOUT_OK),
        C("RSET\r\n"), S("250 ok\r\n"),
        C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"),
        C("DATA\r\n"), S("354 go\r\n"),
        C("second\r\n.\r\n"), S("250 ok\r\n"),
        BYE,
    };
    hrun_all(setup, serial, 0, 1, check_second);
    /* after a failed message the RSET already happened: none before the next */
    static const hstep after_fail[] = {
        HELLO(PLAIN_EHLO),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"), S("550 no\r\n"),
        C("RSET\r\n"), S("250 ok\r\n"),
        SUBMIT(1, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"),
        C("DATA\r\n"), S("354 go\r\n"),
        C("second\r\n.\r\n"), S("250 ok\r\n"),
        BYE,
    };
    hrun_all(setup, after_fail, 0, 1, check_second);
}

/* ---- the data ---- */

static void test_body_transparency(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n"),
        S("250 ok\r\n"), C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
        C("..\r\nx\r\n..\r\ny\r\n...z\r\n\r\nb\xc3\xa4r\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    reset();
    want.body = ".\nx\r\n.\ry\n..z\r\rb\xc3\xa4r";
    want.is8 = 1;
    want.result = MAILOUT_OK;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    want.size_unknown = 1;
    run(script);
    /* a source that says AGAIN before every read: same bytes */
    want.again = 1;
    run(script);
    /* the empty body */
    static const hstep empty[] = {
        HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C(".\r\n"),
        S("250 ok\r\n"), BYE,
    };
    reset();
    want.body = "";
    want.size_unknown = 1;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    run(empty);
}

/* A source that produces the DATA stream itself (the message reader). */
static void test_body_stuffed_by_source(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
        C("..dot\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    reset();
    want.body = "..dot\r\n.\r\n";
    want.stuffs = 1;
    want.size_unknown = 1;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    run(script);
    want.again = 1;
    run(script);
}

static void check_flags(hrun *r)
{
    check(r);
    assert_int_equal(r->bodies[0].start_flags, want.stuffs ? MAILOUT_READ_SMTP : 0);
}

static void test_start_flags(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO("250 x\r\n"), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
        C("x\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    reset();
    want.body = "x\r\n.\r\n";
    want.stuffs = 1;
    want.size_unknown = 1;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    hrun_all(setup, script, 0, 0, check_flags);
}

/* Source failure inside DATA: no terminator, the session is over. */
/* A body the engine filters is held to what DATA may carry: a NUL, a
 * line of 999 bytes, or an 8-bit byte without BODY=8BITMIME ends the
 * transfer as a source error does (stage BODY), and what went out is a
 * prefix of the body without the terminator; a line of 998 bytes and
 * 8-bit text with BODY=8BITMIME go through whole. Every output size from
 * 64 to 300. */
static mailout_status raw_body_run(const char *body, size_t len, int is8, const char *ehlo, size_t out,
                                   char *got, size_t *got_len)
{
    hrun *r = malloc(sizeof *r);
    reset();
    want.body = body;
    setup(r);
    r->bodies[0].len = len;
    r->bodies[0].is8 = is8;
    r->cfg.out_buf_size = out;
    mailout_allocator a = mailout_heap_allocator();
    assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, 0));
    mailout_smtp *s = r->s;
    const char *replies[] = {"220 x\r\n", ehlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n"};
    size_t ri = 0;
    *got_len = 0;
    for (;;) {
        unsigned w = mailout_smtp_want(s);
        if (w & MAILOUT_SMTP_WANT_WRITE) {
            size_t n;
            const unsigned char *p = mailout_smtp_out_buf(s, &n);
            if (p) {
                memcpy(got + *got_len, p, n);
                *got_len += n;
                mailout_smtp_out_ack(s, n);
            }
        } else if (w & MAILOUT_SMTP_WANT_READ) {
            assert_true(ri < 6);
            size_t cap;
            unsigned char *in = mailout_smtp_in_buf(s, &cap);
            memcpy(in, replies[ri], strlen(replies[ri]));
            mailout_smtp_in_ack(s, strlen(replies[ri++]));
        } else if (w & MAILOUT_SMTP_WANT_IDLE && ri == 2) {
            assert_status(MAILOUT_OK, mailout_smtp_submit(s, &r->jobs[0]));
        } else {
            break;
        }
    }
    mailout_status st = mailout_smtp_result(s)->status;
    if (st < 0) {
        assert_status(st, mailout_smtp_status(s));
        assert_int_equal(mailout_smtp_result(s)->stage, MAILOUT_STAGE_BODY);
    }
    hrun_free(r);
    free(r);
    return st;
}

static void raw_body_refused(const char *body, size_t len, int is8, const char *ehlo, mailout_status expect)
{
    static char got[8192];
    for (size_t out = 64; out <= 300; out += 59) {
        size_t got_len;
        assert_status(expect, raw_body_run(body, len, is8, ehlo, out, got, &got_len));
        const char *data = find(got, got_len, "DATA\r\n", 6);
        assert_non_null(data);
        data += 6;
        size_t dlen = got_len - (size_t)(data - got);
        /* the body has CRLF line ends and no leading dots: a plain prefix */
        assert_true(dlen < len);
        assert_memory_equal(data, body, dlen);
    }
}

static void test_raw_body_rules(void **state)
{
    (void)state;
    static char line[1200];
    /* a NUL in the middle, at the start */
    raw_body_refused("Hello\r\nwor\0ld\r\n", 16, 0, PLAIN_EHLO, MAILOUT_E_INVAL);
    raw_body_refused("\0", 1, 0, PLAIN_EHLO, MAILOUT_E_INVAL);
    /* 999 bytes on the second line */
    memcpy(line, "first\r\n", 7);
    memset(line + 7, 'x', 999);
    memcpy(line + 7 + 999, "\r\n", 2);
    raw_body_refused(line, 7 + 999 + 2, 0, PLAIN_EHLO, MAILOUT_E_LINE_TOO_LONG);
    /* 8-bit bytes the source did not declare (no BODY=8BITMIME) */
    raw_body_refused("Gr\xc3\xbc\xc3\x9f" "e\r\n", 9, 0, PLAIN_EHLO, MAILOUT_E_8BIT);
    raw_body_refused("Gr\xc3\xbc\xc3\x9f" "e\r\n", 9, 0, "250 x\r\n", MAILOUT_E_8BIT);

    /* what is allowed goes out whole, terminated */
    static char got[8192];
    size_t got_len;
    memset(line + 7, 'x', 998);
    memcpy(line + 7 + 998, "\r\n", 2);
    assert_status(MAILOUT_OK, raw_body_run(line, 7 + 998 + 2, 0, PLAIN_EHLO, 64, got, &got_len));
    const char *data = find(got, got_len, "DATA\r\n", 6);
    assert_non_null(data);
    data += 6;
    assert_int_equal(got_len - (size_t)(data - got), 7 + 998 + 2 + 3);
    assert_memory_equal(data, line, 7 + 998 + 2);
    assert_memory_equal(data + 7 + 998 + 2, ".\r\n", 3);
    static const char mail8[] = "MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n";
    static const char data8[] = "DATA\r\nGr\xc3\xbc\xc3\x9f" "e\r\n.\r\n";
    assert_status(MAILOUT_OK, raw_body_run("Gr\xc3\xbc\xc3\x9f" "e\r\n", 9, 1, PLAIN_EHLO, 64, got, &got_len));
    assert_non_null(find(got, got_len, mail8, sizeof mail8 - 1));
    assert_non_null(find(got, got_len, data8, sizeof data8 - 1));
}

static void test_data_source_failure(void **state)
{
    (void)state;
    static char body[3000];
    for (size_t i = 0; i < sizeof body - 1; i++)
        body[i] = (char)(i % 50 == 49 ? '\n' : 'a' + i % 26);
    /* half: every write takes half the buffer, so the engine tops the
     * rest up from the source, which may fail right then */
    for (int half = 0; half < 2; half++)
    for (size_t out = 64; out <= 300; out += 59) {
        for (long at = 0; at < 2999; at += 333) {
            hrun *r = malloc(sizeof *r);
            reset();
            want.body = body;
            want.fail_at = at;
            setup(r);
            r->cfg.out_buf_size = out;
            mailout_allocator a = mailout_heap_allocator();
            assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, 0));
            mailout_smtp *s = r->s;
            static const char *const replies[] = {"220 x\r\n", "250 x\r\n", "250 ok\r\n", "250 ok\r\n",
                                                  "354 go\r\n"};
            static char got[8192];
            size_t got_len = 0, ri = 0;
            for (;;) {
                unsigned w = mailout_smtp_want(s);
                if (w & MAILOUT_SMTP_WANT_WRITE) {
                    size_t len;
                    const unsigned char *p = mailout_smtp_out_buf(s, &len);
                    assert_true(p ? len > 0 : len == 0); /* smtp.h: NULL when nothing to send */
                    if (p) {
                        size_t n = half && len > 1 ? len / 2 : len;
                        memcpy(got + got_len, p, n);
                        got_len += n;
                        mailout_smtp_out_ack(s, n);
                    }
                } else if (w & MAILOUT_SMTP_WANT_READ) {
                    assert_true(ri < 5);
                    size_t cap;
                    unsigned char *in = mailout_smtp_in_buf(s, &cap);
                    memcpy(in, replies[ri], strlen(replies[ri]));
                    mailout_smtp_in_ack(s, strlen(replies[ri++]));
                } else if (w & MAILOUT_SMTP_WANT_IDLE) {
                    assert_status(MAILOUT_OK, mailout_smtp_submit(s, &r->jobs[0]));
                } else {
                    break;
                }
            }
            assert_status(MAILOUT_E_SOURCE, mailout_smtp_status(s));
            assert_status(MAILOUT_E_SOURCE, mailout_smtp_result(s)->status);
            assert_int_equal(mailout_smtp_result(s)->stage, MAILOUT_STAGE_BODY);
            const char *data = find(got, got_len, "DATA\r\n", 6);
            assert_non_null(data);
            data += 6;
            size_t dlen = got_len - (size_t)(data - got);
            /* a prefix of the normalised body, never the terminator */
            assert_true(dlen <= (size_t)at + (size_t)at / 49 + 1);
            for (size_t i = 0, j = 0; i < dlen; i++, j++) {
                if (data[i] == '\r') {
                    assert_int_equal(body[j], '\n');
                    if (++i == dlen)
                        break; /* the LF did not go out before the failure */
                    assert_int_equal(data[i], '\n');
                } else {
                    assert_int_equal(data[i], body[j]);
                }
            }
            assert_null(find(got, got_len, "\r\n.\r\n", 5));
            assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_NONE);
            hrun_free(r);
            free(r);
        }
    }
}

/* A short write in the DATA body: the rest moves to the front and the
 * buffer is topped up, so the next out_buf() is a whole buffer again
 * (writes = body / out_cap + the short ones); the stream is unchanged. */
static void test_body_top_up(void **state)
{
    (void)state;
    static char body[3000];
    size_t stream = 0; /* the DATA stream's length: CRLFs and terminator */
    for (size_t i = 0; i < sizeof body - 1; i++) {
        body[i] = (char)(i % 50 == 49 ? '\n' : 'a' + i % 26);
        stream += body[i] == '\n' ? 2 : 1;
    }
    stream += 5;
    for (size_t out = 64; out <= 300; out += 59) {
        for (size_t cut = 1; cut < out; cut += 17) {
            hrun *r = malloc(sizeof *r);
            reset();
            want.body = body;
            setup(r);
            r->cfg.out_buf_size = out;
            mailout_allocator a = mailout_heap_allocator();
            assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, 0));
            mailout_smtp *s = r->s;
            static const char *const replies[] = {"220 x\r\n", "250 x\r\n", "250 ok\r\n", "250 ok\r\n",
                                                  "354 go\r\n", "250 done\r\n"};
            static char got[8192];
            size_t got_len = 0, ri = 0, body_len = 0, body_writes = 0, shorts = 0;
            int in_body = 0;
            for (;;) {
                unsigned w = mailout_smtp_want(s);
                if (w & MAILOUT_SMTP_WANT_WRITE) {
                    size_t len;
                    const unsigned char *p = mailout_smtp_out_buf(s, &len);
                    if (!p)
                        continue;
                    /* in the body every buffer but the last is full */
                    if (in_body && body_len + len < stream)
                        assert_int_equal(len, out);
                    /* every third body write is cut short */
                    size_t n = in_body && ++body_writes % 3 == 0 && cut < len ? cut : len;
                    shorts += n < len;
                    memcpy(got + got_len, p, n);
                    got_len += n;
                    if (in_body)
                        body_len += n;
                    assert_status(MAILOUT_OK, mailout_smtp_out_ack(s, n));
                } else if (w & MAILOUT_SMTP_WANT_READ) {
                    assert_true(ri < 6);
                    size_t cap;
                    unsigned char *in = mailout_smtp_in_buf(s, &cap);
                    memcpy(in, replies[ri], strlen(replies[ri]));
                    mailout_smtp_in_ack(s, strlen(replies[ri]));
                    in_body = ++ri == 5;
                } else if (w & MAILOUT_SMTP_WANT_IDLE) {
                    if (ri == 6)
                        break;
                    assert_status(MAILOUT_OK, mailout_smtp_submit(s, &r->jobs[0]));
                } else {
                    break;
                }
            }
            assert_status(MAILOUT_OK, mailout_smtp_result(s)->status);
            const char *data = find(got, got_len, "DATA\r\n", 6);
            assert_non_null(data);
            data += 6;
            size_t dlen = got_len - (size_t)(data - got);
            /* the normalised body and the terminator, exactly */
            size_t j = 0;
            for (size_t i = 0; i < sizeof body - 1; i++) {
                if (body[i] == '\n')
                    assert_int_equal(data[j++], '\r');
                assert_int_equal(data[j++], body[i]);
            }
            assert_int_equal(dlen, stream);
            assert_int_equal(body_len, stream);
            assert_memory_equal(data + dlen - 5, "\r\n.\r\n", 5);
            /* body writes: whole buffers, plus one per short write */
            assert_true(shorts > 0);
            assert_true(body_writes <= (dlen + out - 1) / out + shorts);
            hrun_free(r);
            free(r);
        }
    }
}

/* The connection drops in the middle of the data: not delivered. */
static void test_drop_during_body(void **state)
{
    (void)state;
    static char body[2000];
    memset(body, 'q', sizeof body - 1);
    hrun *r = malloc(sizeof *r);
    reset();
    want.body = body;
    setup(r);
    mailout_allocator a = mailout_heap_allocator();
    assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, 0));
    mailout_smtp *s = r->s;
    static const char *const replies[] = {"220 x\r\n", "250 x\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"};
    size_t ri = 0, body_writes = 0;
    for (;;) {
        unsigned w = mailout_smtp_want(s);
        if (w & MAILOUT_SMTP_WANT_WRITE) {
            size_t len;
            assert_non_null(mailout_smtp_out_buf(s, &len));
            mailout_smtp_out_ack(s, len);
            if (ri == 5 && ++body_writes == 3)
                break;
        } else if (w & MAILOUT_SMTP_WANT_READ) {
            size_t cap;
            unsigned char *in = mailout_smtp_in_buf(s, &cap);
            memcpy(in, replies[ri], strlen(replies[ri]));
            mailout_smtp_in_ack(s, strlen(replies[ri++]));
        } else {
            assert_status(MAILOUT_OK, mailout_smtp_submit(s, &r->jobs[0]));
        }
    }
    assert_status(MAILOUT_E_CLOSED, mailout_smtp_abort(s, MAILOUT_E_CLOSED));
    assert_status(MAILOUT_E_CLOSED, mailout_smtp_result(s)->status);
    assert_int_equal(mailout_smtp_result(s)->stage, MAILOUT_STAGE_BODY);
    assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_NONE);
    hrun_free(r);
    free(r);
}

/* MAILOUT_MAX_RECIPIENTS in one pipelined group. */
static char many_group[MAILOUT_MAX_RECIPIENTS * 40 + 100];
static char many_replies[MAILOUT_MAX_RECIPIENTS * 10 + 100];
static char many_addr[MAILOUT_MAX_RECIPIENTS][24];
static const char *many_rcpt[MAILOUT_MAX_RECIPIENTS];

static void many_setup(hrun *r)
{
    hrun_init(r);
    hrun_job(r, 0, "alice@example.com", one_rcpt, "x\r\n");
    r->jobs[0].rcpt = many_rcpt;
    r->jobs[0].rcpt_count = MAILOUT_MAX_RECIPIENTS;
}

static void many_check(hrun *r)
{
    assert_status(MAILOUT_OK, r->final);
    assert_status(MAILOUT_E_PARTIAL, mailout_smtp_result(r->s)->status);
    assert_int_equal(mailout_smtp_result(r->s)->rcpt_ok, MAILOUT_MAX_RECIPIENTS - 1);
    assert_int_equal(mailout_smtp_rcpt_code(r->s, MAILOUT_MAX_RECIPIENTS - 1), 550);
    assert_int_equal(mailout_smtp_rcpt_code(r->s, MAILOUT_MAX_RECIPIENTS), 0);
}

static void test_max_recipients(void **state)
{
    (void)state;
    size_t g = (size_t)sprintf(many_group, "MAIL FROM:<alice@example.com>\r\n");
    size_t rl = (size_t)sprintf(many_replies, "250 ok\r\n");
    for (int i = 0; i < MAILOUT_MAX_RECIPIENTS; i++) {
        snprintf(many_addr[i], sizeof many_addr[i], "r%d@example.org", i);
        many_rcpt[i] = many_addr[i];
        g += (size_t)sprintf(many_group + g, "RCPT TO:<%s>\r\n", many_addr[i]);
        rl += (size_t)sprintf(many_replies + rl, i == MAILOUT_MAX_RECIPIENTS - 1 ? "550 no\r\n" : "250 ok\r\n");
    }
    g += (size_t)sprintf(many_group + g, "DATA\r\n");
    rl += (size_t)sprintf(many_replies + rl, "354 go\r\n");
    hstep script[] = {
        HELLO(PIPE_EHLO), SUBMIT(0, MAILOUT_OK), {ST_C, many_group, g, 0, 0}, {ST_S, many_replies, rl, 0, 0},
        C("x\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    hrun *r = malloc(sizeof *r);
    hmode modes[] = {{0, 0, 0, 0}, {0, 0, 0, 1}, {64, 1, 0, 0}, {100, 7, 333, 0}};
    for (size_t i = 0; i < 4; i++) {
        many_setup(r);
        hrun_go(r, script, &modes[i], 0);
        many_check(r);
        hrun_free(r);
    }
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_pipelined),
        cmocka_unit_test(test_partial_serial),
        cmocka_unit_test(test_all_rejected_354),
        cmocka_unit_test(test_all_rejected),
        cmocka_unit_test(test_stage_errors),
        cmocka_unit_test(test_mail_refused_pipelined),
        cmocka_unit_test(test_421_mid_group),
        cmocka_unit_test(test_end_garbled_or_late),
        cmocka_unit_test(test_rset_fails),
        cmocka_unit_test(test_two_messages),
        cmocka_unit_test(test_body_transparency),
        cmocka_unit_test(test_body_stuffed_by_source),
        cmocka_unit_test(test_start_flags),
        cmocka_unit_test(test_data_source_failure),
        cmocka_unit_test(test_raw_body_rules),
        cmocka_unit_test(test_body_top_up),
        cmocka_unit_test(test_drop_during_body),
        cmocka_unit_test(test_max_recipients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
