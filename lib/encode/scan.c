/* see mailout/encode.h: one-pass content scan for the choice of transfer encoding */
#include <string.h>

#include "internal.h"

#include <mailout/encode.h>

/*
 * sc->state: bit 0 is "the last byte was a CR" (a following LF belongs to
 * it); bits 1..3 say which range the next UTF-8 continuation byte must be
 * in, so overlongs, surrogates and code points above U+10FFFF are refused
 * at the byte that makes them so (RFC 3629 §4).
 */
#define SCAN_AFTER_CR 1u
#define SCAN_RANGE_SHIFT 1
#define SCAN_RANGE_MASK (7u << SCAN_RANGE_SHIFT)

enum {
    RANGE_80_BF = 0, /* any continuation */
    RANGE_A0_BF = 1, /* after E0: no overlong 3-byte forms */
    RANGE_80_9F = 2, /* after ED: no surrogates */
    RANGE_90_BF = 3, /* after F0: no overlong 4-byte forms */
    RANGE_80_8F = 4, /* after F4: nothing above U+10FFFF */
};

static const unsigned char range_lo[5] = {0x80, 0xA0, 0x80, 0x90, 0x80};
static const unsigned char range_hi[5] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};

/* sc->match: how much of "--=_" the current line starts with; SCAN_NO_MATCH
 * once the line cannot (or did) match. */
#define SCAN_NO_MATCH 4u
static const char boundary_prefix[4] = {'-', '-', '=', '_'};

void mailout_scan_init(mailout_scan *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->utf8_ok = 1;
}

static void scan_set_range(mailout_scan *sc, unsigned need, unsigned range)
{
    sc->utf8_need = (unsigned char)need;
    sc->state = (unsigned char)((sc->state & ~SCAN_RANGE_MASK) | range << SCAN_RANGE_SHIFT);
}

/* One step of the UTF-8 validator; stops looking once invalid. */
static void scan_utf8(mailout_scan *sc, unsigned char c)
{
    if (!sc->utf8_ok)
        return;
    if (sc->utf8_need) {
        unsigned r = (sc->state & SCAN_RANGE_MASK) >> SCAN_RANGE_SHIFT;
        if (c < range_lo[r] || c > range_hi[r]) {
            sc->utf8_ok = 0;
            return;
        }
        scan_set_range(sc, sc->utf8_need - 1u, RANGE_80_BF);
        return;
    }
    if (c < 0x80)
        return;
    /* a lead byte: how many continuations, and the range of the first */
    unsigned need = 0, range = RANGE_80_BF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        range = c == 0xE0 ? RANGE_A0_BF : c == 0xED ? RANGE_80_9F : RANGE_80_BF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        range = c == 0xF0 ? RANGE_90_BF : c == 0xF4 ? RANGE_80_8F : RANGE_80_BF;
    } else {
        sc->utf8_ok = 0; /* 80..C1 (stray continuation, overlong lead) or F5..FF */
        return;
    }
    scan_set_range(sc, need, range);
}

static void scan_end_line(mailout_scan *sc)
{
    sc->lines++;
    if (sc->cur_line > sc->max_line)
        sc->max_line = sc->cur_line;
    sc->cur_line = 0;
    sc->match = 0;
}

static void scan_byte(mailout_scan *sc, unsigned char c)
{
    unsigned after_cr = sc->state & SCAN_AFTER_CR;
    scan_utf8(sc, c); /* keeps SCAN_AFTER_CR */
    sc->state &= (unsigned char)~SCAN_AFTER_CR;
    if (c == '\n' && after_cr)
        return; /* CRLF: counted at the CR */
    if (after_cr)
        sc->has_bare = 1; /* the CR before this byte stood alone */
    if (c == '\r' || c == '\n') {
        if (c == '\r')
            sc->state |= SCAN_AFTER_CR;
        else
            sc->has_bare = 1;
        scan_end_line(sc);
        return;
    }
    if (sc->cur_line < UINT32_MAX)
        sc->cur_line++;
    if (c == 0)
        sc->has_nul = 1;
    else if ((c < 0x20 && c != '\t') || c == 0x7F)
        sc->has_ctl = 1;
    else if (c >= 0x80)
        sc->has_8bit = 1;
    if (sc->match < SCAN_NO_MATCH) {
        if (c != (unsigned char)boundary_prefix[sc->match]) {
            sc->match = SCAN_NO_MATCH;
        } else if (++sc->match == SCAN_NO_MATCH) {
            sc->boundary_like = 1;
        }
    }
}

/* SWAR: nonzero if any of the 8 bytes is outside 0x20..0x7E. */
#define SCAN_ONES UINT64_C(0x0101010101010101)
#define SCAN_HIGHS UINT64_C(0x8080808080808080)
static inline uint64_t scan_block_special(uint64_t v)
{
    uint64_t below_space = (v - SCAN_ONES * 0x20) & ~v & SCAN_HIGHS;
    uint64_t above_tilde = ((v + SCAN_ONES) | v) & SCAN_HIGHS;
    return below_space | above_tilde;
}

/*
 * Fast path over printable ASCII in the middle of a line, with no UTF-8
 * sequence open and the boundary check settled: it only moves cur_line.
 * Returns how many bytes it took.
 */
static size_t scan_run(mailout_scan *sc, const unsigned char *p, size_t len)
{
    /* MAILOUT_SMALL: scan_byte alone gives the same facts */
    if (MAILOUT_SMALL || sc->utf8_need || sc->match < SCAN_NO_MATCH || (sc->state & SCAN_AFTER_CR))
        return 0;
    size_t i = 0;
    while (len - i >= 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (scan_block_special(v))
            break;
        i += 8;
    }
    while (i < len && ((unsigned char)(p[i] - 0x20u) < 0x5Fu || p[i] == '\t'))
        i++;
    uint64_t cur = (uint64_t)sc->cur_line + i;
    sc->cur_line = cur > UINT32_MAX ? UINT32_MAX : (uint32_t)cur;
    return i;
}

void mailout_scan_update(mailout_scan *sc, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    sc->bytes += len;
    while (i < len) {
        i += scan_run(sc, p + i, len - i);
        if (i < len)
            scan_byte(sc, p[i++]);
    }
}

void mailout_scan_final(mailout_scan *sc)
{
    if (sc->state & SCAN_AFTER_CR) {
        sc->has_bare = 1;
        sc->state &= (unsigned char)~SCAN_AFTER_CR;
    }
    if (sc->cur_line > sc->max_line)
        sc->max_line = sc->cur_line;
    if (sc->utf8_need)
        sc->utf8_ok = 0; /* the input ended inside a sequence */
}
