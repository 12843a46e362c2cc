/* see mailout/message.h: the part tree and the part setters. Same rule as
 * msg.c: validate, allocate, then change — or change nothing. */
#include <string.h>

#include "message/msg_internal.h"

/* Longest path handed to the file hooks. */
#define MSG_MAX_PATH_LEN 4095

/* One part's own memory (its children are freed by the caller). */
static void part_free(mailout_msg *m, mailout_part *p)
{
    msg_strfree(m, &p->type);
    msg_strfree(m, &p->charset);
    msg_strfree(m, &p->cid);
#if MAILOUT_ENABLE_MIME
    msg_strfree(m, &p->filename);
#endif
    if (p->src == SRC_FILE)
        msg_strfree(m, &p->path);
    msg_hdr_free_all(m, &p->headers);
    mailout_release(&m->al, p, sizeof *p);
}

/* Post-order walk without recursion (the firmware stack budget counts
 * every call chain): go down to a leaf, free it, then its next sibling
 * or, at the end of a list, the parent whose children are all gone.
 * Without MIME the body is the only part. */
void msg_part_free_tree(mailout_msg *m, mailout_part *p)
{
#if MAILOUT_ENABLE_MIME
    mailout_part *stop = p ? p->parent : NULL;
    while (p) {
        mailout_part *up = p->parent, *next = p->next;
        if (p->first_child) {
            mailout_part *child = p->first_child;
            p->first_child = NULL; /* so it is freed when we climb back */
            p = child;
            continue;
        }
        part_free(m, p);
        p = next ? next : (up == stop ? NULL : up);
    }
#else
    if (p)
        part_free(m, p);
#endif
}

int msg_part_is_text(const mailout_part *p)
{
    return !p->type.s || (strlen(p->type.s) > 5 && msg_name_eq(p->type.s, 5, "text/"));
}

int msg_part_is_message(const mailout_part *p)
{
    return p->type.s && strlen(p->type.s) > 8 && msg_name_eq(p->type.s, 8, "message/");
}

#if MAILOUT_ENABLE_MIME
mailout_part *msg_part_next_preorder(mailout_part *p)
{
    if (p->first_child)
        return p->first_child;
    for (; p; p = p->parent)
        if (p->next)
            return p->next;
    return NULL;
}

void msg_delim_init(msg_delim *d, const mailout_part *parent)
{
    d->top = d->cand = parent;
    d->pos = 0;
    d->hit = 0;
}

/* Byte i of the delimiter "--" + boundary of multipart a. */
static char delim_char(const mailout_part *a, unsigned i)
{
    return i < 2 ? '-' : a->boundary[i - 2];
}

/* RFC 2046 §5.1.1: a parser takes any line that starts with "--" and the
 * boundary of an enclosing multipart for its delimiter, whatever follows.
 * Each line is followed against the nearest ancestor it still matches; if
 * that one differs at a byte, one further up whose delimiter starts with
 * the same bytes so far may take over (nearer ones failed already). */
void msg_delim_update(msg_delim *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n && d->top && !d->hit; i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            d->cand = d->top;
            d->pos = 0;
            continue;
        }
        const mailout_part *a = d->cand;
        while (a && (delim_char(a, d->pos) != (char)s[i] ||
                     (d->pos > 2 && memcmp(a->boundary, d->cand->boundary, d->pos - 2u) != 0)))
            a = a->parent;
        d->cand = a;
        if (a && ++d->pos == 2 + MSG_BOUNDARY_LEN)
            d->hit = 1;
    }
}
#endif

/* Create a part under parent (or as the body); depth counts multiparts. */
static mailout_status part_create(mailout_msg *m, mailout_part *parent, int multipart, mailout_part **out)
{
    if (!m || !out)
        return MAILOUT_E_INVAL;
    if (m->frozen)
        return MAILOUT_E_STATE;
#if MAILOUT_ENABLE_MIME
    unsigned depth = 0;
    if (parent) {
        if (parent->msg != m || !parent->multipart)
            return MAILOUT_E_INVAL;
        depth = parent->depth;
    } else if (m->body) {
        return MAILOUT_E_STATE;
    }
    if (multipart && ++depth > MAILOUT_MAX_DEPTH)
        return MAILOUT_E_LIMIT;
#else
    /* the body only: no child parts, no multiparts (refused before) */
    (void)multipart;
    if (parent)
        return MAILOUT_E_UNSUPPORTED;
    if (m->body)
        return MAILOUT_E_STATE;
#endif
    mailout_part *p = mailout_alloc(&m->al, sizeof *p);
    if (!p)
        return MAILOUT_E_NOMEM;
    memset(p, 0, sizeof *p);
    p->msg = m;
#if MAILOUT_ENABLE_MIME
    p->parent = parent;
    p->depth = (unsigned char)depth;
    p->multipart = (unsigned char)multipart;
    if (parent) {
        if (parent->last_child)
            parent->last_child->next = p;
        else
            parent->first_child = p;
        parent->last_child = p;
    } else
#endif
        m->body = p;
    *out = p;
    return MAILOUT_OK;
}

mailout_status mailout_part_new_multipart(mailout_msg *m, mailout_part *parent, mailout_multipart_kind kind,
                                          mailout_part **out)
{
#if MAILOUT_ENABLE_MIME
    if (kind != MAILOUT_MULTIPART_MIXED && kind != MAILOUT_MULTIPART_ALTERNATIVE && kind != MAILOUT_MULTIPART_RELATED)
        return MAILOUT_E_INVAL;
    mailout_status st = part_create(m, parent, 1, out);
    if (st == MAILOUT_OK)
        (*out)->mp_kind = (unsigned char)kind;
    return st;
#else
    (void)m, (void)parent, (void)kind, (void)out;
    return MAILOUT_E_UNSUPPORTED;
#endif
}

mailout_status mailout_part_new(mailout_msg *m, mailout_part *parent, mailout_part **out)
{
    return part_create(m, parent, 0, out);
}

/* Precondition of the part setters; leaf_only for body/type setters. */
static mailout_status part_writable(const mailout_part *p, int leaf_only)
{
    if (!p)
        return MAILOUT_E_INVAL;
    if (p->msg->frozen)
        return MAILOUT_E_STATE;
    return leaf_only && msg_part_multi(p) ? MAILOUT_E_INVAL : MAILOUT_OK;
}

/* Forget the previous source (a new one replaces it). */
static void clear_source(mailout_part *p)
{
    if (p->src == SRC_FILE)
        msg_strfree(p->msg, &p->path);
    p->src = SRC_NONE;
    p->consumed = 0;
}

mailout_status mailout_part_set_data(mailout_part *p, const void *data, size_t len)
{
    mailout_status st = part_writable(p, 1);
    if (st != MAILOUT_OK)
        return st;
    if (!data && len)
        return MAILOUT_E_INVAL;
    clear_source(p);
    p->src = SRC_DATA;
    p->data = data;
    p->data_len = len;
    return MAILOUT_OK;
}

#if MAILOUT_ENABLE_MIME
/* The last path component of a UTF-8 name, validated for a header. */
static mailout_status basename_of(const char *name, const char **base, size_t *blen)
{
    size_t len = msg_strnlen(name, MSG_MAX_PATH_LEN);
    if (len > MSG_MAX_PATH_LEN)
        return MAILOUT_E_LIMIT;
    mailout_status st = mailout_utf8_check(name, len, 0);
    if (st != MAILOUT_OK)
        return st;
    size_t start = len;
    while (start > 0 && name[start - 1] != '/' && name[start - 1] != '\\')
        start--;
    *base = name + start;
    *blen = len - start;
    if (*blen == 0 || msg_name_eq(*base, *blen, ".") || msg_name_eq(*base, *blen, ".."))
        return MAILOUT_E_HEADER;
    return *blen > MAILOUT_MAX_FILENAME_LEN ? MAILOUT_E_LIMIT : MAILOUT_OK;
}

#endif

mailout_status mailout_part_set_file(mailout_part *p, const char *path)
{
    mailout_status st = part_writable(p, 1);
    if (st != MAILOUT_OK)
        return st;
    if (!path || !path[0])
        return MAILOUT_E_INVAL;
    size_t plen = msg_strnlen(path, MSG_MAX_PATH_LEN);
    if (plen > MSG_MAX_PATH_LEN)
        return MAILOUT_E_LIMIT;
    msg_str path_copy;
#if MAILOUT_ENABLE_MIME
    const char *base = NULL;
    size_t blen = 0;
    int want_name = !p->filename.s || p->filename_from_path;
    if (want_name && (st = basename_of(path, &base, &blen)) != MAILOUT_OK)
        return st;
    msg_str name_copy = {NULL};
    if ((st = msg_strdup(p->msg, &path_copy, path, plen)) != MAILOUT_OK)
        return st;
    if (want_name && (st = msg_strdup(p->msg, &name_copy, base, blen)) != MAILOUT_OK) {
        msg_strfree(p->msg, &path_copy);
        return st;
    }
    if (want_name) {
        msg_strfree(p->msg, &p->filename);
        p->filename = name_copy;
        p->filename_from_path = 1;
    }
#else
    /* without MIME there is no Content-Disposition to carry a file name */
    if ((st = msg_strdup(p->msg, &path_copy, path, plen)) != MAILOUT_OK)
        return st;
#endif
    clear_source(p);
    p->src = SRC_FILE;
    p->path = path_copy;
    return MAILOUT_OK;
}

mailout_status mailout_part_set_producer(mailout_part *p, mailout_producer_fn fn, mailout_rewind_fn rewind, void *ctx,
                                         uint64_t size)
{
    mailout_status st = part_writable(p, 1);
    if (st != MAILOUT_OK)
        return st;
    if (!fn)
        return MAILOUT_E_INVAL;
    clear_source(p);
    p->src = SRC_PRODUCER;
    p->produce = fn;
    p->rewind = rewind;
    p->prod_ctx = ctx;
    p->prod_size = size;
#if MAILOUT_ENABLE_MIME
    p->facts = 0;
#endif
    return MAILOUT_OK;
}

mailout_status mailout_part_set_type(mailout_part *p, const char *media_type)
{
    size_t len;
    mailout_status st = part_writable(p, 1);
    if (st == MAILOUT_OK)
        st = msg_check_media_type(media_type, &len);
    return st == MAILOUT_OK ? msg_str_replace(p->msg, &p->type, media_type, len) : st;
}

mailout_status mailout_part_set_charset(mailout_part *p, const char *charset)
{
    size_t len;
    mailout_status st = part_writable(p, 1);
    if (st == MAILOUT_OK)
        st = msg_check_charset(charset, &len);
    return st == MAILOUT_OK ? msg_str_replace(p->msg, &p->charset, charset, len) : st;
}

mailout_status mailout_part_set_disposition(mailout_part *p, mailout_disposition d)
{
    mailout_status st = part_writable(p, 1);
    if (st != MAILOUT_OK)
        return st;
#if MAILOUT_ENABLE_MIME
    if (d != MAILOUT_DISPOSITION_NONE && d != MAILOUT_INLINE && d != MAILOUT_ATTACHMENT)
        return MAILOUT_E_INVAL;
    p->disposition = (unsigned char)d;
    return MAILOUT_OK;
#else
    (void)d;
    return MAILOUT_E_UNSUPPORTED;
#endif
}

mailout_status mailout_part_set_filename(mailout_part *p, const char *name)
{
    mailout_status st = part_writable(p, 1);
    if (st != MAILOUT_OK)
        return st;
#if MAILOUT_ENABLE_MIME
    const char *base;
    size_t blen;
    if (!name)
        return MAILOUT_E_INVAL;
    if ((st = basename_of(name, &base, &blen)) != MAILOUT_OK)
        return st;
    st = msg_str_replace(p->msg, &p->filename, base, blen);
    if (st == MAILOUT_OK)
        p->filename_from_path = 0;
    return st;
#else
    (void)name;
    return MAILOUT_E_UNSUPPORTED;
#endif
}

mailout_status mailout_part_set_content_id(mailout_part *p, const char *cid)
{
    size_t len;
    mailout_status st = part_writable(p, 0);
    if (st == MAILOUT_OK)
        st = msg_check_msg_id(cid, &len);
    return st == MAILOUT_OK ? msg_str_replace(p->msg, &p->cid, cid, len) : st;
}

mailout_status mailout_part_set_encoding(mailout_part *p, mailout_encoding enc)
{
    mailout_status st = part_writable(p, 1);
    if (st != MAILOUT_OK)
        return st;
    if ((unsigned)enc > (unsigned)MAILOUT_ENC_BASE64) /* enums may be unsigned */
        return MAILOUT_E_INVAL;
    if (enc == MAILOUT_ENC_QP && !MAILOUT_ENABLE_QP)
        return MAILOUT_E_UNSUPPORTED;
    /* RFC 2046 §5.2.1: message/... is never QP or base64 */
    if ((enc == MAILOUT_ENC_QP || enc == MAILOUT_ENC_BASE64) && msg_part_is_message(p))
        return MAILOUT_E_INVAL;
    p->forced = (unsigned char)enc;
    return MAILOUT_OK;
}

mailout_status mailout_part_add_header(mailout_part *p, const char *name, const char *value)
{
    mailout_status st = part_writable(p, 0);
    return st == MAILOUT_OK ? msg_hdr_add(p->msg, &p->headers, name, value) : st;
}
