/* Address syntax: one rule for the envelope (the engine) and the header
 * fields (the message layer), see mailout_addr_ok in header.h. */
#include "encode/header.h"
#include "internal.h"

/* RFC 5322 atext beyond letters and digits (RFC 5321's Atom is the same). */
static const char atext_extra[] = "!#$%&'*+-/=?^_`{|}~";

/* An 8-bit byte (UTF-8, checked before): only with SMTPUTF8; without it
 * none gets this far, and the tests for one fold away. */
#define EIGHT_BIT(c) (MAILOUT_ENABLE_SMTPUTF8 && (c) >= 0x80)

static int alnum(unsigned char c)
{
    return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 5321 Dot-string / RFC 5322 dot-atom: atoms of atext and 8-bit bytes
 * (UTF-8, checked by the caller) between single dots, none empty. */
static int dot_atom_ok(const unsigned char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (!EIGHT_BIT(c) && !alnum(c) && !mailout_in_set(atext_extra, c)) {
            return 0;
        }
    }
    return 1;
}

/* RFC 5321 Domain: sub-domains of 1..63 letters, digits, '-' (not at
 * either end; no '_') or 8-bit bytes (U-labels), between single dots. */
static int domain_ok(const unsigned char *p, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '.') {
            if (!EIGHT_BIT(p[i]) && !alnum(p[i]) && p[i] != '-')
                return 0;
            continue;
        }
        if (i == start || i - start > 63 || p[start] == '-' || p[i - 1] == '-')
            return 0;
        start = i + 1;
    }
    return 1;
}

/* RFC 5321 Quoted-string: qtext and quoted pairs between two '"'. '<' and
 * '>' are qtext, but a server that ends the path at the first '>' would
 * read the rest as parameters: refused. */
static int quoted_ok(const unsigned char *p, size_t len)
{
    /* "" is refused too: readers take it for an empty local part */
    if (len < 3 || p[0] != '"' || p[len - 1] != '"')
        return 0;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = p[i];
        if (c == '\\') {
            if (i + 2 >= len) /* the closing quote would be escaped */
                return 0;
            c = p[++i]; /* quoted-pairSMTP: %d32-126; an escaped '<' '>' is one all the same */
            if (EIGHT_BIT(c))
                return 0;
            if (c == '"')
                continue;
        }
        if (c == '"' || c == '<' || c == '>')
            return 0;
    }
    return 1;
}

/* An address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"): a lax
 * server that ends the path at the first '>' would read "a@[x>SIZE=1]" as
 * a parameter, so only the characters IPv4, IPv6 and tagged literals need
 * are accepted. */
static int literal_ok(const unsigned char *p, size_t len)
{
    if (len < 3 || p[len - 1] != ']')
        return 0;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = p[i];
        if (!alnum(c) && !mailout_in_set(".:-", c))
            return 0;
    }
    return 1;
}

int mailout_addr_ok(const char *addr, size_t len)
{
    const unsigned char *p = (const unsigned char *)addr;
    size_t at = len;
#if MAILOUT_ENABLE_SMTPUTF8
    /* no controls, DEL or broken UTF-8 anywhere (RFC 6531 allows UTF-8) */
    if (len == 0 || len > MAILOUT_MAX_ADDRESS_LEN || mailout_utf8_check(addr, len, 0) != MAILOUT_OK)
        return 0;
#else
    if (len == 0 || len > MAILOUT_MAX_ADDRESS_LEN)
        return 0;
#endif
    while (at > 0 && p[at - 1] != '@')
        at--;
    if (at < 2 || at - 1 > 64 || at == len) /* no '@', empty or long local part, no domain */
        return 0;
    /* RFC 2047 §5: never an encoded-word ("=?") in an addr-spec (readers
     * decode "=?utf-8?q?=3E?=" to '>' all the same) */
#if !MAILOUT_ENABLE_SMTPUTF8
    /* printable ASCII only (UTF-8 needs SMTPUTF8); "=?" in the same pass */
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] >= 0x7f || (i + 2 < at && p[i] == '=' && p[i + 1] == '?'))
            return 0;
#endif
    if (!(p[0] == '"' ? quoted_ok(p, at - 1) : dot_atom_ok(p, at - 1)))
        return 0;
#if MAILOUT_ENABLE_SMTPUTF8
    for (size_t i = 0; i + 2 < at; i++)
        if (p[i] == '=' && p[i + 1] == '?')
            return 0;
#endif
    return p[at] == '[' ? literal_ok(p + at, len - at) : domain_ok(p + at, len - at);
}
