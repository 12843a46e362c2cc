/*
 * Test-only helpers shared by the encode fuzzers: a driver that runs a
 * streaming filter with input chunks and output windows chosen by control
 * bytes from the fuzz input, checking the stream contract on every call.
 * Header-only so each fuzzer stays one translation unit.
 */
#ifndef MAILOUT_FUZZ_STREAM_H
#define MAILOUT_FUZZ_STREAM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailout/encode.h>

#define FZ_CHECK(cond)                                                                                      \
    do {                                                                                                    \
        if (!(cond)) {                                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                        \
            abort();                                                                                        \
        }                                                                                                   \
    } while (0)

typedef mailout_status (*fz_fn)(void *state, mailout_stream *s, int end);

/* Equal bytes; an empty fz_buf has p == NULL, and memcmp(NULL, ..., 0)
 * is undefined (UBSan's nonnull-attribute check reports it). */
static inline int fz_memeq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* A growing output buffer. */
typedef struct fz_buf {
    unsigned char *p;
    size_t len, cap;
} fz_buf;

static inline void fz_append(fz_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = (b->cap + n) * 2 + 64;
        unsigned char *q = realloc(b->p, cap);
        FZ_CHECK(q != NULL);
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void fz_free(fz_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Control bytes, used round-robin; with none, everything is one chunk. */
typedef struct fz_ctl {
    const uint8_t *p;
    size_t n, i;
} fz_ctl;

static inline unsigned fz_next(fz_ctl *c)
{
    if (c->n == 0)
        return 0xff;
    return c->p[c->i++ % c->n];
}

/*
 * Split a fuzz input into [param byte] [n] [n control bytes] data; missing
 * parts are 0 / empty.
 */
static inline unsigned fz_split(const uint8_t *data, size_t size, fz_ctl *ctl, const uint8_t **in, size_t *len)
{
    size_t head = size < 2 ? size : 2;
    size_t nctl = size < 2 ? 0 : data[1] % 16u;
    if (nctl > size - head)
        nctl = size - head;
    ctl->p = data + head;
    ctl->n = nctl;
    ctl->i = 0;
    *in = data + head + nctl;
    *len = size - head - nctl;
    return size ? data[0] : 0;
}

/*
 * Run @p fn over in[0..len): chunk sizes 1..64 (and, when bit 7 of the
 * control byte is set, an empty call before the chunk), windows 1..16 or
 * 4096. Checks the contract and returns DONE or the error, with the output
 * in @p out and the input position in @p consumed.
 */
static inline mailout_status fz_run(fz_fn fn, void *state, const uint8_t *in, size_t len, fz_ctl *ctl, fz_buf *out,
                                    size_t *consumed)
{
    unsigned char *win = malloc(4096);
    FZ_CHECK(win != NULL);
    size_t pos = 0;
    for (;;) {
        unsigned c = fz_next(ctl);
        size_t chunk = ctl->n ? (c & 63u) + 1 : len;
        size_t to = len - pos < chunk ? len : pos + chunk;
        int end = to == len;
        mailout_stream s = {in + pos, to - pos, NULL, 0};
        if ((c & 128u) && !end) {
            /* an empty call may only flush what is pending */
            mailout_stream e = {in + pos, 0, win, 1};
            mailout_status st = fn(state, &e, 0);
            FZ_CHECK(st == MAILOUT_OK || st < 0);
            if (st < 0) {
                free(win);
                *consumed = pos;
                return st;
            }
            fz_append(out, win, (size_t)(e.next_out - win));
        }
        for (;;) {
            unsigned w = fz_next(ctl);
            size_t wsize = (w & 0x40u) ? 4096 : (w & 15u) + 1;
            s.next_out = win;
            s.avail_out = wsize;
            const unsigned char *in0 = s.next_in;
            mailout_status st = fn(state, &s, end);
            size_t produced = wsize - s.avail_out;
            FZ_CHECK(s.next_out == win + produced);
            FZ_CHECK(s.next_in >= in0 && s.next_in + s.avail_in == in + to);
            fz_append(out, win, produced);
            pos = (size_t)(s.next_in - in);
            if (st == MAILOUT_OK) {
                FZ_CHECK(s.avail_in == 0 || s.avail_out == 0);
                FZ_CHECK(!end || s.avail_out == 0);
                if (s.avail_in == 0 && !end)
                    break;
                FZ_CHECK(produced > 0 || s.next_in > in0);
                continue;
            }
            FZ_CHECK(st == MAILOUT_DONE ? end && s.avail_in == 0 : st < 0);
            /* DONE and errors are sticky and touch nothing. */
            unsigned char room[2];
            mailout_stream again = {(const unsigned char *)"x", 1, room, sizeof room};
            FZ_CHECK(fn(state, &again, 1) == st);
            FZ_CHECK(again.avail_in == 1 && again.avail_out == sizeof room);
            free(win);
            *consumed = pos;
            return st;
        }
    }
}

/* The same filter in one call with all the room it can need. */
static inline mailout_status fz_run_once(fz_fn fn, void *state, const uint8_t *in, size_t len, size_t room,
                                         fz_buf *out, size_t *consumed)
{
    unsigned char *o = malloc(room ? room : 1);
    FZ_CHECK(o != NULL);
    mailout_stream s = {in, len, o, room};
    mailout_status st = fn(state, &s, 1);
    FZ_CHECK(st != MAILOUT_OK);
    fz_append(out, o, room - s.avail_out);
    *consumed = (size_t)(s.next_in - in);
    free(o);
    return st;
}

#endif
