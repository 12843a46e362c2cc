/*
 * mailout — status codes.
 *
 * Every mailout function that can fail returns a mailout_status. The values
 * come from one table (MAILOUT_STATUS_MAP below) so that the enum, the names
 * and the messages can never disagree.
 *
 *   MAILOUT_OK    (0)  success.
 *   MAILOUT_AGAIN (1)  not an error: the operation could not make progress
 *                      now (a transport would block, a producer has no data
 *                      yet). Call again later with the same arguments.
 *   MAILOUT_DONE  (2)  not an error: the stream or session has finished.
 *   negative           an error. Errors are sticky where documented: an
 *                      object that failed keeps returning the same code.
 *
 * Numbers are part of the ABI: entries are only ever appended, never
 * renumbered.
 */
#ifndef MAILOUT_STATUS_H
#define MAILOUT_STATUS_H

#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define MAILOUT_STATUS_MAP(X)                                                     \
    X(OK, 0, "success")                                                           \
    X(AGAIN, 1, "no progress possible now; call again")                           \
    X(DONE, 2, "finished")                                                        \
    /* caller and API misuse */                                                   \
    X(E_INVAL, -1, "invalid argument")                                            \
    X(E_STATE, -2, "call not valid in the current state")                         \
    X(E_NOMEM, -3, "out of memory (allocator or arena exhausted)")                \
    X(E_LIMIT, -4, "a compile-time limit was exceeded")                           \
    X(E_HEADER, -5, "header name or value rejected (CR, LF, NUL or bad character)") \
    X(E_ADDRESS, -6, "invalid mail address")                                      \
    X(E_UTF8, -7, "invalid UTF-8 text")                                           \
    X(E_UNSUPPORTED, -8, "feature not built into this library")                   \
    X(E_INTERNAL, -9, "internal error")                                           \
    /* message sources */                                                         \
    X(E_SOURCE, -20, "a body source failed")                                      \
    X(E_FILE, -21, "a file could not be opened or read")                          \
    X(E_8BIT, -22, "8-bit data where 7-bit is required")                          \
    X(E_LINE_TOO_LONG, -23, "line longer than 998 bytes where encoding is forced") \
    X(E_SIZE_UNKNOWN, -24, "message size cannot be known in advance")             \
    /* transport */                                                               \
    X(E_IO, -40, "transport I/O error")                                           \
    X(E_CLOSED, -41, "connection closed by peer")                                 \
    X(E_TIMEOUT, -42, "timed out")                                                \
    X(E_RESOLVE, -43, "host name could not be resolved")                          \
    X(E_CONNECT, -44, "connection could not be established")                      \
    /* TLS */                                                                     \
    X(E_TLS_REQUIRED, -60, "TLS required but not available from the server")     \
    X(E_TLS_HANDSHAKE, -61, "TLS handshake failed")                               \
    X(E_TLS_VERIFY, -62, "server certificate verification failed")               \
    X(E_TLS_HOSTNAME, -63, "server certificate does not match the host name")     \
    X(E_TLS_PIN, -64, "server key does not match the pinned key")                 \
    X(E_TLS, -65, "TLS error")                                                    \
    /* SMTP protocol */                                                           \
    X(E_PROTO, -80, "SMTP protocol error (malformed or unexpected reply)")        \
    X(E_REPLY_TOO_LONG, -81, "server reply exceeds the size limits")              \
    X(E_SERVER_SHUTDOWN, -82, "server is shutting down (421)")                    \
    X(E_REJ_TEMP, -83, "temporary rejection by the server (4xx)")                 \
    X(E_REJ_PERM, -84, "permanent rejection by the server (5xx)")                 \
    X(E_PARTIAL, -85, "some recipients were rejected")                            \
    X(E_DELIVERY_UNKNOWN, -86, "final reply lost: delivery state unknown")        \
    X(E_SIZE, -87, "message exceeds the server's size limit")                     \
    X(E_SMTPUTF8, -88, "server does not support SMTPUTF8 but it is needed")       \
    /* authentication */                                                          \
    X(E_AUTH, -100, "authentication failed")                                      \
    X(E_AUTH_TEMP, -101, "authentication temporarily failed (454)")               \
    X(E_AUTH_INSECURE, -102, "refusing to send credentials without TLS")          \
    X(E_AUTH_UNSUPPORTED, -103, "no usable authentication mechanism")

typedef enum mailout_status {
#define MAILOUT_STATUS_ENUM_(name, value, msg) MAILOUT_##name = value,
    MAILOUT_STATUS_MAP(MAILOUT_STATUS_ENUM_)
#undef MAILOUT_STATUS_ENUM_
} mailout_status;

/**
 * @brief Human-readable message for a status.
 * @return A static string; "unknown status" for values not in the table.
 *         Never NULL.
 */
MAILOUT_API const char *mailout_strerror(int status);

/**
 * @brief The status' name without prefix, e.g. "E_PROTO" for MAILOUT_E_PROTO.
 * @return A static string; "?" for values not in the table. Never NULL.
 */
MAILOUT_API const char *mailout_errname(int status);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_STATUS_H */
