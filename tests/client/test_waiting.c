/*
 * The blocking driver over transports whose send waits (a blocking
 * socket, a user transport that blocks): a server on 127.0.0.1 that reads
 * the body slowly, so that sending it takes about twice the engine's
 * deadlines, then answers 250. The deadline for the reply to the end of
 * the data must count from when the body was out, not from the start of
 * the driver's step: the job is delivered.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "ctest.h"
#include "srv.h"
#include "testutil.h"

#include <mailout/client.h>

#define T_MS 1000u          /* engine and socket timeouts */
#define SLOW_MS 2200u       /* how long the server reads slowly: > 2 x T_MS */
#define SLOW_PIECE 16384u   /* ... this much per SLOW_SLEEP_MS */
#define SLOW_SLEEP_MS 20u
#define BODY_LINES 52000u   /* 78-byte lines: about 4 MB, more than the slow phase takes */
#define SOCK_BUF 65536      /* both ends: the kernel holds little of the body */
#define REPLY_DELAY_MS 200u /* from the end of the data to the 250 */
#define PIECE 4096u         /* the engine's output buffer, each body read */

static const char *const rcpt1[] = {"b@y.test"};

static uint64_t clock_ms(void *ctx)
{
    (void)ctx;
    return srv_now_ms();
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the slow reader ----------------------------------------------------- */

typedef struct slow_srv {
    int lfd;
    uint16_t port;
    pthread_t th;
    size_t body_bytes;   /* bytes after 354 up to and including CRLF.CRLF */
    uint64_t data_start; /* when the server began reading the body */
    int answered;        /* it said 250 to the end of the data */
    int ok;              /* the dialogue went as expected */
    size_t piece;        /* the slow phase: this much per read ... */
    unsigned sleep_ms;   /* ... then this long asleep ... */
    unsigned slow_ms;    /* ... for this long */
    unsigned reply_ms;   /* from the end of the data to the 250 */
} slow_srv;

static int write_all(int fd, const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* One CRLF line (without it) into @p line; -1 on EOF or error. */
static int read_line(int fd, char *line, size_t cap)
{
    size_t o = 0;
    for (;;) {
        char ch;
        if (recv(fd, &ch, 1, 0) != 1)
            return -1;
        if (ch == '\n')
            break;
        if (o + 1 < cap && ch != '\r')
            line[o++] = ch;
    }
    line[o] = '\0';
    return 0;
}

/* The body, slowly for SLOW_MS, then at full speed, up to CRLF.CRLF. */
static int read_body(slow_srv *s, int fd)
{
    static const char term[] = "\r\n.\r\n";
    static unsigned char buf[65536];
    size_t match = 2; /* as if a CRLF had just been seen */

    s->data_start = srv_now_ms();
    for (;;) {
        int slow = srv_now_ms() - s->data_start < s->slow_ms;
        ssize_t n = recv(fd, buf, slow ? s->piece : sizeof buf, 0);
        if (n <= 0)
            return -1;
        /* byte by byte: the terminator must end the read (the client
         * pipelines nothing after it without PIPELINING) */
        for (ssize_t i = 0; i < n; i++) {
            s->body_bytes++;
            if ((char)buf[i] == term[match])
                match++;
            else
                match = buf[i] == '\r' ? 1 : 0;
            if (match == 5)
                return i == n - 1 ? 0 : -1;
        }
        if (slow)
            sleep_ms(s->sleep_ms);
    }
}

static void *slow_main(void *arg)
{
    slow_srv *s = arg;
    struct pollfd pfd = {s->lfd, POLLIN, 0};
    char line[512];
    struct timeval tv = {10, 0}; /* bounds every read: nothing hangs */
    int fd;

    if (poll(&pfd, 1, 5000) != 1 || (fd = accept(s->lfd, NULL, NULL)) < 0)
        return NULL;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (write_all(fd, "220 slow ESMTP\r\n") != 0)
        goto out;
    while (read_line(fd, line, sizeof line) == 0) {
        const char *reply = "500 what\r\n";
        if (!strncmp(line, "EHLO", 4))
            reply = "250 slow\r\n";
        else if (!strncmp(line, "MAIL", 4) || !strncmp(line, "RCPT", 4))
            reply = "250 ok\r\n";
        else if (!strcmp(line, "DATA"))
            reply = "354 go\r\n";
        else if (!strcmp(line, "QUIT"))
            reply = "221 bye\r\n";
        if (write_all(fd, reply) != 0)
            break;
        if (!strcmp(line, "QUIT")) {
            s->ok = 1;
            break;
        }
        if (!strcmp(line, "DATA")) {
            if (read_body(s, fd) != 0)
                break;
            sleep_ms(s->reply_ms); /* the client is waiting for it by then */
            if (write_all(fd, "250 queued\r\n") != 0)
                break;
            s->answered = 1;
        }
    }
out:
    close(fd);
    return NULL;
}

/* A server that reads the body @p piece bytes per @p nap_ms for @p slow_ms,
 * its socket's receive buffer @p rcvbuf. */
static void slow_start_paced(slow_srv *s, int rcvbuf, size_t piece, unsigned nap_ms, unsigned slow_ms)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int buf = rcvbuf;

    memset(s, 0, sizeof *s);
    s->piece = piece;
    s->sleep_ms = nap_ms;
    s->slow_ms = slow_ms;
    s->reply_ms = REPLY_DELAY_MS;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    /* inherited by the accepted socket: little of the body sits there */
    assert_int_equal(setsockopt(s->lfd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf), 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 1), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, slow_main, s), 0);
}

static void slow_start(slow_srv *s)
{
    slow_start_paced(s, SOCK_BUF, SLOW_PIECE, SLOW_SLEEP_MS, SLOW_MS);
}

static void slow_join(slow_srv *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

/* ---- transports ------------------------------------------------------------ */

static mailout_tcp *connect_tcp(uint16_t port, int nonblocking, mailout_transport *t)
{
    mailout_tcp_config tc;
    mailout_tcp *tcp = NULL;
    unsigned w = 0;
    int buf = SOCK_BUF, fd;

    memset(&tc, 0, sizeof tc);
    tc.host = "127.0.0.1";
    tc.port = port;
    tc.connect_timeout_ms = 2000;
    tc.io_timeout_ms = T_MS;
    tc.nonblocking = nonblocking;
    assert_status(MAILOUT_OK, mailout_tcp_open(&tcp, &tc, NULL, t));
    fd = t->pollfd(t->ctx, &w);
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf), 0);
    return tcp;
}

/* A user transport whose send waits until it can take something (up to
 * T_MS), over the non-blocking TCP transport; recv says "would block" and
 * wait() polls, as the contract allows. */
static mailout_transport inner;

static ptrdiff_t waiting_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    for (;;) {
        ptrdiff_t n = inner.send(inner.ctx, buf, len);
        mailout_status st;
        if (n != 0)
            return n;
        st = inner.wait(inner.ctx, MAILOUT_WANT_WRITE, T_MS);
        if (st != MAILOUT_OK)
            return st;
    }
}

static ptrdiff_t waiting_recv(void *ctx, unsigned char *buf, size_t cap)
{
    (void)ctx;
    return inner.recv(inner.ctx, buf, cap);
}

static mailout_status waiting_wait(void *ctx, unsigned want, uint32_t ms)
{
    (void)ctx;
    return inner.wait(inner.ctx, want, ms);
}

/* ---- the job ---------------------------------------------------------------- */

/* A body source over a string, PIECE bytes per read at most, that says
 * AGAIN for DRY_MS each time another @p pause bytes went (a pipe that
 * runs dry): long enough for the driver to end its step and wait. */
#define DRY_MS 5u

typedef struct pipe_body {
    const char *text;
    size_t len, off;
    size_t pause, next; /* next: where the next pause comes */
    uint64_t dry_until; /* 0: not pausing */
    unsigned pauses;    /* how many there were */
} pipe_body;

static mailout_status pipe_start(void *ctx, unsigned flags, uint64_t *size)
{
    pipe_body *b = ctx;
    (void)flags;
    b->off = 0;
    b->next = b->pause;
    b->dry_until = 0;
    b->pauses = 0;
    *size = b->len;
    return MAILOUT_OK;
}

static mailout_status pipe_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    pipe_body *b = ctx;
    size_t n = b->len - b->off;

    *got = 0;
    if (b->pause && b->off >= b->next) {
        if (!b->dry_until) {
            b->dry_until = srv_now_ms() + DRY_MS;
            b->pauses++;
        }
        if (srv_now_ms() < b->dry_until)
            return MAILOUT_AGAIN;
        b->dry_until = 0;
        b->next += b->pause;
    }
    n = n < cap ? n : cap;
    n = n < PIECE ? n : PIECE;
    memcpy(buf, b->text + b->off, n);
    b->off += n;
    *got = n;
    return b->off == b->len ? MAILOUT_DONE : MAILOUT_OK;
}

static int pipe_is_8bit(void *ctx)
{
    (void)ctx;
    return 0;
}

static char *make_body(size_t *len)
{
    static const char line[] = "0123456789012345678901234567890123456789012345678901234567890123456789abcdef\r\n";
    static const char head[] = "Subject: slow\r\n\r\n";
    size_t n = sizeof head - 1 + BODY_LINES * (sizeof line - 1);
    char *b = malloc(n + 1);

    assert_non_null(b);
    memcpy(b, head, sizeof head - 1);
    for (size_t i = 0; i < BODY_LINES; i++)
        memcpy(b + sizeof head - 1 + i * (sizeof line - 1), line, sizeof line - 1);
    b[n] = '\0';
    *len = n;
    return b;
}

/* mailout_send_jobs over @p t to the slow server @p s: delivered. */
static void send_slowly(slow_srv *s, const mailout_transport *t, size_t pause)
{
    mailout_smtp_config cfg;
    mailout_result res;
    mailout_job job;
    pipe_body b;
    size_t len;
    char *text = make_body(&len);
    uint64_t t0;

    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.timeout_ms = T_MS; /* every reply, the data blocks, the end of the data */
    cfg.no_chunking = 1;
    cfg.out_buf_size = PIECE;
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpt1;
    job.rcpt_count = 1;
    memset(&b, 0, sizeof b);
    b.text = text;
    b.len = len;
    b.pause = pause;
    job.body.start = pipe_start;
    job.body.read = pipe_read;
    job.body.is_8bit = pipe_is_8bit;
    job.body.ctx = &b;
    t0 = srv_now_ms();
    assert_status(MAILOUT_OK, mailout_send_jobs(t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    /* the premise: sending took more than twice the deadlines */
    assert_true(srv_now_ms() - t0 > 2 * T_MS);
    assert_status(MAILOUT_OK, res.status);
    assert_int_equal(res.reply.code, 250);
    slow_join(s);
    assert_true(s->answered);
    assert_true(s->ok);
    /* every byte arrived: the body and ".\r\n" (no line starts with a dot) */
    assert_int_equal(s->body_bytes, len + 3);
    assert_int_equal(b.pauses, pause ? (len - 1) / pause : 0);
    free(text);
}

/* A user transport whose send waits, recv does not: the body goes out in
 * one step of the driver, and the reply is waited for in the next. */
static void test_waiting_send_slow_reader(void **state)
{
    slow_srv s;
    mailout_transport t;
    mailout_tcp *tcp;

    (void)state;
    slow_start(&s);
    tcp = connect_tcp(s.port, 1, &inner);
    memset(&t, 0, sizeof t);
    t.send = waiting_send;
    t.recv = waiting_recv;
    t.wait = waiting_wait;
    send_slowly(&s, &t, 0);
    mailout_tcp_free(tcp);
}

/* The library's blocking TCP transport, and a body source that runs dry
 * after every 1.5 MB (a pipe): the driver steps again in the middle of the
 * body, more than a deadline after the step began. */
static void test_blocking_tcp_slow_reader(void **state)
{
    slow_srv s;
    mailout_transport t;
    mailout_tcp *tcp;

    (void)state;
    slow_start(&s);
    tcp = connect_tcp(s.port, 0, &t);
    send_slowly(&s, &t, (size_t)1500 * 1000);
    mailout_tcp_free(tcp);
}

/* The library's TCP transport in send-waits mode, as mailout_send() uses
 * it: sends wait in the kernel (the whole body in one step), recv never
 * waits. */
static void test_send_waits_tcp_slow_reader(void **state)
{
    slow_srv s;
    mailout_transport t;
    mailout_tcp *tcp;

    (void)state;
    slow_start(&s);
    tcp = connect_tcp(s.port, MAILOUT_TCP_SEND_WAITS, &t);
    send_slowly(&s, &t, 0);
    mailout_tcp_free(tcp);
}

/*
 * Send-waits TCP (mailout_send's transport) to a reader that never stops:
 * at most 2 KB every 20 ms (about 28 KB/s here), the least socket
 * buffers, 64 KB output buffers, timeout_ms 300. Room appears every 20 ms,
 * 15 times per timeout, so the body (80 KB) makes progress all along and
 * must be delivered, as it is over the non-blocking TCP transport (each
 * partial write re-arms the engine's deadline; about 2.9 s). On main a
 * 64 KB send needs about 2 s: SO_SNDTIMEO cuts it short at 300 ms with
 * part queued, the next send does not wait ("late") and finds the buffer
 * full: E_TIMEOUT after about 1 s, 28 KB read by the server.
 */
#define STEADY_T_MS 300u
#define STEADY_BODY (80u * 1024u)
#define STEADY_BUF 65536u

static void steady_reader(int mode)
{
    static const char *const rcpts[] = {"b@y.test"};
    static const char line[] = "0123456789012345678901234567890123456789012345678901234567890123456789abcdef\r\n";
    mailout_smtp_config cfg;
    mailout_result res;
    mailout_job job;
    mailout_transport t;
    mailout_tcp *tcp;
    ct_body body;
    slow_srv s;
    unsigned w = 0;
    int small = 1; /* the kernel's least: about 4.5 KB, and 2.3 KB for the reader */
    size_t n = 0;
    uint64_t t0;
    char *text = malloc(STEADY_BODY + sizeof line);
    mailout_status st;

    assert_non_null(text);
    text[0] = '\0';
    while (n < STEADY_BODY) {
        memcpy(text + n, line, sizeof line);
        n += sizeof line - 1;
    }
    slow_start_paced(&s, small, 2048, 20, 60000);
    s.reply_ms = 0;
    tcp = connect_tcp(s.port, mode, &t);
    assert_int_equal(setsockopt(t.pollfd(t.ctx, &w), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.timeout_ms = STEADY_T_MS;
    cfg.no_chunking = 1;
    cfg.out_buf_size = STEADY_BUF;
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpts;
    job.rcpt_count = 1;
    job.body = ct_body_source(&body, text, 0, 0);
    t0 = srv_now_ms();
    st = mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL);
    if (res.status != MAILOUT_OK)
        print_message("status %d stage %d after %llu ms, %zu body bytes read\n", (int)res.status,
                      (int)res.stage, (unsigned long long)(srv_now_ms() - t0), s.body_bytes);
    mailout_tcp_free(tcp); /* the server sees EOF if it is still reading */
    slow_join(&s);
    free(text);
    assert_status(MAILOUT_OK, st);
    assert_status(MAILOUT_OK, res.status);
    assert_int_equal(res.reply.code, 250);
    assert_true(s.answered);
    assert_int_equal(s.body_bytes, n + 3);
}

/* The reference: the non-blocking TCP transport delivers it. */
static void test_nonblocking_tcp_steady_slow_reader(void **state)
{
    (void)state;
    steady_reader(MAILOUT_TCP_NONBLOCKING);
}

static void test_send_waits_tcp_steady_slow_reader(void **state)
{
    (void)state;
    steady_reader(MAILOUT_TCP_SEND_WAITS);
}

/* ---- a fake clock: transports whose calls wait, no sleeping ---------------- */

/*
 * A scripted peer on a fake clock (fk->now): reply i is due once the
 * client has written due_lines[i] CRLF lines and the clock reached
 * due_at[i]. A recv with nothing due waits up to recv_wait_ms (the clock
 * moves), then says 0; send follows send_plan, one letter per call ('T'
 * take all, 'Z' "would block" at once, 'W' wait send_wait_ms, then "would
 * block"; 'T' past its end); wait() moves the clock to the next reply or
 * by its timeout. The driver's clock is fk->now.
 */
#define FK_MAX 12

typedef struct fake {
    uint64_t now;
    size_t lines; /* CRLF lines the client wrote */
    int last_cr;
    const char *text[FK_MAX];
    size_t due_lines[FK_MAX];
    uint64_t due_at[FK_MAX];
    size_t nrep, next, off;
    unsigned recv_wait_ms;
    const char *send_plan;
    unsigned send_calls;
    unsigned send_wait_ms;
} fake;

static uint64_t fk_clock(void *ctx)
{
    return ((fake *)ctx)->now;
}

static void fk_reply(fake *fk, const char *text, size_t due_lines, uint64_t due_at)
{
    assert_true(fk->nrep < FK_MAX);
    fk->text[fk->nrep] = text;
    fk->due_lines[fk->nrep] = due_lines;
    fk->due_at[fk->nrep] = due_at;
    fk->nrep++;
}

/* When the next reply is (or becomes) readable; UINT64_MAX: not before
 * the client writes more. */
static uint64_t fk_ready_at(const fake *fk)
{
    if (fk->next == fk->nrep || fk->lines < fk->due_lines[fk->next])
        return UINT64_MAX;
    return fk->due_at[fk->next] > fk->now ? fk->due_at[fk->next] : fk->now;
}

static ptrdiff_t fk_send(void *ctx, const unsigned char *buf, size_t len)
{
    fake *fk = ctx;
    size_t k = fk->send_calls++;
    char how = fk->send_plan && k < strlen(fk->send_plan) ? fk->send_plan[k] : 'T';

    if (how == 'Z')
        return 0;
    if (how == 'W') {
        fk->now += fk->send_wait_ms;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' && fk->last_cr)
            fk->lines++;
        fk->last_cr = buf[i] == '\r';
    }
    return (ptrdiff_t)len;
}

static ptrdiff_t fk_recv(void *ctx, unsigned char *buf, size_t cap)
{
    fake *fk = ctx;
    uint64_t at = fk_ready_at(fk);
    size_t left, n;

    if (at > fk->now) {
        if (at > fk->now + fk->recv_wait_ms) {
            fk->now += fk->recv_wait_ms;
            return 0;
        }
        fk->now = at; /* it came while the call waited */
    }
    left = strlen(fk->text[fk->next]) - fk->off;
    n = left < cap ? left : cap;
    memcpy(buf, fk->text[fk->next] + fk->off, n);
    fk->off += n;
    if (fk->off == strlen(fk->text[fk->next])) {
        fk->next++;
        fk->off = 0;
    }
    return (ptrdiff_t)n;
}

static mailout_status fk_wait(void *ctx, unsigned want, uint32_t ms)
{
    fake *fk = ctx;
    uint64_t at = want & MAILOUT_WANT_READ ? fk_ready_at(fk) : UINT64_MAX;

    if (at <= fk->now + ms) {
        fk->now = at;
        return MAILOUT_OK;
    }
    fk->now += ms;
    return MAILOUT_E_TIMEOUT;
}

static mailout_transport fk_transport(fake *fk)
{
    mailout_transport t;
    memset(&t, 0, sizeof t);
    t.send = fk_send;
    t.recv = fk_recv;
    t.wait = fk_wait;
    t.ctx = fk;
    return t;
}

/*
 * A recv that waits (300 ms, then says 0, as a socket with a receive
 * timeout mapped to "would block") and a server that never greets: the
 * session must end at the greeting's deadline, 1000 ms. The driver's
 * wait after the step counts from p->now, the time before that recv: it
 * waits the recv's 300 ms once more, past the deadline (ends at 1300).
 */
static void test_fake_recv_waits_deadline_not_overslept(void **state)
{
    static const char *const rcpts[] = {"b@y.test"};
    mailout_smtp_config cfg;
    mailout_result res;
    mailout_job job;
    mailout_transport t;
    ct_body body;
    fake fk;

    (void)state;
    memset(&fk, 0, sizeof fk);
    fk.recv_wait_ms = 300;
    t = fk_transport(&fk);
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.timeout_ms = 1000;
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpts;
    job.rcpt_count = 1;
    job.body = ct_body_source(&body, "Subject: x\r\n\r\nhi\r\n", 0, 0);
    assert_status(MAILOUT_E_TIMEOUT, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, fk_clock, &fk));
    assert_int_equal(fk.now, 1000);
}

/*
 * PIPELINING, a group longer than the output buffer (64 B): MAIL and two
 * RCPTs go, then the transport is full. The reply to MAIL comes at 900 ms,
 * before its deadline (1000 ms). In the step that follows, the first send
 * waits 300 ms for room and gives up ("would block", nothing taken), then
 * the pump reads the reply, which has been there since 900: it is in time
 * and the job is delivered. On main the read tells the engine the time
 * after that send (1200) before it sees the reply: E_TIMEOUT at MAIL.
 */
static void test_fake_reply_in_time_after_waiting_send(void **state)
{
    static const char *const rcpts[] = {"b@y.test", "c@y.test", "d@y.test"};
    mailout_smtp_config cfg;
    mailout_result res;
    mailout_job job;
    mailout_transport t;
    mailout_status st;
    ct_body body;
    fake fk;

    (void)state;
    memset(&fk, 0, sizeof fk);
    fk_reply(&fk, "220 srv.test ESMTP\r\n", 0, 0);
    fk_reply(&fk, "250-srv.test\r\n250 PIPELINING\r\n", 1, 0);
    fk_reply(&fk, "250 2.1.0 ok\r\n", 2, 900); /* MAIL */
    fk_reply(&fk, "250 2.1.5 ok\r\n", 3, 0);
    fk_reply(&fk, "250 2.1.5 ok\r\n", 4, 0);
    fk_reply(&fk, "250 2.1.5 ok\r\n", 5, 0);
    fk_reply(&fk, "354 go\r\n", 6, 0);
    fk_reply(&fk, "250 2.0.0 queued\r\n", 10, 0); /* 3 lines of body and "." */
    fk_reply(&fk, "221 bye\r\n", 11, 0);
    /* EHLO, the first 64 B of the group, full, then a send that waits */
    fk.send_plan = "TTZW";
    fk.send_wait_ms = 300;
    t = fk_transport(&fk);
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.timeout_ms = 1000;
    cfg.out_buf_size = 64;
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpts;
    job.rcpt_count = 3;
    job.body = ct_body_source(&body, "Subject: x\r\n\r\nhi\r\n", 0, 0);
    st = mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, fk_clock, &fk);
    if (res.status != MAILOUT_OK)
        print_message("stage %d (MAIL %d), clock %llu\n", (int)res.stage, (int)MAILOUT_STAGE_MAIL,
                      (unsigned long long)fk.now);
    assert_status(MAILOUT_OK, res.status);
    assert_status(MAILOUT_OK, st);
    assert_int_equal(res.reply.code, 250);
    assert_int_equal(fk.next, fk.nrep);
    assert_true(fk.send_calls >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiting_send_slow_reader),
        cmocka_unit_test(test_blocking_tcp_slow_reader),
        cmocka_unit_test(test_send_waits_tcp_slow_reader),
        cmocka_unit_test(test_nonblocking_tcp_steady_slow_reader),
        cmocka_unit_test(test_send_waits_tcp_steady_slow_reader),
        cmocka_unit_test(test_fake_recv_waits_deadline_not_overslept),
        cmocka_unit_test(test_fake_reply_in_time_after_waiting_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
