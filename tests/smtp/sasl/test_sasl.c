/*
 * SASL mechanisms (lib/smtp/sasl.h): the RFC examples byte for byte
 * (RFC 4616 PLAIN, RFC 4954 LOGIN/PLAIN, RFC 2195 CRAM-MD5, Google's
 * XOAUTH2 example, RFC 7677 §3 SCRAM-SHA-256), every SCRAM failure path,
 * argument checks, pick() order, names and wiping.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "smtp/sasl.h"

/* ---- helpers ------------------------------------------------------------ */

/* Concatenate the segments (checking the segment rules) into buf. */
static size_t flat(const mailout_sasl_out *o, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    assert_true(o->nseg <= MAILOUT_SASL_SEGS);
    for (unsigned i = 0; i < o->nseg; i++) {
        assert_non_null(o->seg[i].p);
        assert_true(o->seg[i].n > 0);
        assert_true(n + o->seg[i].n <= cap);
        memcpy(buf + n, o->seg[i].p, o->seg[i].n);
        n += o->seg[i].n;
    }
    return n;
}

/* The response as the engine would send it: base64 of the segments. */
static const char *wire(const mailout_sasl_out *o)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static char text[600];
    unsigned char raw[400];
    size_t n = flat(o, raw, sizeof raw), t = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (i + 1 < n ? (unsigned)raw[i + 1] << 8 : 0u) |
                     (i + 2 < n ? raw[i + 2] : 0u);
        text[t++] = al[v >> 18 & 63];
        text[t++] = al[v >> 12 & 63];
        text[t++] = i + 1 < n ? al[v >> 6 & 63] : '=';
        text[t++] = i + 2 < n ? al[v & 63] : '=';
    }
    text[t] = 0;
    return text;
}

#define assert_out(out, lit)                                                                                   \
    do {                                                                                                       \
        unsigned char got_[400];                                                                               \
        size_t n_ = flat((out), got_, sizeof got_);                                                            \
        assert_int_equal((out)->has_response, 1);                                                              \
        assert_bytes_equal((lit), sizeof(lit) - 1, got_, n_);                                                  \
    } while (0)

static mailout_status step_str(mailout_sasl *s, const char *ch, mailout_sasl_out *out)
{
    return mailout_sasl_step(s, (const unsigned char *)ch, strlen(ch), out);
}

static void assert_no_response(const mailout_sasl_out *out)
{
    assert_int_equal(out->has_response, 0);
    assert_int_equal(out->nseg, 0);
}

/* Counter RNG: bytes start, start+1, ...; fails when ctx says so. */
typedef struct rng {
    unsigned char next;
    int fail;
    unsigned calls;
} rng;

static int test_random(void *ctx, void *buf, size_t len)
{
    rng *r = ctx;
    unsigned char *p = buf;
    r->calls++;
    if (r->fail)
        return -1;
    for (size_t i = 0; i < len; i++)
        p[i] = r->next++;
    return 0;
}

/* ---- PLAIN -------------------------------------------------------------- */

static void test_plain_rfc4616(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    /* RFC 4616 §4, the example without authorization identity */
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_PLAIN, "tim", "tanstaaftanstaaf", NULL, NULL, &out));
    assert_out(&out, "\0tim\0tanstaaftanstaaf");
    assert_string_equal(wire(&out), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    /* the credentials are referenced, not copied */
    assert_int_equal(out.nseg, 4);
    assert_status(MAILOUT_OK, mailout_sasl_finish(&s));
    mailout_sasl_wipe(&s);

    /* RFC 4954 §4 example "test\0test\01234" uses an authzid, which we
     * never send: same credentials without it. */
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_PLAIN, "test", "1234", NULL, NULL, &out));
    assert_string_equal(wire(&out), "AHRlc3QAMTIzNA==");
}

static void test_plain_steps(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_PLAIN, "tim", "pw", NULL, NULL, &out));
    /* AUTH PLAIN sent without initial response: "334 " asks for it */
    assert_status(MAILOUT_OK, mailout_sasl_step(&s, NULL, 0, &out));
    assert_out(&out, "\0tim\0pw");
    /* another challenge: PLAIN has no more steps */
    assert_status(MAILOUT_E_AUTH, mailout_sasl_step(&s, NULL, 0, &out));
    assert_no_response(&out);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
    /* sticky */
    assert_status(MAILOUT_E_AUTH, mailout_sasl_step(&s, NULL, 0, &out));

    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_PLAIN, "tim", "pw", NULL, NULL, &out));
    assert_status(MAILOUT_E_AUTH, step_str(&s, "more?", &out)); /* non-empty challenge */
}

/* ---- LOGIN -------------------------------------------------------------- */

static void test_login(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_LOGIN, "tim", "tanstaaftanstaaf", NULL, NULL, &out));
    assert_no_response(&out);
    assert_status(MAILOUT_OK, step_str(&s, "Username:", &out)); /* 334 VXNlcm5hbWU6 */
    assert_out(&out, "tim");
    assert_string_equal(wire(&out), "dGlt");
    /* prompts are not read: any text works as the second prompt */
    assert_status(MAILOUT_OK, step_str(&s, "Something else", &out));
    assert_out(&out, "tanstaaftanstaaf");
    assert_status(MAILOUT_OK, mailout_sasl_finish(&s));
    /* a third round is refused, and stays refused */
    for (int i = 0; i < 10; i++) {
        assert_status(MAILOUT_E_AUTH, step_str(&s, "Password:", &out));
        assert_no_response(&out);
    }
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
}

/* ---- CRAM-MD5 ----------------------------------------------------------- */

static void test_cram_md5_rfc2195(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf", NULL, NULL, &out));
    assert_no_response(&out);
    assert_status(MAILOUT_OK, step_str(&s, "<1896.697170952@postoffice.reston.mci.net>", &out));
    assert_out(&out, "tim b913a602c7eda7a495b4e6e7334d3890");
    assert_string_equal(wire(&out), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    assert_status(MAILOUT_OK, mailout_sasl_finish(&s));
    assert_status(MAILOUT_E_AUTH, step_str(&s, "<again@x>", &out));

    /* an empty challenge cannot be answered */
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_CRAM_MD5, "tim", "x", NULL, NULL, &out));
    assert_status(MAILOUT_E_AUTH, mailout_sasl_step(&s, NULL, 0, &out));
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
}

/* ---- XOAUTH2 ------------------------------------------------------------ */

static void test_xoauth2(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    const char *token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
    /* Google's XOAUTH2 protocol page example */
    assert_status(MAILOUT_OK,
                  mailout_sasl_start(&s, MAILOUT_AUTH_XOAUTH2, "someuser@example.com", token, NULL, NULL, &out));
    assert_out(&out, "user=someuser@example.com\001auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001");
    assert_string_equal(wire(&out), "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
                                    "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    assert_int_equal(out.nseg, 5);
    /* "334 " without initial response: send it now */
    assert_status(MAILOUT_OK, mailout_sasl_step(&s, NULL, 0, &out));
    assert_out(&out, "user=someuser@example.com\001auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001");
    assert_status(MAILOUT_OK, mailout_sasl_finish(&s));

    /* error: the server sends JSON, we answer empty, then it sends 535 */
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_XOAUTH2, "u@example.com", token, NULL, NULL, &out));
    assert_status(MAILOUT_OK, step_str(&s, "{\"status\":\"401\",\"schemes\":\"bearer\"}", &out));
    assert_int_equal(out.has_response, 1);
    assert_int_equal(out.nseg, 0);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
    assert_status(MAILOUT_E_AUTH, mailout_sasl_step(&s, NULL, 0, &out));

    /* \1 would inject a field */
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, MAILOUT_AUTH_XOAUTH2, "u\001auth=x", token, NULL, NULL, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, MAILOUT_AUTH_XOAUTH2, "u", "tok\001en", NULL, NULL, &out));
    assert_no_response(&out);
}

/* ---- SCRAM-SHA-256 ------------------------------------------------------ */

#define RFC7677_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC7677_SERVER_FIRST                                                                                   \
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC7677_CLIENT_FINAL                                                                                   \
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC7677_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void scram_rfc_start(mailout_sasl *s, mailout_sasl_out *out)
{
    assert_status(MAILOUT_OK, mailout_sasl_start_scram_nonce(s, "user", "pencil", RFC7677_NONCE,
                                                             strlen(RFC7677_NONCE), out));
}

static void test_scram_rfc7677(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    scram_rfc_start(&s, &out);
    assert_out(&out, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s)); /* not verified yet */

    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
    assert_out(&out, RFC7677_CLIENT_FINAL);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s)); /* still not verified */

    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FINAL, &out));
    assert_int_equal(out.has_response, 1); /* empty line */
    assert_int_equal(out.nseg, 0);
    assert_status(MAILOUT_OK, mailout_sasl_finish(&s));

    /* no fourth step */
    assert_status(MAILOUT_E_AUTH, step_str(&s, RFC7677_SERVER_FINAL, &out));
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
}

static void test_scram_no_initial_response(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, mailout_sasl_step(&s, NULL, 0, &out)); /* "334 " */
    assert_out(&out, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
    assert_out(&out, RFC7677_CLIENT_FINAL);
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FINAL, &out));
    assert_status(MAILOUT_OK, mailout_sasl_finish(&s));
}

static void test_scram_extensions_ignored(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    /* optional extensions after i= and after v= are allowed; the proof
     * then covers the longer server-first, so only its prefix is known */
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST ",x=ext", &out));
    unsigned char got[300];
    size_t n = flat(&out, got, sizeof got);
    static const char prefix[] = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=";
    assert_int_equal(n, sizeof prefix - 1 + 44);
    assert_bytes_equal(prefix, sizeof prefix - 1, got, sizeof prefix - 1);
    assert_int_not_equal(memcmp(got, RFC7677_CLIENT_FINAL, n), 0);
}

static void test_scram_random_nonce(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    rng r = {0, 0, 0};
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_SCRAM_SHA256, "user", "pencil", test_random, &r, &out));
    /* 24 bytes 00..17 in base64 */
    assert_out(&out, "n,,n=user,r=AAECAwQFBgcICQoLDA0ODxAREhMUFRYX");
    assert_int_equal(r.calls, 1);

    /* no randomness: refused */
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, MAILOUT_AUTH_SCRAM_SHA256, "user", "pw", NULL, NULL, &out));
    assert_no_response(&out);
    /* randomness that fails: refused, nothing left behind */
    r.fail = 1;
    assert_status(MAILOUT_E_INTERNAL,
                  mailout_sasl_start(&s, MAILOUT_AUTH_SCRAM_SHA256, "user", "pw", test_random, &r, &out));
    assert_no_response(&out);
    static const mailout_sasl zero;
    assert_memory_equal(&s, &zero, sizeof s);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_step(&s, NULL, 0, &out));
}

static void test_scram_username_escaping(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    assert_status(MAILOUT_OK, mailout_sasl_start_scram_nonce(&s, "a,b=c,", "pw", "N", 1, &out));
    assert_out(&out, "n,,n=a=2Cb=3Dc=2C,r=N");

    /* the bare message must fit the buffer: "n=" user ",r=" nonce */
    char user[200];
    size_t room = MAILOUT_SASL_BUF - 2 - 3 - 32; /* random nonce: 32 chars */
    rng r = {0, 0, 0};
    memset(user, 'u', room);
    user[room] = 0;
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_SCRAM_SHA256, user, "pw", test_random, &r, &out));
    user[room - 1] = ','; /* one char becomes three */
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, MAILOUT_AUTH_SCRAM_SHA256, user, "pw", test_random, &r, &out));
    assert_no_response(&out);
    memset(user, 'u', room + 1);
    user[room + 1] = 0;
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, MAILOUT_AUTH_SCRAM_SHA256, user, "pw", test_random, &r, &out));
}

static void test_scram_nonce_argument(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    char big[MAILOUT_SCRAM_NONCE_MAX + 1];
    memset(big, 'n', sizeof big);
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start_scram_nonce(&s, "u", "p", "", 0, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start_scram_nonce(&s, "u", "p", NULL, 3, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start_scram_nonce(&s, "u", "p", "a,b", 3, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start_scram_nonce(&s, "u", "p", "a b", 3, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start_scram_nonce(&s, "u", "p", "a\x7f", 2, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start_scram_nonce(&s, "u", "p", big, sizeof big, &out));
    assert_status(MAILOUT_OK, mailout_sasl_start_scram_nonce(&s, "u", "p", big, sizeof big - 1, &out));
}

/* A server-first that must be refused, and what refusing leaves behind. */
static void scram_bad_first(const char *server_first)
{
    mailout_sasl s;
    mailout_sasl_out out;
    scram_rfc_start(&s, &out);
    mailout_status st = step_str(&s, server_first, &out);
    if (st != MAILOUT_E_AUTH)
        fail_msg("accepted server-first \"%s\" (%s)", server_first, mailout_errname(st));
    assert_no_response(&out);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
    /* sticky, even with the right message now */
    assert_status(MAILOUT_E_AUTH, step_str(&s, RFC7677_SERVER_FIRST, &out));
}

static void test_scram_bad_server_first(void **state)
{
    (void)state;
    /* nonce: not starting with ours, ours only, ours changed, bad chars */
    scram_bad_first("r=XOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkq,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    scram_bad_first("r=%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hv YD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hv\001YD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    /* iteration count: too low, zero, leading zero, junk, empty, huge */
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100001");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                    "i=99999999999999999999999");
    /* salt: bad length, bad char, misplaced pad, empty, too long */
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0S*Y7soEsUEjb6gQ==,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6g=Q=,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W2==aJ0SNY7soEsUEjb6gQ==,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s====,i=4096");
    /* structure: mandatory extension, wrong order, missing parts, empty */
    scram_bad_first("m=must,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    scram_bad_first("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,i=4096");
    scram_bad_first("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    scram_bad_first("e=other-error");
    scram_bad_first("r");
    scram_bad_first(",");
}

static void test_scram_limits(void **state)
{
    (void)state;
    /* a 128-byte salt is accepted, 129 bytes are not */
    char msg[600], salt_ok[200], salt_big[200];
    memset(salt_ok, 'A', 171); /* 43 groups, one pad: 128 bytes */
    memcpy(salt_ok + 171, "=", 2);
    memset(salt_big, 'A', 172); /* 43 groups, no pad: 129 bytes */
    salt_big[172] = 0;
    mailout_sasl s;
    mailout_sasl_out out;

    snprintf(msg, sizeof msg, "r=" RFC7677_NONCE "x,s=%s,i=4096", salt_ok);
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, msg, &out));
    snprintf(msg, sizeof msg, "r=" RFC7677_NONCE "x,s=%s,i=4096", salt_big);
    scram_bad_first(msg);

    /* the whole nonce must fit the client-final in the buffer */
    size_t max_nonce = MAILOUT_SASL_BUF - 9 - 3 - 44;
    char nonce[200];
    memcpy(nonce, RFC7677_NONCE, 20);
    memset(nonce + 20, 'x', max_nonce - 20);
    nonce[max_nonce] = 0;
    snprintf(msg, sizeof msg, "r=%s,s=QUJD,i=4096", nonce);
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, msg, &out));
    assert_int_equal(flat(&out, (unsigned char[300]){0}, 300), MAILOUT_SASL_BUF);
    nonce[max_nonce] = 'x';
    nonce[max_nonce + 1] = 0;
    snprintf(msg, sizeof msg, "r=%s,s=QUJD,i=4096", nonce);
    scram_bad_first(msg);
}

static void scram_bad_final(const char *server_final)
{
    mailout_sasl s;
    mailout_sasl_out out;
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
    mailout_status st = step_str(&s, server_final, &out);
    if (st != MAILOUT_E_AUTH)
        fail_msg("accepted server-final \"%s\" (%s)", server_final, mailout_errname(st));
    assert_no_response(&out);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
    assert_status(MAILOUT_E_AUTH, step_str(&s, RFC7677_SERVER_FINAL, &out));
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
}

static void test_scram_bad_server_final(void **state)
{
    (void)state;
    scram_bad_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="); /* same bytes, pad bits set */
    scram_bad_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8="); /* last byte differs */
    scram_bad_final("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    scram_bad_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9"); /* short */
    scram_bad_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4AAAA"); /* long */
    scram_bad_final("v=");
    scram_bad_final("v");
    scram_bad_final("e=invalid-proof");
    scram_bad_final("e=other-error,v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    scram_bad_final("");
    {
        mailout_sasl s;
        mailout_sasl_out out;
        scram_rfc_start(&s, &out);
        assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
        assert_status(MAILOUT_E_AUTH, mailout_sasl_step(&s, NULL, 0, &out));
        assert_no_response(&out);
    }
    scram_bad_final(RFC7677_SERVER_FIRST);

    /* extensions after v= are fine */
    mailout_sasl s;
    mailout_sasl_out out;
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FINAL ",x=1", &out));
    assert_status(MAILOUT_OK, mailout_sasl_finish(&s));
}

static void test_scram_wipe(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    static const mailout_sasl zero;
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
    /* the expected server signature is held until verified; the keys
     * derived on the way are gone from the working memory */
    assert_memory_not_equal(s.st.server_sig, zero.st.server_sig, sizeof s.st.server_sig);
    assert_memory_equal(&s.work, &zero.work, sizeof s.work);
    mailout_sasl_wipe(&s);
    assert_memory_equal(&s, &zero, sizeof s);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
    assert_status(MAILOUT_E_AUTH, step_str(&s, RFC7677_SERVER_FINAL, &out));
    mailout_sasl_wipe(&s); /* twice is fine */
    mailout_sasl_wipe(NULL);

    /* verifying clears the signature; a failed step clears the buffer */
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FINAL, &out));
    assert_memory_equal(s.st.server_sig, zero.st.server_sig, sizeof s.st.server_sig);
    scram_rfc_start(&s, &out);
    assert_status(MAILOUT_OK, step_str(&s, RFC7677_SERVER_FIRST, &out));
    assert_status(MAILOUT_E_AUTH, step_str(&s, "e=x", &out));
    assert_memory_equal(s.st.buf, zero.st.buf, sizeof s.st.buf);
    assert_memory_equal(s.st.server_sig, zero.st.server_sig, sizeof s.st.server_sig);
}

/* ---- arguments ---------------------------------------------------------- */

static void test_start_arguments(void **state)
{
    (void)state;
    mailout_sasl s;
    mailout_sasl_out out;
    rng r = {0, 0, 0};
    static const unsigned bad_mechs[] = {0, 3, 32, 64, 0x80000000u, MAILOUT_AUTH_PLAIN | MAILOUT_AUTH_SCRAM_SHA256};
    for (size_t i = 0; i < sizeof bad_mechs / sizeof bad_mechs[0]; i++)
        assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, bad_mechs[i], "u", "p", test_random, &r, &out));
    for (unsigned mech = 1; mech <= MAILOUT_AUTH_SCRAM_SHA256; mech <<= 1) {
        assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, mech, NULL, "p", test_random, &r, &out));
        assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, mech, "u", NULL, test_random, &r, &out));
        assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, mech, "", "p", test_random, &r, &out));
        assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, mech, "u", "", test_random, &r, &out));
        assert_status(MAILOUT_E_INVAL, mailout_sasl_start(NULL, mech, "u", "p", test_random, &r, &out));
        assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, mech, "u", "p", test_random, &r, NULL));
        assert_no_response(&out);
        assert_status(MAILOUT_OK, mailout_sasl_start(&s, mech, "u", "p", test_random, &r, &out));
    }

    /* credential length limit */
    static char big[MAILOUT_SASL_CRED_MAX + 2];
    memset(big, 'k', MAILOUT_SASL_CRED_MAX);
    big[MAILOUT_SASL_CRED_MAX] = 0;
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_PLAIN, big, big, NULL, NULL, &out));
    unsigned char buf[2 * MAILOUT_SASL_CRED_MAX + 2];
    size_t n = 0;
    for (unsigned i = 0; i < out.nseg; i++)
        n += out.seg[i].n;
    assert_int_equal(n, sizeof buf);
    big[MAILOUT_SASL_CRED_MAX] = 'k';
    big[MAILOUT_SASL_CRED_MAX + 1] = 0;
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, MAILOUT_AUTH_PLAIN, big, "p", NULL, NULL, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_start(&s, MAILOUT_AUTH_XOAUTH2, "u", big, NULL, NULL, &out));

    /* step / finish on an unstarted or bad call */
    memset(&s, 0, sizeof s);
    assert_status(MAILOUT_E_AUTH, mailout_sasl_step(&s, NULL, 0, &out));
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(&s));
    assert_status(MAILOUT_E_AUTH, mailout_sasl_finish(NULL));
    assert_status(MAILOUT_OK, mailout_sasl_start(&s, MAILOUT_AUTH_LOGIN, "u", "p", NULL, NULL, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_step(&s, NULL, 3, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_step(NULL, NULL, 0, &out));
    assert_status(MAILOUT_E_INVAL, mailout_sasl_step(&s, NULL, 0, NULL));
    /* those did not consume a step */
    assert_status(MAILOUT_OK, step_str(&s, "Username:", &out));
    assert_out(&out, "u");
}

/* ---- pick / names ------------------------------------------------------- */

static void test_pick(void **state)
{
    (void)state;
    const unsigned all = MAILOUT_AUTH_PLAIN | MAILOUT_AUTH_LOGIN | MAILOUT_AUTH_CRAM_MD5 | MAILOUT_AUTH_XOAUTH2 |
                         MAILOUT_AUTH_SCRAM_SHA256;
    /* with a password, strongest first */
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_ANY, 1, 0, 1), MAILOUT_AUTH_SCRAM_SHA256);
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_ANY, 1, 0, 0), MAILOUT_AUTH_CRAM_MD5);
    assert_int_equal(mailout_sasl_pick(all & ~MAILOUT_AUTH_CRAM_MD5, MAILOUT_AUTH_ANY, 1, 0, 0), MAILOUT_AUTH_PLAIN);
    assert_int_equal(mailout_sasl_pick(MAILOUT_AUTH_LOGIN | MAILOUT_AUTH_XOAUTH2, MAILOUT_AUTH_ANY, 1, 0, 1),
                     MAILOUT_AUTH_LOGIN);
    assert_int_equal(mailout_sasl_pick(MAILOUT_AUTH_XOAUTH2, MAILOUT_AUTH_ANY, 1, 0, 1), 0);
    /* allowed mask */
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_PLAIN | MAILOUT_AUTH_LOGIN, 1, 0, 1), MAILOUT_AUTH_PLAIN);
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_LOGIN, 1, 0, 1), MAILOUT_AUTH_LOGIN);
    assert_int_equal(mailout_sasl_pick(MAILOUT_AUTH_PLAIN, MAILOUT_AUTH_LOGIN, 1, 0, 1), 0);
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_SCRAM_SHA256, 1, 0, 0), 0);
    /* with a token: XOAUTH2 only when offered */
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_ANY, 0, 1, 1), MAILOUT_AUTH_XOAUTH2);
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_ANY, 1, 1, 1), MAILOUT_AUTH_XOAUTH2);
    assert_int_equal(mailout_sasl_pick(all & ~MAILOUT_AUTH_XOAUTH2, MAILOUT_AUTH_ANY, 0, 1, 1), 0);
    assert_int_equal(mailout_sasl_pick(all & ~MAILOUT_AUTH_XOAUTH2, MAILOUT_AUTH_ANY, 1, 1, 1),
                     MAILOUT_AUTH_SCRAM_SHA256);
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_PLAIN, 0, 1, 1), 0);
    /* nothing */
    assert_int_equal(mailout_sasl_pick(0, MAILOUT_AUTH_ANY, 1, 1, 1), 0);
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_ANY, 0, 0, 1), 0);
    assert_int_equal(mailout_sasl_pick(0xffffffe0u, MAILOUT_AUTH_ANY, 1, 1, 1), 0); /* unknown bits */
}

static void test_names(void **state)
{
    (void)state;
    static const struct {
        unsigned mech;
        const char *name;
    } t[] = {
        {MAILOUT_AUTH_PLAIN, "PLAIN"},
        {MAILOUT_AUTH_LOGIN, "LOGIN"},
        {MAILOUT_AUTH_CRAM_MD5, "CRAM-MD5"},
        {MAILOUT_AUTH_XOAUTH2, "XOAUTH2"},
        {MAILOUT_AUTH_SCRAM_SHA256, "SCRAM-SHA-256"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_string_equal(mailout_sasl_name(t[i].mech), t[i].name);
        assert_int_equal(mailout_sasl_from_name(t[i].name, strlen(t[i].name)), t[i].mech);
        char lower[20];
        size_t n = strlen(t[i].name);
        for (size_t k = 0; k <= n; k++)
            lower[k] = (char)(t[i].name[k] >= 'A' && t[i].name[k] <= 'Z' ? t[i].name[k] + 32 : t[i].name[k]);
        assert_int_equal(mailout_sasl_from_name(lower, n), t[i].mech);
        /* prefixes and extensions are other names */
        assert_int_equal(mailout_sasl_from_name(t[i].name, n - 1), 0);
        char longer[24];
        snprintf(longer, sizeof longer, "%sX", t[i].name);
        assert_int_equal(mailout_sasl_from_name(longer, n + 1), 0);
    }
    assert_null(mailout_sasl_name(0));
    assert_null(mailout_sasl_name(3));
    assert_null(mailout_sasl_name(32));
    assert_int_equal(mailout_sasl_from_name("", 0), 0);
    assert_int_equal(mailout_sasl_from_name(NULL, 0), 0);
    assert_int_equal(mailout_sasl_from_name("SCRAM-SHA-1", 11), 0);
    assert_int_equal(mailout_sasl_from_name("GSSAPI", 6), 0);
    /* not NUL-terminated: only len counts */
    assert_int_equal(mailout_sasl_from_name("LOGIN PLAIN", 5), MAILOUT_AUTH_LOGIN);
    assert_int_equal(mailout_sasl_from_name("PLA\0N", 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_rfc4616),
        cmocka_unit_test(test_plain_steps),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_cram_md5_rfc2195),
        cmocka_unit_test(test_xoauth2),
        cmocka_unit_test(test_scram_rfc7677),
        cmocka_unit_test(test_scram_no_initial_response),
        cmocka_unit_test(test_scram_extensions_ignored),
        cmocka_unit_test(test_scram_random_nonce),
        cmocka_unit_test(test_scram_username_escaping),
        cmocka_unit_test(test_scram_nonce_argument),
        cmocka_unit_test(test_scram_bad_server_first),
        cmocka_unit_test(test_scram_limits),
        cmocka_unit_test(test_scram_bad_server_final),
        cmocka_unit_test(test_scram_wipe),
        cmocka_unit_test(test_start_arguments),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
