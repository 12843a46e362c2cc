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
 * @param result receives the outcome (always filled, also on failure:
 *        stage and reply say where and why).
 * @return result->status.
 */
MAILOUT_API mailout_status mailout_send(const mailout_client_config *cfg, mailout_msg *m, mailout_result *result);

/** A monotonic clock in ms, for drivers over caller transports. */
typedef uint64_t (*mailout_clock_fn)(void *ctx);

/**
 * @brief Blocking: run a whole session over a connected transport @p t:
 * every job in turn (RSET between them), then QUIT. @p t is not closed.
 * @param tls settings for STARTTLS / implicit TLS (NULL only with
 *        MAILOUT_TLS_NONE).
 * @param results one per job.
 * @return MAILOUT_OK when the session ran to its end (each job's own
 *         outcome is in results[i].status), else the session's error
 *         (results of jobs not attempted have status MAILOUT_E_STATE).
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
 * (borrowed; must return 0 for "would block" rather than wait).
 * @param alloc all memory (client, engine, TLS session if needed).
 * @return MAILOUT_OK, MAILOUT_E_INVAL, MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_client_new(mailout_client **out, const mailout_transport *t,
                                              const mailout_smtp_config *cfg, const mailout_tls_config *tls,
                                              const mailout_allocator *alloc);

/** @brief Free (does not close the lower transport). NULL is a no-op. */
MAILOUT_API void mailout_client_free(mailout_client *c);

/**
 * @brief Queue a job; it starts as soon as the session is ready (greeting,
 * EHLO, TLS, AUTH done). One job at a time.
 * @return MAILOUT_OK, MAILOUT_E_STATE (a job is still running), or what
 *         mailout_smtp_submit() returns.
 */
MAILOUT_API mailout_status mailout_client_submit(mailout_client *c, const mailout_job *job);

/** @brief After the last job: QUIT and end the session. */
MAILOUT_API mailout_status mailout_client_quit(mailout_client *c);

/**
 * @brief Do all the work possible now without blocking.
 * @param now_ms current time (monotonic ms).
 * @return MAILOUT_AGAIN   waiting: poll pollfd() for the direction it gives,
 *                         or until deadline();
 *         MAILOUT_DONE    the queued job finished (mailout_client_result()),
 *                         or after quit() the session ended;
 *         MAILOUT_OK      idle: nothing queued;
 *         negative        the session failed (sticky).
 */
MAILOUT_API mailout_status mailout_client_step(mailout_client *c, uint64_t now_ms);

/** @brief fd to poll (-1 if the transport has none) and *want (MAILOUT_WANT_*). */
MAILOUT_API int mailout_client_pollfd(const mailout_client *c, unsigned *want);

/** @brief Next deadline (ms), UINT64_MAX if none. */
MAILOUT_API uint64_t mailout_client_deadline(const mailout_client *c);

/** @brief Outcome of the last finished job. */
MAILOUT_API const mailout_result *mailout_client_result(const mailout_client *c);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_CLIENT_H */
