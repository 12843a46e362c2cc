/*
 * Throughput of the encode layer on 64 MB of data per case. Prints MB/s,
 * ns/byte and (x86-64 only) TSC ticks per input byte, which approximate
 * cycles per byte on a machine with a constant-rate TSC. Each case runs
 * REPS times and the fastest run is reported (the others are noise from
 * whatever else the machine is doing). Not a test: it
 * asserts nothing about speed. Build without sanitizers for real numbers:
 *   meson setup build-bench -Dbuildtype=release -Dtests=enabled
 *   build-bench/tests/bench/bench_encode [MB]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailout/encode.h>

#include "encode/b64_x86.h" /* the base64 paths, to time each */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#define CHUNK (64u * 1024u)
#define REPS 5

typedef mailout_status (*filter_fn)(void *state, mailout_stream *s, int end);

static uint64_t rng_state = 88172645463325252u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t ticks(void)
{
#if HAVE_TSC
    return __rdtsc();
#else
    return 0;
#endif
}

/* Text like a mail body: words, punctuation, lines of 40..72 characters
 * ended by eol, and about one 8-bit UTF-8 letter in 200 characters. */
static void make_text(unsigned char *p, size_t n, const char *eol)
{
    static const char *const words[] = {"the", "mail", "server", "accepted", "message", "and", "of", "to",
                                        "a", "delivery", "report", "is", "sent", "when", "header", "body"};
    size_t i = 0, col = 0, eol_len = strlen(eol);
    size_t width = 40 + rng() % 33;
    while (i < n) {
        if (col >= width) {
            for (size_t k = 0; k < eol_len && i < n; k++)
                p[i++] = (unsigned char)eol[k];
            col = 0;
            width = 40 + rng() % 33;
            continue;
        }
        uint64_t r = rng();
        if (r % 200 == 0 && i + 2 <= n) {
            p[i++] = 0xC3;
            p[i++] = 0xA9;
            col += 2;
            continue;
        }
        const char *w = words[r % 16];
        for (size_t k = 0; w[k] && i < n; k++, col++)
            p[i++] = (unsigned char)w[k];
        if (i < n) {
            p[i++] = (r >> 8) % 11 == 0 ? ',' : ' ';
            col++;
        }
    }
}

/* Stream the whole buffer through fn in CHUNK-sized pieces into a CHUNK
 * window; returns seconds and fills *out_bytes and *tsc. */
static double run_once(filter_fn fn, void *state, const unsigned char *in, size_t n, uint64_t *out_bytes, uint64_t *tsc)
{
    static unsigned char out[CHUNK];
    uint64_t produced = 0;
    double t0 = now_s();
    uint64_t k0 = ticks();
    size_t pos = 0;
    mailout_status st;
    do {
        size_t take = n - pos < CHUNK ? n - pos : CHUNK;
        mailout_stream s = {in + pos, take, out, sizeof out};
        int end = pos + take == n;
        for (;;) {
            s.next_out = out;
            s.avail_out = sizeof out;
            st = fn(state, &s, end);
            produced += sizeof out - s.avail_out;
            if (st != MAILOUT_OK || s.avail_in == 0)
                break;
        }
        while (st == MAILOUT_OK && end) {
            s.next_out = out;
            s.avail_out = sizeof out;
            st = fn(state, &s, end);
            produced += sizeof out - s.avail_out;
        }
        pos += take;
    } while (st == MAILOUT_OK);
    *tsc = ticks() - k0;
    double t = now_s() - t0;
    if (st != MAILOUT_DONE) {
        fprintf(stderr, "filter failed: %s\n", mailout_errname(st));
        exit(1);
    }
    *out_bytes = produced;
    return t;
}

/* The fastest of REPS runs; @p reset restarts the filter before each. */
static double run(filter_fn fn, void (*reset)(void *), void *state, const unsigned char *in, size_t n,
                  uint64_t *out_bytes, uint64_t *tsc)
{
    double best = 1e30;
    for (int r = 0; r < REPS; r++) {
        uint64_t o, k;
        reset(state);
        double t = run_once(fn, state, in, n, &o, &k);
        if (t < best) {
            best = t;
            *out_bytes = o;
            *tsc = k;
        }
    }
    return best;
}

static void report(const char *name, size_t n, double t, uint64_t out_bytes, uint64_t tsc)
{
    printf("%-34s %8.1f MB/s %7.3f ns/B", name, (double)n / t / 1e6, t * 1e9 / (double)n);
    if (HAVE_TSC)
        printf(" %6.2f ticks/B", (double)tsc / (double)n);
    printf("  (out %.1f MB)\n", (double)out_bytes / 1e6);
}


/* Each case's filter state with the init argument its reset needs. */
typedef struct bench_case {
    union {
        mailout_b64 b64;
        mailout_qp qp;
        mailout_line line;
    } u;
    unsigned arg;
    unsigned level; /* base64: the path (b64_x86.h), the best one by default */
} bench_case;

static mailout_status b64_fn(void *st, mailout_stream *s, int end)
{
    return mailout_b64_encode(&((bench_case *)st)->u.b64, s, end);
}

static mailout_status qp_fn(void *st, mailout_stream *s, int end)
{
    return mailout_qp_encode(&((bench_case *)st)->u.qp, s, end);
}

static mailout_status line_fn(void *st, mailout_stream *s, int end)
{
    return mailout_line_filter(&((bench_case *)st)->u.line, s, end);
}

static void b64_reset(void *st)
{
    bench_case *c = st;
    mailout_b64_init(&c->u.b64, c->arg);
    mailout_b64_set_level(&c->u.b64, c->level);
}

static void qp_reset(void *st)
{
    bench_case *c = st;
    mailout_qp_init(&c->u.qp, c->arg);
}

static void line_reset(void *st)
{
    bench_case *c = st;
    mailout_line_init(&c->u.line, c->arg);
}

static void bench_b64(const unsigned char *bin, size_t n)
{
    bench_case c;
    uint64_t out, tsc;
    c.arg = 76;
    c.level = mailout_b64_best_level();
    double t = run(b64_fn, b64_reset, &c, bin, n, &out, &tsc);
    report("base64 (76-col lines)", n, t, out, tsc);
    c.arg = 0;
    t = run(b64_fn, b64_reset, &c, bin, n, &out, &tsc);
    report("base64 (unbroken)", n, t, out, tsc);
    /* The slower paths this CPU also has (what other x86-64 CPUs get). */
    static const char *const names[] = {"base64 (76-col, scalar code)", "base64 (76-col, SSSE3 code)"};
    c.arg = 76;
    for (c.level = 0; c.level < mailout_b64_best_level(); c.level++) {
        t = run(b64_fn, b64_reset, &c, bin, n, &out, &tsc);
        report(names[c.level], n, t, out, tsc);
    }
}

static void bench_qp(const unsigned char *text, const unsigned char *bin, size_t n)
{
    bench_case c;
    uint64_t out, tsc;
    c.arg = MAILOUT_QP_TEXT;
    double t = run(qp_fn, qp_reset, &c, text, n, &out, &tsc);
    report("quoted-printable (text, CRLF)", n, t, out, tsc);
    c.arg = 0;
    t = run(qp_fn, qp_reset, &c, bin, n, &out, &tsc);
    report("quoted-printable (random binary)", n, t, out, tsc);
}

static void bench_line(const unsigned char *crlf, const unsigned char *lf, size_t n)
{
    bench_case c;
    uint64_t out, tsc;
    c.arg = MAILOUT_LINE_STUFF | MAILOUT_LINE_TERMINATE;
    double t = run(line_fn, line_reset, &c, crlf, n, &out, &tsc);
    report("line filter (CRLF text, stuff)", n, t, out, tsc);
    t = run(line_fn, line_reset, &c, lf, n, &out, &tsc);
    report("line filter (LF text, stuff)", n, t, out, tsc);
    c.arg = MAILOUT_LINE_STUFF | MAILOUT_LINE_TERMINATE | MAILOUT_LINE_NO_NUL | MAILOUT_LINE_MAX998;
    t = run(line_fn, line_reset, &c, crlf, n, &out, &tsc);
    report("line filter (CRLF, NUL+998 checks)", n, t, out, tsc);
}

static void bench_scan(const unsigned char *text, size_t n)
{
    mailout_scan sc;
    double best = 1e30;
    uint64_t best_tsc = 0;
    for (int r = 0; r < REPS; r++) {
        mailout_scan_init(&sc);
        double t0 = now_s();
        uint64_t k0 = ticks();
        for (size_t pos = 0; pos < n; pos += CHUNK)
            mailout_scan_update(&sc, text + pos, n - pos < CHUNK ? n - pos : CHUNK);
        mailout_scan_final(&sc);
        uint64_t tsc = ticks() - k0;
        double t = now_s() - t0;
        if (t < best) {
            best = t;
            best_tsc = tsc;
        }
    }
    report("scan (CRLF text; out = lines)", n, best, sc.lines, best_tsc);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64;
    size_t n = (mb ? mb : 64) * 1024 * 1024;
    unsigned char *bin = malloc(n), *crlf = malloc(n), *lf = malloc(n);
    if (!bin || !crlf || !lf) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        bin[i] = (unsigned char)(rng() >> 24);
    make_text(crlf, n, "\r\n");
    make_text(lf, n, "\n");
    printf("%zu MB per case, %u KB chunks and windows\n", n >> 20, CHUNK / 1024);
    bench_b64(bin, n);
    bench_qp(crlf, bin, n);
    bench_line(crlf, lf, n);
    bench_scan(crlf, n);
    free(bin);
    free(crlf);
    free(lf);
    return 0;
}
