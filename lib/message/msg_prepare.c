/* see mailout/message.h: mailout_msg_read_start() and mailout_msg_size().
 *
 * Preparing a message fixes everything that must be the same on every
 * read: the Date, the Message-ID and the boundaries are made once (the
 * first time; boundaries again while message/... content collides with
 * them) and kept; transfer encodings are chosen per read (they
 * depend on MAILOUT_READ_8BIT) from a scan of buffers and text files. */
#include <string.h>

#include "message/msg_internal.h"

/* Longest line allowed in 7bit/8bit content (RFC 5322 §2.1.1). */
#define MSG_MAX_LINE 998

/* ---- checks over the tree ---------------------------------------------------- */

static mailout_status check_tree(mailout_msg *m)
{
    for (mailout_part *p = m->body; p; p = msg_part_next_preorder(p)) {
#if MAILOUT_ENABLE_MIME
        /* RFC 2046 §5.1.1: a multipart has at least one body part */
        if (p->multipart && !p->first_child)
            return MAILOUT_E_STATE;
#endif
        if (p->src == SRC_PRODUCER && p->consumed && !p->rewind)
            return MAILOUT_E_STATE;
    }
    return MAILOUT_OK;
}

/* A producer read before is started again from its first byte. */
static mailout_status rewind_producers(mailout_msg *m)
{
    for (mailout_part *p = m->body; p; p = msg_part_next_preorder(p)) {
        if (p->src != SRC_PRODUCER || !p->consumed)
            continue;
        if (p->rewind(p->prod_ctx) != MAILOUT_OK)
            return MAILOUT_E_SOURCE;
        p->consumed = 0;
    }
    return MAILOUT_OK;
}

/* ---- fixed once: date, Message-ID, boundaries -------------------------------- */

static mailout_status fix_date(mailout_msg *m)
{
    int64_t now;
    int off;
    if (m->date_set)
        return MAILOUT_OK;
    if (!m->env.now || m->env.now(m->env.ctx, &now, &off) != 0 || !msg_date_in_range(now, off))
        return MAILOUT_E_STATE;
    m->date = now;
    m->date_offset = (short)off;
    m->date_set = 1;
    return MAILOUT_OK;
}

#if MAILOUT_ENABLE_MIME
static int boundary_taken(const mailout_msg *m, const mailout_part *self)
{
    for (mailout_part *p = m->body; p; p = msg_part_next_preorder(p))
        if (p != self && p->multipart && memcmp(p->boundary, self->boundary, MSG_BOUNDARY_LEN) == 0)
            return 1;
    return 0;
}

/* Every multipart gets its own boundary. A repeat (only possible with a
 * broken or rigged random source) is drawn again a few times. */
static mailout_status fix_boundaries(mailout_msg *m)
{
    for (mailout_part *p = m->body; p; p = msg_part_next_preorder(p)) {
        if (!p->multipart || p->boundary[0])
            continue;
        int tries = 0;
        do {
            if (++tries > 4) {
                p->boundary[0] = '\0';
                return MAILOUT_E_INTERNAL;
            }
            p->boundary[0] = '=';
            p->boundary[1] = '_';
            mailout_status st = msg_random_chars(m, p->boundary + 2, MSG_BOUNDARY_RANDOM);
            if (st != MAILOUT_OK) {
                p->boundary[0] = '\0';
                return st;
            }
        } while (boundary_taken(m, p));
    }
    return MAILOUT_OK;
}
#endif

/* ---- transfer encodings -------------------------------------------------------- */

static mailout_encoding fallback_qp(void)
{
    return MAILOUT_ENABLE_QP ? MAILOUT_ENC_QP : MAILOUT_ENC_BASE64;
}

/* What a scan found, as the bits the choice depends on (kept per producer
 * part, see producer_facts). */
#define FACT_SCANNED 1u  /* the facts below are known */
#define FACT_BINARY 2u   /* NUL or another control */
#define FACT_LONG 4u     /* a line > 998 */
#define FACT_BOUNDARY 8u /* a line starting "--=_" */
#define FACT_8BIT 16u    /* a byte >= 0x80 */
#define FACT_GAVE_UP 32u /* a producer was not scanned (no rewind, or AGAIN): nothing known */
#define FACT_DELIM 64u   /* message/...: a line starts with an enclosing delimiter */

/* message/... (RFC 2046 §5.2.1, RFC 6532 §3.5): never QP or base64, only
 * 7bit or 8bit; partial and external-body are 7bit only (§5.2.2, §5.2.3).
 * Content that does not fit is refused by the reader's line filter as it
 * is sent (p->strict: its errors are the content's, not a changed source). */
static mailout_encoding decide_message(const mailout_part *p, unsigned facts, unsigned flags)
{
    const char *sub = p->type.s + 8;
    size_t sublen = strlen(sub);
    if ((sublen == 7 && msg_name_eq(sub, 7, "partial")) || (sublen == 13 && msg_name_eq(sub, 13, "external-body")))
        return MAILOUT_ENC_7BIT;
    if (!(flags & MAILOUT_READ_8BIT))
        return MAILOUT_ENC_7BIT;
    /* without a scan, 8bit where the server takes it: 7-bit data fits too */
    return (!(facts & FACT_SCANNED) || (facts & FACT_8BIT)) ? MAILOUT_ENC_8BIT : MAILOUT_ENC_7BIT;
}

#if MAILOUT_ENABLE_MIME
/* d: the enclosing delimiters, followed for message/... content only */
static unsigned char scan_facts(mailout_scan *sc, const msg_delim *d)
{
    mailout_scan_final(sc);
    return (unsigned char)(FACT_SCANNED | ((sc->has_nul || sc->has_ctl) ? FACT_BINARY : 0) |
                           (sc->max_line > MSG_MAX_LINE ? FACT_LONG : 0) | (sc->boundary_like ? FACT_BOUNDARY : 0) |
                           (sc->has_8bit ? FACT_8BIT : 0) | (d->hit ? FACT_DELIM : 0));
}

static void scan_chunk(mailout_scan *sc, msg_delim *d, const unsigned char *s, size_t n)
{
    mailout_scan_update(sc, s, n);
    msg_delim_update(d, s, n);
}

/* The table of message.h (mailout_part_set_encoding). */
static mailout_encoding decide(unsigned facts, unsigned flags)
{
    if (facts & FACT_BINARY)
        return MAILOUT_ENC_BASE64;
    if ((facts & (FACT_LONG | FACT_BOUNDARY)) || ((facts & FACT_8BIT) && !(flags & MAILOUT_READ_8BIT)))
        return fallback_qp();
    return (facts & FACT_8BIT) ? MAILOUT_ENC_8BIT : MAILOUT_ENC_7BIT;
}

/* Scan a file or a producer through the reader's input buffer (the
 * reader is idle). read_start cannot wait: a file that says AGAIN fails;
 * for a producer the scan stops, *complete stays 0 and the caller falls
 * back to an encoding that is safe without a scan. */
static mailout_status scan_source(mailout_msg *m, mailout_part *p, void *fh, mailout_scan *sc, msg_delim *d,
                                  int *complete)
{
    mailout_status st;
    *complete = 0;
    do {
        st = msg_source_read(m, p, fh);
        if (st == MAILOUT_AGAIN)
            return p->src == SRC_FILE ? MAILOUT_E_FILE : MAILOUT_OK;
        if (st < 0)
            return st;
        scan_chunk(sc, d, m->r.buf.in, m->r.in_len);
    } while (st == MAILOUT_OK);
    *complete = 1;
    return MAILOUT_OK;
}

/* A text file is scanned every time (it may change between reads); its
 * declared size is checked by the reader only. */
static mailout_status scan_file(mailout_msg *m, mailout_part *p, mailout_scan *sc, msg_delim *d)
{
    const mailout_file_ops *ops = m->env.files;
    void *fh = NULL;
    uint64_t size;
    int complete;
    if (!ops || ops->open(m->env.ctx, p->path.s, &fh, &size) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    m->r.src_left = MAILOUT_SIZE_UNKNOWN;
    mailout_status st = scan_source(m, p, fh, sc, d, &complete);
    ops->close(m->env.ctx, fh);
    return st;
}

/* A producer that can rewind (prepare rewinds it afterwards, since it is
 * marked consumed). The declared size is checked, like the reader does,
 * so a lying producer fails here already. */
static mailout_status scan_producer(mailout_msg *m, mailout_part *p, mailout_scan *sc, msg_delim *d,
                                    int *complete)
{
    if (p->consumed && p->rewind(p->prod_ctx) != MAILOUT_OK) /* read before: start over */
        return MAILOUT_E_SOURCE;
    m->r.src_left = p->prod_size;
    return scan_source(m, p, NULL, sc, d, complete);
}

/* A producer with rewind is scanned by the first read_start (or size) and
 * what it found is kept, so every later read makes the same choice (the
 * producer must give the same bytes each time; the reader's watch checks
 * 7bit/8bit content as it is sent). If it said AGAIN during that scan, or
 * has no rewind, nothing is known: text goes QP for good. sc and d are the
 * caller's, fresh. */
static mailout_status producer_facts(mailout_msg *m, mailout_part *p, mailout_scan *sc, msg_delim *d)
{
    if (p->facts)
        return MAILOUT_OK;
    p->facts = FACT_GAVE_UP;
    if (!p->rewind)
        return MAILOUT_OK;
    int complete = 0;
    mailout_status st = scan_producer(m, p, sc, d, &complete);
    if (st != MAILOUT_OK)
        p->facts = 0; /* try again next time */
    else if (complete)
        p->facts = scan_facts(sc, d);
    return st;
}
#endif

#if !MAILOUT_ENABLE_MIME
/* Without MIME there is no scan: a text buffer is 7bit unless it has
 * 8-bit bytes; files and producers are 8bit where the server takes it,
 * else QP (or base64 without QP), which is safe for any content. 7bit and
 * 8bit content is still checked as it is sent (NUL, lines > 998, 8-bit
 * bytes in 7bit: the reader fails rather than send something invalid). */
static mailout_encoding choose_text(const mailout_part *p, unsigned flags)
{
    /* src first: data_len shares a union with the other sources' fields */
    if (p->src == SRC_NONE || (p->src == SRC_DATA && msg_is_ascii((const char *)p->data, p->data_len)))
        return MAILOUT_ENC_7BIT;
    return (flags & MAILOUT_READ_8BIT) ? MAILOUT_ENC_8BIT : fallback_qp();
}
#endif

#if MAILOUT_ENABLE_MIME
/* message/... content is sent as it is, so no line of it may start with
 * the delimiter of a multipart around it (RFC 2046 §5.1.1): the boundaries
 * around p are drawn again (MAILOUT_AGAIN tells prepare), but only until
 * they are kept (the first successful prepare); after that the content
 * changed since. A producer is scanned only once: its lines are checked
 * against the new boundaries as they are sent. */
static mailout_status redraw_around(const mailout_msg *m, mailout_part *p)
{
    if (m->frozen)
        return MAILOUT_E_SOURCE;
    for (mailout_part *a = p->parent; a; a = a->parent)
        a->boundary[0] = '\0';
    p->facts &= (unsigned char)~FACT_DELIM;
    return MAILOUT_AGAIN;
}
#endif

/* MAILOUT_AGAIN: boundaries to draw again (see redraw_around). */
static mailout_status choose_encoding(mailout_msg *m, mailout_part *p, unsigned flags)
{
    int message = msg_part_is_message(p);
    if (message && (p->forced == MAILOUT_ENC_QP || p->forced == MAILOUT_ENC_BASE64))
        return MAILOUT_E_INVAL; /* type set after the encoding */
#if MAILOUT_ENABLE_MIME
    p->strict = (unsigned char)message;
#endif
    /* forced or not, message/... in a multipart is scanned for delimiters */
    if (p->forced != MAILOUT_ENC_AUTO && !(message && msg_part_parent(p))) {
        p->enc = p->forced;
        return MAILOUT_OK;
    }
#if !MAILOUT_ENABLE_MIME
    if (message) {
        p->enc = decide_message(p, 0, flags); /* not scanned: checked as sent */
        return MAILOUT_OK;
    }
    if (!msg_part_is_text(p)) {
        p->enc = MAILOUT_ENC_BASE64;
        return MAILOUT_OK;
    }
    (void)m;
    p->enc = choose_text(p, flags);
    return MAILOUT_OK;
#else
    if (!message && !msg_part_is_text(p)) {
        p->enc = MAILOUT_ENC_BASE64;
        return MAILOUT_OK;
    }
    mailout_scan sc;
    msg_delim d;
    unsigned facts = 0;
    mailout_scan_init(&sc);
    msg_delim_init(&d, message ? p->parent : NULL); /* only message/... content is checked for them */
    if (p->src == SRC_PRODUCER) {
        mailout_status st = producer_facts(m, p, &sc, &d);
        if (st != MAILOUT_OK)
            return st;
        facts = p->facts;
    } else {
        if (p->src == SRC_DATA) {
            scan_chunk(&sc, &d, p->data, p->data_len);
        } else if (p->src == SRC_FILE) {
            mailout_status st = scan_file(m, p, &sc, &d);
            if (st != MAILOUT_OK)
                return st;
        }
        facts = scan_facts(&sc, &d);
    }
    if (message) {
        if (facts & FACT_DELIM)
            return redraw_around(m, p);
        p->enc = p->forced != MAILOUT_ENC_AUTO ? p->forced : decide_message(p, facts, flags);
    } else
        p->enc = (facts & FACT_SCANNED) ? decide(facts, flags) : fallback_qp(); /* QP: safe for any text */
    return MAILOUT_OK;
#endif
}

static mailout_status choose_encodings(mailout_msg *m, unsigned flags)
{
    m->is_8bit = 0;
    for (mailout_part *p = m->body; p; p = msg_part_next_preorder(p)) {
        if (msg_part_multi(p))
            continue;
        mailout_status st = choose_encoding(m, p, flags);
        if (st != MAILOUT_OK)
            return st;
        if (p->enc == MAILOUT_ENC_8BIT)
            m->is_8bit = 1;
    }
    return MAILOUT_OK;
}

/* Boundaries drawn again before giving up: a good random source needs one
 * at most (content can only collide with boundaries it has seen); a poor
 * one may repeat a few it drew for the message being forwarded. */
#define MSG_REDRAWS 8

mailout_status msg_prepare(mailout_msg *m, unsigned flags)
{
    mailout_status st;
    if (!m->from_addr.s || !m->rcpt_first)
        return MAILOUT_E_STATE;
    if ((st = check_tree(m)) != MAILOUT_OK || (st = fix_date(m)) != MAILOUT_OK)
        return st;
    if (!m->msg_id.s && !m->gen_set) {
        if ((st = msg_random_bytes(m, m->gen_id, sizeof m->gen_id)) != MAILOUT_OK)
            return st;
        m->gen_set = 1;
    }
#if MAILOUT_ENABLE_MIME
    unsigned tries = 0;
    while ((st = fix_boundaries(m)) == MAILOUT_OK && (st = choose_encodings(m, flags)) == MAILOUT_AGAIN)
        if (++tries > MSG_REDRAWS)
            return MAILOUT_E_INTERNAL;
#else
    st = choose_encodings(m, flags);
#endif
    if (st != MAILOUT_OK || (st = rewind_producers(m)) != MAILOUT_OK)
        return st;
    m->frozen = 1;
    return MAILOUT_OK;
}

/* ---- public entry points ----------------------------------------------------------- */

mailout_status mailout_msg_read_start(mailout_msg *m, unsigned flags)
{
    if (!m)
        return MAILOUT_E_INVAL;
    return msg_reader_begin(m, flags, 0);
}

/* Sizing reads nothing from producers (beyond the scan that fixes a text
 * producer's encoding once): only base64 ones of declared size can be
 * counted (from the size alone). */
static mailout_status sizable(mailout_msg *m)
{
    for (mailout_part *p = m->body; p; p = msg_part_next_preorder(p))
        if (p->src == SRC_PRODUCER && (p->enc != MAILOUT_ENC_BASE64 || p->prod_size == MAILOUT_SIZE_UNKNOWN))
            return MAILOUT_E_SIZE_UNKNOWN;
    return MAILOUT_OK;
}

mailout_status mailout_msg_size(mailout_msg *m, unsigned flags, uint64_t *size)
{
    unsigned char buf[32]; /* bytes are only counted; small keeps the stack chain short */
    uint64_t total = 0;
    size_t n;
    if (!m || !size)
        return MAILOUT_E_INVAL;
    mailout_status st = msg_reader_begin(m, flags, 1);
    if (st == MAILOUT_OK && (st = sizable(m)) != MAILOUT_OK)
        msg_reader_close(m);
    while (st == MAILOUT_OK) {
        st = mailout_msg_read(m, buf, sizeof buf, &n);
        total += n;
    }
    if (st == MAILOUT_AGAIN)
        st = MAILOUT_E_INTERNAL; /* no producer is ever called while sizing */
    if (st != MAILOUT_DONE)
        return st;
    total += m->r.skipped;
    st = msg_reader_begin(m, flags, 0);
    if (st == MAILOUT_OK)
        *size = total;
    return st;
}
