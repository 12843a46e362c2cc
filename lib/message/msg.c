/* see mailout/message.h: the message object, its envelope and header
 * setters, and the envelope getters used by the SMTP engine.
 *
 * Every setter validates first, allocates everything it needs second, and
 * only then changes the message, so a failure (including MAILOUT_E_NOMEM)
 * leaves the message exactly as it was. */
#include <string.h>

#include "message/msg_internal.h"

/* ---- strings -------------------------------------------------------------- */

mailout_status msg_strdup(mailout_msg *m, msg_str *out, const char *s, size_t len)
{
    char *p = mailout_alloc(&m->al, len + 1);
    if (!p)
        return MAILOUT_E_NOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    out->s = p;
    return MAILOUT_OK;
}

void msg_strfree(mailout_msg *m, msg_str *s)
{
    if (s->s)
        mailout_release(&m->al, s->s, strlen(s->s) + 1);
    s->s = NULL;
}

mailout_status msg_str_replace(mailout_msg *m, msg_str *dst, const char *s, size_t len)
{
    msg_str n = {NULL};
    if (s) {
        mailout_status st = msg_strdup(m, &n, s, len);
        if (st != MAILOUT_OK)
            return st;
    }
    msg_strfree(m, dst);
    *dst = n;
    return MAILOUT_OK;
}

/* Fields the typed setters write: a caller copy would duplicate them. */
static int owned_field(const char *name, size_t len)
{
    static const char *const owned[] = {"From", "Sender", "To",         "Cc",          "Bcc",
                                        "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version"};
    for (size_t i = 0; i < MAILOUT_ARRAY_LEN(owned); i++)
        if (msg_name_eq(name, len, owned[i]))
            return 1;
    return len >= 8 && msg_name_eq(name, 8, "Content-");
}

mailout_status msg_hdr_add(mailout_msg *m, msg_hdr_list *list, const char *name, const char *value)
{
    size_t nlen, vlen;
    mailout_status st = msg_check_header_name(name, &nlen);
    if (st == MAILOUT_OK)
        st = msg_check_header_value(value, &vlen);
    if (st == MAILOUT_OK)
        st = mailout_htext_check(value, vlen, MAILOUT_HTEXT_LONG_WORDS, (unsigned)nlen + 1);
    if (st != MAILOUT_OK)
        return st;
    if (owned_field(name, nlen))
        return MAILOUT_E_HEADER;
    msg_hdr **tail = &list->first;
    unsigned count = 0;
    for (; *tail; tail = &(*tail)->next)
        count++;
    if (count >= MAILOUT_MAX_HEADERS)
        return MAILOUT_E_LIMIT;
    msg_hdr *h = mailout_alloc(&m->al, sizeof *h);
    if (!h)
        return MAILOUT_E_NOMEM;
    memset(h, 0, sizeof *h);
    st = msg_strdup(m, &h->name, name, nlen);
    if (st == MAILOUT_OK)
        st = msg_strdup(m, &h->value, value, vlen);
    if (st != MAILOUT_OK) {
        msg_strfree(m, &h->name);
        mailout_release(&m->al, h, sizeof *h);
        return st;
    }
    *tail = h;
    return MAILOUT_OK;
}

void msg_hdr_free_all(mailout_msg *m, msg_hdr_list *list)
{
    msg_hdr *h = list->first;
    while (h) {
        msg_hdr *next = h->next;
        msg_strfree(m, &h->name);
        msg_strfree(m, &h->value);
        mailout_release(&m->al, h, sizeof *h);
        h = next;
    }
    list->first = NULL;
}

/* ---- lifetime ------------------------------------------------------------- */

mailout_status mailout_msg_new(mailout_msg **out, const mailout_allocator *alloc)
{
    if (!out || !alloc || !alloc->alloc)
        return MAILOUT_E_INVAL;
    mailout_msg *m = alloc->alloc(alloc->ctx, sizeof *m);
    if (!m)
        return MAILOUT_E_NOMEM;
    memset(m, 0, sizeof *m);
    m->al = *alloc;
    *out = m;
    return MAILOUT_OK;
}

void mailout_msg_free(mailout_msg *m)
{
    if (!m)
        return;
    msg_reader_close(m);
    msg_part_free_tree(m, m->body);
    msg_rcpt *r = m->rcpt_first;
    while (r) {
        msg_rcpt *next = r->next;
        msg_strfree(m, &r->addr);
        msg_strfree(m, &r->name);
        mailout_release(&m->al, r, sizeof *r);
        r = next;
    }
    msg_str *strs[] = {&m->from_addr, &m->from_name, &m->env_from, &m->reply_addr,
                       &m->reply_name, &m->subject, &m->msg_id,
#if MAILOUT_ENABLE_DSN
                       &m->dsn_envid
#endif
    };
    for (size_t i = 0; i < MAILOUT_ARRAY_LEN(strs); i++)
        msg_strfree(m, strs[i]);
    msg_hdr_free_all(m, &m->headers);
    mailout_allocator al = m->al;
    mailout_release(&al, m, sizeof *m);
}

/* Common precondition of every setter. */
static mailout_status writable(const mailout_msg *m)
{
    if (!m)
        return MAILOUT_E_INVAL;
    return m->frozen ? MAILOUT_E_STATE : MAILOUT_OK;
}

mailout_status mailout_msg_set_env(mailout_msg *m, const mailout_env *env)
{
    mailout_status st = writable(m);
    if (st != MAILOUT_OK)
        return st;
    if (!env)
        return MAILOUT_E_INVAL;
    m->env = *env;
    return MAILOUT_OK;
}

/* ---- envelope and header fields ------------------------------------------ */

/* Validate and copy an address and an optional display name ("" = none). */
static mailout_status copy_mailbox(mailout_msg *m, const char *addr, const char *name, msg_str *a, msg_str *n)
{
    size_t alen, nlen = 0;
    mailout_status st = msg_check_address(addr, &alen);
    if (st == MAILOUT_OK && name && name[0])
        st = msg_check_display_name(name, &nlen);
    if (st == MAILOUT_OK && nlen) /* without MIME: only names that need no encoding */
        st = mailout_htext_check(name, nlen, MAILOUT_HTEXT_PHRASE, 0);
    if (st != MAILOUT_OK)
        return st;
    st = msg_strdup(m, a, addr, alen);
    if (st != MAILOUT_OK)
        return st;
    n->s = NULL;
    if (nlen) {
        st = msg_strdup(m, n, name, nlen);
        if (st != MAILOUT_OK)
            msg_strfree(m, a);
    }
    return st;
}

static mailout_status set_mailbox(mailout_msg *m, msg_str *addr_dst, msg_str *name_dst, const char *addr,
                                  const char *name)
{
    msg_str a, n;
    mailout_status st = writable(m);
    if (st == MAILOUT_OK)
        st = copy_mailbox(m, addr, name, &a, &n);
    if (st != MAILOUT_OK)
        return st;
    msg_strfree(m, addr_dst);
    msg_strfree(m, name_dst);
    *addr_dst = a;
    *name_dst = n;
    return MAILOUT_OK;
}

mailout_status mailout_msg_set_from(mailout_msg *m, const char *addr, const char *display_name)
{
    return set_mailbox(m, &m->from_addr, &m->from_name, addr, display_name);
}

mailout_status mailout_msg_set_reply_to(mailout_msg *m, const char *addr, const char *display_name)
{
    return set_mailbox(m, &m->reply_addr, &m->reply_name, addr, display_name);
}

mailout_status mailout_msg_set_envelope_from(mailout_msg *m, const char *addr)
{
    size_t len = 0;
    mailout_status st = writable(m);
    if (st == MAILOUT_OK && !addr)
        st = MAILOUT_E_INVAL;
    if (st == MAILOUT_OK && addr[0])
        st = msg_check_address(addr, &len);
    if (st == MAILOUT_OK)
        st = msg_str_replace(m, &m->env_from, addr, len);
    return st;
}

mailout_status mailout_msg_add_recipient(mailout_msg *m, mailout_rcpt_kind kind, const char *addr,
                                         const char *display_name)
{
    mailout_status st = writable(m);
    if (st != MAILOUT_OK)
        return st;
    if (kind != MAILOUT_TO && kind != MAILOUT_CC && kind != MAILOUT_BCC)
        return MAILOUT_E_INVAL;
    msg_rcpt tmp;
    memset(&tmp, 0, sizeof tmp);
    st = copy_mailbox(m, addr, display_name, &tmp.addr, &tmp.name);
    if (st != MAILOUT_OK)
        return st;
    msg_rcpt *r = NULL, **tail = &m->rcpt_first;
    size_t count = 0;
    for (; *tail; tail = &(*tail)->next)
        count++;
    if (count >= MAILOUT_MAX_RECIPIENTS)
        st = MAILOUT_E_LIMIT;
    else if ((r = mailout_alloc(&m->al, sizeof *r)) == NULL)
        st = MAILOUT_E_NOMEM;
    if (st != MAILOUT_OK) {
        msg_strfree(m, &tmp.addr);
        msg_strfree(m, &tmp.name);
        return st;
    }
    tmp.kind = kind;
    *r = tmp;
    *tail = r;
    return MAILOUT_OK;
}

mailout_status mailout_msg_set_subject(mailout_msg *m, const char *subject)
{
    size_t len;
    mailout_status st = writable(m);
    if (st == MAILOUT_OK)
        st = msg_check_header_value(subject, &len);
    if (st == MAILOUT_OK)
        st = mailout_htext_check(subject, len, 0, 8); /* after "Subject:" */
    if (st == MAILOUT_OK)
        st = msg_str_replace(m, &m->subject, subject, len);
    return st;
}

mailout_status mailout_msg_set_date(mailout_msg *m, int64_t unix_seconds, int utc_offset_minutes)
{
    mailout_status st = writable(m);
    if (st != MAILOUT_OK)
        return st;
    if (!msg_date_in_range(unix_seconds, utc_offset_minutes))
        return MAILOUT_E_INVAL;
    m->date = unix_seconds;
    m->date_offset = (short)utc_offset_minutes;
    m->date_set = 1;
    return MAILOUT_OK;
}

mailout_status mailout_msg_set_message_id(mailout_msg *m, const char *msg_id)
{
    size_t len;
    mailout_status st = writable(m);
    if (st == MAILOUT_OK)
        st = msg_check_msg_id(msg_id, &len);
    if (st == MAILOUT_OK)
        st = msg_str_replace(m, &m->msg_id, msg_id, len);
    return st;
}

mailout_status mailout_msg_add_header(mailout_msg *m, const char *name, const char *value)
{
    mailout_status st = writable(m);
    return st == MAILOUT_OK ? msg_hdr_add(m, &m->headers, name, value) : st;
}

mailout_status mailout_msg_set_dsn(mailout_msg *m, unsigned notify, mailout_dsn_ret ret, const char *envid)
{
    mailout_status st = writable(m);
    if (st != MAILOUT_OK)
        return st;
#if MAILOUT_ENABLE_DSN
    const unsigned all = MAILOUT_NOTIFY_SUCCESS | MAILOUT_NOTIFY_FAILURE | MAILOUT_NOTIFY_DELAY;
    size_t len = 0;
    if (!(notify == MAILOUT_NOTIFY_NEVER || (notify != 0 && (notify & ~all) == 0)))
        return MAILOUT_E_INVAL;
    if (ret != MAILOUT_DSN_RET_DEFAULT && ret != MAILOUT_DSN_RET_FULL && ret != MAILOUT_DSN_RET_HDRS)
        return MAILOUT_E_INVAL;
    if (envid && (st = msg_check_envid(envid, &len)) != MAILOUT_OK)
        return st;
    st = msg_str_replace(m, &m->dsn_envid, envid, len);
    if (st != MAILOUT_OK)
        return st;
    m->dsn_notify = (unsigned char)notify;
    m->dsn_ret = (unsigned char)ret;
    return MAILOUT_OK;
#else
    (void)notify, (void)ret, (void)envid;
    return MAILOUT_E_UNSUPPORTED;
#endif
}

/* ---- envelope access -------------------------------------------------------- */

const char *mailout_msg_envelope_from(const mailout_msg *m)
{
    if (!m)
        return NULL;
    return m->env_from.s ? m->env_from.s : m->from_addr.s;
}

size_t mailout_msg_recipient_count(const mailout_msg *m)
{
    size_t n = 0;
    for (const msg_rcpt *r = m ? m->rcpt_first : NULL; r; r = r->next)
        n++;
    return n;
}

const char *mailout_msg_recipient(const mailout_msg *m, size_t i)
{
    if (!m)
        return NULL;
    for (const msg_rcpt *r = m->rcpt_first; r; r = r->next, i--)
        if (i == 0)
            return r->addr.s;
    return NULL;
}

void mailout_msg_dsn(const mailout_msg *m, unsigned *notify, mailout_dsn_ret *ret, const char **envid)
{
    unsigned n = 0;
    mailout_dsn_ret r = MAILOUT_DSN_RET_DEFAULT;
    const char *e = NULL;
#if MAILOUT_ENABLE_DSN
    if (m) {
        n = m->dsn_notify;
        r = (mailout_dsn_ret)m->dsn_ret;
        e = m->dsn_envid.s;
    }
#else
    (void)m; /* never set without DSN */
#endif
    if (notify)
        *notify = n;
    if (ret)
        *ret = r;
    if (envid)
        *envid = e;
}

int mailout_msg_needs_smtputf8(const mailout_msg *m)
{
    if (!m)
        return 0;
    /* the envelope sender (the From address when none was set), and the
     * addresses in From and Reply-To, which are written as they are (RFC
     * 6532): a UTF-8 one there needs SMTPUTF8 even with an ASCII envelope */
    if (!msg_str_ascii(&m->env_from) || !msg_str_ascii(&m->from_addr) || !msg_str_ascii(&m->reply_addr))
        return 1;
    for (const msg_rcpt *r = m->rcpt_first; r; r = r->next)
        if (!msg_str_ascii(&r->addr))
            return 1;
    return 0;
}

int mailout_msg_is_8bit(const mailout_msg *m)
{
    return m ? m->is_8bit : 0;
}
