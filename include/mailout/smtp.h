/*
 * mailout — the ESMTP client engine (layer 3: smtp).
 *
 * An SMTP client state machine that never touches a socket, in the style
 * of BearSSL's SSL engine: the driver (client.h, or your own loop) moves
 * bytes between the engine and a transport, and passes the current time.
 *
 *   for (;;) {
 *       unsigned w = mailout_smtp_want(s);
 *       if (w & MAILOUT_SMTP_WANT_WRITE) {            // bytes to send
 *           p = mailout_smtp_out_buf(s, &len);
 *           n = transport.send(ctx, p, len);          // may be partial
 *           mailout_smtp_out_ack(s, n);
 *       } else if (w & MAILOUT_SMTP_WANT_TLS) {       // after STARTTLS's 220
 *           ...handshake over the same connection...
 *           mailout_smtp_tls_done(s, handshake_status);
 *       } else if (w & MAILOUT_SMTP_WANT_READ) {      // a reply is due
 *           p = mailout_smtp_in_buf(s, &cap);
 *           n = transport.recv(ctx, p, cap);
 *           mailout_smtp_in_ack(s, n);
 *       } else if (w & MAILOUT_SMTP_WANT_IDLE) {      // ready for a message
 *           mailout_smtp_submit(s, &job) or mailout_smtp_quit(s);
 *       } else break;                                 // MAILOUT_SMTP_WANT_NONE: finished
 *       mailout_smtp_set_time(s, now_ms);             // deadlines
 *   }
 *
 * The session: greeting, EHLO (HELO only if EHLO is refused and TLS is not
 * required), STARTTLS per policy (then EHLO again, every earlier
 * capability forgotten), AUTH, then any number of messages (MAIL, RCPT...,
 * DATA or BDAT, with PIPELINING when offered; RSET between messages), QUIT.
 *
 * Memory: mailout_smtp_new() takes everything it needs from the given
 * allocator at once (the engine state and the output buffer); nothing is
 * allocated afterwards. The core never calls malloc.
 *
 * Errors are sticky: once a call returns a negative status the session is
 * over (want() becomes MAILOUT_SMTP_WANT_NONE; nothing more is written,
 * not even QUIT: the driver closes the connection), and
 * mailout_smtp_status() repeats the error; mailout_smtp_failure() says
 * where it happened and keeps the deciding reply.
 *
 * Failures that only concern one message (a 4xx/5xx to MAIL, RCPT, DATA
 * or the end of data, a refused BDAT chunk, a BDAT body source error) are
 * not session errors: the result of the job says what happened, the engine
 * sends RSET, and the session is ready for the next job.
 *
 * Server replies: decided by code only. 421 at any point ends the session
 * with MAILOUT_E_SERVER_SHUTDOWN; bytes when no reply is due (other than a
 * 421) are MAILOUT_E_PROTO, as is any byte following STARTTLS's 220 in the
 * same read. Replies are limited by MAILOUT_REPLY_LINE_MAX, _LINES_MAX and
 * _TOTAL_MAX (MAILOUT_E_REPLY_TOO_LONG).
 */
#ifndef MAILOUT_SMTP_H
#define MAILOUT_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/config_defaults.h>
#include <mailout/mem.h>
#include <mailout/message.h>
#include <mailout/status.h>
#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mailout_smtp mailout_smtp; /**< opaque engine */

/** TLS policy (SECURITY-RULES 2.1). There is no opportunistic mode. */
typedef enum mailout_tls_policy {
    MAILOUT_TLS_REQUIRED = 0, /**< STARTTLS must succeed before anything else (default) */
    MAILOUT_TLS_IMPLICIT,     /**< the connection is TLS from its first byte (port 465) */
    MAILOUT_TLS_NONE          /**< plaintext; AUTH refused unless allow_plaintext_auth */
} mailout_tls_policy;

/** SASL mechanisms (bit set for mailout_smtp_config.auth_mechs). */
#define MAILOUT_AUTH_PLAIN 1u
#define MAILOUT_AUTH_LOGIN 2u
#define MAILOUT_AUTH_CRAM_MD5 4u
#define MAILOUT_AUTH_XOAUTH2 8u
#define MAILOUT_AUTH_SCRAM_SHA256 16u
#define MAILOUT_AUTH_ANY 0u /**< every mechanism compiled in */

/** Protocol stages, for results and error reports. */
typedef enum mailout_smtp_stage {
    MAILOUT_STAGE_NONE = 0,
    MAILOUT_STAGE_CONNECT,
    MAILOUT_STAGE_GREETING,
    MAILOUT_STAGE_EHLO,
    MAILOUT_STAGE_STARTTLS,
    MAILOUT_STAGE_TLS,
    MAILOUT_STAGE_AUTH,
    MAILOUT_STAGE_MAIL,
    MAILOUT_STAGE_RCPT,
    MAILOUT_STAGE_DATA,     /**< the DATA command (354 expected) */
    MAILOUT_STAGE_BODY,     /**< sending the message / BDAT chunks */
    MAILOUT_STAGE_END,      /**< the reply after the data */
    MAILOUT_STAGE_RSET,
    MAILOUT_STAGE_QUIT
} mailout_smtp_stage;

/** @brief Stage name ("MAIL", "RCPT", ...) for messages. */
MAILOUT_API const char *mailout_smtp_stage_name(mailout_smtp_stage stage);

/** A server reply, as kept by the engine (text truncated to REPLY_TEXT_MAX).
 *  The enhanced status code (RFC 3463) is only parsed when the server
 *  offered ENHANCEDSTATUSCODES and its class agrees with the code; the text
 *  still begins with it. */
typedef struct mailout_reply {
    uint16_t code;      /**< 200..599, 0 if none */
    uint8_t enh_class;  /**< enhanced status code class (2, 4, 5), 0 if none */
    uint16_t enh_subject;
    uint16_t enh_detail;
    char text[MAILOUT_REPLY_TEXT_MAX + 1]; /**< first line's text, NUL-terminated, controls replaced by '?' */
} mailout_reply;

/** Trace directions. */
typedef enum mailout_trace_dir {
    MAILOUT_TRACE_SENT = 0,  /**< a command (secrets replaced by "<redacted>") */
    MAILOUT_TRACE_RECV,      /**< a reply line */
    MAILOUT_TRACE_INFO       /**< engine notes ("starting TLS", "sending 1234 bytes of data") */
} mailout_trace_dir;

/** Callbacks; any may be NULL. Called synchronously from engine calls. */
typedef struct mailout_smtp_callbacks {
    /** One protocol line (without CRLF). Message data is never traced, and
     *  credentials never appear: AUTH arguments are redacted. Never
     *  called in a build with MAILOUT_ENABLE_TRACE 0. */
    void (*trace)(void *ctx, mailout_trace_dir dir, const char *line, size_t len);
    /** Bytes taken from the body source so far / total as reported by
     *  the body's start() (or MAILOUT_SIZE_UNKNOWN). Called as the output
     *  buffer is filled. With a body that stuffs itself (stuffs = 1, as
     *  the message adapter of mailout_job_from_msg() does for DATA) the
     *  source's bytes are the DATA stream, so @p sent ends a few bytes
     *  above @p total (doubled dots and the ".\r\n" terminator): clamp
     *  when drawing a bar. */
    void (*progress)(void *ctx, uint64_t sent, uint64_t total);
    /** The reply to RCPT number @p index (order of the envelope), for
     *  every recipient of every job, accepted or not. */
    void (*rcpt)(void *ctx, size_t index, const mailout_reply *reply);
    void *ctx;
} mailout_smtp_callbacks;

/** Session settings. Zero-initialise, then set what you need. */
typedef struct mailout_smtp_config {
    const char *ehlo_name;       /**< EHLO argument: FQDN or address literal; required */
    mailout_tls_policy tls;      /**< default MAILOUT_TLS_REQUIRED */
    const char *user;            /**< NULL = no AUTH */
    const char *password;        /**< PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256 */
    const char *oauth_token;     /**< XOAUTH2 bearer token */
    unsigned auth_mechs;         /**< allowed mechanisms; MAILOUT_AUTH_ANY = all built in */
    int allow_plaintext_auth;    /**< allow AUTH without TLS (never the default) */
    int no_pipelining;           /**< do not use PIPELINING even if offered */
    int no_chunking;             /**< do not use CHUNKING/BDAT even if offered */
    /** Output buffer bytes; 0 = 256; minimum 64. Any size works for any
     *  command (long ones are written in pieces); BDAT chunks carry
     *  out_buf_size - 24 bytes each. mailout_smtp_new() allocates the
     *  engine state plus exactly this many bytes: a DATA body that does
     *  not stuff itself is line-filtered in place, inside the buffer. */
    size_t out_buf_size;
    /** Per-reply deadlines in ms (RFC 5321 §4.5.3.2); 0 = the RFC's values
     *  (greeting 5 min, MAIL/RCPT 5 min, DATA 2 min, data block 3 min,
     *  end of data 10 min). */
    uint32_t timeout_ms;         /**< QUIT waits at most 10 s (or timeout_ms if smaller) */
    /** Randomness for SASL nonces (SCRAM); NULL disables SCRAM-SHA-256. */
    int (*random)(void *ctx, void *buf, size_t len);
    void *random_ctx;
    mailout_smtp_callbacks cb;
} mailout_smtp_config;

/* ------------------------------------------------------------------ */
/* what to send: envelope + body                                       */
/* ------------------------------------------------------------------ */

/**
 * A message body source. The engine calls start() once per attempt, then
 * read() until MAILOUT_DONE:
 *   start(ctx, flags, &size): prepare to produce the message from its
 *       first byte. @p flags: MAILOUT_READ_8BIT when the server offers
 *       8BITMIME; MAILOUT_READ_SMTP only if @p stuffs is set and the
 *       engine wants the DATA stream (dot-stuffed, ending ".\r\n")
 *       from the source itself. *size receives the exact byte count (of
 *       the unstuffed message) or MAILOUT_SIZE_UNKNOWN, for SIZE=.
 *   read(): same contract as mailout_msg_read() (OK / AGAIN / DONE / error,
 *       *got valid in every case).
 *   is_8bit(): after start, non-zero if BODY=8BITMIME is needed.
 * When @p stuffs is 0 the engine itself normalises line endings, stuffs
 * dots and writes the terminator (mailout_line filter) for DATA, and
 * holds the body to what DATA may carry: a NUL byte (MAILOUT_E_INVAL), a
 * line longer than 998 bytes (MAILOUT_E_LINE_TOO_LONG) or, without
 * BODY=8BITMIME (is_8bit() zero or NULL), a byte >= 0x80 (MAILOUT_E_8BIT)
 * ends the transfer as a source error does, stage BODY. Either way the
 * terminator is never sent after a source error.
 * BDAT (server offers CHUNKING, config.no_chunking unset) sends the bytes
 * as they come, without MAILOUT_READ_SMTP and without the line filter.
 * A source that reports is_8bit() to a server without 8BITMIME is refused
 * at submit() with MAILOUT_E_8BIT. A negative status from start() is
 * returned by submit() (nothing sent); from read(), see mailout_result.
 */
typedef struct mailout_body {
    mailout_status (*start)(void *ctx, unsigned flags, uint64_t *size);
    mailout_status (*read)(void *ctx, unsigned char *buf, size_t cap, size_t *got);
    int (*is_8bit)(void *ctx);
    void *ctx;
    int stuffs;
} mailout_body;

/** One message to send: envelope and body. Borrowed until the job ends.
 *  Addresses are addr-specs without <>, checked by the rule message.h
 *  gives for messages (one rule for both): printable ASCII or UTF-8 when
 *  the server offers SMTPUTF8; a dot-string or quoted local part (quoted
 *  without '<' or '>': a server that ends the path at the first '>'
 *  would read the rest as parameters); a domain of non-empty labels of
 *  letters, digits, '-' and UTF-8, or an address literal of only
 *  letters, digits, '.', ':' and '-' ([192.0.2.1], [IPv6:2001:db8::1]);
 *  local part <= 64, whole <= MAILOUT_MAX_ADDRESS_LEN. DSN parameters (NOTIFY, ORCPT, RET,
 *  ENVID) are sent only when the server offers DSN; ORCPT is
 *  "rfc822;" + xtext for an ASCII address, "utf-8;" + RFC 6533 unitext
 *  (UTF-8 as it is, '+', '=', space and '\' as \x{HEX}) for a UTF-8 one. */
typedef struct mailout_job {
    const char *mail_from;        /**< without <>; "" = null reverse-path */
    const char *const *rcpt;      /**< envelope recipients (without <>) */
    size_t rcpt_count;            /**< 1..MAILOUT_MAX_RECIPIENTS */
    unsigned dsn_notify;          /**< MAILOUT_NOTIFY_* or 0 = no DSN */
    mailout_dsn_ret dsn_ret;
    const char *dsn_envid;        /**< printable ASCII, 1..100 chars, or NULL; xtext-encoded by the engine */
    int smtputf8;                 /**< envelope or headers need SMTPUTF8 */
    mailout_body body;
} mailout_job;

/**
 * @brief Fill @p job from a composed message: envelope, DSN and a body
 * that reads the message (mailout_msg_read_start/read/size).
 * @p rcpt_store is caller memory for the recipient pointers
 * (MAILOUT_MAX_RECIPIENTS entries). The message must outlive the job.
 * @return MAILOUT_OK, MAILOUT_E_STATE (no sender or no recipient).
 */
MAILOUT_API mailout_status mailout_job_from_msg(mailout_job *job, mailout_msg *m,
                                                const char **rcpt_store);

/** Outcome of one message. */
typedef struct mailout_result {
    /** MAILOUT_OK: accepted (2xx after the data) for every recipient;
     *  MAILOUT_E_PARTIAL: accepted for some, see rcpt_ok/the rcpt callback
     *      (stage END, reply = the final 2xx);
     *  MAILOUT_E_REJ_PERM / MAILOUT_E_REJ_TEMP: refused (5xx / 4xx) at
     *      stage MAIL, RCPT (no recipient accepted: the last refusal),
     *      DATA, BODY (a BDAT chunk) or END; the first refusal decides.
     *      When DATA was answered 354 anyway, only "." was sent;
     *  MAILOUT_E_DELIVERY_UNKNOWN: all data was sent (terminator or BDAT
     *      LAST acknowledged by the driver) but no usable final reply came
     *      (connection lost, timeout, malformed reply): the server may or
     *      may not deliver it;
     *  the body source's error (e.g. MAILOUT_E_SOURCE), stage BODY: with
     *      DATA the session ends with it too (no terminator can be sent;
     *      close the connection); with BDAT the engine sends RSET and the
     *      session stays usable;
     *  any other error of the session (MAILOUT_E_SERVER_SHUTDOWN,
     *      MAILOUT_E_CLOSED, MAILOUT_E_TIMEOUT...), with its stage. */
    mailout_status status;
    mailout_smtp_stage stage;  /**< where it was decided */
    mailout_reply reply;       /**< the deciding reply (code 0 if none) */
    size_t rcpt_ok;            /**< recipients accepted */
    size_t rcpt_failed;        /**< recipients refused */
    uint64_t data_bytes;       /**< bytes taken from the body source (see progress) */
} mailout_result;

/* ------------------------------------------------------------------ */
/* engine                                                              */
/* ------------------------------------------------------------------ */

/** want() bits. */
#define MAILOUT_SMTP_WANT_NONE 0u   /**< session over: see mailout_smtp_status() */
#define MAILOUT_SMTP_WANT_WRITE 1u  /**< out_buf() has bytes for the transport */
#define MAILOUT_SMTP_WANT_READ 2u   /**< waiting for server bytes */
#define MAILOUT_SMTP_WANT_TLS 4u    /**< start TLS now, then tls_done() */
#define MAILOUT_SMTP_WANT_IDLE 8u   /**< ready: submit() a job or quit() */
#define MAILOUT_SMTP_WANT_BODY 16u  /**< the body source said AGAIN: call out_buf() later (may be set with READ) */

/**
 * @brief Create an engine for one connection (nothing is sent yet; the
 * server speaks first).
 * @param out receives the engine; untouched on failure.
 * @param cfg copied; its strings are borrowed and must outlive the engine.
 * @param alloc all memory (engine + output buffer) is taken here, once.
 * @param tls_active non-zero when the connection is already TLS (implicit).
 * @return MAILOUT_OK, MAILOUT_E_INVAL (bad config: CR/LF/controls in
 *         ehlo_name or user, out_buf_size < 64, IMPLICIT policy without
 *         tls_active), MAILOUT_E_UNSUPPORTED (MAILOUT_TLS_REQUIRED in a
 *         build without MAILOUT_ENABLE_STARTTLS), MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_smtp_new(mailout_smtp **out, const mailout_smtp_config *cfg,
                                            const mailout_allocator *alloc, int tls_active);

/** @brief Release the engine's memory (allocator's release). NULL is a no-op. */
MAILOUT_API void mailout_smtp_free(mailout_smtp *s);

/** @brief What the engine needs next (MAILOUT_SMTP_WANT_* bits). */
MAILOUT_API unsigned mailout_smtp_want(const mailout_smtp *s);

/**
 * @brief Bytes to send. Fills the output buffer from pending commands and,
 * during the data phase, from the body source. The pointer is valid until
 * the next call on the engine. After a partial out_ack() in a DATA body
 * the unsent rest moves to the front and the buffer is filled up behind
 * it, so every write can be a whole buffer.
 * @return pointer and *len > 0 when there is something to send; NULL with
 *         *len == 0 otherwise (check want() / status()).
 */
MAILOUT_API const unsigned char *mailout_smtp_out_buf(mailout_smtp *s, size_t *len);

/** @brief @p n bytes (<= len) of out_buf() were sent. */
MAILOUT_API mailout_status mailout_smtp_out_ack(mailout_smtp *s, size_t n);

/** @brief Room for received bytes (*cap >= 1: MAILOUT_SMTP_INBUF_SIZE,
 *  512 by default). Valid until the next call: the engine uses the same
 *  memory for other things between reads. Received bytes are parsed at
 *  once by in_ack(): nothing is kept between calls but the parser's
 *  state. */
MAILOUT_API unsigned char *mailout_smtp_in_buf(mailout_smtp *s, size_t *cap);

/**
 * @brief @p n bytes were written into in_buf(). Parses replies and advances.
 * @return MAILOUT_OK or the session's (sticky) error.
 */
MAILOUT_API mailout_status mailout_smtp_in_ack(mailout_smtp *s, size_t n);

/**
 * @brief The transport failed or the server closed the connection (@p why:
 * MAILOUT_E_CLOSED, MAILOUT_E_IO, MAILOUT_E_TIMEOUT...; a non-negative
 * value counts as MAILOUT_E_IO). A job whose data was all sent ends as
 * MAILOUT_E_DELIVERY_UNKNOWN (session status too). After QUIT, or once
 * the session is finished, closing is normal: MAILOUT_OK.
 * @return the resulting sticky status.
 */
MAILOUT_API mailout_status mailout_smtp_abort(mailout_smtp *s, mailout_status why);

/**
 * @brief Report the TLS handshake outcome after MAILOUT_SMTP_WANT_TLS.
 * On MAILOUT_OK the engine forgets every capability and sends EHLO again.
 * @return MAILOUT_OK or the sticky error (the handshake's status);
 *         MAILOUT_E_UNSUPPORTED without MAILOUT_ENABLE_STARTTLS.
 */
MAILOUT_API mailout_status mailout_smtp_tls_done(mailout_smtp *s, mailout_status handshake);

/** @brief Current time in ms (any monotonic origin); call before each step.
 *  The first call fixes the origin: a deadline armed before it counts
 *  from there. Passing a deadline fails the session with
 *  MAILOUT_E_TIMEOUT (DELIVERY_UNKNOWN for a job awaiting its final
 *  reply); while waiting for QUIT's reply it just ends the session. */
MAILOUT_API void mailout_smtp_set_time(mailout_smtp *s, uint64_t now_ms);

/**
 * @brief When the reply being waited for is due (ms, same origin as
 * set_time), or UINT64_MAX when nothing is awaited. Passing the deadline
 * in set_time() fails the session with MAILOUT_E_TIMEOUT.
 */
MAILOUT_API uint64_t mailout_smtp_deadline(const mailout_smtp *s);

/**
 * @brief Start sending @p job (only when want() has MAILOUT_SMTP_WANT_IDLE).
 * Validates the envelope first (controls, CR/LF, spaces, <>, lengths,
 * every command <= MAILOUT_COMMAND_MAX with its CRLF, SMTPUTF8 need),
 * then calls the body's start() (SIZE limit, 8-bit need): on failure
 * nothing is sent and the session stays usable. After the first job each
 * job begins with RSET (pipelined with MAIL when PIPELINING is offered).
 * @return MAILOUT_OK, MAILOUT_E_STATE, MAILOUT_E_ADDRESS (bad address),
 *         MAILOUT_E_INVAL (bad job, DSN parameters, command too long),
 *         MAILOUT_E_SIZE, MAILOUT_E_SMTPUTF8, MAILOUT_E_8BIT,
 *         MAILOUT_E_UNSUPPORTED (SMTPUTF8 needed in a build without
 *         MAILOUT_ENABLE_SMTPUTF8), or the status of body.start(); the
 *         session's error if it has one. Without MAILOUT_ENABLE_DSN the
 *         DSN fields are ignored (never sent, not checked).
 */
MAILOUT_API mailout_status mailout_smtp_submit(mailout_smtp *s, const mailout_job *job);

/**
 * @brief The last job's outcome, complete once want() is IDLE again or
 * NONE. Per-recipient codes: mailout_smtp_rcpt_reply().
 */
MAILOUT_API const mailout_result *mailout_smtp_result(const mailout_smtp *s);

/**
 * @brief Why and where the session failed: status (MAILOUT_OK while
 * healthy), stage, and the deciding reply (code 0 if none), e.g. the 454
 * to STARTTLS or the 535 to AUTH. Unlike mailout_smtp_result() it is also
 * filled when no job was running (greeting, EHLO, STARTTLS, AUTH, the
 * RSET after a job). Counters are not used. While the session is healthy
 * the record is blank, but for its reply, which may show one still being
 * received (between two in_ack() calls), or STARTTLS's 220 until the
 * next reply, and but for the QUIT the engine sends after a refused
 * greeting (RFC 5321 §3.1): status and stage already hold the refusal
 * then, while status() is still MAILOUT_OK. Read the record once
 * status() is negative.
 */
MAILOUT_API const mailout_result *mailout_smtp_failure(const mailout_smtp *s);

/** @brief The reply code to RCPT @p index of the last job (0 if not sent). */
MAILOUT_API uint16_t mailout_smtp_rcpt_code(const mailout_smtp *s, size_t index);

/** @brief Queue QUIT (only when IDLE, else MAILOUT_E_STATE); the session
 *  ends with MAILOUT_OK after any reply, the server's close, or 10 s. */
MAILOUT_API mailout_status mailout_smtp_quit(mailout_smtp *s);

/** @brief The sticky session status (MAILOUT_OK while healthy). */
MAILOUT_API mailout_status mailout_smtp_status(const mailout_smtp *s);

/** Capabilities learned from the last EHLO (bit set). */
#define MAILOUT_CAP_STARTTLS 1u
#define MAILOUT_CAP_PIPELINING 2u
#define MAILOUT_CAP_8BITMIME 4u
#define MAILOUT_CAP_SMTPUTF8 8u
#define MAILOUT_CAP_CHUNKING 16u
#define MAILOUT_CAP_SIZE 32u
#define MAILOUT_CAP_DSN 64u
#define MAILOUT_CAP_ENHANCEDSTATUSCODES 128u
#define MAILOUT_CAP_AUTH 256u

/** @brief Capabilities (MAILOUT_CAP_*), SIZE limit (0 = none) and AUTH mechanisms (MAILOUT_AUTH_*). */
MAILOUT_API unsigned mailout_smtp_caps(const mailout_smtp *s, uint64_t *size_limit, unsigned *auth_mechs);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_SMTP_H */
