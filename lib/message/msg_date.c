/* RFC 5322 §3.3 date-time and the random strings behind Message-IDs and
 * boundaries. No libc time functions: the core has no OS. */
#include <string.h>

#include "message/msg_internal.h"

/* 1900-01-01 (RFC 5322 §4.3: years before 1900 are obsolete) and
 * 9999-12-31 23:59:59 (four-digit years). */
#define MSG_DATE_MIN (-2208988800LL)
#define MSG_DATE_MAX 253402300799LL

int msg_date_in_range(int64_t unix_seconds, int offset_minutes)
{
    if (offset_minutes < -1439 || offset_minutes > 1439)
        return 0;
    if (unix_seconds < MSG_DATE_MIN || unix_seconds > MSG_DATE_MAX)
        return 0;
    int64_t local = unix_seconds + (int64_t)offset_minutes * 60;
    return local >= MSG_DATE_MIN && local <= MSG_DATE_MAX;
}

static unsigned is_leap(unsigned y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* v as exactly width decimal digits, followed by sep (when not 0). */
static char *put_num(char *out, unsigned v, unsigned width, char sep)
{
    for (unsigned i = width; i > 0; i--) {
        out[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
    out += width;
    if (sep)
        *out++ = sep;
    return out;
}

size_t msg_format_date(int64_t unix_seconds, int offset_minutes, char *out)
{
    /* Three letters each, packed: no pointer or padding per name. */
    static const char names[] = "MonTueWedThuFriSatSunJanFebMarAprMayJunJulAugSepOctNovDec";
    /* The caller checked msg_date_in_range(): the local time is at or after
     * 1900-01-01 00:00:00, so counting from there keeps everything unsigned. */
    uint32_t sec;
    uint32_t day = (uint32_t)mailout_u64_divmod(
        (uint64_t)(unix_seconds + (int64_t)offset_minutes * 60 - MSG_DATE_MIN), 86400, &sec);
    char *p = out;
    memcpy(p, names + day % 7 * 3, 3); /* 1900-01-01 was a Monday */
    /* Proleptic Gregorian date by counting whole years and months off: at
     * most ~8100 short steps (year 9999), once per message, in less code
     * than the closed form. Month lengths: 30 or 31 by the parity of
     * mon + mon / 8 (mon 1..12), February aside. */
    unsigned year = 1900, mon = 1, n;
    while (day >= (n = 365 + is_leap(year))) {
        day -= n;
        year++;
    }
    while (day >= (n = mon == 2 ? 28 + is_leap(year) : 30 + ((mon + (mon >> 3)) & 1))) {
        day -= n;
        mon++;
    }
    p[3] = ',';
    p[4] = ' ';
    p = put_num(p + 5, day + 1, day < 9 ? 1 : 2, ' ');
    memcpy(p, names + 18 + mon * 3, 3);
    p[3] = ' ';
    p = put_num(p + 4, year, 4, ' ');
    p = put_num(p, sec / 3600, 2, ':');
    p = put_num(p, sec / 60 % 60, 2, ':');
    p = put_num(p, sec % 60, 2, ' ');
    *p++ = offset_minutes < 0 ? '-' : '+';
    unsigned off = (unsigned)(offset_minutes < 0 ? -offset_minutes : offset_minutes);
    p = put_num(p, off / 60 * 100 + off % 60, 4, 0);
    return (size_t)(p - out);
}

mailout_status msg_random_bytes(mailout_msg *m, unsigned char *out, size_t n)
{
    if (!m->env.random || m->env.random(m->env.ctx, out, n) != 0)
        return MAILOUT_E_STATE;
    return MAILOUT_OK;
}

void msg_b32(const unsigned char *bytes, size_t nbytes, char *out, size_t n)
{
    static const char alphabet[32] = "0123456789abcdefghijklmnopqrstuv";
    for (size_t i = 0; i < n; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)bytes[byte] << 8 | (byte + 1 < nbytes ? bytes[byte + 1] : 0);
        out[i] = alphabet[(v >> (11 - shift)) & 31];
    }
}

#if MAILOUT_ENABLE_MIME
mailout_status msg_random_chars(mailout_msg *m, char *out, size_t n)
{
    unsigned char bytes[(MSG_BOUNDARY_RANDOM * 5 + 7) / 8];
    size_t nbytes = (n * 5 + 7) / 8;
    if (nbytes > sizeof bytes)
        return MAILOUT_E_INTERNAL;
    mailout_status st = msg_random_bytes(m, bytes, nbytes);
    if (st != MAILOUT_OK)
        return st;
    msg_b32(bytes, nbytes, out, n);
    out[n] = '\0';
    return MAILOUT_OK;
}
#endif
