/* see mailout/message.h: the streaming reader.
 *
 * Two stages. The generator walks the message (fields, blank lines,
 * boundaries, bodies) as an explicit state machine (r->phase, r->part,
 * r->field) and writes raw message bytes; small pieces are made one unit at
 * a time in r->pend and copied out, bodies go from their source through
 * their transfer encoder straight into the output. With MAILOUT_READ_SMTP
 * the generator writes into r->stage instead, and the SMTP line filter
 * (dot-stuffing and the terminator) runs from there into the caller's
 * window. Nothing depends on the window sizes, so every sequence of windows
 * sees the same bytes. */
#include <string.h>

#include "message/msg_internal.h"
#include "encode/line_internal.h"

/* ---- output helpers ---------------------------------------------------------- */

/* Remember the last two bytes written (to know if the message ends in CRLF). */
static void note_written(msg_reader *r, const unsigned char *p, size_t n)
{
    if (n >= 2) {
        r->last[0] = p[n - 2];
        r->last[1] = p[n - 1];
    } else if (n == 1) {
        r->last[0] = r->last[1];
        r->last[1] = p[0];
    }
}

static void pend_set(msg_reader *r, const char *s, size_t n)
{
    memcpy(r->pend, s, n);
    r->pend_len = n;
    r->pend_pos = 0;
}

/* Copy as much of r->pend as fits. */
static void pend_drain(msg_reader *r, mailout_stream *o)
{
    size_t n = MAILOUT_MIN(r->pend_len - r->pend_pos, o->avail_out);
    memcpy(o->next_out, r->pend + r->pend_pos, n);
    note_written(r, o->next_out, n);
    o->next_out += n;
    o->avail_out -= n;
    r->pend_pos += n;
    if (r->pend_pos == r->pend_len)
        r->pend_pos = r->pend_len = 0;
}

#if MAILOUT_ENABLE_MIME
/* "\r\n--" boundary [ "--" ] [ "\r\n" ] into r->pend. */
static void pend_delimiter(msg_reader *r, const mailout_part *mp, int leading_crlf, int close)
{
    char buf[MSG_BOUNDARY_LEN + 8];
    size_t n = 0;
    if (leading_crlf) {
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    buf[n++] = '-';
    buf[n++] = '-';
    memcpy(buf + n, mp->boundary, MSG_BOUNDARY_LEN);
    n += MSG_BOUNDARY_LEN;
    if (close) {
        buf[n++] = '-';
        buf[n++] = '-';
    } else {
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    pend_set(r, buf, n);
}
#endif

/* ---- sources ------------------------------------------------------------------ */

static void close_file(mailout_msg *m)
{
    msg_reader *r = &m->r;
    if (r->fh_open && m->env.files && m->env.files->close)
        m->env.files->close(m->env.ctx, r->fh);
    r->fh_open = 0;
    r->fh = NULL;
}

void msg_reader_close(mailout_msg *m)
{
    close_file(m);
    m->r.active = 0;
}

/* Count bytes taken from a file or producer against the declared size. */
static mailout_status count_source(msg_reader *r, size_t got, int eof)
{
    r->src_read += got;
    if (r->src_size != MAILOUT_SIZE_UNKNOWN &&
        (r->src_read > r->src_size || (eof && r->src_read != r->src_size)))
        return MAILOUT_E_SOURCE;
    return MAILOUT_OK;
}

/* How much to ask a source for: for base64 whole lines of input (57
 * bytes) when inbuf holds one, so that the encoder never carries a partial
 * group or line from one refill to the next and stays on its fast path
 * (with the bypass: hosts, see encode/line_internal.h). */
static size_t source_want(const msg_reader *r)
{
#if MAILOUT_SMTP_BYPASS
    if (r->part && r->part->enc == MAILOUT_ENC_BASE64 && sizeof r->inbuf >= 57)
        return sizeof r->inbuf / 57 * 57;
#endif
    return sizeof r->inbuf;
}

static mailout_status fill_from_file(mailout_msg *m)
{
    msg_reader *r = &m->r;
    size_t got = 0, want = source_want(r);
    mailout_status st = m->env.files->read(m->env.ctx, r->fh, r->inbuf, want, &got);
    if (st == MAILOUT_AGAIN && got == 0)
        return MAILOUT_AGAIN;
    if ((st != MAILOUT_OK && st != MAILOUT_DONE) || got > want || (st == MAILOUT_OK && got == 0))
        return MAILOUT_E_FILE;
    r->in_pos = 0;
    r->in_len = got;
    r->src_eof = st == MAILOUT_DONE;
    return count_source(r, got, r->src_eof);
}

static mailout_status fill_from_producer(mailout_msg *m, mailout_part *p)
{
    msg_reader *r = &m->r;
    size_t got = 0, want = source_want(r);
    p->consumed = 1;
    mailout_status st = p->produce(p->prod_ctx, r->inbuf, want, &got);
    if (st == MAILOUT_AGAIN && got == 0)
        return MAILOUT_AGAIN;
    /* anything else outside the contract is a failed source, never a hang */
    if ((st != MAILOUT_OK && st != MAILOUT_DONE) || got > want || (st == MAILOUT_OK && got == 0))
        return MAILOUT_E_SOURCE;
    r->in_pos = 0;
    r->in_len = got;
    r->src_eof = st == MAILOUT_DONE;
    return count_source(r, got, r->src_eof);
}

/* ---- bodies --------------------------------------------------------------------- */

static mailout_status encoder_init(msg_reader *r, const mailout_part *p)
{
    switch (p->enc) {
    case MAILOUT_ENC_BASE64:
        return mailout_b64_init(&r->enc.b64, 76);
    case MAILOUT_ENC_QP:
        return mailout_qp_init(&r->enc.qp, msg_part_is_text(p) ? MAILOUT_QP_TEXT : 0);
    case MAILOUT_ENC_8BIT:
        return mailout_line_init(&r->enc.line, MAILOUT_LINE_NO_NUL | MAILOUT_LINE_MAX998);
    default:
        return mailout_line_init(&r->enc.line, MAILOUT_LINE_7BIT | MAILOUT_LINE_NO_NUL | MAILOUT_LINE_MAX998);
    }
}

static mailout_status encoder_run(msg_reader *r, const mailout_part *p, mailout_stream *s, int end)
{
    switch (p->enc) {
    case MAILOUT_ENC_BASE64:
        return mailout_b64_encode(&r->enc.b64, s, end);
    case MAILOUT_ENC_QP:
        return mailout_qp_encode(&r->enc.qp, s, end);
    default:
        return mailout_line_filter(&r->enc.line, s, end);
    }
}

/* While sizing, a base64 body of known size is not read: its encoded size
 * is counted, and one 'A' stands in for it so that what follows sees the
 * same "not at the start of a line" state. */
static int size_without_reading(mailout_msg *m, const mailout_part *p)
{
    msg_reader *r = &m->r;
    uint64_t n = p->src == SRC_DATA ? p->data_len : p->src == SRC_NONE ? 0 : r->src_size;
    if (!r->sizing || p->enc != MAILOUT_ENC_BASE64 || n == MAILOUT_SIZE_UNKNOWN)
        return 0;
    uint64_t enc = mailout_b64_encoded_size(n, 76);
    if (enc > 0) {
        r->skipped += enc - 1;
        pend_set(r, "A", 1);
    }
    close_file(m);
    r->enc_done = 1;
    return 1;
}

static mailout_status body_begin(mailout_msg *m, mailout_part *p)
{
    msg_reader *r = &m->r;
    r->data_pos = r->in_pos = r->in_len = 0;
    r->src_read = 0;
    r->src_size = MAILOUT_SIZE_UNKNOWN;
    r->src_eof = p->src == SRC_NONE || p->src == SRC_DATA;
    r->enc_done = 0;
#if MAILOUT_ENABLE_MIME
    if (p->strict)
        msg_delim_init(&r->delim, p->parent);
    else
        mailout_scan_init(&r->watch);
#endif
    if (p->src == SRC_FILE) {
        if (!m->env.files || m->env.files->open(m->env.ctx, p->path.s, &r->fh, &r->src_size) != MAILOUT_OK)
            return MAILOUT_E_FILE;
        r->fh_open = 1;
    } else if (p->src == SRC_PRODUCER) {
        r->src_size = p->prod_size;
    }
    if (size_without_reading(m, p))
        return MAILOUT_OK;
    return encoder_init(r, p) == MAILOUT_OK ? MAILOUT_OK : MAILOUT_E_INTERNAL;
}

/* 7bit/8bit content is checked again as it is sent: a file may have
 * changed since the scan, and a forced encoding was never scanned. A line
 * that looks like one of our boundaries, or (auto-chosen only) a control
 * the scan would have sent to base64, fails the part. message/... content
 * fails only on a line that starts with a delimiter of an enclosing
 * multipart: prepare chose boundaries that none starts with, unless it
 * could not scan the content. */
static mailout_status watch(msg_reader *r, const mailout_part *p, const unsigned char *in, size_t n)
{
    /* without MIME there are no boundaries, and no scan chose the
     * encoding: the line filter's own checks are all there is */
    if (!MAILOUT_ENABLE_MIME || (p->enc != MAILOUT_ENC_7BIT && p->enc != MAILOUT_ENC_8BIT))
        return MAILOUT_OK;
#if MAILOUT_ENABLE_MIME
    if (p->strict) {
        msg_delim_update(&r->delim, in, n);
        return r->delim.hit ? MAILOUT_E_INVAL : MAILOUT_OK;
    }
#endif
    mailout_scan_update(&r->watch, in, n);
    int scanned = p->forced == MAILOUT_ENC_AUTO;
    if (scanned && (r->watch.boundary_like || r->watch.has_ctl))
        return MAILOUT_E_SOURCE;
    if (!scanned && p->parent && r->watch.boundary_like)
        return MAILOUT_E_INVAL;
    return MAILOUT_OK;
}

/* Errors of an encoder whose choice came from a scan mean the source
 * changed under us; a forced or message/... encoding was not vouched for
 * by a scan, so its errors are the content's own. */
static mailout_status encoder_error(const mailout_part *p, mailout_status st)
{
    return p->forced == MAILOUT_ENC_AUTO && !p->strict ? MAILOUT_E_SOURCE : st;
}

static mailout_status next_input(mailout_msg *m, mailout_part *p)
{
    if (p->src == SRC_FILE)
        return fill_from_file(m);
    if (p->src == SRC_PRODUCER)
        return fill_from_producer(m, p);
    return MAILOUT_OK;
}

/* Move body bytes until the output is full, the source must wait, or the
 * body is complete (r->enc_done). */
static mailout_status body_run(mailout_msg *m, mailout_part *p, mailout_stream *o)
{
    msg_reader *r = &m->r;
    while (!r->enc_done && o->avail_out > 0) {
        const unsigned char *in;
        size_t avail;
        if (p->src == SRC_DATA) {
            in = p->data + r->data_pos;
            avail = p->data_len - r->data_pos;
        } else {
            if (r->in_pos == r->in_len && !r->src_eof) {
                mailout_status st = next_input(m, p);
                if (st != MAILOUT_OK)
                    return st;
                continue;
            }
            in = r->inbuf + r->in_pos;
            avail = r->in_len - r->in_pos;
        }
        mailout_stream s = {in, avail, o->next_out, o->avail_out};
        mailout_status st = encoder_run(r, p, &s, r->src_eof);
        size_t used = (size_t)(s.next_in - in), wrote = o->avail_out - s.avail_out;
        note_written(r, o->next_out, wrote);
        o->next_out = s.next_out;
        o->avail_out = s.avail_out;
        if (p->src == SRC_DATA)
            r->data_pos += used;
        else
            r->in_pos += used;
        mailout_status w = watch(r, p, in, used);
        if (w != MAILOUT_OK)
            return w;
        if (st < 0)
            return encoder_error(p, st);
        if (st == MAILOUT_DONE) {
            r->enc_done = 1;
            close_file(m);
        }
    }
    return MAILOUT_OK;
}

/* ---- the generator ------------------------------------------------------------------ */

static void enter_part(msg_reader *r, mailout_part *p)
{
    r->part = p;
    r->phase = PH_PART_FIELDS;
    msg_fields_reset(&r->field);
}

/* Leave r->part: open the next sibling, or close the parent multipart. */
static void leave_part(mailout_msg *m)
{
    msg_reader *r = &m->r;
    mailout_part *p = r->part, *parent = p->parent;
    if (!MAILOUT_ENABLE_MIME || !parent) { /* without MIME the body is the only part */
        r->phase = PH_FINAL;
        return;
    }
#if MAILOUT_ENABLE_MIME
    if (p->next) {
        pend_delimiter(r, parent, 1, 0);
        enter_part(r, p->next);
        return;
    }
    pend_delimiter(r, parent, 1, 1);
    r->part = parent; /* stays in PH_NEXT */
#endif
}

/* The message ends with CRLF. Only a single-part body can end without one:
 * QP gets a soft line break (the content stays the same), the others a
 * line break. */
static void final_crlf(mailout_msg *m)
{
    msg_reader *r = &m->r;
    r->phase = PH_END;
    if (r->last[0] == '\r' && r->last[1] == '\n')
        return;
    if (r->part && !r->part->multipart && r->part->enc == MAILOUT_ENC_QP)
        pend_set(r, "=\r\n", 3);
    else
        pend_set(r, "\r\n", 2);
}

static mailout_status gen_step(mailout_msg *m, mailout_stream *o)
{
    msg_reader *r = &m->r;
    size_t n;
    switch (r->phase) {
    case PH_MSG_FIELDS:
        if ((n = msg_fields_next(m, 1, r->pend)) != 0)
            r->pend_len = n;
        else
            enter_part(r, m->body ? m->body : &m->empty);
        return MAILOUT_OK;
    case PH_PART_FIELDS:
        if ((n = msg_fields_next(m, 0, r->pend)) != 0)
            r->pend_len = n;
        else
            r->phase = PH_BLANK;
        return MAILOUT_OK;
    case PH_BLANK:
        pend_set(r, "\r\n", 2);
        r->phase = r->part->multipart ? PH_FIRST_CHILD : PH_BODY_START;
        return MAILOUT_OK;
    case PH_BODY_START:
        r->phase = PH_BODY;
        return body_begin(m, r->part);
#if MAILOUT_ENABLE_MIME
    case PH_FIRST_CHILD:
        pend_delimiter(r, r->part, 0, 0);
        enter_part(r, r->part->first_child);
        return MAILOUT_OK;
#endif
    case PH_BODY: {
        mailout_status st = body_run(m, r->part, o);
        if (st == MAILOUT_OK && r->enc_done)
            r->phase = PH_NEXT;
        return st;
    }
    case PH_NEXT:
        leave_part(m);
        return MAILOUT_OK;
    case PH_FINAL:
        final_crlf(m);
        return MAILOUT_OK;
    default:
        return MAILOUT_E_INTERNAL;
    }
}

/* Raw message bytes into o: OK (o is full), AGAIN, DONE or an error. */
static mailout_status gen_run(mailout_msg *m, mailout_stream *o)
{
    msg_reader *r = &m->r;
    for (;;) {
        if (r->pend_pos < r->pend_len)
            pend_drain(r, o);
        if (r->pend_pos == r->pend_len && r->phase == PH_END)
            return MAILOUT_DONE;
        if (o->avail_out == 0)
            return MAILOUT_OK;
        mailout_status st = gen_step(m, o);
        if (st != MAILOUT_OK)
            return st;
    }
}

#if MAILOUT_SMTP_BYPASS
/* A base64 body, between its first and last byte, with the filter idle:
 * its CRLF lines of 76 characters need no stuffing, so they may go
 * straight into the caller's window (see encode/line_internal.h). */
static int body_bypasses_filter(const msg_reader *r)
{
    return r->phase == PH_BODY && !r->enc_done && !r->sizing && r->part->enc == MAILOUT_ENC_BASE64 &&
           r->pend_pos == r->pend_len && mailout_line_can_pass(&r->smtp);
}

/* Body bytes straight into o, the filter told what went by. */
static mailout_status body_direct(mailout_msg *m, mailout_stream *o)
{
    msg_reader *r = &m->r;
    unsigned char *start = o->next_out;
    mailout_status st = body_run(m, r->part, o);
    mailout_line_passed(&r->smtp, start, (size_t)(o->next_out - start));
    if (st == MAILOUT_OK && r->enc_done)
        r->phase = PH_NEXT;
    return st;
}
#endif

/* The DATA stream: the generator's bytes through the dot-stuffing filter.
 * The filter runs first on every round, even with no new input, so bytes
 * it holds back go out before the generator is asked (and may wait). */
static mailout_status smtp_run(mailout_msg *m, mailout_stream *o)
{
    msg_reader *r = &m->r;
    while (o->avail_out > 0) {
        mailout_stream s = {r->stage + r->stage_pos, r->stage_len - r->stage_pos, o->next_out, o->avail_out};
        mailout_status st = mailout_line_filter(&r->smtp, &s, r->gen_done);
        r->stage_pos = r->stage_len - s.avail_in;
        o->next_out = s.next_out;
        o->avail_out = s.avail_out;
        if (st != MAILOUT_OK || o->avail_out == 0)
            return st;
        if (r->stage_pos < r->stage_len)
            continue;
        if (r->gen_done)
            return MAILOUT_E_INTERNAL; /* the filter must have finished */
#if MAILOUT_SMTP_BYPASS
        if (body_bypasses_filter(r)) {
            mailout_status st2 = body_direct(m, o);
            if (st2 != MAILOUT_OK)
                return st2;
            continue;
        }
#endif
        mailout_stream g = {NULL, 0, r->stage, sizeof r->stage};
        st = gen_run(m, &g);
        r->stage_pos = 0;
        r->stage_len = sizeof r->stage - g.avail_out;
        if (st == MAILOUT_DONE)
            r->gen_done = 1;
        else if (st < 0 || (st == MAILOUT_AGAIN && r->stage_len == 0))
            return st;
    }
    return MAILOUT_OK;
}

mailout_status msg_reader_begin(mailout_msg *m, unsigned flags, int sizing)
{
    msg_reader *r = &m->r;
    if (flags & ~(MAILOUT_READ_SMTP | MAILOUT_READ_8BIT))
        return MAILOUT_E_INVAL;
    msg_reader_close(m);
    r->error = MAILOUT_OK;
    mailout_status st = msg_prepare(m, flags);
    if (st != MAILOUT_OK)
        return st;
    r->flags = flags;
    r->sizing = (unsigned char)sizing;
    r->skipped = 0;
    r->phase = PH_MSG_FIELDS;
    r->part = NULL;
    msg_fields_reset(&r->field);
    r->pend_len = r->pend_pos = 0;
    r->last[0] = r->last[1] = 0;
    r->gen_done = 0;
    r->finished = 0;
    r->stage_pos = r->stage_len = 0;
    if (mailout_line_init(&r->smtp, MAILOUT_LINE_STUFF | MAILOUT_LINE_TERMINATE) != MAILOUT_OK)
        return MAILOUT_E_INTERNAL;
    r->active = 1;
    return MAILOUT_OK;
}

mailout_status mailout_msg_read(mailout_msg *m, unsigned char *buf, size_t cap, size_t *out_len)
{
    if (out_len)
        *out_len = 0;
    if (!m || !buf || cap == 0 || !out_len)
        return MAILOUT_E_INVAL;
    msg_reader *r = &m->r;
    if (r->error != MAILOUT_OK)
        return r->error;
    if (!r->active)
        return MAILOUT_E_STATE;
    if (r->finished)
        return MAILOUT_DONE;
    mailout_stream o = {NULL, 0, buf, cap};
    mailout_status st = (r->flags & MAILOUT_READ_SMTP) ? smtp_run(m, &o) : gen_run(m, &o);
    *out_len = cap - o.avail_out;
    if (st < 0) {
        r->error = st;
        close_file(m);
    } else if (st == MAILOUT_DONE) {
        r->finished = 1;
        close_file(m);
    }
    return st;
}
