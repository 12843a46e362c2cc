/*
 * AUTH through the engine: each mechanism's exchange with RFC example
 * credentials (RFC 4616/4954 PLAIN, LOGIN, RFC 2195 CRAM-MD5, XOAUTH2,
 * RFC 7677 SCRAM-SHA-256 with its salt and iteration count), the
 * security rules (no credentials before TLS, no downgrade, "*" on a bad
 * challenge) and the trace, which must never show a secret.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const one_rcpt[] = {"bob@example.org", NULL};

static struct {
    mailout_tls_policy tls;
    const char *user, *password, *token;
    unsigned mechs;
    int plaintext_ok;
    mailout_status status;
    uint16_t code;
    const char *secrets[4]; /* must never appear in the trace */
} want;

static int fixed_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)i;
    return 0;
}

static void setup(hrun *r)
{
    hrun_init(r);
    r->cfg.tls = want.tls;
    r->cfg.user = want.user;
    r->cfg.password = want.password;
    r->cfg.oauth_token = want.token;
    r->cfg.auth_mechs = want.mechs;
    r->cfg.allow_plaintext_auth = want.plaintext_ok;
    r->cfg.random = fixed_random;
    hrun_job(r, 0, "tim@example.com", one_rcpt, "x");
}

static void check_secrets(hrun *r)
{
    for (size_t i = 0; i < 4 && want.secrets[i]; i++) {
        if (trace_has(r, want.secrets[i]))
            print_error("secret \"%s\" in trace:\n%s\n", want.secrets[i], r->trace);
        assert_false(trace_has(r, want.secrets[i]));
    }
}

static void check(hrun *r)
{
    assert_status(want.status, r->final);
    const mailout_result *f = mailout_smtp_failure(r->s);
    assert_status(want.status, f->status);
    if (want.status != MAILOUT_OK) {
        assert_int_equal(f->stage, MAILOUT_STAGE_AUTH);
        assert_int_equal(f->reply.code, want.code);
    }
    check_secrets(r);
}

static void reset(mailout_tls_policy tls, const char *user, const char *password, const char *token)
{
    memset(&want, 0, sizeof want);
    want.tls = tls;
    want.user = user;
    want.password = password;
    want.token = token;
}

static void run(const hstep *script)
{
    hrun_all(setup, script, want.tls == MAILOUT_TLS_IMPLICIT, 1, check);
}

/* the RFC 2195 credentials and their base64 forms */
#define TIM_PW "tanstaaftanstaaf"
#define TIM_PLAIN_B64 "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
#define TIM_PW_B64 "dGFuc3RhYWZ0YW5zdGFhZg=="

static void tim_secrets(void)
{
    want.secrets[0] = TIM_PW;
    want.secrets[1] = TIM_PLAIN_B64;
    want.secrets[2] = TIM_PW_B64;
    want.secrets[3] = "dGFuc3RhYWZ0YW5zdGFhZ"; /* any prefix of it */
}

static void test_plain(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH LOGIN PLAIN\r\n"),
        C("AUTH PLAIN " TIM_PLAIN_B64 "\r\n"),
        S("235 2.7.0 Authentication successful\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    tim_secrets();
    run(script);
    /* the trace says what happened, without the argument */
    hrun *r = malloc(sizeof *r);
    hmode m = {0, 0, 0, 0};
    setup(r);
    hrun_go(r, script, &m, 1);
    assert_true(trace_has(r, "C: AUTH PLAIN <redacted>\n"));
    assert_true(trace_has(r, "S: 235 2.7.0 Authentication successful\n"));
    hrun_free(r);
    free(r);
}

/* An allocator that remembers the engine's one block and, on release,
 * checks it was wiped: the credentials are gone from all of its memory. */
typedef struct wipe_alloc {
    unsigned char *block;
    size_t size;
    int released_clean;
} wipe_alloc;

static void *wa_alloc(void *ctx, size_t n)
{
    wipe_alloc *w = ctx;
    w->block = malloc(n);
    w->size = n;
    return w->block;
}

static void wa_release(void *ctx, void *p, size_t n)
{
    wipe_alloc *w = ctx;
    int clean = p == w->block && n == w->size;
    for (size_t i = 0; clean && i < n; i++)
        clean = w->block[i] == 0;
    w->released_clean = clean;
    free(p);
}

static int block_has(const wipe_alloc *w, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= w->size; i++)
        if (memcmp(w->block + i, s, n) == 0)
            return 1;
    return 0;
}

static void feed(mailout_smtp *s, const char *text)
{
    size_t cap;
    unsigned char *in = mailout_smtp_in_buf(s, &cap);
    assert_true(in != NULL && cap >= strlen(text));
    memcpy(in, text, strlen(text));
    assert_status(MAILOUT_OK, mailout_smtp_in_ack(s, strlen(text)));
}

static void drain(mailout_smtp *s, const char *expect)
{
    size_t len;
    const unsigned char *out = mailout_smtp_out_buf(s, &len);
    assert_bytes_equal(expect, strlen(expect), out, len);
    assert_status(MAILOUT_OK, mailout_smtp_out_ack(s, len));
}

/* Once AUTH is over, the base64 response is not left in the output buffer
 * behind the next commands, and freeing the engine wipes all of it. */
static void test_credentials_wiped(void **state)
{
    (void)state;
    wipe_alloc w = {NULL, 0, 0};
    mailout_allocator a = {wa_alloc, wa_release, &w};
    mailout_smtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.example";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.allow_plaintext_auth = 1;
    cfg.user = "tim";
    cfg.password = TIM_PW;
    cfg.auth_mechs = MAILOUT_AUTH_PLAIN;
    cfg.out_buf_size = 256;
    mailout_smtp *s;
    assert_status(MAILOUT_OK, mailout_smtp_new(&s, &cfg, &a, 0));
    feed(s, "220 x\r\n");
    drain(s, "EHLO client.example\r\n");
    feed(s, "250-x\r\n250 AUTH PLAIN\r\n");
    drain(s, "AUTH PLAIN " TIM_PLAIN_B64 "\r\n");
    assert_true(block_has(&w, TIM_PLAIN_B64)); /* the check can see it */
    feed(s, "235 ok\r\n");
    assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_IDLE);
    assert_false(block_has(&w, TIM_PLAIN_B64));
    assert_false(block_has(&w, "AHRpbQB0YW5zdGFh"));
    assert_status(MAILOUT_OK, mailout_smtp_quit(s));
    drain(s, "QUIT\r\n");
    mailout_smtp_free(s);
    assert_true(w.released_clean);
}

/* STARTTLS first: the AUTH offered in plaintext is not used before TLS. */
static void test_plain_after_starttls(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
        C("STARTTLS\r\n"),
        S("220 go\r\n"),
        TLS(MAILOUT_OK),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH=PLAIN\r\n"),
        C("AUTH PLAIN " TIM_PLAIN_B64 "\r\n"),
        S("235 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_REQUIRED, "tim", TIM_PW, NULL);
    tim_secrets();
    run(script);
}

static void test_login(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH LOGIN\r\n"),
        C("AUTH LOGIN\r\n"),
        S("334 VXNlcm5hbWU6\r\n"),
        C("dGlt\r\n"),
        S("334 UGFzc3dvcmQ6\r\n"),
        C(TIM_PW_B64 "\r\n"),
        S("235 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    tim_secrets();
    run(script);
}

static void test_login_extra_rounds(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH LOGIN\r\n"),
        C("AUTH LOGIN\r\n"),
        S("334 VXNlcm5hbWU6\r\n"),
        C("dGlt\r\n"),
        S("334 UGFzc3dvcmQ6\r\n"),
        C(TIM_PW_B64 "\r\n"),
        S("334 UGFzc3dvcmQ6\r\n"),
        C("*\r\n"),
        S("501 5.7.0 cancelled\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    tim_secrets();
    want.status = MAILOUT_E_AUTH;
    want.code = 501;
    run(script);
}

static void test_cram_md5(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n"),
        C("AUTH CRAM-MD5\r\n"),
        S("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
        C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
        S("235 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    tim_secrets();
    want.secrets[1] = "dGltIGI5MTNhNjAy"; /* the response either */
    run(script);
}

static void test_bad_challenge_cancels(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "334 !!!notbase64\r\n", "334 PDE4OTY\r\n", "334 PDE4OTYu=mk3\r\n", "334 \r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hstep script[] = {
            S("220 x\r\n"),
            C("EHLO client.example\r\n"),
            S("250-x\r\n250 AUTH CRAM-MD5\r\n"),
            C("AUTH CRAM-MD5\r\n"),
            {ST_S, bad[i], strlen(bad[i]), 0, 0},
            C("*\r\n"),
            S("501 cancelled\r\n"),
            END(),
        };
        reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
        want.status = MAILOUT_E_AUTH;
        want.code = 501;
        run(script);
    }
}

#define OAUTH_USER "someuser@example.com"
#define OAUTH_TOKEN "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
#define OAUTH_B64 "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="

static void test_xoauth2(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH PLAIN XOAUTH2\r\n"),
        C("AUTH XOAUTH2 " OAUTH_B64 "\r\n"),
        S("235 2.7.0 Accepted\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, OAUTH_USER, NULL, OAUTH_TOKEN);
    want.secrets[0] = OAUTH_TOKEN;
    want.secrets[1] = OAUTH_B64;
    want.secrets[2] = "dXNlcj1zb21ldXNlck";
    run(script);
}

/* The XOAUTH2 error dance: a JSON challenge, an empty answer, then 5xx. */
static void test_xoauth2_error(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH XOAUTH2\r\n"),
        C("AUTH XOAUTH2 " OAUTH_B64 "\r\n"),
        S("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=\r\n"),
        C("\r\n"),
        S("535 5.7.8 Username and Password not accepted\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, OAUTH_USER, NULL, OAUTH_TOKEN);
    want.secrets[0] = OAUTH_TOKEN;
    want.status = MAILOUT_E_AUTH;
    want.code = 535;
    run(script);
}

/* A 3000-byte token: the AUTH line would pass 512 octets, so the initial
 * response waits for "334 " and is streamed through any output buffer. */
static char long_token[3001];
static char long_line[8192];
static char long_script_auth[64];

static void test_xoauth2_long_token(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3000; i++)
        long_token[i] = (char)('a' + i % 26);
    char raw[3100];
    int n = snprintf(raw, sizeof raw, "user=%s\001auth=Bearer %s\001\001", OAUTH_USER, long_token);
    size_t b = mailout_b64_encode_block(raw, (size_t)n, long_line, sizeof long_line - 3);
    assert_true(b > 4000);
    memcpy(long_line + b, "\r\n", 3);
    snprintf(long_script_auth, sizeof long_script_auth, "AUTH XOAUTH2\r\n");
    hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH XOAUTH2\r\n"),
        {ST_C, long_script_auth, strlen(long_script_auth), 0, 0},
        S("334 \r\n"),
        {ST_C, long_line, b + 2, 0, 0},
        S("235 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, OAUTH_USER, NULL, long_token);
    want.secrets[0] = "abcdefghijklmnopqrstuvwxyz";
    want.secrets[1] = "dXNlcj1zb21ldXNlck";
    run(script);
}

/* RFC 7677's password, salt and iteration count; the client nonce comes
 * from the (fixed) random callback: base64 of bytes 0..23. Expected
 * messages computed independently (Python hashlib) from RFC 5802. */
#define SCRAM_C1 "biwsbj11c2VyLHI9QUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVg="
#define SCRAM_S1 "cj1BQUVDQXdRRkJnY0lDUW9MREEwT0R4QVJFaE1VRlJZWCVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY="
#define SCRAM_C2 "Yz1iaXdzLHI9QUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVglaHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1zMXRiWlNTQVRmNmdpOHdkN3d0V3BjNE82QWk0OXlQbGtJZDFEcmZZM1RzPQ=="
#define SCRAM_S2 "dj0vNGFFU1RTSWhob1JXQTNMeFE0ZXNyOGtWdEtsVFJTYkhuZ1VwZThoMm80PQ=="
#define SCRAM_S2_BAD "dj1BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBPQ=="

static void scram_setup(hrun *r)
{
    setup(r);
}

static void scram_run(const hstep *script)
{
    /* PBKDF2 with 4096 iterations per run: whole, bytewise, drain and a
     * handful of splits instead of every mode */
    hrun *r = malloc(sizeof *r);
    hmode modes[] = {{0, 0, 0, 0}, {0, 0, 0, 1}, {64, 1, 0, 0}, {0, 0, 3, 0}, {0, 0, 77, 0}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        scram_setup(r);
        hrun_go(r, script, &modes[i], 1);
        check(r);
        hrun_free(r);
    }
    free(r);
}

static void test_scram_sha256(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH PLAIN CRAM-MD5 SCRAM-SHA-256\r\n"),
        C("AUTH SCRAM-SHA-256 " SCRAM_C1 "\r\n"),
        S("334 " SCRAM_S1 "\r\n"),
        C(SCRAM_C2 "\r\n"),
        S("334 " SCRAM_S2 "\r\n"),
        C("\r\n"),
        S("235 2.7.0 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "user", "pencil", NULL);
    want.secrets[0] = "pencil";
    want.secrets[1] = SCRAM_C2;
    want.secrets[2] = "Yz1iaXdzLHI9";
    scram_run(script);
}

/* The server-final message on the 235 itself. */
static void test_scram_final_in_235(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH SCRAM-SHA-256\r\n"),
        C("AUTH SCRAM-SHA-256 " SCRAM_C1 "\r\n"),
        S("334 " SCRAM_S1 "\r\n"),
        C(SCRAM_C2 "\r\n"),
        S("235 2.7.0 " SCRAM_S2 "\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "user", "pencil", NULL);
    scram_run(script);
}

/* Bytes after a 334 in the same read: the SASL step runs once the read is
 * parsed (it borrows the receive buffer), so a shutdown that follows
 * wins, and a reply begun there is kept intact across the step. */
static void test_scram_trailing_reply(void **state)
{
    (void)state;
    static const hstep shutdown[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH SCRAM-SHA-256\r\n"),
        C("AUTH SCRAM-SHA-256 " SCRAM_C1 "\r\n"),
        S("334 " SCRAM_S1 "\r\n421 4.3.2 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "user", "pencil", NULL);
    want.status = MAILOUT_E_SERVER_SHUTDOWN;
    want.code = 421;
    want.secrets[0] = "pencil";
    scram_run(shutdown);
    static const hstep split[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH SCRAM-SHA-256\r\n"),
        C("AUTH SCRAM-SHA-256 " SCRAM_C1 "\r\n"),
        S("334 " SCRAM_S1 "\r\n42"),
        C(SCRAM_C2 "\r\n"),
        S("1 4.3.2 bye\r\n"),
        END(),
    };
    scram_run(split);
}

/* A server that cannot prove it knows the password is refused even
 * though it says 235. */
static void test_scram_bad_server_signature(void **state)
{
    (void)state;
    static const hstep bad_final[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH SCRAM-SHA-256\r\n"),
        C("AUTH SCRAM-SHA-256 " SCRAM_C1 "\r\n"),
        S("334 " SCRAM_S1 "\r\n"),
        C(SCRAM_C2 "\r\n"),
        S("334 " SCRAM_S2_BAD "\r\n"),
        C("*\r\n"),
        S("501 cancelled\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "user", "pencil", NULL);
    want.status = MAILOUT_E_AUTH;
    want.code = 501;
    scram_run(bad_final);
    static const hstep no_final[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH SCRAM-SHA-256\r\n"),
        C("AUTH SCRAM-SHA-256 " SCRAM_C1 "\r\n"),
        S("334 " SCRAM_S1 "\r\n"),
        C(SCRAM_C2 "\r\n"),
        S("235 2.7.0 Authentication successful\r\n"),
        END(),
    };
    want.code = 235;
    scram_run(no_final);
}

/* ---- refusals and failures ---- */

static void test_refused_without_tls(void **state)
{
    (void)state;
    /* SECURITY-RULES A.10: nothing after EHLO */
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH PLAIN LOGIN\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_NONE, "tim", TIM_PW, NULL);
    want.status = MAILOUT_E_AUTH_INSECURE;
    run(script);
    /* after a HELO fallback too */
    static const hstep helo[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("500 no\r\n"), C("HELO client.example\r\n"),
        S("250 x\r\n"), END(),
    };
    run(helo);
}

static void test_plaintext_allowed(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH LOGIN PLAIN\r\n"),
        C("AUTH PLAIN " TIM_PLAIN_B64 "\r\n"),
        S("235 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_NONE, "tim", TIM_PW, NULL);
    want.plaintext_ok = 1;
    run(script);
}

static void test_unsupported(void **state)
{
    (void)state;
    static const char *const ehlo[] = {
        "250-x\r\n250 AUTH GSSAPI NTLM\r\n",
        "250-x\r\n250 8BITMIME\r\n",
        "250 x\r\n",
        "250-x\r\n250 AUTHX PLAIN\r\n",
    };
    for (size_t i = 0; i < sizeof ehlo / sizeof ehlo[0]; i++) {
        hstep script[] = {S("220 x\r\n"), C("EHLO client.example\r\n"), {ST_S, ehlo[i], strlen(ehlo[i]), 0, 0},
                          END()};
        reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
        want.status = MAILOUT_E_AUTH_UNSUPPORTED;
        run(script);
    }
    /* allowed mechanisms exclude what is offered */
    static const hstep script[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("250-x\r\n250 AUTH PLAIN LOGIN\r\n"), END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    want.mechs = MAILOUT_AUTH_CRAM_MD5 | MAILOUT_AUTH_SCRAM_SHA256;
    want.status = MAILOUT_E_AUTH_UNSUPPORTED;
    run(script);
    /* a token but only password mechanisms */
    reset(MAILOUT_TLS_IMPLICIT, OAUTH_USER, NULL, OAUTH_TOKEN);
    want.status = MAILOUT_E_AUTH_UNSUPPORTED;
    run(script);
}

static void test_auth_replies(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        mailout_status st;
        uint16_t code;
    } v[] = {
        {"535 5.7.8 Authentication credentials invalid\r\n", MAILOUT_E_AUTH, 535},
        {"534 5.7.9 Authentication mechanism is too weak\r\n", MAILOUT_E_AUTH, 534},
        {"504 5.5.4 Unrecognized authentication type\r\n", MAILOUT_E_AUTH, 504},
        {"454 4.7.0 Temporary authentication failure\r\n", MAILOUT_E_AUTH_TEMP, 454},
        {"432 4.7.12 A password transition is needed\r\n", MAILOUT_E_AUTH_TEMP, 432},
        {"421 4.3.2 going down\r\n", MAILOUT_E_SERVER_SHUTDOWN, 421},
        {"250 ok\r\n", MAILOUT_E_PROTO, 250},
        {"235-ok\r\n236 ok\r\n", MAILOUT_E_PROTO, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        /* LOGIN is offered too: after a failure nothing else is tried */
        hstep script[] = {
            S("220 x\r\n"),
            C("EHLO client.example\r\n"),
            S("250-x\r\n250 AUTH LOGIN PLAIN\r\n"),
            C("AUTH PLAIN " TIM_PLAIN_B64 "\r\n"),
            {ST_S, v[i].in, strlen(v[i].in), 0, 0},
            END(),
        };
        reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
        tim_secrets();
        want.status = v[i].st;
        want.code = v[i].code;
        run(script);
    }
    /* multi-line 235 is fine */
    static const hstep ml[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("250-x\r\n250 AUTH PLAIN\r\n"),
        C("AUTH PLAIN " TIM_PLAIN_B64 "\r\n"), S("235-ok\r\n235 ok\r\n"), QUIT(), C("QUIT\r\n"), S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    run(ml);
    static const hstep dropped[] = {
        S("220 x\r\n"), C("EHLO client.example\r\n"), S("250-x\r\n250 AUTH PLAIN\r\n"),
        C("AUTH PLAIN " TIM_PLAIN_B64 "\r\n"), ABORT(MAILOUT_E_CLOSED), END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    want.status = MAILOUT_E_CLOSED;
    run(dropped);
}

/* A password too long for the AUTH line: "AUTH PLAIN", then the response. */
static char long_pw[701];
static char long_plain[2048];

static void test_plain_long(void **state)
{
    (void)state;
    memset(long_pw, 'p', 700);
    char raw[800];
    raw[0] = 0;
    memcpy(raw + 1, "tim", 3);
    raw[4] = 0;
    memcpy(raw + 5, long_pw, 700);
    size_t b = mailout_b64_encode_block(raw, 705, long_plain, sizeof long_plain - 3);
    memcpy(long_plain + b, "\r\n", 3);
    hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250 AUTH PLAIN\r\n"),
        C("AUTH PLAIN\r\n"),
        S("334 \r\n"),
        {ST_C, long_plain, b + 2, 0, 0},
        S("235 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", long_pw, NULL);
    want.secrets[0] = "pppppppp";
    want.secrets[1] = "cHBwcHBw";
    run(script);
}

/* AUTH happens once; messages follow. */
static void test_auth_then_mail(void **state)
{
    (void)state;
    static const hstep script[] = {
        S("220 x\r\n"),
        C("EHLO client.example\r\n"),
        S("250-x\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"),
        C("AUTH PLAIN " TIM_PLAIN_B64 "\r\n"),
        S("235 ok\r\n"),
        SUBMIT(0, MAILOUT_OK),
        C("MAIL FROM:<tim@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
        S("250 ok\r\n250 ok\r\n354 go\r\n"),
        C("x\r\n.\r\n"),
        S("250 ok\r\n"),
        QUIT(),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
        END(),
    };
    reset(MAILOUT_TLS_IMPLICIT, "tim", TIM_PW, NULL);
    tim_secrets();
    run(script);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_credentials_wiped),
        cmocka_unit_test(test_plain_after_starttls),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_login_extra_rounds),
        cmocka_unit_test(test_cram_md5),
        cmocka_unit_test(test_bad_challenge_cancels),
        cmocka_unit_test(test_xoauth2),
        cmocka_unit_test(test_xoauth2_error),
        cmocka_unit_test(test_xoauth2_long_token),
        cmocka_unit_test(test_scram_sha256),
        cmocka_unit_test(test_scram_final_in_235),
        cmocka_unit_test(test_scram_trailing_reply),
        cmocka_unit_test(test_scram_bad_server_signature),
        cmocka_unit_test(test_refused_without_tls),
        cmocka_unit_test(test_plaintext_allowed),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_auth_replies),
        cmocka_unit_test(test_plain_long),
        cmocka_unit_test(test_auth_then_mail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
