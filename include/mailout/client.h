/*
 * mailout — drivers that run the ESMTP engine over a transport
 * (layer 5: client).
 *
 * Two ways to send, over the same engine (smtp.h) and the same transport
 * contract (transport.h):
 *
 *   - blocking: mailout_send() connects (TCP, TLS as the policy says),
 *     sends one message and returns its result. mailout_send_jobs() does
 *     the same for several messages on one connection, over a transport
 *     the caller opened (any TCP/IP stack).
 *   - non-blocking: a mailout_client advanced by mailout_client_step(),
 *     which never blocks, for superloops and event loops. It exposes the
 *     file descriptor, the direction of interest and the next deadline.
 *
 * STARTTLS is handled by the drivers: when the engine asks for TLS they
 * layer a mailout_tls over the same connection, run the handshake and
 * tell the engine. With MAILOUT_TLS_IMPLICIT the handshake runs before the
 * first SMTP byte. TLS failures never fall back to plaintext.
 */
#ifndef MAILOUT_CLIENT_H
#define MAILOUT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/message.h>
#include <mailout/smtp.h>
#include <mailout/status.h>
#include <mailout/transport.h>
#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Where and how to connect (blocking convenience API). Zero-initialise. */
typedef struct mailout_client_config {
    const char *host;            /**< server name or IP literal; required */
    uint16_t port;               /**< 0 = 465 for MAILOUT_TLS_IMPLICIT, else 587 */
    int family;                  /**< 0 any, 4, 6 */
    uint32_t connect_timeout_ms; /**< 0 = 30 s */
    mailout_smtp_config smtp;    /**< engine settings; ehlo_name NULL = derived from the socket */
    mailout_tls_config tls;      /**< server_name NULL = host */
} mailout_client_config;

/**
 * @brief Connect, send @p m, QUIT and close. Blocks (bounded by the
 * timeouts of @p cfg).
 *
 * The envelope is taken from @p m first (mailout_job_from_msg()): a message
 * without sender or recipient fails with MAILOUT_E_STATE before any
 * connection is made. Then mailout_tcp_open() (connect_timeout_ms), TLS as
 * cfg->smtp.tls says (implicit: the handshake before the first SMTP byte;
 * cfg->tls.server_name NULL = cfg->host), the EHLO name from
 * mailout_tcp_ehlo_name() when cfg->smtp.ehlo_name is NULL. Every wait for
 * the server is bounded by the engine's deadline for the reply it expects
 * (cfg->smtp.timeout_ms, or the RFC 5321 values), a TLS handshake by
 * timeout_ms or 60 s, and the wait for the reply to QUIT by 5 s (the
 * outcome is known by then). Writes wait in the kernel for room in the
 * socket buffer (MAILOUT_TCP_SEND_WAITS: each output buffer is one system
 * call) up to cfg->smtp.timeout_ms, or 3 minutes, RFC 5321's data block
 * timeout. The connection is closed (TLS close_notify
 * first) and all memory released before returning. Memory: the heap.
 * @param m borrowed; read from its first byte (mailout_msg_read_start()).
 * @param result receives the outcome (always filled, also on failure:
 *        stage and reply say where and why): connection failures have
 *        stage MAILOUT_STAGE_CONNECT (MAILOUT_E_RESOLVE, MAILOUT_E_CONNECT,
 *        MAILOUT_E_TIMEOUT), TLS failures MAILOUT_STAGE_TLS, a message the
 *        engine refuses before sending MAILOUT_STAGE_NONE.
 * @return result->status.
 */
MAILOUT_API mailout_status mailout_send(const mailout_client_config *cfg, mailout_msg *m, mailout_result *result);

/**
 * @brief As mailout_send(), for a job prepared by the caller (envelope and
 * body source, see smtp.h), e.g. an outbox entry (outbox.h). The job and
 * what it points to are borrowed for the duration of the call.
 * @return result->status.
 */
MAILOUT_API mailout_status mailout_send_job(const mailout_client_config *cfg, const mailout_job *job,
                                            mailout_result *result);

/** A monotonic clock in ms, for drivers over caller transports. */
typedef uint64_t (*mailout_clock_fn)(void *ctx);

/**
 * @brief Blocking: run a whole session over a connected transport @p t:
 * every job in turn (RSET between them), then QUIT. @p t is not closed
 * (nor is a TLS close_notify sent, since that would close it: the server
 * sees QUIT and closes).
 *
 * Blocking over any transport: when send/recv return 0 ("would block")
 * the driver calls t->wait() until the transport is ready or the next
 * deadline. A transport that returns 0 must therefore have a wait(); if
 * it has none, the session fails with MAILOUT_E_STATE. A transport whose
 * send/recv block by themselves needs no wait(); it must bound each call
 * itself (as mailout_tcp_open()'s io_timeout_ms does): the driver cannot
 * interrupt a call. The driver reads @p clock after the transfers, so the
 * engine's deadlines count from when the bytes actually went, however long
 * a send waited. The engine and the TLS session are allocated from the
 * heap and freed before returning.
 * @param tls settings for STARTTLS / implicit TLS (NULL only with
 *        MAILOUT_TLS_NONE); borrowed for the call.
 * @param jobs borrowed for the call; a job the engine refuses before
 *        sending (mailout_smtp_submit()) gets that status and the session
 *        goes on with the next one.
 * @param results one per job.
 * @param clock the time for the engine's deadlines (monotonic ms).
 * @return MAILOUT_OK when the session ran to its end (each job's own
 *         outcome is in results[i].status; an unanswered QUIT is no
 *         failure), MAILOUT_E_INVAL (bad arguments; every result says so),
 *         else the session's error (results of jobs not attempted have
 *         status MAILOUT_E_STATE).
 */
MAILOUT_API mailout_status mailout_send_jobs(const mailout_transport *t, const mailout_smtp_config *cfg,
                                             const mailout_tls_config *tls, const mailout_job *jobs,
                                             size_t njobs, mailout_result *results, mailout_clock_fn clock,
                                             void *clock_ctx);

/* ------------------------------------------------------------------ */
/* non-blocking driver                                                 */
/* ------------------------------------------------------------------ */

typedef struct mailout_client mailout_client; /**< opaque */

/**
 * @brief Create a non-blocking client over the connected transport @p t
 * (copied; its ctx is borrowed and must outlive the client; send/recv must
 * return 0 for "would block" rather than wait). Nothing is sent yet.
 *
 * The client has no clock: it knows the time only as step() is given it.
 * Each acknowledged write re-arms the engine's deadline from that time, so
 * with a transport that waits anyway (a blocking socket, a stack without
 * non-blocking calls) a step that sends a whole body lasts as long as the
 * body takes, and the deadline for the reply to the end of the data is
 * counted from the start of that step: a body slower than that deadline
 * is reported MAILOUT_E_DELIVERY_UNKNOWN although the server accepted it.
 * Over such a transport use mailout_send_jobs() (it takes a clock), or
 * keep the writes short (a transport that returns 0 after a bounded time)
 * and step often.
 * @param cfg copied; its strings are borrowed (see mailout_smtp_new()).
 * @param tls borrowed; NULL only with MAILOUT_TLS_NONE.
 * @param alloc the client and the engine, taken here at once. The TLS
 *        session (created when the engine asks for STARTTLS, or at the
 *        first step with MAILOUT_TLS_IMPLICIT) comes from
 *        mailout_tls_new(), which takes no allocator: wolfSSL's.
 * @return MAILOUT_OK, MAILOUT_E_INVAL (also what mailout_smtp_new()
 *         refuses), MAILOUT_E_NOMEM (nothing is kept).
 */
MAILOUT_API mailout_status mailout_client_new(mailout_client **out, const mailout_transport *t,
                                              const mailout_smtp_config *cfg, const mailout_tls_config *tls,
                                              const mailout_allocator *alloc);

/** @brief Free (does not close the lower transport, sends nothing). NULL is a no-op. */
MAILOUT_API void mailout_client_free(mailout_client *c);

/**
 * @brief Queue a job; it starts as soon as the session is ready (greeting,
 * EHLO, TLS, AUTH done). One job at a time. @p job is copied, what it
 * points to is borrowed until the job's DONE.
 *
 * When the session is ready already the job goes to the engine at once and
 * its checks answer here; otherwise they answer at the step that starts it
 * (that step returns MAILOUT_DONE with the refusal in mailout_client_result()).
 * @return MAILOUT_OK, MAILOUT_E_INVAL, MAILOUT_E_STATE (a job is still
 *         queued or running, or quit() was called), the session's sticky
 *         error, or what mailout_smtp_submit() returns.
 */
MAILOUT_API mailout_status mailout_client_submit(mailout_client *c, const mailout_job *job);

/**
 * @brief After the last job: QUIT and end the session (at the next steps).
 * The wait for the reply to QUIT is bounded (5 s, see deadline()).
 * @return MAILOUT_OK, MAILOUT_E_STATE (a job is queued or running, or
 *         quit() was called already), the session's sticky error.
 */
MAILOUT_API mailout_status mailout_client_quit(mailout_client *c);

/**
 * @brief Do all the work possible now without blocking.
 * @param now_ms current time (monotonic ms).
 * Runs TLS handshakes too (STARTTLS, implicit). Returns as soon as every
 * direction the session needs would block, so a large message goes out
 * over several steps only if the transport makes it wait.
 * @return MAILOUT_AGAIN   waiting: poll pollfd() for the direction it gives,
 *                         or until deadline();
 *         MAILOUT_DONE    the queued job finished (mailout_client_result()),
 *                         or after quit() the session ended (then again
 *                         DONE at every call);
 *         MAILOUT_OK      idle: nothing queued;
 *         negative        the session failed (sticky; also what every later
 *                         call returns). A job that was queued or running
 *                         has its outcome in mailout_client_result() (e.g.
 *                         MAILOUT_E_DELIVERY_UNKNOWN, or the failure that
 *                         kept it from starting, with its stage).
 */
MAILOUT_API mailout_status mailout_client_step(mailout_client *c, uint64_t now_ms);

/**
 * @brief After MAILOUT_AGAIN: the fd to poll (-1 if the transport has
 * none) and *want (MAILOUT_WANT_*, as the transport's pollfd() adjusted
 * it: during TLS it may differ from what SMTP waits for). *want 0 and -1:
 * nothing to poll (idle, finished, failed, or only the body source is
 * waiting: come back at deadline()).
 */
MAILOUT_API int mailout_client_pollfd(const mailout_client *c, unsigned *want);

/**
 * @brief Next deadline (ms, the clock of step()), UINT64_MAX if none: the
 * engine's deadline for the reply it waits for, a TLS handshake's, the
 * bound on QUIT, or a short retry when the body source said AGAIN. Call
 * step() at that time even if pollfd() saw nothing.
 */
MAILOUT_API uint64_t mailout_client_deadline(const mailout_client *c);

/** @brief Outcome of the last finished job (all zero before the first). */
MAILOUT_API const mailout_result *mailout_client_result(const mailout_client *c);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_CLIENT_H */
