/* see mailout/client.h: the blocking driver (mailout_send_jobs; mailout_send
 * in send.c builds on it). */
#include <string.h>

#include "client/driver_internal.h"
#include "internal.h"

/* Longest single wait when nothing sets a deadline (ms): only bounds how
 * long a wait may last before the loop looks again. */
#define BLK_MAX_WAIT_MS 60000u

typedef struct blk_clock {
    mailout_clock_fn fn;
    void *ctx;
} blk_clock;

static uint64_t blk_now(const blk_clock *c)
{
    return c->fn(c->ctx);
}

/* After the pump said AGAIN: wait until it can go on or the deadline. */
static mailout_status blk_wait(mailout_pump *p, uint64_t now, uint64_t limit)
{
    uint64_t dl = mailout_pump_deadline(p);
    uint32_t ms;

    if (limit < dl)
        dl = limit;
    ms = dl <= now ? 0 : (uint32_t)MAILOUT_MIN(dl - now, (uint64_t)BLK_MAX_WAIT_MS);
    return mailout_pump_wait(p, ms);
}

/*
 * Step and wait until the engine is idle (OK) or finished (DONE). Once the
 * session has failed, or with @p bounded, it gets MAILOUT_CLIENT_QUIT_TIMEOUT_MS
 * at most: only a polite QUIT is left then. Returns E_TIMEOUT when that
 * bound passed.
 */
static mailout_status blk_run(mailout_pump *p, const blk_clock *clk, int bounded)
{
    uint64_t limit = UINT64_MAX;

    for (;;) {
        uint64_t now = blk_now(clk);
        mailout_status r;

        if (limit == UINT64_MAX && (bounded || mailout_smtp_status(p->smtp) < 0))
            limit = now + MAILOUT_CLIENT_QUIT_TIMEOUT_MS;
        if (now >= limit)
            return MAILOUT_E_TIMEOUT;
        r = mailout_pump_step(p, now);
        if (r != MAILOUT_AGAIN)
            return r;
        /* the time now: p->now is only that of the last transfer that
         * moved bytes, and a call that waited and moved nothing (a send
         * or recv with a timeout of its own that says "would block")
         * came after it */
        r = blk_wait(p, blk_now(clk), limit);
        if (r < 0)
            mailout_smtp_abort(p->smtp, r);
    }
}

static void result_set(mailout_result *r, mailout_status st)
{
    memset(r, 0, sizeof *r);
    r->status = st;
}

/*
 * The session over a connected pump: every job in turn, then QUIT.
 * *attempted receives how many jobs were started (their results are
 * filled); the others keep MAILOUT_E_STATE. Returns MAILOUT_OK or the
 * session's error.
 */
static mailout_status blk_session(mailout_pump *p, const mailout_job *jobs, size_t njobs,
                                  mailout_result *results, const blk_clock *clk, size_t *attempted)
{
    size_t i = 0;
    int running = 0;
    mailout_status r, st;

    for (size_t k = 0; k < njobs; k++)
        result_set(&results[k], MAILOUT_E_STATE);
    for (;;) {
        r = blk_run(p, clk, 0);
        if (r != MAILOUT_OK)
            break; /* the session ended */
        if (running) {
            results[i++] = *mailout_smtp_result(p->smtp);
            running = 0;
        }
        if (i == njobs)
            break;
        r = mailout_smtp_submit(p->smtp, &jobs[i]);
        if (r != MAILOUT_OK) {
            /* refused before anything was sent; the session goes on */
            result_set(&results[i++], r);
            continue;
        }
        running = 1;
    }
    st = mailout_smtp_status(p->smtp);
    if (r == MAILOUT_OK) {
        (void)mailout_smtp_quit(p->smtp);
        (void)blk_run(p, clk, 1); /* best effort: the outcome is known */
        st = MAILOUT_OK;
    } else if (st >= 0) {
        st = r == MAILOUT_DONE ? MAILOUT_E_STATE : r; /* ended without a reason */
    }
    if (running)
        mailout_pump_fail_result(p, st, 1, &results[i++]);
    *attempted = i;
    return st;
}

mailout_status mailout_blocking_session(const mailout_transport *t, const mailout_smtp_config *cfg,
                                       const mailout_tls_config *tls, const mailout_job *jobs, size_t njobs,
                                       mailout_result *results, mailout_clock_fn clock, void *clock_ctx, int own)
{
    blk_clock clk = {clock, clock_ctx};
    mailout_allocator heap = mailout_heap_allocator();
    int implicit = cfg->tls == MAILOUT_TLS_IMPLICIT;
    mailout_smtp *s = NULL;
    mailout_pump p;
    size_t attempted = 0;
    mailout_status st;

    st = mailout_smtp_new(&s, cfg, &heap, implicit);
    if (st != MAILOUT_OK) {
        for (size_t k = 0; k < njobs; k++)
            result_set(&results[k], st);
        if (own && t->close)
            t->close(t->ctx);
        return st;
    }
    mailout_pump_init(&p, s, t, tls, implicit, cfg->timeout_ms);
    mailout_pump_set_clock(&p, clock, clock_ctx);
    st = blk_session(&p, jobs, njobs, results, &clk, &attempted);
    if (st < 0 && attempted < njobs && own) {
        /* mailout_send: its one job did not start; say why the session
         * failed (mailout_send_jobs keeps E_STATE, as client.h says). */
        mailout_pump_fail_result(&p, st, 0, &results[attempted]);
    }
    if (own)
        mailout_pump_close(&p);
    mailout_pump_free(&p);
    mailout_smtp_free(s);
    return st;
}

mailout_status mailout_send_jobs(const mailout_transport *t, const mailout_smtp_config *cfg,
                                 const mailout_tls_config *tls, const mailout_job *jobs, size_t njobs,
                                 mailout_result *results, mailout_clock_fn clock, void *clock_ctx)
{
    if (!t || !t->send || !t->recv || !cfg || !clock || (njobs && (!jobs || !results)) ||
        (!tls && cfg->tls != MAILOUT_TLS_NONE)) {
        for (size_t k = 0; results && k < njobs; k++)
            result_set(&results[k], MAILOUT_E_INVAL);
        return MAILOUT_E_INVAL;
    }
    return mailout_blocking_session(t, cfg, tls, jobs, njobs, results, clock, clock_ctx, 0);
}
