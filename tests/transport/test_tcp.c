/* POSIX TCP transport: connect, timeouts, close, non-blocking mode, EHLO
 * name. Peers are sockets of this process on 127.0.0.1 / ::1, port 0. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "transport/transport_internal.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A socket bound to the loopback of @p family, port 0; listening when
 * backlog >= 0. Returns -1 if the family has no loopback here. */
static int loopback_socket(int family, int backlog, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || (backlog >= 0 && listen(fd, backlog) != 0)) {
        close(fd);
        return -1;
    }
    len = sizeof ss;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static int accept_within(int lfd, int ms)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN, .revents = 0};
    assert_int_equal(poll(&p, 1, ms), 1);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

static void read_exact(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = recv(fd, buf + got, len - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
}

static mailout_status open_tcp(const char *host, uint16_t port, int family, mailout_tcp **c, mailout_transport *t)
{
    mailout_tcp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = host;
    cfg.port = port;
    cfg.family = family;
    cfg.connect_timeout_ms = 3000;
    cfg.io_timeout_ms = 3000;
    return mailout_tcp_open(c, &cfg, NULL, t);
}

/* connect, then bytes both ways through the transport */
static void round_trip(const char *host, int family, int lfamily)
{
    uint16_t port;
    int lfd = loopback_socket(lfamily, 8, &port);
    assert_true(lfd >= 0);
    mailout_tcp *c = NULL;
    mailout_transport t;
    assert_status(MAILOUT_OK, open_tcp(host, port, family, &c, &t));
    assert_non_null(c);
    int sfd = accept_within(lfd, 2000);

    assert_int_equal(t.send(t.ctx, (const unsigned char *)"EHLO x\r\n", 8), 8);
    unsigned char buf[64];
    read_exact(sfd, buf, 8);
    assert_bytes_equal("EHLO x\r\n", 8, buf, 8);

    assert_int_equal(send(sfd, "250 ok\r\n", 8, 0), 8);
    size_t got = 0;
    while (got < 8) {
        ptrdiff_t n = t.recv(t.ctx, buf + got, sizeof buf - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_bytes_equal("250 ok\r\n", 8, buf, got);

    unsigned want = MAILOUT_WANT_READ;
    assert_true(t.pollfd(t.ctx, &want) >= 0);
    assert_int_equal(want, MAILOUT_WANT_READ);
    t.close(t.ctx);
    assert_int_equal(t.pollfd(t.ctx, &want), -1);
    assert_int_equal(t.send(t.ctx, buf, 1), MAILOUT_E_STATE);
    assert_int_equal(t.recv(t.ctx, buf, 1), MAILOUT_E_STATE);
    mailout_tcp_free(c);
    close(sfd);
    close(lfd);
}

static void test_connect_v4(void **state)
{
    (void)state;
    round_trip("127.0.0.1", 0, AF_INET);
    round_trip("127.0.0.1", 4, AF_INET);
}

static void test_connect_v6(void **state)
{
    (void)state;
    uint16_t port;
    int probe = loopback_socket(AF_INET6, -1, &port);
    if (probe < 0) {
        /* Only a machine without ::1 may skip; one that has it must pass. */
        print_message("no IPv6 loopback configured here; IPv6 connect not tested\n");
        skip();
    }
    close(probe);
    round_trip("::1", 0, AF_INET6);
    round_trip("::1", 6, AF_INET6);
}

static void test_connect_name(void **state)
{
    (void)state;
    /* "localhost" may resolve to ::1 first; that attempt is refused and
     * the IPv4 one must still win. */
    round_trip("localhost", 0, AF_INET);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    mailout_tcp *c = (mailout_tcp *)(uintptr_t)1;
    mailout_transport t;
    mailout_tcp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.port = 25;
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, &cfg, NULL, &t)); /* no host */
    cfg.host = "";
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, &cfg, NULL, &t));
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, &cfg, NULL, &t));
    cfg.port = 25;
    cfg.family = 5;
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, &cfg, NULL, &t));
    cfg.family = 0;
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(NULL, &cfg, NULL, &t));
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, NULL, NULL, &t));
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, &cfg, NULL, NULL));
    assert_ptr_equal(c, (mailout_tcp *)(uintptr_t)1); /* untouched on failure */
    mailout_tcp_free(NULL);
}

static void test_refused(void **state)
{
    (void)state;
    uint16_t port;
    int bfd = loopback_socket(AF_INET, -1, &port); /* bound, not listening: RST */
    assert_true(bfd >= 0);
    mailout_tcp *c = (mailout_tcp *)(uintptr_t)1;
    mailout_transport t;
    uint64_t t0 = mono_ms();
    assert_status(MAILOUT_E_CONNECT, open_tcp("127.0.0.1", port, 0, &c, &t));
    assert_true(mono_ms() - t0 < 1000);
    assert_ptr_equal(c, (mailout_tcp *)(uintptr_t)1);
    close(bfd);
}

static void test_unresolvable(void **state)
{
    (void)state;
    mailout_tcp *c = NULL;
    mailout_transport t;
    assert_status(MAILOUT_E_RESOLVE, open_tcp("nonexistent.invalid", 25, 0, &c, &t));
    assert_null(c);
    /* An IPv4 literal cannot be had as IPv6. */
    assert_status(MAILOUT_E_RESOLVE, open_tcp("127.0.0.1", 25, 6, &c, &t));
    assert_null(c);
}

/* A listener whose accept queue is full: further SYNs are dropped, so a
 * connect to it hangs until its deadline. Fills the queue with
 * connections in *fillers (closed by the caller). */
static int blackhole(uint16_t *port, int *fillers, int max)
{
    int lfd = loopback_socket(AF_INET, 0, port);
    assert_true(lfd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(*port);
    for (int i = 0; i < max; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fillers[i] >= 0);
        (void)connect(fillers[i], (struct sockaddr *)&a, sizeof a);
        struct pollfd p = {.fd = fillers[i], .events = POLLOUT, .revents = 0};
        if (poll(&p, 1, 100) == 0) {
            /* this one hangs: the queue is full */
            for (int j = i + 1; j < max; j++)
                fillers[j] = -1;
            return lfd;
        }
    }
    fail_msg("could not fill the accept queue of a listener");
    return -1;
}

static void close_fillers(int *fillers, int n)
{
    for (int i = 0; i < n; i++) {
        if (fillers[i] >= 0)
            close(fillers[i]);
    }
}

static void test_connect_timeout(void **state)
{
    (void)state;
    uint16_t port;
    int fillers[16];
    int lfd = blackhole(&port, fillers, 16);
    mailout_tcp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.connect_timeout_ms = 300;
    mailout_tcp *c = NULL;
    mailout_transport t;
    uint64_t t0 = mono_ms();
    assert_status(MAILOUT_E_TIMEOUT, mailout_tcp_open(&c, &cfg, NULL, &t));
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 290);
    assert_true(took < 1500);
    assert_null(c);
    close_fillers(fillers, 16);
    close(lfd);
}

/* Happy eyeballs on hand-made address lists. */
static struct addrinfo *make_ai(int family, uint16_t port, struct addrinfo *next)
{
    struct addrinfo *ai = calloc(1, sizeof *ai);
    assert_non_null(ai);
    ai->ai_family = family;
    ai->ai_socktype = SOCK_STREAM;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = calloc(1, sizeof *a);
        assert_non_null(a);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons(port);
        ai->ai_addr = (struct sockaddr *)a;
        ai->ai_addrlen = sizeof *a;
    } else {
        struct sockaddr_in *a = calloc(1, sizeof *a);
        assert_non_null(a);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons(port);
        ai->ai_addr = (struct sockaddr *)a;
        ai->ai_addrlen = sizeof *a;
    }
    ai->ai_next = next;
    return ai;
}

static void free_ai(struct addrinfo *ai)
{
    while (ai) {
        struct addrinfo *next = ai->ai_next;
        free(ai->ai_addr);
        free(ai);
        ai = next;
    }
}

static int peer_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    assert_int_equal(getpeername(fd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void test_happy_eyeballs(void **state)
{
    (void)state;
    uint16_t hole, good, refused;
    int fillers[16];
    int hfd = blackhole(&hole, fillers, 16);
    int gfd = loopback_socket(AF_INET, 8, &good);
    int rfd = loopback_socket(AF_INET, -1, &refused);
    assert_true(gfd >= 0 && rfd >= 0);
    int fd = -1;

    /* first address hangs: the second starts after the head start */
    struct addrinfo *list = make_ai(AF_INET, hole, make_ai(AF_INET, good, NULL));
    uint64_t t0 = mono_ms();
    assert_status(MAILOUT_OK, mailout_tcp_connect_list(list, 5000, 250, &fd));
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 240);
    assert_true(took < 2000);
    assert_int_equal(peer_port(fd), good);
    close(fd);
    free_ai(list);

    /* first address refused: the next one starts at once */
    list = make_ai(AF_INET, refused, make_ai(AF_INET, good, NULL));
    t0 = mono_ms();
    assert_status(MAILOUT_OK, mailout_tcp_connect_list(list, 5000, 1000, &fd));
    assert_true(mono_ms() - t0 < 900);
    assert_int_equal(peer_port(fd), good);
    close(fd);
    free_ai(list);

    /* all refused */
    list = make_ai(AF_INET, refused, make_ai(AF_INET, refused, NULL));
    assert_status(MAILOUT_E_CONNECT, mailout_tcp_connect_list(list, 5000, 250, &fd));
    free_ai(list);

    /* all hang: the deadline wins */
    list = make_ai(AF_INET, hole, make_ai(AF_INET, hole, NULL));
    t0 = mono_ms();
    assert_status(MAILOUT_E_TIMEOUT, mailout_tcp_connect_list(list, 400, 100, &fd));
    took = mono_ms() - t0;
    assert_true(took >= 390 && took < 1500);
    free_ai(list);

    /* families alternate: v4 hole, v4 hole, v6 good. The v6 address is
     * second in line (RFC 8305 interleaving), so it wins after one head
     * start, not two. */
    uint16_t good6;
    int g6 = loopback_socket(AF_INET6, 8, &good6);
    if (g6 >= 0) {
        list = make_ai(AF_INET, hole, make_ai(AF_INET, hole, make_ai(AF_INET6, good6, NULL)));
        t0 = mono_ms();
        assert_status(MAILOUT_OK, mailout_tcp_connect_list(list, 5000, 300, &fd));
        took = mono_ms() - t0;
        assert_true(took >= 290 && took < 590);
        assert_int_equal(peer_port(fd), good6);
        close(fd);
        free_ai(list);
        close(g6);
    }
    assert_status(MAILOUT_E_CONNECT, mailout_tcp_connect_list(NULL, 100, 100, &fd));
    close_fillers(fillers, 16);
    close(hfd);
    close(gfd);
    close(rfd);
}

typedef struct pair {
    int lfd, sfd;
    mailout_tcp *c;
    mailout_transport t;
} pair;

static void open_pair(pair *p, int nonblocking, uint32_t io_ms)
{
    uint16_t port;
    p->lfd = loopback_socket(AF_INET, 8, &port);
    assert_true(p->lfd >= 0);
    mailout_tcp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.io_timeout_ms = io_ms;
    cfg.nonblocking = nonblocking;
    assert_status(MAILOUT_OK, mailout_tcp_open(&p->c, &cfg, NULL, &p->t));
    p->sfd = accept_within(p->lfd, 2000);
}

static void close_pair(pair *p)
{
    mailout_tcp_free(p->c);
    if (p->sfd >= 0)
        close(p->sfd);
    close(p->lfd);
}

static void test_io_timeout(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, 0, 200);
    unsigned char buf[16];
    uint64_t t0 = mono_ms();
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), MAILOUT_E_TIMEOUT);
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 190 && took < 1500);

    /* The peer does not read: sends fill the buffers, then time out. */
    static unsigned char chunk[65536];
    ptrdiff_t r = 0;
    size_t total = 0;
    while (total < (256u << 20)) {
        r = p.t.send(p.t.ctx, chunk, sizeof chunk);
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    assert_int_equal(r, MAILOUT_E_TIMEOUT);
    /* after a timeout the connection still works */
    assert_int_equal(send(p.sfd, "x", 1, 0), 1);
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 'x');
    close_pair(&p);
}

static void test_peer_close(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, 0, 2000);
    unsigned char buf[16];
    assert_int_equal(send(p.sfd, "bye", 3, 0), 3);
    close(p.sfd);
    p.sfd = -1;
    ptrdiff_t n = p.t.recv(p.t.ctx, buf, sizeof buf);
    assert_int_equal(n, 3);
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), MAILOUT_E_CLOSED);
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), MAILOUT_E_CLOSED);
    close_pair(&p);
}

static void test_no_sigpipe(void **state)
{
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL; /* a SIGPIPE would kill the test */
    sigaction(SIGPIPE, &sa, &old);
    pair p;
    open_pair(&p, 0, 2000);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(p.sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(p.sfd); /* RST */
    p.sfd = -1;
    usleep(50 * 1000);
    ptrdiff_t r = 1;
    for (int i = 0; i < 100 && r > 0; i++)
        r = p.t.send(p.t.ctx, (const unsigned char *)"DATA\r\n", 6);
    assert_int_equal(r, MAILOUT_E_CLOSED);
    r = p.t.send(p.t.ctx, (const unsigned char *)"DATA\r\n", 6);
    assert_int_equal(r, MAILOUT_E_CLOSED); /* EPIPE now, still no signal */
    close_pair(&p);
    sigaction(SIGPIPE, &old, NULL);
}

static void test_nonblocking(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, 1, 100000);
    unsigned char buf[16];
    uint64_t t0 = mono_ms();
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), 0);
    assert_true(mono_ms() - t0 < 100);
    assert_status(MAILOUT_E_TIMEOUT, p.t.wait(p.t.ctx, MAILOUT_WANT_READ, 100));
    assert_status(MAILOUT_E_INVAL, p.t.wait(p.t.ctx, 0, 100));
    assert_int_equal(send(p.sfd, "250 ok\r\n", 8, 0), 8);
    assert_status(MAILOUT_OK, p.t.wait(p.t.ctx, MAILOUT_WANT_READ, 2000));
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), 8);
    assert_bytes_equal("250 ok\r\n", 8, buf, 8);

    /* fill the send buffers: 0, never an error, never a wait */
    static unsigned char chunk[65536];
    ptrdiff_t r = 1;
    size_t total = 0;
    while (r > 0 && total < (256u << 20)) {
        r = p.t.send(p.t.ctx, chunk, sizeof chunk);
        if (r > 0)
            total += (size_t)r;
    }
    assert_int_equal(r, 0);
    assert_true(total > 0);
    assert_status(MAILOUT_E_TIMEOUT, p.t.wait(p.t.ctx, MAILOUT_WANT_WRITE, 50));
    /* drain on the server side: writable again */
    static unsigned char sink[1 << 16];
    size_t drained = 0;
    while (drained < total) {
        ssize_t n = recv(p.sfd, sink, sizeof sink, 0);
        assert_true(n > 0);
        drained += (size_t)n;
    }
    assert_status(MAILOUT_OK, p.t.wait(p.t.ctx, MAILOUT_WANT_WRITE, 2000));
    assert_true(p.t.send(p.t.ctx, chunk, 10) == 10);
    close_pair(&p);
}

static unsigned char pattern_byte(size_t i)
{
    return (unsigned char)(i * 7u + i / 251u);
}

/* Blocking mode with a peer that starts reading late: sends fill the
 * socket (buffers made small, 16 KiB, and each call 4 times that), then
 * wait for room and go on; every call takes ALL its bytes (a blocking
 * socket: no short writes, so no extra call for a rest) and the peer
 * receives exactly the stream, in order. The peer is a child process that
 * checks the bytes and exits 0. How long a call waited is not asserted:
 * on a loaded machine the reader may be running before the first send. */
static void test_blocking_send_waits_for_room(void **state)
{
    (void)state;
    enum { TOTAL = 8 << 20, CHUNK = 65536 };
    pair p;
    open_pair(&p, 0, 10000);
    int small = 16384;
    unsigned w0 = 0;
    assert_int_equal(setsockopt(p.sfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    assert_int_equal(setsockopt(p.t.pollfd(p.t.ctx, &w0), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static unsigned char in[65536];
        size_t got = 0;
        int bad = 0;
        unsigned w = 0;
        close(p.lfd);
        close(p.t.pollfd(p.t.ctx, &w)); /* the client end: else no EOF */
        usleep(200 * 1000); /* let the sender fill the buffers first */
        while (got < TOTAL) {
            ssize_t n = recv(p.sfd, in, sizeof in, 0);
            if (n <= 0)
                _exit(2);
            for (ssize_t i = 0; i < n; i++)
                bad |= in[i] != pattern_byte(got + (size_t)i);
            got += (size_t)n;
        }
        _exit(bad ? 1 : (recv(p.sfd, in, 1, 0) == 0 ? 0 : 3));
    }
    close(p.sfd);
    p.sfd = -1;
    static unsigned char out[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        out[i] = pattern_byte(i);
    size_t off = 0;
    while (off < TOTAL) {
        size_t len = TOTAL - off < CHUNK ? TOTAL - off : CHUNK;
        ptrdiff_t n = p.t.send(p.t.ctx, out + off, len);
        assert_int_equal(n, (ptrdiff_t)len);
        off += (size_t)n;
    }
    p.t.close(p.t.ctx);
    int status = -1;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close_pair(&p);
}

static int is_ldh_fqdn(const char *s)
{
    if (!strchr(s, '.') || s[0] == '.' || s[0] == '[')
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static void test_ehlo_name(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, 0, 2000);
    char v4[300], small[4];
    assert_status(MAILOUT_OK, mailout_tcp_ehlo_name(p.c, v4, sizeof v4));
    assert_status(MAILOUT_E_LIMIT, mailout_tcp_ehlo_name(p.c, small, sizeof small));
    assert_status(MAILOUT_E_INVAL, mailout_tcp_ehlo_name(p.c, NULL, 10));
    close_pair(&p);

    uint16_t port;
    int lfd = loopback_socket(AF_INET6, 8, &port);
    if (lfd < 0) {
        assert_true(strcmp(v4, "[127.0.0.1]") == 0 || is_ldh_fqdn(v4));
        return;
    }
    mailout_tcp *c;
    mailout_transport t;
    assert_status(MAILOUT_OK, open_tcp("::1", port, 6, &c, &t));
    char v6[300];
    assert_status(MAILOUT_OK, mailout_tcp_ehlo_name(c, v6, sizeof v6));
    if (strcmp(v4, v6) == 0) {
        /* the machine has an FQDN: the same for both connections */
        assert_true(is_ldh_fqdn(v4));
    } else {
        /* no FQDN: the local address literal of each connection */
        assert_string_equal(v4, "[127.0.0.1]");
        assert_string_equal(v6, "[IPv6:::1]");
    }
    t.close(t.ctx);
    assert_status(MAILOUT_E_STATE, mailout_tcp_ehlo_name(c, v6, sizeof v6));
    mailout_tcp_free(c);
    int sfd = accept(lfd, NULL, NULL);
    if (sfd >= 0)
        close(sfd);
    close(lfd);
}

/* Memory comes from the caller's allocator, and goes back to it. */
typedef struct counting {
    int allocs, releases, fail;
    size_t live;
} counting;

static void *count_alloc(void *ctx, size_t size)
{
    counting *k = ctx;
    if (k->fail)
        return NULL;
    k->allocs++;
    k->live += size;
    return malloc(size);
}

static void count_release(void *ctx, void *ptr, size_t size)
{
    counting *k = ctx;
    k->releases++;
    k->live -= size;
    free(ptr);
}

static void test_allocator(void **state)
{
    (void)state;
    counting k = {0, 0, 0, 0};
    mailout_allocator al = {count_alloc, count_release, &k};
    uint16_t port;
    int lfd = loopback_socket(AF_INET, 8, &port);
    mailout_tcp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "127.0.0.1";
    cfg.port = port;
    mailout_tcp *c = NULL;
    mailout_transport t;
    assert_status(MAILOUT_OK, mailout_tcp_open(&c, &cfg, &al, &t));
    assert_int_equal(k.allocs, 1);
    mailout_tcp_free(c);
    assert_int_equal(k.releases, 1);
    assert_int_equal(k.live, 0);

    int bfd = loopback_socket(AF_INET, -1, &cfg.port); /* refused */
    assert_status(MAILOUT_E_CONNECT, mailout_tcp_open(&c, &cfg, &al, &t));
    assert_int_equal(k.allocs, 2);
    assert_int_equal(k.releases, 2);
    k.fail = 1;
    assert_status(MAILOUT_E_NOMEM, mailout_tcp_open(&c, &cfg, &al, &t));
    close(bfd);
    close(lfd);
}

/* ---- signals must not stretch a blocking call ---------------------------- */

static volatile sig_atomic_t alarm_ticks;
static volatile sig_atomic_t rescue_at; /* tick at which the handler unblocks the call */
static volatile int rescue_fd = -1;
static volatile sig_atomic_t rescue_send; /* 1: reset the connection; 0: write a byte */
static volatile sig_atomic_t rescued;

/* Does nothing for the call under test (SA_RESTART off: the call sees
 * EINTR). Only after rescue_at ticks, long after any timeout, it ends a
 * call that would otherwise wait forever, so a failing test ends. */
static void on_alarm(int sig)
{
    (void)sig;
    alarm_ticks++;
    if (alarm_ticks == rescue_at && rescue_fd >= 0 && !rescued) {
        rescued = 1;
        if (rescue_send)
            close(rescue_fd); /* SO_LINGER 0: a reset */
        else
            (void)write(rescue_fd, "x", 1);
    }
}

static void test_signals_do_not_extend_timeouts(void **state)
{
    (void)state;
    pair p;
    struct sigaction sa, old_sa;
    struct itimerval it, old_it;
    struct linger lg = {1, 0};
    static unsigned char chunk[65536];
    unsigned char buf[16];
    uint64_t t0, took, longest = 0;
    ptrdiff_t r = 0;
    size_t total = 0;

    open_pair(&p, 0, 500);
    assert_true(p.sfd >= 0);
    assert_int_equal(setsockopt(p.sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART */
    assert_int_equal(sigaction(SIGALRM, &sa, &old_sa), 0);
    memset(&it, 0, sizeof it);
    it.it_interval.tv_usec = 100000;
    it.it_value.tv_usec = 100000;
    rescue_fd = p.sfd;
    rescue_send = 0;
    rescued = 0;
    alarm_ticks = 0;
    rescue_at = 40; /* 4 s */
    assert_int_equal(setitimer(ITIMER_REAL, &it, &old_it), 0);

    /* recv: nothing comes */
    t0 = mono_ms();
    r = p.t.recv(p.t.ctx, buf, sizeof buf);
    took = mono_ms() - t0;
    int recv_ticks = alarm_ticks;

    /* send: the peer does not read */
    if (r == MAILOUT_E_TIMEOUT) {
        alarm_ticks = 0;
        rescue_send = 1;
        while (total < (256u << 20)) {
            uint64_t t1 = mono_ms();
            r = p.t.send(p.t.ctx, chunk, sizeof chunk);
            uint64_t d = mono_ms() - t1;
            if (d > longest)
                longest = d;
            if (r <= 0)
                break;
            total += (size_t)r;
        }
    }
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    sigaction(SIGALRM, &old_sa, NULL);
    setitimer(ITIMER_REAL, &old_it, NULL);
    if (rescued && rescue_send)
        p.sfd = -1; /* closed by the handler */
    rescue_fd = -1;

    assert_false(rescued);
    assert_true(recv_ticks >= 3); /* the signals did interrupt the wait */
    assert_true(took >= 490 && took < 800);
    assert_int_equal(r, MAILOUT_E_TIMEOUT);
    assert_true(longest >= 490 && longest < 800); /* the call that filled the buffers */
    assert_true(alarm_ticks >= 3);
    close_pair(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_v4),
        cmocka_unit_test(test_connect_v6),
        cmocka_unit_test(test_connect_name),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_unresolvable),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_happy_eyeballs),
        cmocka_unit_test(test_io_timeout),
        cmocka_unit_test(test_signals_do_not_extend_timeouts),
        cmocka_unit_test(test_peer_close),
        cmocka_unit_test(test_no_sigpipe),
        cmocka_unit_test(test_nonblocking),
        cmocka_unit_test(test_blocking_send_waits_for_room),
        cmocka_unit_test(test_ehlo_name),
        cmocka_unit_test(test_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
