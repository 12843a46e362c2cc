/* POSIX TCP transport: I/O on a connection in each mode (blocking,
 * non-blocking, send-waits): timeouts, peer close, SIGPIPE, waiting for
 * room, signals. Peers are sockets of this process on 127.0.0.1. */
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
static void send_waits_for_room(int mode)
{
    enum { TOTAL = 8 << 20, CHUNK = 65536 };
    pair p;
    open_pair(&p, mode, 10000);
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

static void test_blocking_send_waits_for_room(void **state)
{
    (void)state;
    send_waits_for_room(MAILOUT_TCP_BLOCKING);
}

/* Send-waits mode (mailout_send): sends as in blocking mode, ... */
static void test_send_waits_mode_send(void **state)
{
    (void)state;
    send_waits_for_room(MAILOUT_TCP_SEND_WAITS);
}

/* ... while recv never waits (whatever io_timeout_ms says) and a timed
 * out send leaves the connection usable. */
static void test_send_waits_mode_recv(void **state)
{
    (void)state;
    pair p;
    unsigned char buf[16];
    open_pair(&p, MAILOUT_TCP_SEND_WAITS, 300);
    uint64_t t0 = mono_ms();
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), 0);
    assert_true(mono_ms() - t0 < 100);
    assert_status(MAILOUT_E_TIMEOUT, p.t.wait(p.t.ctx, MAILOUT_WANT_READ, 50));
    assert_int_equal(send(p.sfd, "250 ok\r\n", 8, 0), 8);
    assert_status(MAILOUT_OK, p.t.wait(p.t.ctx, MAILOUT_WANT_READ, 2000));
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), 8);
    assert_bytes_equal("250 ok\r\n", 8, buf, 8);
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), 0);

    /* the peer does not read: a send waits io_timeout_ms for room */
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
    assert_true(total > 0);
    assert_int_equal(send(p.sfd, "x", 1, 0), 1);
    assert_status(MAILOUT_OK, p.t.wait(p.t.ctx, MAILOUT_WANT_READ, 2000));
    assert_int_equal(p.t.recv(p.t.ctx, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 'x');
    close_pair(&p);
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
        cmocka_unit_test(test_io_timeout),
        cmocka_unit_test(test_signals_do_not_extend_timeouts),
        cmocka_unit_test(test_peer_close),
        cmocka_unit_test(test_no_sigpipe),
        cmocka_unit_test(test_nonblocking),
        cmocka_unit_test(test_blocking_send_waits_for_room),
        cmocka_unit_test(test_send_waits_mode_send),
        cmocka_unit_test(test_send_waits_mode_recv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
