/* Header fields of the message and of its parts, produced one unit at a
 * time so the reader can stop after any byte: the position is r->field
 * (which field, which step inside it, which mailbox, how far into a text
 * or parameter). Every field is its name, the units of its value and a
 * CRLF; the driver at the end writes the name and the CRLF, and skips a
 * field whose value function says it is absent. Text the message holds
 * (names, addresses, words) is borrowed by the unit, not copied. */
#include <string.h>

#include "message/msg_internal.h"

enum {
    F_NAME = 0, /* next: the name (value functions: set up, say if the field is written) */
    F_FIRST,    /* next: the first unit of the value */
    F_MORE,     /* next: a later unit of the value */
    F_DONE      /* the CRLF is written */
};

/* A field's value: at F_NAME nonzero if the field is written (after
 * setting up what the value needs); later the next unit into u, 0 when
 * the value is complete. */
typedef int (*value_fn)(mailout_msg *m, msg_field *fs, mailout_hunit *u);

typedef struct field_def {
    const char *name; /* NULL: the caller's fields (name and value from the list) */
    value_fn value;
} field_def;

/* A value of one token (joined by a space), if s is not NULL. */
static int one_token(msg_field *fs, mailout_hunit *u, const char *s)
{
    if (fs->step == F_NAME)
        return s != NULL;
    if (fs->step != F_FIRST)
        return 0;
    mailout_hunit_put(u, &fs->fold, s, strlen(s), MAILOUT_HFWS_SPACE | MAILOUT_HFWS_BORROW);
    return 1;
}

/* Free text (Subject, caller fields). */
static int text_value(msg_field *fs, mailout_hunit *u, const msg_str *v, unsigned flags)
{
    if (fs->step == F_NAME) {
        mailout_htext_init(&fs->it.text, v->s, strlen(v->s), flags, fs->fold.col);
        return 1;
    }
    return mailout_htext_next(&fs->it.text, &fs->fold, u);
}

/* ---- mailboxes ---------------------------------------------------------------- */

/* Units of one mailbox: the display name, then the address (with a comma
 * glued on when another mailbox follows). 0 when done. */
static int mailbox_next(msg_field *fs, const msg_str *addr, const msg_str *name, int comma, mailout_hunit *u)
{
    if (fs->sub == 0) {
        fs->sub = 2;
        if (name->s) {
            mailout_htext_init(&fs->it.text, name->s, strlen(name->s), MAILOUT_HTEXT_PHRASE, fs->fold.col);
            fs->sub = 1;
        }
    }
    if (fs->sub == 1) {
        if (mailout_htext_next(&fs->it.text, &fs->fold, u))
            return 1;
        fs->sub = 2;
    }
    if (fs->sub != 2)
        return 0;
    fs->sub = 3;
    int angle = name->s != NULL;
    size_t alen = strlen(addr->s);
    mailout_hunit_fold(u, &fs->fold, alen + 2 * (size_t)angle + (size_t)comma, MAILOUT_HFWS_SPACE);
    mailout_hunit_add(u, "<", (size_t)angle);
    mailout_hunit_ext(u, addr->s, alen);
    mailout_hunit_add(u, angle ? ">," : ",", (size_t)angle + (size_t)comma);
    return 1;
}

static int single_mailbox(msg_field *fs, mailout_hunit *u, const msg_str *addr, const msg_str *name)
{
    if (fs->step == F_NAME)
        return addr->s != NULL;
    return mailbox_next(fs, addr, name, 0, u);
}

static const msg_rcpt *next_of_kind(const msg_rcpt *r, mailout_rcpt_kind kind)
{
    while (r && r->kind != kind)
        r = r->next;
    return r;
}

/* To or Cc: every recipient of that kind, comma-separated. Bcc has no
 * field at all, so Bcc addresses never reach the content. */
static int rcpt_field(mailout_msg *m, msg_field *fs, mailout_hunit *u, mailout_rcpt_kind kind)
{
    if (fs->step == F_NAME)
        return (fs->rcpt = next_of_kind(m->rcpt_first, kind)) != NULL;
    while (fs->rcpt) {
        const msg_rcpt *next = next_of_kind(fs->rcpt->next, kind);
        if (mailbox_next(fs, &fs->rcpt->addr, &fs->rcpt->name, next != NULL, u))
            return 1;
        fs->rcpt = next;
        fs->sub = 0;
    }
    return 0;
}

/* ---- message fields --------------------------------------------------------------- */

static int f_date(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    if (fs->step != F_FIRST)
        return fs->step == F_NAME;
    char *date = u->buf + MAILOUT_HDR_TOK_AT; /* built in place: see header.h */
    size_t n = msg_format_date(m->date, m->date_offset, date);
    mailout_hunit_put(u, &fs->fold, date, n, MAILOUT_HFWS_SPACE);
    return 1;
}

static int f_from(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    return single_mailbox(fs, u, &m->from_addr, &m->from_name);
}

static int f_reply_to(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    return single_mailbox(fs, u, &m->reply_addr, &m->reply_name);
}

static int f_to(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    return rcpt_field(m, fs, u, MAILOUT_TO);
}

static int f_cc(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    return rcpt_field(m, fs, u, MAILOUT_CC);
}

static int f_subject(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    return m->subject.s ? text_value(fs, u, &m->subject, 0) : 0;
}

static int f_message_id(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    if (m->msg_id.s)
        return one_token(fs, u, m->msg_id.s);
    if (fs->step != F_FIRST)
        return fs->step == F_NAME;
    size_t dlen;
    const char *domain = msg_addr_domain(m->from_addr.s, strlen(m->from_addr.s), &dlen);
    if (!msg_is_ascii(domain, dlen)) {
        /* the ID must be ASCII even when the sender's domain is not */
        domain = "mailout.invalid";
        dlen = 15;
    }
    /* "<" + the random part + "@", built in place (see header.h) */
    char *tok = u->buf + MAILOUT_HDR_TOK_AT;
    tok[0] = '<';
    msg_b32(m->gen_id, sizeof m->gen_id, tok + 1, MSG_ID_RANDOM);
    tok[MSG_ID_RANDOM + 1] = '@';
    mailout_hunit_fold(u, &fs->fold, MSG_ID_RANDOM + 3 + dlen, MAILOUT_HFWS_SPACE);
    mailout_hunit_add(u, tok, MSG_ID_RANDOM + 2);
    mailout_hunit_ext(u, domain, dlen);
    mailout_hunit_add(u, ">", 1);
    return 1;
}

static int f_custom(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    (void)m;
    return text_value(fs, u, &fs->hdr->value, MAILOUT_HTEXT_LONG_WORDS);
}

static int f_mime_version(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    (void)m;
    return one_token(fs, u, "1.0");
}

/* ---- part fields -------------------------------------------------------------------- */

static int f_content_type(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    const mailout_part *p = m->r.part;
    /* a leaf: its type, and charset=cs for text */
    const char *type = p->type.s ? p->type.s : "text/plain";
    const char *v = p->charset.s ? p->charset.s : "utf-8";
    int multi = 0, param = msg_part_is_text(p);
#if MAILOUT_ENABLE_MIME
    /* a multipart: its kind, and boundary="B" (quoted: '=' is a tspecial) */
    static const char *const kinds[] = {"multipart/mixed", "multipart/alternative", "multipart/related"};
    if (p->multipart) {
        type = kinds[p->mp_kind];
        v = p->boundary;
        multi = param = 1;
    }
#endif
    if (fs->step == F_NAME)
        return 1;
    if (fs->sub == 0) {
        fs->sub = 1;
        mailout_hunit_put(u, &fs->fold, type, strlen(type), MAILOUT_HFWS_SPACE | MAILOUT_HFWS_BORROW);
        return 1;
    }
    if (fs->sub != 1 || !param)
        return 0;
    size_t vlen = strlen(v);
    fs->sub = 2;
    mailout_hunit_put(u, &fs->fold, ";", 1, MAILOUT_HFWS_NONE);
    mailout_hunit_fold(u, &fs->fold, (multi ? 11 : 8) + vlen, MAILOUT_HFWS_SPACE);
    mailout_hunit_add(u, multi ? "boundary=\"" : "charset=", multi ? 10 : 8);
    mailout_hunit_ext(u, v, vlen);
    if (multi)
        mailout_hunit_add(u, "\"", 1);
    return 1;
}

static int f_cte(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    static const char *const names[] = {"7bit", "7bit", "8bit", "quoted-printable", "base64"};
    const mailout_part *p = m->r.part;
    if (msg_part_multi(p))
        return 0;
    return one_token(fs, u, names[p->enc]);
}

#if MAILOUT_ENABLE_MIME
/* Written when a disposition or a file name is set; a file name without a
 * disposition makes an attachment (what a named file almost always is). */
static int f_disposition(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    const mailout_part *p = m->r.part;
    if (fs->step == F_NAME)
        return !p->multipart && (p->disposition != MAILOUT_DISPOSITION_NONE || p->filename.s);
    if (fs->step == F_FIRST) {
        const char *d = p->disposition == MAILOUT_INLINE ? "inline" : "attachment";
        if (p->filename.s)
            mailout_hparam_init(&fs->it.param, "filename", p->filename.s, strlen(p->filename.s));
        fs->sub = p->filename.s != NULL;
        mailout_hunit_put(u, &fs->fold, d, strlen(d), MAILOUT_HFWS_SPACE | MAILOUT_HFWS_BORROW);
        return 1;
    }
    return fs->sub && mailout_hparam_next(&fs->it.param, &fs->fold, u);
}
#endif

static int f_content_id(mailout_msg *m, msg_field *fs, mailout_hunit *u)
{
    const mailout_part *p = m->r.part;
    return one_token(fs, u, p->cid.s);
}

static const field_def message_fields[] = {
    {"Date", f_date},        {"From", f_from},    {"Reply-To", f_reply_to},
    {"To", f_to},            {"Cc", f_cc},        {"Subject", f_subject},
    {"Message-ID", f_message_id}, {NULL, f_custom}, {"MIME-Version", f_mime_version},
};
static const field_def part_fields[] = {
    {"Content-Type", f_content_type}, {"Content-Transfer-Encoding", f_cte},
#if MAILOUT_ENABLE_MIME
    {"Content-Disposition", f_disposition},
#endif
    {"Content-ID", f_content_id},     {NULL, f_custom},
};

void msg_fields_reset(msg_field *f)
{
    memset(f, 0, sizeof *f);
}

/* "Name:". With MAILOUT_READ_SMTP a name starting with '.' (the only way a
 * header line can start with one: continuations start with a space) is
 * dot-stuffed like a body line. */
static void field_name(const mailout_msg *m, mailout_hunit *u, const char *name, size_t nlen)
{
    mailout_hunit_add(u, ".", (m->r.flags & MAILOUT_READ_SMTP) && name[0] == '.');
    mailout_hunit_ext(u, name, nlen);
    mailout_hunit_add(u, ":", 1);
}

int msg_fields_next(mailout_msg *m, int message, mailout_hunit *u)
{
    msg_field *fs = &m->r.field;
    const field_def *table = message ? message_fields : part_fields;
    size_t count = message ? MAILOUT_ARRAY_LEN(message_fields) : MAILOUT_ARRAY_LEN(part_fields);
    while (fs->index < count) {
        const field_def *d = &table[fs->index];
        if (fs->step == F_NAME) {
            const char *name = d->name;
            if (!name) { /* the caller's fields, one after the other */
                const msg_hdr_list *list = message ? &m->headers : &m->r.part->headers;
                /* NULL on the first visit: msg_fields_reset ran before
                 * this entry, and again once the list ran out */
                fs->hdr = fs->hdr ? fs->hdr->next : list->first;
                name = fs->hdr ? fs->hdr->name.s : NULL;
            }
            size_t nlen = name ? strlen(name) : 0;
            fs->fold.col = (unsigned)nlen + 1;
            if (name && d->value(m, fs, u)) {
                field_name(m, u, name, nlen);
                fs->step = F_FIRST;
                return 1;
            }
        } else if (fs->step != F_DONE) {
            if (d->value(m, fs, u)) {
                fs->step = F_MORE;
                return 1;
            }
            mailout_hunit_ext(u, "\r\n", 2);
            fs->step = F_DONE;
            return 1;
        }
        if (!d->name && fs->hdr) { /* the next of the caller's fields */
            fs->step = F_NAME;
            continue;
        }
        unsigned char next = (unsigned char)(fs->index + 1);
        msg_fields_reset(fs);
        fs->index = next;
    }
    return 0;
}
