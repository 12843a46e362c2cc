/* see mailout/encode.h: quoted-printable (RFC 2045 §6.7) */
#include <string.h>

#include "internal.h"

#include <mailout/encode.h>

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

/*
 * Fast path, used with nothing pending, held or half-seen: copy the run of
 * bytes that are written as themselves straight to the output, up to the
 * end of the output line. A SP/TAB is part of the run only when the byte
 * after it is in the input and is not a line break. Whatever stops the run
 * is left to qp_byte.
 */
static void qp_direct(mailout_qp *e, mailout_stream *s)
{
    const unsigned char *in = s->next_in;
    unsigned char *out = s->next_out;
    size_t n = s->avail_in;
    size_t lim = MAILOUT_MIN(n, s->avail_out);
    int text = e->flags & MAILOUT_QP_TEXT;

    lim = MAILOUT_MIN(lim, QP_MAXCOL - e->col);
    if (lim == 0 || (e->col == 0 && in[0] == '.'))
        return;
    size_t i = 0;
    while (i < lim) {
        unsigned char c = in[i];
        if (!qp_is_safe(c)) {
            if (c != ' ' && c != '\t')
                break;
            if (i + 1 >= n || (text && (in[i + 1] == '\r' || in[i + 1] == '\n')))
                break;
        }
        out[i++] = c;
    }
    s->next_in += i;
    s->avail_in -= i;
    s->next_out += i;
    s->avail_out -= i;
    e->col = (unsigned short)(e->col + i);
}

/* Write what is left of e->pend; nonzero when all of it went out. */
static int qp_flush(mailout_qp *e, mailout_stream *s)
{
    size_t n = MAILOUT_MIN((size_t)(e->npend - e->pendpos), s->avail_out);
    memcpy(s->next_out, e->pend + e->pendpos, n);
    s->next_out += n;
    s->avail_out -= n;
    e->pendpos = (unsigned char)(e->pendpos + n);
    if (e->pendpos < e->npend)
        return 0;
    e->npend = e->pendpos = 0;
    return 1;
}

mailout_status mailout_qp_encode(mailout_qp *e, mailout_stream *s, int end)
{
    for (;;) {
        if (e->npend && !qp_flush(e, s))
            return MAILOUT_OK;
        if (e->state & QP_FINISHED)
            return MAILOUT_DONE;
        if (!e->held && !(e->state & QP_AFTER_CR))
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
