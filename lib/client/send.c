/* see mailout/client.h: mailout_send, the connect-send-close convenience
 * over the blocking driver. Apart from blocking.c so that mailout_send_jobs
 * does not pull in the message layer (mailout_job_from_msg). */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <time.h>

#include "client/driver_internal.h"
#include "internal.h"

/* The longest a send waits for room when timeout_ms is 0: RFC 5321
 * §4.5.3.2.5's data block timeout, which the engine applies too. */
#define SEND_WAIT_MS 180000u

static void result_set(mailout_result *r, mailout_status st)
{
    memset(r, 0, sizeof *r);
    r->status = st;
}

static uint64_t send_monotonic_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static mailout_status send_connect(const mailout_client_config *cfg, mailout_tcp **tcp, mailout_transport *t)
{
    mailout_tcp_config tc;

    memset(&tc, 0, sizeof tc);
    tc.host = cfg->host;
    tc.port = cfg->port ? cfg->port : (cfg->smtp.tls == MAILOUT_TLS_IMPLICIT ? 465 : 587);
    tc.family = cfg->family;
    tc.connect_timeout_ms = cfg->connect_timeout_ms;
    /* Replies are waited for in this driver (recv never waits), so every
     * such wait is bounded by the engine's deadline for the reply it
     * expects, and the QUIT by MAILOUT_CLIENT_QUIT_TIMEOUT_MS. A send
     * waits in the kernel for room instead: a buffer then always goes out
     * in one system call (a non-blocking socket that fills up cuts writes
     * short, and each costs a poll() and one more call), bounded like the
     * engine bounds a data block: timeout_ms, or RFC 5321's 3 minutes.
     * Only a body fills the socket, and nothing but a close follows a
     * body that failed, so no polite QUIT ever waits this long. */
    tc.io_timeout_ms = cfg->smtp.timeout_ms ? cfg->smtp.timeout_ms : SEND_WAIT_MS;
    tc.nonblocking = MAILOUT_TCP_SEND_WAITS;
    return mailout_tcp_open(tcp, &tc, NULL, t);
}

mailout_status mailout_send_job(const mailout_client_config *cfg, const mailout_job *job, mailout_result *result)
{
    char ehlo[256];
    mailout_smtp_config sc;
    mailout_tls_config tc;
    mailout_transport t;
    mailout_tcp *tcp = NULL;
    mailout_status st;

    if (!result)
        return MAILOUT_E_INVAL;
    result_set(result, MAILOUT_E_INVAL);
    if (!cfg || !cfg->host || !cfg->host[0] || !job)
        return MAILOUT_E_INVAL;
    st = send_connect(cfg, &tcp, &t);
    if (st != MAILOUT_OK) {
        result_set(result, st);
        result->stage = MAILOUT_STAGE_CONNECT;
        return st;
    }
    sc = cfg->smtp;
    if (!sc.ehlo_name) {
        st = mailout_tcp_ehlo_name(tcp, ehlo, sizeof ehlo);
        if (st != MAILOUT_OK) {
            mailout_tcp_free(tcp);
            result_set(result, st);
            result->stage = MAILOUT_STAGE_EHLO;
            return st;
        }
        sc.ehlo_name = ehlo;
    }
    tc = cfg->tls;
    if (!tc.server_name)
        tc.server_name = cfg->host;
    (void)mailout_blocking_session(&t, &sc, &tc, job, 1, result, send_monotonic_ms, NULL, 1);
    mailout_tcp_free(tcp);
    return result->status;
}

mailout_status mailout_send(const mailout_client_config *cfg, mailout_msg *m, mailout_result *result)
{
    const char *rcpt_store[MAILOUT_MAX_RECIPIENTS];
    mailout_job job;
    mailout_status st;

    if (!result)
        return MAILOUT_E_INVAL;
    result_set(result, MAILOUT_E_INVAL);
    if (!cfg || !cfg->host || !cfg->host[0] || !m)
        return MAILOUT_E_INVAL;
    /* The envelope first: nothing to connect for when there is no message. */
    st = mailout_job_from_msg(&job, m, rcpt_store);
    if (st != MAILOUT_OK) {
        result_set(result, st);
        return st;
    }
    return mailout_send_job(cfg, &job, result);
}
