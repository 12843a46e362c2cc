/*
 * The byte pump shared by the blocking and the non-blocking drivers
 * (internal to lib/client).
 *
 * One function, mailout_pump_step(), moves bytes between the ESMTP engine
 * and the active transport until the engine is idle, finished, or every
 * direction it needs would block. It also runs the TLS handshakes (STARTTLS
 * when the engine asks, implicit TLS before the first byte) and turns
 * transport failures into mailout_smtp_abort(). The drivers only decide
 * what to do between steps: wait (blocking) or return to the caller's loop
 * (non-blocking).
 *
 * STARTTLS hygiene: the pump reads only when the engine asks and only into
 * the engine's in_buf(), so it never holds bytes of its own; whatever the
 * plaintext connection delivered is the engine's to judge (it fails the
 * session on bytes after the 220), and the TLS session starts on a clean
 * lower transport.
 */
#ifndef MAILOUT_DRIVER_INTERNAL_H
#define MAILOUT_DRIVER_INTERNAL_H

#include <stdint.h>

#include <mailout/client.h>
#include <mailout/smtp.h>
#include <mailout/transport.h>

/* How long a TLS handshake may take when the engine sets no deadline for
 * it (ms). Matches the engine's longest command deadline order of
 * magnitude without letting a silent peer hold a session for minutes. */
#define MAILOUT_PUMP_TLS_TIMEOUT_MS 60000u

/* How soon to retry a body source that said AGAIN (ms): it has no file
 * descriptor to poll, so the drivers can only come back later. */
#define MAILOUT_PUMP_BODY_RETRY_MS 1u

/* How long the drivers wait for the reply to QUIT, or for a failed
 * session's polite QUIT to go out (ms): the outcome is already known then,
 * so a server that never answers must not hold the caller (RFC 5321 says
 * nothing needs to wait for 221). */
#define MAILOUT_CLIENT_QUIT_TIMEOUT_MS 5000u

typedef struct mailout_pump {
    mailout_smtp *smtp;              /* borrowed engine */
    mailout_transport lower;         /* the connection (copied) */
    mailout_transport tls_t;         /* the TLS session's callbacks, once tls != NULL */
    mailout_tls *tls;                /* owned by the pump; NULL = no TLS yet */
    const mailout_tls_config *tls_cfg; /* borrowed; NULL = TLS not possible */
    const mailout_transport *active; /* &lower, or &tls_t after the handshake */
    int implicit_pending;            /* implicit TLS: handshake before any SMTP byte */
    int tls_failed;                  /* the session ended in a TLS handshake */
    uint64_t tls_deadline;           /* UINT64_MAX when no handshake runs */
    uint32_t tls_timeout_ms;         /* handshake budget */
    uint64_t now;                    /* time of the last step, or later (clock) */
    uint64_t lag;                    /* how far the engine's clock is behind now */
    mailout_clock_fn clock;          /* NULL: the time only changes at each step */
    void *clock_ctx;
    unsigned wait_dir;               /* after AGAIN: MAILOUT_WANT_* that would block */
    int body_pending;                /* after AGAIN: the body source said AGAIN */
} mailout_pump;

/*
 * Start a pump over the connected transport @p t (copied; its ctx stays
 * the caller's). @p implicit_tls: run the TLS handshake before anything
 * else (the engine must have been created with tls_active). @p tls_cfg is
 * borrowed for the pump's lifetime. @p tls_timeout_ms 0 = the default.
 * The pump must not move afterwards: a TLS session keeps &p->lower.
 */
void mailout_pump_init(mailout_pump *p, mailout_smtp *s, const mailout_transport *t,
                       const mailout_tls_config *tls_cfg, int implicit_tls, uint32_t tls_timeout_ms);

/*
 * Give the pump the clock its steps' now_ms come from (the blocking
 * driver has one). A transport whose send or recv waits can make one step
 * last long, and the engine arms the deadline for a reply (above all the
 * one for the reply to the end of the data) when it is told the bytes
 * went, from the time it was last given: with the clock, that time is
 * taken after the transfer (see pump_write). Without it (the non-blocking
 * driver: the caller passes the time, see client.h) the time only changes
 * at each step.
 */
void mailout_pump_set_clock(mailout_pump *p, mailout_clock_fn clock, void *clock_ctx);

/*
 * Free the TLS session if any (does not close any transport; see
 * mailout_pump_close()).
 */
void mailout_pump_free(mailout_pump *p);

/*
 * Close the connection: through TLS (close_notify, then the lower
 * transport) when TLS was set up, else the lower transport. For drivers
 * that own the connection.
 */
void mailout_pump_close(mailout_pump *p);

/*
 * Do all the work possible now without waiting, at time @p now_ms.
 * @return MAILOUT_OK     the engine is idle (submit a job or quit);
 *         MAILOUT_DONE   the engine is finished (mailout_smtp_status());
 *         MAILOUT_AGAIN  every direction the engine needs would block:
 *                        p->wait_dir says which, p->body_pending whether
 *                        the body source said AGAIN (nothing to poll for
 *                        it: mailout_pump_deadline() says when to retry).
 * Transport and TLS errors never come back from here: they end the engine's
 * session (sticky in mailout_smtp_status()), and the pump reports DONE.
 */
mailout_status mailout_pump_step(mailout_pump *p, uint64_t now_ms);

/*
 * After AGAIN, non-blocking drivers: the fd to poll and *want, the
 * directions as the transport's pollfd() adjusted them (TLS, during and
 * after a handshake, can need to read while the engine wants to write).
 * -1 with *want 0 when there is nothing to poll (settled, or only the body
 * source is waiting).
 */
int mailout_pump_poll(const mailout_pump *p, unsigned *want);

/*
 * After AGAIN, blocking drivers: wait on the transport (the TLS session's
 * wait() maps the directions to what TLS needs from the lower one) for the
 * directions in p->wait_dir, at most @p timeout_ms; with only the body
 * source waiting, sleep that long. Returns MAILOUT_OK (maybe ready; a
 * wait that timed out is OK too: the next step tells the engine the time)
 * or the transport's error; MAILOUT_E_STATE when the transport has no
 * wait().
 */
mailout_status mailout_pump_wait(mailout_pump *p, uint32_t timeout_ms);

/* The earliest deadline: the engine's, the running handshake's, or the
 * body source's retry; UINT64_MAX if none. */
uint64_t mailout_pump_deadline(const mailout_pump *p);

/*
 * The outcome of a job the session failed under: with @p started, the
 * engine's result for it when that says failure; else (or when the job
 * never started) the session's failure (mailout_smtp_failure(): status,
 * stage, reply), or @p status when the engine has none. TLS failures get
 * stage MAILOUT_STAGE_TLS.
 */
void mailout_pump_fail_result(const mailout_pump *p, mailout_status status, int started, mailout_result *r);

/*
 * The blocking driver's whole session over a connected transport (see
 * mailout_send_jobs(); arguments already checked). With @p own the driver
 * owns the connection: it closes it (through TLS when active) and the
 * results of a job that did not start say why the session failed.
 */
mailout_status mailout_blocking_session(const mailout_transport *t, const mailout_smtp_config *cfg,
                                       const mailout_tls_config *tls, const mailout_job *jobs, size_t njobs,
                                       mailout_result *results, mailout_clock_fn clock, void *clock_ctx, int own);

#endif /* MAILOUT_DRIVER_INTERNAL_H */
