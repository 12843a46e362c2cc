/*
 * SMTP reply parser: see reply.h. Digits are checked by hand, one byte at
 * a time, never with strtol on unterminated data (CVE-2019-3823, lwIP).
 */
#include "reply.h"

#include <string.h>

#include "internal.h"

enum {
    RP_D0 = 0, /* first digit of a line */
    RP_D1,
    RP_D2,
    RP_SEP,    /* after the code: '-', ' ' or CR */
    RP_TEXT,
    RP_CR      /* saw CR, LF must follow */
};

void mailout_reply_init(mailout_reply_parser *p, mailout_reply *out, int esc, mailout_ehlo *ehlo, char *cap,
                        size_t cap_size)
{
    memset(p, 0, sizeof *p);
    memset(out, 0, sizeof *out);
    p->reply = out;
    p->esc = esc ? 1 : 0;
    p->ehlo = ehlo;
#if MAILOUT_REPLY_CAPTURE
    p->cap = cap;
    p->cap_size = cap ? cap_size : 0;
#else
    (void)cap, (void)cap_size;
#endif
    if (ehlo)
        mailout_ehlo_init(ehlo);
}

/* Bytes kept for humans (reply text, trace): controls and 8-bit bytes
 * become '?' so a log can never be spoofed with a server's CR or ESC. */
static char printable(unsigned char c)
{
    return (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
}

static void tline_add(mailout_reply_parser *p, char c)
{
#if MAILOUT_ENABLE_TRACE
    if (p->tline_len < sizeof p->tline)
        p->tline[p->tline_len++] = c;
#else
    (void)p, (void)c;
#endif
}

#if MAILOUT_ENABLE_ENHANCEDSTATUSCODES
/* Up to 3 decimal digits at *i, value returned, -1 if none or too many. */
static int esc_number(const char *t, size_t len, size_t *i)
{
    int v = 0, n = 0;
    while (*i < len && t[*i] >= '0' && t[*i] <= '9') {
        if (++n > 3)
            return -1;
        v = v * 10 + (t[*i] - '0');
        (*i)++;
    }
    return n ? v : -1;
}

/* RFC 3463 "class.subject.detail" at the start of the first line. The
 * class must agree with the reply code; otherwise the text is plain. */
static void parse_esc(mailout_reply_parser *p)
{
    const char *t = p->reply->text;
    size_t len = p->text_len, i = 0;
    if (len < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.')
        return;
    if ((unsigned)(t[0] - '0') != p->reply->code / 100u)
        return;
    i = 2;
    int subject = esc_number(t, len, &i);
    if (subject < 0 || i >= len || t[i] != '.')
        return;
    i++;
    int detail = esc_number(t, len, &i);
    if (detail < 0 || (i < len && t[i] != ' '))
        return;
    p->reply->enh_class = (uint8_t)(t[0] - '0');
    p->reply->enh_subject = (uint16_t)subject;
    p->reply->enh_detail = (uint16_t)detail;
}
#endif

static void text_byte(mailout_reply_parser *p, unsigned char c)
{
    if (p->lines == 0) {
        if (p->text_len < MAILOUT_REPLY_TEXT_MAX)
            p->reply->text[p->text_len++] = printable(c);
#if MAILOUT_REPLY_CAPTURE
        if (p->cap) {
            if (p->cap_len < p->cap_size)
                p->cap[p->cap_len++] = (char)c;
            else
                p->cap_over = 1;
        }
#else
        else
            p->cap_over = 1;
#endif
    } else if (p->ehlo) {
        mailout_ehlo_byte(p->ehlo, c);
    }
    tline_add(p, printable(c));
}

/* A line ended (its CRLF consumed). DONE after the final line. */
static mailout_status line_end(mailout_reply_parser *p, const mailout_smtp_callbacks *cb)
{
    if (p->lines == 0) {
        p->reply->text[p->text_len] = '\0';
#if MAILOUT_ENABLE_ENHANCEDSTATUSCODES
        if (p->esc)
            parse_esc(p);
#endif
    } else if (p->ehlo) {
        mailout_ehlo_line_end(p->ehlo);
    }
#if MAILOUT_ENABLE_TRACE
    if (cb && cb->trace)
        cb->trace(cb->ctx, MAILOUT_TRACE_RECV, p->tline, p->tline_len);
#else
    (void)cb;
#endif
    p->lines++;
    if (p->last)
        return MAILOUT_DONE;
    if (p->lines >= MAILOUT_REPLY_LINES_MAX)
        return MAILOUT_E_REPLY_TOO_LONG;
    p->line_len = 0;
#if MAILOUT_ENABLE_TRACE
    p->tline_len = 0;
#endif
    p->state = RP_D0;
    return MAILOUT_OK;
}

/* Digit i of a code: %x32-35 %x30-35 %x30-39. */
static mailout_status digit(mailout_reply_parser *p, unsigned char c)
{
    static const char lo[] = "200", hi[] = "559";
    unsigned i = p->state;
    if (c < (unsigned char)lo[i] || c > (unsigned char)hi[i])
        return MAILOUT_E_PROTO;
    unsigned code = (i == RP_D0 ? 0u : p->line_code) * 10u + (unsigned)(c - '0');
    p->line_code = (uint16_t)code;
    tline_add(p, (char)c);
    p->state++;
    if (i != RP_D2)
        return MAILOUT_OK;
    if (p->lines == 0)
        p->reply->code = (uint16_t)code;
    else if (code != p->reply->code)
        return MAILOUT_E_PROTO;
    return MAILOUT_OK;
}

static mailout_status step(mailout_reply_parser *p, unsigned char c, const mailout_smtp_callbacks *cb)
{
    switch (p->state) {
    case RP_D0:
    case RP_D1:
    case RP_D2:
        return digit(p, c);
    case RP_SEP:
        if (c == '-' || c == ' ') {
            p->last = c == ' ';
            tline_add(p, (char)c);
            p->state = RP_TEXT;
            return MAILOUT_OK;
        }
        if (c == '\r') {
            p->last = 1;
            p->state = RP_CR;
            return MAILOUT_OK;
        }
        return MAILOUT_E_PROTO;
    case RP_TEXT:
        if (c == '\r')
            p->state = RP_CR;
        else if (c == '\n')
            return MAILOUT_E_PROTO; /* bare LF */
        else
            text_byte(p, c);
        return MAILOUT_OK;
    default: /* RP_CR */
        if (c != '\n')
            return MAILOUT_E_PROTO; /* bare CR */
        return line_end(p, cb);
    }
}

mailout_status mailout_reply_feed(mailout_reply_parser *p, const unsigned char *in, size_t len, size_t *used,
                                  const mailout_smtp_callbacks *cb)
{
    size_t i = 0;
    mailout_status st = MAILOUT_OK;
    while (i < len) {
        if (++p->line_len > MAILOUT_REPLY_LINE_MAX || ++p->total > MAILOUT_REPLY_TOTAL_MAX) {
            st = MAILOUT_E_REPLY_TOO_LONG;
            break;
        }
        st = step(p, in[i++], cb);
        if (st != MAILOUT_OK)
            break;
    }
    *used = i;
    return st;
}
