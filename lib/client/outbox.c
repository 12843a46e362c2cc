/*
 * The persistent outbox (see include/mailout/outbox.h for the contract).
 *
 * Blob formats (text lines end in LF; every value was validated by the
 * message layer, so none contains CR, LF or controls):
 *
 *   <id>.msg    "mailout-outbox 1 <n>\n", then n bytes of envelope:
 *               "from <addr>\n" "rcpt <addr>\n"... "dsn <notify> <ret> <envid|->\n"
 *               "flags <smtputf8> <8bit>\n" "\n"
 *               then the message bytes (before dot-stuffing) to the end
 *               of the blob: the size is the blob's, so a producer of
 *               unknown size is spooled in one pass.
 *   <id>.state  "attempts <n>\nnext <t>\ncreated <t>\nunknown <0|1>\nerror <text>\n"
 *
 * The header length is in the first line so a flush can take exactly the
 * memory the envelope needs from the allocator, parse it in place and give
 * it back: the outbox object itself stays small whatever the recipient
 * count.
 */
#include <string.h>

#include "internal.h"
#include "client/outbox_internal.h"

/* The body source of a job being sent from an entry. */
typedef struct ob_body {
    mailout_outbox *ob;
    const char *name;
    void *h;
    size_t hdr_len;
    uint64_t size;
    int is8;
} ob_body;

/* ------------------------------------------------------------------ */
/* lifetime                                                            */
/* ------------------------------------------------------------------ */

mailout_status mailout_outbox_open(mailout_outbox **out, const mailout_store_ops *ops, void *ctx,
                                   const mailout_outbox_policy *policy,
                                   int (*random)(void *ctx, void *buf, size_t len), void *random_ctx,
                                   const mailout_allocator *alloc)
{
    mailout_outbox *ob;
    if (!out || !ops || !random || !alloc || !alloc->alloc)
        return MAILOUT_E_INVAL;
    ob = mailout_alloc(alloc, sizeof *ob);
    if (!ob)
        return MAILOUT_E_NOMEM;
    memset(ob, 0, sizeof *ob);
    ob->ops = ops;
    ob->ctx = ctx;
    if (policy)
        ob->pol = *policy;
    if (!ob->pol.first_delay_s)
        ob->pol.first_delay_s = 60;
    if (!ob->pol.max_delay_s)
        ob->pol.max_delay_s = 3600;
    if (!ob->pol.max_age_s)
        ob->pol.max_age_s = 432000;
    ob->random = random;
    ob->random_ctx = random_ctx;
    ob->alloc = *alloc;
    *out = ob;
    return MAILOUT_OK;
}

void mailout_outbox_close(mailout_outbox *ob)
{
    if (ob) {
        mailout_allocator al = ob->alloc;
        mailout_release(&al, ob, sizeof *ob);
    }
}

/* ------------------------------------------------------------------ */
/* enqueue                                                             */
/* ------------------------------------------------------------------ */

/* What the envelope header of a .msg blob says, from a message (enqueue)
 * or from an entry being queued again for some recipients (requeue_rest);
 * rcpt(ctx, i) gives recipient i, or NULL to leave it out. */
typedef struct ob_hdr {
    const char *from;
    const char *(*rcpt)(const void *ctx, size_t i);
    const void *ctx;
    size_t nrcpt;
    unsigned notify;
    unsigned ret;
    const char *envid; /* NULL or "" = none */
    int smtputf8;
    int is8;
} ob_hdr;

/* The envelope text; returns its length (writes what fits). */
static size_t header_text(const ob_hdr *e, char *dst, size_t cap)
{
    size_t i, pos = outbox_put_str(dst, 0, cap, "from ");
    pos = outbox_put_str(dst, pos, cap, e->from);
    pos = outbox_put_str(dst, pos, cap, "\n");
    for (i = 0; i < e->nrcpt; i++) {
        const char *r = e->rcpt(e->ctx, i);
        if (!r)
            continue;
        pos = outbox_put_str(dst, pos, cap, "rcpt ");
        pos = outbox_put_str(dst, pos, cap, r);
        pos = outbox_put_str(dst, pos, cap, "\n");
    }
    pos = outbox_put_str(dst, pos, cap, "dsn ");
    pos = outbox_put_u64(dst, pos, cap, e->notify);
    pos = outbox_put_str(dst, pos, cap, " ");
    pos = outbox_put_u64(dst, pos, cap, e->ret);
    pos = outbox_put_str(dst, pos, cap, " ");
    pos = outbox_put_str(dst, pos, cap, e->envid && *e->envid ? e->envid : "-");
    pos = outbox_put_str(dst, pos, cap, e->smtputf8 ? "\nflags 1 " : "\nflags 0 ");
    pos = outbox_put_str(dst, pos, cap, e->is8 ? "1\n\n" : "0\n\n");
    return pos;
}

/* Writes the magic line + envelope header (text from the allocator for
 * as long as the write takes). */
static mailout_status write_header(mailout_outbox *ob, void *h, const ob_hdr *e)
{
    size_t len = header_text(e, NULL, 0), first;
    char *text;
    mailout_status st;
    char line[48];
    first = outbox_put_str(line, 0, sizeof line, OUTBOX_MAGIC);
    first = outbox_put_u64(line, first, sizeof line, len);
    line[first++] = '\n';
    st = ob->ops->write(ob->ctx, h, line, first);
    if (st != MAILOUT_OK)
        return st;
    text = mailout_alloc(&ob->alloc, len + 1);
    if (!text)
        return MAILOUT_E_NOMEM;
    header_text(e, text, len + 1);
    st = ob->ops->write(ob->ctx, h, text, len);
    mailout_release(&ob->alloc, text, len + 1);
    return st;
}

static const char *msg_rcpt(const void *ctx, size_t i)
{
    return mailout_msg_recipient(ctx, i);
}

/* Writes an entry's message bytes into the open blob @p h. */
typedef mailout_status (*ob_body_fn)(mailout_outbox *ob, void *h, void *ctx);

/* A new entry: a fresh id in @p id, the header, then the body from
 * @p body; committed whole or discarded (never half an entry). */
static mailout_status create_entry(mailout_outbox *ob, int64_t now, const ob_hdr *hdr, ob_body_fn body, void *ctx,
                                   char *id)
{
    char name[NAME_MAX_LEN];
    void *h;
    mailout_status st = outbox_make_id(ob, now, id);
    if (st != MAILOUT_OK)
        return st;
    outbox_make_name(name, "", id, ".msg");
    st = ob->ops->create(ob->ctx, name, &h);
    if (st != MAILOUT_OK)
        return st;
    st = write_header(ob, h, hdr);
    if (st == MAILOUT_OK)
        st = body(ob, h, ctx);
    if (st != MAILOUT_OK) {
        ob->ops->discard(ob->ctx, h);
        return st;
    }
    return ob->ops->commit(ob->ctx, h);
}

/* Copies the message (@p ctx) into the blob; returns the reader's or
 * store's error. */
static mailout_status spool_body(mailout_outbox *ob, void *h, void *ctx)
{
    mailout_msg *m = ctx;
    for (;;) {
        size_t n = 0;
        mailout_status st = mailout_msg_read(m, ob->buf, sizeof ob->buf, &n);
        if (n) {
            mailout_status wst = ob->ops->write(ob->ctx, h, ob->buf, n);
            if (wst != MAILOUT_OK)
                return wst;
        }
        if (st == MAILOUT_DONE)
            return MAILOUT_OK;
        /* A producer with "no data yet": spooling is allowed to wait. */
        if (st != MAILOUT_OK && st != MAILOUT_AGAIN)
            return st;
    }
}

mailout_status mailout_outbox_enqueue(mailout_outbox *ob, mailout_msg *m, unsigned flags, int64_t now, char *id)
{
    mailout_dsn_ret ret;
    mailout_status st;
    if (!ob || !m || !id)
        return MAILOUT_E_INVAL;
    flags &= MAILOUT_READ_8BIT; /* the entry holds the message, never the DATA stream */
    st = mailout_msg_read_start(m, flags);
    if (st != MAILOUT_OK)
        return st;
    ob_hdr e = {mailout_msg_envelope_from(m), msg_rcpt, m, mailout_msg_recipient_count(m), 0, 0, NULL,
                mailout_msg_needs_smtputf8(m), (flags & MAILOUT_READ_8BIT) && mailout_msg_is_8bit(m)};
    mailout_msg_dsn(m, &e.notify, &ret, &e.envid);
    e.ret = (unsigned)ret;
    return create_entry(ob, now, &e, spool_body, m, id);
}

/* ------------------------------------------------------------------ */
/* sending an entry                                                    */
/* ------------------------------------------------------------------ */

static mailout_status body_start(void *ctx, unsigned flags, uint64_t *size)
{
    ob_body *b = ctx;
    uint64_t blob;
    mailout_status st;
    unsigned char skip[64];
    size_t left = b->hdr_len;
    (void)flags; /* the stored bytes are final: 8-bit only if stored so */
    if (b->h) {
        b->ob->ops->close(b->ob->ctx, b->h);
        b->h = NULL;
    }
    st = b->ob->ops->open(b->ob->ctx, b->name, &b->h, &blob);
    if (st != MAILOUT_OK)
        return MAILOUT_E_FILE;
    while (left) {
        size_t n = MAILOUT_MIN(left, sizeof skip);
        if (outbox_read_exact(b->ob, b->h, skip, n) != MAILOUT_OK)
            return MAILOUT_E_FILE;
        left -= n;
    }
    *size = b->size;
    return MAILOUT_OK;
}

static mailout_status body_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    ob_body *b = ctx;
    mailout_status st;
    *got = 0;
    if (!b->h)
        return MAILOUT_E_STATE;
    st = b->ob->ops->read(b->ob->ctx, b->h, buf, cap, got);
    return st < 0 ? MAILOUT_E_FILE : st;
}

static int body_is_8bit(void *ctx)
{
    return ((ob_body *)ctx)->is8;
}

/* What an attempt's outcome means for the entry. */
typedef enum ob_fate { FATE_DELIVERED, FATE_DEFER, FATE_UNKNOWN, FATE_FAIL } ob_fate;

static ob_fate fate_of(mailout_status st)
{
    switch (st) {
    case MAILOUT_OK:
    case MAILOUT_E_PARTIAL: /* accepted for some: the server owns it now */
        return FATE_DELIVERED;
    case MAILOUT_E_DELIVERY_UNKNOWN:
        return FATE_UNKNOWN;
    case MAILOUT_E_REJ_PERM:
    case MAILOUT_E_SIZE:
    case MAILOUT_E_SMTPUTF8:
    case MAILOUT_E_ADDRESS:
        return FATE_FAIL;
    default:
        /* Network, 4xx, TLS and AUTH trouble: the message is fine, the
         * path is not; keep it until it ages out. */
        return FATE_DEFER;
    }
}

/* ------------------------------------------------------------------ */
/* flush                                                               */
/* ------------------------------------------------------------------ */

static int64_t backoff(const mailout_outbox_policy *p, unsigned attempts)
{
    uint64_t d = p->first_delay_s;
    while (attempts-- > 1 && d < p->max_delay_s)
        d *= 2;
    return (int64_t)(d < p->max_delay_s ? d : p->max_delay_s);
}

/* Moves entry @p id to failed/ with @p reason; the reason goes first so
 * a crash never leaves a failed message without its explanation. */
static mailout_status fail_entry(mailout_outbox *ob, const char *id, const char *reason)
{
    char from[NAME_MAX_LEN], to[NAME_MAX_LEN];
    void *h;
    mailout_status st;
    outbox_make_name(to, "failed/", id, ".reason");
    st = ob->ops->create(ob->ctx, to, &h);
    if (st != MAILOUT_OK)
        return st;
    st = ob->ops->write(ob->ctx, h, reason, strlen(reason));
    if (st == MAILOUT_OK)
        st = ob->ops->write(ob->ctx, h, "\n", 1);
    if (st != MAILOUT_OK) {
        ob->ops->discard(ob->ctx, h);
        return st;
    }
    st = ob->ops->commit(ob->ctx, h);
    outbox_make_name(from, "", id, ".msg");
    outbox_make_name(to, "failed/", id, ".msg");
    if (st == MAILOUT_OK)
        st = ob->ops->move(ob->ctx, from, to);
    outbox_make_name(from, "", id, ".state");
    if (st == MAILOUT_OK)
        st = ob->ops->remove(ob->ctx, from);
    return st;
}

/* The message is the server's now: .msg first (see the header). */
static mailout_status remove_entry(mailout_outbox *ob, const char *id)
{
    char name[NAME_MAX_LEN];
    mailout_status st;
    outbox_make_name(name, "", id, ".msg");
    st = ob->ops->remove(ob->ctx, name);
    outbox_make_name(name, "", id, ".state");
    if (st == MAILOUT_OK)
        st = ob->ops->remove(ob->ctx, name);
    return st;
}

/* One attempt at entry @p id, whose envelope is @p e. @p codes receives
 * the RCPT reply code per recipient (0: none). */
static void send_entry(mailout_outbox *ob, const char *id, const ob_env *e, mailout_outbox_send_fn send,
                       void *send_ctx, mailout_result *res, uint16_t *codes)
{
    char name[NAME_MAX_LEN];
    ob_body b;
    mailout_job job;
    outbox_make_name(name, "", id, ".msg");
    memset(&b, 0, sizeof b);
    b.ob = ob;
    b.name = name;
    b.hdr_len = e->blob_hdr;
    b.size = e->size;
    b.is8 = e->is8;
    memset(&job, 0, sizeof job);
    job.mail_from = e->from;
    job.rcpt = e->rcpt;
    job.rcpt_count = e->nrcpt;
    job.dsn_notify = e->notify;
    job.dsn_ret = (mailout_dsn_ret)e->ret;
    job.dsn_envid = e->envid;
    job.smtputf8 = e->smtputf8;
    job.body.start = body_start;
    job.body.read = body_read;
    job.body.is_8bit = body_is_8bit;
    job.body.ctx = &b;
    job.body.stuffs = 0; /* stored unstuffed: the engine stuffs for DATA */
    memset(res, 0, sizeof *res);
    memset(codes, 0, sizeof *codes * e->nrcpt);
    send(send_ctx, &job, res, codes);
    if (b.h)
        ob->ops->close(ob->ctx, b.h);
}

/* Recipients still to try after a partial delivery: a 4xx (or no) reply. */
static int retry_rcpt(uint16_t code)
{
    return code == 0 || (code >= 400 && code < 500);
}

/* The recipients of a partial delivery still to try (see requeue_rest). */
typedef struct retry_set {
    const ob_env *e;
    const uint16_t *codes;
} retry_set;

static const char *retry_rcpt_at(const void *ctx, size_t i)
{
    const retry_set *r = ctx;
    return retry_rcpt(r->codes[i]) ? r->e->rcpt[i] : NULL;
}

/* An entry's message bytes: its id and the size of its header. */
typedef struct ob_old_body {
    const char *id;
    size_t skip;
} ob_old_body;

/* Copies the message bytes of an entry (@p ctx, an ob_old_body) into @p h. */
static mailout_status copy_body(mailout_outbox *ob, void *h, void *ctx)
{
    const ob_old_body *old = ctx;
    size_t skip = old->skip;
    char name[NAME_MAX_LEN];
    void *in;
    uint64_t size;
    mailout_status st;
    outbox_make_name(name, "", old->id, ".msg");
    if (ob->ops->open(ob->ctx, name, &in, &size) != MAILOUT_OK)
        return MAILOUT_E_FILE;
    for (;;) {
        size_t n = 0;
        st = ob->ops->read(ob->ctx, in, ob->buf, sizeof ob->buf, &n);
        if (st < 0)
            break;
        if (skip >= n) {
            skip -= n;
        } else {
            st = ob->ops->write(ob->ctx, h, ob->buf + skip, n - skip);
            skip = 0;
            if (st != MAILOUT_OK)
                break;
        }
        if (n == 0) {
            st = MAILOUT_OK;
            break;
        }
    }
    ob->ops->close(ob->ctx, in);
    return st;
}

/* Some recipients took the message, others answered 4xx: the latter are
 * queued again as a new entry with the same bytes, so nobody is lost and
 * nobody gets it twice; then the old entry goes. A crash in between can
 * only leave both (at least once, as documented). */
static mailout_status requeue_rest(mailout_outbox *ob, const char *id, const ob_env *e, const uint16_t *codes,
                                   ob_state *s, int64_t now)
{
    char nid[MAILOUT_OUTBOX_ID_MAX];
    retry_set rs = {e, codes};
    ob_hdr hdr = {e->from, retry_rcpt_at, &rs, e->nrcpt, e->notify, e->ret, e->envid, e->smtputf8, e->is8};
    ob_old_body old = {id, e->blob_hdr};
    mailout_status st = create_entry(ob, now, &hdr, copy_body, &old, nid);
    /* The rest waits like any deferred entry (and keeps its age). */
    s->attempts++;
    s->unknown = 0;
    s->next = now + backoff(&ob->pol, s->attempts);
    if (st == MAILOUT_OK)
        st = outbox_state_store(ob, nid, s);
    return st == MAILOUT_OK ? remove_entry(ob, id) : st;
}

/* The attempt's outcome for the entry, once the envelope is loaded. */
static mailout_status record_outcome(mailout_outbox *ob, const char *id, const ob_env *e, const uint16_t *codes,
                                     const mailout_result *res, ob_state *s, int64_t now, mailout_outbox_stats *stats)
{
    ob_fate fate = fate_of(res->status);
    outbox_describe(s->error, sizeof s->error, res);
    if (fate == FATE_DELIVERED) {
        size_t i, retry = 0;
        for (i = 0; res->status == MAILOUT_E_PARTIAL && i < e->nrcpt; i++)
            retry += retry_rcpt(codes[i]);
        stats->delivered++;
        return retry ? requeue_rest(ob, id, e, codes, s, now) : remove_entry(ob, id);
    }
    if (fate == FATE_FAIL) {
        stats->failed++;
        return fail_entry(ob, id, s->error);
    }
    s->attempts++;
    s->unknown = fate == FATE_UNKNOWN;
    s->next = now + backoff(&ob->pol, s->attempts);
    if (s->unknown)
        stats->unknown++;
    else
        stats->deferred++;
    return outbox_state_store(ob, id, s);
}

/* One entry: skip, expire, or attempt and record the outcome. */
static mailout_status flush_one(mailout_outbox *ob, const char *id, int64_t now, int forced,
                                mailout_outbox_send_fn send, void *send_ctx, mailout_outbox_stats *stats)
{
    ob_state s;
    ob_env e;
    uint16_t *codes;
    mailout_result res;
    mailout_status st;
    outbox_state_load(ob, id, &s);
    if (!forced && (s.next > now || (s.unknown && ob->pol.park_unknown))) {
        stats->waiting++;
        return MAILOUT_OK;
    }
    if (now - s.created > (int64_t)ob->pol.max_age_s) {
        char reason[sizeof s.error + 48];
        size_t pos = outbox_put_str(reason, 0, sizeof reason, "expired after ");
        pos = outbox_put_u64(reason, pos, sizeof reason, s.attempts);
        pos = outbox_put_str(reason, pos, sizeof reason, " attempts; last: ");
        pos = outbox_put_str(reason, pos, sizeof reason, s.error);
        reason[MAILOUT_MIN(pos, sizeof reason - 1)] = '\0';
        stats->failed++;
        return fail_entry(ob, id, reason);
    }
    st = outbox_env_load(ob, id, &e);
    if (st == MAILOUT_E_FILE) {
        /* Unreadable or corrupt: parked in failed/ so it cannot block the rest. */
        stats->failed++;
        return fail_entry(ob, id, "E_FILE entry unreadable");
    }
    if (st != MAILOUT_OK)
        return st;
    codes = mailout_alloc(&ob->alloc, sizeof *codes * e.nrcpt);
    if (!codes) {
        outbox_env_free(ob, &e);
        return MAILOUT_E_NOMEM;
    }
    send_entry(ob, id, &e, send, send_ctx, &res, codes);
    st = record_outcome(ob, id, &e, codes, &res, &s, now, stats);
    mailout_release(&ob->alloc, codes, sizeof *codes * e.nrcpt);
    outbox_env_free(ob, &e);
    return st;
}

mailout_status mailout_outbox_flush(mailout_outbox *ob, int64_t now, const char *only_id,
                                    mailout_outbox_send_fn send, void *send_ctx, mailout_outbox_stats *stats)
{
    mailout_outbox_stats local;
    ob_walk w;
    int r;
    if (!ob || !send)
        return MAILOUT_E_INVAL;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (only_id) {
        char name[NAME_MAX_LEN];
        if (!outbox_valid_id(only_id))
            return MAILOUT_E_INVAL;
        outbox_make_name(name, "", only_id, ".msg");
        if (!outbox_blob_exists(ob, name))
            return MAILOUT_E_FILE;
        return flush_one(ob, only_id, now, 1, send, send_ctx, stats);
    }
    memset(&w, 0, sizeof w);
    w.ob = ob;
    while ((r = outbox_walk_next(&w)) == 1) {
        mailout_status st = flush_one(ob, w.after, now, 0, send, send_ctx, stats);
        if (st != MAILOUT_OK)
            return st;
    }
    return r == 0 ? MAILOUT_OK : (mailout_status)r;
}

mailout_status mailout_outbox_list(mailout_outbox *ob, void (*cb)(void *ctx, const mailout_outbox_entry *e),
                                   void *ctx)
{
    ob_walk w;
    int r;
    if (!ob || !cb)
        return MAILOUT_E_INVAL;
    memset(&w, 0, sizeof w);
    w.ob = ob;
    while ((r = outbox_walk_next(&w)) == 1) {
        ob_env e;
        ob_state s;
        mailout_outbox_entry ent;
        if (outbox_env_load(ob, w.after, &e) != MAILOUT_OK)
            continue; /* being removed, or corrupt: flush deals with it */
        outbox_state_load(ob, w.after, &s);
        memset(&ent, 0, sizeof ent);
        ent.id = w.after;
        ent.from = e.from;
        ent.rcpt_count = e.nrcpt;
        ent.size = e.size;
        ent.created = s.created;
        ent.next_try = s.next;
        ent.attempts = s.attempts;
        ent.unknown = s.unknown;
        ent.last_error = s.error;
        cb(ctx, &ent);
        outbox_env_free(ob, &e);
    }
    return r == 0 ? MAILOUT_OK : (mailout_status)r;
}

mailout_status mailout_outbox_release(mailout_outbox *ob, const char *id)
{
    ob_state s;
    if (!ob || !id || !outbox_valid_id(id))
        return MAILOUT_E_INVAL;
    outbox_state_load(ob, id, &s);
    s.unknown = 0;
    s.next = s.created;
    return outbox_state_store(ob, id, &s);
}
