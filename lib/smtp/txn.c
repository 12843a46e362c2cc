/*
 * Mail transactions: submit() (validation before any byte), the replies
 * to RSET, MAIL, RCPT, DATA and the end of data, and the data phase
 * (DATA through the line filter, or BDAT chunks).
 *
 * A failed transaction is always followed by RSET before the session is
 * ready again, and a successful one by RSET at the start of the next
 * (pipelined with it when possible), so every MAIL starts from a clean
 * server state.
 */
#include <string.h>

#include "smtp_internal.h"

#define RSET_BEFORE 0u /* RSET leading the next transaction */
#define RSET_AFTER 1u  /* RSET cleaning up after a failed one */

/* ------------------------------------------------------------------ */
/* submit                                                              */
/* ------------------------------------------------------------------ */

/* The flags for body.start(). */
static unsigned body_flags(const mailout_smtp *s)
{
    unsigned flags = 0;
    if (s->caps.caps & MAILOUT_CAP_8BITMIME)
        flags |= MAILOUT_READ_8BIT;
    if (s->job.stuffs && !SMTP_BDAT(s))
        flags |= MAILOUT_READ_SMTP;
    return flags;
}

/* After body.start(): 8-bit need and SIZE limit. */
static mailout_status body_started(mailout_smtp *s, const mailout_body *b)
{
    int is8 = b->is_8bit ? b->is_8bit(b->ctx) : 0;
    if (is8 && !(s->caps.caps & MAILOUT_CAP_8BITMIME))
        return MAILOUT_E_8BIT;
    s->t.body8 = is8 != 0;
    uint64_t size = s->t.size;
    if (MAILOUT_ENABLE_SIZE && (s->caps.caps & MAILOUT_CAP_SIZE) && s->caps.size_limit && size != MAILOUT_SIZE_UNKNOWN &&
        size > s->caps.size_limit)
        return MAILOUT_E_SIZE;
    return MAILOUT_OK;
}

/* Validate @p job and take it over (nothing sent yet). */
static MAILOUT_NOINLINE mailout_status take_job(mailout_smtp *s, const mailout_job *job)
{
    int utf8 = 0;
    mailout_status st = smtp_check_job(s, job, &utf8);
    if (st != MAILOUT_OK)
        return st;
    memset(&s->t, 0, sizeof s->t);
    memset(&s->result, 0, sizeof s->result);
    memset(&s->u.d, 0, sizeof s->u.d);
    s->live = SMTP_LIVE_TXN;
    s->job.mail_from = job->mail_from;
    s->job.rcpt = job->rcpt;
    s->job.read = job->body.read;
    s->job.ctx = job->body.ctx;
#if MAILOUT_ENABLE_DSN
    s->job.dsn_envid = job->dsn_envid;
    s->job.dsn_notify = (uint8_t)job->dsn_notify;
    s->job.dsn_ret = (uint8_t)job->dsn_ret;
#endif
    s->job.rcpt_count = (uint16_t)job->rcpt_count;
    s->job.stuffs = job->body.stuffs != 0;
#if MAILOUT_ENABLE_CHUNKING /* else 0 (t is cleared above) */
    s->t.bdat = (s->caps.caps & MAILOUT_CAP_CHUNKING) && !s->cfg.no_chunking;
#endif
#if MAILOUT_ENABLE_PIPELINING
    s->t.pipelined = (s->caps.caps & MAILOUT_CAP_PIPELINING) && !s->cfg.no_pipelining;
#endif
    s->t.smtputf8 = (uint8_t)utf8;
    s->t.size = MAILOUT_SIZE_UNKNOWN;
    return MAILOUT_OK;
}

/* The rest of submit() once body.start() succeeded. */
static MAILOUT_NOINLINE mailout_status queue_job(mailout_smtp *s, const mailout_job *job)
{
    mailout_status st = body_started(s, &job->body);
    if (st == MAILOUT_OK && !SMTP_LINES_FIT)
        st = smtp_check_lengths(s);
    if (st != MAILOUT_OK)
        return st;
    /* A body the engine filters is held to what DATA may carry (RFC 5321
     * §4.5.3.1.6, RFC 2045 §2.7-2.8): no NUL, lines of at most 998 bytes,
     * and 8-bit bytes only with BODY=8BITMIME; a byte that breaks this
     * ends the transfer like a source error (no terminator). */
    if (!job->body.stuffs && !SMTP_BDAT(s))
        mailout_line_init(&s->u.d.lf, MAILOUT_LINE_STUFF | MAILOUT_LINE_TERMINATE | MAILOUT_LINE_NO_NUL |
                                          MAILOUT_LINE_MAX998 | (s->t.body8 ? 0u : MAILOUT_LINE_7BIT));
    s->t.active = 1;
    s->phase = PH_RUN;
    if (s->need_rset) {
        s->t.rset_first = 1;
        smtp_push(s, OP_RSET, RSET_BEFORE);
    }
    if (SMTP_PIPELINED(s)) {
        /* RSET, MAIL and RCPT may be anywhere in a group, DATA only last
         * (RFC 2920 §3.1); BDAT waits for the RCPT replies so no content
         * goes out for a transaction without recipients */
        smtp_push(s, OP_MAIL, 0);
        for (size_t i = 0; i < job->rcpt_count; i++)
            smtp_push(s, OP_RCPT, (unsigned)i);
        if (!SMTP_BDAT(s))
            smtp_push(s, OP_DATA, 0);
    } else if (!s->t.rset_first) {
        smtp_push(s, OP_MAIL, 0);
    }
    smtp_arm(s);
    return MAILOUT_OK;
}

/* Kept small: the body's start() (the message sizing pass, the deepest
 * call chain of the library) is called from this frame. */
mailout_status mailout_smtp_submit(mailout_smtp *s, const mailout_job *job)
{
    if (!s || !job)
        return MAILOUT_E_INVAL;
    if (s->status < 0)
        return s->status;
    if (s->phase != PH_IDLE)
        return MAILOUT_E_STATE;
    mailout_status st = take_job(s, job);
    if (st != MAILOUT_OK)
        return st;
    st = job->body.start(job->body.ctx, body_flags(s), &s->t.size);
    if (st >= 0)
        st = queue_job(s, job);
    if (st != MAILOUT_OK) {
        memset(&s->job, 0, sizeof s->job);
        memset(&s->t, 0, sizeof s->t);
    }
    return st;
}

/* ------------------------------------------------------------------ */
/* outcome                                                             */
/* ------------------------------------------------------------------ */

/* The first failure decides the transaction's result. */
static void txn_failed(mailout_smtp *s, mailout_status st, mailout_smtp_stage stage, const mailout_reply *r)
{
    if (s->t.fail != MAILOUT_OK)
        return;
    s->t.fail = st;
    s->result.status = st;
    s->result.stage = stage;
    if (r == &s->result.reply)
        return; /* no_recipients(): the refusal is in place */
    if (r)
        s->result.reply = *r;
    else
        memset(&s->result.reply, 0, sizeof s->result.reply);
}

/* A refusal (4xx/5xx, or E_PROTO for a code that cannot be one) fails it. */
static void txn_refused(mailout_smtp *s, mailout_smtp_stage stage, const mailout_reply *r)
{
    txn_failed(s, smtp_refusal(r->code), stage, r);
}

static void finish_counts(mailout_smtp *s)
{
    s->result.rcpt_ok = s->t.rcpt_ok_n;
    s->result.rcpt_failed = s->t.rcpt_bad_n;
}

/* The result is final; clean the server state with RSET. */
static void finish_failed(mailout_smtp *s)
{
    finish_counts(s);
    s->t.active = 0;
    s->t.body_on = 0;
    smtp_push(s, OP_RSET, RSET_AFTER);
}

static void finish_ok(mailout_smtp *s, const mailout_reply *r)
{
    s->result.status = s->t.rcpt_bad_n ? MAILOUT_E_PARTIAL : MAILOUT_OK;
    s->result.stage = MAILOUT_STAGE_END;
    s->result.reply = *r;
    finish_counts(s);
    s->t.active = 0;
    s->need_rset = 1;
    s->phase = PH_IDLE;
}

void smtp_txn_abort(mailout_smtp *s, mailout_status why, mailout_smtp_stage stage, const mailout_reply *r)
{
    if (!s->t.active)
        return;
    txn_failed(s, why, stage, r); /* unless already failed: the first cause stays */
    finish_counts(s);
    s->t.active = 0;
    s->t.body_on = 0;
}

/* No recipient took the message: the last refusal decides (rcpt_reply()
 * keeps it in result.reply while the transaction has not failed). */
static void no_recipients(mailout_smtp *s)
{
    txn_refused(s, MAILOUT_STAGE_RCPT, &s->result.reply);
}

/* ------------------------------------------------------------------ */
/* replies                                                             */
/* ------------------------------------------------------------------ */

/* Without PIPELINING, or for BDAT: what follows the last RCPT reply. */
static void after_rcpts(mailout_smtp *s)
{
    if (s->t.fail != MAILOUT_OK) {
        finish_failed(s);
    } else if (s->t.rcpt_ok_n == 0) {
        no_recipients(s);
        finish_failed(s);
    } else if (SMTP_BDAT(s)) {
        s->t.body_on = 1;
    } else {
        smtp_push(s, OP_DATA, 0);
    }
}

static void rcpt_reply(mailout_smtp *s, unsigned i, const mailout_reply *r)
{
    if (i < MAILOUT_MAX_RECIPIENTS)
        s->u.d.rcpt_code[i] = r->code;
    if (r->code < 300) {
        s->t.rcpt_ok_n++;
    } else {
        s->t.rcpt_bad_n++;
        /* The last refusal, should no recipient be accepted: kept where
         * the result's reply goes (no copy of its own), unless a failure
         * already decided the result. */
        if (s->t.fail == MAILOUT_OK)
            s->result.reply = *r;
    }
    s->t.rcpt_replied++;
    if (s->cfg.cb.rcpt)
        s->cfg.cb.rcpt(s->cfg.cb.ctx, i, r);
    int last = s->t.rcpt_replied == s->job.rcpt_count;
    if (!SMTP_PIPELINED(s) && !last && s->t.fail == MAILOUT_OK)
        smtp_push(s, OP_RCPT, i + 1);
    else if (last && (!SMTP_PIPELINED(s) || SMTP_BDAT(s)))
        after_rcpts(s);
}

static void mail_reply(mailout_smtp *s, const mailout_reply *r)
{
    if (r->code < 300) {
        if (!SMTP_PIPELINED(s))
            smtp_push(s, OP_RCPT, 0);
        return;
    }
    txn_refused(s, MAILOUT_STAGE_MAIL, r);
    /* pipelined: the RCPT (and DATA) replies are still due; the last of
     * them finishes the transaction */
    if (!SMTP_PIPELINED(s))
        finish_failed(s);
}

static void data_reply(mailout_smtp *s, const mailout_reply *r)
{
    if (r->code == 354) {
        if (s->t.fail == MAILOUT_OK && s->t.rcpt_ok_n == 0)
            no_recipients(s);
        /* Once DATA is accepted data must follow; after a failed MAIL or
         * with no recipient it is the empty message, never the content
         * (go-smtp #203) */
        s->t.empty_data = s->t.fail != MAILOUT_OK;
        s->t.body_on = 1;
        return;
    }
    if (s->t.rcpt_ok_n == 0)
        no_recipients(s);
    txn_refused(s, MAILOUT_STAGE_DATA, r);
    finish_failed(s);
}

static void end_reply(mailout_smtp *s, const mailout_reply *r)
{
    if (s->t.fail == MAILOUT_OK && r->code < 300) {
        finish_ok(s, r);
        return;
    }
    txn_refused(s, MAILOUT_STAGE_END, r);
    finish_failed(s);
}

#if MAILOUT_ENABLE_CHUNKING
/* BDAT replies: a refused chunk stops the data; once no chunk reply is
 * outstanding any more the transaction is cleaned up with RSET. */
static void bdat_reply(mailout_smtp *s, unsigned last, const mailout_reply *r)
{
    if (last && s->t.fail == MAILOUT_OK) {
        end_reply(s, r);
        return;
    }
    if (r->code >= 400) {
        txn_refused(s, last ? MAILOUT_STAGE_END : MAILOUT_STAGE_BODY, r);
        s->t.body_on = 0;
    }
    if (s->t.fail != MAILOUT_OK && !s->t.body_on && !smtp_awaits(s, OP_BDAT))
        finish_failed(s);
}
#endif

static void rset_reply(mailout_smtp *s, unsigned why, const mailout_reply *r)
{
    if (r->code < 200 || r->code >= 300) {
        /* the server state is unknown now: end the session */
        smtp_fail(s, smtp_refusal(r->code), MAILOUT_STAGE_RSET, r);
        return;
    }
    s->need_rset = 0;
    if (why == RSET_AFTER) {
        s->phase = PH_IDLE;
        return;
    }
    if (!SMTP_PIPELINED(s))
        smtp_push(s, OP_MAIL, 0);
}

void smtp_txn_reply(mailout_smtp *s, smtp_op op, unsigned arg, const mailout_reply *r)
{
    /* An intermediate reply where none can be (every 3xx but DATA's 354,
     * and a 2xx to DATA) breaks the protocol: one check for all. The
     * LAST chunk's reply is the end of data's. */
    int bad = op == OP_DATA ? r->code != 354 && r->code < 400 : r->code >= 300 && r->code < 400;
    if (bad) {
        mailout_smtp_stage stage = smtp_op_stage(op);
        if (MAILOUT_ENABLE_CHUNKING && op == OP_BDAT && arg && s->t.fail == MAILOUT_OK)
            stage = MAILOUT_STAGE_END;
        smtp_fail(s, MAILOUT_E_PROTO, stage, r);
        return;
    }
    switch (op) {
    case OP_RSET:
        rset_reply(s, arg, r);
        break;
    case OP_MAIL:
        mail_reply(s, r);
        break;
    case OP_RCPT:
        rcpt_reply(s, arg, r);
        break;
    case OP_DATA:
        data_reply(s, r);
        break;
    case OP_END:
        end_reply(s, r);
        break;
#if MAILOUT_ENABLE_CHUNKING /* else never queued */
    case OP_BDAT:
        bdat_reply(s, arg, r);
        break;
#endif
    default: /* only the ops above come here (dispatch) */
        smtp_fail(s, MAILOUT_E_INTERNAL, MAILOUT_STAGE_NONE, r);
        break;
    }
}

/* ------------------------------------------------------------------ */
/* the data phase                                                      */
/* ------------------------------------------------------------------ */

static void progress(mailout_smtp *s)
{
    s->result.data_bytes = s->t.data_bytes;
    if (s->cfg.cb.progress)
        s->cfg.cb.progress(s->cfg.cb.ctx, s->t.data_bytes, s->t.size);
}

/* The data ended (terminator or LAST chunk in the buffer): from now on a
 * lost connection leaves the delivery unknown. */
static void data_end(mailout_smtp *s, smtp_op op, unsigned arg)
{
    s->t.body_on = 0;
    smtp_push_sent(s, op, arg);
}

/* A source error inside DATA: the terminator must never follow, and RSET
 * is impossible inside DATA, so the connection is given up. */
static MAILOUT_NOINLINE size_t data_source_error(mailout_smtp *s, mailout_status st)
{
    smtp_info(s, "body source failed: data not terminated, connection must close");
    smtp_fail(s, st, MAILOUT_STAGE_BODY, NULL);
    return 0;
}

/* The fill_* functions below call the body source; each is kept out of
 * line with a small frame, since the source (a message reader) runs the
 * deepest call chain of the library under them. */

/* One read of the source into @p dst: its status, or MAILOUT_E_SOURCE
 * for a source that claims more than @p cap bytes. */
static MAILOUT_NOINLINE mailout_status body_read(mailout_smtp *s, unsigned char *dst, size_t cap, size_t *got)
{
    *got = 0;
    mailout_status st = s->job.read(s->job.ctx, dst, cap, got);
    if (*got > cap)
        return MAILOUT_E_SOURCE;
    s->t.data_bytes += *got;
    return st;
}

static MAILOUT_NOINLINE size_t fill_stuffed(mailout_smtp *s, size_t n)
{
    while (n < s->out_cap) {
        size_t got;
        mailout_status st = body_read(s, SMTP_OUT(s) + n, s->out_cap - n, &got);
        if (st < 0)
            return data_source_error(s, st);
        n += got;
        if (st == MAILOUT_DONE) {
            data_end(s, OP_END, 0);
            break;
        }
        if (st == MAILOUT_AGAIN) {
            if (n == 0)
                s->t.body_again = 1;
            break;
        }
    }
    return n;
}

/*
 * The body through the line filter, in place: the source's bytes are read
 * into the END of the free room and filtered forward into its start, so no
 * staging buffer is needed. Each input byte yields at most 2 output bytes
 * (a bare CR or LF becomes CRLF, a leading "." becomes ".."), so with
 * nothing pending and k = (room + 1) / 2 input bytes read, the writer is
 * at most at input byte j's own position when the filter reads byte j
 * (n + 2j <= out_cap - k + j): it never overwrites input not yet read,
 * and the whole read is consumed (the last byte's second half may wait in
 * the filter's pending bytes). The filter copies byte by byte or through
 * a register, which is safe with its output trailing its input in one
 * buffer (tests/encode/test_line.c checks this arrangement).
 */
static MAILOUT_NOINLINE size_t fill_filtered(mailout_smtp *s, size_t n)
{
    const unsigned char *in = SMTP_OUT(s) + n;
    size_t got = 0; /* the last read, at in (none yet: just flush) */
    mailout_status st = MAILOUT_OK;
    for (;;) {
        mailout_stream io = {in, got, SMTP_OUT(s) + n, s->out_cap - n};
        mailout_status fst = mailout_line_filter(&s->u.d.lf, &io, s->t.body_eof);
        n = s->out_cap - io.avail_out;
        if (fst < 0)
            return data_source_error(s, fst);
        if (io.avail_in != 0) /* cannot happen: the room was sized for it */
            return data_source_error(s, MAILOUT_E_INTERNAL);
        if (fst == MAILOUT_DONE) {
            data_end(s, OP_END, 0);
            break;
        }
        /* full (the filter may hold a byte or two), or the source said
         * AGAIN without data; with room left nothing is pending now */
        if (n == s->out_cap || s->t.body_eof)
            break;
        if (st == MAILOUT_AGAIN && got == 0) {
            if (n == 0)
                s->t.body_again = 1;
            break;
        }
        size_t k = (s->out_cap - n + 1) / 2;
        unsigned char *dst = SMTP_OUT(s) + s->out_cap - k;
        st = body_read(s, dst, k, &got);
        if (st < 0)
            return data_source_error(s, st);
        if (st == MAILOUT_DONE)
            s->t.body_eof = 1;
        in = dst;
    }
    return n;
}

/* A BDAT source error: the chunks sent so far are dropped with RSET and
 * the session stays usable (RFC 3030 leaves no data mode to escape). */
static void bdat_source_error(mailout_smtp *s, mailout_status st)
{
    smtp_info(s, "body source failed: resetting the transaction");
    txn_failed(s, st, MAILOUT_STAGE_BODY, NULL);
    s->t.body_on = 0;
    if (!smtp_awaits(s, OP_BDAT))
        finish_failed(s);
}

/* "BDAT <n>[ LAST]\r\n" written backwards right in front of the chunk's
 * data, which starts SMTP_BDAT_HDR bytes into the buffer. */
static MAILOUT_NOINLINE size_t bdat_header(mailout_smtp *s, size_t got, int last)
{
    unsigned char *data = SMTP_OUT(s) + SMTP_BDAT_HDR;
    unsigned char *h = data;
    *--h = '\n';
    *--h = '\r';
    if (last) {
        h -= 5;
        memcpy(h, " LAST", 5);
    }
    size_t v = got;
    do {
        *--h = (unsigned char)('0' + v % 10);
        v /= 10;
    } while (v);
    h -= 5;
    memcpy(h, "BDAT ", 5);
    s->out_pos = (size_t)(h - SMTP_OUT(s));
    if (MAILOUT_ENABLE_TRACE && s->cfg.cb.trace)
        s->cfg.cb.trace(s->cfg.cb.ctx, MAILOUT_TRACE_SENT, (const char *)h, (size_t)(data - h) - 2);
    s->t.data_bytes += got;
    if (last)
        data_end(s, OP_BDAT, 1);
    else
        smtp_push_sent(s, OP_BDAT, 0);
    return SMTP_BDAT_HDR + got;
}

/* One chunk: the data is read to just after SMTP_BDAT_HDR bytes, then the
 * header is written in front of it. */
static MAILOUT_NOINLINE size_t fill_bdat(mailout_smtp *s, size_t n)
{
    if (n != 0)
        return n; /* a chunk needs the whole buffer */
    size_t got = 0;
    mailout_status st;
    for (;;) {
        size_t room = s->out_cap - SMTP_BDAT_HDR - got, g = 0;
        st = s->job.read(s->job.ctx, SMTP_OUT(s) + SMTP_BDAT_HDR + got, room, &g);
        if (g > room)
            st = MAILOUT_E_SOURCE;
        if (st < 0) {
            bdat_source_error(s, st);
            return 0;
        }
        got += g;
        if (st == MAILOUT_DONE || st == MAILOUT_AGAIN || got == s->out_cap - SMTP_BDAT_HDR)
            break;
    }
    if (st == MAILOUT_AGAIN && got == 0) {
        s->t.body_again = 1;
        return 0;
    }
    return bdat_header(s, got, st == MAILOUT_DONE);
}

size_t smtp_body_fill(mailout_smtp *s, size_t n)
{
    if (s->t.empty_data) {
        if (s->out_cap - n < 3)
            return n;
        memcpy(SMTP_OUT(s) + n, ".\r\n", 3);
        data_end(s, OP_END, 0);
        return n + 3;
    }
    if (SMTP_BDAT(s))
        n = fill_bdat(s, n);
    else if (s->job.stuffs)
        n = fill_stuffed(s, n);
    else
        n = fill_filtered(s, n);
    if (s->status >= 0)
        progress(s);
    return n;
}
