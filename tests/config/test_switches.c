/*
 * The engine's protocol switches compiled out (config-minimal.h:
 * MAILOUT_ENABLE_STARTTLS, _ENHANCEDSTATUSCODES, _SIZE and _SMTPUTF8 all
 * 0): what needs them is refused with the exact status before a byte is
 * sent, never quietly done another way, and the rest of the session is
 * byte for byte what it was. Built from the core's sources with the
 * configuration's defines, like test_config.c.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

#include "encode/header.h"

#if MAILOUT_ENABLE_STARTTLS || MAILOUT_ENABLE_ENHANCEDSTATUSCODES || MAILOUT_ENABLE_SIZE ||                     \
    MAILOUT_ENABLE_SMTPUTF8
#error "this test is for builds without STARTTLS, enhanced status codes, SIZE and SMTPUTF8"
#endif

#define expect_st(got, exp) assert_status((exp), (got))

static mailout_smtp_config base_config(mailout_tls_policy tls)
{
    mailout_smtp_config c;
    memset(&c, 0, sizeof c);
    c.ehlo_name = "client.example";
    c.tls = tls;
    return c;
}

/* ---- STARTTLS ---------------------------------------------------------- */

/* A TLS requirement the build cannot meet is refused when the session is
 * made: no session, so no plaintext byte can follow (SECURITY-RULES 2.1). */
static void test_starttls_required_refused(void **state)
{
    (void)state;
    mailout_allocator a = mailout_heap_allocator();
    mailout_smtp *s = (mailout_smtp *)(void *)&a; /* must stay untouched */
    mailout_smtp *const canary = s;
    mailout_smtp_config c = base_config(MAILOUT_TLS_REQUIRED);
    expect_st(mailout_smtp_new(&s, &c, &a, 0), MAILOUT_E_UNSUPPORTED);
    assert_ptr_equal(s, canary);
    /* also when the caller claims TLS is up: REQUIRED means STARTTLS */
    expect_st(mailout_smtp_new(&s, &c, &a, 1), MAILOUT_E_UNSUPPORTED);
    assert_ptr_equal(s, canary);
    /* the checks before it keep their order: an invalid policy is E_INVAL */
    c.tls = (mailout_tls_policy)3;
    expect_st(mailout_smtp_new(&s, &c, &a, 0), MAILOUT_E_INVAL);
    c = base_config(MAILOUT_TLS_IMPLICIT);
    expect_st(mailout_smtp_new(&s, &c, &a, 0), MAILOUT_E_INVAL);
    c = base_config(MAILOUT_TLS_REQUIRED);
    c.ehlo_name = NULL;
    expect_st(mailout_smtp_new(&s, &c, &a, 0), MAILOUT_E_INVAL);
    assert_ptr_equal(s, canary);
}

/* Implicit TLS (the transport's) and plaintext still work; tls_done() is
 * compiled out. */
static void test_starttls_other_policies(void **state)
{
    (void)state;
    mailout_allocator a = mailout_heap_allocator();
    mailout_smtp *s = NULL;
    mailout_smtp_config c = base_config(MAILOUT_TLS_IMPLICIT);
    expect_st(mailout_smtp_new(&s, &c, &a, 1), MAILOUT_OK);
    expect_st(mailout_smtp_tls_done(s, MAILOUT_OK), MAILOUT_E_UNSUPPORTED);
    expect_st(mailout_smtp_status(s), MAILOUT_OK);
    assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_READ);
    mailout_smtp_free(s);
    c = base_config(MAILOUT_TLS_NONE);
    expect_st(mailout_smtp_new(&s, &c, &a, 0), MAILOUT_OK);
    expect_st(mailout_smtp_tls_done(s, MAILOUT_OK), MAILOUT_E_UNSUPPORTED);
    mailout_smtp_free(s);
    expect_st(mailout_smtp_tls_done(NULL, MAILOUT_OK), MAILOUT_E_INVAL);
}

static void setup_plain(hrun *r)
{
    static const char *const rcpt[] = {"bob@example.org", NULL};
    hrun_init(r);
    hrun_job(r, 0, "alice@example.com", rcpt, "Hi\r\n");
}

static void check_ok(hrun *r)
{
    expect_st(r->final, MAILOUT_OK);
    const mailout_result *res = mailout_smtp_result(r->s);
    expect_st(res->status, MAILOUT_OK);
    assert_int_equal(res->rcpt_ok, 1);
}

static void check_helo(hrun *r)
{
    expect_st(r->final, MAILOUT_OK);
    assert_int_equal(mailout_smtp_caps(r->s, NULL, NULL), 0); /* HELO: no extensions */
}

/* STARTTLS offered to a plaintext session: never sent; a refused EHLO
 * falls back to HELO (plaintext only: nothing is required here). */
static void test_starttls_offered_plaintext(void **state)
{
    (void)state;
    static const hstep offered[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 STARTTLS\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"),
        S("250 ok\r\n"),
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("Hi\r\n.\r\n"),
        S("250 queued\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    hrun_all(setup_plain, offered, 0, 1, check_ok);
    static const hstep helo[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("502 no EHLO\r\n"),
        C("HELO client.example\r\n"),
        S("250 x\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    hrun_all(setup_plain, helo, 0, 1, check_helo);
}

/* ---- enhanced status codes ---------------------------------------------- */

static void check_refused_mail(hrun *r)
{
    const mailout_result *res = mailout_smtp_result(r->s);
    expect_st(r->final, MAILOUT_OK);
    expect_st(res->status, MAILOUT_E_REJ_PERM);
    assert_int_equal(res->stage, MAILOUT_STAGE_MAIL);
    assert_int_equal(res->reply.code, 550);
    /* not parsed: the fields stay 0, the text keeps the code */
    assert_int_equal(res->reply.enh_class, 0);
    assert_int_equal(res->reply.enh_subject, 0);
    assert_int_equal(res->reply.enh_detail, 0);
    assert_string_equal(res->reply.text, "5.1.8 bad sender");
}

static void test_enhanced_codes_not_parsed(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 ENHANCEDSTATUSCODES\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("550 5.1.8 bad sender\r\n"),
        C("RSET\r\n"),
        S("250 2.0.0 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 2.0.0 bye\r\n"),
        END(),
    };
    hrun_all(setup_plain, script, 0, 1, check_refused_mail);
}

/* ---- SIZE ------------------------------------------------------------- */

static void setup_big(hrun *r)
{
    static const char *const rcpt[] = {"bob@example.org", NULL};
    hrun_init(r);
    hrun_job(r, 0, "alice@example.com", rcpt, "0123456789abcdef\r\n"); /* 18 bytes */
}

static void check_big(hrun *r)
{
    uint64_t limit = 1;
    check_ok(r);
    assert_int_equal(mailout_smtp_caps(r->s, &limit, NULL), 0); /* not looked for */
    assert_int_equal(limit, 0); /* not read */
}

/* The server's limit is not read: no early MAILOUT_E_SIZE and no SIZE=;
 * the server decides. */
static void test_size_not_used(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 SIZE 10\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"),
        S("250 ok\r\n"),
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("0123456789abcdef\r\n.\r\n"),
        S("250 queued\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    hrun_all(setup_big, script, 0, 1, check_big);
}

/* ---- SMTPUTF8 ------------------------------------------------------------ */

static void setup_utf8(hrun *r)
{
    static const char *const utf8_rcpt[] = {"ok@example.org", "j\xc3\xbcrgen@example.org", NULL};
    static const char *const ascii_rcpt[] = {"bob@example.org", NULL};
    static const char *const bad_then_utf8[] = {"no-at-sign", "j\xc3\xbcrgen@example.org", NULL};
    hrun_init(r);
    hrun_job(r, 0, "alice@example.com", utf8_rcpt, "Hi\r\n");
    hrun_job(r, 1, "\xc3\xa4@example.com", ascii_rcpt, "Hi\r\n");
    hrun_job(r, 2, "alice@example.com", ascii_rcpt, "Hi\r\n");
    r->jobs[2].smtputf8 = 1;
    hrun_job(r, 3, "alice@example.com", bad_then_utf8, "Hi\r\n");
}

static void check_utf8(hrun *r)
{
    expect_st(r->final, MAILOUT_OK);
    assert_int_equal(r->bodies[0].starts + r->bodies[1].starts + r->bodies[2].starts, 0);
    assert_int_equal(r->bodies[3].starts, 0);
}

/* A job that needs SMTPUTF8 (a UTF-8 address, or asked for) is refused
 * before anything is sent, even when the server offers it; the session
 * stays usable. */
static void test_smtputf8_refused(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 SMTPUTF8\r\n"),
        SUBMIT(0, MAILOUT_E_UNSUPPORTED),
        SUBMIT(1, MAILOUT_E_UNSUPPORTED),
        SUBMIT(2, MAILOUT_E_UNSUPPORTED),
        SUBMIT(3, MAILOUT_E_ADDRESS), /* a malformed address before it */
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    hrun_all(setup_utf8, script, 0, 1, check_utf8);
}

/* The shared address rule takes printable ASCII only. */
static void test_smtputf8_addresses(void **state)
{
    (void)state;
    assert_int_equal(mailout_addr_ok("bob@example.org", 15), 1);
    assert_int_equal(mailout_addr_ok("j\xc3\xbcrgen@example.org", 19), 0);
    assert_int_equal(mailout_addr_ok("bob@b\xc3\xbc.example", 15), 0);
    assert_int_equal(mailout_addr_ok("b\x7f@example.org", 14), 0);
    assert_int_equal(mailout_addr_ok("b\x1f@example.org", 14), 0);
    assert_int_equal(mailout_addr_ok("\"b c\"@example.org", 17), 1);
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m = NULL;
    expect_st(mailout_msg_new(&m, &a), MAILOUT_OK);
    expect_st(mailout_msg_add_recipient(m, MAILOUT_TO, "j\xc3\xbcrgen@example.org", NULL), MAILOUT_E_ADDRESS);
    expect_st(mailout_msg_add_recipient(m, MAILOUT_TO, "bob@example.org", NULL), MAILOUT_OK);
    mailout_msg_free(m);
}

/* ---- DSN (compiled out in config-minimal.h) ----------------------------- */

#if MAILOUT_ENABLE_DSN
#error "this test is for builds without DSN"
#endif

/* Without DSN a job's DSN fields are ignored: never sent, so not checked
 * either (a build with DSN refuses these with MAILOUT_E_INVAL). */
static void setup_dsn(hrun *r)
{
    setup_plain(r);
    r->jobs[0].dsn_notify = 0xff;
    r->jobs[0].dsn_ret = (mailout_dsn_ret)7;
    r->jobs[0].dsn_envid = "with space\r\n";
}

static void test_dsn_fields_ignored(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 DSN\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<alice@example.com>\r\n"),
        S("250 ok\r\n"),
        C("RCPT TO:<bob@example.org>\r\n"),
        S("250 ok\r\n"),
        C("DATA\r\n"),
        S("354 go\r\n"),
        C("Hi\r\n.\r\n"),
        S("250 queued\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    hrun_all(setup_dsn, script, 0, 1, check_ok);
}

/* ---- what mailout_smtp_caps() reports ---------------------------------- */

static void check_caps(hrun *r)
{
    uint64_t limit = 1;
    unsigned auth = 0;
    expect_st(r->final, MAILOUT_OK);
    /* only the extensions this build uses: not STARTTLS, PIPELINING,
     * SMTPUTF8, CHUNKING, SIZE, DSN or ENHANCEDSTATUSCODES */
    assert_int_equal(mailout_smtp_caps(r->s, &limit, &auth), MAILOUT_CAP_8BITMIME | MAILOUT_CAP_AUTH);
    assert_int_equal(limit, 0);
    assert_int_equal(auth, MAILOUT_AUTH_PLAIN | MAILOUT_AUTH_CRAM_MD5);
}

static void test_caps_of_this_build(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250-STARTTLS\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
          "250-SIZE 10\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250- \r\n250-=\r\n250-  =  \r\n"
          "250 AUTH CRAM-MD5 PLAIN\r\n"), /* (the blank and '=' lines: never a compiled-out keyword) */
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    hrun_all(setup_plain, script, 0, 1, check_caps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_required_refused),
        cmocka_unit_test(test_starttls_other_policies),
        cmocka_unit_test(test_starttls_offered_plaintext),
        cmocka_unit_test(test_enhanced_codes_not_parsed),
        cmocka_unit_test(test_size_not_used),
        cmocka_unit_test(test_smtputf8_refused),
        cmocka_unit_test(test_smtputf8_addresses),
        cmocka_unit_test(test_caps_of_this_build),
        cmocka_unit_test(test_dsn_fields_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
