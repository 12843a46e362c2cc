/*
 * base64 fuzzer. Input: [line-length byte] [n] [n control bytes] data.
 * Checks: chunked/windowed encoding equals the one-shot encoding and
 * encoded_size; line structure (full lines of line_len, CRLF only between
 * lines); a reference decoder gives the data back; encode_block and the
 * strict decode_block agree; and decode_block on the raw input only ever
 * accepts canonical base64 (re-encoding gives the input back); every
 * encoder path the CPU has (scalar, SSSE3, AVX2: encode/b64_x86.h) gives
 * the same bytes, streamed and one-shot.
 */
#include "encode/b64_x86.h"
#include "fuzz_stream.h"

static mailout_status b64_fn(void *state, mailout_stream *s, int end)
{
    return mailout_b64_encode(state, s, end);
}

static int ref_value(unsigned char c)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* Reference decoder for unbroken, padded base64 written independently of
 * the library: 6 bits per character into an accumulator. */
static void ref_decode(const unsigned char *in, size_t len, fz_buf *out)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    FZ_CHECK(len % 4 == 0);
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '=') {
            FZ_CHECK(i + 2 >= len);
            for (size_t j = i; j < len; j++)
                FZ_CHECK(in[j] == '=');
            break;
        }
        int v = ref_value(in[i]);
        FZ_CHECK(v >= 0);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            unsigned char b = (unsigned char)(acc >> bits);
            fz_append(out, &b, 1);
        }
    }
}

/* Checks the line structure and returns the text without CRLFs. */
static void unbreak(const fz_buf *enc, unsigned line_len, fz_buf *flat)
{
    size_t col = 0;
    for (size_t i = 0; i < enc->len; i++) {
        unsigned char c = enc->p[i];
        if (c == '\r') {
            FZ_CHECK(line_len != 0);
            FZ_CHECK(i + 1 < enc->len && enc->p[i + 1] == '\n');
            FZ_CHECK(col == line_len); /* only full lines end in CRLF */
            FZ_CHECK(i + 2 < enc->len); /* no CRLF after the last line */
            col = 0;
            i++;
            continue;
        }
        FZ_CHECK(c != '\n' && c != '.');
        col++;
        FZ_CHECK(line_len == 0 || col <= line_len);
        fz_append(flat, &c, 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_ctl ctl;
    const uint8_t *in;
    size_t len;
    unsigned line_len = (fz_split(data, size, &ctl, &in, &len) % 20u) * 4u;

    /* The strict decoder on raw input: accepted only if canonical. */
    {
        size_t cap = len / 4 * 3 + 1;
        unsigned char *dec = malloc(cap);
        FZ_CHECK(dec != NULL);
        size_t dlen = 0;
        mailout_status st = mailout_b64_decode_block((const char *)in, len, dec, cap, &dlen);
        FZ_CHECK(st == MAILOUT_OK || st == MAILOUT_E_INVAL);
        if (st == MAILOUT_OK) {
            char *re = malloc(len + 1);
            FZ_CHECK(re != NULL);
            FZ_CHECK(mailout_b64_encode_block(dec, dlen, re, len + 1) == len);
            FZ_CHECK(fz_memeq(re, in, len));
            if (dlen) /* one byte too little room */
                FZ_CHECK(mailout_b64_decode_block((const char *)in, len, dec, dlen - 1, &dlen) ==
                         MAILOUT_E_LIMIT);
            free(re);
        }
        free(dec);
    }

    mailout_b64 e;
    FZ_CHECK(mailout_b64_init(&e, line_len) == MAILOUT_OK);
    uint64_t size64 = mailout_b64_encoded_size(len, line_len);
    FZ_CHECK(size64 < SIZE_MAX);
    fz_buf once = {0}, chunked = {0}, flat = {0}, dec = {0};
    size_t consumed;
    FZ_CHECK(fz_run_once(b64_fn, &e, in, len, (size_t)size64, &once, &consumed) == MAILOUT_DONE);
    FZ_CHECK(consumed == len && once.len == size64);

    FZ_CHECK(mailout_b64_init(&e, line_len) == MAILOUT_OK);
    FZ_CHECK(fz_run(b64_fn, &e, in, len, &ctl, &chunked, &consumed) == MAILOUT_DONE);
    FZ_CHECK(consumed == len);
    FZ_CHECK(chunked.len == once.len && fz_memeq(chunked.p, once.p, once.len));

    /* The other paths: mailout_b64_init picked the best, now each one. */
    for (unsigned level = MAILOUT_B64_SCALAR; level <= mailout_b64_best_level(); level++) {
        fz_buf alt = {0};
        FZ_CHECK(mailout_b64_init(&e, line_len) == MAILOUT_OK);
        mailout_b64_set_level(&e, level);
        FZ_CHECK(fz_run_once(b64_fn, &e, in, len, (size_t)size64, &alt, &consumed) == MAILOUT_DONE);
        FZ_CHECK(alt.len == once.len && fz_memeq(alt.p, once.p, once.len));
        fz_free(&alt);
        fz_ctl again = ctl;
        again.i = 0;
        FZ_CHECK(mailout_b64_init(&e, line_len) == MAILOUT_OK);
        mailout_b64_set_level(&e, level);
        FZ_CHECK(fz_run(b64_fn, &e, in, len, &again, &alt, &consumed) == MAILOUT_DONE);
        FZ_CHECK(alt.len == once.len && fz_memeq(alt.p, once.p, once.len));
        fz_free(&alt);
    }

    unbreak(&once, line_len, &flat);
    FZ_CHECK(flat.len == (len + 2) / 3 * 4);
    ref_decode(flat.p, flat.len, &dec);
    FZ_CHECK(dec.len == len && fz_memeq(dec.p, in, len));

    char *block = malloc(flat.len + 1);
    FZ_CHECK(block != NULL);
    FZ_CHECK(mailout_b64_encode_block(in, len, block, flat.len + 1) == flat.len);
    FZ_CHECK(fz_memeq(block, flat.p, flat.len));
    if (flat.len)
        FZ_CHECK(mailout_b64_encode_block(in, len, block, flat.len - 1) == 0);
    for (unsigned level = MAILOUT_B64_SCALAR; level <= mailout_b64_best_level(); level++) {
        memset(block, 0, flat.len + 1);
        FZ_CHECK(mailout_b64_encode_block_level(in, len, block, flat.len + 1, level) == flat.len);
        FZ_CHECK(fz_memeq(block, flat.p, flat.len));
    }
    unsigned char *back = malloc(len + 1);
    FZ_CHECK(back != NULL);
    size_t blen = 0;
    FZ_CHECK(mailout_b64_decode_block(block, flat.len, back, len, &blen) == MAILOUT_OK);
    FZ_CHECK(blen == len && fz_memeq(back, in, len));

    free(back);
    free(block);
    fz_free(&once);
    fz_free(&chunked);
    fz_free(&flat);
    fz_free(&dec);
    return 0;
}
