/* see mailout/encode.h: quoted-printable (RFC 2045 §6.7) */
#include <string.h>

#include "internal.h"
#include "encode/pend.h"

#include <mailout/encode.h>

#if MAILOUT_ENABLE_QP

/* e->state */
#define QP_AFTER_CR 1u /* TEXT: the last input byte was a CR; an LF now is part of its break */
#define QP_FINISHED 2u /* MAILOUT_DONE was returned */

/*
 * Characters per output line before a soft break. The "=" of a soft break
 * is the 76th. Lines ended by a hard break are held to the same 75 even
 * though 76 would be allowed there: that would need one byte of lookahead
 * across calls for no real gain.
 */
#define QP_MAXCOL 75u

static const char qp_hexdig[16] = "0123456789ABCDEF";

/* Printable ASCII written as itself: 33..126 except '='. */
static inline int qp_is_safe(unsigned char c)
{
    return (unsigned char)(c - 33u) <= 93u && c != '=';
}

mailout_status mailout_qp_init(mailout_qp *e, unsigned flags)
{
    memset(e, 0, sizeof *e);
    if (flags & ~MAILOUT_QP_TEXT)
        return MAILOUT_E_INVAL;
    e->flags = (unsigned char)flags;
    return MAILOUT_OK;
}

/*
 * Queueing into e->pend. Input is only taken while pend is empty, and one
 * input byte queues at most 8 bytes: a soft break, "=20" and CRLF for a
 * held space before a hard break; or a soft break, a literal held space and
 * "=XX", since after a soft break there is room for the "=XX".
 */
static void qp_put(mailout_qp *e, const char *p, size_t n)
{
    memcpy(e->pend + e->npend, p, n);
    e->npend = (unsigned char)(e->npend + n);
}

/* Queue @p n characters that must stay on one line (a char or "=XX"). */
static void qp_token(mailout_qp *e, const char *tok, size_t n)
{
    if (e->col + n > QP_MAXCOL) {
        qp_put(e, "=\r\n", 3);
        e->col = 0;
    }
    qp_put(e, tok, n);
    e->col = (unsigned short)(e->col + n);
}

static void qp_hex(mailout_qp *e, unsigned char c)
{
    char t[3] = {'=', qp_hexdig[c >> 4], qp_hexdig[c & 15]};
    qp_token(e, t, 3);
}

/* A byte that may be written as itself: the line-break decision is made on
 * its literal width; a '.' that then starts a line becomes "=2E" (it fits
 * either way, as the line is empty). */
static void qp_literal(mailout_qp *e, unsigned char c)
{
    char t = (char)c;
    if (e->col + 1u > QP_MAXCOL) {
        qp_put(e, "=\r\n", 3);
        e->col = 0;
    }
    if (e->col == 0 && c == '.')
        qp_hex(e, c);
    else
        qp_token(e, &t, 1);
}

/* A held SP/TAB, now that the next byte is known. */
static void qp_release_held(mailout_qp *e, int before_break)
{
    unsigned char h = e->held;
    e->held = 0;
    if (before_break)
        qp_hex(e, h);
    else
        qp_literal(e, h);
}

static void qp_hard_break(mailout_qp *e)
{
    if (e->held)
        qp_release_held(e, 1);
    qp_put(e, "\r\n", 2);
    e->col = 0;
}

/* The byte-wise encoder: one input byte into pend. */
static void qp_byte(mailout_qp *e, unsigned char c)
{
    if (e->flags & MAILOUT_QP_TEXT) {
        if (c == '\r') {
            qp_hard_break(e);
            e->state |= QP_AFTER_CR;
            return;
        }
        if (c == '\n') {
            if (e->state & QP_AFTER_CR)
                e->state &= (unsigned char)~QP_AFTER_CR; /* second half of CRLF */
            else
                qp_hard_break(e);
            return;
        }
        e->state &= (unsigned char)~QP_AFTER_CR;
    }
    if (e->held)
        qp_release_held(e, 0);
    if (c == ' ' || c == '\t')
        e->held = c; /* literal or =XX depends on what follows */
    else if (qp_is_safe(c))
        qp_literal(e, c);
    else
        qp_hex(e, c);
}

/* Bytes the fast path copies: the literal set plus SP and TAB (a blank
 * before a break is given back afterwards, see qp_run). */
static inline int qp_is_plain(unsigned char c)
{
    return ((unsigned char)(c - 32u) <= 94u && c != '=') || c == '\t';
}

/* SWAR: nonzero if one of the 8 bytes in v is outside 0x20..0x7E or is '='. */
#define QP_ONES UINT64_C(0x0101010101010101)
#define QP_HIGHS UINT64_C(0x8080808080808080)
static inline uint64_t qp_block_special(uint64_t v)
{
    uint64_t below_space = (v - QP_ONES * 0x20) & ~v & QP_HIGHS;
    uint64_t above_tilde = ((v + QP_ONES) | v) & QP_HIGHS;
    uint64_t x = v ^ (QP_ONES * '=');
    uint64_t equals = (x - QP_ONES) & ~x & QP_HIGHS;
    return below_space | above_tilde | equals;
}

/*
 * Length of the run at in[0..lim) that may be copied as it is. @p n is how
 * much input is in view (n >= lim). A SP/TAB that ends the run is given
 * back when what follows it is a line break or the end of the input in
 * view, so qp_byte can hold it until it knows.
 */
static size_t qp_run(const unsigned char *in, size_t lim, size_t n, int text)
{
    size_t k = 0;
    while (lim - k >= 8) {
        uint64_t v;
        memcpy(&v, in + k, 8);
        if (qp_block_special(v))
            break;
        k += 8;
    }
    while (k < lim && qp_is_plain(in[k]))
        k++;
    if (k && (in[k - 1] == ' ' || in[k - 1] == '\t') &&
        (k >= n || (text && (in[k] == '\r' || in[k] == '\n'))))
        k--;
    return k;
}

/*
 * Fast path, used with nothing pending, held or half-seen: copy the runs
 * of bytes that are written as themselves straight to the output, up to
 * the end of each output line, and write escapes that fit on the line and
 * (TEXT mode) CRLF / LF breaks directly too. Whatever stops it (a soft
 * break, a blank before a break, a lone CR, the edge of either window) is
 * left to qp_byte.
 */
static void qp_direct(mailout_qp *e, mailout_stream *s)
{
    const unsigned char *in = s->next_in;
    unsigned char *out = s->next_out;
    size_t n = s->avail_in, room = s->avail_out;
    size_t i = 0, o = 0;
    unsigned col = e->col;
    int text = e->flags & MAILOUT_QP_TEXT;

    for (;;) {
        size_t lim = MAILOUT_MIN(n - i, room - o);
        lim = MAILOUT_MIN(lim, QP_MAXCOL - col);
        if (lim && !(col == 0 && in[i] == '.')) {
            size_t k = qp_run(in + i, lim, n - i, text);
            memcpy(out + o, in + i, k);
            i += k;
            o += k;
            col += (unsigned)k;
        }
        if (i >= n)
            break;
        unsigned char c = in[i];
        if (text && (c == '\r' || c == '\n')) {
            /* A hard break: CRLF (both in view) or a lone LF. */
            if (room - o < 2 || (c == '\r' && (i + 1 >= n || in[i + 1] != '\n')))
                break;
            i += c == '\r' ? 2 : 1;
            out[o] = '\r';
            out[o + 1] = '\n';
            o += 2;
            col = 0;
            continue;
        }
        /* An escape that fits on this line; else qp_byte breaks the line. */
        if ((qp_is_plain(c) && !(c == '.' && col == 0)) || room - o < 3 || col + 3 > QP_MAXCOL)
            break;
        out[o] = '=';
        out[o + 1] = (unsigned char)qp_hexdig[c >> 4];
        out[o + 2] = (unsigned char)qp_hexdig[c & 15];
        o += 3;
        i++;
        col += 3;
    }
    s->next_in += i;
    s->avail_in -= i;
    s->next_out += o;
    s->avail_out -= o;
    e->col = (unsigned short)col;
}

/* Write what is left of e->pend; nonzero when all of it went out. */
static int qp_flush(mailout_qp *e, mailout_stream *s)
{
    return mailout_pend_flush(e->pend, &e->npend, &e->pendpos, s);
}

mailout_status mailout_qp_encode(mailout_qp *e, mailout_stream *s, int end)
{
    for (;;) {
        if (e->npend && !qp_flush(e, s))
            return MAILOUT_OK;
        if (e->state & QP_FINISHED)
            return MAILOUT_DONE;
        /* MAILOUT_SMALL: qp_byte alone gives the same bytes */
        if (!MAILOUT_SMALL && !e->held && !(e->state & QP_AFTER_CR))
            qp_direct(e, s);
        if (s->avail_in == 0) {
            if (!end)
                return MAILOUT_OK;
            if (e->held) {
                qp_release_held(e, 1); /* whitespace at the very end */
                continue;
            }
            e->state |= QP_FINISHED;
            return MAILOUT_DONE;
        }
        if (s->avail_out == 0)
            return MAILOUT_OK;
        qp_byte(e, *s->next_in++);
        s->avail_in--;
    }
}

#else /* !MAILOUT_ENABLE_QP: the API stays, refusing */

mailout_status mailout_qp_init(mailout_qp *e, unsigned flags)
{
    (void)flags;
    if (e)
        memset(e, 0, sizeof *e);
    return MAILOUT_E_UNSUPPORTED;
}

mailout_status mailout_qp_encode(mailout_qp *e, mailout_stream *s, int end)
{
    (void)e;
    (void)s;
    (void)end;
    return MAILOUT_E_UNSUPPORTED;
}

#endif /* MAILOUT_ENABLE_QP */
