/* Header fields of the message and of its parts, produced one unit at a
 * time (at most MAILOUT_HDR_UNIT_MAX bytes) so the reader can stop after
 * any byte: the position is r->field (which field, which step inside it,
 * which mailbox, how far into a text or parameter). */
#include <string.h>

#include "message/msg_internal.h"

#define STEP_END 0xFFFEu  /* next: the CRLF ending the field */
#define STEP_GONE 0xFFFFu /* the field is complete */

typedef size_t (*field_fn)(mailout_msg *m, msg_field *fs, char *out);

static size_t field_name(msg_field *fs, char *out, const char *name, size_t n)
{
    memcpy(out, name, n);
    out[n] = ':';
    fs->fold.col = (unsigned)n + 1;
    fs->step = 1;
    return n + 1;
}

static size_t field_end(msg_field *fs, char *out)
{
    out[0] = '\r';
    out[1] = '\n';
    fs->step = STEP_GONE;
    return 2;
}

/* A field whose value is one short unit, written in one go. */
static size_t whole_field(msg_field *fs, char *out, const char *name, const char *value, size_t vlen)
{
    if (fs->step == STEP_GONE)
        return 0;
    size_t n = field_name(fs, out, name, strlen(name));
    n += mailout_hfold_put(&fs->fold, out + n, value, vlen, MAILOUT_HFWS_SPACE);
    return n + field_end(fs, out + n);
}

/* A field of free text (Subject, caller fields). */
static size_t text_field(msg_field *fs, char *out, const char *name, size_t nlen, const msg_str *value,
                         unsigned flags)
{
    if (fs->step == 0) {
        size_t n = field_name(fs, out, name, nlen);
        mailout_htext_init(&fs->text, value->s, value->len, flags, fs->fold.col);
        return n;
    }
    if (fs->step == STEP_GONE)
        return 0;
    size_t n = mailout_htext_next(&fs->text, &fs->fold, out);
    return n ? n : field_end(fs, out);
}

/* ---- mailboxes ---------------------------------------------------------------- */

/* Units of one mailbox: the display name, then the address (with a comma
 * glued on when another mailbox follows). 0 when done. */
static size_t mailbox_next(msg_field *fs, const msg_str *addr, const msg_str *name, int comma, char *out)
{
    char *tok = out + MAILOUT_HDR_TOK_AT; /* built in place: see header.h */
    size_t n = 0;
    if (fs->sub == 0) {
        fs->sub = 2;
        if (name->s) {
            mailout_htext_init(&fs->text, name->s, name->len, MAILOUT_HTEXT_PHRASE, fs->fold.col);
            fs->sub = 1;
        }
    }
    if (fs->sub == 1) {
        size_t u = mailout_htext_next(&fs->text, &fs->fold, out);
        if (u)
            return u;
        fs->sub = 2;
    }
    if (fs->sub != 2)
        return 0;
    if (name->s)
        tok[n++] = '<';
    memcpy(tok + n, addr->s, addr->len);
    n += addr->len;
    if (name->s)
        tok[n++] = '>';
    if (comma)
        tok[n++] = ',';
    fs->sub = 3;
    return mailout_hfold_put(&fs->fold, out, tok, n, MAILOUT_HFWS_SPACE);
}

static size_t single_mailbox(msg_field *fs, char *out, const char *fname, const msg_str *addr, const msg_str *name)
{
    if (!addr->s || fs->step == STEP_GONE)
        return 0;
    if (fs->step == 0)
        return field_name(fs, out, fname, strlen(fname));
    size_t n = mailbox_next(fs, addr, name, 0, out);
    return n ? n : field_end(fs, out);
}

static const msg_rcpt *next_of_kind(const msg_rcpt *r, mailout_rcpt_kind kind)
{
    while (r && r->kind != kind)
        r = r->next;
    return r;
}

/* To or Cc: every recipient of that kind, comma-separated. Bcc has no
 * field at all, so Bcc addresses never reach the content. */
static size_t rcpt_field(mailout_msg *m, msg_field *fs, char *out, const char *fname, mailout_rcpt_kind kind)
{
    if (fs->step == STEP_GONE)
        return 0;
    if (fs->step == 0) {
        fs->rcpt = next_of_kind(m->rcpt_first, kind);
        if (!fs->rcpt)
            return 0;
        return field_name(fs, out, fname, strlen(fname));
    }
    while (fs->rcpt) {
        const msg_rcpt *next = next_of_kind(fs->rcpt->next, kind);
        size_t n = mailbox_next(fs, &fs->rcpt->addr, &fs->rcpt->name, next != NULL, out);
        if (n)
            return n;
        fs->rcpt = next;
        fs->sub = 0;
    }
    return field_end(fs, out);
}

static size_t hdr_list_fields(msg_field *fs, const msg_hdr_list *list, char *out)
{
    if (!fs->hdr) {
        if (fs->sub)
            return 0;
        fs->hdr = list->first;
        fs->sub = 1;
    }
    while (fs->hdr) {
        size_t n = text_field(fs, out, fs->hdr->name.s, fs->hdr->name.len, &fs->hdr->value, MAILOUT_HTEXT_LONG_WORDS);
        if (n)
            return n;
        fs->hdr = fs->hdr->next;
        fs->step = 0;
    }
    return 0;
}

/* ---- message fields --------------------------------------------------------------- */

static size_t f_date(mailout_msg *m, msg_field *fs, char *out)
{
    char date[40];
    size_t n = msg_format_date(m->date, m->date_offset, date);
    return whole_field(fs, out, "Date", date, n);
}

static size_t f_from(mailout_msg *m, msg_field *fs, char *out)
{
    return single_mailbox(fs, out, "From", &m->from_addr, &m->from_name);
}

static size_t f_reply_to(mailout_msg *m, msg_field *fs, char *out)
{
    return single_mailbox(fs, out, "Reply-To", &m->reply_addr, &m->reply_name);
}

static size_t f_to(mailout_msg *m, msg_field *fs, char *out)
{
    return rcpt_field(m, fs, out, "To", MAILOUT_TO);
}

static size_t f_cc(mailout_msg *m, msg_field *fs, char *out)
{
    return rcpt_field(m, fs, out, "Cc", MAILOUT_CC);
}

static size_t f_subject(mailout_msg *m, msg_field *fs, char *out)
{
    return m->subject_set ? text_field(fs, out, "Subject", 7, &m->subject, 0) : 0;
}

static size_t f_message_id(mailout_msg *m, msg_field *fs, char *out)
{
    /* built in place behind "Message-ID:" and the fold room (header.h) */
    char *id = out + 11 + MAILOUT_HDR_TOK_AT;
    if (m->msg_id.s)
        return whole_field(fs, out, "Message-ID", m->msg_id.s, m->msg_id.len);
    size_t dlen, n = 0;
    const char *domain = msg_addr_domain(m->from_addr.s, m->from_addr.len, &dlen);
    if (!msg_is_ascii(domain, dlen)) {
        /* the ID must be ASCII even when the sender's domain is not */
        domain = "mailout.invalid";
        dlen = strlen(domain);
    }
    id[n++] = '<';
    memcpy(id + n, m->gen_id, MSG_ID_RANDOM);
    n += MSG_ID_RANDOM;
    id[n++] = '@';
    memcpy(id + n, domain, dlen);
    n += dlen;
    id[n++] = '>';
    return whole_field(fs, out, "Message-ID", id, n);
}

static size_t f_custom(mailout_msg *m, msg_field *fs, char *out)
{
    return hdr_list_fields(fs, &m->headers, out);
}

static size_t f_mime_version(mailout_msg *m, msg_field *fs, char *out)
{
    (void)m;
    return whole_field(fs, out, "MIME-Version", "1.0", 3);
}

/* ---- part fields -------------------------------------------------------------------- */

static size_t f_content_type(mailout_msg *m, msg_field *fs, char *out)
{
    static const char *const kinds[] = {"multipart/mixed", "multipart/alternative", "multipart/related"};
    const mailout_part *p = m->r.part;
    char *param = out + 1 + MAILOUT_HDR_TOK_AT; /* after the ';' (header.h) */
    size_t n = 0;
    if (fs->step == 0)
        return field_name(fs, out, "Content-Type", 12);
    if (fs->step == 1) {
        fs->step = 2;
        if (MAILOUT_ENABLE_MIME && p->multipart)
            return mailout_hfold_put(&fs->fold, out, kinds[p->mp_kind], strlen(kinds[p->mp_kind]), MAILOUT_HFWS_SPACE);
        const char *type = p->type.s ? p->type.s : "text/plain";
        return mailout_hfold_put(&fs->fold, out, type, strlen(type), MAILOUT_HFWS_SPACE);
    }
    if (fs->step == 2) {
        fs->step = STEP_END;
        if (MAILOUT_ENABLE_MIME && p->multipart) {
            /* quoted: '=' is a tspecial */
            memcpy(param, "boundary=\"", 10);
            memcpy(param + 10, p->boundary, MSG_BOUNDARY_LEN);
            n = 10 + MSG_BOUNDARY_LEN;
            param[n++] = '"';
        } else if (msg_part_is_text(p)) {
            const char *cs = p->charset.s ? p->charset.s : "utf-8";
            memcpy(param, "charset=", 8);
            memcpy(param + 8, cs, strlen(cs));
            n = 8 + strlen(cs);
        }
        if (n) {
            size_t o = mailout_hfold_put(&fs->fold, out, ";", 1, MAILOUT_HFWS_NONE);
            return o + mailout_hfold_put(&fs->fold, out + o, param, n, MAILOUT_HFWS_SPACE);
        }
    }
    return fs->step == STEP_END ? field_end(fs, out) : 0;
}

static size_t f_cte(mailout_msg *m, msg_field *fs, char *out)
{
    static const char *const names[] = {"7bit", "7bit", "8bit", "quoted-printable", "base64"};
    const mailout_part *p = m->r.part;
    if (p->multipart)
        return 0;
    return whole_field(fs, out, "Content-Transfer-Encoding", names[p->enc], strlen(names[p->enc]));
}

#if MAILOUT_ENABLE_MIME
/* Written when a disposition or a file name is set; a file name without a
 * disposition makes an attachment (what a named file almost always is). */
static size_t f_disposition(mailout_msg *m, msg_field *fs, char *out)
{
    const mailout_part *p = m->r.part;
    if (p->multipart || (p->disposition == MAILOUT_DISPOSITION_NONE && !p->filename.s) || fs->step == STEP_GONE)
        return 0;
    if (fs->step == 0)
        return field_name(fs, out, "Content-Disposition", 19);
    if (fs->step == 1) {
        const char *d = p->disposition == MAILOUT_INLINE ? "inline" : "attachment";
        fs->step = STEP_END;
        if (p->filename.s) {
            mailout_hparam_init(&fs->param, "filename", p->filename.s, p->filename.len);
            fs->step = 2;
        }
        return mailout_hfold_put(&fs->fold, out, d, strlen(d), MAILOUT_HFWS_SPACE);
    }
    if (fs->step == 2) {
        size_t n = mailout_hparam_next(&fs->param, &fs->fold, out);
        if (n)
            return n;
    }
    return field_end(fs, out);
}

#endif

static size_t f_content_id(mailout_msg *m, msg_field *fs, char *out)
{
    const mailout_part *p = m->r.part;
    return p->cid.s ? whole_field(fs, out, "Content-ID", p->cid.s, p->cid.len) : 0;
}

static size_t f_part_custom(mailout_msg *m, msg_field *fs, char *out)
{
    return hdr_list_fields(fs, &m->r.part->headers, out);
}

static const field_fn message_fields[] = {f_date,    f_from,       f_reply_to, f_to,          f_cc,
                                          f_subject, f_message_id, f_custom,   f_mime_version};
static const field_fn part_fields[] = {f_content_type, f_cte,
#if MAILOUT_ENABLE_MIME
                                       f_disposition,
#endif
                                       f_content_id, f_part_custom};

void msg_fields_reset(msg_field *f)
{
    memset(f, 0, sizeof *f);
}

size_t msg_fields_next(mailout_msg *m, int message, unsigned char *out)
{
    msg_field *fs = &m->r.field;
    const field_fn *table = message ? message_fields : part_fields;
    size_t count = message ? MAILOUT_ARRAY_LEN(message_fields) : MAILOUT_ARRAY_LEN(part_fields);
    while (fs->index < count) {
        size_t n = table[fs->index](m, fs, (char *)out);
        if (n)
            return n;
        unsigned next = fs->index + 1;
        msg_fields_reset(fs);
        fs->index = next;
    }
    return 0;
}
