/*
 * The byte pump (lib/client/pump.c) over an in-memory transport that
 * takes at most a scripted number of bytes per send and says "would
 * block" on a schedule: the bytes on the wire are exact, no write is
 * longer than the engine's output buffer, the number of writes stays at
 * the bound, and a pump told "would block" does not write again before it
 * waited or read something (one refused write per wait, not two).
 */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "testutil.h"

#include "client/driver_internal.h"

#include <mailout/client.h>
#include <mailout/smtp.h>

#define MT_MAX_REPLIES 8

/* The in-memory peer: records what the client writes and hands out each
 * reply only once the client has written the command it answers. Once it
 * said "would block" it stays full until the next step, like a socket
 * until the driver waited for it. */
typedef struct memt {
    unsigned char *wire;
    size_t wire_len, wire_cap;
    const char *reply[MT_MAX_REPLIES];
    size_t avail[MT_MAX_REPLIES]; /* wire length at which reply[i] is due */
    size_t nreply, next, reply_off;
    size_t take_cycle;  /* call k takes at most 1 + k % take_cycle bytes; 0 = all */
    unsigned zero_every; /* every n-th send says "would block"; 0 = never */
    unsigned calls;      /* send calls */
    unsigned writes;     /* send calls that took bytes */
    unsigned shorts;     /* of them, took fewer than offered */
    unsigned zeros;      /* send calls that said "would block" */
    int full;            /* would block until the next step (the pump waited) */
    int refused;         /* said "would block", nothing read since */
    size_t max_len;      /* longest send offered */
    uint64_t now;        /* the clock (mt_clock) */
    unsigned send_ms;    /* how long each send that takes bytes waits */
    size_t hold;         /* replies from this index on are held back; 0 = none */
} memt;

static uint64_t mt_clock(void *ctx)
{
    return ((memt *)ctx)->now;
}

static ptrdiff_t mt_send(void *ctx, const unsigned char *buf, size_t len)
{
    memt *m = ctx;
    size_t n = len;

    m->calls++;
    if (len > m->max_len)
        m->max_len = len;
    if (m->full || (m->zero_every && m->calls % m->zero_every == 0)) {
        /* told "would block", the pump waits (ends the step) instead of
         * writing again, unless a read moved something in between */
        assert_false(m->refused);
        m->full = m->refused = 1;
        m->zeros++;
        return 0;
    }
    if (m->take_cycle && n > 1 + m->calls % m->take_cycle)
        n = 1 + m->calls % m->take_cycle;
    assert_true(m->wire_len + n <= m->wire_cap);
    memcpy(m->wire + m->wire_len, buf, n);
    m->wire_len += n;
    m->writes++;
    m->shorts += n < len;
    m->now += m->send_ms;
    return (ptrdiff_t)n;
}

static ptrdiff_t mt_recv(void *ctx, unsigned char *buf, size_t cap)
{
    memt *m = ctx;
    size_t left, n;

    if (m->next == m->nreply || m->wire_len < m->avail[m->next] || (m->hold && m->next >= m->hold))
        return 0;
    left = strlen(m->reply[m->next]) - m->reply_off;
    n = left < cap ? left : cap;
    memcpy(buf, m->reply[m->next] + m->reply_off, n);
    m->refused = 0;
    m->reply_off += n;
    if (m->reply_off == strlen(m->reply[m->next])) {
        m->next++;
        m->reply_off = 0;
    }
    return (ptrdiff_t)n;
}

static void mt_reply(memt *m, const char *text, size_t due)
{
    assert_true(m->nreply < MT_MAX_REPLIES);
    m->reply[m->nreply] = text;
    m->avail[m->nreply] = due;
    m->nreply++;
}

/* A body of lines of every length up to 99 bytes, some of them starting
 * with '.', CRLF line ends: about 9 KB. */
static char *make_text(void)
{
    size_t cap = 16384, len = 0;
    char *t = malloc(cap);

    assert_non_null(t);
    for (unsigned i = 0; i < 180; i++) {
        size_t n = (i * 37u) % 100u;
        for (size_t k = 0; k < n; k++)
            t[len++] = k == 0 && i % 3 == 0 ? '.' : (char)('a' + (i + k) % 26);
        t[len++] = '\r';
        t[len++] = '\n';
    }
    t[len] = '\0';
    return t;
}

typedef struct pump_case {
    size_t out_cap;
    size_t take_cycle;
    unsigned zero_every;
    int pipelining;
} pump_case;

/* What a session did. */
typedef struct pump_stats {
    unsigned writes, shorts, zeros;
    size_t body_len; /* the stuffed body, terminator included */
} pump_stats;

/* One session: greeting, EHLO, one job, QUIT, driven like the
 * non-blocking driver drives the pump (step; after AGAIN, step again: the
 * in-memory peer is always ready once it said "would block"). */
static void run_case(const pump_case *pc, const char *text, pump_stats *st)
{
    static const char ehlo[] = "EHLO client.test\r\n";
    static const char mail[] = "MAIL FROM:<a@x.test>\r\n";
    static const char rcpt[] = "RCPT TO:<b@y.test>\r\n";
    static const char data[] = "DATA\r\n";
    static const char quit[] = "QUIT\r\n";
    static const char *const rcpts[] = {"b@y.test"};
    char *stuffed = ct_stuff(text);
    size_t body_len = strlen(stuffed), pos = 0;
    mailout_allocator heap = mailout_heap_allocator();
    mailout_smtp_config cfg;
    mailout_transport t;
    mailout_smtp *s = NULL;
    mailout_pump p;
    ct_body body;
    mailout_job job;
    memt m;
    int submitted = 0, quitted = 0;
    unsigned steps = 0;
    char *exp;

    memset(&m, 0, sizeof m);
    m.wire_cap = body_len + 4096;
    m.wire = malloc(m.wire_cap);
    assert_non_null(m.wire);
    m.take_cycle = pc->take_cycle;
    m.zero_every = pc->zero_every;
    mt_reply(&m, "220 srv.test ESMTP\r\n", 0);
    mt_reply(&m, pc->pipelining ? "250-srv.test\r\n250 PIPELINING\r\n" : "250 srv.test\r\n", pos += strlen(ehlo));
    mt_reply(&m, "250 2.1.0 ok\r\n", pos += strlen(mail));
    mt_reply(&m, "250 2.1.5 ok\r\n", pos += strlen(rcpt));
    mt_reply(&m, "354 go ahead\r\n", pos += strlen(data));
    mt_reply(&m, "250 2.0.0 queued\r\n", pos += body_len);
    mt_reply(&m, "221 2.0.0 bye\r\n", pos += strlen(quit));
    memset(&t, 0, sizeof t);
    t.send = mt_send;
    t.recv = mt_recv;
    t.ctx = &m;

    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.out_buf_size = pc->out_cap;
    assert_status(MAILOUT_OK, mailout_smtp_new(&s, &cfg, &heap, 0));
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpts;
    job.rcpt_count = 1;
    job.body = ct_body_source(&body, text, 0, 0);
    mailout_pump_init(&p, s, &t, NULL, 0, 0);

    for (;;) {
        mailout_status r;

        assert_true(++steps < 1000000u);
        m.full = m.refused = 0; /* a new step comes after the wait */
        r = mailout_pump_step(&p, 1000);
        if (r == MAILOUT_DONE)
            break;
        if (r == MAILOUT_AGAIN) {
            assert_true(p.wait_dir != 0);
            if (m.refused)
                assert_true(p.wait_dir & MAILOUT_WANT_WRITE);
            continue;
        }
        assert_status(MAILOUT_OK, r);
        if (!submitted) {
            assert_status(MAILOUT_OK, mailout_smtp_submit(s, &job));
            submitted = 1;
        } else {
            assert_false(quitted);
            assert_status(MAILOUT_OK, mailout_smtp_result(s)->status);
            assert_status(MAILOUT_OK, mailout_smtp_quit(s));
            quitted = 1;
        }
    }
    assert_true(quitted);
    assert_status(MAILOUT_OK, mailout_smtp_status(s));
    assert_int_equal(m.next, m.nreply);

    exp = malloc(pos + 1);
    assert_non_null(exp);
    exp[0] = '\0';
    strcat(exp, ehlo);
    strcat(exp, mail);
    strcat(exp, rcpt);
    strcat(exp, data);
    strcat(exp, stuffed);
    strcat(exp, quit);
    assert_bytes_equal(exp, strlen(exp), m.wire, m.wire_len);
    /* never more than the buffer per write, and whole buffers: the four
     * commands and QUIT, the body in out_cap pieces, and one more write
     * for each short one */
    assert_true(m.max_len <= pc->out_cap);
    assert_true(m.writes <= 5 + (body_len + pc->out_cap - 1) / pc->out_cap + m.shorts);
    if (!pc->zero_every)
        assert_int_equal(m.zeros, 0);
    st->writes = m.writes;
    st->shorts = m.shorts;
    st->zeros = m.zeros;
    st->body_len = body_len;

    mailout_pump_free(&p);
    mailout_smtp_free(s);
    free(exp);
    free(m.wire);
    free(stuffed);
}

/* Every combination of buffer size, short-write pattern (windows 1..n),
 * "would block" schedule and pipelining. */
static void test_exact_bytes_short_writes(void **state)
{
    static const size_t caps[] = {64, 65, 100, 256};
    static const size_t takes[] = {0, 1, 2, 7, 64, 300};
    static const unsigned zeros[] = {0, 2, 3, 5};
    char *text = make_text();
    (void)state;

    for (size_t a = 0; a < sizeof caps / sizeof caps[0]; a++)
        for (size_t b = 0; b < sizeof takes / sizeof takes[0]; b++)
            for (size_t c = 0; c < sizeof zeros / sizeof zeros[0]; c++)
                for (int pl = 0; pl < 2; pl++) {
                    pump_case pc = {caps[a], takes[b], zeros[c], pl};
                    pump_stats st;
                    run_case(&pc, text, &st);
                    if (takes[b] == 0)
                        assert_int_equal(st.shorts, 0);
                    else
                        assert_true(st.shorts > 0);
                }
    free(text);
}

/* A transport that takes everything: exactly one write per command and
 * (group) and one per full buffer of body: no short fills. */
static void test_whole_buffers(void **state)
{
    char *text = make_text();
    (void)state;

    for (size_t cap = 64; cap <= 1024; cap += 64) {
        for (int pl = 0; pl < 2; pl++) {
            pump_case pc = {cap, 0, 0, pl};
            pump_stats st;
            size_t body_writes;
            run_case(&pc, text, &st);
            body_writes = (st.body_len + cap - 1) / cap;
            assert_int_equal(st.shorts, 0);
            /* EHLO, MAIL, RCPT, DATA (one group of 48 bytes with
             * PIPELINING), the body, QUIT */
            assert_int_equal(st.writes, (pl ? 3 : 5) + body_writes);
        }
    }
    free(text);
}

/* Step at the memt's clock until the pump says @p want (OK or AGAIN). */
static void step_until(mailout_pump *p, memt *m, mailout_status want)
{
    for (unsigned i = 0; i < 100000u; i++) {
        mailout_status r;
        m->full = m->refused = 0;
        r = mailout_pump_step(p, m->now);
        if (r == want)
            return;
        assert_status(MAILOUT_AGAIN, r);
    }
    fail_msg("the pump never got there");
}

/*
 * A transport whose sends wait (50 ms each on the memt's clock): the body
 * takes seconds inside one step. With the driver's clock, the deadline for
 * the reply to the end of the data runs from when the last send returned:
 * one ms before it, the session still waits, and the late 250 delivers.
 * Without a clock (the non-blocking driver), it runs from the step's time
 * as before (client.h says so).
 */
static void run_waiting_sends(int with_clock)
{
    static const char *const rcpts[] = {"b@y.test"};
    char *text = make_text();
    char *stuffed = ct_stuff(text);
    size_t pos = 0;
    mailout_allocator heap = mailout_heap_allocator();
    mailout_smtp_config cfg;
    mailout_transport t;
    mailout_smtp *s = NULL;
    mailout_pump p;
    ct_body body;
    mailout_job job;
    memt m;
    uint64_t started, sent;

    memset(&m, 0, sizeof m);
    m.wire_cap = strlen(stuffed) + 4096;
    m.wire = malloc(m.wire_cap);
    assert_non_null(m.wire);
    m.now = 5000;
    m.send_ms = 50;
    m.hold = 5; /* the 250 to the end of the data */
    mt_reply(&m, "220 srv.test ESMTP\r\n", 0);
    mt_reply(&m, "250 srv.test\r\n", pos += 18);
    mt_reply(&m, "250 2.1.0 ok\r\n", pos += 22);
    mt_reply(&m, "250 2.1.5 ok\r\n", pos += 20);
    mt_reply(&m, "354 go ahead\r\n", pos += 6);
    mt_reply(&m, "250 2.0.0 queued\r\n", pos += strlen(stuffed));
    mt_reply(&m, "221 2.0.0 bye\r\n", pos += 6);
    memset(&t, 0, sizeof t);
    t.send = mt_send;
    t.recv = mt_recv;
    t.ctx = &m;
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.out_buf_size = 256;
    cfg.timeout_ms = 1000;
    assert_status(MAILOUT_OK, mailout_smtp_new(&s, &cfg, &heap, 0));
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpts;
    job.rcpt_count = 1;
    job.body = ct_body_source(&body, text, 0, 0);
    mailout_pump_init(&p, s, &t, NULL, 0, 0);
    if (with_clock)
        mailout_pump_set_clock(&p, mt_clock, &m);

    step_until(&p, &m, MAILOUT_OK);
    assert_status(MAILOUT_OK, mailout_smtp_submit(s, &job));
    /* MAIL, RCPT, DATA, then the body in one step: 256 B per send */
    for (;;) {
        started = m.now;
        m.full = m.refused = 0;
        assert_status(MAILOUT_AGAIN, mailout_pump_step(&p, m.now));
        if (m.wire_len == m.avail[5])
            break;
    }
    sent = m.now;
    assert_true(sent - started >= 30 * 50u); /* the body took 1.5 s and more */
    assert_int_equal(p.wait_dir, MAILOUT_WANT_READ);
    if (!with_clock) {
        /* as before: from the step's time, long gone */
        assert_int_equal(mailout_pump_deadline(&p), started + 1000);
        m.full = m.refused = 0;
        assert_status(MAILOUT_DONE, mailout_pump_step(&p, sent));
        assert_status(MAILOUT_E_DELIVERY_UNKNOWN, mailout_smtp_result(s)->status);
    } else {
        assert_int_equal(mailout_pump_deadline(&p), sent + 1000);
        m.now = sent + 999;
        step_until(&p, &m, MAILOUT_AGAIN);
        assert_status(MAILOUT_OK, mailout_smtp_status(s));
        m.hold = 0; /* the 250 comes */
        step_until(&p, &m, MAILOUT_OK);
        assert_status(MAILOUT_OK, mailout_smtp_result(s)->status);
        assert_int_equal(mailout_smtp_result(s)->reply.code, 250);
        /* QUIT, armed from the time the 250 was read: it goes out */
        assert_status(MAILOUT_OK, mailout_smtp_quit(s));
        step_until(&p, &m, MAILOUT_DONE);
        assert_status(MAILOUT_OK, mailout_smtp_status(s));
        assert_int_equal(m.next, m.nreply);
    }
    mailout_pump_free(&p);
    mailout_smtp_free(s);
    free(m.wire);
    free(stuffed);
    free(text);
}

static void test_waiting_sends_with_clock(void **state)
{
    (void)state;
    run_waiting_sends(1);
}

static void test_waiting_sends_without_clock(void **state)
{
    (void)state;
    run_waiting_sends(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes_short_writes),
        cmocka_unit_test(test_whole_buffers),
        cmocka_unit_test(test_waiting_sends_with_clock),
        cmocka_unit_test(test_waiting_sends_without_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
