/*
 * Test doubles for the client tests: a body source over a string and a
 * "flaky" non-blocking transport over a socket.
 */
#ifndef CLIENT_TEST_CTEST_H
#define CLIENT_TEST_CTEST_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/client.h>
#include <mailout/message.h>

#include "testutil.h"

/* A body source that hands out @p text (raw message, the engine stuffs),
 * in pieces of at most @p chunk bytes; with @p again_every > 0 every
 * again_every-th read says MAILOUT_AGAIN with nothing. */
typedef struct ct_body {
    const char *text;
    size_t len, off;
    size_t chunk;
    unsigned again_every;
    unsigned reads;
    unsigned starts;
} ct_body;

mailout_body ct_body_source(ct_body *b, const char *text, size_t chunk, unsigned again_every);

/*
 * A transport over a non-blocking socket that says "would block" (0) on
 * every other send and recv call, and otherwise moves 1..max_chunk bytes
 * (random sizes from a seeded PRNG). recv of end of stream is
 * MAILOUT_E_CLOSED. pollfd gives the socket. No wait (the non-blocking
 * driver never waits).
 */
typedef struct ct_flaky {
    int fd;
    uint64_t rng;
    size_t max_chunk;
    unsigned send_calls, recv_calls;
    unsigned send_zero, recv_zero;  /* how many "would block" were returned */
    unsigned waits;                 /* wait() calls */
    int closed;
} ct_flaky;

mailout_transport ct_flaky_transport(ct_flaky *f, int fd, uint64_t seed, size_t max_chunk);

/* The same with a wait() that poll()s the socket (for the blocking driver). */
mailout_transport ct_flaky_transport_wait(ct_flaky *f, int fd, uint64_t seed, size_t max_chunk);

/* DATA stuffing of @p text as the engine must put it on the wire (CRLF
 * line ends assumed, a final CRLF added if missing, then ".\r\n"), into a
 * malloc'd string. */
char *ct_stuff(const char *text);

/* A small deterministic message from a@x.test to b@y.test (fixed date,
 * Message-ID and env), with a text body that has a line starting with '.'. */
typedef struct ct_msg {
    testutil_env envs;
    mailout_env env;
    mailout_msg *m;
} ct_msg;

void ct_msg_make(ct_msg *fx);

/* The message as the client must put it on the wire after DATA (stuffed,
 * ending with ".\r\n"), malloc'd and NUL-terminated. */
char *ct_msg_wire(mailout_msg *m);

#endif
