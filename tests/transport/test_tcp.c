/* POSIX TCP transport: connect (addresses, timeouts, happy eyeballs),
 * arguments, EHLO name, allocator. Peers are sockets of this process on
 * 127.0.0.1 / ::1, port 0. I/O on a connection: test_tcp_io.c. */
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

#include "tcptest.h"

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
    cfg.nonblocking = 3; /* no such mode */
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, &cfg, NULL, &t));
    cfg.nonblocking = -1;
    assert_status(MAILOUT_E_INVAL, mailout_tcp_open(&c, &cfg, NULL, &t));
    cfg.nonblocking = MAILOUT_TCP_BLOCKING;
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
        cmocka_unit_test(test_ehlo_name),
        cmocka_unit_test(test_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
