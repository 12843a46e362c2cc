/* see driver_internal.h: the byte pump shared by both drivers. */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <time.h>

#include "client/driver_internal.h"
#include "internal.h"

/* What one transfer attempt achieved. */
typedef enum pump_io {
    PUMP_PROGRESS, /* bytes moved */
    PUMP_BLOCKED,  /* the transport would block */
    PUMP_NOTHING,  /* the engine had nothing to move (body source waiting) */
    PUMP_FAILED    /* the transport failed; the engine was told */
} pump_io;

void mailout_pump_init(mailout_pump *p, mailout_smtp *s, const mailout_transport *t,
                       const mailout_tls_config *tls_cfg, int implicit_tls, uint32_t tls_timeout_ms)
{
    memset(p, 0, sizeof *p);
    p->smtp = s;
    p->lower = *t;
    p->tls_cfg = tls_cfg;
    p->active = &p->lower;
    p->implicit_pending = implicit_tls;
    p->tls_deadline = UINT64_MAX;
    p->tls_timeout_ms = tls_timeout_ms ? tls_timeout_ms : MAILOUT_PUMP_TLS_TIMEOUT_MS;
    /* Before the first step: the client speaks first in TLS, the server in SMTP. */
    p->wait_dir = implicit_tls ? MAILOUT_WANT_WRITE : MAILOUT_WANT_READ;
}

void mailout_pump_set_clock(mailout_pump *p, mailout_clock_fn clock, void *clock_ctx)
{
    p->clock = clock;
    p->clock_ctx = clock_ctx;
}

/* The engine's clock: p->now less the time the write loops took (see
 * pump_write). Its deadlines are that much later in real time. */
static uint64_t pump_engine_time(const mailout_pump *p)
{
    return p->now > p->lag ? p->now - p->lag : 0;
}

/*
 * Before the engine hears of bytes received (the reply may arm the
 * deadline of the next one), at @p before (the clock just before the
 * recv). The time since p->now that went before the recv (a send that
 * waited and took nothing, a body source that blocked) is added to the
 * lag like a write loop's: the reply may have been waiting in the socket
 * all along, and it came before its deadline if it was there when the
 * engine last looked. Only what the recv itself waited counts. Only a
 * recv that brought bytes gets here, so a silent peer cannot push its
 * deadline back.
 */
static void pump_tick(mailout_pump *p, uint64_t before)
{
    if (p->clock) {
        if (before > p->now) {
            p->lag += before - p->now;
            p->now = before;
        }
        uint64_t t = p->clock(p->clock_ctx);
        if (t > p->now)
            p->now = t;
        mailout_smtp_set_time(p->smtp, pump_engine_time(p));
    }
}

/* After a write loop: the time it took is added to the engine's lag, so
 * the deadline armed by its last ack runs from now (see pump_write). */
static void pump_catch_up(mailout_pump *p)
{
    uint64_t t;

    if (!p->clock)
        return;
    t = p->clock(p->clock_ctx);
    if (t > p->now) {
        p->lag += t - p->now;
        p->now = t;
    }
}

void mailout_pump_free(mailout_pump *p)
{
    mailout_tls_free(p->tls);
    p->tls = NULL;
    p->active = &p->lower;
}

void mailout_pump_close(mailout_pump *p)
{
    /* close_notify only over a session that finished its handshake; a
     * half-built one has nothing to protect. The TLS close closes lower. */
    if (p->active == &p->tls_t) {
        if (p->tls_t.close)
            p->tls_t.close(p->tls_t.ctx);
    } else if (p->lower.close) {
        p->lower.close(p->lower.ctx);
    }
}

/* One handshake attempt; creates the session on first use. */
static mailout_status pump_handshake_try(mailout_pump *p)
{
    mailout_status r;

    if (!p->tls) {
        if (!p->tls_cfg)
            return MAILOUT_E_INVAL;
        r = mailout_tls_new(&p->tls, p->tls_cfg, &p->lower, &p->tls_t);
        if (r != MAILOUT_OK)
            return r;
        p->tls_deadline = p->now + p->tls_timeout_ms;
    }
    if (p->now >= p->tls_deadline)
        return MAILOUT_E_TIMEOUT;
    return mailout_tls_handshake(p->tls);
}

static mailout_status pump_handshake(mailout_pump *p)
{
    mailout_status r = pump_handshake_try(p);

    if (r == MAILOUT_AGAIN)
        return r;
    /* A server that drops the connection during the handshake (after its
     * STARTTLS 220, or on port 465) failed the handshake: reported as such
     * (SECURITY-RULES case 11), never as an ordinary closed connection a
     * caller might retry in plaintext. */
    if (r == MAILOUT_E_CLOSED || r == MAILOUT_E_IO)
        r = MAILOUT_E_TLS_HANDSHAKE;
    p->tls_deadline = UINT64_MAX;
    if (r == MAILOUT_OK)
        p->active = &p->tls_t; /* from now on every SMTP byte goes through TLS */
    else
        p->tls_failed = 1;
    return r;
}

/* A transport returned a negative value or broke its contract. */
static pump_io pump_fail(mailout_pump *p, ptrdiff_t n)
{
    mailout_status why = n < 0 ? (mailout_status)n : MAILOUT_E_IO;
    mailout_smtp_abort(p->smtp, why);
    return PUMP_FAILED;
}

/*
 * Write until the engine has nothing more or the transport would block.
 * In the DATA body that is one tight loop of out_buf / send / out_ack per
 * buffer, without set_time(), want() and a pass over the directions per
 * write (about 70 instructions of each 256 B write). Reading waits no
 * longer than it did with one write per pass: that too read only once
 * writing could not go on, and the loop ends as soon as the engine has
 * nothing to send. *moved says whether any bytes went out.
 */
static pump_io pump_write_loop(mailout_pump *p, int *moved)
{
    const mailout_transport *t = p->active;

    for (;;) {
        size_t len = 0;
        const unsigned char *buf = mailout_smtp_out_buf(p->smtp, &len);
        ptrdiff_t n;

        if (!buf || len == 0)
            return PUMP_NOTHING;
        n = t->send(t->ctx, buf, len);
        if (n == 0)
            return PUMP_BLOCKED;
        if (n < 0 || (size_t)n > len)
            return pump_fail(p, n);
        /* An error here is sticky in the engine: out_buf() says nothing
         * more and the step loop sees want() NONE. */
        (void)mailout_smtp_out_ack(p->smtp, (size_t)n);
        *moved = 1;
    }
}

/*
 * The write loop, then the clock. Each ack re-arms the engine's deadline
 * from the engine's time, and with a transport whose send waits the loop
 * can last long (a whole body to a slow reader): armed from the time the
 * step began, the deadline for the reply to the end of the data could
 * pass before the body was even out, and the job was reported undelivered
 * although the server answered 250. Telling the engine the time before
 * every ack would cost a clock read per write (about a tenth of a 256 B
 * write); instead, once the loop ends, the time it took is added to the
 * lag of the engine's clock behind p->now, which moves every deadline the
 * engine armed in the loop (only the last ack's counts: each re-arms) to
 * the same distance from now: from a time taken after the last send
 * returned. Deadlines are compared on the engine's clock and handed out
 * on p->now's (mailout_pump_deadline()), so nothing else changes. What a
 * single send waited is the transport's to bound (its own timeout).
 */
static pump_io pump_write(mailout_pump *p, int *moved)
{
    pump_io io = pump_write_loop(p, moved);

    if (*moved)
        pump_catch_up(p);
    return io;
}

static pump_io pump_read(mailout_pump *p)
{
    size_t cap = 0;
    unsigned char *buf = mailout_smtp_in_buf(p->smtp, &cap);
    uint64_t before = 0;
    ptrdiff_t n;

    if (!buf || cap == 0)
        return PUMP_NOTHING;
    if (p->clock)
        before = p->clock(p->clock_ctx);
    /* Only as much as the engine has room for, and straight into its
     * buffer: the driver never holds bytes the engine has not seen. */
    n = p->active->recv(p->active->ctx, buf, cap);
    if (n == 0)
        return PUMP_BLOCKED;
    if (n < 0 || (size_t)n > cap)
        return pump_fail(p, n);
    pump_tick(p, before);
    (void)mailout_smtp_in_ack(p->smtp, (size_t)n);
    return PUMP_PROGRESS;
}

static mailout_status pump_again(mailout_pump *p, unsigned dirs, int body)
{
    p->wait_dir = dirs;
    p->body_pending = body;
    return MAILOUT_AGAIN;
}

static mailout_status pump_settled(mailout_pump *p, mailout_status r)
{
    p->wait_dir = 0;
    p->body_pending = 0;
    return r;
}

/* Implicit TLS: the handshake comes before the greeting. */
static mailout_status pump_implicit(mailout_pump *p)
{
    mailout_status r = pump_handshake(p);

    if (r == MAILOUT_AGAIN)
        return pump_again(p, MAILOUT_WANT_READ | MAILOUT_WANT_WRITE, 0);
    p->implicit_pending = 0;
    if (r != MAILOUT_OK)
        mailout_smtp_abort(p->smtp, r);
    return MAILOUT_OK;
}

/* One pass over the directions the engine wants. Returns PUMP_PROGRESS
 * when anything moved (or failed: the engine then knows), else AGAIN with
 * what would block recorded in the pump. */
static pump_io pump_pass(mailout_pump *p, unsigned w)
{
    unsigned dirs = 0;
    int body = 0, moved = 0;
    pump_io io;

    if (w & (MAILOUT_SMTP_WANT_WRITE | MAILOUT_SMTP_WANT_BODY)) {
        io = pump_write(p, &moved);
        /* Out of output after writing: ask the engine again (it may wait
         * for a reply now, or be done). */
        if (io == PUMP_FAILED || (io == PUMP_NOTHING && moved))
            return PUMP_PROGRESS;
        /* Blocked, or nothing until the body source has more: either way
         * try the other direction before giving up (a pipelining server
         * may be waiting for us to read its replies). After writes that
         * ended blocked, the engine may await a reply it did not before;
         * asking once here saves the second "would block" write a new
         * pass would make. */
        if (io == PUMP_BLOCKED) {
            dirs |= MAILOUT_WANT_WRITE;
            if (moved)
                w = mailout_smtp_want(p->smtp);
        } else {
            body = 1;
        }
    }
    if (w & MAILOUT_SMTP_WANT_READ) {
        io = pump_read(p);
        if (io == PUMP_PROGRESS || io == PUMP_FAILED)
            return PUMP_PROGRESS;
        if (io == PUMP_BLOCKED)
            dirs |= MAILOUT_WANT_READ;
    }
    if (!dirs && !body) {
        /* want() named nothing this driver can serve: an engine bug. */
        mailout_smtp_abort(p->smtp, MAILOUT_E_INTERNAL);
        return PUMP_PROGRESS;
    }
    (void)pump_again(p, dirs, body);
    return PUMP_BLOCKED;
}

mailout_status mailout_pump_step(mailout_pump *p, uint64_t now_ms)
{
    p->now = now_ms;
    for (;;) {
        unsigned w;

        mailout_smtp_set_time(p->smtp, pump_engine_time(p));
        if (p->implicit_pending && mailout_smtp_status(p->smtp) == MAILOUT_OK) {
            if (pump_implicit(p) == MAILOUT_AGAIN)
                return MAILOUT_AGAIN;
            continue;
        }
        w = mailout_smtp_want(p->smtp);
        if (w == MAILOUT_SMTP_WANT_NONE)
            return pump_settled(p, MAILOUT_DONE);
        if (w & MAILOUT_SMTP_WANT_TLS) {
            mailout_status r = pump_handshake(p);
            if (r == MAILOUT_AGAIN)
                return pump_again(p, MAILOUT_WANT_READ | MAILOUT_WANT_WRITE, 0);
            (void)mailout_smtp_tls_done(p->smtp, r);
            continue;
        }
        if ((w & MAILOUT_SMTP_WANT_IDLE) && !(w & MAILOUT_SMTP_WANT_WRITE))
            return pump_settled(p, MAILOUT_OK);
        if (pump_pass(p, w) == PUMP_BLOCKED)
            return MAILOUT_AGAIN;
    }
}

int mailout_pump_poll(const mailout_pump *p, unsigned *want)
{
    const mailout_transport *t = p->tls ? &p->tls_t : &p->lower;
    unsigned w = p->wait_dir;
    int fd = -1;

    if (w && t->pollfd)
        fd = t->pollfd(t->ctx, &w);
    *want = w;
    return w ? fd : -1;
}

static void pump_sleep_ms(uint32_t ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    (void)nanosleep(&ts, NULL);
}

mailout_status mailout_pump_wait(mailout_pump *p, uint32_t timeout_ms)
{
    const mailout_transport *t = p->tls ? &p->tls_t : &p->lower;
    mailout_status r;

    if (!p->wait_dir) {
        /* Only the body source is waiting: nothing to poll. */
        pump_sleep_ms(timeout_ms);
        return MAILOUT_OK;
    }
    /* Only a lower transport that said "would block" gets us here (TLS
     * blocks when its lower does); without wait() nothing can tell us when
     * to try again. See client.h. */
    if (!t->wait || !p->lower.wait)
        return MAILOUT_E_STATE;
    r = t->wait(t->ctx, p->wait_dir, timeout_ms);
    return r == MAILOUT_E_TIMEOUT ? MAILOUT_OK : r;
}

uint64_t mailout_pump_deadline(const mailout_pump *p)
{
    uint64_t d = mailout_smtp_deadline(p->smtp);

    if (d != UINT64_MAX)
        d = d > UINT64_MAX - 1 - p->lag ? UINT64_MAX - 1 : d + p->lag;
    if (p->tls_deadline < d)
        d = p->tls_deadline;
    if (p->body_pending && p->now + MAILOUT_PUMP_BODY_RETRY_MS < d)
        d = p->now + MAILOUT_PUMP_BODY_RETRY_MS;
    return d;
}

void mailout_pump_fail_result(const mailout_pump *p, mailout_status status, int started, mailout_result *r)
{
    const mailout_result *er = started ? mailout_smtp_result(p->smtp) : NULL;
    const mailout_result *f = mailout_smtp_failure(p->smtp);

    if (er && er->status < 0) {
        *r = *er; /* the job's own outcome, counters and all */
        return;
    }
    memset(r, 0, sizeof *r);
    r->status = status;
    if (f && f->status < 0) {
        /* where the session failed: greeting, EHLO, STARTTLS, AUTH, RSET */
        r->status = f->status;
        r->stage = f->stage;
        r->reply = f->reply;
    }
    if (p->tls_failed)
        r->stage = MAILOUT_STAGE_TLS;
}
