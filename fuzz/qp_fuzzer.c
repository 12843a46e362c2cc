/*
 * Quoted-printable fuzzer. Input: [flags byte] [n] [n control bytes] data.
 * Checks: chunked/windowed output equals the one-shot output; every RFC
 * 2045 §6.7 output rule (line length, no bare CR/LF, no trailing
 * whitespace, "=XX" never split, uppercase hex, no '.' at a line start,
 * only printable ASCII, SP and TAB); and a reference decoder gives back
 * the input (TEXT mode: with its line breaks normalised to CRLF).
 */
#include "fuzz_stream.h"

static mailout_status qp_fn(void *state, mailout_stream *s, int end)
{
    return mailout_qp_encode(state, s, end);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* lowercase is not what we write */
}

/* Check the output rules line by line, and decode into @p dec. */
static void check_and_decode(const fz_buf *enc, fz_buf *dec)
{
    const unsigned char *p = enc->p;
    size_t n = enc->len, col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '\r') {
            FZ_CHECK(i + 1 < n && p[i + 1] == '\n');
            FZ_CHECK(col == 0 || (p[i - 1] != ' ' && p[i - 1] != '\t'));
            fz_append(dec, "\r\n", 2);
            col = 0;
            i++;
            continue;
        }
        FZ_CHECK(c != '\n');
        FZ_CHECK(!(col == 0 && c == '.'));
        if (c == '=') {
            FZ_CHECK(i + 2 < n);
            if (p[i + 1] == '\r') { /* soft break */
                FZ_CHECK(p[i + 2] == '\n');
                FZ_CHECK(col + 1 <= 76);
                FZ_CHECK(i + 3 < n); /* something follows a soft break */
                col = 0;
                i += 2;
                continue;
            }
            int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
            FZ_CHECK(hi >= 0 && lo >= 0);
            unsigned char b = (unsigned char)(hi << 4 | lo);
            /* Written as =XX only when it had to be (or '.' / trailing blank). */
            FZ_CHECK(b < 33 || b > 126 || b == '=' || (b == '.' && col == 0));
            fz_append(dec, &b, 1);
            col += 3;
            FZ_CHECK(col <= 76);
            i += 2;
            continue;
        }
        FZ_CHECK(c == ' ' || c == '\t' || (c >= 33 && c <= 126));
        fz_append(dec, &c, 1);
        col++;
        FZ_CHECK(col <= 76);
    }
    FZ_CHECK(n == 0 || (p[n - 1] != ' ' && p[n - 1] != '\t'));
}

/* TEXT mode's view of the input: CRLF, CR, LF each one CRLF. */
static void normalise(const uint8_t *in, size_t len, fz_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r' || in[i] == '\n') {
            fz_append(out, "\r\n", 2);
            if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
                i++;
            continue;
        }
        fz_append(out, &in[i], 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_ctl ctl;
    const uint8_t *in;
    size_t len;
    unsigned flags = fz_split(data, size, &ctl, &in, &len) & MAILOUT_QP_TEXT;

    mailout_qp e;
    fz_buf once = {0}, chunked = {0}, dec = {0}, norm = {0};
    size_t consumed;
    /* At most 3 characters per input byte plus a 3-byte soft break per
     * 72 or more of them: well under 4 per byte. */
    size_t room = len * 4 + 16;
    FZ_CHECK(mailout_qp_init(&e, flags) == MAILOUT_OK);
    FZ_CHECK(fz_run_once(qp_fn, &e, in, len, room, &once, &consumed) == MAILOUT_DONE);
    FZ_CHECK(consumed == len);

    FZ_CHECK(mailout_qp_init(&e, flags) == MAILOUT_OK);
    FZ_CHECK(fz_run(qp_fn, &e, in, len, &ctl, &chunked, &consumed) == MAILOUT_DONE);
    FZ_CHECK(consumed == len);
    FZ_CHECK(chunked.len == once.len && fz_memeq(chunked.p, once.p, once.len));

    check_and_decode(&once, &dec);
    if (flags & MAILOUT_QP_TEXT) {
        normalise(in, len, &norm);
        FZ_CHECK(dec.len == norm.len && fz_memeq(dec.p, norm.p, norm.len));
    } else {
        FZ_CHECK(dec.len == len && fz_memeq(dec.p, in, len));
    }

    fz_free(&once);
    fz_free(&chunked);
    fz_free(&dec);
    fz_free(&norm);
    return 0;
}
