#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- body source ---- */

static mailout_status tb_start(void *ctx, unsigned flags, uint64_t *size)
{
    tbody *b = ctx;
    b->start_flags = flags;
    b->starts++;
    b->pos = 0;
    b->again_flip = 0;
    if (b->start_st != MAILOUT_OK)
        return b->start_st;
    *size = b->size_unknown ? MAILOUT_SIZE_UNKNOWN : (uint64_t)b->len;
    return MAILOUT_OK;
}

static mailout_status tb_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    tbody *b = ctx;
    *got = 0;
    if (b->fail_at >= 0 && b->pos >= (size_t)b->fail_at)
        return b->fail_st;
    if (b->again && !b->again_flip) {
        b->again_flip = 1;
        return MAILOUT_AGAIN;
    }
    b->again_flip = 0;
    size_t n = b->len - b->pos;
    if (n > cap)
        n = cap;
    if (b->chunk && n > b->chunk)
        n = b->chunk;
    if (b->fail_at >= 0 && b->pos + n > (size_t)b->fail_at)
        n = (size_t)b->fail_at - b->pos;
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    *got = n;
    return b->pos == b->len ? MAILOUT_DONE : MAILOUT_OK;
}

static int tb_is8(void *ctx)
{
    return ((tbody *)ctx)->is8;
}

void tbody_init(tbody *b, const char *data)
{
    memset(b, 0, sizeof *b);
    b->data = data;
    b->len = strlen(data);
    b->fail_at = -1;
}

mailout_body tbody_body(tbody *b)
{
    mailout_body m = {tb_start, tb_read, tb_is8, b, b->stuffs};
    return m;
}

/* ---- callbacks ---- */

static void cb_trace(void *ctx, mailout_trace_dir dir, const char *line, size_t len)
{
    hrun *r = ctx;
    const char *tag = dir == MAILOUT_TRACE_SENT ? "C: " : dir == MAILOUT_TRACE_RECV ? "S: " : "I: ";
    size_t need = 3 + len + 1;
    if (r->trace_len + need >= sizeof r->trace)
        return;
    memcpy(r->trace + r->trace_len, tag, 3);
    memcpy(r->trace + r->trace_len + 3, line, len);
    r->trace[r->trace_len + 3 + len] = '\n';
    r->trace_len += need;
    r->trace[r->trace_len] = '\0';
}

static void cb_progress(void *ctx, uint64_t sent, uint64_t total)
{
    hrun *r = ctx;
    r->progress_calls++;
    assert_true(sent >= r->progress_sent);
    r->progress_sent = sent;
    r->progress_total = total;
}

static void cb_rcpt(void *ctx, size_t index, const mailout_reply *reply)
{
    hrun *r = ctx;
    if (index == 0)
        r->rcpt_cb = 0; /* a new job */
    assert_int_equal(index, r->rcpt_cb);
    if (index < 8)
        r->rcpt_cb_codes[index] = reply->code;
    r->rcpt_cb++;
}

int trace_has(const hrun *r, const char *needle)
{
    return strstr(r->trace, needle) != NULL;
}

void hrun_init(hrun *r)
{
    memset(r, 0, sizeof *r);
    r->cfg.ehlo_name = "client.example";
    r->cfg.tls = MAILOUT_TLS_NONE;
    r->cfg.cb.trace = cb_trace;
    r->cfg.cb.progress = cb_progress;
    r->cfg.cb.rcpt = cb_rcpt;
    r->cfg.cb.ctx = r;
}

void hrun_job(hrun *r, int i, const char *from, const char *const *rcpt, const char *body)
{
    size_t n = 0;
    while (rcpt[n]) {
        r->rcpts[i][n] = rcpt[n];
        n++;
    }
    tbody_init(&r->bodies[i], body);
    mailout_job *j = &r->jobs[i];
    memset(j, 0, sizeof *j);
    j->mail_from = from;
    j->rcpt = r->rcpts[i];
    j->rcpt_count = n;
    j->body = tbody_body(&r->bodies[i]);
}

/* ---- the run ---- */

typedef struct hstate {
    char got[16384];
    size_t got_len;
} hstate;

/* The engine waits: the client bytes so far must be the C() steps here. */
static void sync_client(hstate *h, const hstep *script, size_t *pos)
{
    char exp[16384];
    size_t exp_len = 0;
    while (script[*pos].kind == ST_C) {
        assert_true(exp_len + script[*pos].len <= sizeof exp);
        memcpy(exp + exp_len, script[*pos].data, script[*pos].len);
        exp_len += script[*pos].len;
        (*pos)++;
    }
    if (exp_len != h->got_len || memcmp(exp, h->got, exp_len) != 0)
        print_error("client bytes differ before script step %zu\n", *pos);
    assert_bytes_equal(exp, exp_len, h->got, h->got_len);
    h->got_len = 0;
}

static void deliver(mailout_smtp *s, const char *data, size_t len, size_t piece)
{
    size_t off = 0;
    while (off < len) {
        size_t cap;
        unsigned char *in = mailout_smtp_in_buf(s, &cap);
        assert_true(cap >= 1);
        size_t n = len - off;
        if (piece && n > piece)
            n = piece;
        if (n > cap)
            n = cap;
        memcpy(in, data + off, n);
        off += n;
        if (mailout_smtp_in_ack(s, n) < 0)
            return; /* the rest is never read */
    }
}

static void deliver_step(mailout_smtp *s, const hstep *st, const hmode *m)
{
    if (m->bytewise) {
        deliver(s, st->data, st->len, 1);
    } else if (m->split && m->split < st->len) {
        deliver(s, st->data, m->split, 0);
        if (mailout_smtp_status(s) >= 0)
            deliver(s, st->data + m->split, st->len - m->split, 0);
    } else {
        deliver(s, st->data, st->len, 0);
    }
}

mailout_status hrun_go(hrun *r, const hstep *script, const hmode *m, int tls_active)
{
    static hstate h;
    h.got_len = 0;
    mailout_allocator a = mailout_heap_allocator();
    if (m->out_size)
        r->cfg.out_buf_size = m->out_size;
    assert_status(MAILOUT_OK, mailout_smtp_new(&r->s, &r->cfg, &a, tls_active));
    mailout_smtp *s = r->s;
    size_t pos = 0;
    unsigned guard = 0;
    for (;;) {
        assert_true(++guard < 1000000);
        unsigned w = mailout_smtp_want(s);
        if (w & MAILOUT_SMTP_WANT_WRITE) {
            size_t len;
            const unsigned char *p = mailout_smtp_out_buf(s, &len);
            if (!p)
                continue;
            size_t n = m->drain && m->drain < len ? m->drain : len;
            assert_true(h.got_len + n <= sizeof h.got);
            memcpy(h.got + h.got_len, p, n);
            h.got_len += n;
            assert_status(MAILOUT_OK, mailout_smtp_out_ack(s, n));
            continue;
        }
        if (w & MAILOUT_SMTP_WANT_BODY) {
            size_t len;
            const unsigned char *p = mailout_smtp_out_buf(s, &len);
            if (p) {
                memcpy(h.got + h.got_len, p, len);
                h.got_len += len;
                assert_status(MAILOUT_OK, mailout_smtp_out_ack(s, len));
            }
            continue;
        }
        /* the engine waits: check the client's bytes, run the next event */
        sync_client(&h, script, &pos);
        const hstep *st = &script[pos];
        if (w == MAILOUT_SMTP_WANT_NONE) {
            if (st->kind == ST_ABORT) { /* aborting a finished session changes nothing */
                mailout_smtp_abort(s, st->status);
                pos++;
                continue;
            }
            if (st->kind != ST_END)
                print_error("engine finished (%s) at script step %zu (kind %d)\n",
                            mailout_errname(mailout_smtp_status(s)), pos, st->kind);
            assert_int_equal(st->kind, ST_END);
            break;
        }
        if (st->kind == ST_END) {
            print_error("script ended but engine wants %u\n", w);
            fail();
        }
        pos++;
        switch (st->kind) {
        case ST_S:
            deliver_step(s, st, m);
            break;
        case ST_ABORT:
            mailout_smtp_abort(s, st->status);
            break;
        case ST_TLS:
            assert_int_equal(w, MAILOUT_SMTP_WANT_TLS);
            mailout_smtp_tls_done(s, st->status);
            break;
        case ST_SUBMIT:
            assert_int_equal(w, MAILOUT_SMTP_WANT_IDLE);
            assert_status(st->status, mailout_smtp_submit(s, &r->jobs[st->arg]));
            break;
        case ST_QUIT:
            assert_int_equal(w, MAILOUT_SMTP_WANT_IDLE);
            assert_status(MAILOUT_OK, mailout_smtp_quit(s));
            break;
        case ST_TIME:
            mailout_smtp_set_time(s, (uint64_t)st->arg);
            break;
        default:
            fail();
        }
    }
    r->final = mailout_smtp_status(s);
    return r->final;
}

void hrun_free(hrun *r)
{
    mailout_smtp_free(r->s);
    r->s = NULL;
}

void hrun_all(void (*setup)(hrun *), const hstep *script, int tls_active, int vary_out, void (*check)(hrun *))
{
    hrun *r = malloc(sizeof *r);
    assert_non_null(r);
    size_t maxlen = 0;
    for (const hstep *p = script; p->kind != ST_END; p++)
        if (p->kind == ST_S && p->len > maxlen)
            maxlen = p->len;
    hmode modes[4] = {{0, 0, 0, 0}, {0, 0, 0, 1}, {0, 1, 0, 0}, {64, 1, 0, 1}};
    for (size_t i = 0; i < 4; i++) {
        if (!vary_out && modes[i].out_size)
            continue;
        setup(r);
        hrun_go(r, script, &modes[i], tls_active);
        check(r);
        hrun_free(r);
    }
    for (size_t k = 1; k < maxlen; k++) {
        hmode m = {0, 0, k, 0};
        setup(r);
        hrun_go(r, script, &m, tls_active);
        check(r);
        hrun_free(r);
    }
    for (size_t o = 64; vary_out && o <= 300; o++) {
        hmode m = {o, o % 7 == 0 ? 3 : 0, 0, 0};
        setup(r);
        hrun_go(r, script, &m, tls_active);
        check(r);
        hrun_free(r);
    }
    free(r);
}
