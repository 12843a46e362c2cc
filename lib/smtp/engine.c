/*
 * The ESMTP engine's frame: memory, the command ring, the output and
 * input windows, time, and the sticky error. Protocol decisions live in
 * session.c and txn.c. See mailout/smtp.h for the contract.
 */
#include <string.h>

#include "smtp_internal.h"

#define SMTP_ALL_MECHS (MAILOUT_AUTH_PLAIN | MAILOUT_AUTH_LOGIN | MAILOUT_AUTH_CRAM_MD5 | \
                        MAILOUT_AUTH_XOAUTH2 | MAILOUT_AUTH_SCRAM_SHA256)

/* In mailout_smtp_stage order, NUL-separated: no pointer table. */
static const char stage_names[] = "NONE\0CONNECT\0GREETING\0EHLO\0STARTTLS\0TLS\0AUTH\0"
                                  "MAIL\0RCPT\0DATA\0BODY\0END\0RSET\0QUIT\0";

const char *mailout_smtp_stage_name(mailout_smtp_stage stage)
{
    const char *p = stage_names;
    if ((unsigned)stage > MAILOUT_STAGE_QUIT)
        return "?";
    for (unsigned i = 0; i < (unsigned)stage; i++)
        p += strlen(p) + 1;
    return p;
}

mailout_smtp_stage smtp_op_stage(smtp_op op)
{
    static const uint8_t map[] = {
        [OP_GREETING] = MAILOUT_STAGE_GREETING, [OP_EHLO] = MAILOUT_STAGE_EHLO,
        [OP_HELO] = MAILOUT_STAGE_EHLO,         [OP_STARTTLS] = MAILOUT_STAGE_STARTTLS,
        [OP_AUTH] = MAILOUT_STAGE_AUTH,         [OP_AUTH_RESP] = MAILOUT_STAGE_AUTH,
        [OP_RSET] = MAILOUT_STAGE_RSET,         [OP_MAIL] = MAILOUT_STAGE_MAIL,
        [OP_RCPT] = MAILOUT_STAGE_RCPT,         [OP_DATA] = MAILOUT_STAGE_DATA,
        [OP_END] = MAILOUT_STAGE_END,           [OP_BDAT] = MAILOUT_STAGE_BODY,
        [OP_QUIT] = MAILOUT_STAGE_QUIT,
    };
    return (unsigned)op < sizeof map ? (mailout_smtp_stage)map[op] : MAILOUT_STAGE_NONE;
}

/* ------------------------------------------------------------------ */
/* creation                                                            */
/* ------------------------------------------------------------------ */

/* Printable ASCII without space: a domain or address literal. */
/* Length of @p v if every byte is >= @p min and not DEL (and ASCII
 * unless @p eight_bit), else SIZE_MAX. */
static size_t text_len(const char *v, unsigned char min, int eight_bit)
{
    size_t len = 0;
    for (; v[len]; len++) {
        unsigned char c = (unsigned char)v[len];
        if (c < min || c == 0x7f || (c > 0x7f && !eight_bit))
            return SIZE_MAX;
    }
    return len;
}

static mailout_status check_config(const mailout_smtp_config *cfg, int tls_active)
{
    /* EHLO: printable ASCII without space (a domain or address literal);
     * user: no controls */
    size_t ehlo = cfg->ehlo_name ? text_len(cfg->ehlo_name, 0x21, 0) : 0;
    if (ehlo < 1 || ehlo > 255 || (cfg->user && text_len(cfg->user, 0x20, 1) == SIZE_MAX))
        return MAILOUT_E_INVAL;
    if ((unsigned)cfg->tls > MAILOUT_TLS_NONE) /* REQUIRED, IMPLICIT, NONE: 0..2 */
        return MAILOUT_E_INVAL;
    if (cfg->tls == MAILOUT_TLS_IMPLICIT && !tls_active)
        return MAILOUT_E_INVAL;
    /* a TLS requirement this build cannot meet: refused, never a
     * plaintext session instead (SECURITY-RULES 2.1) */
    if (!MAILOUT_ENABLE_STARTTLS && cfg->tls == MAILOUT_TLS_REQUIRED)
        return MAILOUT_E_UNSUPPORTED;
    if (cfg->out_buf_size != 0 && cfg->out_buf_size < 64)
        return MAILOUT_E_INVAL;
    if (cfg->auth_mechs & ~(unsigned)SMTP_ALL_MECHS)
        return MAILOUT_E_INVAL;
    return MAILOUT_OK;
}

mailout_status mailout_smtp_new(mailout_smtp **out, const mailout_smtp_config *cfg, const mailout_allocator *alloc,
                                int tls_active)
{
    if (!out || !cfg || !alloc)
        return MAILOUT_E_INVAL;
    mailout_status st = check_config(cfg, tls_active);
    if (st != MAILOUT_OK)
        return st;
    size_t out_cap = cfg->out_buf_size ? cfg->out_buf_size : 256;
    size_t head = SMTP_HEAD_SIZE;
    if (out_cap > SIZE_MAX - head)
        return MAILOUT_E_INVAL;
    size_t total = SMTP_ALLOC_SIZE(out_cap);
    unsigned char *mem = mailout_alloc(alloc, total);
    if (!mem)
        return MAILOUT_E_NOMEM;
    mailout_smtp *s = (mailout_smtp *)(void *)mem;
    memset(s, 0, sizeof *s);
    s->alloc = *alloc;
#if SMTP_CFG_COMPACT
    s->cfg.ehlo_name = cfg->ehlo_name;
    s->cfg.user = cfg->user;
    s->cfg.password = cfg->password;
    s->cfg.timeout_ms = cfg->timeout_ms;
    s->cfg.cb = cfg->cb;
    s->cfg.tls = (uint8_t)cfg->tls;               /* checked: 0..2 */
    s->cfg.auth_mechs = (uint8_t)cfg->auth_mechs; /* checked: 5 bits */
    s->cfg.allow_plaintext_auth = cfg->allow_plaintext_auth != 0;
#if MAILOUT_ENABLE_PIPELINING
    s->cfg.no_pipelining = cfg->no_pipelining != 0;
#endif
#if MAILOUT_ENABLE_CHUNKING
    s->cfg.no_chunking = cfg->no_chunking != 0;
#endif
#else
    s->cfg = *cfg;
#endif
    s->out_cap = out_cap;
    s->tls_active = tls_active ? 1 : 0;
    /* the greeting is awaited as if a command had been sent (its
     * deadline is armed here) */
    smtp_push_sent(s, OP_GREETING, 0);
    smtp_arm(s);
    *out = s;
    return MAILOUT_OK;
}

void mailout_smtp_free(mailout_smtp *s)
{
    if (!s)
        return;
    /* the whole allocation: AUTH state, the receive buffer (SASL work),
     * and the output buffer, which held the encoded credentials */
    mailout_allocator a = s->alloc;
    size_t n = SMTP_ALLOC_SIZE(s->out_cap);
    mailout_crypto_wipe(s, n);
    mailout_release(&a, s, n);
}

/* ------------------------------------------------------------------ */
/* the command ring                                                    */
/* ------------------------------------------------------------------ */

void smtp_push(mailout_smtp *s, smtp_op op, unsigned arg)
{
    /* Callers never queue more than a group: RSET + MAIL + RCPT... + DATA,
     * or one BDAT at a time (checked by smtp_queue_room); the small ring
     * of a build without PIPELINING is guarded all the same */
    if (!MAILOUT_ENABLE_PIPELINING && SMTP_QDIST(s->q_head, s->q_tail) >= SMTP_QLEN) {
        /* cannot happen: stop, with the record and the job's result
         * saying why (smtp_fail never pushes) */
        smtp_fail(s, MAILOUT_E_INTERNAL, smtp_op_stage(op), NULL);
        return;
    }
    s->q[s->q_tail % SMTP_QLEN] = SMTP_QENT(op, arg);
    s->q_tail++;
}

void smtp_push_sent(mailout_smtp *s, smtp_op op, unsigned arg)
{
    smtp_push(s, op, arg);
    s->q_sent = s->q_tail;
}

size_t smtp_awaiting(const mailout_smtp *s)
{
    return SMTP_QDIST(s->q_head, s->q_sent);
}

size_t smtp_queue_room(const mailout_smtp *s)
{
    return SMTP_QLEN - SMTP_QDIST(s->q_head, s->q_tail);
}

int smtp_awaits(const mailout_smtp *s, smtp_op op)
{
    for (smtp_qidx i = s->q_head; i != s->q_sent; i++)
        if (SMTP_QOP(s->q[i % SMTP_QLEN]) == op)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* failure, trace, time                                                */
/* ------------------------------------------------------------------ */

#if MAILOUT_ENABLE_TRACE /* else an empty inline (smtp_internal.h) */
void smtp_info(mailout_smtp *s, const char *text)
{
    if (s->cfg.cb.trace)
        s->cfg.cb.trace(s->cfg.cb.ctx, MAILOUT_TRACE_INFO, text, strlen(text));
}
#endif

/* All data went out and its reply is still due: the server may or may
 * not have taken the message (RFC 5321 §6.1, RFC 1047). */
static int delivery_unknown(const mailout_smtp *s)
{
    if (!s->t.active || s->out_pos != s->out_len)
        return 0;
    for (smtp_qidx i = s->q_head; i != s->q_sent; i++) {
        smtp_qent e = s->q[i % SMTP_QLEN];
        if ((SMTP_QOP(e) == OP_END && !s->t.empty_data) || (MAILOUT_ENABLE_CHUNKING && SMTP_QOP(e) == OP_BDAT && SMTP_QARG(e)))
            return 1;
    }
    return 0;
}

/* The status for a refusal: 4xx temporary, 5xx permanent, else the
 * server broke the protocol. */
mailout_status smtp_refusal(uint16_t code)
{
    return code >= 500 ? MAILOUT_E_REJ_PERM : code >= 400 ? MAILOUT_E_REJ_TEMP : MAILOUT_E_PROTO;
}

mailout_status smtp_fail(mailout_smtp *s, mailout_status st, mailout_smtp_stage stage, const mailout_reply *r)
{
    if (s->status < 0)
        return s->status;
    if (s->quit_then_fail) {
        /* Whatever ends the polite QUIT (its reply, a close, a timeout),
         * the outcome is the refusal that caused it. */
        s->quit_then_fail = 0;
        st = s->failure.status;
        stage = s->failure.stage;
        r = &s->failure.reply; /* already there */
        memset(&s->result.reply, 0, sizeof s->result.reply); /* QUIT's reply went there */
    }
    if (st != MAILOUT_E_SERVER_SHUTDOWN && delivery_unknown(s)) {
        st = MAILOUT_E_DELIVERY_UNKNOWN;
        stage = MAILOUT_STAGE_END;
    }
    s->status = st;
    s->failure.status = st;
    s->failure.stage = stage;
    /* a reply given is the one just parsed into the record (reply_begin;
     * in the QUIT window above it is replaced); without one, whatever
     * was parsed last is not the cause */
    if (!r)
        memset(&s->failure.reply, 0, sizeof s->failure.reply);
    smtp_txn_abort(s, st, stage, r);
    smtp_auth_end(s);
    s->deadline = UINT64_MAX;
    return st;
}

/* QUIT is over: answered, timed out, or the peer closed. The normal end,
 * unless the session was already refused (a 5xx greeting gets its QUIT
 * too): then the outcome is that refusal. */
static mailout_status quit_over(mailout_smtp *s)
{
    s->phase = PH_DONE;
    s->deadline = UINT64_MAX;
    if (s->quit_then_fail)
        return smtp_fail(s, MAILOUT_OK, MAILOUT_STAGE_QUIT, NULL);
    return MAILOUT_OK;
}

/* The wait for @p op's reply, or (OP_BDAT) for a data block to go out. */
static uint32_t op_timeout(const mailout_smtp *s, smtp_op op)
{
    uint32_t t = s->cfg.timeout_ms;
    if (op == OP_QUIT) /* only politeness: never hold the caller long */
        return t && t < 10000u ? t : 10000u;
    if (t)
        return t;
    /* minutes: DATA 2, end of data 10, a data block (DATA's or BDAT's) 3,
     * others 5 (QUIT has its own bound above) */
    static const uint8_t minutes[OP_QUIT] = {
        5, 5, 5, 5, 5, 5, 5, 5, 5, [OP_DATA] = 2, [OP_END] = 10, [OP_BDAT] = 3,
    };
    return minutes[op] * 60000u;
}

static smtp_op current_op(const mailout_smtp *s)
{
    if (smtp_awaiting(s))
        return SMTP_QOP(s->q[s->q_head % SMTP_QLEN]);
    if (s->q_sent != s->q_tail)
        return SMTP_QOP(s->q[s->q_sent % SMTP_QLEN]);
    return OP_END;
}

static mailout_smtp_stage current_stage(const mailout_smtp *s)
{
    if (s->t.body_on)
        return MAILOUT_STAGE_BODY;
    if (smtp_awaiting(s) || s->q_sent != s->q_tail)
        return smtp_op_stage(current_op(s));
    if (SMTP_IN_TLS(s))
        return MAILOUT_STAGE_TLS;
    return MAILOUT_STAGE_NONE;
}

/* A deadline exists for every awaited reply and for data in flight; it is
 * re-armed by every sign of progress (bytes acknowledged, a reply). */
void smtp_arm(mailout_smtp *s)
{
    int busy = smtp_awaiting(s) || s->q_sent != s->q_tail || s->t.body_on || s->out_pos != s->out_len;
    if (s->status < 0 || s->phase == PH_DONE || SMTP_IN_TLS(s) || !busy) {
        s->deadline = UINT64_MAX;
        return;
    }
    /* data going out with no reply due waits as a data block does */
    uint32_t dur = op_timeout(s, s->t.body_on && !smtp_awaiting(s) ? OP_BDAT : current_op(s));
    /* before the first set_time() now is 0: the deadline is the duration
     * (set_time() re-arms from its first time) */
    uint64_t at = s->now + dur;
    s->deadline = at < dur ? UINT64_MAX - 1 : at; /* it wrapped: as late as can be */
}

void mailout_smtp_set_time(mailout_smtp *s, uint64_t now_ms)
{
    if (!s)
        return;
    if (!s->have_time) {
        /* the clock's origin is only known now: start the first wait here */
        s->have_time = 1;
        s->now = now_ms;
        if (s->deadline != UINT64_MAX)
            smtp_arm(s);
        return;
    }
    s->now = now_ms;
    if (s->status < 0 || s->deadline == UINT64_MAX || now_ms < s->deadline)
        return;
    if (s->phase == PH_QUIT) {
        quit_over(s);
        return;
    }
    smtp_fail(s, MAILOUT_E_TIMEOUT, current_stage(s), NULL);
}

uint64_t mailout_smtp_deadline(const mailout_smtp *s)
{
    return s ? s->deadline : UINT64_MAX;
}

/* ------------------------------------------------------------------ */
/* state queries                                                       */
/* ------------------------------------------------------------------ */

/* The body can produce bytes now. BDAT chunks go out one at a time
 * without PIPELINING (RFC 3030 §4.2) and never overflow the ring. */
static int body_ready(const mailout_smtp *s)
{
    if (!s->t.body_on || s->t.body_again)
        return 0;
    if (!SMTP_BDAT(s) || s->t.empty_data)
        return 1;
    if (smtp_queue_room(s) == 0)
        return 0;
    return SMTP_PIPELINED(s) || smtp_awaiting(s) == 0;
}

unsigned mailout_smtp_want(const mailout_smtp *s)
{
    if (!s || s->status < 0 || s->phase == PH_DONE)
        return MAILOUT_SMTP_WANT_NONE;
    unsigned w = 0;
    if (s->out_pos != s->out_len || s->w.active || s->q_sent != s->q_tail || body_ready(s))
        w |= MAILOUT_SMTP_WANT_WRITE;
    if (s->t.body_on && s->t.body_again)
        w |= MAILOUT_SMTP_WANT_BODY;
    if (SMTP_IN_TLS(s) && !w)
        return MAILOUT_SMTP_WANT_TLS;
    if (smtp_awaiting(s))
        w |= MAILOUT_SMTP_WANT_READ;
    if (s->phase == PH_IDLE && !w)
        w = MAILOUT_SMTP_WANT_IDLE;
    return w;
}

mailout_status mailout_smtp_status(const mailout_smtp *s)
{
    return s ? s->status : MAILOUT_E_INVAL;
}

const mailout_result *mailout_smtp_result(const mailout_smtp *s)
{
    return s ? &s->result : NULL;
}

const mailout_result *mailout_smtp_failure(const mailout_smtp *s)
{
    return s ? &s->failure : NULL;
}

uint16_t mailout_smtp_rcpt_code(const mailout_smtp *s, size_t index)
{
    if (!s || s->live != SMTP_LIVE_TXN || index >= s->job.rcpt_count || index >= MAILOUT_MAX_RECIPIENTS)
        return 0;
    return s->u.d.rcpt_code[index];
}

unsigned mailout_smtp_caps(const mailout_smtp *s, uint64_t *size_limit, unsigned *auth_mechs)
{
    if (size_limit)
        *size_limit = s ? s->caps.size_limit : 0;
    if (auth_mechs)
        *auth_mechs = s ? s->caps.auth : 0;
    return s ? s->caps.caps : 0;
}

/* ------------------------------------------------------------------ */
/* output                                                              */
/* ------------------------------------------------------------------ */

/* Fill the output buffer behind its first @p n bytes. */
static void fill(mailout_smtp *s, size_t n)
{
    while (n < s->out_cap && s->status >= 0) {
        if (s->w.active) {
            n += smtp_writer_run(s, SMTP_OUT(s) + n, s->out_cap - n);
            if (s->w.active)
                break;
            continue;
        }
        if (s->q_sent != s->q_tail) {
            smtp_qent e = s->q[s->q_sent % SMTP_QLEN];
            s->q_sent++;
            smtp_writer_start(s, SMTP_QOP(e), SMTP_QARG(e));
            continue;
        }
        if (body_ready(s)) {
            n = smtp_body_fill(s, n);
            /* a BDAT source error queues RSET without producing data
             * (the end of DATA's data is pushed as sent: nothing to write) */
            if (MAILOUT_ENABLE_CHUNKING && n == 0 && s->out_pos == 0 && s->q_sent != s->q_tail)
                continue;
        }
        break;
    }
    if (s->status < 0) {
        s->out_pos = s->out_len = 0;
        return;
    }
    s->out_len = n; /* out_pos is 0 here (out_buf, top_up) */
}

/* A short write in the DATA body, with nothing but body to follow: the
 * buffer can be topped up (not BDAT: a chunk's size is in its header). */
static int top_up_ok(const mailout_smtp *s)
{
    return s->t.body_on && !SMTP_BDAT(s) && !s->t.body_again && !s->w.active && s->q_sent == s->q_tail;
}

/* After a short write the rest moves to the front and the buffer is filled
 * up behind it, so the next write is a whole buffer again: the number of
 * writes stays at the body's size / out_cap plus the short writes the
 * transport made, instead of two writes for every short one. */
static void top_up(mailout_smtp *s)
{
    size_t rest = s->out_len - s->out_pos;
    /* forward copy (dst < src), not memmove: newlib's costs ~600 B of a
     * firmware image (internal.h) */
    for (size_t i = 0; i < rest; i++)
        SMTP_OUT(s)[i] = SMTP_OUT(s)[s->out_pos + i];
    s->out_pos = 0;
    s->out_len = rest;
    fill(s, rest);
}

const unsigned char *mailout_smtp_out_buf(mailout_smtp *s, size_t *len)
{
    if (len)
        *len = 0;
    if (!s || !len || s->status < 0 || s->phase == PH_DONE || SMTP_IN_TLS(s))
        return NULL;
    if (s->out_pos == s->out_len) {
        s->out_pos = s->out_len = 0;
        s->t.body_again = 0; /* the caller says: try the source again */
        fill(s, 0);
        if (s->status < 0 || s->out_pos == s->out_len)
            return NULL;
    } else if (!MAILOUT_SMALL && s->out_pos > 0 && top_up_ok(s)) {
        /* (small code: the rest goes out as it is, one write more) */
        top_up(s);
        if (s->status < 0) /* the source failed while topping up */
            return NULL;
    }
    *len = s->out_len - s->out_pos;
    return SMTP_OUT(s) + s->out_pos;
}

mailout_status mailout_smtp_out_ack(mailout_smtp *s, size_t n)
{
    if (!s)
        return MAILOUT_E_INVAL;
    if (s->status < 0)
        return s->status;
    if (n > s->out_len - s->out_pos)
        return MAILOUT_E_INVAL;
    s->out_pos += n;
    if (n)
        smtp_arm(s);
    return MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* input                                                               */
/* ------------------------------------------------------------------ */

unsigned char *mailout_smtp_in_buf(mailout_smtp *s, size_t *cap)
{
    if (cap)
        *cap = s ? sizeof s->io.in : 0;
    return s ? s->io.in : NULL;
}

static void reply_begin(mailout_smtp *s)
{
    int esc = MAILOUT_ENABLE_ENHANCEDSTATUSCODES && (s->caps.caps & MAILOUT_CAP_ENHANCEDSTATUSCODES);
    smtp_op op = smtp_awaiting(s) ? SMTP_QOP(s->q[s->q_head % SMTP_QLEN]) : OP_GREETING;
    int awaited = smtp_awaiting(s) != 0;
    /* EHLO only follows the greeting or TLS, before AUTH and any job: its
     * scanner has the shared memory to itself; the challenge buffer is
     * AUTH's, live while AUTH replies are due */
    /* A reply is parsed straight into the failure record's, unused while
     * the session is healthy (blanked again after each reply, see
     * in_ack): a failure it decides needs no copy. Only the QUIT behind a
     * refused greeting finds the record taken; no job has run then, so
     * the result's reply is free (cleared again in smtp_fail). */
    mailout_reply *out = s->quit_then_fail ? &s->result.reply : &s->failure.reply;
#if MAILOUT_REPLY_CAPTURE
    char *cap = awaited && (op == OP_AUTH || op == OP_AUTH_RESP) ? s->u.a.chal : NULL;
    size_t cap_size = sizeof s->u.a.chal;
#else
    char *cap = NULL; /* a challenge is read from the reply's text */
    size_t cap_size = 0;
#endif
    mailout_reply_init(&s->rp, out, esc, awaited && op == OP_EHLO ? &s->u.ehlo : NULL, cap, cap_size);
}

static void dispatch(mailout_smtp *s)
{
    const mailout_reply *r = s->rp.reply;
    /* 421 may come at any time (§3.8); other replies out of turn break
     * the protocol */
    mailout_status bad = r->code == 421 ? MAILOUT_E_SERVER_SHUTDOWN : MAILOUT_E_PROTO;
    if (!smtp_awaiting(s)) {
        /* nothing was asked: only a shutdown notice is legitimate */
        smtp_fail(s, bad, current_stage(s), r);
        return;
    }
    smtp_qent e = s->q[s->q_head % SMTP_QLEN];
    smtp_op op = SMTP_QOP(e);
    if (op == OP_QUIT) {
        s->q_head++;
        quit_over(s);
        return;
    }
    /* Besides 421: a reply to the command whose line is still being
     * written (it was longer than the room in the output buffer): no
     * server answers a line it has not received, and the handlers would
     * end state the writer still reads (AUTH's response segments: the
     * writer would go on encoding memory past them, or through NULL). */
    if (r->code == 421 || (s->w.active && SMTP_QDIST(s->q_head, s->q_sent) == 1)) {
        smtp_fail(s, bad, smtp_op_stage(op), r);
        return;
    }
    s->q_head++;
    switch (op) {
    case OP_GREETING:
    case OP_EHLO:
    case OP_HELO:
    case OP_STARTTLS:
    case OP_AUTH:
    case OP_AUTH_RESP:
        smtp_session_reply(s, op, r, s->rp.lines);
        break;
    default:
        smtp_txn_reply(s, op, SMTP_QARG(e), r);
        break;
    }
    smtp_arm(s);
}

mailout_status mailout_smtp_in_ack(mailout_smtp *s, size_t n)
{
    if (!s)
        return MAILOUT_E_INVAL;
    if (s->status < 0)
        return s->status;
    if (n > sizeof s->io.in)
        return MAILOUT_E_INVAL;
    size_t off = 0;
    while (off < n && s->status >= 0) {
        if (s->phase == PH_DONE)
            return MAILOUT_OK; /* after QUIT's reply nothing matters */
        if (SMTP_IN_TLS(s)) {
            /* bytes after STARTTLS's 220 would be taken as TLS data from
             * an attacker: refuse (SECURITY-RULES 2.1.4) */
            return smtp_fail(s, MAILOUT_E_PROTO, MAILOUT_STAGE_STARTTLS, s->rp.reply);
        }
        if (!mailout_reply_started(&s->rp))
            reply_begin(s);
        size_t used = 0;
        mailout_status st = mailout_reply_feed(&s->rp, s->io.in + off, n - off, &used, &s->cfg.cb);
        off += used;
        if (st < 0)
            return smtp_fail(s, st, current_stage(s), NULL);
        if (st == MAILOUT_DONE) {
            dispatch(s);
            s->rp.total = 0; /* the next byte starts a new reply */
            /* it decided no failure: blank again (but STARTTLS's 220 is
             * the cause should bytes follow it before the handshake) */
            if (s->status >= 0 && !s->quit_then_fail && !SMTP_IN_TLS(s))
                memset(&s->failure.reply, 0, sizeof s->failure.reply);
        }
    }
    /* the whole read is parsed: the receive buffer is free for a SASL
     * step's working memory */
    if (MAILOUT_CRYPTO_HMAC && s->status >= 0 && s->live == SMTP_LIVE_AUTH && s->u.a.step_pending)
        smtp_auth_step(s);
    return s->status < 0 ? s->status : MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* events from the driver                                              */
/* ------------------------------------------------------------------ */

mailout_status mailout_smtp_abort(mailout_smtp *s, mailout_status why)
{
    if (!s)
        return MAILOUT_E_INVAL;
    if (s->status < 0)
        return s->status;
    if (s->phase == PH_DONE || s->phase == PH_QUIT)
        return quit_over(s); /* closing after QUIT is the normal end */
    if (why >= 0)
        why = MAILOUT_E_IO;
    return smtp_fail(s, why, current_stage(s), NULL);
}

mailout_status mailout_smtp_tls_done(mailout_smtp *s, mailout_status handshake)
{
    if (!s)
        return MAILOUT_E_INVAL;
    if (!MAILOUT_ENABLE_STARTTLS)
        return MAILOUT_E_UNSUPPORTED;
    if (s->status < 0)
        return s->status;
    if (s->phase != PH_TLS)
        return MAILOUT_E_STATE;
    if (handshake != MAILOUT_OK)
        return smtp_fail(s, handshake < 0 ? handshake : MAILOUT_E_TLS_HANDSHAKE, MAILOUT_STAGE_TLS, NULL);
    /* RFC 3207 §4.2: forget everything learned in plaintext */
    memset(&s->caps, 0, sizeof s->caps);
    s->tls_active = 1;
    s->phase = PH_RUN;
    smtp_info(s, "TLS established; capabilities forgotten");
    smtp_push(s, OP_EHLO, 0);
    smtp_arm(s);
    return MAILOUT_OK;
}

mailout_status mailout_smtp_quit(mailout_smtp *s)
{
    if (!s)
        return MAILOUT_E_INVAL;
    if (s->status < 0)
        return s->status;
    if (s->phase != PH_IDLE)
        return MAILOUT_E_STATE;
    s->phase = PH_QUIT;
    smtp_push(s, OP_QUIT, 0);
    smtp_arm(s);
    return MAILOUT_OK;
}
