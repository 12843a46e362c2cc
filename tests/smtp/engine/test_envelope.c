/*
 * The envelope and its parameters: validation before any byte (controls,
 * CR/LF, spaces, <>, lengths, 512-octet commands), SIZE, SMTPUTF8,
 * 8BITMIME, DSN parameters and xtext.
 */
#include "txn_common.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- envelope and parameters ---- */

static void test_mail_params(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO("250-x\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com> SIZE=7 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+2B1+3D2\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<b+x=y@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;b+2Bx+3Dy@example.org\r\n"),
        S("250 ok\r\n"),
        C("DATA\r\n"), S("354 go\r\n"), C("Hello\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    static const char *const rc[] = {"b+x=y@example.org", NULL};
    reset();
    want.rcpt = rc;
    want.is8 = 1;
    want.smtputf8 = 1;
    want.notify = MAILOUT_NOTIFY_SUCCESS | MAILOUT_NOTIFY_FAILURE | MAILOUT_NOTIFY_DELAY;
    want.ret = MAILOUT_DSN_RET_HDRS;
    want.envid = "id+1=2";
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    run(script);
    /* without DSN offered the DSN parameters are left out */
    static const hstep nodsn[] = {
        HELLO("250 x\r\n"), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<b+x=y@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
        C("Hello\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    want.is8 = 0;
    want.smtputf8 = 0;
    run(nodsn);
    /* NEVER alone; UTF-8 address: ORCPT=utf-8; with RFC 6533's unitext
     * ('+', '=', and a quoted part's space and backslash as \x{HEX},
     * UTF-8 as it is) */
    static const hstep never[] = {
        HELLO("250-x\r\n250-SMTPUTF8\r\n250 DSN\r\n"), SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com> SMTPUTF8\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<j\xc3\xb6rg+a=b@example.org> NOTIFY=NEVER ORCPT=utf-8;j\xc3\xb6rg\\x{2B}a\\x{3D}b@example.org\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<\"j\xc3\xb6 r\\\\g\"@example.org> NOTIFY=NEVER ORCPT=utf-8;\"j\xc3\xb6\\x{20}r\\x{5C}\\x{5C}g\"@example.org\r\n"),
        S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C("Hello\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    static const char *const utf[] = {"j\xc3\xb6rg+a=b@example.org", "\"j\xc3\xb6 r\\\\g\"@example.org", NULL};
    reset();
    want.rcpt = utf;
    want.notify = MAILOUT_NOTIFY_NEVER;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 2;
    run(never);
}

static void test_null_sender_and_quoted(void **state)
{
    (void)state;
    static const hstep script[] = {
        HELLO(PLAIN_EHLO), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<>\r\n"), S("250 ok\r\n"),
        C("RCPT TO:<\"a b\"@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
        C("Hello\r\n.\r\n"), S("250 ok\r\n"), BYE,
    };
    static const char *const rc[] = {"\"a b\"@example.org", NULL};
    reset();
    want.from = "";
    want.rcpt = rc;
    want.stage = MAILOUT_STAGE_END;
    want.code = 250;
    want.ok = 1;
    run(script);
}

/* Every refusal happens before any byte; the session stays usable. */
static void submit_refused(const char *from, const char *rcpt, mailout_status exp, const char *ehlo_caps)
{
    unsigned notify = want.notify;
    const char *envid = want.envid;
    hrun *r = malloc(sizeof *r);
    const char *rc[] = {rcpt, NULL};
    reset();
    want.from = from;
    want.rcpt = rc;
    want.notify = notify;
    want.envid = envid;
    setup(r);
    mailout_allocator a = mailout_heap_allocator();
    assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, 0));
    mailout_smtp *s = r->s;
    const char *ehlo = ehlo_caps ? ehlo_caps : "250 x\r\n";
    size_t cap, len;
    memcpy(mailout_smtp_in_buf(s, &cap), "220 x\r\n", 7);
    assert_status(MAILOUT_OK, mailout_smtp_in_ack(s, 7));
    assert_non_null(mailout_smtp_out_buf(s, &len));
    assert_status(MAILOUT_OK, mailout_smtp_out_ack(s, len));
    memcpy(mailout_smtp_in_buf(s, &cap), ehlo, strlen(ehlo));
    assert_status(MAILOUT_OK, mailout_smtp_in_ack(s, strlen(ehlo)));
    assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_IDLE);
    assert_status(exp, mailout_smtp_submit(s, &r->jobs[0]));
    if (exp == MAILOUT_OK) {
        const unsigned char *p = mailout_smtp_out_buf(s, &len);
        assert_non_null(p);
        assert_true(len > 11 && memcmp(p, "MAIL FROM:<", 11) == 0);
    } else {
        assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_IDLE);
        assert_null(mailout_smtp_out_buf(s, &len));
        assert_int_equal(r->bodies[0].starts, exp == MAILOUT_E_ADDRESS || exp == MAILOUT_E_SMTPUTF8 ? 0 : 1);
        assert_status(MAILOUT_OK, mailout_smtp_quit(s));
    }
    hrun_free(r);
    free(r);
}

static void test_envelope_injection(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a@b.c\r\nDATA", "a@b.c\nRSET", "a@b.c\r", "a\x1b@b.c", "a\x7f@b.c", "a@b\x01.c", "a b@c.d",
        "<a@b.c>", "<<a@b.c>>", "a@b.c>x", "a@b.c> NOTIFY=SUCCESS\r\nRSET", "a@b.c NOTIFY=SUCCESS", "",
        "abc", "@b.c", "a@", "a@b c", "\"a@b.c", "\"a\"b\"@c.d", "a(x)@b.c", "a@[1.2.3.4", "a@b_c.d",
        "a@b.c\t", "\xff@b.c", "\xc3@b.c", "a@\xc0\xaf.c",
        /* a '>' inside a literal or a quoted local part would end the path
         * early for a server that looks for the first '>' (fuzzer find) */
        "a@[x>SIZE=1]", "a@[1.2.3.4>]", "a@[<]", "a@[1.2.3.4] ", "a@[a\\b]", "a@[a_b]", "a@[]",
        /* the message layer's rule too (mailout_addr_ok): atoms between
         * single dots, no empty label in the domain */
        "a..b@c.d", ".a@b.c", "a.@b.c", "a@b..c", "a@.b.c", "a@b.c.",
        "\"a>b\"@c.d", "\"a<b\"@c.d",
        "\"a\\> SIZE=1\"@c.d", "\"\\<\"@c.d", "\"\\>\"@c.d", "\"\"@c.d", "=?utf-8?q?a?=@c.d", "a@-c.d", "a@c-.d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        submit_refused("alice@example.com", bad[i], MAILOUT_E_ADDRESS, NULL);
        if (bad[i][0])
            submit_refused(bad[i], "bob@example.org", MAILOUT_E_ADDRESS, NULL);
    }
    /* DSN parameters: ENVID with controls or spaces, NOTIFY combinations */
    static const char *const bad_envid[] = {"a\r\nRSET", "a b", "a\x7f", "", "x\x01"};
    for (size_t i = 0; i < sizeof bad_envid / sizeof bad_envid[0]; i++) {
        reset();
        want.envid = bad_envid[i];
        hrun *r = malloc(sizeof *r);
        static const char *const rc[] = {"bob@example.org", NULL};
        hstep script[] = {HELLO("250-x\r\n250 DSN\r\n"), SUBMIT(0, MAILOUT_E_INVAL), BYE};
        want.rcpt = rc;
        setup(r);
        hmode m = {0, 0, 0, 0};
        hrun_go(r, script, &m, 0);
        hrun_free(r);
        free(r);
    }
    static const unsigned bad_notify[] = {MAILOUT_NOTIFY_NEVER | MAILOUT_NOTIFY_SUCCESS, 16, 0x80000000u};
    for (size_t i = 0; i < 3; i++) {
        reset();
        hrun *r = malloc(sizeof *r);
        hstep script[] = {HELLO("250-x\r\n250 DSN\r\n"), SUBMIT(0, MAILOUT_E_INVAL), BYE};
        want.notify = bad_notify[i];
        setup(r);
        hmode m = {0, 0, 0, 0};
        hrun_go(r, script, &m, 0);
        hrun_free(r);
        free(r);
    }
}

static void test_address_literals(void **state)
{
    (void)state;
    static const char *const good[] = {"a@[127.0.0.1]", "a@[IPv6:2001:db8::1]", "a@[IPv6:::ffff:10.0.0.1]",
                                       "a@[x-tag:abc.def]"};
    reset();
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        submit_refused("alice@example.com", good[i], MAILOUT_OK, NULL);
        submit_refused(good[i], "bob@example.org", MAILOUT_OK, NULL);
    }
}

static void test_address_limits(void **state)
{
    (void)state;
    reset();
    char addr[300];
    /* local part 64 ok, 65 not */
    memset(addr, 'l', 64);
    strcpy(addr + 64, "@example.org");
    submit_refused("alice@example.com", addr, MAILOUT_OK, NULL);
    memset(addr, 'l', 65);
    strcpy(addr + 65, "@example.org");
    submit_refused("alice@example.com", addr, MAILOUT_E_ADDRESS, NULL);
    /* 254 ok, 255 not (labels of at most 63 octets: a dot every 60) */
    memset(addr, 'd', sizeof addr);
    memcpy(addr, "x@", 2);
    for (size_t i = 62; i < sizeof addr; i += 61)
        addr[i] = '.';
    addr[254] = '\0';
    submit_refused("alice@example.com", addr, MAILOUT_OK, NULL);
    addr[254] = 'd';
    addr[255] = '\0';
    submit_refused("alice@example.com", addr, MAILOUT_E_ADDRESS, NULL);
    /* a 254-byte address full of '+' fits alone, but its ORCPT xtext does
     * not fit in 512 octets: refused before anything is sent */
    memset(addr, '+', 64);
    memcpy(addr + 64, "@", 1);
    memset(addr + 65, 'd', 189);
    for (size_t i = 125; i < 254; i += 61)
        addr[i] = '.';
    addr[254] = '\0';
    reset();
    want.notify = MAILOUT_NOTIFY_FAILURE;
    submit_refused("alice@example.com", addr, MAILOUT_E_INVAL, "250-x\r\n250 DSN\r\n");
    reset();
    submit_refused("alice@example.com", addr, MAILOUT_OK, "250 x\r\n");
}

static void test_smtputf8_required(void **state)
{
    (void)state;
    reset();
    submit_refused("alice@example.com", "j\xc3\xb6rg@example.org", MAILOUT_E_SMTPUTF8, NULL);
    submit_refused("\xe5\xb0\x8f@example.com", "bob@example.org", MAILOUT_E_SMTPUTF8, NULL);
    submit_refused("alice@b\xc3\xbc\x63her.example", "bob@example.org", MAILOUT_E_SMTPUTF8, NULL);
    submit_refused("alice@example.com", "j\xc3\xb6rg@example.org", MAILOUT_OK, "250-x\r\n250 SMTPUTF8\r\n");
    /* the job says it needs it (headers) */
    hrun *r = malloc(sizeof *r);
    hstep script[] = {HELLO("250 x\r\n"), SUBMIT(0, MAILOUT_E_SMTPUTF8), BYE};
    reset();
    setup(r);
    r->jobs[0].smtputf8 = 1;
    hmode m = {0, 0, 0, 0};
    hrun_go(r, script, &m, 0);
    hrun_free(r);
    free(r);
}

static void size_case(const char *ehlo, size_t body_len, mailout_status exp, int is8)
{
    static char body[2000];
    memset(body, 'z', body_len);
    body[body_len] = '\0';
    hrun *r = malloc(sizeof *r);
    hstep script[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), {ST_S, ehlo, strlen(ehlo), 0, 0}, SUBMIT(0, 0), BYE,
    };
    script[3].status = exp;
    reset();
    want.body = body;
    setup(r);
    r->bodies[0].is8 = is8;
    hmode m = {0, 0, 0, 0};
    hrun_go(r, script, &m, 0);
    hrun_free(r);
    free(r);
}

static void test_size_refusal(void **state)
{
    (void)state;
    /* over the limit: nothing sent */
    {
        static char body[102];
        memset(body, 'z', 101);
        hrun *h = malloc(sizeof *h);
        hstep script[] = {HELLO("250-x\r\n250 SIZE 100\r\n"), SUBMIT(0, MAILOUT_E_SIZE), BYE};
        reset();
        want.body = body;
        setup(h);
        hmode m = {0, 0, 0, 0};
        hrun_go(h, script, &m, 0);
        hrun_free(h);
        free(h);
    }
    {
        /* exactly the limit: SIZE= exact */
        static char body[101];
        memset(body, 'z', 100);
        static char exp_body[110];
        snprintf(exp_body, sizeof exp_body, "%s\r\n.\r\n", body);
        hstep script[] = {
            HELLO("250-x\r\n250 SIZE 100\r\n"), SUBMIT(0, MAILOUT_OK), C("MAIL FROM:<alice@example.com> SIZE=100\r\n"),
            S("250 ok\r\n"), C("RCPT TO:<bob@example.org>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
            {ST_C, exp_body, strlen(exp_body), 0, 0}, S("250 ok\r\n"), BYE,
        };
        reset();
        want.body = body;
        want.stage = MAILOUT_STAGE_END;
        want.code = 250;
        want.ok = 1;
        run(script);
    }
    /* 8-bit body without 8BITMIME: refused before sending */
    size_case("250 x\r\n", 10, MAILOUT_E_8BIT, 1);
}

static void test_submit_state(void **state)
{
    (void)state;
    mailout_allocator a = mailout_heap_allocator();
    hrun *r = malloc(sizeof *r);
    reset();
    setup(r);
    assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, 0));
    assert_status(MAILOUT_E_STATE, mailout_smtp_submit(r->s, &r->jobs[0]));
    assert_status(MAILOUT_E_INVAL, mailout_smtp_submit(r->s, NULL));
    hrun_free(r);
    /* a body whose start() fails: nothing sent, usable */
    hstep script[] = {HELLO("250 x\r\n"), SUBMIT(0, MAILOUT_E_FILE), BYE};
    reset();
    setup(r);
    r->bodies[0].start_st = MAILOUT_E_FILE;
    hmode m = {0, 0, 0, 0};
    hrun_go(r, script, &m, 0);
    assert_status(MAILOUT_OK, r->final);
    hrun_free(r);
    /* bad jobs */
    hstep script2[] = {HELLO("250 x\r\n"), SUBMIT(0, MAILOUT_E_INVAL), BYE};
    reset();
    setup(r);
    r->jobs[0].rcpt_count = 0;
    hrun_go(r, script2, &m, 0);
    hrun_free(r);
    reset();
    setup(r);
    r->jobs[0].mail_from = NULL;
    hrun_go(r, script2, &m, 0);
    hrun_free(r);
    reset();
    setup(r);
    r->jobs[0].rcpt_count = MAILOUT_MAX_RECIPIENTS + 1;
    hrun_go(r, script2, &m, 0);
    hrun_free(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_params),
        cmocka_unit_test(test_null_sender_and_quoted),
        cmocka_unit_test(test_envelope_injection),
        cmocka_unit_test(test_address_literals),
        cmocka_unit_test(test_address_limits),
        cmocka_unit_test(test_smtputf8_required),
        cmocka_unit_test(test_size_refusal),
        cmocka_unit_test(test_submit_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
