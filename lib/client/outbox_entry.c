/*
 * The outbox's storage format: entry ids, the envelope header of .msg
 * blobs, the .state blobs, and the oldest-first walk over the entries
 * (format described in outbox.c).
 */
#include <string.h>

#include "internal.h"
#include "client/outbox_internal.h"

/* ------------------------------------------------------------------ */
/* small text helpers (no stdio in this layer's contract)              */
/* ------------------------------------------------------------------ */

size_t outbox_put_str(char *dst, size_t pos, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (pos + n < cap)
        memcpy(dst + pos, s, n);
    return pos + n;
}

size_t outbox_put_u64(char *dst, size_t pos, size_t cap, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do { /* no 64-bit division: the outbox is built for firmware too */
        uint32_t d;
        v = mailout_u64_divmod(v, 10, &d);
        tmp[n++] = (char)('0' + d);
    } while (v);
    while (n) {
        if (pos + 1 < cap)
            dst[pos] = tmp[n - 1];
        pos++;
        n--;
    }
    return pos;
}

size_t outbox_put_i64(char *dst, size_t pos, size_t cap, int64_t v)
{
    if (v < 0) {
        pos = outbox_put_str(dst, pos, cap, "-");
        return outbox_put_u64(dst, pos, cap, (uint64_t)0 - (uint64_t)v);
    }
    return outbox_put_u64(dst, pos, cap, (uint64_t)v);
}

/* Parses a decimal (optionally negative) number; 0 on success. */
int outbox_parse_i64(const char *s, size_t len, int64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    int neg = 0;
    if (len && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len)
        return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

void outbox_make_name(char *dst, const char *prefix, const char *id, const char *suffix)
{
    size_t pos = outbox_put_str(dst, 0, NAME_MAX_LEN, prefix);
    pos = outbox_put_str(dst, pos, NAME_MAX_LEN, id);
    pos = outbox_put_str(dst, pos, NAME_MAX_LEN, suffix);
    dst[pos < NAME_MAX_LEN ? pos : NAME_MAX_LEN - 1] = '\0';
}

/* Ids are "<16 hex seconds>-<16 hex random>": they sort by creation time. */
int outbox_valid_id(const char *id)
{
    size_t i;
    for (i = 0; i < 33; i++) {
        char c = id[i];
        if (i == 16 ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return id[33] == '\0';
}

int64_t outbox_id_time(const char *id)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < 16; i++)
        v = (v << 4) | (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
    return (int64_t)v;
}

mailout_status outbox_make_id(mailout_outbox *ob, int64_t now, char *id)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[8];
    uint64_t t = (uint64_t)(now < 0 ? 0 : now);
    int i;
    if (ob->random(ob->random_ctx, rnd, sizeof rnd) != 0)
        return MAILOUT_E_STATE;
    for (i = 15; i >= 0; i--, t >>= 4)
        id[i] = hex[t & 15];
    id[16] = '-';
    for (i = 0; i < 8; i++) {
        id[17 + 2 * i] = hex[rnd[i] >> 4];
        id[18 + 2 * i] = hex[rnd[i] & 15];
    }
    id[33] = '\0';
    return MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* reading an entry back                                               */
/* ------------------------------------------------------------------ */

/* Reads exactly @p len bytes (DONE before that is a short blob). */
mailout_status outbox_read_exact(mailout_outbox *ob, void *h, void *dst, size_t len)
{
    unsigned char *p = dst;
    while (len) {
        size_t got = 0;
        mailout_status st = ob->ops->read(ob->ctx, h, p, len, &got);
        if (st < 0)
            return st;
        if (got == 0)
            return MAILOUT_E_FILE;
        p += got;
        len -= got;
    }
    return MAILOUT_OK;
}

/* Reads the magic line; *hdr_len receives the envelope length. */
static mailout_status outbox_read_magic(mailout_outbox *ob, void *h, size_t *hdr_len, size_t *magic_len)
{
    char line[48];
    size_t n = 0;
    int64_t v;
    for (;;) {
        if (n == sizeof line || outbox_read_exact(ob, h, line + n, 1) != MAILOUT_OK)
            return MAILOUT_E_FILE;
        if (line[n++] == '\n')
            break;
    }
    if (n < sizeof OUTBOX_MAGIC || memcmp(line, OUTBOX_MAGIC, sizeof OUTBOX_MAGIC - 1) != 0 ||
        outbox_parse_i64(line + sizeof OUTBOX_MAGIC - 1, n - sizeof OUTBOX_MAGIC, &v) != 0 || v < 2 ||
        v > 64 * 1024)
        return MAILOUT_E_FILE;
    *hdr_len = (size_t)v;
    *magic_len = n;
    return MAILOUT_OK;
}


void outbox_env_free(mailout_outbox *ob, ob_env *e)
{
    mailout_release(&ob->alloc, e->text, e->text_len + 1);
    mailout_release(&ob->alloc, (void *)e->rcpt, sizeof *e->rcpt * e->nrcpt);
}

/* Splits the envelope text into NUL-terminated lines, counts recipients
 * and reads the other fields; 0 on success. */
static int outbox_env_parse(ob_env *e)
{
    char *p = e->text, *end = e->text + e->text_len;
    size_t n = 0;
    int64_t a, b;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return -1;
        *nl = '\0';
        if (nl == p)
            return p + 1 == end && e->from ? 0 : -1; /* the blank line ends it */
        if (!strncmp(p, "from ", 5))
            e->from = p + 5;
        else if (!strncmp(p, "rcpt ", 5))
            n++;
        else if (!strncmp(p, "dsn ", 4)) {
            char *s1 = strchr(p + 4, ' '), *s2 = s1 ? strchr(s1 + 1, ' ') : NULL;
            if (!s2 || outbox_parse_i64(p + 4, (size_t)(s1 - p - 4), &a) || outbox_parse_i64(s1 + 1, (size_t)(s2 - s1 - 1), &b))
                return -1;
            e->notify = (unsigned)a;
            e->ret = (unsigned)b;
            e->envid = strcmp(s2 + 1, "-") ? s2 + 1 : NULL;
        } else if (!strncmp(p, "flags ", 6)) {
            if (strlen(p) != 9)
                return -1;
            e->smtputf8 = p[6] == '1';
            e->is8 = p[8] == '1';
        } else
            return -1;
        e->nrcpt = n;
        p = nl + 1;
    }
    return -1;
}

/* Loads the envelope of entry @p id (memory from the allocator). */
mailout_status outbox_env_load(mailout_outbox *ob, const char *id, ob_env *e)
{
    char name[NAME_MAX_LEN];
    void *h;
    uint64_t blob_size;
    size_t magic_len;
    mailout_status st;
    memset(e, 0, sizeof *e);
    outbox_make_name(name, "", id, ".msg");
    st = ob->ops->open(ob->ctx, name, &h, &blob_size);
    if (st != MAILOUT_OK)
        return st;
    st = outbox_read_magic(ob, h, &e->text_len, &magic_len);
    if (st == MAILOUT_OK && (e->text = mailout_alloc(&ob->alloc, e->text_len + 1)) == NULL)
        st = MAILOUT_E_NOMEM;
    if (st == MAILOUT_OK)
        st = outbox_read_exact(ob, h, e->text, e->text_len);
    ob->ops->close(ob->ctx, h);
    if (st != MAILOUT_OK) {
        outbox_env_free(ob, e);
        return st;
    }
    e->text[e->text_len] = '\0';
    e->blob_hdr = magic_len + e->text_len;
    if (outbox_env_parse(e) != 0 || e->nrcpt == 0 || e->nrcpt > MAILOUT_MAX_RECIPIENTS ||
        blob_size < e->blob_hdr) {
        outbox_env_free(ob, e);
        return MAILOUT_E_FILE;
    }
    e->size = blob_size - e->blob_hdr;
    e->rcpt = mailout_alloc(&ob->alloc, sizeof *e->rcpt * e->nrcpt);
    if (!e->rcpt) {
        outbox_env_free(ob, e);
        return MAILOUT_E_NOMEM;
    }
    {
        /* Lines are NUL-terminated now: walk them again to collect rcpts. */
        char *p = e->text;
        size_t n = 0;
        while (p < e->text + e->text_len && *p) {
            if (!strncmp(p, "rcpt ", 5))
                e->rcpt[n++] = p + 5;
            p += strlen(p) + 1;
        }
    }
    return MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* state blobs                                                         */
/* ------------------------------------------------------------------ */

/* Value of "key " line in @p text, or NULL. */
static const char *outbox_state_field(const char *text, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        if (ll > klen && !memcmp(p, key, klen) && p[klen] == ' ') {
            *len = ll - klen - 1;
            return p + klen + 1;
        }
        p += ll + (nl ? 1 : 0);
    }
    return NULL;
}

/* Reads <id>.state; a missing or unreadable one is a fresh entry. */
void outbox_state_load(mailout_outbox *ob, const char *id, ob_state *s)
{
    char name[NAME_MAX_LEN], text[STATE_MAX + 1];
    void *h;
    uint64_t size;
    size_t len = 0, vlen;
    const char *v;
    int64_t x;
    memset(s, 0, sizeof *s);
    s->created = outbox_id_time(id);
    s->next = s->created;
    outbox_make_name(name, "", id, ".state");
    if (ob->ops->open(ob->ctx, name, &h, &size) != MAILOUT_OK)
        return;
    if (size <= STATE_MAX && outbox_read_exact(ob, h, text, (size_t)size) == MAILOUT_OK)
        len = (size_t)size;
    ob->ops->close(ob->ctx, h);
    text[len] = '\0';
    if ((v = outbox_state_field(text, "attempts", &vlen)) && !outbox_parse_i64(v, vlen, &x) && x >= 0)
        s->attempts = (unsigned)x;
    if ((v = outbox_state_field(text, "next", &vlen)) && !outbox_parse_i64(v, vlen, &x))
        s->next = x;
    if ((v = outbox_state_field(text, "created", &vlen)) && !outbox_parse_i64(v, vlen, &x))
        s->created = x;
    if ((v = outbox_state_field(text, "unknown", &vlen)) && vlen == 1)
        s->unknown = v[0] == '1';
    if ((v = outbox_state_field(text, "error", &vlen))) {
        vlen = MAILOUT_MIN(vlen, sizeof s->error - 1);
        memcpy(s->error, v, vlen);
        s->error[vlen] = '\0';
    }
}

mailout_status outbox_state_store(mailout_outbox *ob, const char *id, const ob_state *s)
{
    char name[NAME_MAX_LEN], text[STATE_MAX];
    size_t pos = 0;
    void *h;
    mailout_status st;
    pos = outbox_put_str(text, pos, sizeof text, "attempts ");
    pos = outbox_put_u64(text, pos, sizeof text, s->attempts);
    pos = outbox_put_str(text, pos, sizeof text, "\nnext ");
    pos = outbox_put_i64(text, pos, sizeof text, s->next);
    pos = outbox_put_str(text, pos, sizeof text, "\ncreated ");
    pos = outbox_put_i64(text, pos, sizeof text, s->created);
    pos = outbox_put_str(text, pos, sizeof text, s->unknown ? "\nunknown 1\nerror " : "\nunknown 0\nerror ");
    pos = outbox_put_str(text, pos, sizeof text, s->error);
    pos = outbox_put_str(text, pos, sizeof text, "\n");
    if (pos >= sizeof text)
        return MAILOUT_E_INTERNAL;
    outbox_make_name(name, "", id, ".state");
    st = ob->ops->create(ob->ctx, name, &h);
    if (st != MAILOUT_OK)
        return st;
    st = ob->ops->write(ob->ctx, h, text, pos);
    if (st != MAILOUT_OK) {
        ob->ops->discard(ob->ctx, h);
        return st;
    }
    return ob->ops->commit(ob->ctx, h);
}

/* "RCPT 550 5.1.1 no such user" style summary of an attempt. */
void outbox_describe(char *dst, size_t cap, const mailout_result *r)
{
    size_t pos = 0;
    pos = outbox_put_str(dst, pos, cap, mailout_errname(r->status));
    pos = outbox_put_str(dst, pos, cap, " ");
    pos = outbox_put_str(dst, pos, cap, mailout_smtp_stage_name(r->stage));
    if (r->reply.code) {
        pos = outbox_put_str(dst, pos, cap, " ");
        pos = outbox_put_u64(dst, pos, cap, r->reply.code);
        pos = outbox_put_str(dst, pos, cap, " ");
        pos = outbox_put_str(dst, pos, cap, r->reply.text);
    }
    dst[pos < cap ? pos : cap - 1] = '\0';
    /* The store's line format must stay one line per field. */
    for (pos = 0; dst[pos]; pos++)
        if ((unsigned char)dst[pos] < 0x20 || dst[pos] == 0x7f)
            dst[pos] = '?';
}

/* ------------------------------------------------------------------ */
/* walking the entries, oldest first, in constant memory               */
/* ------------------------------------------------------------------ */


/* Copies the id of "<id><suffix>" into @p id; 0 if @p name is not one. */
static int outbox_split_name(const char *name, const char *suffix, char *id)
{
    size_t n = strlen(name), sl = strlen(suffix);
    if (n != 33 + sl || strcmp(name + 33, suffix) != 0)
        return 0;
    memcpy(id, name, 33);
    id[33] = '\0';
    return outbox_valid_id(id);
}

int outbox_blob_exists(mailout_outbox *ob, const char *name)
{
    void *h;
    uint64_t size;
    if (ob->ops->open(ob->ctx, name, &h, &size) != MAILOUT_OK)
        return 0;
    ob->ops->close(ob->ctx, h);
    return 1;
}

static int outbox_walk_cb(void *ctx, const char *name)
{
    ob_walk *w = ctx;
    char id[MAILOUT_OUTBOX_ID_MAX];
    if (outbox_split_name(name, ".msg", id)) {
        if (w->have_after && strcmp(id, w->after) <= 0)
            return 0;
        if (!w->found || strcmp(id, w->best) < 0) {
            memcpy(w->best, id, sizeof id);
            w->found = 1;
        }
    } else if (!w->have_after && !w->have_orphan && outbox_split_name(name, ".state", id)) {
        /* Orphans are looked for in the first listing only (repeated until
         * it finds none): one open per entry per walk, not per step, which
         * made a flush of n entries open n^2 files. One left by this walk
         * (a failed remove) waits for the next flush or list. */
        char msg[NAME_MAX_LEN];
        outbox_make_name(msg, "", id, ".msg");
        if (!outbox_blob_exists(w->ob, msg)) {
            memcpy(w->orphan, id, sizeof id);
            w->have_orphan = 1;
        }
    }
    return 0;
}

/* Next entry after the previous one; 1 if found, 0 at the end, <0 error. */
int outbox_walk_next(ob_walk *w)
{
    mailout_status st;
    for (;;) {
        w->found = 0;
        w->have_orphan = 0;
        st = w->ob->ops->list(w->ob->ctx, outbox_walk_cb, w);
        if (st != MAILOUT_OK)
            return st;
        if (!w->have_orphan)
            break;
        {
            /* A crash between removing .msg and .state left this. */
            char name[NAME_MAX_LEN];
            outbox_make_name(name, "", w->orphan, ".state");
            st = w->ob->ops->remove(w->ob->ctx, name);
            if (st != MAILOUT_OK)
                return st;
        }
    }
    if (!w->found)
        return 0;
    memcpy(w->after, w->best, sizeof w->best);
    w->have_after = 1;
    return 1;
}
