/*
 * mailout's side of the benchmarks (run by tests/bench/run.py).
 *
 *   bench_send send PORT FILE OUTBUF [CAFILE]
 *       one message, a short text and FILE as a base64 attachment, to
 *       127.0.0.1:PORT with an output buffer of OUTBUF bytes; with CAFILE
 *       over implicit TLS (the sink's test certificate). Prints
 *       "SENT <message bytes> WRITES <send() system calls> EAGAIN <of them
 *        refused> WIRE <bytes written> PARTIAL <short writes>
 *        MALLOCS <count> HEAP <peak bytes>"
 *   bench_send many PORT N OUTBUF
 *       N messages of about 1 KB (composed, a 1 KB text body) on one
 *       connection (PIPELINING: mailout_send_jobs). Prints
 *       "MSGS <accepted> SECS <seconds>"
 *   bench_send stream FILE OUT
 *       writes the exact DATA stream of the `send` message (stuffed,
 *       terminated) to OUT, for the pre-encoded baselines
 *
 * Writes are counted by replacing send() in this program (every send()
 * system call of the process: mailout's TCP transport and wolfSSL's), and
 * mailout gets the TCP transport as mailout_send() uses it, with no
 * wrapper: an extra layer per write would be charged to mailout alone (the
 * baseline calls send() directly), a few percent of the time it takes to
 * write 256 B on loopback. Heap use by replacing malloc in this program
 * (every allocation of the process, wolfSSL and stdio included). Both
 * only without sanitizers. The clock and randomness are fixed so every
 * mode builds the same bytes.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailout/mailout.h>

/* ---- heap accounting --------------------------------------------------- */

static unsigned long long n_mallocs;
static size_t heap_peak;

#ifdef BENCH_COUNT_MALLOC
static size_t heap_now;

/* glibc supports replacing malloc in the main program; these are its own. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t k);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static void heap_add(void *p)
{
    if (!p)
        return;
    n_mallocs++;
    heap_now += malloc_usable_size(p);
    if (heap_now > heap_peak)
        heap_peak = heap_now;
}

static void heap_sub(void *p)
{
    if (p)
        heap_now -= malloc_usable_size(p);
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    heap_add(p);
    return p;
}

void *calloc(size_t n, size_t k)
{
    void *p = __libc_calloc(n, k);
    heap_add(p);
    return p;
}

void *realloc(void *old, size_t n)
{
    heap_sub(old);
    void *p = __libc_realloc(old, n);
    if (p)
        heap_add(p);
    else if (old && n)
        heap_now += malloc_usable_size(old); /* the old block stays */
    return p;
}

void free(void *p)
{
    heap_sub(p);
    __libc_free(p);
}
#endif

/* ---- send() system calls -------------------------------------------------- */

/* Every send() of the process (mailout's TCP transport and wolfSSL's),
 * counted on the way to glibc's: what the "write calls" target is about.
 * Only in builds without sanitizers (they intercept send themselves). */
static unsigned long long n_send, n_send_again, n_wire, n_partial;

#ifdef BENCH_COUNT_MALLOC
#include <errno.h>
#include <sys/socket.h>
extern ssize_t __send(int fd, const void *buf, size_t len, int flags);

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    ssize_t n = __send(fd, buf, len, flags);
    n_send++;
    if (n > 0) {
        n_wire += (unsigned long long)n;
        n_partial += (size_t)n < len;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        n_send_again++;
    }
    return n;
}
#endif

static uint64_t mono_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- messages ------------------------------------------------------------- */

static int fixed_now(void *ctx, int64_t *secs, int *off)
{
    (void)ctx;
    *secs = 1795359340;
    *off = 0;
    return 0;
}

static int fixed_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
    return 0;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_send: %s\n", what);
    exit(70);
}

static mailout_msg *new_msg(mailout_allocator *a)
{
    mailout_env env = mailout_posix_env();
    mailout_msg *m;
    env.now = fixed_now;
    env.random = fixed_random;
    if (mailout_msg_new(&m, a) || mailout_msg_set_env(m, &env) ||
        mailout_msg_set_from(m, "a@example.com", NULL) ||
        mailout_msg_add_recipient(m, MAILOUT_TO, "b@example.com", NULL) || mailout_msg_set_subject(m, "bench"))
        die("cannot compose");
    return m;
}

/* A short text and FILE as a base64 attachment. */
static mailout_msg *make_attachment(const char *file, mailout_allocator *a)
{
    static const char text[] = "Benchmark attachment attached.\n";
    mailout_msg *m = new_msg(a);
    mailout_part *root, *t, *att;
    if (mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root) || mailout_part_new(m, root, &t) ||
        mailout_part_set_data(t, text, sizeof text - 1) || mailout_part_new(m, root, &att) ||
        mailout_part_set_file(att, file) || mailout_part_set_type(att, "application/octet-stream") ||
        mailout_part_set_disposition(att, MAILOUT_ATTACHMENT))
        die("cannot compose");
    return m;
}

/* About 1 KB: 1 KiB of text lines as the whole body. */
static mailout_msg *make_small(mailout_allocator *a, char *text, size_t len)
{
    mailout_msg *m = new_msg(a);
    mailout_part *t;
    for (size_t i = 0; i < len; i++)
        text[i] = (i + 1) % 64 == 0 ? '\n' : (char)('a' + i % 26);
    if (mailout_part_new(m, NULL, &t) || mailout_part_set_data(t, text, len))
        die("cannot compose");
    return m;
}

/* ---- modes --------------------------------------------------------------------- */

static int stream(const char *file, const char *out)
{
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m = make_attachment(file, &a);
    static unsigned char buf[1 << 16];
    FILE *fp = fopen(out, "wb");
    size_t n;
    mailout_status st;
    if (!fp || mailout_msg_read_start(m, MAILOUT_READ_SMTP) != MAILOUT_OK)
        return 70;
    do {
        st = mailout_msg_read(m, buf, sizeof buf, &n);
        fwrite(buf, 1, n, fp);
    } while (st == MAILOUT_OK);
    fclose(fp);
    mailout_msg_free(m);
    return st == MAILOUT_DONE ? 0 : 70;
}

/* Connects and runs the jobs; returns the session's status. */
static mailout_status run_jobs(const char *port, size_t outbuf, const char *cafile, const mailout_job *jobs,
                               size_t njobs, mailout_result *res)
{
    mailout_tcp_config tc;
    mailout_smtp_config sc;
    mailout_tls_config tls;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_status st;

    memset(&tc, 0, sizeof tc);
    tc.host = "127.0.0.1";
    tc.port = (uint16_t)atoi(port);
    tc.nonblocking = MAILOUT_TCP_SEND_WAITS; /* as mailout_send() does */
    if (mailout_tcp_open(&tcp, &tc, NULL, &t) != MAILOUT_OK)
        die("cannot connect");
    memset(&sc, 0, sizeof sc);
    sc.tls = cafile ? MAILOUT_TLS_IMPLICIT : MAILOUT_TLS_NONE;
    sc.ehlo_name = "bench.example";
    sc.out_buf_size = outbuf;
    sc.no_chunking = 1; /* DATA, as the baselines */
    memset(&tls, 0, sizeof tls);
    tls.server_name = "localhost";
    tls.ca_file = cafile;
    st = mailout_send_jobs(&t, &sc, cafile ? &tls : NULL, jobs, njobs, res, mono_ms, NULL);
    mailout_tcp_free(tcp);
    return st;
}

static int send_one(const char *port, const char *file, const char *outbuf, const char *cafile)
{
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m = make_attachment(file, &a);
    const char *rcpt[MAILOUT_MAX_RECIPIENTS];
    mailout_job job;
    mailout_result res;
    if (mailout_job_from_msg(&job, m, rcpt) != MAILOUT_OK)
        die("no job");
    mailout_status st = run_jobs(port, (size_t)atol(outbuf), cafile, &job, 1, &res);
    if (st != MAILOUT_OK || res.status != MAILOUT_OK) {
        fprintf(stderr, "bench_send: %s / %s at %s (%u %s)\n", mailout_errname(st), mailout_errname(res.status),
                mailout_smtp_stage_name(res.stage), res.reply.code, res.reply.text);
        return 75;
    }
    mailout_msg_free(m);
    printf("SENT %llu WRITES %llu EAGAIN %llu WIRE %llu PARTIAL %llu MALLOCS %llu HEAP %zu\n",
           (unsigned long long)res.data_bytes, n_send, n_send_again, n_wire, n_partial, n_mallocs, heap_peak);
    return 0;
}

static int send_many(const char *port, const char *count, const char *outbuf)
{
    mailout_allocator a = mailout_heap_allocator();
    static char text[1024];
    mailout_msg *m = make_small(&a, text, sizeof text);
    const char *rcpt[MAILOUT_MAX_RECIPIENTS];
    size_t n = (size_t)atol(count), ok = 0;
    mailout_job job, *jobs = malloc(n * sizeof *jobs);
    mailout_result *res = malloc(n * sizeof *res);
    if (!jobs || !res || n == 0 || mailout_job_from_msg(&job, m, rcpt) != MAILOUT_OK)
        die("no jobs");
    for (size_t i = 0; i < n; i++)
        jobs[i] = job; /* the same message each time: read from its start */
    double t0 = mono_s();
    mailout_status st = run_jobs(port, (size_t)atol(outbuf), NULL, jobs, n, res);
    double secs = mono_s() - t0;
    for (size_t i = 0; i < n; i++)
        ok += res[i].status == MAILOUT_OK;
    if (st != MAILOUT_OK || ok != n) {
        fprintf(stderr, "bench_send: %s, %zu of %zu accepted\n", mailout_errname(st), ok, n);
        return 75;
    }
    printf("MSGS %zu SECS %.6f WRITES %llu\n", ok, secs, n_send);
    free(jobs);
    free(res);
    mailout_msg_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "send"))
        return send_one(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
    if (argc == 5 && !strcmp(argv[1], "many"))
        return send_many(argv[2], argv[3], argv[4]);
    if (argc == 4 && !strcmp(argv[1], "stream"))
        return stream(argv[2], argv[3]);
    fprintf(stderr, "usage: bench_send send PORT FILE OUTBUF [CAFILE] | many PORT N OUTBUF | stream FILE OUT\n");
    return 64;
}
