/* see mailout/transport.h: POSIX TCP sockets as a mailout_transport.
 *
 * Connect runs on a non-blocking socket (its timeout, the staggered
 * attempts). In blocking mode the socket then blocks, bounded by
 * io_timeout_ms (SO_RCVTIMEO; sends wait in slices of it, SO_SNDTIMEO),
 * so a stuck peer can never hang the caller forever; in non-blocking mode send/recv return 0 and
 * wait() polls; in send-waits mode the socket blocks for send() only and
 * recv() asks with MSG_DONTWAIT. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "transport/transport_internal.h"

#include <mailout/transport.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* BSD/macOS: SO_NOSIGPIPE on the socket instead */
#endif

#define TCP_DEFAULT_CONNECT_MS 30000u
#define TCP_DEFAULT_IO_MS 300000u
/* A blocking send waits in slices of io_timeout_ms / this (SO_SNDTIMEO):
 * a stalled peer is given up at most two slices after io_timeout_ms. */
#define TCP_SEND_SLICES 8u
/* Parallel attempts at most; more addresses wait for one to fail. */
#define TCP_MAX_INFLIGHT 4

struct mailout_tcp {
    mailout_allocator al;
    int fd; /* -1 once closed */
    unsigned char send_waits; /* the socket blocks: send() waits for room (SO_SNDTIMEO) */
    unsigned char recv_waits; /* recv() waits too (SO_RCVTIMEO); else MSG_DONTWAIT */
    unsigned char sending; /* sent since the last receive or wait for input */
    unsigned char corked;  /* TCP_CORK is set */
    unsigned char full;    /* non-blocking: the last send() was short, the buffer is full */
    unsigned char late;    /* blocking: the last send ran out of time with bytes left */
    uint32_t io_ms;        /* blocking: SO_SNDTIMEO / SO_RCVTIMEO */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int ms_until(uint64_t deadline)
{
    uint64_t now = now_ms();
    if (now >= deadline)
        return 0;
    return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

/* poll() one fd until @p deadline, retrying EINTR with the time left.
 * Returns >0 ready (including error/hang-up: the next call tells which),
 * 0 timed out, -1 poll failed. */
static int poll_until(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int r = poll(&p, 1, ms_until(deadline));
        if (r >= 0)
            return r;
        if (errno != EINTR)
            return -1;
    }
}

/* Documented in transport.h: a reset or a broken pipe means the peer is
 * gone, which callers handle like an orderly close. */
static mailout_status errno_status(int e)
{
    switch (e) {
    case EPIPE:
    case ECONNRESET:
        return MAILOUT_E_CLOSED;
    case ETIMEDOUT:
        return MAILOUT_E_TIMEOUT;
    default:
        return MAILOUT_E_IO;
    }
}

static int set_socket_options(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) < 0)
            return -1;
    }
#endif
    /* TCP_NODELAY on: the engine hands over whole pipelined command
     * groups and full DATA buffers, so there is nothing for Nagle to
     * coalesce, and with it on, a write that follows unacknowledged data
     * (the second buffer of a small message) waits for the peer's delayed
     * ACK: 40 ms per message on Linux (2000 1 KB messages with a 256 B
     * buffer took 89 s instead of 0.3 s). Bursts are corked instead, see
     * tcp_send. */
    {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* connect                                                              */
/* ------------------------------------------------------------------ */

/* Addresses in RFC 8305 §4 order: alternate families, starting with the
 * family getaddrinfo put first. Walks the list without copying it. */
typedef struct addr_iter {
    const struct addrinfo *cur[2];
    int family[2];
    int turn;
} addr_iter;

static const struct addrinfo *next_of_family(const struct addrinfo *a, int family)
{
    while (a && a->ai_family != family)
        a = a->ai_next;
    return a;
}

static void iter_init(addr_iter *it, const struct addrinfo *list)
{
    it->family[0] = list ? list->ai_family : AF_INET;
    it->family[1] = it->family[0] == AF_INET6 ? AF_INET : AF_INET6;
    it->cur[0] = next_of_family(list, it->family[0]);
    it->cur[1] = next_of_family(list, it->family[1]);
    it->turn = 0;
}

static const struct addrinfo *iter_next(addr_iter *it)
{
    for (int k = 0; k < 2; k++) {
        int i = (it->turn + k) % 2;
        const struct addrinfo *a = it->cur[i];
        if (a) {
            it->cur[i] = next_of_family(a->ai_next, it->family[i]);
            it->turn = (i + 1) % 2;
            return a;
        }
    }
    return NULL;
}

/* Start one non-blocking attempt. MAILOUT_OK: in progress (*fd set);
 * MAILOUT_DONE: connected already (*fd set); else the attempt failed. */
static mailout_status start_attempt(const struct addrinfo *a, int *fd)
{
    int s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (s < 0)
        return MAILOUT_E_CONNECT;
    if (set_socket_options(s) < 0) {
        close(s);
        return MAILOUT_E_CONNECT;
    }
    if (connect(s, a->ai_addr, a->ai_addrlen) == 0) {
        *fd = s;
        return MAILOUT_DONE;
    }
    /* EINTR: the connect goes on asynchronously, like EINPROGRESS. */
    if (errno == EINPROGRESS || errno == EINTR) {
        *fd = s;
        return MAILOUT_OK;
    }
    close(s);
    return MAILOUT_E_CONNECT;
}

static void close_all(struct pollfd *pf, int n)
{
    for (int i = 0; i < n; i++)
        close(pf[i].fd);
}

/* Check the finished attempts in pf[0..*n). Returns the connected fd (the
 * others stay in pf), or -1 after dropping the failed ones. */
static int reap_attempts(struct pollfd *pf, int *n, int *failed)
{
    for (int i = 0; i < *n;) {
        if (!pf[i].revents) {
            i++;
            continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        int fd = pf[i].fd;
        pf[i] = pf[--*n];
        if (err == 0)
            return fd;
        close(fd);
        *failed = 1;
    }
    return -1;
}

mailout_status mailout_tcp_connect_list(const struct addrinfo *list, uint32_t timeout_ms, uint32_t stagger_ms,
                                        int *fd)
{
    struct pollfd pf[TCP_MAX_INFLIGHT];
    int n = 0;
    addr_iter it;
    iter_init(&it, list);
    const struct addrinfo *next = iter_next(&it);
    uint64_t deadline = now_ms() + timeout_ms;
    uint64_t next_start = 0;

    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            close_all(pf, n);
            return MAILOUT_E_TIMEOUT;
        }
        if (next && n < TCP_MAX_INFLIGHT && (now >= next_start || n == 0)) {
            int s = -1;
            mailout_status st = start_attempt(next, &s);
            next = iter_next(&it);
            if (st == MAILOUT_DONE) {
                close_all(pf, n);
                *fd = s;
                return MAILOUT_OK;
            }
            if (st == MAILOUT_OK) {
                pf[n].fd = s;
                pf[n].events = POLLOUT;
                pf[n].revents = 0;
                n++;
                next_start = now + stagger_ms;
            }
            continue; /* a failed start moves on to the next address at once */
        }
        if (n == 0)
            return MAILOUT_E_CONNECT; /* nothing pending, nothing left */
        uint64_t until = deadline;
        if (next && n < TCP_MAX_INFLIGHT && next_start < until)
            until = next_start;
        int r = poll(pf, (nfds_t)n, ms_until(until));
        if (r < 0 && errno != EINTR) {
            close_all(pf, n);
            return MAILOUT_E_CONNECT;
        }
        if (r <= 0)
            continue;
        int failed = 0;
        int won = reap_attempts(pf, &n, &failed);
        if (won >= 0) {
            close_all(pf, n);
            *fd = won;
            return MAILOUT_OK;
        }
        if (failed)
            next_start = 0; /* RFC 8305 §5: a failure starts the next attempt now */
    }
}

/* ------------------------------------------------------------------ */
/* transport callbacks                                                  */
/* ------------------------------------------------------------------ */

/*
 * With TCP_NODELAY every write becomes a segment, which makes a stream of
 * small writes (a body through a 256 B buffer) cost a trip through the
 * stack per write: twice the time of plain writes on loopback. So a burst
 * (a second write with no read in between: only the body does that) is
 * corked, and uncorked, which sends what is held at once, as soon as the
 * caller turns to reading, which it always does before waiting for a
 * reply. Two setsockopt() calls per burst; where TCP_CORK does not exist
 * writes simply go out one by one. A body source that makes the engine
 * wait (AGAIN) in the middle of a burst leaves the last partial segment
 * held for at most 200 ms (Linux's ceiling for a cork); nobody waits on it.
 */
static void tcp_cork(mailout_tcp *c, int on)
{
#ifdef TCP_CORK
    /* best effort: a refused cork is not tried again on every write */
    int v = on;
    if (c->corked != on) {
        c->corked = (unsigned char)on;
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
    }
#else
    (void)c;
    (void)on;
#endif
}

static void tcp_turn_to_input(mailout_tcp *c)
{
    c->sending = 0;
    c->late = 0;
    tcp_cork(c, 0);
}

/* Blocking mode: SO_SNDTIMEO or SO_RCVTIMEO (@p opt) to @p ms (> 0: 0
 * would mean "wait forever"). */
static void set_timeo(int fd, int opt, uint32_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000u);
    tv.tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
    (void)setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

/*
 * The time left of a blocking call that a signal cut short, set as the
 * socket's timeout @p opt for the retry (*cut records that it must be put
 * back). 0 when none is left. A retry with the full SO_*TIMEO instead
 * would let a signal repeating faster than the timeout (an interval timer)
 * keep the call waiting forever.
 */
static int time_left(mailout_tcp *c, int opt, uint64_t deadline, int *cut)
{
    int ms = ms_until(deadline);
    if (ms > 0) {
        set_timeo(c->fd, opt, (uint32_t)ms);
        *cut = 1;
    }
    return ms;
}

/*
 * Blocking send: one system call, which queues all of buf unless the
 * socket stays full. The socket's SO_SNDTIMEO is a slice of io_timeout_ms
 * (tcp_send_slice): a call cut short by it, or by a signal, goes on with
 * the rest, and the send gives up only when io_timeout_ms passed without
 * a byte taken. So a reader that keeps reading, however slowly, is never
 * failed (it takes bytes in every slice: a reader slower than one buffer
 * per io_timeout_ms included), a peer that stops reading ends the send
 * within about io_timeout_ms plus two slices, and signals cannot stretch
 * a call (each slice is short, and the give-up time is on the monotonic
 * clock). The clock is only read once a slice ended short: a send that
 * queues all at once costs one system call. When the send gave up with
 * only a part queued, the next call does not wait again (the peer took
 * nothing for io_timeout_ms): it takes what fits at once or says
 * MAILOUT_E_TIMEOUT (TLS makes two sends for one record).
 * Not inlined: its frame would cost every non-blocking send (7 of about
 * 1160 instructions of a 256 B write, bench_send under callgrind).
 */
static MAILOUT_NOINLINE ptrdiff_t tcp_send_blocking(mailout_tcp *c, const unsigned char *buf, size_t len)
{
    uint64_t give_up = 0; /* 0: no slice ended short yet */
    size_t done = 0;
    ptrdiff_t err = MAILOUT_E_TIMEOUT;

    if (c->late) {
        ssize_t n;
        do {
            n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        c->late = n > 0 && (size_t)n < len;
        if (n > 0)
            return (ptrdiff_t)n;
        return n == 0 || errno == EAGAIN || errno == EWOULDBLOCK ? MAILOUT_E_TIMEOUT : errno_status(errno);
    }
    for (;;) {
        ssize_t n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            if (done == len)
                break;
            /* bytes went in this slice: the peer still reads */
            give_up = now_ms() + c->io_ms;
            continue;
        }
        if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            err = n == 0 ? MAILOUT_E_IO : errno_status(errno);
            break;
        }
        /* a slice without a byte taken, or a signal */
        if (give_up == 0)
            give_up = now_ms() + c->io_ms;
        else if (now_ms() >= give_up)
            break;
    }
    c->late = done > 0 && done < len;
    return done > 0 ? (ptrdiff_t)done : err;
}

/* Blocking recv: up to io_timeout_ms, also when signals keep cutting it
 * short (see time_left). */
static MAILOUT_NOINLINE ptrdiff_t tcp_recv_blocking(mailout_tcp *c, unsigned char *buf, size_t cap)
{
    uint64_t deadline = now_ms() + c->io_ms;
    ptrdiff_t r;
    int cut = 0;

    for (;;) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n >= 0) {
            r = n > 0 ? (ptrdiff_t)n : MAILOUT_E_CLOSED;
            break;
        }
        if (errno != EINTR) {
            /* EAGAIN: SO_RCVTIMEO passed with nothing received */
            r = errno == EAGAIN || errno == EWOULDBLOCK ? MAILOUT_E_TIMEOUT : errno_status(errno);
            break;
        }
        if (time_left(c, SO_RCVTIMEO, deadline, &cut) == 0) {
            r = MAILOUT_E_TIMEOUT;
            break;
        }
    }
    if (cut)
        set_timeo(c->fd, SO_RCVTIMEO, c->io_ms);
    return r;
}

/* One send() of up to @p len bytes: > 0 bytes taken, 0 would block
 * (EAGAIN), < 0 the error status. errno is read only when send() failed. */
static ptrdiff_t tcp_send_once(mailout_tcp *c, const unsigned char *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0)
            return (ptrdiff_t)n;
        if (n == 0)
            return MAILOUT_E_IO; /* impossible for len > 0 */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return errno_status(errno);
    }
}

static ptrdiff_t tcp_send(void *ctx, const unsigned char *buf, size_t len)
{
    mailout_tcp *c = ctx;
    if (c->fd < 0)
        return MAILOUT_E_STATE;
    if (len == 0)
        return MAILOUT_E_INVAL;
    if (len > PTRDIFF_MAX)
        len = PTRDIFF_MAX;
    if (c->sending)
        tcp_cork(c, 1);
    c->sending = 1;
    if (c->send_waits)
        return tcp_send_blocking(c, buf, len);
    /* A short write means the send buffer is full: the next send() would
     * only fail with EAGAIN, so the next call says "would block" without
     * that system call. */
    if (c->full) {
        c->full = 0;
        return 0;
    }
    ptrdiff_t n = tcp_send_once(c, buf, len);
    c->full = n > 0 && (size_t)n < len;
    return n;
}

static ptrdiff_t tcp_recv(void *ctx, unsigned char *buf, size_t cap)
{
    mailout_tcp *c = ctx;
    if (c->fd < 0)
        return MAILOUT_E_STATE;
    if (cap == 0)
        return MAILOUT_E_INVAL;
    if (cap > PTRDIFF_MAX)
        cap = PTRDIFF_MAX;
    tcp_turn_to_input(c);
    if (c->recv_waits)
        return tcp_recv_blocking(c, buf, cap);
    for (;;) {
        /* MSG_DONTWAIT: in send-waits mode the socket blocks */
        ssize_t n = recv(c->fd, buf, cap, MSG_DONTWAIT);
        if (n > 0)
            return (ptrdiff_t)n;
        if (n == 0)
            return MAILOUT_E_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return errno_status(errno);
        return 0;
    }
}

static mailout_status tcp_wait(void *ctx, unsigned want, uint32_t timeout_ms)
{
    mailout_tcp *c = ctx;
    short ev = 0;
    if (c->fd < 0)
        return MAILOUT_E_STATE;
    if (want & MAILOUT_WANT_READ)
        ev |= POLLIN;
    if (want & MAILOUT_WANT_WRITE)
        ev |= POLLOUT;
    if (ev == 0)
        return MAILOUT_E_INVAL;
    if (want & MAILOUT_WANT_READ)
        tcp_turn_to_input(c);
    int r = poll_until(c->fd, ev, now_ms() + timeout_ms);
    if (r > 0)
        return MAILOUT_OK;
    return r == 0 ? MAILOUT_E_TIMEOUT : MAILOUT_E_IO;
}

static int tcp_pollfd(void *ctx, unsigned *want)
{
    mailout_tcp *c = ctx;
    (void)want; /* plain TCP never changes the direction */
    return c->fd;
}

static void tcp_close(void *ctx)
{
    mailout_tcp *c = ctx;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* ------------------------------------------------------------------ */
/* open / free                                                          */
/* ------------------------------------------------------------------ */

/* Blocking mode: connect ran non-blocking (for its timeout and the
 * staggered attempts); from here the socket blocks: a recv waits up to
 * io_timeout_ms, a send one slice of it at a time (tcp_send_blocking). A
 * blocking send() queues all its bytes before it returns unless a slice
 * passes, so the engine's buffers go out in one system call each: on a
 * non-blocking socket every short write the kernel made (send buffer
 * full) cost one more call for the rest, and a poll() before it. */
static int set_blocking(int fd, uint32_t timeout_ms)
{
    uint32_t slice = timeout_ms / TCP_SEND_SLICES;
    struct timeval tv, sv;
    tv.tv_sec = (time_t)(timeout_ms / 1000u);
    tv.tv_usec = (suseconds_t)((timeout_ms % 1000u) * 1000u);
    if (slice == 0)
        slice = 1;
    sv.tv_sec = (time_t)(slice / 1000u);
    sv.tv_usec = (suseconds_t)((slice % 1000u) * 1000u);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sv, sizeof sv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return -1;
    return 0;
}

static mailout_status resolve(const mailout_tcp_config *cfg, struct addrinfo **res)
{
    char port[8];
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = cfg->family == 4 ? AF_INET : cfg->family == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: it hides ::1 and 127.0.0.1 on hosts whose only
     * addresses are loopback, which is exactly where tests and local
     * relays live. A family without a route fails fast at connect. */
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
    int r = getaddrinfo(cfg->host, port, &hints, res);
    if (r == 0)
        return *res ? MAILOUT_OK : MAILOUT_E_RESOLVE;
    return r == EAI_MEMORY ? MAILOUT_E_NOMEM : MAILOUT_E_RESOLVE;
}

mailout_status mailout_tcp_open(mailout_tcp **out, const mailout_tcp_config *cfg, const mailout_allocator *alloc,
                                mailout_transport *t)
{
    if (!out || !cfg || !t || !cfg->host || !cfg->host[0] || cfg->port == 0)
        return MAILOUT_E_INVAL;
    if (cfg->family != 0 && cfg->family != 4 && cfg->family != 6)
        return MAILOUT_E_INVAL;
    if (cfg->nonblocking < MAILOUT_TCP_BLOCKING || cfg->nonblocking > MAILOUT_TCP_SEND_WAITS)
        return MAILOUT_E_INVAL;

    mailout_allocator al = alloc && alloc->alloc ? *alloc : mailout_heap_allocator();
    mailout_tcp *c = mailout_alloc(&al, sizeof *c);
    if (!c)
        return MAILOUT_E_NOMEM;

    struct addrinfo *res = NULL;
    mailout_status st = resolve(cfg, &res);
    int fd = -1;
    if (st == MAILOUT_OK) {
        uint32_t ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : TCP_DEFAULT_CONNECT_MS;
        st = mailout_tcp_connect_list(res, ms, MAILOUT_TCP_STAGGER_MS, &fd);
    }
    if (res)
        freeaddrinfo(res);
    if (st != MAILOUT_OK) {
        mailout_release(&al, c, sizeof *c);
        return st;
    }

    uint32_t io_ms = cfg->io_timeout_ms ? cfg->io_timeout_ms : TCP_DEFAULT_IO_MS;
    if (cfg->nonblocking != MAILOUT_TCP_NONBLOCKING && set_blocking(fd, io_ms) != 0) {
        close(fd);
        mailout_release(&al, c, sizeof *c);
        return MAILOUT_E_IO;
    }
    c->al = al;
    c->fd = fd;
    c->sending = c->corked = c->full = c->late = 0;
    c->io_ms = io_ms;
    c->send_waits = cfg->nonblocking != MAILOUT_TCP_NONBLOCKING;
    c->recv_waits = cfg->nonblocking == MAILOUT_TCP_BLOCKING;
    t->send = tcp_send;
    t->recv = tcp_recv;
    t->wait = tcp_wait;
    t->pollfd = tcp_pollfd;
    t->close = tcp_close;
    t->ctx = c;
    *out = c;
    return MAILOUT_OK;
}

void mailout_tcp_free(mailout_tcp *c)
{
    if (!c)
        return;
    tcp_close(c);
    mailout_allocator al = c->al;
    mailout_release(&al, c, sizeof *c);
}

/* ------------------------------------------------------------------ */
/* EHLO name                                                            */
/* ------------------------------------------------------------------ */

/* A name fit for EHLO: LDH labels of 1..63, at least two of them, 253
 * octets at most. Anything else (a bare host name, "localhost", junk from
 * /etc/hosts) falls back to the address literal. */
static int is_fqdn(const char *s)
{
    size_t len = strlen(s), label = 0, dots = 0;
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            dots++;
            continue;
        }
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 (ch == '-' && label > 0);
        if (!ok || ++label > 63)
            return 0;
    }
    return dots > 0 && label > 0 && s[len - 1] != '-';
}

static int canonical_fqdn(char *name, size_t cap)
{
    char host[256];
    struct addrinfo hints, *res = NULL;
    if (gethostname(host, sizeof host) != 0)
        return 0;
    host[sizeof host - 1] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_CANONNAME;
    hints.ai_socktype = SOCK_STREAM;
    const char *pick = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) == 0 && res && res->ai_canonname && is_fqdn(res->ai_canonname))
        pick = res->ai_canonname;
    else if (is_fqdn(host))
        pick = host;
    int ok = pick && strlen(pick) < cap;
    if (ok)
        memcpy(name, pick, strlen(pick) + 1);
    if (res)
        freeaddrinfo(res);
    return ok;
}

static mailout_status address_literal(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN];
    const char *tag = ""; /* RFC 5321 §4.1.3: "IPv6:" before IPv6 literals */
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return MAILOUT_E_IO;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof ip);
        } else {
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            tag = "IPv6:";
        }
    } else {
        return MAILOUT_E_IO;
    }
    char lit[INET6_ADDRSTRLEN + 8];
    int n = snprintf(lit, sizeof lit, "[%s%s]", tag, ip);
    if (n < 0 || (size_t)n >= cap)
        return MAILOUT_E_LIMIT;
    memcpy(buf, lit, (size_t)n + 1);
    return MAILOUT_OK;
}

mailout_status mailout_tcp_ehlo_name(const mailout_tcp *c, char *buf, size_t cap)
{
    char name[256];
    if (!c || !buf || cap == 0)
        return MAILOUT_E_INVAL;
    if (c->fd < 0)
        return MAILOUT_E_STATE;
    if (canonical_fqdn(name, sizeof name)) {
        size_t len = strlen(name);
        if (len >= cap)
            return MAILOUT_E_LIMIT;
        memcpy(buf, name, len + 1);
        return MAILOUT_OK;
    }
    return address_literal(c->fd, buf, cap);
}
