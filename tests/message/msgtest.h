/*
 * Helpers shared by the message tests: reading a whole message through a
 * sequence of window sizes, and allocators that fail on purpose.
 */
#ifndef MAILOUT_MSGTEST_H
#define MAILOUT_MSGTEST_H

#include "testutil.h"

/* Read the message (read_start must have succeeded) into out, using window
 * sizes windows[0], windows[1], ... (cycled; NULL = whole cap). AGAIN is
 * retried. Returns the final status (DONE or the error); *len = bytes. */
mailout_status msgtest_read(mailout_msg *m, const size_t *windows, size_t nwindows, unsigned char *out, size_t cap,
                            size_t *len);

/* read_start(flags) then msgtest_read with one window size. */
mailout_status msgtest_read_flags(mailout_msg *m, unsigned flags, size_t window, unsigned char *out, size_t cap,
                                  size_t *len);

/* Allocator over malloc that fails the fail_at-th call (1-based; 0 = never)
 * and counts live blocks, so tests can check everything was released. */
typedef struct msgtest_alloc {
    unsigned calls;
    unsigned fail_at;
    long live;
} msgtest_alloc;
mailout_allocator msgtest_alloc_init(msgtest_alloc *a, unsigned fail_at);

/* A new message on the heap with the test env, From a@example.com and To
 * b@example.com. */
mailout_msg *msgtest_basic(testutil_env *te, mailout_env *env);

/* Every line of the buffer ends in CRLF, has at most max bytes, and there
 * is no bare CR or LF. */
void msgtest_assert_lines(const unsigned char *p, size_t len, size_t max);

/* A producer (message.h) over a byte string, for mailout_part_set_producer
 * with msgtest_produce / msgtest_rewind and the src as ctx. Gives chunk
 * bytes per call (less when cap is smaller); the data, then @p extra
 * bytes 'x' beyond len (a producer lying about its size); "later" instead
 * of data once rewound (one whose bytes change); AGAIN on call i when bit i
 * of again_mask is set; E_IO on every call when fail is set. */
typedef struct msgtest_src {
    const unsigned char *data;
    const unsigned char *later;
    size_t len, pos, chunk, extra;
    unsigned calls, rewinds;
    unsigned again_mask;
    int fail;
} msgtest_src;
void msgtest_src_init(msgtest_src *s, const void *data, size_t len, size_t chunk);
mailout_status msgtest_produce(void *ctx, unsigned char *buf, size_t cap, size_t *produced);
mailout_status msgtest_rewind(void *ctx);

#endif
