/*
 * EHLO keyword scanner: see reply.h. Keywords are compared whole and
 * case-insensitively (RFC 5321 §4.1.1.1), so "STARTTLSX" or "AUTHX" are
 * not STARTTLS or AUTH (the prefix-match mistake of several clients), and
 * only a bounded token is ever held: a 20 KB AUTH line costs nothing.
 */
#include <string.h>

#include "internal.h"
#include "reply.h"
#include "sasl.h"

enum {
    KW_NONE = 0, /* unknown or not yet known */
    KW_AUTH,
    KW_SIZE,
    KW_FLAG      /* a keyword without parameters we use */
};

/* The keywords we use, in the order of their MAILOUT_CAP_* bits (name i
 * is bit 1 << i), each ended by a NUL: one string, no pointer table. An
 * extension compiled out has " " instead, which no token is (a space ends
 * one): it is not looked for, and mailout_smtp_caps() does not report it.
 * (SCRAM reads ENHANCEDSTATUSCODES without the codes' parser: session.c.) */
#if MAILOUT_ENABLE_STARTTLS
#define KW_STARTTLS "STARTTLS"
#else
#define KW_STARTTLS " "
#endif
#if MAILOUT_ENABLE_PIPELINING
#define KW_PIPELINING "PIPELINING"
#else
#define KW_PIPELINING " "
#endif
#if MAILOUT_ENABLE_SMTPUTF8
#define KW_SMTPUTF8 "SMTPUTF8"
#else
#define KW_SMTPUTF8 " "
#endif
#if MAILOUT_ENABLE_CHUNKING
#define KW_CHUNKING "CHUNKING"
#else
#define KW_CHUNKING " "
#endif
#if MAILOUT_ENABLE_SIZE
#define KW_SIZE_NAME "SIZE"
#else
#define KW_SIZE_NAME " "
#endif
#if MAILOUT_ENABLE_DSN
#define KW_DSN "DSN"
#else
#define KW_DSN " "
#endif
#if MAILOUT_ENABLE_ENHANCEDSTATUSCODES || MAILOUT_ENABLE_AUTH_SCRAM_SHA256
#define KW_ESC "ENHANCEDSTATUSCODES"
#else
#define KW_ESC " "
#endif
static const char ehlo_keywords[] = KW_STARTTLS "\0" KW_PIPELINING "\0"
                                    "8BITMIME\0" KW_SMTPUTF8 "\0" KW_CHUNKING "\0" KW_SIZE_NAME "\0" KW_DSN "\0" KW_ESC "\0"
                                    "AUTH\0";

#if MAILOUT_CAP_STARTTLS != 1 || MAILOUT_CAP_SIZE != 32 || MAILOUT_CAP_ENHANCEDSTATUSCODES != 128 || \
    MAILOUT_CAP_AUTH != 256
#error "ehlo_keywords[] follows the MAILOUT_CAP_* bit order"
#endif

/* The MAILOUT_CAP_* bit of the token (whole, case-insensitive), 0 if none. */
static unsigned token_cap(const mailout_ehlo *e)
{
    return mailout_word_bit(ehlo_keywords, e->tok, e->tok_len);
}

static void line_reset(mailout_ehlo *e)
{
    e->tok_len = 0;
    e->tok_over = 0;
    e->ntok = 0;
    e->keyword = KW_NONE;
}

void mailout_ehlo_init(mailout_ehlo *e)
{
    memset(e, 0, sizeof *e); /* and so line_reset()'s state: KW_NONE is 0 */
}

static void first_token(mailout_ehlo *e)
{
    if (e->tok_over)
        return;
    unsigned cap = token_cap(e);
    if (!cap)
        return;
    e->acc.caps |= cap;
    e->keyword = cap == MAILOUT_CAP_AUTH ? KW_AUTH
                 : MAILOUT_ENABLE_SIZE && cap == MAILOUT_CAP_SIZE ? KW_SIZE
                                                                   : KW_FLAG;
}

#if MAILOUT_ENABLE_SIZE
/* SIZE's parameter: decimal digits only; anything else means "no limit
 * known" (0). A value too large for 64 bits saturates: no real limit. */
static void size_param(mailout_ehlo *e)
{
    uint64_t v = 0;
    for (size_t i = 0; i < e->tok_len; i++) {
        unsigned d = (unsigned)(unsigned char)e->tok[i] - '0';
        if (d > 9) {
            e->acc.size_limit = 0;
            return;
        }
        /* v * 10 + d would pass UINT64_MAX (a constant bound: no
         * run-time 64-bit division) */
        if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
            v = UINT64_MAX;
        else
            v = v * 10 + d;
    }
    /* more digits than tok[] holds is far beyond 2^64 */
    e->acc.size_limit = e->tok_over ? UINT64_MAX : v;
}
#endif

static void token_end(mailout_ehlo *e)
{
    if (e->ntok == 0) {
        first_token(e);
    } else if (e->keyword == KW_AUTH && !e->tok_over) {
        e->acc.auth |= mailout_sasl_from_name(e->tok, e->tok_len);
    }
#if MAILOUT_ENABLE_SIZE
    else if (e->keyword == KW_SIZE && e->ntok == 1) {
        size_param(e);
    }
#endif
    e->ntok = (uint8_t)(e->ntok < 255 ? e->ntok + 1 : 255);
    e->tok_len = 0;
    e->tok_over = 0;
}

void mailout_ehlo_byte(mailout_ehlo *e, unsigned char c)
{
    /* "AUTH=LOGIN PLAIN": the legacy form ends the keyword at '=' */
    if (c == ' ' || (c == '=' && e->ntok == 0)) {
        if (e->tok_len || e->tok_over || c == '=')
            token_end(e);
        return;
    }
    if (e->tok_len < sizeof e->tok) {
        e->tok[e->tok_len++] = (char)c;
        return;
    }
    e->tok_over = 1;
    /* SIZE's parameter is judged on what was kept; junk after the kept
     * digits must still make it "not a number". */
    if (MAILOUT_ENABLE_SIZE && e->keyword == KW_SIZE && e->ntok == 1 && (c < '0' || c > '9'))
        e->tok[0] = 'x';
}

void mailout_ehlo_line_end(mailout_ehlo *e)
{
    if (e->tok_len || e->tok_over)
        token_end(e);
    line_reset(e);
}
