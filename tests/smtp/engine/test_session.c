/*
 * Session-level transcripts: greeting, EHLO/HELO, STARTTLS, errors at
 * each of these stages, timeouts, unsolicited bytes, QUIT. Each script
 * runs whole, byte by byte, split at every offset, through output
 * buffers of 64..300 bytes and with one-byte drains.
 */
#include "harness.h"

#include <stdlib.h>

static const char *const one_rcpt[] = {"bob@example.org", NULL};
static const char *const two_rcpt[] = {"bob@example.org", "carol@example.net", NULL};

/* what the current case expects (set before hrun_all) */
static struct {
    mailout_tls_policy tls;
    mailout_status status;
    mailout_smtp_stage stage;
    uint16_t code;
    uint32_t timeout;
    const char *const *rcpt;
    const char *body;
} want;

static void setup(hrun *r)
{
    hrun_init(r);
    r->cfg.tls = want.tls;
    r->cfg.timeout_ms = want.timeout;
    hrun_job(r, 0, "alice@example.com", want.rcpt ? want.rcpt : one_rcpt,
             want.body ? want.body : "Subject: hi\r\n\r\nHello\n.dot");
    hrun_job(r, 1, "alice@example.com", one_rcpt, "second\r\n");
}

static void check_fail(hrun *r)
{
    assert_status(want.status, r->final);
    const mailout_result *f = mailout_smtp_failure(r->s);
    assert_status(want.status, f->status);
    assert_int_equal(f->stage, want.stage);
    assert_int_equal(f->reply.code, want.code);
    assert_int_equal(mailout_smtp_want(r->s), MAILOUT_SMTP_WANT_NONE);
    if (want.stage <= MAILOUT_STAGE_AUTH) {
        /* no job ran: the result stays blank (QUIT's reply after a refused
         * greeting is parsed into it, then cleared) */
        const mailout_result *res = mailout_smtp_result(r->s);
        assert_status(MAILOUT_OK, res->status);
        assert_int_equal(res->reply.code, 0);
        assert_string_equal(res->reply.text, "");
    }
}

static void check_ok(hrun *r)
{
    assert_status(MAILOUT_OK, r->final);
    assert_status(MAILOUT_OK, mailout_smtp_result(r->s)->status);
    /* a healthy session has no failure, even after QUIT's 221 */
    const mailout_result *f = mailout_smtp_failure(r->s);
    assert_status(MAILOUT_OK, f->status);
    assert_int_equal(f->stage, MAILOUT_STAGE_NONE);
    assert_int_equal(f->reply.code, 0);
    assert_string_equal(f->reply.text, "");
}

static void reset_want(mailout_tls_policy tls)
{
    memset(&want, 0, sizeof want);
    want.tls = tls;
}

/* ------------------------------------------------------------------ */

static void test_happy_no_pipelining(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 mail.example.com ESMTP\r\n"),
        C("EHLO client.example\r\n"),
        S("250-mail.example.com\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com> SIZE=25\r\n"),
        S("250 2.1.0 Ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"),
        S("250 2.1.5 Ok\r\n"),
        C("DATA\r\n"),
        S("354 End data with <CR><LF>.<CR><LF>\r\n"),
        C("Subject: hi\r\n\r\nHello\r\n..dot\r\n.\r\n"),
        S("250 2.0.0 Ok: queued\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 Bye\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_NONE);
    hrun_all(setup, script, 0, 1, check_ok);
}

static void check_pipelined(hrun *r)
{
    check_ok(r);
    const mailout_result *res = mailout_smtp_result(r->s);
    assert_int_equal(res->rcpt_ok, 2);
    assert_int_equal(res->rcpt_failed, 0);
    assert_int_equal(res->stage, MAILOUT_STAGE_END);
    assert_int_equal(res->reply.code, 250);
    assert_int_equal(res->data_bytes, 25);
    assert_int_equal(r->rcpt_cb, 2);
    assert_int_equal(mailout_smtp_rcpt_code(r->s, 0), 250);
    assert_int_equal(mailout_smtp_rcpt_code(r->s, 1), 251);
    assert_true(r->progress_calls > 0);
    assert_int_equal(r->progress_sent, 25);
    assert_int_equal(r->progress_total, 25);
}

static void test_happy_pipelining(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 mail.example.com ESMTP\r\n"),
        C("EHLO client.example\r\n"),
        S("250-mail.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n"),
        S("250 Ok\r\n250 Ok\r\n251 forwarded\r\n354 go ahead\r\n"),
        C("Subject: hi\r\n\r\nHello\r\n..dot\r\n.\r\n"),
        S("250 Ok: queued\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 Bye\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_NONE);
    want.rcpt = two_rcpt;
    hrun_all(setup, script, 0, 1, check_pipelined);
}

static void test_no_pipelining_option(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 PIPELINING\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 Ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"),
        S("250 Ok\r\n"),
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("x\r\n.\r\n"),
        S("250 Ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 Bye\r\n"),
        END(),
    };
    hrun *r = malloc(sizeof *r);
    hmode m = {0, 0, 0, 0};
    reset_want(MAILOUT_TLS_NONE);
    want.body = "x";
    setup(r);
    r->cfg.no_pipelining = 1;
    hrun_go(r, script, &m, 0);
    check_ok(r);
    hrun_free(r);
    free(r);
}

/* STARTTLS, then every capability learned in plaintext is forgotten:
 * PIPELINING and AUTH were offered before TLS only, so the message goes
 * out one command at a time. */
static void test_starttls_forgets_caps(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 mail.example.com ESMTP\r\n"),
        C("EHLO client.example\r\n"),
        S("250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
        C("STARTTLS\r\n"),
        S("220 2.0.0 Ready to start TLS\r\n"),
        TLS(MAILOUT_OK),
        C("EHLO client.example\r\n"),
        S("250-mail.example.com\r\n250 8BITMIME\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 Ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"),
        S("250 Ok\r\n"),
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("Subject: hi\r\n\r\nHello\r\n..dot\r\n.\r\n"),
        S("250 Ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 Bye\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_REQUIRED);
    hrun_all(setup, script, 0, 1, check_ok);
}

static void check_caps_after(hrun *r)
{
    uint64_t size;
    unsigned auth;
    assert_int_equal(mailout_smtp_caps(r->s, &size, &auth), MAILOUT_CAP_8BITMIME);
    assert_int_equal(size, 0);
    assert_int_equal(auth, 0);
}

static void test_starttls_caps_getter(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250-SIZE 10\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
        C("STARTTLS\r\n"),
        S("220 go\r\n"),
        TLS(MAILOUT_OK),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 8BITMIME\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 Bye\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_REQUIRED);
    hrun_all(setup, script, 0, 0, check_caps_after);
}

static void test_implicit_tls(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 STARTTLS\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 Bye\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_IMPLICIT);
    hrun_all(setup, script, 1, 0, check_ok);
}

/* ---- STARTTLS failures (SECURITY-RULES A.1-A.4, A.11) ---- */

static void run_fail(const hstep *script, mailout_tls_policy tls, mailout_status st, mailout_smtp_stage stage,
                     uint16_t code)
{
    want.tls = tls;
    want.status = st;
    want.stage = stage;
    want.code = code;
    hrun_all(setup, script, tls == MAILOUT_TLS_IMPLICIT, 1, check_fail);
}

static void test_starttls_stripped(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250-AUTH PLAIN\r\n250-STARTTLSX\r\n250 PIPELINING\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(script, MAILOUT_TLS_REQUIRED, MAILOUT_E_TLS_REQUIRED, MAILOUT_STAGE_EHLO, 250);
}

static void test_starttls_refused(void **state)
{
    (void)state;
    static const char *const replies[] = {
        "454 4.7.0 TLS not available due to temporary reason\r\n",
        "501 5.5.4 Syntax error\r\n",
        "550 no\r\n",
        "250 OK\r\n",
        "200 STRIPTLS\r\n",
        "220-ready\r\n220 really\r\n",
        "354 what\r\n",
    };
    static const uint16_t codes[] = {454, 501, 550, 250, 200, 220, 354};
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        hstep script[] = {
            S("220 x\r\n"),
            C("EHLO client.example\r\n"),
            S("250-x\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
            C("STARTTLS\r\n"),
            {ST_S, replies[i], strlen(replies[i]), 0, 0},
            END(),
        };
        reset_want(MAILOUT_TLS_REQUIRED);
        run_fail(script, MAILOUT_TLS_REQUIRED, MAILOUT_E_TLS_REQUIRED, MAILOUT_STAGE_STARTTLS, codes[i]);
    }
}

static void test_starttls_bytes_after_220(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 STARTTLS\r\n"),
        C("STARTTLS\r\n"),
        S("220 go ahead\r\n250-injected\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(script, MAILOUT_TLS_REQUIRED, MAILOUT_E_PROTO, MAILOUT_STAGE_STARTTLS, 220);
}

static void test_starttls_handshake_fails(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 STARTTLS\r\n"),
        C("STARTTLS\r\n"),
        S("220 go ahead\r\n"),
        TLS(MAILOUT_E_TLS_HANDSHAKE),
        END(),
    };
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(script, MAILOUT_TLS_REQUIRED, MAILOUT_E_TLS_HANDSHAKE, MAILOUT_STAGE_TLS, 0);
}

static void test_ehlo_refused_no_helo_under_tls(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("500 5.5.1 Command unrecognized\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(script, MAILOUT_TLS_REQUIRED, MAILOUT_E_TLS_REQUIRED, MAILOUT_STAGE_EHLO, 500);
    /* implicit TLS: no HELO either (nothing to gain from it) */
    reset_want(MAILOUT_TLS_IMPLICIT);
    run_fail(script, MAILOUT_TLS_IMPLICIT, MAILOUT_E_REJ_PERM, MAILOUT_STAGE_EHLO, 500);
}

static void test_ehlo_refused_helo_when_plain(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("502 5.5.2 Error: command not recognized\r\n"),
        C("HELO client.example\r\n"),
        S("250 x\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 Ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"),
        S("250 Ok\r\n"),
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("Subject: hi\r\n\r\nHello\r\n..dot\r\n.\r\n"),
        S("250 Ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 Bye\r\n"),
        END(),
    };
    reset_want(MAILOUT_TLS_NONE);
    hrun_all(setup, script, 0, 1, check_ok);
}

/* ---- errors at the greeting and EHLO ---- */

static void test_greeting_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        mailout_status st;
        uint16_t code;
    } v[] = {
        {"421 busy\r\n", MAILOUT_E_SERVER_SHUTDOWN, 421},
        {"450 later\r\n", MAILOUT_E_REJ_TEMP, 450},
        {"250 hello\r\n", MAILOUT_E_PROTO, 250},
        {"220-a\r\n554 b\r\n", MAILOUT_E_PROTO, 0},
        {"hello\r\n", MAILOUT_E_PROTO, 0},
        {"SSH-2.0-OpenSSH_9.2\r\n", MAILOUT_E_PROTO, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hstep script[] = {{ST_S, v[i].in, strlen(v[i].in), 0, 0}, END()};
        reset_want(MAILOUT_TLS_REQUIRED);
        run_fail(script, MAILOUT_TLS_REQUIRED, v[i].st, MAILOUT_STAGE_GREETING, v[i].code);
    }
    /* A 5xx greeting still gets its QUIT (RFC 5321 §3.1, SECURITY-RULES
     * case 67); the outcome is the refusal whether QUIT is answered, the
     * server closes, or the QUIT times out. */
    static const hstep rej_quit[] = {S("554 go away\r\n"), C("QUIT\r\n"), S("221 bye\r\n"), END()};
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(rej_quit, MAILOUT_TLS_REQUIRED, MAILOUT_E_REJ_PERM, MAILOUT_STAGE_GREETING, 554);
    static const hstep rej_multi[] = {S("554-go\r\n554 away\r\n"), C("QUIT\r\n"), ABORT(MAILOUT_E_CLOSED),
                                      END()};
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(rej_multi, MAILOUT_TLS_REQUIRED, MAILOUT_E_REJ_PERM, MAILOUT_STAGE_GREETING, 554);
    static const hstep rej_timeout[] = {TIME(1), S("554 go away\r\n"), C("QUIT\r\n"), TIME(100000000), END()};
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(rej_timeout, MAILOUT_TLS_REQUIRED, MAILOUT_E_REJ_PERM, MAILOUT_STAGE_GREETING, 554);
    static const hstep rej_550[] = {S("550 5.7.1 no\r\n"), C("QUIT\r\n"), S("221 bye\r\n"), END()};
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(rej_550, MAILOUT_TLS_REQUIRED, MAILOUT_E_REJ_PERM, MAILOUT_STAGE_GREETING, 550);
    static const hstep dropped[] = {ABORT(MAILOUT_E_CLOSED), END()};
    reset_want(MAILOUT_TLS_REQUIRED);
    run_fail(dropped, MAILOUT_TLS_REQUIRED, MAILOUT_E_CLOSED, MAILOUT_STAGE_GREETING, 0);
    static const hstep partial[] = {S("220-a\r\n"), ABORT(MAILOUT_E_CLOSED), END()};
    run_fail(partial, MAILOUT_TLS_REQUIRED, MAILOUT_E_CLOSED, MAILOUT_STAGE_GREETING, 0);
}

static void test_ehlo_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        mailout_status st;
        uint16_t code;
    } v[] = {
        {"421 4.3.2 shutting down\r\n", MAILOUT_E_SERVER_SHUTDOWN, 421},
        {"451 later\r\n", MAILOUT_E_REJ_TEMP, 451},
        {"554 no\r\n", MAILOUT_E_REJ_PERM, 554},
        {"354 what\r\n", MAILOUT_E_PROTO, 354},
        {"250-x\r\n251 y\r\n", MAILOUT_E_PROTO, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hstep script[] = {S("220 x\r\n"), C("EHLO client.example\r\n"), {ST_S, v[i].in, strlen(v[i].in), 0, 0},
                          END()};
        reset_want(MAILOUT_TLS_IMPLICIT);
        run_fail(script, MAILOUT_TLS_IMPLICIT, v[i].st, MAILOUT_STAGE_EHLO, v[i].code);
    }
    static const hstep dropped[] = {S("220 x\r\n"), C("EHLO client.example\r\n"), ABORT(MAILOUT_E_CLOSED), END()};
    reset_want(MAILOUT_TLS_IMPLICIT);
    run_fail(dropped, MAILOUT_TLS_IMPLICIT, MAILOUT_E_CLOSED, MAILOUT_STAGE_EHLO, 0);
    static const hstep io[] = {S("220 x\r\n"), C("EHLO client.example\r\n"), ABORT(MAILOUT_E_IO), END()};
    run_fail(io, MAILOUT_TLS_IMPLICIT, MAILOUT_E_IO, MAILOUT_STAGE_EHLO, 0);
}

static void test_unsolicited(void **state)
{
    (void)state;
    static const hstep junk[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("250 x\r\n"), S("250 surprise\r\n"), END(),
    };
    reset_want(MAILOUT_TLS_NONE);
    run_fail(junk, MAILOUT_TLS_NONE, MAILOUT_E_PROTO, MAILOUT_STAGE_NONE, 250);
    static const hstep shutdown[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("250 x\r\n"), S("421 4.4.2 idle timeout\r\n"), END(),
    };
    run_fail(shutdown, MAILOUT_TLS_NONE, MAILOUT_E_SERVER_SHUTDOWN, MAILOUT_STAGE_NONE, 421);
    /* extra bytes right after a reply, before anything was asked */
    static const hstep extra[] = {S("220 x\r\n250 early\r\n"), END()};
    run_fail(extra, MAILOUT_TLS_NONE, MAILOUT_E_PROTO, MAILOUT_STAGE_EHLO, 250);
}

/* ---- time ---- */

static void test_timeouts(void **state)
{
    (void)state;
    /* default: 5 minutes for the greeting, from the first set_time() */
    static const hstep greet[] = {TIME(1000000), TIME(1299999), TIME(1300000), END()};
    reset_want(MAILOUT_TLS_NONE);
    run_fail(greet, MAILOUT_TLS_NONE, MAILOUT_E_TIMEOUT, MAILOUT_STAGE_GREETING, 0);
    /* configured: every reply, re-armed by each reply */
    static const hstep ehlo[] = {
        TIME(50), S("220 x\r\n"), C("EHLO client.example\r\n"), TIME(4000), TIME(5049), TIME(5050), END(),
    };
    reset_want(MAILOUT_TLS_NONE);
    want.timeout = 5000;
    run_fail(ehlo, MAILOUT_TLS_NONE, MAILOUT_E_TIMEOUT, MAILOUT_STAGE_EHLO, 0);
    /* idle: no deadline at all */
    static const hstep idle[] = {
        TIME(0), S("220 x\r\n"), C("EHLO client.example\r\n"), TIME(10), S("250 x\r\n"),
        TIME(99999999), QUIT(), C("QUIT\r\n"), S("221 bye\r\n"), END(),
    };
    reset_want(MAILOUT_TLS_NONE);
    want.timeout = 5000;
    hrun_all(setup, idle, 0, 0, check_ok);
}

static void test_deadline_values(void **state)
{
    (void)state;
    hrun *r = malloc(sizeof *r);
    mailout_allocator a = mailout_heap_allocator();
    hrun_init(r);
    assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, 0));
    mailout_smtp_set_time(r->s, 7);
    assert_true(mailout_smtp_deadline(r->s) == 7 + 300000);
    size_t cap;
    unsigned char *in = mailout_smtp_in_buf(r->s, &cap);
    memcpy(in, "220 x\r\n", 7);
    mailout_smtp_set_time(r->s, 100);
    assert_status(MAILOUT_OK, mailout_smtp_in_ack(r->s, 7));
    assert_true(mailout_smtp_deadline(r->s) == 100 + 300000);
    size_t len;
    assert_non_null(mailout_smtp_out_buf(r->s, &len));
    assert_status(MAILOUT_OK, mailout_smtp_out_ack(r->s, len));
    in = mailout_smtp_in_buf(r->s, &cap);
    memcpy(in, "250 x\r\n", 7);
    assert_status(MAILOUT_OK, mailout_smtp_in_ack(r->s, 7));
    assert_int_equal(mailout_smtp_want(r->s), MAILOUT_SMTP_WANT_IDLE);
    assert_true(mailout_smtp_deadline(r->s) == UINT64_MAX);
    assert_status(MAILOUT_OK, mailout_smtp_quit(r->s));
    assert_true(mailout_smtp_deadline(r->s) == 100 + 10000);
    hrun_free(r);
    free(r);
}

/* ---- QUIT ---- */

static void test_quit_edges(void **state)
{
    (void)state;
    static const hstep closed[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("250 x\r\n"), QUIT(), C("QUIT\r\n"),
        ABORT(MAILOUT_E_CLOSED), END(),
    };
    reset_want(MAILOUT_TLS_NONE);
    hrun_all(setup, closed, 0, 1, check_ok);
    static const hstep silent[] = {
        TIME(1), S("220 x\r\n"), C("EHLO client.example\r\n"), S("250 x\r\n"), QUIT(), C("QUIT\r\n"),
        TIME(10001), END(),
    };
    hrun_all(setup, silent, 0, 0, check_ok);
    static const hstep odd[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("250 x\r\n"), QUIT(), C("QUIT\r\n"),
        S("500 what\r\n"), END(),
    };
    hrun_all(setup, odd, 0, 0, check_ok);
}

/* ---- configuration and API misuse ---- */

static void test_config(void **state)
{
    (void)state;
    mailout_allocator a = mailout_heap_allocator();
    mailout_smtp *s = NULL;
    mailout_smtp_config c;
    memset(&c, 0, sizeof c);
    assert_status(MAILOUT_E_INVAL, mailout_smtp_new(&s, &c, &a, 0)); /* no ehlo name */
    static const char *const bad_names[] = {"", "a b", "a\r\nRSET", "x\x7f", "x\x01"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        c.ehlo_name = bad_names[i];
        assert_status(MAILOUT_E_INVAL, mailout_smtp_new(&s, &c, &a, 0));
    }
    c.ehlo_name = "[192.0.2.1]";
    c.user = "me\r\nRSET";
    assert_status(MAILOUT_E_INVAL, mailout_smtp_new(&s, &c, &a, 0));
    c.user = NULL;
    c.out_buf_size = 63;
    assert_status(MAILOUT_E_INVAL, mailout_smtp_new(&s, &c, &a, 0));
    c.out_buf_size = 64;
    c.tls = MAILOUT_TLS_IMPLICIT;
    assert_status(MAILOUT_E_INVAL, mailout_smtp_new(&s, &c, &a, 0));
    c.tls = (mailout_tls_policy)7;
    assert_status(MAILOUT_E_INVAL, mailout_smtp_new(&s, &c, &a, 0));
    c.tls = MAILOUT_TLS_REQUIRED;
    c.auth_mechs = 1u << 12;
    assert_status(MAILOUT_E_INVAL, mailout_smtp_new(&s, &c, &a, 0));
    c.auth_mechs = 0;
    assert_null(s);
    /* an arena too small: NOMEM, nothing taken */
    static unsigned char pool[512];
    mailout_arena arena;
    mailout_arena_init(&arena, pool, sizeof pool);
    mailout_allocator small = mailout_arena_allocator(&arena);
    assert_status(MAILOUT_E_NOMEM, mailout_smtp_new(&s, &c, &small, 0));
    assert_null(s);
    assert_status(MAILOUT_OK, mailout_smtp_new(&s, &c, &a, 0));
    assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_READ);
    assert_status(MAILOUT_E_STATE, mailout_smtp_quit(s));
    assert_status(MAILOUT_E_STATE, mailout_smtp_tls_done(s, MAILOUT_OK));
    size_t len = 99;
    assert_null(mailout_smtp_out_buf(s, &len));
    assert_int_equal(len, 0);
    assert_status(MAILOUT_E_INVAL, mailout_smtp_out_ack(s, 1));
    mailout_smtp_free(s);
    mailout_smtp_free(NULL);
    assert_string_equal(mailout_smtp_stage_name(MAILOUT_STAGE_RCPT), "RCPT");
    assert_string_equal(mailout_smtp_stage_name((mailout_smtp_stage)99), "?");
}

static void test_sticky(void **state)
{
    (void)state;
    hrun *r = malloc(sizeof *r);
    static const hstep script[] = {S("220 x\r\n"), C("EHLO client.example\r\n"), S("554 no\r\n"), END()};
    hmode m = {0, 0, 0, 0};
    reset_want(MAILOUT_TLS_IMPLICIT);
    setup(r);
    hrun_go(r, script, &m, 1);
    mailout_smtp *s = r->s;
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_status(s));
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_in_ack(s, 1));
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_out_ack(s, 0));
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_abort(s, MAILOUT_E_CLOSED));
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_tls_done(s, MAILOUT_OK));
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_submit(s, &r->jobs[0]));
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_quit(s));
    mailout_smtp_set_time(s, UINT64_MAX - 1);
    assert_status(MAILOUT_E_REJ_PERM, mailout_smtp_status(s));
    size_t len;
    assert_null(mailout_smtp_out_buf(s, &len));
    assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_NONE);
    hrun_free(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_no_pipelining),
        cmocka_unit_test(test_happy_pipelining),
        cmocka_unit_test(test_no_pipelining_option),
        cmocka_unit_test(test_starttls_forgets_caps),
        cmocka_unit_test(test_starttls_caps_getter),
        cmocka_unit_test(test_implicit_tls),
        cmocka_unit_test(test_starttls_stripped),
        cmocka_unit_test(test_starttls_refused),
        cmocka_unit_test(test_starttls_bytes_after_220),
        cmocka_unit_test(test_starttls_handshake_fails),
        cmocka_unit_test(test_ehlo_refused_no_helo_under_tls),
        cmocka_unit_test(test_ehlo_refused_helo_when_plain),
        cmocka_unit_test(test_greeting_errors),
        cmocka_unit_test(test_ehlo_errors),
        cmocka_unit_test(test_unsolicited),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_deadline_values),
        cmocka_unit_test(test_quit_edges),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
