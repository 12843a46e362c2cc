/* see mailout/message.h: the streaming reader.
 *
 * The generator walks the message (fields, blank lines, boundaries,
 * bodies) as an explicit state machine (r->phase, r->part, r->field) and
 * writes the bytes straight into the caller's window: small pieces are
 * made one unit at a time in r->unit and copied out, bodies go from their
 * source through their transfer encoder. Nothing depends on the window
 * sizes, so every sequence of windows sees the same bytes.
 *
 * The DATA form (MAILOUT_READ_SMTP) needs no second pass: a line of the
 * message can start with '.' only in a 7bit/8bit body (whose line filter
 * then doubles it) or in a caller's field name (msg_fields.c); QP writes
 * such a dot as =2E, base64 has none, everything else starts with a
 * letter, a space or "--". The message always ends with CRLF, so the
 * terminator is just ".\r\n" after it. */
#include <stddef.h>
#include <string.h>

#include "message/msg_internal.h"

/* ---- output ------------------------------------------------------------------ */

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

/* A unit that is only borrowed bytes (constants, the part's strings). */
static void unit_ext(msg_reader *r, const char *s, size_t n)
{
    mailout_hunit_ext(&r->unit, s, n);
}

/* Copy as much of r->unit as fits; when all of it is out, empty it. */
static void unit_drain(msg_reader *r, mailout_stream *o)
{
    mailout_hunit *u = &r->unit;
    for (;;) {
        size_t p = r->unit_pos, at = u->at, total = u->len + u->ext_len, n;
        const char *src;
        if (p < at) {
            src = u->buf + p;
            n = at - p;
        } else if (p - at < u->ext_len) {
            src = u->ext + (p - at);
            n = u->ext_len - (p - at);
        } else if (p < total) {
            src = u->buf + (p - u->ext_len);
            n = total - p;
        } else {
            u->len = u->at = 0;
            u->ext_len = 0;
            r->unit_pos = 0;
            return;
        }
        n = MAILOUT_MIN(n, o->avail_out);
        if (n == 0)
            return;
        memcpy(o->next_out, src, n);
        note_written(r, o->next_out, n);
        o->next_out += n;
        o->avail_out -= n;
        r->unit_pos = (unsigned short)(p + n);
    }
}

static int unit_empty(const msg_reader *r)
{
    return r->unit.len == 0 && r->unit.ext_len == 0;
}

#if MAILOUT_ENABLE_MIME
/* "\r\n--" boundary, then "--" or "\r\n". */
static void unit_delimiter(msg_reader *r, const mailout_part *mp, int leading_crlf, int close)
{
    mailout_hunit_add(&r->unit, leading_crlf ? "\r\n--" : "--", leading_crlf ? 4 : 2);
    mailout_hunit_ext(&r->unit, mp->boundary, MSG_BOUNDARY_LEN);
    mailout_hunit_add(&r->unit, close ? "--" : "\r\n", 2);
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
    if (r->src_left == MAILOUT_SIZE_UNKNOWN)
        return MAILOUT_OK;
    if (got > r->src_left)
        return MAILOUT_E_SOURCE;
    r->src_left -= got;
    return eof && r->src_left ? MAILOUT_E_SOURCE : MAILOUT_OK;
}

mailout_status msg_source_read(mailout_msg *m, mailout_part *p, void *fh)
{
    msg_reader *r = &m->r;
    mailout_status st, bad = MAILOUT_E_FILE;
    size_t got = 0;
    if (p->src == SRC_FILE) {
        st = m->env.files->read(m->env.ctx, fh, r->buf.in, sizeof r->buf.in, &got);
    } else {
        p->consumed = 1;
        bad = MAILOUT_E_SOURCE;
        st = p->produce(p->prod_ctx, r->buf.in, sizeof r->buf.in, &got);
    }
    if (st == MAILOUT_AGAIN && got == 0)
        return MAILOUT_AGAIN;
    /* anything else outside the contract is a failed source, never a hang */
    if ((st != MAILOUT_OK && st != MAILOUT_DONE) || got > sizeof r->buf.in || (st == MAILOUT_OK && got == 0))
        return bad;
    r->pos = 0;
    r->in_len = got;
    r->src_eof = st == MAILOUT_DONE;
    mailout_status c = count_source(r, got, r->src_eof);
    return c != MAILOUT_OK ? c : st;
}

/* ---- bodies --------------------------------------------------------------------- */

/* Without QP no part is ever QP (prepare and the setters see to it), so
 * the QP arms fold away. */
static mailout_status encoder_init(msg_reader *r, const mailout_part *p)
{
    /* dot-stuffing of the DATA form: see the top of the file */
    unsigned flags = (r->flags & MAILOUT_READ_SMTP) ? MAILOUT_LINE_STUFF : 0;
    if (p->enc == MAILOUT_ENC_BASE64)
        return mailout_b64_init(&r->enc.b64, 76);
    if (MAILOUT_ENABLE_QP && p->enc == MAILOUT_ENC_QP)
        return mailout_qp_init(&r->enc.qp, msg_part_is_text(p) ? MAILOUT_QP_TEXT : 0);
    if (p->enc != MAILOUT_ENC_8BIT)
        flags |= MAILOUT_LINE_7BIT;
    return mailout_line_init(&r->enc.line, flags | MAILOUT_LINE_NO_NUL | MAILOUT_LINE_MAX998);
}

static mailout_status encoder_run(msg_reader *r, const mailout_part *p, mailout_stream *s, int end)
{
    if (p->enc == MAILOUT_ENC_BASE64)
        return mailout_b64_encode(&r->enc.b64, s, end);
    if (MAILOUT_ENABLE_QP && p->enc == MAILOUT_ENC_QP)
        return mailout_qp_encode(&r->enc.qp, s, end);
    return mailout_line_filter(&r->enc.line, s, end);
}

/* While sizing, a base64 body of known size is not read: its encoded size
 * is counted, and one 'A' stands in for it so that what follows sees the
 * same "not at the start of a line" state. */
static MAILOUT_NOINLINE int size_without_reading(mailout_msg *m, const mailout_part *p)
{
    msg_reader *r = &m->r;
    uint64_t n = p->src == SRC_DATA ? p->data_len : p->src == SRC_NONE ? 0 : r->src_left;
    if (!r->sizing || p->enc != MAILOUT_ENC_BASE64 || n == MAILOUT_SIZE_UNKNOWN)
        return 0;
    /* mailout_b64_encoded_size(n, 76) - 1 for the one line length used
     * here: 57 bytes make a line of 76 characters and its CRLF, the last
     * line has none (n <= MSG_SIZABLE_MAX: no wrap) */
    if (n > 0) {
        uint32_t rest;
        uint64_t lines = mailout_u64_divmod(n, 57, &rest);
        r->skipped += lines * 78 + (rest + 2) / 3 * 4 - (rest ? 1 : 3);
        unit_ext(r, "A", 1);
    }
    close_file(m);
    r->enc_done = 1;
    return 1;
}

static mailout_status body_begin(mailout_msg *m, mailout_part *p)
{
    msg_reader *r = &m->r;
    r->pos = r->in_len = 0;
    r->src_left = MAILOUT_SIZE_UNKNOWN;
    r->src_eof = p->src == SRC_NONE || p->src == SRC_DATA;
    r->enc_done = 0;
#if MAILOUT_ENABLE_MIME
    if (p->strict)
        msg_delim_init(&r->chk.delim, p->parent);
    else
#endif
        r->chk.watch = 0;
    if (p->src == SRC_FILE) {
        if (!m->env.files || m->env.files->open(m->env.ctx, p->path.s, &r->fh, &r->src_left) != MAILOUT_OK)
            return MAILOUT_E_FILE;
        r->fh_open = 1;
    } else if (p->src == SRC_PRODUCER) {
        r->src_left = p->prod_size;
    }
    /* a declared size the count could wrap on (no real source has one) */
    if (r->sizing && r->src_left != MAILOUT_SIZE_UNKNOWN && r->src_left > MSG_SIZABLE_MAX) {
        close_file(m);
        return MAILOUT_E_SIZE_UNKNOWN;
    }
    if (size_without_reading(m, p))
        return MAILOUT_OK;
    return encoder_init(r, p) == MAILOUT_OK ? MAILOUT_OK : MAILOUT_E_INTERNAL;
}

/* 7bit/8bit content is checked again as it is sent: a file may have
 * changed since the scan, and a forced encoding was never scanned. A line
 * that looks like one of our boundaries ("--=_", as mailout_scan's
 * boundary_like), or (auto-chosen only) a control the scan would have
 * sent to base64 (has_ctl), fails the part. r->chk.watch is how much of
 * "--=_" the line starts with, 4 once it cannot (any more). message/...
 * content fails only on a line that starts with a delimiter of an
 * enclosing multipart: prepare chose boundaries that none starts with,
 * unless it could not scan the content. */
static mailout_status watch(msg_reader *r, const mailout_part *p, const unsigned char *in, size_t n)
{
    /* without MIME there are no boundaries, and no scan chose the
     * encoding: the line filter's own checks are all there is */
    if (!MAILOUT_ENABLE_MIME || (p->enc != MAILOUT_ENC_7BIT && p->enc != MAILOUT_ENC_8BIT))
        return MAILOUT_OK;
#if MAILOUT_ENABLE_MIME
    if (p->strict) {
        msg_delim_update(&r->chk.delim, in, n);
        return r->chk.delim.hit ? MAILOUT_E_INVAL : MAILOUT_OK;
    }
#endif
    int scanned = p->forced == MAILOUT_ENC_AUTO;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = in[i];
        if (c == '\r' || c == '\n') {
            r->chk.watch = 0;
            continue;
        }
        if (scanned && ((c < 0x20 && c != '\t' && c != 0) || c == 0x7F))
            return MAILOUT_E_SOURCE;
        if (r->chk.watch >= 4)
            continue;
        if (c != (unsigned char)"--=_"[r->chk.watch]) {
            r->chk.watch = 4;
        } else if (++r->chk.watch == 4) {
            if (scanned)
                return MAILOUT_E_SOURCE;
            if (msg_part_parent(p))
                return MAILOUT_E_INVAL;
        }
    }
    return MAILOUT_OK;
}

/* Errors of an encoder whose choice came from a scan mean the source
 * changed under us; a forced or message/... encoding was not vouched for
 * by a scan, so its errors are the content's own. */
static mailout_status encoder_error(const mailout_part *p, mailout_status st)
{
    return p->forced == MAILOUT_ENC_AUTO && !msg_part_strict(p) ? MAILOUT_E_SOURCE : st;
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
            in = p->data + r->pos;
            avail = p->data_len - r->pos;
        } else {
            if (r->pos == r->in_len && !r->src_eof) {
                mailout_status st = msg_source_read(m, p, r->fh);
                if (st != MAILOUT_OK && st != MAILOUT_DONE)
                    return st;
                continue;
            }
            in = r->buf.in + r->pos;
            avail = r->in_len - r->pos;
        }
        /* the caller's stream carries the input too: no second one on the stack */
        unsigned char *out = o->next_out;
        o->next_in = in;
        o->avail_in = avail;
        mailout_status st = encoder_run(r, p, o, r->src_eof);
        size_t used = avail - o->avail_in;
        note_written(r, out, (size_t)(o->next_out - out));
        r->pos += used;
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
    mailout_part *p = r->part, *parent = msg_part_parent(p);
    if (!parent) { /* the body (without MIME the only part) */
        r->phase = PH_FINAL;
        return;
    }
#if MAILOUT_ENABLE_MIME
    if (p->next) {
        unit_delimiter(r, parent, 1, 0);
        enter_part(r, p->next);
        return;
    }
    unit_delimiter(r, parent, 1, 1);
    r->part = parent; /* stays in PH_NEXT */
#endif
}

/* The message ends with CRLF. Only a single-part body can end without one:
 * QP gets a soft line break (the content stays the same), the others a
 * line break. The DATA form then ends with ".\r\n". */
static void final_crlf(mailout_msg *m)
{
    static const char tail[] = "=\r\n.\r\n";
    msg_reader *r = &m->r;
    size_t from = 3; /* ends in CRLF: only the terminator */
    r->phase = PH_END;
    if (r->last[0] != '\r' || r->last[1] != '\n')
        from = MAILOUT_ENABLE_QP && r->part && !msg_part_multi(r->part) && r->part->enc == MAILOUT_ENC_QP ? 0 : 1;
    unit_ext(r, tail + from, 6 - from - ((r->flags & MAILOUT_READ_SMTP) ? 0 : 3));
}

/* What an absent body is: an empty text/plain part, written like any
 * other (no source, no type: text/plain, utf-8, 7bit). Never written to:
 * prepare does not see it (it is not in the tree), and a part without a
 * source is only read. */
static const mailout_part empty_body;

static mailout_status gen_step(mailout_msg *m, mailout_stream *o)
{
    msg_reader *r = &m->r;
    switch (r->phase) {
    case PH_MSG_FIELDS:
        if (msg_fields_next(m, 1, &r->unit))
            return MAILOUT_OK;
        enter_part(r, m->body ? m->body : (mailout_part *)&empty_body);
        return MAILOUT_OK;
    case PH_PART_FIELDS:
        if (!msg_fields_next(m, 0, &r->unit)) { /* the empty line ending the header */
            unit_ext(r, "\r\n", 2);
            r->phase = msg_part_multi(r->part) ? PH_FIRST_CHILD : PH_BODY_START;
        }
        return MAILOUT_OK;
    case PH_BODY_START:
        r->phase = PH_BODY;
        return body_begin(m, r->part);
#if MAILOUT_ENABLE_MIME
    case PH_FIRST_CHILD:
        unit_delimiter(r, r->part, 0, 0);
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

/* Message bytes into o: OK (o is full), AGAIN, DONE or an error. */
static mailout_status gen_run(mailout_msg *m, mailout_stream *o)
{
    msg_reader *r = &m->r;
    for (;;) {
        unit_drain(r, o);
        if (unit_empty(r) && r->phase == PH_END)
            return MAILOUT_DONE;
        if (o->avail_out == 0)
            return MAILOUT_OK;
        mailout_status st = gen_step(m, o);
        if (st != MAILOUT_OK)
            return st;
    }
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
    /* all but the buffer from zero: PH_MSG_FIELDS, no part, an empty
     * unit, the first field, nothing skipped, no error, no file open
     * (closed above; prepare's scans left the body state dirty) */
    memset(r, 0, offsetof(msg_reader, buf));
    r->flags = (unsigned char)flags;
    r->sizing = (unsigned char)sizing;
    r->unit.buf = r->buf.unit;
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
        return (mailout_status)r->error;
    if (!r->active)
        return MAILOUT_E_STATE;
    mailout_stream o = {NULL, 0, buf, cap};
    mailout_status st = gen_run(m, &o);
    *out_len = cap - o.avail_out;
    if (st < 0) {
        r->error = (signed char)st;
        close_file(m);
    } else if (st == MAILOUT_DONE) {
        close_file(m); /* and DONE again from now on: PH_END, nothing left */
    }
    return st;
}
