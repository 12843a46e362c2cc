/*
 * Test-only driver for the streaming filters of encode.h: feeds input in
 * chosen chunks, drains output through a window of a chosen size, and
 * checks the stream contract on every call.
 */
#ifndef MAILOUT_STREAMTEST_H
#define MAILOUT_STREAMTEST_H

#include "testutil.h"

#include <mailout/encode.h>

#define ST_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef mailout_status (*st_filter_fn)(void *state, mailout_stream *s, int end);

typedef struct st_result {
    mailout_status status; /* DONE or the error */
    unsigned char *out;    /* malloc'd output (free with st_free) */
    size_t out_len;
    size_t consumed;       /* input bytes consumed (position of next_in) */
} st_result;

/*
 * Run @p fn over @p in. The input is cut at the @p ncuts offsets in @p cuts
 * (ascending, may be 0 or len: empty chunks are fed too); end is passed
 * with the last chunk only. Output goes through windows of @p win bytes
 * (each window is an exact-size heap block so ASan sees overruns). The
 * contract is asserted on every call: OK only with the chunk used up or
 * the window full, progress on every OK, DONE only with end and all input
 * consumed, DONE and errors repeated (sticky) on a further call without
 * touching the stream.
 */
st_result st_run_cuts(st_filter_fn fn, void *state, const void *in, size_t len, const size_t *cuts, size_t ncuts,
                      size_t win);

/* As st_run_cuts with chunks of @p chunk bytes (0: one chunk). */
st_result st_run(st_filter_fn fn, void *state, const void *in, size_t len, size_t chunk, size_t win);

void st_free(st_result *r);

/*
 * The full matrix every streaming test uses: the whole input at once,
 * byte by byte, cut at every single offset, and every window 1..64, each
 * after @p reset(state) and each compared with @p exp / @p exp_status /
 * @p exp_consumed.
 */
void st_check_all(st_filter_fn fn, void (*reset)(void *state), void *state, const void *in, size_t len,
                  const void *exp, size_t exp_len, mailout_status exp_status, size_t exp_consumed);

#endif
