/*
 * The engine driven by hand, byte by byte where it matters: the in-place
 * DATA line filter against a model (output sizes, drains, source
 * chunkings, AGAIN and failures), replies that come while the command
 * they answer is still being written, and the ring guard of a build
 * without PIPELINING. Built in three configurations (meson.build).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- a model of the DATA filter (STUFF | TERMINATE) ---- */
static size_t model(const unsigned char *in, size_t n, unsigned char *out, int end)
{
    size_t o = 0;
    int st = 0; /* 0 line start, 1 mid, 2 after CR */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = in[i];
        if (c == '\r') {
            out[o++] = '\r', out[o++] = '\n', st = 2;
        } else if (c == '\n') {
            if (st == 2)
                st = 0;
            else
                out[o++] = '\r', out[o++] = '\n', st = 0;
        } else {
            if (c == '.' && st != 1)
                out[o++] = '.';
            out[o++] = c;
            st = 1;
        }
    }
    if (end) {
        if (st == 1)
            out[o++] = '\r', out[o++] = '\n';
        memcpy(out + o, ".\r\n", 3);
        o += 3;
    }
    return o;
}

/* ---- a scripted source ---- */
typedef struct src {
    const unsigned char *data;
    size_t len, pos;
    unsigned seed;
    int mode;       /* 0: whole cap; 1: random short reads; 2: random AGAIN / short; 3: 1 byte */
    long fail_at;   /* error once pos reaches it (-1 never) */
    int fail_with_data; /* the failing read also returns bytes */
    size_t calls;
    size_t min_cap;
} src;

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static mailout_status src_start(void *ctx, unsigned flags, uint64_t *size)
{
    src *b = ctx;
    (void)flags;
    b->pos = 0;
    *size = MAILOUT_SIZE_UNKNOWN;
    return MAILOUT_OK;
}

static mailout_status src_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    src *b = ctx;
    *got = 0;
    b->calls++;
    if (cap < b->min_cap)
        b->min_cap = cap;
    if (b->fail_at >= 0 && b->pos >= (size_t)b->fail_at) {
        if (b->fail_with_data && cap > 0 && b->pos < b->len) {
            buf[0] = b->data[b->pos]; /* garbage the engine must drop */
            *got = 1;
        }
        return MAILOUT_E_SOURCE;
    }
    size_t n = b->len - b->pos;
    if (n > cap)
        n = cap;
    mailout_status st = MAILOUT_OK;
    if (b->mode == 1 && n > 0) {
        n = 1 + rnd(&b->seed) % n;
    } else if (b->mode == 2) {
        unsigned r = rnd(&b->seed) % 4;
        if (r == 0)
            return MAILOUT_AGAIN;
        if (n > 0)
            n = 1 + rnd(&b->seed) % n;
        if (r == 1)
            st = MAILOUT_AGAIN; /* AGAIN with data */
    } else if (b->mode == 3 && n > 1) {
        n = 1;
    }
    if (b->fail_at >= 0 && b->pos + n > (size_t)b->fail_at)
        n = (size_t)b->fail_at - b->pos;
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    *got = n;
    if (b->pos == b->len && st == MAILOUT_OK && (b->fail_at < 0 || b->pos < (size_t)b->fail_at))
        return MAILOUT_DONE;
    return st;
}

/* ---- a small driver ---- */
typedef struct drv {
    mailout_smtp *s;
    unsigned char out[1 << 17];
    size_t out_len;
    size_t drain;
} drv;

static void srv(drv *d, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len && mailout_smtp_status(d->s) >= 0) {
        size_t cap;
        unsigned char *in = mailout_smtp_in_buf(d->s, &cap);
        size_t n = len - off < cap ? len - off : cap;
        memcpy(in, text + off, n);
        off += n;
        mailout_smtp_in_ack(d->s, n);
    }
}

static void pump(drv *d)
{
    unsigned guard = 0;
    for (;;) {
        assert_true(++guard < 10000000);
        unsigned w = mailout_smtp_want(d->s);
        if (!(w & (MAILOUT_SMTP_WANT_WRITE | MAILOUT_SMTP_WANT_BODY)))
            return;
        size_t len;
        const unsigned char *p = mailout_smtp_out_buf(d->s, &len);
        if (!p)
            continue;
        size_t n = d->drain && d->drain < len ? d->drain : len;
        assert_true(d->out_len + n <= sizeof d->out);
        memcpy(d->out + d->out_len, p, n);
        d->out_len += n;
        assert_status(MAILOUT_OK, mailout_smtp_out_ack(d->s, n));
    }
}

static void expect_out(drv *d, const char *want)
{
    assert_bytes_equal(want, strlen(want), d->out, d->out_len);
    d->out_len = 0;
}

static const char *const one_rcpt[] = {"bob@example.org"};

/* Greeting, EHLO, MAIL, RCPT, DATA, 354: returns with the body pumped. */
static void to_body(drv *d, size_t out_size, src *b)
{
    mailout_smtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.example";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.out_buf_size = out_size;
    mailout_allocator a = mailout_heap_allocator();
    assert_status(MAILOUT_OK, mailout_smtp_new(&d->s, &cfg, &a, 0));
    d->out_len = 0;
    srv(d, "220 x\r\n");
    pump(d);
    expect_out(d, "EHLO client.example\r\n");
    srv(d, "250 x\r\n");
    mailout_job job;
    memset(&job, 0, sizeof job);
    job.mail_from = "alice@example.com";
    job.rcpt = one_rcpt;
    job.rcpt_count = 1;
    job.body.start = src_start;
    job.body.read = src_read;
    job.body.ctx = b;
    job.body.stuffs = 0;
    assert_status(MAILOUT_OK, mailout_smtp_submit(d->s, &job));
    pump(d);
    expect_out(d, "MAIL FROM:<alice@example.com>\r\n");
    srv(d, "250 ok\r\n");
    pump(d);
    expect_out(d, "RCPT TO:<bob@example.org>\r\n");
    srv(d, "250 ok\r\n");
    pump(d);
    expect_out(d, "DATA\r\n");
    srv(d, "354 go\r\n");
    pump(d);
}

static drv D;

static void one_run(const unsigned char *body, size_t len, size_t out_size, size_t drain, int mode, unsigned seed,
                    long fail_at, int fail_with_data)
{
    static unsigned char want[1 << 17];
    src b = {body, len, 0, seed, mode, fail_at, fail_with_data, 0, (size_t)-1};
    D.drain = drain;
    to_body(&D, out_size, &b);
    if (fail_at < 0) {
        size_t wl = model(body, len, want, 1);
        if (wl != D.out_len || memcmp(want, D.out, wl) != 0) {
            print_error("mismatch: len %zu out %zu drain %zu mode %d seed %u\n", len, out_size, drain, mode, seed);
            assert_bytes_equal(want, wl, D.out, D.out_len);
        }
        assert_status(MAILOUT_OK, mailout_smtp_status(D.s));
        srv(&D, "250 queued\r\n");
        assert_status(MAILOUT_OK, mailout_smtp_result(D.s)->status);
        assert_int_equal(mailout_smtp_result(D.s)->data_bytes, len);
    } else {
        /* the bytes sent are a prefix of the unterminated stream; never the terminator */
        size_t wl = model(body, (size_t)fail_at, want, 0);
        if (D.out_len > wl || memcmp(want, D.out, D.out_len) != 0) {
            print_error("fail mismatch: len %zu fail_at %ld out %zu drain %zu mode %d seed %u\n", len, fail_at,
                        out_size, drain, mode, seed);
            assert_bytes_equal(want, wl, D.out, D.out_len);
        }
        assert_status(MAILOUT_E_SOURCE, mailout_smtp_status(D.s));
        assert_status(MAILOUT_E_SOURCE, mailout_smtp_failure(D.s)->status);
        assert_int_equal(mailout_smtp_failure(D.s)->stage, MAILOUT_STAGE_BODY);
        assert_status(MAILOUT_E_SOURCE, mailout_smtp_result(D.s)->status);
        assert_int_equal(mailout_smtp_want(D.s), MAILOUT_SMTP_WANT_NONE);
    }
    mailout_smtp_free(D.s);
    D.s = NULL;
}

static void test_inplace_filter_model(void **state)
{
    (void)state;
    static const unsigned char alpha[] = {'.', '.', '\r', '\n', '\n', 'a', 'b', '\r'};
    static unsigned char body[2048];
    unsigned seed = 1;
    static const size_t drains[] = {0, 1, 2, 3, 5, 8, 13, 63};
    for (int iter = 0; iter < 400; iter++) {
        size_t len = rnd(&seed) % (iter < 200 ? 300 : 2048);
        int kind = rnd(&seed) % 3;
        for (size_t i = 0; i < len; i++) {
            if (kind == 0)
                body[i] = alpha[rnd(&seed) % sizeof alpha];
            else if (kind == 1) /* all doubling: '.' at line starts and bare LF/CR */
                body[i] = "\n.\r."[rnd(&seed) % 4];
            else /* any byte DATA may carry without 8BITMIME: 1..127, lines <= 998 */
                body[i] = i % 500 == 499 ? '\n' : (unsigned char)(1 + rnd(&seed) % 127);
        }
        size_t out_size = 64 + rnd(&seed) % 80;
        size_t drain = drains[rnd(&seed) % 8];
        int mode = rnd(&seed) % 4;
        one_run(body, len, out_size, drain, mode, seed, -1, 0);
        if (len > 0) {
            long fa = (long)(rnd(&seed) % len);
            one_run(body, len, out_size, drain, mode, seed, fa, rnd(&seed) % 2);
        }
    }
}

/* The worst cases by hand: every byte doubles, for every output size
 * 64..140 and every drain 1..9 (rooms of 1..9 bytes after top_up). */
static void test_inplace_doubling_all_rooms(void **state)
{
    (void)state;
    static unsigned char body[1000];
    const char *pat[] = {"\n", ".\n", "\r", ".\r", "\r\n.", "..\r\n", "\r.\r.\n"};
    for (size_t p = 0; p < sizeof pat / sizeof pat[0]; p++) {
        size_t pl = strlen(pat[p]);
        for (size_t i = 0; i < sizeof body; i++)
            body[i] = (unsigned char)pat[p][i % pl];
        for (size_t o = 64; o <= 140; o++)
            for (size_t dr = 0; dr <= 9; dr++)
                for (int mode = 0; mode < 4; mode++)
                    one_run(body, 200 + (o % 7), o, dr, mode, (unsigned)(o * 31 + dr), -1, 0);
    }
}


/* ---- a reply to the command still being written ---- */

static void auth_cfg(mailout_smtp_config *cfg, const char *user, const char *pw)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ehlo_name = "client.example";
    cfg->tls = MAILOUT_TLS_IMPLICIT;
    cfg->user = user;
    cfg->password = pw;
    cfg->out_buf_size = 64;
}

/* One out_buf()/out_ack() round: the first piece of what is queued. */
static size_t one_piece(drv *d)
{
    size_t len = 0;
    const unsigned char *p = mailout_smtp_out_buf(d->s, &len);
    if (!p)
        return 0;
    memcpy(d->out + d->out_len, p, len);
    d->out_len += len;
    assert_status(MAILOUT_OK, mailout_smtp_out_ack(d->s, len));
    return len;
}

/* An implicit-TLS session with 64-byte output buffers up to the EHLO. */
static void auth_session(const char *user, const char *pw)
{
    mailout_smtp_config cfg;
    auth_cfg(&cfg, user, pw);
    mailout_allocator a = mailout_heap_allocator();
    D.drain = 0;
    D.out_len = 0;
    assert_status(MAILOUT_OK, mailout_smtp_new(&D.s, &cfg, &a, 1));
    srv(&D, "220 x\r\n");
    pump(&D);
    expect_out(&D, "EHLO client.example\r\n");
}

/* After a reply (@p code) to a line of which only the first 64 bytes
 * went out: refused, and nothing more is written (not the rest of the
 * line, not the next one, not memory behind them). */
static void refused_after_first_piece(int code)
{
    assert_status(MAILOUT_E_PROTO, mailout_smtp_status(D.s));
    assert_status(MAILOUT_E_PROTO, mailout_smtp_failure(D.s)->status);
    assert_int_equal(mailout_smtp_failure(D.s)->reply.code, code);
    pump(&D);
    assert_int_equal(D.out_len, 64);
    assert_int_equal(mailout_smtp_want(D.s), MAILOUT_SMTP_WANT_NONE);
    mailout_smtp_free(D.s);
    D.s = NULL;
}

/* AUTH LOGIN: the user name's line (80 base64 characters) needs two
 * 64-byte buffers. The server answers the second 334 after the first
 * piece: the step swaps the response segments under the writer, which
 * goes on at the user name's offset (48) inside the 2-byte password. */
static void test_reply_during_auth_resp(void **state)
{
    (void)state;
    auth_session("u123456789u123456789u123456789u123456789u123456789u123456789", "pw"); /* 60 */
    srv(&D, "250-x\r\n250 AUTH LOGIN\r\n");
    pump(&D);
    expect_out(&D, "AUTH LOGIN\r\n");
    srv(&D, "334 VXNlcm5hbWU6\r\n");
    assert_int_equal(one_piece(&D), 64); /* 64 of the 82 bytes of the user's line */
    srv(&D, "334 UGFzc3dvcmQ6\r\n");    /* premature: the user's line is not complete */
    refused_after_first_piece(334);
}

/* AUTH PLAIN with the initial response on the AUTH line (longer than the
 * buffer): a 334 or 235 before the line is complete ends the AUTH state
 * (cancel: the response is wiped; 235: smtp_auth_end wipes u.a) under
 * the writer. */
static void plain_premature(const char *reply, int code)
{
    auth_session("tim", "p123456789p123456789p123456789p123456789"); /* 40 */
    srv(&D, "250-x\r\n250 AUTH PLAIN\r\n");
    assert_int_equal(one_piece(&D), 64); /* "AUTH PLAIN " + 53 of the 64 base64 characters */
    srv(&D, reply);
    /* refused before any handler runs: the AUTH state is not ended under
     * the writer */
    refused_after_first_piece(code);
}

static void test_334_during_auth_plain(void **state)
{
    (void)state;
    plain_premature("334 \r\n", 334);
}

static void test_235_during_auth_plain(void **state)
{
    (void)state;
    plain_premature("235 ok\r\n", 235);
}

#if !MAILOUT_ENABLE_PIPELINING && defined(MAILOUT_ALLOW_PRIVATE_ACCESS)
#include "smtp/smtp_internal.h"
/* The ring guard of a build without PIPELINING (the ring holds 4 entries
 * and never more than one is queued: unreachable through the public API)
 * fails the session through smtp_fail(): the failure record and the
 * running job's result say so, and as the whole message was sent (END
 * awaited) the job's outcome is "delivery unknown". */
static void test_ring_guard_record(void **state)
{
    (void)state;
    static src b;
    b = (src){(const unsigned char *)"x", 1, 0, 1, 0, -1, 0, 0, (size_t)-1};
    D.drain = 0;
    to_body(&D, 64, &b); /* the whole job sent; END awaited */
    mailout_smtp *s = D.s;
    for (int i = 0; i < 4; i++)
        smtp_push(s, OP_RSET, 0);
    assert_status(MAILOUT_E_DELIVERY_UNKNOWN, mailout_smtp_status(s));
    assert_status(MAILOUT_E_DELIVERY_UNKNOWN, mailout_smtp_failure(s)->status);
    assert_status(MAILOUT_E_DELIVERY_UNKNOWN, mailout_smtp_result(s)->status);
    assert_int_equal(mailout_smtp_want(s), MAILOUT_SMTP_WANT_NONE);
    mailout_smtp_free(s);
    D.s = NULL;
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inplace_filter_model),
        cmocka_unit_test(test_inplace_doubling_all_rooms),
        cmocka_unit_test(test_reply_during_auth_resp),
        cmocka_unit_test(test_334_during_auth_plain),
        cmocka_unit_test(test_235_during_auth_plain),
#if !MAILOUT_ENABLE_PIPELINING && defined(MAILOUT_ALLOW_PRIVATE_ACCESS)
        cmocka_unit_test(test_ring_guard_record),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
