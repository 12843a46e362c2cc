/* Validation of everything that ends up in a header field or the envelope.
 * The security rule: reject CR, LF, NUL and other controls at the API
 * boundary, so no caller string can ever start a new header line. */
#include <string.h>

#include "message/msg_internal.h"

size_t msg_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0')
        n++;
    return n;
}

/* RFC 2045 token character: printable ASCII except SPACE and tspecials. */
static int is_token_char(unsigned char c)
{
    return c > 32 && c < 127 && !mailout_in_set("()<>@,;:\\\"/[]?=", c);
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int msg_name_eq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

int msg_is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

mailout_status msg_check_address(const char *addr, size_t *len_out)
{
    if (!addr)
        return MAILOUT_E_INVAL;
    /* the engine's rule too (mailout_addr_ok): what a message takes, the
     * envelope takes */
    size_t len = msg_strnlen(addr, MAILOUT_MAX_ADDRESS_LEN);
    if (!mailout_addr_ok(addr, len))
        return MAILOUT_E_ADDRESS;
    *len_out = len;
    return MAILOUT_OK;
}

const char *msg_addr_domain(const char *addr, size_t len, size_t *dlen)
{
    size_t i = len;
    while (i > 0 && addr[i - 1] != '@')
        i--;
    *dlen = len - i;
    return addr + i;
}

mailout_status msg_check_display_name(const char *name, size_t *len_out)
{
    size_t len = msg_strnlen(name, MAILOUT_MAX_DISPLAY_NAME_LEN);
    if (len > MAILOUT_MAX_DISPLAY_NAME_LEN)
        return MAILOUT_E_LIMIT;
    mailout_status st = mailout_utf8_check(name, len, 0);
    if (st == MAILOUT_OK)
        *len_out = len;
    return st;
}

mailout_status msg_check_header_name(const char *name, size_t *len_out)
{
    if (!name)
        return MAILOUT_E_INVAL;
    size_t len = msg_strnlen(name, MAILOUT_MAX_HEADER_NAME_LEN);
    if (len > MAILOUT_MAX_HEADER_NAME_LEN)
        return MAILOUT_E_LIMIT;
    if (len == 0)
        return MAILOUT_E_HEADER;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 33 || c > 126 || c == ':')
            return MAILOUT_E_HEADER;
    }
    /* A line starting "--" could be taken for a MIME boundary by lax
     * parsers that match on prefixes. */
    if (len >= 2 && name[0] == '-' && name[1] == '-')
        return MAILOUT_E_HEADER;
    *len_out = len;
    return MAILOUT_OK;
}

mailout_status msg_check_header_value(const char *value, size_t *len_out)
{
    if (!value)
        return MAILOUT_E_INVAL;
    size_t len = msg_strnlen(value, MAILOUT_MAX_HEADER_VALUE_LEN);
    if (len > MAILOUT_MAX_HEADER_VALUE_LEN)
        return MAILOUT_E_LIMIT;
    mailout_status st = mailout_utf8_check(value, len, 1);
    if (st == MAILOUT_OK)
        *len_out = len;
    return st;
}

/* Controls in a string that should be a token: injection, not a typo. */
static mailout_status token_check(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_token_char((unsigned char)s[i]))
            return MAILOUT_E_HEADER;
    return len ? MAILOUT_OK : MAILOUT_E_HEADER;
}

mailout_status msg_check_media_type(const char *type, size_t *len_out)
{
    if (!type)
        return MAILOUT_E_INVAL;
    size_t len = msg_strnlen(type, MAILOUT_MAX_MEDIA_TYPE_LEN);
    if (len > MAILOUT_MAX_MEDIA_TYPE_LEN)
        return MAILOUT_E_LIMIT;
    size_t tlen = 0;
    while (tlen < len && type[tlen] != '/')
        tlen++;
    if (tlen == len)
        return MAILOUT_E_HEADER;
    const char *slash = type + tlen;
    if (token_check(type, tlen) != MAILOUT_OK || token_check(slash + 1, len - tlen - 1) != MAILOUT_OK)
        return MAILOUT_E_HEADER;
    /* Multiparts are built with mailout_part_new_multipart(), which owns
     * the boundary; a leaf claiming to be one would smuggle its own. */
    if (msg_name_eq(type, tlen, "multipart"))
        return MAILOUT_E_HEADER;
    *len_out = len;
    return MAILOUT_OK;
}

mailout_status msg_check_charset(const char *cs, size_t *len_out)
{
    if (!cs)
        return MAILOUT_E_INVAL;
    size_t len = msg_strnlen(cs, MSG_MAX_CHARSET_LEN);
    if (len > MSG_MAX_CHARSET_LEN)
        return MAILOUT_E_LIMIT;
    mailout_status st = token_check(cs, len);
    if (st == MAILOUT_OK)
        *len_out = len;
    return st;
}

mailout_status msg_check_msg_id(const char *id, size_t *len_out)
{
    if (!id)
        return MAILOUT_E_INVAL;
    size_t len = msg_strnlen(id, MSG_MAX_ID_LEN);
    if (len > MSG_MAX_ID_LEN)
        return MAILOUT_E_LIMIT;
    if (len < 5 || id[0] != '<' || id[len - 1] != '>')
        return MAILOUT_E_HEADER;
    size_t ats = 0, at = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 32 || c >= 127 || c == '<' || c == '>' || c == '"' || c == '\\')
            return MAILOUT_E_HEADER;
        if (c == '@') {
            ats++;
            at = i;
        }
    }
    if (ats != 1 || at == 1 || at == len - 2)
        return MAILOUT_E_HEADER;
    *len_out = len;
    return MAILOUT_OK;
}

mailout_status msg_check_envid(const char *id, size_t *len_out)
{
    /* RFC 3461 §4.4: at most 100 characters; xtext without its escapes */
    size_t len = msg_strnlen(id, 100);
    if (len == 0 || len > 100)
        return MAILOUT_E_INVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 33 || c > 126 || c == '+' || c == '=')
            return MAILOUT_E_INVAL;
    }
    *len_out = len;
    return MAILOUT_OK;
}
