/* see mailout/encode.h: line-ending normaliser and SMTP DATA filter (RFC 5321 §4.5.2) */
#include <string.h>

#include "internal.h"
#include "encode/pend.h"

#include <mailout/encode.h>

/* f->state */
enum {
    LINE_AT_START = 0, /* at the start of a line */
    LINE_MID = 1,      /* inside a line */
    LINE_AFTER_CR = 2, /* at the start of a line whose break was a CR: an LF now belongs to it */
};

/* f->done: running, finished, or the sticky error. */
enum {
    LINE_RUNNING = 0,
    LINE_FINISHED = 1,
    LINE_ERR_8BIT = 2,
    LINE_ERR_NUL = 3,
    LINE_ERR_LONG = 4,
};

#define LINE_FLAGS                                                                                        \
    (MAILOUT_LINE_STUFF | MAILOUT_LINE_TERMINATE | MAILOUT_LINE_FINAL_CRLF | MAILOUT_LINE_7BIT |          \
     MAILOUT_LINE_NO_NUL | MAILOUT_LINE_MAX998)

/* RFC 5321 §4.5.3.1.6: 1000 octets including CRLF, not counting the
 * doubled dot; so the count is of input bytes. */
#define LINE_MAX_LEN 998u

mailout_status mailout_line_init(mailout_line *f, unsigned flags)
{
    memset(f, 0, sizeof *f);
    /* A terminator without stuffing would let a "." line in the data end
     * the transaction early (SMTP smuggling): refused as conflicting. */
    if ((flags & ~(unsigned)LINE_FLAGS) ||
        ((flags & MAILOUT_LINE_TERMINATE) && !(flags & MAILOUT_LINE_STUFF)))
        return MAILOUT_E_INVAL;
    f->flags = (unsigned char)flags;
    f->state = LINE_AT_START;
    return MAILOUT_OK;
}

static mailout_status line_error(unsigned char done)
{
#if MAILOUT_SMALL
    static const signed char codes[3] = {MAILOUT_E_8BIT, MAILOUT_E_INVAL, MAILOUT_E_LINE_TOO_LONG};
    return (mailout_status)codes[done - LINE_ERR_8BIT]; /* only called with an error code */
#else
    switch (done) {
    case LINE_ERR_8BIT:
        return MAILOUT_E_8BIT;
    case LINE_ERR_NUL:
        return MAILOUT_E_INVAL;
    case LINE_ERR_LONG:
        return MAILOUT_E_LINE_TOO_LONG;
    default:
        return MAILOUT_E_INTERNAL;
    }
#endif
}

static void line_put(mailout_line *f, const char *p, size_t n)
{
    memcpy(f->pend + f->npend, p, n);
    f->npend = (unsigned char)(f->npend + n);
}

/* Write what is left of f->pend; nonzero when all of it went out. */
static int line_flush(mailout_line *f, mailout_stream *s)
{
    return mailout_pend_flush(f->pend, &f->npend, &f->pendpos, s);
}

/* The done code for a data byte the flags refuse, or LINE_RUNNING. */
static unsigned char line_check(const mailout_line *f, unsigned char c)
{
    if (c >= 0x80 && (f->flags & MAILOUT_LINE_7BIT))
        return LINE_ERR_8BIT;
    if (c == 0 && (f->flags & MAILOUT_LINE_NO_NUL))
        return LINE_ERR_NUL;
    if ((f->flags & MAILOUT_LINE_MAX998) && f->linelen >= LINE_MAX_LEN)
        return LINE_ERR_LONG;
    return LINE_RUNNING;
}

/* The byte-wise filter: one input byte into pend (at most 2 bytes), or the
 * done code of an error (the byte is then not consumed). */
static unsigned char line_byte(mailout_line *f, unsigned char c)
{
    if (c == '\r' || c == '\n') {
        if (c == '\n' && f->state == LINE_AFTER_CR) {
            f->state = LINE_AT_START; /* the LF of a CRLF already written */
            return LINE_RUNNING;
        }
        line_put(f, "\r\n", 2);
        f->state = c == '\r' ? LINE_AFTER_CR : LINE_AT_START;
        f->linelen = 0;
        return LINE_RUNNING;
    }
    unsigned char err = line_check(f, c);
    if (err)
        return err;
    if (c == '.' && f->state != LINE_MID && (f->flags & MAILOUT_LINE_STUFF))
        line_put(f, "..", 2);
    else
        line_put(f, (const char *)&c, 1);
    f->state = LINE_MID;
    if (f->flags & MAILOUT_LINE_MAX998)
        f->linelen++; /* bounded by line_check */
    return LINE_RUNNING;
}

/* SWAR: nonzero if any byte of v is zero (no false "none"; exact as a yes/no). */
#define LINE_ONES UINT64_C(0x0101010101010101)
#define LINE_HIGHS UINT64_C(0x8080808080808080)
static inline uint64_t line_has_zero(uint64_t v)
{
    return (v - LINE_ONES) & ~v & LINE_HIGHS;
}

/* Nonzero if the 8 bytes in v hold a byte the fast path must not copy. */
static inline uint64_t line_block_special(uint64_t v, unsigned flags)
{
    uint64_t bad = line_has_zero(v ^ (LINE_ONES * '\r')) | line_has_zero(v ^ (LINE_ONES * '\n'));
    if (flags & MAILOUT_LINE_7BIT)
        bad |= v & LINE_HIGHS;
    if (flags & MAILOUT_LINE_NO_NUL)
        bad |= line_has_zero(v);
    return bad;
}

static inline int line_plain(unsigned char c, unsigned flags)
{
    return c != '\r' && c != '\n' && !(c >= 0x80 && (flags & MAILOUT_LINE_7BIT)) &&
           !(c == 0 && (flags & MAILOUT_LINE_NO_NUL));
}

/* Copy the run of bytes from in[i] that pass unchanged (no line break,
 * nothing the flags refuse), up to @p end, 8 bytes at a time; returns the
 * index where the run stopped. */
static size_t line_run(const unsigned char *in, unsigned char *out, size_t i, size_t end, unsigned flags)
{
    while (end - i >= 8) {
        uint64_t v;
        memcpy(&v, in + i, 8);
        if (line_block_special(v, flags))
            break;
        memcpy(out + i, &v, 8);
        i += 8;
    }
    while (i < end && line_plain(in[i], flags)) {
        out[i] = in[i];
        i++;
    }
    return i;
}

/*
 * Fast path, with nothing pending: copy straight to the output what passes
 * unchanged, which is plain runs within the line limit and the CRLFs that
 * end them, so a stream of well-formed lines (base64, QP, most text) is a
 * few word copies per line. A '.' starting a line, a bare CR or LF, a byte
 * the flags refuse, and a CRLF cut by the end of a window are left to
 * line_byte.
 */
static void line_direct(mailout_line *f, mailout_stream *s)
{
    const unsigned char *in = s->next_in;
    unsigned char *out = s->next_out;
    unsigned flags = f->flags;
    size_t lim = MAILOUT_MIN(s->avail_in, s->avail_out);
    size_t i = 0, linelen = f->linelen;
    unsigned char state = f->state;

    if (MAILOUT_SMALL) /* line_byte alone gives the same bytes */
        return;
    if (state == LINE_AFTER_CR)
        return; /* an LF now would belong to the CR: line_byte knows */
    for (;;) {
        size_t end = lim, start = i;
        if (state != LINE_MID && i < lim && in[i] == '.' && (flags & MAILOUT_LINE_STUFF))
            break;
        if (flags & MAILOUT_LINE_MAX998)
            end = MAILOUT_MIN(lim, i + (LINE_MAX_LEN - MAILOUT_MIN(linelen, LINE_MAX_LEN)));
        i = line_run(in, out, i, end, flags);
        if (i > start) {
            state = LINE_MID;
            linelen += i - start;
        }
        if (lim - i < 2 || in[i] != '\r' || in[i + 1] != '\n')
            break;
        out[i] = '\r';
        out[i + 1] = '\n';
        i += 2;
        state = LINE_AT_START;
        linelen = 0;
    }
    if (i == 0)
        return;
    s->next_in += i;
    s->avail_in -= i;
    s->next_out += i;
    s->avail_out -= i;
    f->state = state;
    if (flags & MAILOUT_LINE_MAX998)
        f->linelen = (unsigned short)linelen; /* at most LINE_MAX_LEN */
}

/* At the end of input: the missing CRLF and the terminator, as flagged. An
 * empty input counts as ending at the start of a line: with TERMINATE it
 * becomes just ".\r\n", with FINAL_CRLF nothing. */
static void line_queue_end(mailout_line *f)
{
    if (f->state == LINE_MID && (f->flags & (MAILOUT_LINE_TERMINATE | MAILOUT_LINE_FINAL_CRLF)))
        line_put(f, "\r\n", 2);
    if (f->flags & MAILOUT_LINE_TERMINATE)
        line_put(f, ".\r\n", 3);
    f->state = LINE_AT_START;
}

mailout_status mailout_line_filter(mailout_line *f, mailout_stream *s, int end)
{
    for (;;) {
        if (f->done >= LINE_ERR_8BIT)
            return line_error(f->done);
        if (f->npend && !line_flush(f, s))
            return MAILOUT_OK;
        if (f->done == LINE_FINISHED)
            return MAILOUT_DONE;
        line_direct(f, s);
        if (s->avail_in == 0) {
            if (!end)
                return MAILOUT_OK;
            line_queue_end(f);
            f->done = LINE_FINISHED;
            continue;
        }
        if (s->avail_out == 0)
            return MAILOUT_OK;
        unsigned char err = line_byte(f, *s->next_in);
        if (err) {
            f->done = err; /* next_in stays at the offending byte */
            return line_error(err);
        }
        s->next_in++;
        s->avail_in--;
    }
}
