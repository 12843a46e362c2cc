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

#endif
