/*
 * mailout — how bytes leave the machine (layer 4: transport).
 *
 * One written contract, so that any TCP/IP stack (POSIX sockets, lwIP,
 * an RTOS's own, a test double) can carry mailout's bytes, and two
 * implementations of it in the library: POSIX TCP sockets and wolfSSL TLS
 * layered over any other transport.
 *
 * The contract
 * ------------
 * A mailout_transport is a struct of callbacks and a context pointer:
 *
 *   send(ctx, buf, len)  moves up to len (>= 1) bytes. Returns the number
 *                        of bytes taken (> 0; fewer than len is normal),
 *                        0 when nothing can be taken now ("would block":
 *                        call again when the transport is ready), or a
 *                        negative mailout_status (MAILOUT_E_IO,
 *                        MAILOUT_E_CLOSED, MAILOUT_E_TIMEOUT, MAILOUT_E_TLS...).
 *   recv(ctx, buf, cap)  reads up to cap (>= 1) bytes. Returns the number of
 *                        bytes read (> 0), 0 for "would block", or a
 *                        negative status. 0 NEVER means end of stream: a
 *                        peer that closed the connection is MAILOUT_E_CLOSED.
 *   wait(ctx, want, ms)  optional (may be NULL): block until the transport
 *                        can make progress in a direction of @p want
 *                        (MAILOUT_WANT_READ / MAILOUT_WANT_WRITE) or @p ms
 *                        milliseconds passed. Returns MAILOUT_OK (ready, or
 *                        maybe ready: spurious wake-ups are allowed),
 *                        MAILOUT_E_TIMEOUT, or an error. Used by the
 *                        blocking driver; a transport whose send/recv block
 *                        by themselves never returns 0 and needs no wait.
 *   pollfd(ctx, &want)   optional: the file descriptor an event loop should
 *                        poll, or -1. The transport may change *want: TLS
 *                        can need to read while the caller wants to write.
 *   close(ctx)           releases the connection (not the transport's
 *                        memory). Called once; send/recv are not called after.
 *
 * Callbacks are called from one thread at a time. Nothing in the contract
 * allocates.
 */
#ifndef MAILOUT_TRANSPORT_H
#define MAILOUT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/mem.h>
#include <mailout/status.h>
#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Directions of interest (bit set). */
#define MAILOUT_WANT_READ 1u
#define MAILOUT_WANT_WRITE 2u

/** The transport contract (see the file comment). */
typedef struct mailout_transport {
    ptrdiff_t (*send)(void *ctx, const unsigned char *buf, size_t len);
    ptrdiff_t (*recv)(void *ctx, unsigned char *buf, size_t cap);
    mailout_status (*wait)(void *ctx, unsigned want, uint32_t timeout_ms);
    int (*pollfd)(void *ctx, unsigned *want);
    void (*close)(void *ctx);
    void *ctx;
} mailout_transport;

/* ------------------------------------------------------------------ */
/* POSIX TCP (hosted builds)                                           */
/* ------------------------------------------------------------------ */

/** A TCP connection. Opaque. */
typedef struct mailout_tcp mailout_tcp;

/** mailout_tcp_config.nonblocking: send and recv wait (up to io_timeout_ms). */
#define MAILOUT_TCP_BLOCKING 0
/** mailout_tcp_config.nonblocking: neither waits; they return 0 instead. */
#define MAILOUT_TCP_NONBLOCKING 1
/**
 * mailout_tcp_config.nonblocking: recv never waits (returns 0), send waits
 * for room in the socket buffer as in blocking mode (up to io_timeout_ms,
 * signals and a stalled peer included). For a driver that waits for
 * replies itself (with poll, bounded by the engine's deadlines) but may
 * block while it writes: a send then takes all its bytes in one system
 * call, where a non-blocking socket that fills up makes short writes, each
 * costing a wait and one more call for the rest. The driver must refresh
 * the engine's time after sends that may have waited (the blocking
 * driver does, from its clock). mailout_send() uses this mode.
 */
#define MAILOUT_TCP_SEND_WAITS 2

/** How to connect. Zero-initialise, then set host and port. */
typedef struct mailout_tcp_config {
    const char *host;            /**< name or IP literal (IPv6 without brackets) */
    uint16_t port;               /**< e.g. 587, 465, 25 */
    int family;                  /**< 0 = any, 4 = IPv4 only, 6 = IPv6 only */
    uint32_t connect_timeout_ms; /**< whole connect phase; 0 = 30 s */
    uint32_t io_timeout_ms;      /**< the longest a send/recv that may wait waits; 0 = 300 s */
    int nonblocking;             /**< MAILOUT_TCP_BLOCKING (0), _NONBLOCKING (1) or _SEND_WAITS (2) */
} mailout_tcp_config;

/**
 * @brief Resolve @p cfg->host (getaddrinfo, IPv4 and IPv6) and connect,
 * trying every address in turn (with a short happy-eyeballs head start for
 * the second family), within connect_timeout_ms.
 *
 * Addresses are tried in RFC 8305 order (families alternating, starting
 * with the one the resolver put first); each attempt runs alone for 250 ms
 * before the next starts in parallel, and a refused attempt starts the next
 * at once. The first connection to complete wins. Name resolution itself
 * (getaddrinfo) is not bounded by connect_timeout_ms: it takes as long as
 * the system resolver does.
 *
 * Blocks for the connect phase even in non-blocking mode (connect always
 * runs on a non-blocking socket, bounded by connect_timeout_ms; in
 * blocking and send-waits mode the socket is switched to blocking
 * afterwards). SIGPIPE
 * is never raised (MSG_NOSIGNAL / SO_NOSIGPIPE). TCP_NODELAY is set: the engine writes
 * whole command groups and full buffers, so Nagle's algorithm would only
 * delay the last write of a group until the peer's delayed ACK.
 *
 * The transport's callbacks:
 *  - send/recv: in blocking mode the socket blocks. send() takes all its
 *    bytes (the kernel makes no short writes, so a buffer costs one
 *    system call) unless io_timeout_ms passes without the peer taking a
 *    byte: then it returns the part it queued, or MAILOUT_E_TIMEOUT if
 *    none. A reader that keeps reading, however slowly, is never failed
 *    (the wait is in slices of io_timeout_ms / 8, SO_SNDTIMEO, and each
 *    byte taken starts the timeout again); a peer that stops reading ends
 *    a send within io_timeout_ms + two slices. After a send that gave up
 *    with a part queued, the next send does not wait again: it takes
 *    what fits at once, or returns MAILOUT_E_TIMEOUT. recv waits up to
 *    io_timeout_ms, then MAILOUT_E_TIMEOUT. A signal (EINTR) never makes
 *    a call wait longer: recv retries with the time left until its
 *    deadline (monotonic clock), send counts from its last progress. The
 *    connection stays usable after a timeout. In non-blocking mode they
 *    return 0 instead of waiting (EINTR is retried); in send-waits mode
 *    send waits as in blocking mode and recv returns 0 instead of
 *    waiting. recv returns MAILOUT_E_CLOSED at end of stream; a reset (ECONNRESET) or broken pipe (EPIPE) is reported as
 *    MAILOUT_E_CLOSED too (the peer is gone either way); other socket
 *    errors are MAILOUT_E_IO. After close(): MAILOUT_E_STATE.
 *  - wait: poll() for the directions asked; MAILOUT_OK also on error or
 *    hang-up (the next send/recv reports it).
 *  - pollfd: the socket (-1 after close); *want is left as it is.
 *  - close: closes the socket; mailout_tcp_free() releases the memory.
 * @param out receives the connection (heap memory from @p alloc, or malloc
 *        when @p alloc is NULL or has no alloc hook; @p alloc is copied and
 *        its ctx must outlive the connection); untouched on failure, and
 *        nothing stays allocated.
 * @param t receives the transport callbacks bound to it.
 * @return MAILOUT_OK, MAILOUT_E_INVAL (no host, port 0, family not 0/4/6,
 *         nonblocking not one of the three modes),
 *         MAILOUT_E_RESOLVE (unknown name, or no address of the family
 *         asked), MAILOUT_E_CONNECT (every address refused or unreachable),
 *         MAILOUT_E_TIMEOUT (connect_timeout_ms passed with attempts still
 *         pending), MAILOUT_E_NOMEM.
 */
MAILOUT_API mailout_status mailout_tcp_open(mailout_tcp **out, const mailout_tcp_config *cfg,
                                            const mailout_allocator *alloc, mailout_transport *t);

/**
 * @brief The EHLO argument for this connection (RFC 5321 §4.1.4): the host's
 * FQDN when it has one, else the local address as a literal "[192.0.2.1]"
 * or "[IPv6:2001:db8::1]". Written NUL-terminated into @p buf.
 *
 * The FQDN is the canonical name of gethostname() (getaddrinfo with
 * AI_CANONNAME, so this may block on the resolver), used only when it is a
 * plain LDH name with at least one dot; otherwise (e.g. "localhost", a
 * bare host name) the address literal of this connection's local end. A
 * v4-mapped IPv6 address is written as IPv4.
 * @return MAILOUT_OK; MAILOUT_E_LIMIT if @p cap is too small (buf holds no
 *         partial result); MAILOUT_E_INVAL; MAILOUT_E_STATE after close.
 */
MAILOUT_API mailout_status mailout_tcp_ehlo_name(const mailout_tcp *c, char *buf, size_t cap);

/** @brief Close (if still open) and free. NULL is a no-op. */
MAILOUT_API void mailout_tcp_free(mailout_tcp *c);

/**
 * @brief MX lookup (RFC 5321 §5.1) for direct delivery: the exchanges of
 * @p domain by preference, or the domain itself when it has no MX record.
 * Only in builds with the `mx` option; otherwise MAILOUT_E_UNSUPPORTED.
 *
 * Blocks on the system resolver (res_nquery with a private state, so it
 * is safe to call from several threads). Exchanges of equal preference
 * keep the resolver's order (callers may shuffle them, RFC 5321 §5.1).
 * With more exchanges than @p max, the @p max most preferred are
 * returned. Names that could never be connected to (escaped bytes) are
 * skipped. A null MX (RFC 7505, exchange ".") means the domain accepts no
 * mail: MAILOUT_E_RESOLVE, also when published next to other MX records.
 * The names come from DNS: use them to connect, never as the TLS
 * reference identity unless DNSSEC/DANE or MTA-STS says so.
 * @param hosts caller array of @p max NUL-terminated names (255 chars max).
 * @param count receives the number filled (0 on failure).
 * @return MAILOUT_OK; MAILOUT_E_RESOLVE (no such domain, null MX, no
 *         usable exchange, resolver failure); MAILOUT_E_INVAL (NULL, empty
 *         or control characters, @p max 0); MAILOUT_E_LIMIT (domain longer
 *         than 253); MAILOUT_E_NOMEM; MAILOUT_E_UNSUPPORTED.
 */
MAILOUT_API mailout_status mailout_mx_lookup(const char *domain, char (*hosts)[256], size_t max, size_t *count);

/* ------------------------------------------------------------------ */
/* wolfSSL TLS over any transport                                      */
/* ------------------------------------------------------------------ */

/** A TLS session over a lower transport. Opaque. */
typedef struct mailout_tls mailout_tls;

/**
 * TLS settings. Zero-initialised is the secure default: certificate and
 * host name verified against the system trust store, TLS 1.2 minimum.
 */
typedef struct mailout_tls_config {
    /** Reference identity: the host name the caller configured (never a
     *  DNS or MX result). A name is sent as SNI and checked against the
     *  certificate's DNS names by wolfSSL during the handshake; an IP
     *  literal (IPv4, or IPv6 without brackets) is not sent as SNI and its
     *  octets must equal an iPAddress subjectAltName (checked by mailout
     *  right after the handshake). Required; no control characters. */
    const char *server_name;
    const char *ca_file;          /**< PEM file of trusted CAs; NULL = see below. Read by mailout_tls_new() */
    const unsigned char *ca_pem;  /**< PEM CAs in memory (flash); NULL = none. Copied by mailout_tls_new() */
    size_t ca_pem_len;
    /** Use the system store too even when ca_file/ca_pem are given. It is
     *  used anyway when neither is given. */
    int system_store;
    /** SHA-256 of the server's SubjectPublicKeyInfo (32 bytes) that must
     *  match in addition to normal verification, or NULL. Copied. Checked
     *  even with insecure_no_verify. Same value as
     *  `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER |
     *  openssl dgst -sha256`. */
    const unsigned char *pin_sha256;
    const char *client_cert_file; /**< PEM client certificate chain, or NULL */
    const char *client_key_file;  /**< its private key */
    /** Maximum fragment length to request (RFC 6066): 0 = none, or 512,
     *  1024, 2048, 4096 (else MAILOUT_E_INVAL). Also the largest record
     *  mailout writes, whether or not the server accepts the extension. */
    unsigned max_fragment;
    /** DANGEROUS, tests only: skip certificate and host name checks. */
    int insecure_no_verify;
} mailout_tls_config;

/**
 * @brief Prepare a TLS client over @p lower (which stays owned by the
 * caller and must outlive the session). Nothing is sent yet.
 *
 * @p lower is copied (its ctx must outlive the session). For STARTTLS pass
 * the same transport the plaintext dialogue used, once nothing more is
 * buffered from it. Memory comes from malloc (the session, about 18 KiB
 * of output buffer with max_fragment 0, plus wolfSSL's own). The strings
 * of @p cfg are used during this call only.
 *
 * wolfSSL is initialised by reference (wolfSSL_Init here, wolfSSL_Cleanup
 * in mailout_tls_free). wolfSSL 5.5's first initialisation is not
 * thread-safe: a program that starts sessions on several threads at once
 * should call wolfSSL_Init() once at startup.
 *
 * @param out receives the session; untouched on failure.
 * @param t receives the transport callbacks of the TLS session:
 *  - send: before the handshake completed, MAILOUT_E_STATE (or the
 *    handshake's error): no application byte is ever written before
 *    mailout_tls_handshake() returned MAILOUT_OK. Afterwards it takes at
 *    most one record (max_fragment, or 16 KiB) per call. Bytes taken may
 *    wait inside the session while @p lower would block; every later
 *    send/recv/handshake/close call pushes them first, and pollfd/wait
 *    then include MAILOUT_WANT_WRITE. 0 always means nothing was taken.
 *  - recv: application data; MAILOUT_E_CLOSED after the peer's
 *    close_notify or end of stream. After recv returned data, call it
 *    again until it returns 0 before polling: TLS may hold decrypted
 *    bytes that no poll() will announce.
 *  - wait/pollfd: the direction @p lower must become ready in (TLS may
 *    need to read to write and the other way round); pollfd returns the
 *    lower's descriptor.
 *  - errors are sticky (every later call returns the same code),
 *    MAILOUT_E_TIMEOUT from the lower included: the lower waited its
 *    whole timeout for the peer, and a retry would only wait as long
 *    again.
 *  - close: close_notify (best effort, never waits for the peer's, only
 *    after a successful handshake and while no call has failed, and only
 *    once anything parked went out; what the lower cannot take of it at
 *    once is dropped, so a lower that waits waits once), then closes
 *    @p lower.
 * @return MAILOUT_OK, MAILOUT_E_INVAL (see mailout_tls_config; @p lower
 *         without send/recv), MAILOUT_E_NOMEM, MAILOUT_E_TLS (CA file, CA
 *         buffer, system store or client certificate/key unreadable),
 *         MAILOUT_E_UNSUPPORTED (built without TLS).
 */
MAILOUT_API mailout_status mailout_tls_new(mailout_tls **out, const mailout_tls_config *cfg,
                                           const mailout_transport *lower, mailout_transport *t);

/**
 * @brief Run the handshake as far as the lower transport allows.
 *
 * TLS 1.2 minimum; the certificate chain, host name or address, and pin
 * are all checked before MAILOUT_OK. Failures are sticky (repeated by
 * every later call), MAILOUT_E_TIMEOUT (the lower's io timeout passed)
 * included. On failure nothing but TLS handshake records and alerts was
 * written.
 * @return MAILOUT_OK when complete and verified; MAILOUT_AGAIN when the
 *         lower transport would block (poll in the direction given by the
 *         TLS transport's pollfd/wait, then call again); or
 *         MAILOUT_E_TLS_HANDSHAKE (protocol failure, plaintext peer, old
 *         TLS version, alert from the peer), MAILOUT_E_TLS_VERIFY
 *         (untrusted, expired, not yet valid, self-signed),
 *         MAILOUT_E_TLS_HOSTNAME, MAILOUT_E_TLS_PIN, MAILOUT_E_TIMEOUT,
 *         MAILOUT_E_CLOSED (peer closed without an alert), MAILOUT_E_IO,
 *         MAILOUT_E_STATE (after close), MAILOUT_E_INVAL (NULL).
 */
MAILOUT_API mailout_status mailout_tls_handshake(mailout_tls *tls);

/** @brief Free the session (does not close @p lower). NULL is a no-op. */
MAILOUT_API void mailout_tls_free(mailout_tls *tls);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_TRANSPORT_H */
