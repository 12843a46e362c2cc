/* see mailout/client.h: the non-blocking driver (mailout_client_*). */
#include <string.h>

#include "client/driver_internal.h"
#include "internal.h"

typedef enum client_job {
    CLIENT_JOB_NONE = 0, /* nothing queued */
    CLIENT_JOB_QUEUED,   /* submitted, waiting for the session to be ready */
    CLIENT_JOB_RUNNING   /* handed to the engine */
} client_job;

struct mailout_client {
    mailout_allocator alloc;
    mailout_smtp *smtp;
    mailout_pump pump;
    mailout_job job;         /* the queued job (its strings stay the caller's) */
    mailout_result result;   /* the last finished job */
    client_job job_state;
    int quit_wanted;         /* quit() called */
    int quit_sent;           /* QUIT handed to the engine */
    int finished;            /* the session ended after quit() */
    uint64_t quit_deadline;  /* bound on waiting for the reply to QUIT */
    mailout_status sticky;   /* the session's failure, once it failed */
};

mailout_status mailout_client_new(mailout_client **out, const mailout_transport *t, const mailout_smtp_config *cfg,
                                  const mailout_tls_config *tls, const mailout_allocator *alloc)
{
    int implicit;
    mailout_client *c;
    mailout_status r;

    if (!out || !t || !t->send || !t->recv || !cfg || !alloc || !alloc->alloc ||
        (!tls && cfg->tls != MAILOUT_TLS_NONE))
        return MAILOUT_E_INVAL;
    c = mailout_alloc(alloc, sizeof *c);
    if (!c)
        return MAILOUT_E_NOMEM;
    memset(c, 0, sizeof *c);
    c->alloc = *alloc;
    implicit = cfg->tls == MAILOUT_TLS_IMPLICIT;
    r = mailout_smtp_new(&c->smtp, cfg, alloc, implicit);
    if (r != MAILOUT_OK) {
        mailout_release(alloc, c, sizeof *c);
        return r;
    }
    mailout_pump_init(&c->pump, c->smtp, t, tls, implicit, cfg->timeout_ms);
    c->quit_deadline = UINT64_MAX;
    *out = c;
    return MAILOUT_OK;
}

void mailout_client_free(mailout_client *c)
{
    mailout_allocator alloc;

    if (!c)
        return;
    alloc = c->alloc;
    mailout_pump_free(&c->pump);
    mailout_smtp_free(c->smtp);
    mailout_release(&alloc, c, sizeof *c);
}

/* The engine waits for a job or QUIT (nothing left to send). */
static int client_engine_idle(const mailout_client *c)
{
    unsigned w = mailout_smtp_want(c->smtp);
    return (w & MAILOUT_SMTP_WANT_IDLE) && !(w & MAILOUT_SMTP_WANT_WRITE) && !c->pump.implicit_pending;
}

mailout_status mailout_client_submit(mailout_client *c, const mailout_job *job)
{
    mailout_status r;

    if (!c || !job)
        return MAILOUT_E_INVAL;
    if (c->sticky < 0)
        return c->sticky;
    if (c->job_state != CLIENT_JOB_NONE || c->quit_wanted)
        return MAILOUT_E_STATE;
    if (client_engine_idle(c)) {
        /* Ready now: the engine validates at once, nothing is queued on failure. */
        r = mailout_smtp_submit(c->smtp, job);
        if (r == MAILOUT_OK)
            c->job_state = CLIENT_JOB_RUNNING;
        return r;
    }
    c->job = *job;
    c->job_state = CLIENT_JOB_QUEUED;
    return MAILOUT_OK;
}

mailout_status mailout_client_quit(mailout_client *c)
{
    if (!c)
        return MAILOUT_E_INVAL;
    if (c->sticky < 0)
        return c->sticky;
    if (c->job_state != CLIENT_JOB_NONE || c->quit_wanted)
        return MAILOUT_E_STATE;
    c->quit_wanted = 1;
    return MAILOUT_OK;
}

/* The engine finished: after QUIT that is the end; otherwise a failure. */
static mailout_status client_ended(mailout_client *c)
{
    mailout_status st = mailout_smtp_status(c->smtp);

    if (c->job_state != CLIENT_JOB_NONE) {
        mailout_pump_fail_result(&c->pump, st < 0 ? st : MAILOUT_E_STATE, c->job_state == CLIENT_JOB_RUNNING,
                                 &c->result);
        c->job_state = CLIENT_JOB_NONE;
    }
    if (c->quit_sent && st >= 0) {
        c->finished = 1;
        return MAILOUT_DONE;
    }
    c->sticky = st < 0 ? st : MAILOUT_E_STATE; /* ended without a reason: engine bug */
    return c->sticky;
}

/* The engine is idle: finish the running job, start the queued one, or QUIT. */
static mailout_status client_idle(mailout_client *c, uint64_t now_ms, int *again)
{
    mailout_status r;

    *again = 0;
    if (c->job_state == CLIENT_JOB_RUNNING) {
        c->result = *mailout_smtp_result(c->smtp);
        c->job_state = CLIENT_JOB_NONE;
        return MAILOUT_DONE;
    }
    if (c->job_state == CLIENT_JOB_QUEUED) {
        r = mailout_smtp_submit(c->smtp, &c->job);
        if (r != MAILOUT_OK) {
            /* refused before anything was sent; the session goes on */
            memset(&c->result, 0, sizeof c->result);
            c->result.status = r;
            c->job_state = CLIENT_JOB_NONE;
            return MAILOUT_DONE;
        }
        c->job_state = CLIENT_JOB_RUNNING;
        *again = 1;
        return MAILOUT_OK;
    }
    if (c->quit_wanted && !c->quit_sent) {
        r = mailout_smtp_quit(c->smtp);
        if (r < 0)
            return r;
        c->quit_sent = 1;
        c->quit_deadline = now_ms + MAILOUT_CLIENT_QUIT_TIMEOUT_MS;
        *again = 1;
    }
    return MAILOUT_OK;
}

mailout_status mailout_client_step(mailout_client *c, uint64_t now_ms)
{
    if (!c)
        return MAILOUT_E_INVAL;
    if (c->sticky < 0)
        return c->sticky;
    if (c->finished)
        return MAILOUT_DONE;
    if (c->quit_sent && now_ms >= c->quit_deadline) {
        /* Every outcome is known; a server that does not answer QUIT
         * does not change it. */
        c->finished = 1;
        return MAILOUT_DONE;
    }
    for (;;) {
        mailout_status r = mailout_pump_step(&c->pump, now_ms);
        int again;

        if (r == MAILOUT_AGAIN)
            return r;
        if (r == MAILOUT_DONE)
            return client_ended(c);
        r = client_idle(c, now_ms, &again);
        if (r < 0) {
            c->sticky = r;
            return r;
        }
        if (!again)
            return r;
    }
}

int mailout_client_pollfd(const mailout_client *c, unsigned *want)
{
    unsigned w = 0;
    int fd = -1;

    if (c && !c->finished && c->sticky >= 0)
        fd = mailout_pump_poll(&c->pump, &w);
    if (want)
        *want = w;
    return fd;
}

uint64_t mailout_client_deadline(const mailout_client *c)
{
    uint64_t d;

    if (!c || c->finished || c->sticky < 0)
        return UINT64_MAX;
    d = mailout_pump_deadline(&c->pump);
    return c->quit_deadline < d ? c->quit_deadline : d;
}

const mailout_result *mailout_client_result(const mailout_client *c)
{
    return c ? &c->result : NULL;
}
