/* see mailout/encode.h: base64 (RFC 4648 §4) with MIME line breaking (RFC 2045 §6.8) */
#include <string.h>

#include "internal.h"
#include "encode/b64_x86.h"
#include "encode/pend.h"

#include <mailout/encode.h>

/* e->flags */
#define B64_FINISHED 1u /* MAILOUT_DONE was returned */
/* Bits 1-2: the vector level (b64_x86.h) chosen at init, so the per-call
 * path reads it from the state instead of asking the CPU each time. */
#define B64_LEVEL_SHIFT 1
#define B64_LEVEL_MASK (3u << B64_LEVEL_SHIFT)

#if MAILOUT_B64_X86
#define B64_LEVEL(e) (((e)->flags & B64_LEVEL_MASK) >> B64_LEVEL_SHIFT)
#else
#define B64_LEVEL(e) MAILOUT_B64_SCALAR /* a constant: the vector branches fold away */
#endif

static const char b64_alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#if MAILOUT_B64_X86
/*
 * Vector kernels for x86-64 hosts (see b64_x86.h): SSSE3 encodes 4 groups
 * (12 bytes -> 16 characters) per step, AVX2 8 groups (24 -> 32), the same
 * steps in each 128-bit lane. Only complete groups: line breaks, carried
 * bytes and padding stay with the scalar code, so every byte of output is
 * decided by the same code on every path. Compiled with function target
 * attributes and called only after mailout_b64_best_level() has said the CPU
 * has the feature.
 *
 * One step, per 3-byte group b0 b1 b2 (sextets s0..s3, s0 = b0 >> 2, ...):
 *  1. shuffle: the group's 32-bit lane becomes the bytes b1 b0 b2 b1, so its
 *     low 16 bits are b0:b1 and its high 16 bits b1:b2 (big-endian pairs);
 *  2. split: s0 and s2 are masked out and shifted down to the bottom of
 *     their 16-bit halves with one multiply-high (by 2^6 and 2^10), s1 and
 *     s3 masked and shifted up to the top byte of theirs with one
 *     multiply-low (by 2^4 and 2^8); OR gives s0 s1 s2 s3 in byte order;
 *  3. alphabet: each sextet gets the offset of its range added ('A'-0 for
 *     0..25, 'a'-26 for 26..51, '0'-52 for 52..61, then '+' and '/'),
 *     picked by a 16-entry byte shuffle from a range number.
 * Loads and stores touch only the bytes of the groups encoded: the AVX2
 * step loads its upper lane 4 bytes early and shuffles from a different
 * offset rather than reading past the 24 bytes. A run that is not a whole
 * number of steps ends with one step that overlaps the one before (the
 * same characters written twice) instead of a scalar tail.
 *
 * Figures (bench_encode, EPYC Zen, TSC ticks per input byte, 1 MB in
 * cache / 32 MB streamed): 76-column lines 0.25 / 0.30, unbroken 0.19 /
 * 0.27, against 0.87-0.96 for the pair-table scalar code.
 */
#include <immintrin.h>

#define B64_TARGET_SSSE3 __attribute__((target("ssse3")))
#define B64_TARGET_AVX2 __attribute__((target("avx2")))

/* Range numbers (step 3): 0 for 0..25, then one more than the saturated
 * s - 51: 1 for 26..51, 2..11 for 52..61, 12 and 13 for 62 and 63 (the
 * "+ 1" is subtracting the all-ones of s > 25). The offset added for each;
 * 14 and 15 are never used. */
#define B64_OFFSETS 65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0

/* ---- SSSE3: 4 groups ---------------------------------------------------- */

/* Steps 2 and 3 on 16 shuffled bytes. */
static inline B64_TARGET_SSSE3 __m128i b64_chars128(__m128i v)
{
    const __m128i hi_mask = _mm_set1_epi32(0x0FC0FC00);   /* s0 (low half), s2 (high half) */
    const __m128i hi_mul = _mm_set1_epi32(0x04000040);    /* >> 10, >> 6 after mulhi */
    const __m128i lo_mask = _mm_set1_epi32(0x003F03F0);   /* s1, s3 */
    const __m128i lo_mul = _mm_set1_epi32(0x01000010);    /* << 4, << 8 */
    __m128i s = _mm_or_si128(_mm_mulhi_epu16(_mm_and_si128(v, hi_mask), hi_mul),
                             _mm_mullo_epi16(_mm_and_si128(v, lo_mask), lo_mul));
    /* s is 0..63 in every byte, so the signed compare works. */
    __m128i range = _mm_sub_epi8(_mm_subs_epu8(s, _mm_set1_epi8(51)), _mm_cmpgt_epi8(s, _mm_set1_epi8(25)));
    const __m128i offsets = _mm_setr_epi8(B64_OFFSETS);
    return _mm_add_epi8(s, _mm_shuffle_epi8(offsets, range));
}

/* in[0..11] -> out[0..15]. Two 8-byte loads (in[0..7], in[4..11]) so that
 * nothing past the 12 bytes is read; groups 2 and 3 come from the second. */
static inline B64_TARGET_SSSE3 void b64_step12(const unsigned char *in, unsigned char *out)
{
    __m128i v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)in),
                                   _mm_loadl_epi64((const __m128i *)(const void *)(in + 4)));
    const __m128i order = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 11, 10, 12, 11, 14, 13, 15, 14);
    _mm_storeu_si128((__m128i *)(void *)out, b64_chars128(_mm_shuffle_epi8(v, order)));
}

static B64_TARGET_SSSE3 void b64_groups_ssse3(const unsigned char *in, size_t groups, unsigned char *out)
{
    size_t i = 0;
    for (; i + 4 <= groups; i += 4)
        b64_step12(in + 3 * i, out + 4 * i);
    /* The last 1..3 groups: one more step that ends at the last group and
     * redoes some before it (same bytes, written again). */
    if (i < groups)
        b64_step12(in + 3 * (groups - 4), out + 4 * (groups - 4));
}

/* 19 groups per line: steps at groups 0, 4, 8, 12 and 15 (overlapping). */
static B64_TARGET_SSSE3 void b64_lines76_ssse3(const unsigned char *in, size_t lines, unsigned char *out)
{
    for (size_t l = 0; l < lines; l++, in += 57, out += 78) {
        out[0] = '\r';
        out[1] = '\n';
        b64_step12(in, out + 2);
        b64_step12(in + 12, out + 18);
        b64_step12(in + 24, out + 34);
        b64_step12(in + 36, out + 50);
        b64_step12(in + 45, out + 62);
    }
}

/* ---- AVX2: 8 groups ----------------------------------------------------- */

static inline B64_TARGET_AVX2 __m256i b64_chars256(__m256i v)
{
    const __m256i hi_mask = _mm256_set1_epi32(0x0FC0FC00);
    const __m256i hi_mul = _mm256_set1_epi32(0x04000040);
    const __m256i lo_mask = _mm256_set1_epi32(0x003F03F0);
    const __m256i lo_mul = _mm256_set1_epi32(0x01000010);
    __m256i s = _mm256_or_si256(_mm256_mulhi_epu16(_mm256_and_si256(v, hi_mask), hi_mul),
                                _mm256_mullo_epi16(_mm256_and_si256(v, lo_mask), lo_mul));
    __m256i range =
        _mm256_sub_epi8(_mm256_subs_epu8(s, _mm256_set1_epi8(51)), _mm256_cmpgt_epi8(s, _mm256_set1_epi8(25)));
    const __m256i offsets = _mm256_setr_epi8(B64_OFFSETS, B64_OFFSETS);
    return _mm256_add_epi8(s, _mm256_shuffle_epi8(offsets, range));
}

/* in[0..23] -> out[0..31]. The low lane is in[0..15] (groups 0-3 at bytes
 * 0..11), the high lane in[8..23] (groups 4-7 at bytes 4..15): exactly the
 * 24 bytes are read. */
static inline B64_TARGET_AVX2 void b64_step24(const unsigned char *in, unsigned char *out)
{
    __m256i v = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)in)),
        _mm_loadu_si128((const __m128i *)(const void *)(in + 8)), 1);
    const __m256i order = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
                                           5, 4, 6, 5, 8, 7, 9, 8, 11, 10, 12, 11, 14, 13, 15, 14);
    _mm256_storeu_si256((__m256i *)(void *)out, b64_chars256(_mm256_shuffle_epi8(v, order)));
}

static B64_TARGET_AVX2 void b64_groups_avx2(const unsigned char *in, size_t groups, unsigned char *out)
{
    size_t i = 0;
    for (; i + 8 <= groups; i += 8)
        b64_step24(in + 3 * i, out + 4 * i);
    if (i < groups) /* the last 1..7 groups, as in b64_groups_ssse3 */
        b64_step24(in + 3 * (groups - 8), out + 4 * (groups - 8));
}

/* 19 groups per line: two steps for groups 0-15, then a 4-group step (the
 * SSSE3 one, which AVX2 CPUs have) for 15-18: 20 groups' work for 19,
 * where three 8-group steps would do 24. */
static B64_TARGET_AVX2 void b64_lines76_avx2(const unsigned char *in, size_t lines, unsigned char *out)
{
    for (size_t l = 0; l < lines; l++, in += 57, out += 78) {
        out[0] = '\r';
        out[1] = '\n';
        b64_step24(in, out + 2);
        b64_step24(in + 24, out + 34);
        b64_step12(in + 45, out + 62);
    }
}

static size_t b64_x86_groups(unsigned level, const unsigned char *in, size_t groups, unsigned char *out)
{
    if (level >= MAILOUT_B64_AVX2 && groups >= 8) {
        b64_groups_avx2(in, groups, out);
        return groups;
    }
    if (level >= MAILOUT_B64_SSSE3 && groups >= 4) {
        b64_groups_ssse3(in, groups, out);
        return groups;
    }
    return 0;
}

static void b64_x86_lines76(unsigned level, const unsigned char *in, size_t lines, unsigned char *out)
{
    if (level >= MAILOUT_B64_AVX2)
        b64_lines76_avx2(in, lines, out);
    else
        b64_lines76_ssse3(in, lines, out);
}
#else
/* Never called: the level is always MAILOUT_B64_SCALAR without the kernels. */
#define b64_x86_lines76(level, in, lines, out) ((void)0)
#endif /* MAILOUT_B64_X86 */

/*
 * The hot loop uses a table of all 4096 pairs of characters (two per 12
 * input bits): two table loads and two 2-byte stores per group instead of
 * four and four. It costs 8 KB of read-only data, so small targets can switch it
 * off with -DMAILOUT_B64_PAIR_TABLE=0; it is off by default where pointers
 * are 32 bits or less (microcontrollers).
 */
#ifndef MAILOUT_B64_PAIR_TABLE
#if UINTPTR_MAX > 0xFFFFFFFFu
#define MAILOUT_B64_PAIR_TABLE 1
#else
#define MAILOUT_B64_PAIR_TABLE 0
#endif
#endif

#if MAILOUT_SMALL
#undef MAILOUT_B64_PAIR_TABLE
#define MAILOUT_B64_PAIR_TABLE 0
#endif

#if MAILOUT_B64_PAIR_TABLE
/* An integer constant expression for b64_alphabet[i], for the table. */
#define B64_CH(i) ((i) < 26 ? 'A' + (i) : (i) < 52 ? 'a' + (i) - 26 : (i) < 62 ? '0' + (i) - 52 : (i) == 62 ? '+' : '/')
#define B64_P1(i) B64_CH((i) >> 6), B64_CH((i) & 63),
#define B64_P4(i) B64_P1(i) B64_P1((i) + 1) B64_P1((i) + 2) B64_P1((i) + 3)
#define B64_P16(i) B64_P4(i) B64_P4((i) + 4) B64_P4((i) + 8) B64_P4((i) + 12)
#define B64_P64(i) B64_P16(i) B64_P16((i) + 16) B64_P16((i) + 32) B64_P16((i) + 48)
#define B64_P256(i) B64_P64(i) B64_P64((i) + 64) B64_P64((i) + 128) B64_P64((i) + 192)
#define B64_P1024(i) B64_P256(i) B64_P256((i) + 256) B64_P256((i) + 512) B64_P256((i) + 768)
static const unsigned char b64_pairs[8192] = {
    B64_P1024(0) B64_P1024(1024) B64_P1024(2048) B64_P1024(3072)
};

/*
 * Each 12-bit piece becomes one table pair stored on its own: fewer
 * instructions than shifting the pairs together into one 4- or 8-byte
 * store, and faster where stores have ports to spare (x86-64 Zen 3: 0.60
 * against 0.66 TSC ticks per input byte with merged 8-byte stores).
 */

/* Four output characters of one complete 3-byte group. */
static inline void b64_group(const unsigned char *in, unsigned char *out)
{
    uint32_t v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
    memcpy(out, b64_pairs + 2 * (v >> 12), 2);
    memcpy(out + 2, b64_pairs + 2 * (v & 4095), 2);
}

/* The 8 bytes at p as a big-endian number: compilers make this one load
 * and a byte swap. */
static inline uint64_t b64_be64(const unsigned char *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
           (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* Eight characters of the two groups at @p in, from one 8-byte load: reads
 * in[0..7], of which in[6] and in[7] are not used. */
static inline void b64_two(const unsigned char *in, unsigned char *out)
{
    uint64_t v = b64_be64(in);
    memcpy(out, b64_pairs + 2 * (v >> 52), 2);
    memcpy(out + 2, b64_pairs + 2 * (v >> 40 & 4095), 2);
    memcpy(out + 4, b64_pairs + 2 * (v >> 28 & 4095), 2);
    memcpy(out + 6, b64_pairs + 2 * (v >> 16 & 4095), 2);
}

/* MIME's usual line: 19 groups, 57 input bytes, 76 characters. */
#define B64_MIME_LINE 76
#define B64_LINE_IN 57
#define B64_LINE_OUT 78 /* CRLF and the line */

/* CRLF and then one 76-character line of the 57 bytes at @p in, 78 bytes
 * at @p out. Reads in[0..56] only: nine 8-byte loads end at in[55], the
 * last group is loaded on its own. */
static inline void b64_line76(const unsigned char *in, unsigned char *out)
{
    out[0] = '\r';
    out[1] = '\n';
    for (size_t k = 0; k < 9; k++)
        b64_two(in + 6 * k, out + 2 + 8 * k);
    b64_group(in + 54, out + 74);
}

/*
 * Whole lines for 76-column output while the previous line is full (col ==
 * 76, its CRLF not yet written): as many as both the input and the window
 * hold, counted once, so the loop carries no per-line checks and no state
 * updates. The state after it is again col == 76. Each CRLF is written in
 * front of a group, as the group-wise path does, so the bytes are the
 * same.
 */
static void b64_lines76(mailout_stream *s, unsigned level)
{
    size_t n = MAILOUT_MIN(s->avail_in / B64_LINE_IN, s->avail_out / B64_LINE_OUT);
    const unsigned char *in = s->next_in;
    unsigned char *out = s->next_out;
    if (level != MAILOUT_B64_SCALAR) {
        b64_x86_lines76(level, in, n, out);
    } else {
        for (size_t i = 0; i < n; i++)
            b64_line76(in + i * B64_LINE_IN, out + i * B64_LINE_OUT);
    }
    s->next_in = in + n * B64_LINE_IN;
    s->avail_in -= n * B64_LINE_IN;
    s->next_out = out + n * B64_LINE_OUT;
    s->avail_out -= n * B64_LINE_OUT;
}
#elif MAILOUT_SMALL
/* One routine for whole groups and the padded tail: n (1..3) bytes give
 * n + 1 characters and 3 - n '='. */
static void b64_tail(const unsigned char *in, size_t n, unsigned char *out)
{
    uint32_t v = (uint32_t)in[0] << 16 | (n > 1 ? (uint32_t)in[1] << 8 : 0) | (n > 2 ? in[2] : 0);
    for (size_t i = 0; i < 4; i++, v <<= 6)
        out[i] = i <= n ? (unsigned char)b64_alphabet[(v >> 18) & 63] : '=';
}

static void b64_group(const unsigned char *in, unsigned char *out)
{
    b64_tail(in, 3, out);
}
#else
/* Four output characters of one complete 3-byte group. */
static inline void b64_group(const unsigned char *in, unsigned char *out)
{
    uint32_t v = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
    out[0] = (unsigned char)b64_alphabet[v >> 18];
    out[1] = (unsigned char)b64_alphabet[(v >> 12) & 63];
    out[2] = (unsigned char)b64_alphabet[(v >> 6) & 63];
    out[3] = (unsigned char)b64_alphabet[v & 63];
}
#endif

#if !MAILOUT_SMALL
/* The padded last group of 1 or 2 bytes. */
static void b64_tail(const unsigned char *in, size_t n, unsigned char *out)
{
    uint32_t v = (uint32_t)in[0] << 16 | (n > 1 ? (uint32_t)in[1] << 8 : 0);
    out[0] = (unsigned char)b64_alphabet[v >> 18];
    out[1] = (unsigned char)b64_alphabet[(v >> 12) & 63];
    out[2] = n > 1 ? (unsigned char)b64_alphabet[(v >> 6) & 63] : '=';
    out[3] = '=';
}
#endif

/*
 * Encode @p groups complete groups; the hot loop of every path. @p avail
 * is how many bytes may be read at @p in (at least 3 * groups): with the
 * pair table, two groups are taken from one 8-byte load whenever the two
 * bytes after them are readable too. How many such loads fit is counted
 * once, so the unrolled loop checks one bound.
 */
static void b64_groups(const unsigned char *in, size_t groups, size_t avail, unsigned char *out)
{
    size_t i = 0;
#if MAILOUT_B64_PAIR_TABLE
    /* Load k reads in[6k .. 6k+7]: it fits while 6k + 8 <= avail. */
    size_t loads = avail < 2 ? 0 : MAILOUT_MIN(groups / 2, (avail - 2) / 6);
    size_t k = 0;
    for (; k + 4 <= loads; k += 4) {
        b64_two(in + 6 * k, out + 8 * k);
        b64_two(in + 6 * k + 6, out + 8 * k + 8);
        b64_two(in + 6 * k + 12, out + 8 * k + 16);
        b64_two(in + 6 * k + 18, out + 8 * k + 24);
    }
    for (; k < loads; k++)
        b64_two(in + 6 * k, out + 8 * k);
    i = 2 * loads;
#else
    (void)avail;
#endif
    for (; i < groups; i++)
        b64_group(in + 3 * i, out + 4 * i);
}

#if MAILOUT_B64_X86
unsigned mailout_b64_best_level(void)
{
    /* Reads what libgcc / compiler-rt found at start-up; the init call makes
     * it safe even from another library's constructor. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return MAILOUT_B64_AVX2;
    if (__builtin_cpu_supports("ssse3"))
        return MAILOUT_B64_SSSE3;
    return MAILOUT_B64_SCALAR;
}

void mailout_b64_set_level(mailout_b64 *e, unsigned level)
{
    level = MAILOUT_MIN(level, mailout_b64_best_level());
    e->flags = (unsigned char)((e->flags & ~B64_LEVEL_MASK) | level << B64_LEVEL_SHIFT);
}

/* Whether the vector kernel of @p level encoded all @p groups (else the
 * scalar code does them: too few for one step, or no vector level). */
static int b64_vec_groups(unsigned level, const unsigned char *in, size_t groups, unsigned char *out)
{
    return level != MAILOUT_B64_SCALAR && b64_x86_groups(level, in, groups, out) == groups;
}
#else
/* No vector code: "not done", and level is never evaluated (it does not
 * even exist in these builds), so the code is what it was before. */
#define b64_vec_groups(level, in, groups, out) 0
#endif

mailout_status mailout_b64_init(mailout_b64 *e, unsigned line_len)
{
    memset(e, 0, sizeof *e);
    if (line_len % 4 != 0 || line_len > 76)
        return MAILOUT_E_INVAL;
    e->line_len = (unsigned short)line_len;
#if MAILOUT_B64_X86
    mailout_b64_set_level(e, MAILOUT_B64_AVX2); /* the best the CPU has */
#endif
    return MAILOUT_OK;
}

/* Write what is left of e->pend; nonzero when all of it went out. */
static int b64_flush(mailout_b64 *e, mailout_stream *s)
{
#if MAILOUT_SMALL
    return mailout_pend_flush(e->pend, &e->npend, &e->pendpos, s);
#else
    /* The same, inline: with small windows every call ends in a part of a
     * group and the next starts with the rest, and for those few bytes the
     * shared helper's call and memcpy cost more than the copy. */
    size_t n = MAILOUT_MIN((size_t)(e->npend - e->pendpos), s->avail_out);
    const unsigned char *p = e->pend + e->pendpos;
    for (size_t i = 0; i < n; i++)
        s->next_out[i] = p[i];
    s->next_out += n;
    s->avail_out -= n;
    e->pendpos = (unsigned char)(e->pendpos + n);
    if (e->pendpos < e->npend)
        return 0;
    e->npend = e->pendpos = 0;
    return 1;
#endif
}

/* Queue one group (complete or padded tail) in e->pend, preceded by the
 * line break when the current line is full. A break is only ever written in
 * front of a group, so none follows the last line. */
static void b64_queue(mailout_b64 *e, const unsigned char *in, size_t n)
{
    unsigned char *p = e->pend;
    if (e->line_len && e->col == e->line_len) {
        *p++ = '\r';
        *p++ = '\n';
        e->col = 0;
    }
    if (n == 3)
        b64_group(in, p);
    else
        b64_tail(in, n, p);
    p += 4;
    if (e->line_len)
        e->col = (unsigned short)(e->col + 4);
    e->npend = (unsigned char)(p - e->pend);
    e->pendpos = 0;
}

/*
 * Fast path, used when nothing is carried or pending: encode as many whole
 * groups as fit straight from next_in to next_out, a line at a time (with
 * the pair table, 76-column lines in runs, see b64_lines76). Stops
 * at the edges (under 3 input bytes, under a group of room, or no room for
 * a line break plus a group) and leaves those to the byte-wise path.
 */
static void b64_direct(mailout_b64 *e, mailout_stream *s)
{
    if (MAILOUT_SMALL) /* the byte-wise path alone gives the same bytes */
        return;
    for (;;) {
        size_t room = SIZE_MAX;
#if MAILOUT_B64_PAIR_TABLE
        if (e->line_len == B64_MIME_LINE && e->col == B64_MIME_LINE)
            b64_lines76(s, B64_LEVEL(e));
#endif
        if (e->line_len) {
            if (e->col == e->line_len) {
                if (s->avail_in < 3 || s->avail_out < 6)
                    return;
                s->next_out[0] = '\r';
                s->next_out[1] = '\n';
                s->next_out += 2;
                s->avail_out -= 2;
                e->col = 0;
            }
            room = (size_t)(e->line_len - e->col) / 4;
        }
        size_t g = MAILOUT_MIN(s->avail_in / 3, s->avail_out / 4);
        g = MAILOUT_MIN(g, room);
        if (g == 0)
            return;
        if (!b64_vec_groups(B64_LEVEL(e), s->next_in, g, s->next_out))
            b64_groups(s->next_in, g, s->avail_in, s->next_out);
        s->next_in += 3 * g;
        s->avail_in -= 3 * g;
        s->next_out += 4 * g;
        s->avail_out -= 4 * g;
        if (e->line_len)
            e->col = (unsigned short)(e->col + 4 * g);
    }
}

mailout_status mailout_b64_encode(mailout_b64 *e, mailout_stream *s, int end)
{
    for (;;) {
        if (e->npend && !b64_flush(e, s))
            return MAILOUT_OK;
        if (e->flags & B64_FINISHED)
            return MAILOUT_DONE;
        if (e->ncarry == 0)
            b64_direct(e, s);
        if (s->avail_in == 0) {
            if (!end)
                return MAILOUT_OK;
            if (e->ncarry) {
                b64_queue(e, e->carry, e->ncarry);
                e->ncarry = 0;
                continue;
            }
            e->flags |= B64_FINISHED;
            return MAILOUT_DONE;
        }
        if (s->avail_out == 0)
            return MAILOUT_OK;
        /* b64_direct stopped at a window too small for the next group (or
         * its line break): queue that group straight from the input, not a
         * byte at a time through the carry (the same bytes go to e->pend).
         * With small windows this is once per call. */
        if (!MAILOUT_SMALL && e->ncarry == 0 && s->avail_in >= 3) {
            b64_queue(e, s->next_in, 3);
            s->next_in += 3;
            s->avail_in -= 3;
            continue;
        }
        e->carry[e->ncarry++] = *s->next_in++;
        s->avail_in--;
        if (e->ncarry == 3) {
            b64_queue(e, e->carry, 3);
            e->ncarry = 0;
        }
    }
}

uint64_t mailout_b64_encoded_size(uint64_t n, unsigned line_len)
{
    uint32_t rest;
    uint64_t groups = mailout_u64_divmod(n, 3, &rest);
    groups += rest != 0;
    if (groups > UINT64_MAX / 4)
        return UINT64_MAX;
    uint64_t chars = groups * 4;
    if (line_len == 0 || chars == 0)
        return chars;
    /* (chars - 1) / line_len breaks, each 2 bytes; chars <= UINT64_MAX - 3. */
    uint64_t breaks = mailout_u64_divmod(chars - 1, line_len, NULL);
    if (breaks > (UINT64_MAX - chars) / 2)
        return UINT64_MAX;
    return chars + 2 * breaks;
}

size_t mailout_b64_encode_block(const void *in, size_t len, char *out, size_t cap)
{
#if MAILOUT_B64_X86
    /* Short strings (SASL, encoded words) mostly: the CPU is only asked
     * when a vector step could be taken. */
    unsigned best = len >= 12 ? mailout_b64_best_level() : MAILOUT_B64_SCALAR;
    return mailout_b64_encode_block_level(in, len, out, cap, best);
}

size_t mailout_b64_encode_block_level(const void *in, size_t len, char *out, size_t cap, unsigned level)
{
    level = MAILOUT_MIN(level, mailout_b64_best_level());
#endif
    size_t groups = len / 3, rest = len % 3;
    size_t total = groups + (rest != 0);
    if (total > SIZE_MAX / 4 || total * 4 > cap)
        return 0;
    const unsigned char *p = in;
    unsigned char *o = (unsigned char *)out;
    if (!b64_vec_groups(level, p, groups, o))
        b64_groups(p, groups, len, o);
    if (rest)
        b64_tail(p + 3 * groups, rest, o + 4 * groups);
    return total * 4;
}

/* Value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
#if MAILOUT_SMALL
    for (int i = 0; i < 64; i++) /* not memchr: see mailout_in_set() */
        if ((unsigned char)b64_alphabet[i] == c)
            return i;
    return -1;
#else
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
#endif
}

/* Decode one quad; returns the number of data bytes (1..3) or -1. Only the
 * last quad may carry padding ("xx==" or "xxx="), and the bits the padding
 * drops must be zero (RFC 4648 §3.5, canonical encoding). */
static int b64_quad(const unsigned char *q, int last, unsigned char *out)
{
    int v[4];
    int n = 3;
    if (last && q[3] == '=')
        n = q[2] == '=' ? 1 : 2;
    for (int i = 0; i < n + 1; i++)
        if ((v[i] = b64_value(q[i])) < 0)
            return -1;
    for (int i = n + 1; i < 4; i++)
        v[i] = 0;
    if ((n == 1 && (v[1] & 15)) || (n == 2 && (v[2] & 3)))
        return -1;
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    out[0] = (unsigned char)(w >> 16);
    out[1] = (unsigned char)(w >> 8);
    out[2] = (unsigned char)w;
    return n;
}

mailout_status mailout_b64_decode_block(const char *in, size_t len, void *out, size_t cap, size_t *out_len)
{
    const unsigned char *p = (const unsigned char *)in;
    unsigned char *o = out;
    size_t used = 0;
    int too_small = 0;
    *out_len = 0;
    if (len % 4 != 0)
        return MAILOUT_E_INVAL;
    /* Validate everything even once out is full: malformed input is
     * MAILOUT_E_INVAL whatever the capacity. */
    for (size_t i = 0; i < len; i += 4) {
        unsigned char bytes[3];
        int n = b64_quad(p + i, i + 4 == len, bytes);
        if (n < 0)
            return MAILOUT_E_INVAL;
        if (too_small || cap - used < (size_t)n) {
            too_small = 1;
            continue;
        }
        memcpy(o + used, bytes, (size_t)n);
        used += (size_t)n;
    }
    if (too_small)
        return MAILOUT_E_LIMIT;
    *out_len = used;
    return MAILOUT_OK;
}
