/* see streamtest.h */
#include "streamtest.h"

#include <stdlib.h>
#include <string.h>

void st_free(st_result *r)
{
    free(r->out);
    r->out = NULL;
}

static void append(st_result *r, size_t *cap, const unsigned char *p, size_t n)
{
    if (r->out_len + n > *cap) {
        *cap = (*cap + n) * 2;
        r->out = realloc(r->out, *cap);
        assert_non_null(r->out);
    }
    if (n)
        memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
}

/* A further call after DONE or an error must repeat it and touch nothing. */
static void check_sticky(st_filter_fn fn, void *state, mailout_status st)
{
    static const unsigned char more[1] = {'.'};
    const unsigned char *at = more;
    unsigned char room[4];
    mailout_stream s = {at, 1, room, sizeof room};
    mailout_status again = fn(state, &s, 1);
    assert_status(st, again);
    assert_ptr_equal(s.next_in, at);
    assert_int_equal(s.avail_in, 1);
    assert_ptr_equal(s.next_out, room);
    assert_int_equal(s.avail_out, sizeof room);
}

st_result st_run_cuts(st_filter_fn fn, void *state, const void *in, size_t len, const size_t *cuts, size_t ncuts,
                      size_t win)
{
    const unsigned char *base = in;
    st_result r = {MAILOUT_OK, NULL, 0, 0};
    size_t cap = 0;
    unsigned char *w = malloc(win ? win : 1);
    assert_non_null(w);
    size_t from = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t to = c < ncuts ? cuts[c] : len;
        assert_true(to >= from && to <= len);
        int end = c == ncuts;
        mailout_stream s = {base + from, to - from, NULL, 0};
        for (;;) {
            s.next_out = w;
            s.avail_out = win;
            const unsigned char *in0 = s.next_in;
            mailout_status st = fn(state, &s, end);
            size_t produced = (size_t)(s.next_out - w);
            assert_true(s.next_in >= in0 && s.next_in <= base + to);
            assert_int_equal((size_t)(base + to - s.next_in), s.avail_in);
            assert_int_equal(win - produced, s.avail_out);
            append(&r, &cap, w, produced);
            r.consumed = (size_t)(s.next_in - base);
            if (st == MAILOUT_OK) {
                /* OK: input used up or output full, and some progress. */
                assert_true(s.avail_in == 0 || s.avail_out == 0);
                assert_true(!end || s.avail_out == 0);
                if (s.avail_in == 0 && !end)
                    break;
                assert_true(produced > 0 || s.next_in > in0);
                continue;
            }
            r.status = st;
            if (st == MAILOUT_DONE) {
                assert_true(end);
                assert_int_equal(s.avail_in, 0);
            } else {
                assert_true(st < 0);
            }
            check_sticky(fn, state, st);
            free(w);
            return r;
        }
        from = to;
    }
    fail_msg("the filter never finished");
    return r;
}

st_result st_run(st_filter_fn fn, void *state, const void *in, size_t len, size_t chunk, size_t win)
{
    size_t n = chunk && len ? (len - 1) / chunk : 0;
    size_t *cuts = malloc((n ? n : 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = (i + 1) * chunk;
    st_result r = st_run_cuts(fn, state, in, len, cuts, n, win);
    free(cuts);
    return r;
}

static void expect(st_result *r, const void *exp, size_t exp_len, mailout_status exp_status, size_t exp_consumed)
{
    assert_status(exp_status, r->status);
    assert_bytes_equal(exp, exp_len, r->out, r->out_len);
    assert_int_equal(exp_consumed, r->consumed);
    st_free(r);
}

void st_check_all(st_filter_fn fn, void (*reset)(void *state), void *state, const void *in, size_t len,
                  const void *exp, size_t exp_len, mailout_status exp_status, size_t exp_consumed)
{
    size_t big = exp_len + 64;
    st_result r;

    reset(state);
    r = st_run(fn, state, in, len, 0, big);
    expect(&r, exp, exp_len, exp_status, exp_consumed);

    reset(state);
    r = st_run(fn, state, in, len, 1, big);
    expect(&r, exp, exp_len, exp_status, exp_consumed);

    /* Two chunks, cut at every offset, then three chunks with an empty one. */
    for (size_t cut = 0; cut <= len; cut++) {
        size_t cuts[3] = {cut, cut, len};
        reset(state);
        r = st_run_cuts(fn, state, in, len, cuts, 1, big);
        expect(&r, exp, exp_len, exp_status, exp_consumed);
        reset(state);
        r = st_run_cuts(fn, state, in, len, cuts, 3, big);
        expect(&r, exp, exp_len, exp_status, exp_consumed);
    }

    for (size_t win = 1; win <= 64; win++) {
        reset(state);
        r = st_run(fn, state, in, len, 0, win);
        expect(&r, exp, exp_len, exp_status, exp_consumed);
        /* Byte-by-byte input through the small windows too. */
        reset(state);
        r = st_run(fn, state, in, len, 1, win);
        expect(&r, exp, exp_len, exp_status, exp_consumed);
    }
}
