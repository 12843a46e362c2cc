/*
 * Line filter fuzzer (and the content scan, which reads the same text).
 * Input: [flags byte] [n] [n control bytes] data.
 * Checks: chunked/windowed output, status and error position equal the
 * one-shot run and an independent byte-at-a-time reference; no bare CR or
 * LF in the output; with STUFF every line starting with '.' is stuffed;
 * with TERMINATE the terminator is there exactly once, at the end, and
 * only on success. The scan gives the same facts for any chunking, and
 * its line count matches the reference.
 */
#include "fuzz_stream.h"

static mailout_status line_fn(void *state, mailout_stream *s, int end)
{
    return mailout_line_filter(state, s, end);
}

/* Reference: the rules of encode.h applied one byte at a time, with the
 * whole input in view (so a CR's LF is simply looked ahead). */
static mailout_status ref_line(const uint8_t *in, size_t len, unsigned flags, fz_buf *out, size_t *at, uint64_t *breaks)
{
    size_t col = 0; /* input bytes on the current line */
    *breaks = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (c == '\r' || c == '\n') {
            fz_append(out, "\r\n", 2);
            (*breaks)++;
            if (c == '\r' && i + 1 < len && in[i + 1] == '\n')
                i++;
            col = 0;
            continue;
        }
        *at = i;
        if ((flags & MAILOUT_LINE_7BIT) && c >= 0x80)
            return MAILOUT_E_8BIT;
        if ((flags & MAILOUT_LINE_NO_NUL) && c == 0)
            return MAILOUT_E_INVAL;
        if ((flags & MAILOUT_LINE_MAX998) && col == 998)
            return MAILOUT_E_LINE_TOO_LONG;
        if (col == 0 && c == '.' && (flags & MAILOUT_LINE_STUFF))
            fz_append(out, ".", 1);
        fz_append(out, &c, 1);
        col++;
    }
    *at = len;
    if (col && (flags & (MAILOUT_LINE_TERMINATE | MAILOUT_LINE_FINAL_CRLF)))
        fz_append(out, "\r\n", 2);
    if (flags & MAILOUT_LINE_TERMINATE)
        fz_append(out, ".\r\n", 3);
    return MAILOUT_DONE;
}

static void check_output(const fz_buf *o, unsigned flags, mailout_status st)
{
    size_t line_start = 0, dot_lines = 0;
    for (size_t i = 0; i < o->len; i++) {
        if (o->p[i] == '\r') {
            FZ_CHECK(i + 1 < o->len && o->p[i + 1] == '\n');
            if (i - line_start == 1 && o->p[line_start] == '.')
                dot_lines++;
            i++;
            line_start = i + 1;
            continue;
        }
        FZ_CHECK(o->p[i] != '\n');
        if (i == line_start && o->p[i] == '.' && (flags & MAILOUT_LINE_STUFF)) {
            /* a stuffed line: "..", or the terminator (the last line) */
            int is_term = (flags & MAILOUT_LINE_TERMINATE) && st == MAILOUT_DONE && i + 3 == o->len;
            FZ_CHECK(is_term || (i + 1 < o->len && o->p[i + 1] == '.'));
        }
    }
    if (flags & MAILOUT_LINE_TERMINATE) {
        /* ".\r\n" as a line: exactly once on success (last), never on error. */
        FZ_CHECK(dot_lines == (st == MAILOUT_DONE));
        if (st == MAILOUT_DONE)
            FZ_CHECK(o->len >= 3 && fz_memeq(o->p + o->len - 3, ".\r\n", 3) &&
                     (o->len == 3 || o->p[o->len - 4] == '\n'));
    }
    if (st == MAILOUT_DONE && (flags & (MAILOUT_LINE_TERMINATE | MAILOUT_LINE_FINAL_CRLF)) && o->len)
        FZ_CHECK(o->p[o->len - 1] == '\n');
}

static void check_scan(const uint8_t *in, size_t len, fz_ctl *ctl, uint64_t ref_breaks, int ref_ok)
{
    mailout_scan a, b;
    mailout_scan_init(&a);
    mailout_scan_update(&a, in, len);
    mailout_scan_final(&a);
    mailout_scan_init(&b);
    for (size_t pos = 0; pos < len;) {
        size_t n = (fz_next(ctl) & 31u) + 1;
        if (n > len - pos)
            n = len - pos;
        mailout_scan_update(&b, in + pos, n);
        pos += n;
    }
    mailout_scan_final(&b);
    FZ_CHECK(a.bytes == len && b.bytes == len);
    FZ_CHECK(a.lines == b.lines && a.max_line == b.max_line && a.cur_line == b.cur_line);
    FZ_CHECK(a.has_8bit == b.has_8bit && a.has_nul == b.has_nul && a.has_ctl == b.has_ctl);
    FZ_CHECK(a.has_bare == b.has_bare && a.utf8_ok == b.utf8_ok && a.boundary_like == b.boundary_like);
    if (ref_ok) /* the reference saw the whole input */
        FZ_CHECK(a.lines == ref_breaks);
    FZ_CHECK(a.max_line <= len && (a.lines || a.max_line == len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_ctl ctl;
    const uint8_t *in;
    size_t len;
    unsigned flags = fz_split(data, size, &ctl, &in, &len) & 63u;

    mailout_line f;
    if ((flags & MAILOUT_LINE_TERMINATE) && !(flags & MAILOUT_LINE_STUFF)) {
        FZ_CHECK(mailout_line_init(&f, flags) == MAILOUT_E_INVAL);
        flags |= MAILOUT_LINE_STUFF;
    }
    fz_buf once = {0}, chunked = {0}, ref = {0};
    size_t c1, c2, c3;
    uint64_t breaks;
    FZ_CHECK(mailout_line_init(&f, flags) == MAILOUT_OK);
    mailout_status s1 = fz_run_once(line_fn, &f, in, len, len * 3 + 8, &once, &c1);
    FZ_CHECK(mailout_line_init(&f, flags) == MAILOUT_OK);
    mailout_status s2 = fz_run(line_fn, &f, in, len, &ctl, &chunked, &c2);
    mailout_status s3 = ref_line(in, len, flags, &ref, &c3, &breaks);

    FZ_CHECK(s1 == s3 && s2 == s3);
    FZ_CHECK(c1 == c3 && c2 == c3);
    FZ_CHECK(once.len == ref.len && fz_memeq(once.p, ref.p, ref.len));
    FZ_CHECK(chunked.len == ref.len && fz_memeq(chunked.p, ref.p, ref.len));
    check_output(&once, flags, s1);
    check_scan(in, len, &ctl, breaks, s3 == MAILOUT_DONE);

    fz_free(&once);
    fz_free(&chunked);
    fz_free(&ref);
    return 0;
}
