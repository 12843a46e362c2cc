/*
 * SMTP reply parser and EHLO keyword scanner (internal to lib/smtp).
 *
 * Both are byte-stream state machines: they take server bytes in chunks of
 * any size (down to one byte) and never store a whole line, so the memory
 * they need does not depend on what the server sends. Grammar and limits:
 * RFC 5321 §4.2 and SECURITY-RULES 2.6.
 *
 *   reply     = *( code "-" [text] CRLF ) code [ SP text ] CRLF
 *   code      = %x32-35 %x30-35 %x30-39     (the same on every line)
 *
 * A line longer than MAILOUT_REPLY_LINE_MAX (CRLF included), more than
 * MAILOUT_REPLY_LINES_MAX lines or MAILOUT_REPLY_TOTAL_MAX bytes is
 * MAILOUT_E_REPLY_TOO_LONG; anything else off-grammar (bare CR or LF, a TAB
 * after the code, a bad digit, a changed code) is MAILOUT_E_PROTO.
 */
#ifndef MAILOUT_SMTP_REPLY_H
#define MAILOUT_SMTP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/smtp.h>

/** Longest keyword or parameter token the EHLO scanner looks at; longer
 *  ones cannot be any keyword we know and are skipped. */
#define MAILOUT_EHLO_TOKEN_MAX 24

/** Capabilities learned from one EHLO reply. */
typedef struct mailout_caps {
    uint64_t size_limit; /* SIZE parameter, 0 = none given; saturates at UINT64_MAX */
    unsigned caps;       /* MAILOUT_CAP_* */
    unsigned auth;       /* MAILOUT_AUTH_* offered */
} mailout_caps;

/** EHLO keyword scanner: fed the text of each line after the first. */
typedef struct mailout_ehlo {
    mailout_caps acc;
    /* the bytes before tok[]: short loads on a Cortex-M (offsets < 32) */
    uint8_t tok_len;
    uint8_t tok_over;  /* token longer than tok[]: ignored */
    uint8_t ntok;      /* tokens finished on this line */
    uint8_t keyword;   /* EHLO_KW_* of the line's first token */
    char tok[MAILOUT_EHLO_TOKEN_MAX];
} mailout_ehlo;

void mailout_ehlo_init(mailout_ehlo *e);
void mailout_ehlo_byte(mailout_ehlo *e, unsigned char c);
void mailout_ehlo_line_end(mailout_ehlo *e);

/** Whether the parser can capture a first line's raw text into a buffer of
 *  the caller's (SASL challenges that may be longer than reply.text, or
 *  must outlive the reply: HMAC mechanisms answer later, see
 *  smtp_auth_step). Without it a challenge is read from reply.text. */
#define MAILOUT_REPLY_CAPTURE                                                  \
    (MAILOUT_ENABLE_AUTH_CRAM_MD5 || MAILOUT_ENABLE_AUTH_SCRAM_SHA256 ||       \
     MAILOUT_SASL_CHALLENGE_MAX > MAILOUT_REPLY_TEXT_MAX)

/* Byte counts of a reply: 16 bits while the limits allow
 * (MAILOUT_REPLY_TOTAL_MAX >= MAILOUT_REPLY_LINE_MAX is checked). */
#if MAILOUT_REPLY_TOTAL_MAX < 65535
typedef uint16_t mailout_reply_count;
#else
typedef uint32_t mailout_reply_count;
#endif

/** Reply parser state. */
typedef struct mailout_reply_parser {
    mailout_reply *reply;  /* the reply being parsed (the caller's memory); complete after DONE */
    mailout_reply_count line_len; /* bytes of the current line so far */
    mailout_reply_count total;    /* bytes of the reply so far */
    uint16_t lines;        /* lines completed */
    uint16_t line_code;    /* digits of the current line so far */
    uint16_t text_len;     /* bytes in reply.text */
    uint8_t state;
    uint8_t last;          /* the current line is the final one */
    uint8_t esc;           /* parse enhanced status codes */
    uint8_t cap_over;      /* the capture (without one: reply.text) did not hold the first line's text */
    mailout_ehlo *ehlo;    /* EHLO scanner or NULL */
#if MAILOUT_REPLY_CAPTURE
    /* Optional capture of the first line's raw text (SASL challenges),
     * which may be longer than reply.text. */
    char *cap;
    size_t cap_size;
    size_t cap_len;
#endif
#if MAILOUT_ENABLE_TRACE
    /* The current line, truncated, for the trace callback. */
    char tline[MAILOUT_REPLY_TEXT_MAX + 8];
    uint16_t tline_len;
#endif
} mailout_reply_parser;

/**
 * Start a reply, parsed into @p out (cleared here). @p esc: parse "class.subject.detail" at the start of the
 * first line's text (RFC 2034; only when ENHANCEDSTATUSCODES was offered).
 * @p ehlo: scanner fed every line but the first, or NULL. @p cap/@p cap_size:
 * buffer for the first line's text (no NUL added), or NULL; ignored
 * without MAILOUT_REPLY_CAPTURE.
 */
void mailout_reply_init(mailout_reply_parser *p, mailout_reply *out, int esc, mailout_ehlo *ehlo, char *cap,
                        size_t cap_size);

/** Non-zero once the first byte of a reply was fed. */
static inline int mailout_reply_started(const mailout_reply_parser *p)
{
    return p->total != 0;
}

/**
 * Feed bytes. Stops right after the final line of a reply.
 * @param used receives how many bytes of @p in were consumed.
 * @param trace called with each complete line (truncated), may be NULL.
 * @return MAILOUT_OK (all consumed, reply not complete yet), MAILOUT_DONE
 *         (a complete reply in p->reply; p->lines lines), MAILOUT_E_PROTO,
 *         MAILOUT_E_REPLY_TOO_LONG. Errors are not sticky here: the
 *         engine stops at the first one.
 */
mailout_status mailout_reply_feed(mailout_reply_parser *p, const unsigned char *in, size_t len, size_t *used,
                                  const mailout_smtp_callbacks *trace);

#endif /* MAILOUT_SMTP_REPLY_H */
