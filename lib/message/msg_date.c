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

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Proleptic Gregorian date of a day count since 1970-01-01, computed in
 * 400-year eras (146097 days each) counted from 0000-03-01, so that the leap
 * day is the last day of each shifted year. */
static void civil_from_days(int64_t days, int64_t *y, unsigned *mon, unsigned *d)
{
    int64_t z = days + 719468; /* days from 0000-03-01 to 1970-01-01 */
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                      /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* 0..365, from March 1 */
    int64_t mp = (5 * doy + 2) / 153;                                    /* 0 = March */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*mon <= 2);
}

static size_t put_num(char *out, unsigned v, unsigned width)
{
    for (unsigned i = width; i > 0; i--) {
        out[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
    return width;
}

size_t msg_format_date(int64_t unix_seconds, int offset_minutes, char *out)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t local = unix_seconds + (int64_t)offset_minutes * 60;
    int64_t day = floor_div(local, 86400);
    int64_t sec = local - day * 86400;
    int64_t year;
    unsigned mon, mday;
    civil_from_days(day, &year, &mon, &mday);
    size_t n = 0;
    memcpy(out, days[(unsigned)(((day % 7) + 7 + 4) % 7)], 3); /* 1970-01-01 was a Thursday */
    n = 3;
    out[n++] = ',';
    out[n++] = ' ';
    n += put_num(out + n, mday, mday < 10 ? 1 : 2);
    out[n++] = ' ';
    memcpy(out + n, months[mon - 1], 3);
    n += 3;
    out[n++] = ' ';
    n += put_num(out + n, (unsigned)year, 4);
    out[n++] = ' ';
    n += put_num(out + n, (unsigned)(sec / 3600), 2);
    out[n++] = ':';
    n += put_num(out + n, (unsigned)(sec / 60 % 60), 2);
    out[n++] = ':';
    n += put_num(out + n, (unsigned)(sec % 60), 2);
    out[n++] = ' ';
    out[n++] = offset_minutes < 0 ? '-' : '+';
    unsigned off = (unsigned)(offset_minutes < 0 ? -offset_minutes : offset_minutes);
    n += put_num(out + n, off / 60, 2);
    n += put_num(out + n, off % 60, 2);
    return n;
}

mailout_status msg_random_chars(mailout_msg *m, char *out, size_t n)
{
    static const char alphabet[32] = "0123456789abcdefghijklmnopqrstuv";
    unsigned char bytes[(MSG_BOUNDARY_RANDOM * 5 + 7) / 8];
    size_t nbytes = (n * 5 + 7) / 8;
    if (nbytes > sizeof bytes)
        return MAILOUT_E_INTERNAL;
    if (!m->env.random || m->env.random(m->env.ctx, bytes, nbytes) != 0)
        return MAILOUT_E_STATE;
    /* 5 bits per character, taken from the bytes in order */
    for (size_t i = 0; i < n; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)bytes[byte] << 8 | (byte + 1 < nbytes ? bytes[byte + 1] : 0);
        out[i] = alphabet[(v >> (11 - shift)) & 31];
    }
    out[n] = '\0';
    return MAILOUT_OK;
}
