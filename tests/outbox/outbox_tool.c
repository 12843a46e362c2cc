/*
 * Drives the outbox for the crash tests (crash_test.py): every store
 * operation is a potential kill point, and with MAILOUT_KILL_AT=k the
 * process SIGKILLs itself at point k (2 points per operation: before and
 * after it), as a power loss would stop it.
 *
 *   outbox_tool enqueue DIR N     queue message N (deterministic content)
 *   outbox_tool flush DIR LOG     deliver due entries; "delivery" appends
 *                                 "N <fnv hash of the bytes>\n" to LOG (fsync'ed)
 *   outbox_tool check DIR         verify every entry is complete and intact:
 *                                 prints "entries <n>" and exits 0, or 1
 *   outbox_tool expect N          print "N <hash>" of message N
 *   outbox_tool flushnet DIR PORT NOW   flush at Unix time NOW through the
 *                                 blocking driver to 127.0.0.1:PORT (plain
 *                                 SMTP); prints the flush counts
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mailout/mailout.h>
#include <mailout/outbox.h>

#define T0 1795359340

static long kill_at = -1, point = 0;

static void kill_point(void)
{
    if (point++ == kill_at)
        raise(SIGKILL);
}

/* ---- the POSIX store with kill points around every operation ---- */
static const mailout_store_ops *real;
#define WRAP(call)                  \
    do {                            \
        mailout_status st_;         \
        kill_point();               \
        st_ = (call);               \
        kill_point();               \
        return st_;                 \
    } while (0)
static mailout_status k_create(void *c, const char *n, void **h) { WRAP(real->create(c, n, h)); }
static mailout_status k_write(void *c, void *h, const void *b, size_t l) { WRAP(real->write(c, h, b, l)); }
static mailout_status k_commit(void *c, void *h) { WRAP(real->commit(c, h)); }
static void k_discard(void *c, void *h) { real->discard(c, h); }
static mailout_status k_open(void *c, const char *n, void **h, uint64_t *s) { return real->open(c, n, h, s); }
static mailout_status k_read(void *c, void *h, unsigned char *b, size_t cap, size_t *g) { return real->read(c, h, b, cap, g); }
static void k_close(void *c, void *h) { real->close(c, h); }
static mailout_status k_remove(void *c, const char *n) { WRAP(real->remove(c, n)); }
static mailout_status k_move(void *c, const char *a, const char *b) { WRAP(real->move(c, a, b)); }
static mailout_status k_list(void *c, int (*cb)(void *, const char *), void *x) { return real->list(c, cb, x); }
static const mailout_store_ops killing = {k_create, k_write, k_commit, k_discard, k_open,
                                          k_read,   k_close, k_remove, k_move,    k_list};

/* ---- deterministic platform ---- */
static int fixed_now(void *ctx, int64_t *secs, int *off)
{
    (void)ctx;
    *secs = T0;
    *off = 0;
    return 0;
}

static int counter_random(void *ctx, void *buf, size_t len)
{
    unsigned *state = ctx;
    unsigned char *p = buf;
    while (len--) {
        *state = *state * 1103515245u + 12345u;
        *p++ = (unsigned char)(*state >> 16);
    }
    return 0;
}

static int os_random(void *ctx, void *buf, size_t len)
{
    FILE *fp = fopen("/dev/urandom", "rb");
    size_t n;
    (void)ctx;
    if (!fp)
        return -1;
    n = fread(buf, 1, len, fp);
    fclose(fp);
    return n == len ? 0 : -1;
}

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
    while (n--)
        h = (h ^ *p++) * 1099511628211ull;
    return h;
}

/* Message N: a body of a few KB so spooling takes many writes. */
static unsigned char body[20000];
static mailout_msg *make_msg(unsigned n, mailout_allocator *a, unsigned *rng)
{
    mailout_msg *m;
    mailout_part *p;
    mailout_env env = {fixed_now, counter_random, NULL, rng};
    char subject[32];
    size_t i;
    for (i = 0; i < sizeof body; i++)
        body[i] = (i % 64 == 63) ? '\n' : (unsigned char)('a' + (i * 7 + n) % 26);
    snprintf(subject, sizeof subject, "message %u", n);
    if (mailout_msg_new(&m, a) || mailout_msg_set_env(m, &env) ||
        mailout_msg_set_from(m, "dev@example.com", NULL) ||
        mailout_msg_add_recipient(m, MAILOUT_TO, "support@example.com", NULL) ||
        mailout_msg_set_subject(m, subject) || mailout_part_new(m, NULL, &p) ||
        mailout_part_set_data(p, body, sizeof body))
        exit(2);
    return m;
}

static uint64_t msg_hash(unsigned n)
{
    mailout_allocator a = mailout_heap_allocator();
    unsigned rng = n;
    mailout_msg *m = make_msg(n, &a, &rng);
    unsigned char buf[1024];
    size_t got;
    uint64_t h = 14695981039346656037ull;
    mailout_status st;
    if (mailout_msg_read_start(m, 0) != MAILOUT_OK)
        exit(2);
    do {
        st = mailout_msg_read(m, buf, sizeof buf, &got);
        h = fnv(buf, got, h);
    } while (st == MAILOUT_OK);
    mailout_msg_free(m);
    if (st != MAILOUT_DONE)
        exit(2);
    return h;
}

/* Reads a job's body; returns its hash and the N from "Subject: message N". */
static mailout_status read_job(const mailout_job *job, uint64_t *hash, unsigned *n)
{
    static unsigned char all[64 * 1024];
    size_t len = 0, got;
    uint64_t size;
    mailout_status st = job->body.start(job->body.ctx, 0, &size);
    const char *s;
    if (st != MAILOUT_OK)
        return st;
    do {
        st = job->body.read(job->body.ctx, all + len, sizeof all - 1 - len, &got);
        len += got;
    } while (st == MAILOUT_OK);
    if (st != MAILOUT_DONE || len != size)
        return MAILOUT_E_FILE;
    all[len] = '\0';
    s = strstr((const char *)all, "Subject: message ");
    if (!s)
        return MAILOUT_E_FILE;
    *n = (unsigned)atoi(s + 17);
    *hash = fnv(all, len, 14695981039346656037ull);
    return MAILOUT_OK;
}

static const char *log_path;

static mailout_status deliver(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *codes)
{
    (void)codes;
    uint64_t h;
    unsigned n;
    char line[64];
    int fd;
    (void)ctx;
    memset(res, 0, sizeof *res);
    if (read_job(job, &h, &n) != MAILOUT_OK)
        exit(3);
    kill_point();
    fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    snprintf(line, sizeof line, "%u %016llx\n", n, (unsigned long long)h);
    if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) != 0)
        exit(3);
    close(fd);
    kill_point(); /* the server has it; the entry is not yet removed */
    res->status = MAILOUT_OK;
    return MAILOUT_OK;
}

static void net_rcpt(void *ctx, size_t index, const mailout_reply *reply)
{
    ((uint16_t *)ctx)[index] = reply->code;
}

static mailout_status send_net(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *codes)
{
    mailout_client_config cfg = *(const mailout_client_config *)ctx;
    cfg.smtp.cb.rcpt = net_rcpt;
    cfg.smtp.cb.ctx = codes;
    return mailout_send_job(&cfg, job, res);
}

static mailout_status verify(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *codes)
{
    (void)codes;
    uint64_t h;
    unsigned n;
    unsigned *count = ctx;
    memset(res, 0, sizeof *res);
    if (read_job(job, &h, &n) != MAILOUT_OK || h != msg_hash(n)) {
        fprintf(stderr, "entry for message %u is damaged\n", n);
        exit(1);
    }
    (*count)++;
    res->status = MAILOUT_E_REJ_TEMP; /* keep it queued */
    return res->status;
}

int main(int argc, char **argv)
{
    mailout_allocator a = mailout_heap_allocator();
    mailout_outbox *ob;
    mailout_outbox_policy pol = {0};
    const char *k = getenv("MAILOUT_KILL_AT");
    mailout_status st;
    if (argc < 3)
        return 64;
    if (k)
        kill_at = atol(k);
    if (!strcmp(argv[1], "expect")) {
        unsigned n = (unsigned)atoi(argv[2]);
        printf("%u %016llx\n", n, (unsigned long long)msg_hash(n));
        return 0;
    }
    real = mailout_store_posix();
    if (!strcmp(argv[1], "check")) {
        /* Reading every entry back goes through a flush, which records an
         * attempt: check a copy so the queue itself stays as it was. */
        static char copy[1024], cmd[8192];
        snprintf(copy, sizeof copy, "%s.check", argv[2]);
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' 2>/dev/null || mkdir -p '%s'", copy, argv[2], copy,
                 copy);
        if (system(cmd) != 0)
            return 2;
        argv[2] = copy;
    }
    pol.first_delay_s = 1;
    pol.max_age_s = 10000000; /* nothing expires in these tests */
    if (mailout_outbox_open(&ob, &killing, argv[2], &pol, os_random, NULL, &a) != MAILOUT_OK)
        return 2;
    if (!strcmp(argv[1], "enqueue") && argc == 4) {
        unsigned n = (unsigned)atoi(argv[3]), rng = n;
        char id[MAILOUT_OUTBOX_ID_MAX];
        mailout_msg *m = make_msg(n, &a, &rng);
        st = mailout_outbox_enqueue(ob, m, 0, T0 + n, id);
        mailout_msg_free(m);
    } else if (!strcmp(argv[1], "flush") && argc == 4) {
        log_path = argv[3];
        st = mailout_outbox_flush(ob, T0 + 1000000, NULL, deliver, NULL, NULL);
    } else if (!strcmp(argv[1], "flushnet") && argc == 5) {
        mailout_client_config cfg;
        mailout_outbox_stats stats;
        memset(&cfg, 0, sizeof cfg);
        cfg.host = "127.0.0.1";
        cfg.port = (uint16_t)atoi(argv[3]);
        cfg.connect_timeout_ms = 2000;
        cfg.smtp.tls = MAILOUT_TLS_NONE;
        cfg.smtp.ehlo_name = "device.example";
        cfg.smtp.timeout_ms = 5000;
        st = mailout_outbox_flush(ob, atoll(argv[4]), NULL, send_net, &cfg, &stats);
        printf("delivered %u deferred %u failed %u unknown %u waiting %u\n", stats.delivered, stats.deferred,
               stats.failed, stats.unknown, stats.waiting);
    } else if (!strcmp(argv[1], "check")) {
        unsigned count = 0;
        mailout_outbox_stats stats;
        /* An attempt per entry reads it all back; REJ_TEMP keeps it and
         * reschedules it before the time "flush" uses. */
        st = mailout_outbox_flush(ob, T0 + 500000, NULL, verify, &count, &stats);
        if (st == MAILOUT_OK && stats.failed) {
            fprintf(stderr, "%u entries unreadable\n", stats.failed);
            return 1;
        }
        printf("entries %u\n", count);
        {
            char cmd[8192];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", argv[2]);
            if (system(cmd) != 0)
                return 2;
        }
    } else
        return 64;
    mailout_outbox_close(ob);
    if (st != MAILOUT_OK) {
        fprintf(stderr, "outbox_tool: %s\n", mailout_errname(st));
        return 1;
    }
    return 0;
}
