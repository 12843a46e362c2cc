/*
 * Command lines: envelope validation, the builders, and the resumable
 * writer that moves a command into the output buffer in pieces of any
 * size, so out_buf_size never limits what can be sent (long RCPT with
 * ORCPT, XOAUTH2 tokens of several KB).
 *
 * SASL responses never pass through a command buffer: they are
 * base64-encoded straight from the mechanism's segments into the output
 * buffer, and the trace shows "<redacted>".
 */
#include <string.h>

#include "smtp_internal.h"

#include "encode/header.h"

/* ------------------------------------------------------------------ */
/* validation (SECURITY-RULES 2.4)                                     */
/* ------------------------------------------------------------------ */

/* The envelope takes what the header fields take (mailout_addr_ok, one
 * rule for both layers); *non_ascii is set for a UTF-8 address, which
 * needs SMTPUTF8 (MAILOUT_E_UNSUPPORTED when it is not built in). */
static mailout_status check_address(const char *addr, int allow_empty, int *non_ascii)
{
    if (!addr)
        return MAILOUT_E_ADDRESS;
    size_t len = strlen(addr);
    if (len == 0)
        return allow_empty ? MAILOUT_OK : MAILOUT_E_ADDRESS;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)addr[i] >= 0x80) {
            if (!MAILOUT_ENABLE_SMTPUTF8)
                return MAILOUT_E_UNSUPPORTED;
            *non_ascii = 1;
            break;
        }
    }
    return mailout_addr_ok(addr, len) ? MAILOUT_OK : MAILOUT_E_ADDRESS;
}

#if MAILOUT_ENABLE_DSN
/* ENVID: printable ASCII, at most 100 characters (RFC 3461 §4.4). */
static int envid_ok(const char *v)
{
    size_t n = 0;
    for (; v[n]; n++)
        if ((unsigned char)v[n] < 0x21 || (unsigned char)v[n] > 0x7e)
            return 0;
    return n >= 1 && n <= 100;
}
#endif

/* @p utf8 receives whether the job needs SMTPUTF8 (asked for, or a UTF-8
 * address). */
mailout_status smtp_check_job(const mailout_smtp *s, const mailout_job *job, int *utf8)
{
    int non_ascii = 0;
    if (!job->mail_from || !job->rcpt || job->rcpt_count == 0 || job->rcpt_count > MAILOUT_MAX_RECIPIENTS ||
        !job->body.start || !job->body.read)
        return MAILOUT_E_INVAL;
    mailout_status st = check_address(job->mail_from, 1, &non_ascii);
    for (size_t i = 0; st == MAILOUT_OK && i < job->rcpt_count; i++)
        st = check_address(job->rcpt[i], 0, &non_ascii);
    if (st != MAILOUT_OK)
        return st;
#if MAILOUT_ENABLE_DSN /* else the DSN fields are ignored: never sent, nothing to check */
    unsigned notify = job->dsn_notify;
    if (notify & ~(MAILOUT_NOTIFY_NEVER | MAILOUT_NOTIFY_SUCCESS | MAILOUT_NOTIFY_FAILURE | MAILOUT_NOTIFY_DELAY))
        return MAILOUT_E_INVAL;
    if ((notify & MAILOUT_NOTIFY_NEVER) && notify != MAILOUT_NOTIFY_NEVER)
        return MAILOUT_E_INVAL;
    if (job->dsn_ret != MAILOUT_DSN_RET_DEFAULT && job->dsn_ret != MAILOUT_DSN_RET_FULL &&
        job->dsn_ret != MAILOUT_DSN_RET_HDRS)
        return MAILOUT_E_INVAL;
    if (job->dsn_envid && !envid_ok(job->dsn_envid))
        return MAILOUT_E_INVAL;
#endif
    *utf8 = non_ascii || job->smtputf8;
    if (*utf8 && !MAILOUT_ENABLE_SMTPUTF8)
        return MAILOUT_E_UNSUPPORTED;
    if (*utf8 && !(s->caps.caps & MAILOUT_CAP_SMTPUTF8))
        return MAILOUT_E_SMTPUTF8;
    return MAILOUT_OK;
}

/* ------------------------------------------------------------------ */
/* builders                                                            */
/* ------------------------------------------------------------------ */

/* A command is built as a virtual line of len bytes; only the window
 * [skip, skip + room) of it is stored, at p. The writer rebuilds the
 * command for each piece it moves into the output buffer, so no copy of
 * a whole command line (up to 512 bytes) stays in the session. */
typedef struct line_app {
    char *p;
    size_t len, skip, room;
    int over;
} line_app;

static void app_bytes(line_app *a, const char *v, size_t n)
{
    if (!SMTP_LINES_FIT && (a->over || n > MAILOUT_COMMAND_MAX - 2 - a->len)) {
        a->over = 1;
        return;
    }
    if (a->p) { /* NULL: measuring only (see check_lengths in txn.c) */
        size_t from = a->len > a->skip ? a->len : a->skip;
        size_t to = MAILOUT_MIN(a->len + n, a->skip + a->room);
        if (from < to)
            memcpy(a->p + (from - a->skip), v + (from - a->len), to - from);
    }
    a->len += n;
}

static void app(line_app *a, const char *v)
{
    app_bytes(a, v, strlen(v));
}

#if MAILOUT_ENABLE_SIZE
static void app_u64(line_app *a, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        uint32_t digit;
        v = mailout_u64_divmod(v, 10, &digit);
        d[sizeof d - 1 - n++] = (char)('0' + digit);
    } while (v);
    app_bytes(a, d + sizeof d - n, n);
}
#endif

/* RFC 3461 §4 xtext ("+XX" for '+', '=' and anything outside 33..126),
 * or with @p uni RFC 6533 §3 utf-8-addr-unitext for ORCPT=utf-8; (only
 * under SMTPUTF8: a UTF-8 address is refused without it): UTF-8 as it
 * is, "\x{XX}" for '+', '=', and what a quoted local part may add (space,
 * backslash). */
static void app_xtext(line_app *a, const char *v, int uni)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        int esc = c < 0x21 || c == 0x7f || c == '+' || c == '=' || (uni ? c == '\\' : c > 0x7e);
        if (!esc) {
            app_bytes(a, (const char *)&c, 1);
            continue;
        }
        char e[6] = {'\\', 'x', '{', hex[c >> 4], hex[c & 15], '}'};
        if (uni) {
            app_bytes(a, e, 6);
        } else {
            e[2] = '+';
            app_bytes(a, e + 2, 3);
        }
    }
}

static int is_ascii(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v >= 0x80)
            return 0;
    return 1;
}

static int use_dsn(const mailout_smtp *s)
{
    return MAILOUT_ENABLE_DSN && (s->caps.caps & MAILOUT_CAP_DSN);
}

static void build_mail(const mailout_smtp *s, line_app *a)
{
    const smtp_job *j = &s->job;
    app(a, j->mail_from); /* after "MAIL FROM:<" (cmd_window) */
    app(a, ">");
#if MAILOUT_ENABLE_SIZE
    if ((s->caps.caps & MAILOUT_CAP_SIZE) && s->t.size != MAILOUT_SIZE_UNKNOWN) {
        app(a, " SIZE=");
        app_u64(a, s->t.size);
    }
#endif
    if (s->t.body8)
        app(a, " BODY=8BITMIME");
    if (MAILOUT_ENABLE_SMTPUTF8 && s->t.smtputf8)
        app(a, " SMTPUTF8");
#if MAILOUT_ENABLE_DSN
    if (use_dsn(s) && j->dsn_ret != MAILOUT_DSN_RET_DEFAULT)
        app(a, j->dsn_ret == MAILOUT_DSN_RET_FULL ? " RET=FULL" : " RET=HDRS");
    if (use_dsn(s) && j->dsn_envid) {
        app(a, " ENVID=");
        app_xtext(a, j->dsn_envid, 0);
    }
#endif
}

static void build_rcpt(const mailout_smtp *s, line_app *a, const char *rcpt)
{
#if MAILOUT_ENABLE_DSN
    unsigned notify = s->job.dsn_notify;
#else
    unsigned notify = 0;
#endif
    app(a, rcpt); /* after "RCPT TO:<" (cmd_window) */
    app(a, ">");
    if (!use_dsn(s) || !notify)
        return;
    app(a, " NOTIFY=");
    if (notify & MAILOUT_NOTIFY_NEVER) {
        app(a, "NEVER");
    } else {
        const char *sep = "";
        if (notify & MAILOUT_NOTIFY_SUCCESS)
            app(a, "SUCCESS"), sep = ",";
        if (notify & MAILOUT_NOTIFY_FAILURE)
            app(a, sep), app(a, "FAILURE"), sep = ",";
        if (notify & MAILOUT_NOTIFY_DELAY)
            app(a, sep), app(a, "DELAY");
    }
    /* the "rfc822" type takes an ASCII address only (RFC 3461 §4.2) */
    int uni = MAILOUT_ENABLE_SMTPUTF8 && !is_ascii(rcpt);
    app(a, uni ? " ORCPT=utf-8;" : " ORCPT=rfc822;");
    app_xtext(a, rcpt, uni);
}

/* Each command's first word, in smtp_op order, NUL-separated, found by
 * its offset: no pointer table. Ops that are not sent have an empty word. */
static const char cmd_words[] = "\0EHLO \0HELO \0STARTTLS\0AUTH \0\0RSET\0MAIL FROM:<\0RCPT TO:<\0DATA\0\0\0QUIT";
static const uint8_t cmd_word_at[] = {0, 1, 7, 13, 22, 28, 29, 34, 46, 56, 61, 62, 63};

_Static_assert(OP_GREETING == 0 && OP_EHLO == 1 && OP_HELO == 2 && OP_STARTTLS == 3 && OP_AUTH == 4 &&
                   OP_AUTH_RESP == 5 && OP_RSET == 6 && OP_MAIL == 7 && OP_RCPT == 8 && OP_DATA == 9 &&
                   OP_END == 10 && OP_BDAT == 11 && OP_QUIT == 12,
               "cmd_words[] follows the smtp_op order");
_Static_assert(sizeof cmd_word_at == OP_QUIT + 1 && sizeof cmd_words == 63 + sizeof "QUIT",
               "cmd_word_at[] has every op's offset, QUIT's last");

/* Bytes [skip, skip + room) of a command's text without CRLF, stored at
 * @p out (NULL: only the length); @p len receives the whole length.
 * E_INVAL when it would exceed MAILOUT_COMMAND_MAX with its CRLF. */
static mailout_status cmd_window(mailout_smtp *s, smtp_op op, unsigned arg, char *out, size_t skip, size_t room,
                                 size_t *len)
{
    line_app a = {out, 0, skip, room, 0};
    app(&a, cmd_words + cmd_word_at[op]); /* op: a smtp_op (the ring holds nothing else) */
    switch (op) {
    case OP_EHLO:
    case OP_HELO:
        app(&a, s->cfg.ehlo_name);
        break;
    case OP_AUTH:
        app(&a, mailout_sasl_name(s->u.a.sasl.mech)); /* built in and named: start_auth() started it */
        if (s->u.a.ir_inline)
            app(&a, s->u.a.out.nseg ? " " : " =");
        break;
    case OP_AUTH_RESP:
        if (s->u.a.cancelled)
            app(&a, "*");
        break;
    case OP_MAIL:
        build_mail(s, &a);
        break;
    case OP_RCPT:
        build_rcpt(s, &a, s->job.rcpt[arg]);
        break;
    case OP_STARTTLS:
    case OP_RSET:
    case OP_DATA:
    case OP_QUIT:
        break;
    default: /* not sent: the greeting, the end of data, BDAT (txn.c) */
        return MAILOUT_E_INTERNAL;
    }
    *len = a.len;
    return !SMTP_LINES_FIT && a.over ? MAILOUT_E_INVAL : MAILOUT_OK;
}

/* Every command of the transaction fits in 512 octets (RFC 5321
 * §4.5.3.1.4), checked before the first one is sent. */
mailout_status smtp_check_lengths(mailout_smtp *s)
{
    size_t len; /* measured without a buffer: no 512-byte line on the stack */
    if (SMTP_LINES_FIT) /* (never called then: no code that measures) */
        return MAILOUT_OK;
    mailout_status st = cmd_window(s, OP_MAIL, 0, NULL, 0, 0, &len);
    for (size_t i = 0; st == MAILOUT_OK && i < s->job.rcpt_count; i++)
        st = cmd_window(s, OP_RCPT, (unsigned)i, NULL, 0, 0, &len);
    return st;
}


/* ------------------------------------------------------------------ */
/* the writer                                                          */
/* ------------------------------------------------------------------ */

#if MAILOUT_ENABLE_TRACE
static void trace_sent(mailout_smtp *s, const char *text, size_t len)
{
    s->cfg.cb.trace(s->cfg.cb.ctx, MAILOUT_TRACE_SENT, text, len);
}

/* The trace copy of a command: "AUTH PLAIN <redacted>" / "<redacted>"
 * when a SASL response follows; the argument's presence shows, never its
 * content. */
static void trace_command(mailout_smtp *s)
{
    smtp_writer *w = &s->w;
    size_t len;
    char *line = s->io.tline; /* free while out_buf() runs (smtp_internal.h) */
    if (cmd_window(s, (smtp_op)w->op, w->arg, line, 0, MAILOUT_COMMAND_MAX, &len) != MAILOUT_OK)
        return;
    if (w->b64) {
        char t[64];
        size_t n = len < 40 ? len : 40;
        memcpy(t, line, n);
        if (n && t[n - 1] == ' ')
            n--;
        if (n)
            t[n++] = ' ';
        memcpy(t + n, "<redacted>", 10);
        trace_sent(s, t, n + 10);
    } else {
        trace_sent(s, line, len);
    }
}
#endif

void smtp_writer_start(mailout_smtp *s, smtp_op op, unsigned arg)
{
    smtp_writer *w = &s->w;
    memset(w, 0, sizeof *w);
    w->text = 1;
    w->op = (uint8_t)op;
    w->arg = (uint16_t)arg;
    if (op == OP_AUTH || op == OP_AUTH_RESP) {
        int resp = op == OP_AUTH ? s->u.a.ir_inline : !s->u.a.cancelled;
        w->b64 = resp && s->u.a.out.nseg > 0;
    }
#if MAILOUT_ENABLE_TRACE
    if (s->cfg.cb.trace)
        trace_command(s);
#endif
    w->active = 1;
}

/*
 * The SASL response in base64 (RFC 4648 §4, padded, no line breaks),
 * computed character by character from its segments: a piece may end
 * after any character, and all the writer keeps is how many it wrote
 * (w->pos). Responses are short (two credentials at most), so looking up
 * each group's three bytes again is cheaper than a stream encoder's code
 * and state.
 */

/* Byte i of the response (the segments one after the other), 0 past its end. */
static uint32_t resp_byte(const mailout_sasl_out *o, size_t i)
{
    for (unsigned k = 0; k < o->nseg; k++) {
        if (i < o->seg[k].n)
            return o->seg[k].p[i];
        i -= o->seg[k].n;
    }
    return 0;
}

size_t smtp_resp_len(const mailout_sasl_out *o)
{
    size_t n = 0;
    for (unsigned k = 0; k < o->nseg; k++)
        n += o->seg[k].n;
    return n;
}

/* The base64 character of the digit 0..63. */
unsigned char smtp_b64_char(uint32_t c)
{
    return (unsigned char)(c < 26 ? 'A' + c : c < 52 ? 'a' - 26 + c : c < 62 ? '0' - 52 + c : c == 62 ? '+' : '/');
}

/* At most MAILOUT_SASL_SEGS segments of at most MAILOUT_SASL_CRED_MAX
 * bytes (sasl.h): the count of characters fits w->pos. */
_Static_assert((MAILOUT_SASL_SEGS * (uint32_t)MAILOUT_SASL_CRED_MAX + 2) / 3 * 4 <= 65535u,
               "a SASL response's base64 length fits smtp_writer.pos");

static size_t run_b64(mailout_smtp *s, unsigned char *out, size_t room)
{
    smtp_writer *w = &s->w;
    const mailout_sasl_out *o = &s->u.a.out;
    size_t len = smtp_resp_len(o), chars = (len + 2) / 3 * 4, n = 0;
    while (n < room && w->pos < chars) {
        size_t g = (size_t)w->pos / 4 * 3; /* the group's first byte */
        unsigned j = w->pos % 4u;          /* its character j */
        uint32_t v = 0;
        for (unsigned k = 0; k < 3; k++)
            v = v << 8 | resp_byte(o, g + k);
        /* a last group of k < 3 bytes has k + 1 characters, then '=' */
        out[n++] = j > len - g ? '=' : smtp_b64_char(v >> (18 - 6 * j) & 63);
        w->pos++;
    }
    if (w->pos == chars)
        w->b64 = 0;
    return n;
}

size_t smtp_writer_run(mailout_smtp *s, unsigned char *out, size_t room)
{
    smtp_writer *w = &s->w;
    size_t n = 0;
    if (w->text) {
        /* the next piece of the text; the fields a command is built from
         * do not change while it is written (the session waits for it
         * before its reply), and its length was checked when it was
         * queued */
        size_t len;
        if (cmd_window(s, (smtp_op)w->op, w->arg, (char *)out, w->pos, room, &len) != MAILOUT_OK || len < w->pos) {
            smtp_fail(s, MAILOUT_E_INTERNAL, smtp_op_stage((smtp_op)w->op), NULL);
            return 0;
        }
        n = MAILOUT_MIN(len - w->pos, room);
        w->pos = (uint16_t)(w->pos + n);
        if (w->pos < len)
            return n;
        w->text = 0;
        w->pos = 0; /* from now on: base64 characters written */
    }
    if (w->b64) {
        n += run_b64(s, out + n, room - n);
        if (w->b64)
            return n;
    }
    while (w->crlf < 2 && n < room)
        out[n++] = "\r\n"[w->crlf++];
    if (w->crlf == 2)
        w->active = 0;
    return n;
}
