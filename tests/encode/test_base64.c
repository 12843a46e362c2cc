/* base64: RFC 4648 vectors, MIME line breaking, streaming contract, strict decoding.
 * Every test runs once per encoder path this machine has (scalar, then
 * SSSE3 and AVX2 on x86-64 hosts): see main(). */
#include <stdlib.h>
#include <string.h>

#include "encode/b64_x86.h"
#include "streamtest.h"

/* The path the tests of the current run use (main() sets it). */
static unsigned test_level;

/* mailout_b64_init on the path under test. */
static mailout_status b64_start(mailout_b64 *e, unsigned line_len)
{
    mailout_status st = mailout_b64_init(e, line_len);
    mailout_b64_set_level(e, test_level);
    return st;
}

static size_t b64_block(const void *in, size_t len, char *out, size_t cap)
{
    return mailout_b64_encode_block_level(in, len, out, cap, test_level);
}

static mailout_status b64_fn(void *state, mailout_stream *s, int end)
{
    return mailout_b64_encode(state, s, end);
}

/* The reset used by st_check_all; the line length is kept across resets. */
typedef struct b64_case {
    mailout_b64 e;
    unsigned line_len;
} b64_case;

static mailout_status b64_case_fn(void *state, mailout_stream *s, int end)
{
    return mailout_b64_encode(&((b64_case *)state)->e, s, end);
}

static void b64_case_reset(void *state)
{
    b64_case *c = state;
    assert_status(MAILOUT_OK, b64_start(&c->e, c->line_len));
}

static void check_stream(unsigned line_len, const char *in, size_t len, const char *exp)
{
    b64_case c = {{{0}}, line_len};
    st_check_all(b64_case_fn, b64_case_reset, &c, in, len, exp, strlen(exp), MAILOUT_DONE, len);
}

/* RFC 4648 §10. */
static const char *const rfc_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

static void test_rfc4648_vectors_block(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        memset(out, '#', sizeof out);
        size_t n = b64_block(rfc_in[i], strlen(rfc_in[i]), out, sizeof out);
        assert_bytes_equal(rfc_out[i], strlen(rfc_out[i]), out, n);
        assert_int_equal(out[n], '#'); /* no NUL written */
    }
}

static void test_rfc4648_vectors_stream(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        check_stream(76, rfc_in[i], strlen(rfc_in[i]), rfc_out[i]);
        check_stream(0, rfc_in[i], strlen(rfc_in[i]), rfc_out[i]);
        check_stream(8, rfc_in[i], strlen(rfc_in[i]), rfc_out[i]);
    }
    check_stream(4, "foobar", 6, "Zm9v\r\nYmFy");
    check_stream(4, "fooba", 5, "Zm9v\r\nYmE=");
    check_stream(4, "foob", 4, "Zm9v\r\nYg==");
    check_stream(4, "foo", 3, "Zm9v");
}

/* "foo" encodes to "Zm9v", so k copies encode to k copies of it. */
static char *repeat(const char *unit, size_t k, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(u * k + t + 1);
    assert_non_null(s);
    for (size_t i = 0; i < k; i++)
        memcpy(s + i * u, unit, u);
    memcpy(s + u * k, tail, t + 1);
    return s;
}

static void test_line_breaks(void **state)
{
    (void)state;
    /* 57 bytes are exactly one 76-character line, with no CRLF after it. */
    char *in = repeat("foo", 19, "");
    char *exp = repeat("Zm9v", 19, "");
    check_stream(76, in, strlen(in), exp);
    free(in);
    free(exp);

    /* 58 bytes: a full line, CRLF, then the padded last group. */
    in = repeat("foo", 19, "f");
    exp = repeat("Zm9v", 19, "\r\nZg==");
    check_stream(76, in, strlen(in), exp);
    free(in);
    free(exp);

    /* 60 + 2 bytes: full line, CRLF, one group and a padded group. */
    in = repeat("foo", 20, "fo");
    exp = repeat("Zm9v", 19, "\r\nZm9vZm8=");
    check_stream(76, in, strlen(in), exp);
    free(in);
    free(exp);

    /* 114 bytes: exactly two lines, one CRLF between them. */
    in = repeat("foo", 38, "");
    char *line = repeat("Zm9v", 19, "");
    size_t l = strlen(line);
    exp = malloc(2 * l + 3);
    assert_non_null(exp);
    memcpy(exp, line, l);
    memcpy(exp + l, "\r\n", 2);
    memcpy(exp + l + 2, line, l + 1);
    check_stream(76, in, strlen(in), exp);
    free(in);
    free(exp);
    free(line);

    /* Unbroken: 100 groups on one line. */
    in = repeat("foo", 100, "");
    exp = repeat("Zm9v", 100, "");
    check_stream(0, in, strlen(in), exp);
    free(in);
    free(exp);

    /* 8-character lines: "Zm9vZm9v" per line. */
    check_stream(8, "foofoofoofoof", 13, "Zm9vZm9v\r\nZm9vZm9v\r\nZg==");
    /* All-zero and all-one bytes. */
    check_stream(76, "\0\0\0\0", 4, "AAAAAA==");
    check_stream(4, "\xff\xff\xff\xff\xff", 5, "////\r\n//8=");
    check_stream(76, "\xfb\xff", 2, "+/8=");
}

/* Strip CRLFs, checking each line's length on the way. */
static size_t unbreak(const unsigned char *in, size_t len, unsigned line_len, char *out)
{
    size_t o = 0, col = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r') {
            assert_true(i + 1 < len && in[i + 1] == '\n');
            assert_int_equal(col, line_len); /* only full lines are broken */
            assert_true(i + 2 < len);        /* no CRLF after the last line */
            col = 0;
            i++;
            continue;
        }
        assert_true(in[i] != '\n');
        out[o++] = (char)in[i];
        col++;
        assert_true(line_len == 0 || col <= line_len);
    }
    return o;
}

/* Every byte value, every length 0..300, several line lengths: round trip,
 * exact encoded_size, and the one-shot encode agrees. */
static void test_roundtrip_and_size(void **state)
{
    (void)state;
    static const unsigned lens[] = {0, 4, 8, 12, 60, 72, 76};
    unsigned char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 3));
    for (size_t li = 0; li < ST_LEN(lens); li++) {
        for (size_t n = 0; n <= sizeof data; n += (n < 20 ? 1 : 7)) {
            mailout_b64 e;
            assert_status(MAILOUT_OK, b64_start(&e, lens[li]));
            st_result r = st_run(b64_fn, &e, data, n, 5, 13);
            assert_status(MAILOUT_DONE, r.status);
            assert_int_equal(mailout_b64_encoded_size(n, lens[li]), r.out_len);
            char flat[500];
            size_t fl = unbreak(r.out, r.out_len, lens[li], flat);
            char block[500];
            size_t bl = b64_block(data, n, block, sizeof block);
            assert_int_equal(bl, (n + 2) / 3 * 4);
            assert_bytes_equal(block, bl, flat, fl);
            unsigned char back[300];
            size_t back_len = 99999;
            assert_status(MAILOUT_OK, mailout_b64_decode_block(flat, fl, back, sizeof back, &back_len));
            assert_bytes_equal(data, n, back, back_len);
            st_free(&r);
        }
    }
}

/*
 * An independent reference: one group at a time, bit by bit, the break
 * written in front of a group when the line is full. Checked against the
 * RFC vectors below before it is trusted.
 */
static size_t ref_encode(const unsigned char *in, size_t len, unsigned line_len, unsigned char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, col = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t n = len - i < 3 ? len - i : 3;
        if (line_len && col == line_len) {
            out[o++] = '\r';
            out[o++] = '\n';
            col = 0;
        }
        for (size_t k = 0; k < 4; k++) {
            unsigned sextet = 0;
            for (size_t b = 6 * k; b < 6 * k + 6; b++) {
                size_t byte = i + b / 8;
                unsigned bit = byte < i + n ? (in[byte] >> (7 - b % 8)) & 1u : 0u;
                sextet = sextet << 1 | bit;
            }
            out[o++] = (unsigned char)(k <= n ? abc[sextet] : '=');
        }
        col += 4;
    }
    return o;
}

/*
 * Stream @p in through the encoder with every input chunk copied into an
 * exact-size heap block and every output window an exact-size heap block
 * too, so that ASan reports a read past the chunk or a write past the
 * window (the fast paths load 8 bytes at a time).
 */
static size_t run_exact(unsigned line_len, const unsigned char *in, size_t len, size_t chunk, size_t win,
                        unsigned char *out, size_t cap)
{
    mailout_b64 e;
    assert_status(MAILOUT_OK, b64_start(&e, line_len));
    size_t pos = 0, o = 0;
    mailout_status st = MAILOUT_OK;
    do {
        size_t take = chunk && len - pos > chunk ? chunk : len - pos;
        int end = pos + take == len;
        unsigned char *c = malloc(take ? take : 1);
        assert_non_null(c);
        if (take)
            memcpy(c, in + pos, take);
        mailout_stream s = {c, take, NULL, 0};
        for (;;) {
            unsigned char *w = malloc(win);
            assert_non_null(w);
            s.next_out = w;
            s.avail_out = win;
            st = mailout_b64_encode(&e, &s, end);
            size_t produced = win - s.avail_out;
            assert_ptr_equal(s.next_out, w + produced);
            assert_true(o + produced <= cap);
            memcpy(out + o, w, produced);
            o += produced;
            free(w);
            if (st != MAILOUT_OK)
                break;
            assert_true(s.avail_in == 0 || s.avail_out == 0);
            if (s.avail_in == 0 && !end)
                break;
        }
        assert_int_equal(s.avail_in, 0);
        assert_ptr_equal(s.next_in, c + take);
        free(c);
        pos += take;
    } while (st == MAILOUT_OK);
    assert_status(MAILOUT_DONE, st);
    assert_int_equal(pos, len);
    return o;
}

/* Bytes that take every value, in no simple pattern. */
static void fill(unsigned char *p, size_t n)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(i < 256 ? i * 167 : x >> 24);
    }
}

static void test_reference_is_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        unsigned char out[16];
        size_t n = ref_encode((const unsigned char *)rfc_in[i], strlen(rfc_in[i]), 76, out);
        assert_bytes_equal(rfc_out[i], strlen(rfc_out[i]), out, n);
    }
    unsigned char out[16];
    size_t n = ref_encode((const unsigned char *)"foobar", 6, 4, out);
    assert_bytes_equal("Zm9v\r\nYmFy", 10, out, n);
}

/*
 * The edges of the whole-line path (76 columns: 57 bytes -> CRLF + 76
 * characters) and of the 8-byte loads: inputs just under, at and over one
 * to six lines, chunks that end just before, at and after a line's 57
 * bytes, windows that hold just under, exactly and just over one or two
 * CRLF + line (77/78/79, 155/156/157), against the reference. Other line
 * lengths and unbroken output go through the same loads.
 */
static void test_line_path_edges(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 2, 3, 8, 13, 14, 55, 56, 57, 58, 59, 60, 113, 114, 115, 116,
                                  170, 171, 172, 173, 228, 285, 286, 287, 341, 342, 343, 345};
    static const size_t chunks[] = {0, 1, 2, 3, 7, 55, 56, 57, 58, 59, 113, 114, 115, 171};
    static const size_t wins[] = {1, 2, 5, 6, 64, 76, 77, 78, 79, 80, 81, 82, 155, 156, 157, 158, 235, 4096};
    static const unsigned line_lens[] = {76, 72, 8, 0};
    unsigned char in[345];
    fill(in, sizeof in);
    static unsigned char exp[600], got[600];
    for (size_t li = 0; li < ST_LEN(line_lens); li++) {
        for (size_t a = 0; a < ST_LEN(lens); a++) {
            size_t exp_len = ref_encode(in, lens[a], line_lens[li], exp);
            assert_int_equal(exp_len, mailout_b64_encoded_size(lens[a], line_lens[li]));
            for (size_t b = 0; b < ST_LEN(chunks); b++) {
                for (size_t c = 0; c < ST_LEN(wins); c++) {
                    size_t n = run_exact(line_lens[li], in, lens[a], chunks[b], wins[c], got, sizeof got);
                    assert_bytes_equal(exp, exp_len, got, n);
                }
            }
        }
    }
}

/* Three full lines and a bit, cut once at every offset, through windows
 * around one and two lines: each line may start anywhere in a chunk. */
static void test_line_path_every_cut(void **state)
{
    (void)state;
    static const size_t wins[] = {77, 78, 79, 156, 400};
    unsigned char in[175];
    fill(in, sizeof in);
    unsigned char exp[300];
    size_t exp_len = ref_encode(in, sizeof in, 76, exp);
    for (size_t w = 0; w < ST_LEN(wins); w++) {
        for (size_t cut = 0; cut <= sizeof in; cut++) {
            mailout_b64 e;
            assert_status(MAILOUT_OK, b64_start(&e, 76));
            st_result r = st_run_cuts(b64_fn, &e, in, sizeof in, &cut, 1, wins[w]);
            assert_status(MAILOUT_DONE, r.status);
            assert_bytes_equal(exp, exp_len, r.out, r.out_len);
            st_free(&r);
        }
    }
}

/* The one-shot encoder's two-group loads near the end of the input: every
 * length 0..70 from an exact-size heap block. */
static void test_encode_block_lengths(void **state)
{
    (void)state;
    unsigned char data[70];
    fill(data, sizeof data);
    for (size_t n = 0; n <= sizeof data; n++) {
        unsigned char *p = malloc(n ? n : 1);
        assert_non_null(p);
        memcpy(p, data, n);
        unsigned char exp[100];
        char got[100];
        size_t exp_len = ref_encode(p, n, 0, exp);
        assert_int_equal(b64_block(p, n, got, sizeof got), exp_len);
        assert_bytes_equal(exp, exp_len, got, exp_len);
        free(p);
    }
}

/* Ascending random cuts of [0, len] into chunks of 1..max_chunk bytes;
 * returns how many (at most cap). */
static size_t random_cuts(uint32_t *x, size_t len, size_t max_chunk, size_t *cuts, size_t cap)
{
    size_t n = 0, at = 0;
    for (;;) {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        at += 1 + *x % max_chunk;
        if (at >= len || n == cap)
            return n;
        cuts[n++] = at;
    }
}

/*
 * The path under test against the scalar encoder (and both against the
 * reference) on random data of every length 0..2000, through every output
 * window 1..64 and windows around one and two whole lines, each run with
 * its own random input cuts. The input is an exact-size heap block and
 * st_run_cuts's window an exact-size one, so ASan sees any read or write
 * past them.
 */
static void test_levels_agree_random(void **state)
{
    (void)state;
    enum { MAX_LEN = 2000 };
    static const unsigned line_lens[] = {76, 0};
    static const size_t big_wins[] = {77, 78, 79, 155, 156, 157, 4096};
    unsigned char *data = malloc(MAX_LEN);
    unsigned char *ref = malloc(mailout_b64_encoded_size(MAX_LEN, 76));
    size_t *cuts = malloc(MAX_LEN * sizeof *cuts);
    assert_non_null(data);
    assert_non_null(ref);
    assert_non_null(cuts);
    uint32_t x = 0x9E3779B9u;
    for (size_t i = 0; i < MAX_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (unsigned char)(x >> 11);
    }
    for (size_t li = 0; li < ST_LEN(line_lens); li++) {
        for (size_t n = 0; n <= MAX_LEN; n++) {
            unsigned char *in = malloc(n ? n : 1);
            assert_non_null(in);
            memcpy(in, data, n);
            size_t ref_len = ref_encode(in, n, line_lens[li], ref);
            /* The scalar encoder in one call. */
            mailout_b64 e;
            assert_status(MAILOUT_OK, mailout_b64_init(&e, line_lens[li]));
            mailout_b64_set_level(&e, MAILOUT_B64_SCALAR);
            st_result sc = st_run(b64_fn, &e, in, n, 0, ref_len + 1);
            assert_status(MAILOUT_DONE, sc.status);
            assert_bytes_equal(ref, ref_len, sc.out, sc.out_len);
            for (size_t w = 1; w <= 64 + ST_LEN(big_wins); w++) {
                size_t win = w <= 64 ? w : big_wins[w - 65];
                size_t ncuts = random_cuts(&x, n, w <= 64 ? 400 : 200, cuts, MAX_LEN);
                assert_status(MAILOUT_OK, b64_start(&e, line_lens[li]));
                st_result r = st_run_cuts(b64_fn, &e, in, n, cuts, ncuts, win);
                assert_status(MAILOUT_DONE, r.status);
                assert_bytes_equal(sc.out, sc.out_len, r.out, r.out_len);
                st_free(&r);
            }
            st_free(&sc);
            free(in);
        }
    }
    free(cuts);
    free(ref);
    free(data);
}

static void test_streaming_matrix_binary(void **state)
{
    (void)state;
    /* 0xFF x 61: "////" x 20 then "/w==", broken at 16 characters. */
    unsigned char in[61];
    memset(in, 0xff, sizeof in);
    char exp[200];
    size_t o = 0;
    for (int g = 0; g < 21; g++) {
        if (g && g % 4 == 0) {
            exp[o++] = '\r';
            exp[o++] = '\n';
        }
        memcpy(exp + o, g < 20 ? "////" : "/w==", 4);
        o += 4;
    }
    exp[o] = '\0';
    check_stream(16, (const char *)in, sizeof in, exp);
}

static void test_encoded_size(void **state)
{
    (void)state;
    assert_int_equal(mailout_b64_encoded_size(0, 76), 0);
    assert_int_equal(mailout_b64_encoded_size(1, 76), 4);
    assert_int_equal(mailout_b64_encoded_size(57, 76), 76);
    assert_int_equal(mailout_b64_encoded_size(58, 76), 82);
    assert_int_equal(mailout_b64_encoded_size(114, 76), 154);
    assert_int_equal(mailout_b64_encoded_size(115, 76), 160);
    assert_int_equal(mailout_b64_encoded_size(6, 4), 10);
    assert_int_equal(mailout_b64_encoded_size(6, 0), 8);
    /* The largest input whose size still fits: 4 * (UINT64_MAX / 4). */
    uint64_t groups = UINT64_MAX / 4;
    assert_int_equal(mailout_b64_encoded_size(groups * 3, 0), groups * 4);
    assert_true(mailout_b64_encoded_size(groups * 3 + 1, 0) == UINT64_MAX);
    assert_true(mailout_b64_encoded_size(UINT64_MAX, 0) == UINT64_MAX);
    assert_true(mailout_b64_encoded_size(UINT64_MAX, 76) == UINT64_MAX);
    /* Fits unbroken, but the CRLFs push it over. */
    assert_true(mailout_b64_encoded_size(groups * 3, 76) == UINT64_MAX);
    /* Large but representable: 3e18 bytes = 1e18 groups = 4e18 chars. */
    uint64_t chars = UINT64_C(4000000000000000000);
    assert_int_equal(mailout_b64_encoded_size(UINT64_C(3000000000000000000), 76),
                     chars + 2 * ((chars - 1) / 76));
}

static void test_init_rejects(void **state)
{
    (void)state;
    mailout_b64 e;
    static const unsigned bad[] = {1, 2, 3, 5, 74, 77, 78, 80, 1000};
    for (size_t i = 0; i < ST_LEN(bad); i++)
        assert_status(MAILOUT_E_INVAL, mailout_b64_init(&e, bad[i]));
    assert_status(MAILOUT_OK, mailout_b64_init(&e, 0));
    assert_status(MAILOUT_OK, mailout_b64_init(&e, 4));
    assert_status(MAILOUT_OK, mailout_b64_init(&e, 76));
}

static void test_encode_block_small_cap(void **state)
{
    (void)state;
    char out[8];
    memset(out, '#', sizeof out);
    assert_int_equal(b64_block("foob", 4, out, 7), 0);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], '#');
    assert_int_equal(b64_block("foob", 4, out, 8), 8);
    assert_bytes_equal("Zm9vYg==", 8, out, 8);
    assert_int_equal(b64_block("", 0, NULL, 0), 0);
    assert_int_equal(b64_block("f", 1, out, 3), 0);
}

static void check_decode(const char *in, const char *exp, size_t exp_len)
{
    unsigned char out[64];
    size_t n = 12345;
    assert_status(MAILOUT_OK, mailout_b64_decode_block(in, strlen(in), out, sizeof out, &n));
    assert_bytes_equal(exp, exp_len, out, n);
    /* Exactly enough room works; one byte less is E_LIMIT. */
    assert_status(MAILOUT_OK, mailout_b64_decode_block(in, strlen(in), out, exp_len, &n));
    assert_int_equal(n, exp_len);
    if (exp_len)
        assert_status(MAILOUT_E_LIMIT, mailout_b64_decode_block(in, strlen(in), out, exp_len - 1, &n));
}

static void check_bad(const char *in)
{
    unsigned char out[64];
    size_t n;
    assert_status(MAILOUT_E_INVAL, mailout_b64_decode_block(in, strlen(in), out, sizeof out, &n));
    /* Malformed wins over too small. */
    assert_status(MAILOUT_E_INVAL, mailout_b64_decode_block(in, strlen(in), out, 0, &n));
}

static void test_decode_block(void **state)
{
    (void)state;
    for (size_t i = 0; i < 7; i++)
        check_decode(rfc_out[i], rfc_in[i], strlen(rfc_in[i]));
    check_decode("AAAA", "\0\0\0", 3);
    check_decode("+/8=", "\xfb\xff", 2);
    check_decode("////", "\xff\xff\xff", 3);

    check_bad("Zg=");      /* not a multiple of 4 */
    check_bad("Zg");       /* padding required */
    check_bad("Zm9vY");
    check_bad("Zh==");     /* 'h' leaves bits in the dropped nibble */
    check_bad("Zm9=");     /* '9' leaves bits in the dropped 2 bits */
    check_bad("Zg==Zg=="); /* padding before the end */
    check_bad("Zg=A");
    check_bad("Z===");
    check_bad("====");
    check_bad("Zm9v\r\n");
    check_bad("Zm 9v");
    check_bad("Zm9 ");
    check_bad("Zm9v-_==");  /* URL-safe alphabet is not accepted */
    check_bad("Zm9\x80");
    check_bad("Zm9\0");
}

static void test_decode_nul_in_middle(void **state)
{
    (void)state;
    unsigned char out[8];
    size_t n;
    assert_status(MAILOUT_E_INVAL, mailout_b64_decode_block("Zm\0v", 4, out, sizeof out, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors_block),
        cmocka_unit_test(test_rfc4648_vectors_stream),
        cmocka_unit_test(test_line_breaks),
        cmocka_unit_test(test_roundtrip_and_size),
        cmocka_unit_test(test_reference_is_rfc4648),
        cmocka_unit_test(test_line_path_edges),
        cmocka_unit_test(test_line_path_every_cut),
        cmocka_unit_test(test_encode_block_lengths),
        cmocka_unit_test(test_streaming_matrix_binary),
        cmocka_unit_test(test_encoded_size),
        cmocka_unit_test(test_init_rejects),
        cmocka_unit_test(test_encode_block_small_cap),
        cmocka_unit_test(test_decode_block),
        cmocka_unit_test(test_decode_nul_in_middle),
    };
    /* Vector against scalar: only on the vector paths (on the scalar one it
     * would compare the scalar encoder with itself). */
    const struct CMUnitTest vector_tests[] = {
        cmocka_unit_test(test_levels_agree_random),
    };
    /* Every path this CPU has, scalar first: the same tests must pass on
     * each (mailout_b64_set_level never goes above what the CPU runs). */
    static const char *const names[] = {"base64 scalar", "base64 ssse3", "base64 avx2"};
    int failed = 0;
    for (unsigned level = MAILOUT_B64_SCALAR; level <= mailout_b64_best_level(); level++) {
        test_level = level;
        failed += cmocka_run_group_tests_name(names[level], tests, NULL, NULL);
        if (level != MAILOUT_B64_SCALAR)
            failed += cmocka_run_group_tests_name(names[level], vector_tests, NULL, NULL);
    }
    return failed;
}
