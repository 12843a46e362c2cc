/*
 * Both drivers over TLS (STARTTLS and implicit) against the scripted peer
 * (tests/peer/peer.py) with the throw-away test CA, over the library's TCP
 * transport and over a lower transport that says "would block" on every
 * other call: the peer must receive exactly the expected bytes (it records
 * them decrypted), and TLS failures end the session at stage TLS.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctest.h"
#include "peer_run.h"
#include "srv.h"
#include "testutil.h"

#include <mailout/client.h>

static const char *const rcpt1[] = {"b@y.test"};

static const char body_text[] = "Subject: over TLS\r\n"
                                "\r\n"
                                ".starts with a dot\r\n"
                                "end\r\n";

typedef struct tls_fx {
    char dir[64];
    char rec[128];
    char certs[512];
    char cafile[600];
    char *data; /* DATA bytes of body_text */
    char script[32768];
} tls_fx;

static int setup(void **state)
{
    tls_fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/mailout-client-tls-XXXXXX");
    if (!mkdtemp(f->dir) || peer_certs_dir(f->certs, sizeof f->certs) != 0) {
        free(f);
        return -1;
    }
    snprintf(f->rec, sizeof f->rec, "%s/rec", f->dir);
    snprintf(f->cafile, sizeof f->cafile, "%s/ca.pem", f->certs);
    f->data = ct_stuff(body_text);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    tls_fx *f = *state;
    char path[192];
    snprintf(path, sizeof path, "%s.json", f->rec);
    unlink(path);
    unlink(f->rec);
    rmdir(f->dir);
    free(f->data);
    free(f);
    return 0;
}

static void json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 8 < cap; s++) {
        if (*s == '\r') {
            o += (size_t)snprintf(out + o, cap - o, "\\r");
        } else if (*s == '\n') {
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        } else if (*s == '"' || *s == '\\') {
            out[o++] = '\\';
            out[o++] = *s;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

/*
 * A whole script: @p before (the steps up to and including the EHLO over
 * TLS), then @p jobs transactions (RSET between them), QUIT, EOF.
 */
static const char *make_script(tls_fx *f, const char *before, int jobs)
{
    char esc[8192];
    size_t o;

    json_escape(esc, sizeof esc, f->data);
    o = (size_t)snprintf(f->script, sizeof f->script, "[%s", before);
    for (int j = 0; j < jobs; j++) {
        if (j)
            o += (size_t)snprintf(f->script + o, sizeof f->script - o,
                                  ",{\"expect_line\": \"RSET\\r\\n\", \"reply\": \"250 ok\\r\\n\"}");
        o += (size_t)snprintf(f->script + o, sizeof f->script - o,
                              ",{\"expect_line\": \"MAIL FROM:<a@x.test>\\r\\n\", \"reply\": \"250 ok\\r\\n\"}"
                              ",{\"expect_line\": \"RCPT TO:<b@y.test>\\r\\n\", \"reply\": \"250 ok\\r\\n\"}"
                              ",{\"expect_line\": \"DATA\\r\\n\", \"reply\": \"354 go\\r\\n\"}"
                              ",{\"expect_data\": true, \"data\": \"%s\", \"reply\": \"250 queued\\r\\n\"}",
                              esc);
    }
    snprintf(f->script + o, sizeof f->script - o,
             ",{\"expect_line\": \"QUIT\\r\\n\", \"reply\": \"221 bye\\r\\n\"},{\"expect_eof\": true}]");
    return f->script;
}

#define STARTTLS_STEPS                                                                                    \
    "{\"send\": \"220 peer ESMTP\\r\\n\"},"                                                             \
    "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": \"250-peer\\r\\n250 STARTTLS\\r\\n\"},"  \
    "{\"expect_line\": \"STARTTLS\\r\\n\", \"reply\": \"220 2.0.0 go\\r\\n\"},"                         \
    "{\"starttls\": true, \"expect_sni\": \"localhost\"},"                                              \
    "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": \"250 peer\\r\\n\"}"

#define IMPLICIT_STEPS                                                                                    \
    "{\"starttls\": true, \"expect_sni\": \"localhost\"},"                                              \
    "{\"send\": \"220 peer ESMTP\\r\\n\"},"                                                             \
    "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": \"250 peer\\r\\n\"}"

static void expect_record(const tls_fx *f, const char *prefix, int jobs)
{
    char *got = malloc(65536);
    char *exp = malloc(65536);
    long len;

    assert_non_null(got);
    assert_non_null(exp);
    len = peer_read_file(f->rec, got, 65536);
    assert_true(len >= 0);
    strcpy(exp, prefix);
    for (int j = 0; j < jobs; j++) {
        if (j)
            strcat(exp, "RSET\r\n");
        strcat(exp, "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
        strcat(exp, f->data);
    }
    strcat(exp, "QUIT\r\n");
    assert_bytes_equal(exp, strlen(exp), got, (size_t)len);
    free(exp);
    free(got);
}

static void wait_peer_ok(peer_handle *h)
{
    int st = -1;
    assert_int_equal(peer_wait(h, &st), 0);
    assert_int_equal(st, PEER_EXIT_OK);
}

static uint64_t clock_ms(void *ctx)
{
    (void)ctx;
    return srv_now_ms();
}

static mailout_job make_job(ct_body *b)
{
    mailout_job job;
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpt1;
    job.rcpt_count = 1;
    job.body = ct_body_source(b, body_text, 0, 0);
    return job;
}

static mailout_smtp_config smtp_cfg(mailout_tls_policy pol)
{
    mailout_smtp_config sc;
    memset(&sc, 0, sizeof sc);
    sc.ehlo_name = "client.test";
    sc.tls = pol;
    sc.timeout_ms = 10000;
    return sc;
}

static mailout_tls_config tls_cfg(const tls_fx *f)
{
    mailout_tls_config tls;
    memset(&tls, 0, sizeof tls);
    tls.server_name = "localhost";
    tls.ca_file = f->cafile;
    return tls;
}

static mailout_tcp *tcp_to(unsigned short port, mailout_transport *t)
{
    mailout_tcp_config tc;
    mailout_tcp *tcp = NULL;
    memset(&tc, 0, sizeof tc);
    tc.host = "127.0.0.1";
    tc.port = port;
    tc.connect_timeout_ms = 5000;
    tc.nonblocking = 1;
    assert_status(MAILOUT_OK, mailout_tcp_open(&tcp, &tc, NULL, t));
    return tcp;
}

/* A plain socket to the peer, for the flaky test transport. */
static int socket_to(unsigned short port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/*
 * Drive a non-blocking client with poll() until the job is done and the
 * session has ended after QUIT. Returns the first negative step status, or
 * MAILOUT_DONE.
 */
static mailout_status superloop(mailout_client *c)
{
    int quit = 0;
    for (int i = 0; i < 200000; i++) {
        mailout_status r = mailout_client_step(c, srv_now_ms());
        struct pollfd p;
        unsigned want = 0;
        uint64_t dl;
        if (r < 0)
            return r;
        if (r == MAILOUT_DONE && !quit) {
            if (mailout_client_result(c)->status != MAILOUT_OK)
                return mailout_client_result(c)->status;
            assert_status(MAILOUT_OK, mailout_client_quit(c));
            quit = 1;
            continue;
        }
        if (r == MAILOUT_DONE)
            return r;
        assert_status(MAILOUT_AGAIN, r);
        p.fd = mailout_client_pollfd(c, &want);
        assert_true(p.fd >= 0);
        assert_true(want != 0);
        p.events = (short)(((want & MAILOUT_WANT_READ) ? POLLIN : 0) | ((want & MAILOUT_WANT_WRITE) ? POLLOUT : 0));
        p.revents = 0;
        dl = mailout_client_deadline(c);
        assert_true(dl != UINT64_MAX);
        assert_true(poll(&p, 1, 100) >= 0);
    }
    fail_msg("the client never finished");
    return MAILOUT_E_INTERNAL;
}

/* The non-blocking driver over non-blocking TCP through STARTTLS: the
 * handshake runs in steps, pollfd follows it. */
static void test_client_starttls(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config sc = smtp_cfg(MAILOUT_TLS_REQUIRED);
    mailout_tls_config tls = tls_cfg(f);
    mailout_allocator heap = mailout_heap_allocator();
    mailout_client *c = NULL;
    ct_body b;
    mailout_job job = make_job(&b);

    assert_int_equal(peer_start_script(make_script(f, STARTTLS_STEPS, 1), f->rec, &port, &h), 0);
    tcp = tcp_to(port, &t);
    assert_status(MAILOUT_OK, mailout_client_new(&c, &t, &sc, &tls, &heap));
    assert_status(MAILOUT_OK, mailout_client_submit(c, &job));
    assert_status(MAILOUT_DONE, superloop(c));
    mailout_client_free(c);
    mailout_tcp_free(tcp);
    wait_peer_ok(&h);
    expect_record(f, "EHLO client.test\r\nSTARTTLS\r\nEHLO client.test\r\n", 1);
}

/* The non-blocking driver, implicit TLS, over a lower transport that says
 * "would block" every other call and moves 1..7 bytes otherwise. */
static void test_client_implicit_flaky(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    ct_flaky fl;
    mailout_transport t;
    mailout_smtp_config sc = smtp_cfg(MAILOUT_TLS_IMPLICIT);
    mailout_tls_config tls = tls_cfg(f);
    mailout_allocator heap = mailout_heap_allocator();
    mailout_client *c = NULL;
    ct_body b;
    mailout_job job = make_job(&b);
    int fd;

    assert_int_equal(peer_start_script(make_script(f, IMPLICIT_STEPS, 1), f->rec, &port, &h), 0);
    fd = socket_to(port);
    t = ct_flaky_transport(&fl, fd, 77, 7);
    assert_status(MAILOUT_OK, mailout_client_new(&c, &t, &sc, &tls, &heap));
    assert_status(MAILOUT_OK, mailout_client_submit(c, &job));
    assert_status(MAILOUT_DONE, superloop(c));
    mailout_client_free(c);
    close(fd);
    wait_peer_ok(&h);
    expect_record(f, "EHLO client.test\r\n", 1);
    assert_true(fl.send_zero > 0 && fl.recv_zero > 0);
}

/* The blocking driver over a caller's transport, implicit TLS, two jobs. */
static void test_jobs_implicit(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config sc = smtp_cfg(MAILOUT_TLS_IMPLICIT);
    mailout_tls_config tls = tls_cfg(f);
    ct_body b1, b2;
    mailout_job jobs[2];
    mailout_result res[2];

    jobs[0] = make_job(&b1);
    jobs[1] = make_job(&b2);
    assert_int_equal(peer_start_script(make_script(f, IMPLICIT_STEPS, 2), f->rec, &port, &h), 0);
    tcp = tcp_to(port, &t);
    assert_status(MAILOUT_OK, mailout_send_jobs(&t, &sc, &tls, jobs, 2, res, clock_ms, NULL));
    assert_status(MAILOUT_OK, res[0].status);
    assert_status(MAILOUT_OK, res[1].status);
    mailout_tcp_free(tcp);
    wait_peer_ok(&h);
    expect_record(f, "EHLO client.test\r\n", 2);
}

/* The blocking driver, STARTTLS over a flaky lower transport with wait(). */
static void test_jobs_starttls_flaky(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    ct_flaky fl;
    mailout_transport t;
    mailout_smtp_config sc = smtp_cfg(MAILOUT_TLS_REQUIRED);
    mailout_tls_config tls = tls_cfg(f);
    ct_body b;
    mailout_job job = make_job(&b);
    mailout_result res;
    int fd;

    assert_int_equal(peer_start_script(make_script(f, STARTTLS_STEPS, 1), f->rec, &port, &h), 0);
    fd = socket_to(port);
    t = ct_flaky_transport_wait(&fl, fd, 5, 11);
    assert_status(MAILOUT_OK, mailout_send_jobs(&t, &sc, &tls, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_OK, res.status);
    close(fd);
    wait_peer_ok(&h);
    expect_record(f, "EHLO client.test\r\nSTARTTLS\r\nEHLO client.test\r\n", 1);
    assert_true(fl.waits > 0);
}

/* An untrusted (self-signed) certificate: the queued job fails at stage
 * TLS with the verification error, and nothing follows STARTTLS. */
static void test_client_untrusted(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config sc = smtp_cfg(MAILOUT_TLS_REQUIRED);
    mailout_tls_config tls = tls_cfg(f);
    mailout_allocator heap = mailout_heap_allocator();
    mailout_client *c = NULL;
    ct_body b;
    mailout_job job = make_job(&b);
    char got[256];
    long len;
    static const char exp[] = "EHLO client.test\r\nSTARTTLS\r\n";

    assert_int_equal(peer_start_script("[{\"send\": \"220 peer ESMTP\\r\\n\"},"
                                       "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": "
                                       "\"250-peer\\r\\n250 STARTTLS\\r\\n\"},"
                                       "{\"expect_line\": \"STARTTLS\\r\\n\", \"reply\": \"220 go\\r\\n\"},"
                                       "{\"starttls\": true, \"cert\": \"selfsigned\", \"handshake\": \"fail\"},"
                                       "{\"expect_eof\": true}]",
                                       f->rec, &port, &h),
                     0);
    tcp = tcp_to(port, &t);
    assert_status(MAILOUT_OK, mailout_client_new(&c, &t, &sc, &tls, &heap));
    assert_status(MAILOUT_OK, mailout_client_submit(c, &job));
    assert_status(MAILOUT_E_TLS_VERIFY, superloop(c));
    assert_status(MAILOUT_E_TLS_VERIFY, mailout_client_result(c)->status);
    assert_int_equal(mailout_client_result(c)->stage, MAILOUT_STAGE_TLS);
    mailout_client_free(c);
    mailout_tcp_free(tcp); /* the peer sees EOF */
    wait_peer_ok(&h);
    len = peer_read_file(f->rec, got, sizeof got);
    assert_bytes_equal(exp, sizeof exp - 1, got, (size_t)len);
}

/*
 * STARTTLS hygiene: bytes that follow the 220 in the same read are an
 * attacker's (they would be taken as the first TLS reply). The session
 * fails at STARTTLS and no TLS byte (ClientHello) is sent.
 */
static void test_jobs_bytes_after_220(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config sc = smtp_cfg(MAILOUT_TLS_REQUIRED);
    mailout_tls_config tls = tls_cfg(f);
    ct_body b;
    mailout_job job = make_job(&b);
    mailout_result res;
    char got[256];
    long len;
    static const char exp[] = "EHLO client.test\r\nSTARTTLS\r\n";

    assert_int_equal(peer_start_script("[{\"send\": \"220 peer ESMTP\\r\\n\"},"
                                       "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": "
                                       "\"250-peer\\r\\n250 STARTTLS\\r\\n\"},"
                                       "{\"expect_line\": \"STARTTLS\\r\\n\"},"
                                       "{\"inject_after_220\": \"250-injected\\r\\n250 AUTH PLAIN\\r\\n\"},"
                                       "{\"expect_eof\": true}]",
                                       f->rec, &port, &h),
                     0);
    tcp = tcp_to(port, &t);
    assert_status(MAILOUT_E_PROTO, mailout_send_jobs(&t, &sc, &tls, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_E_STATE, res.status); /* never attempted */
    mailout_tcp_free(tcp);
    wait_peer_ok(&h);
    len = peer_read_file(f->rec, got, sizeof got);
    assert_bytes_equal(exp, sizeof exp - 1, got, (size_t)len);
}

/* ---- a peer that stops reading over TLS --------------------------------- */

#define STALL_T_MS 1000u

/* An endless body of 78-byte lines; remembers when it was last read. */
typedef struct stall_body {
    uint64_t last_read;
    size_t sent;
} stall_body;

static mailout_status stall_start(void *ctx, unsigned flags, uint64_t *size)
{
    (void)ctx;
    (void)flags;
    *size = 0;
    return MAILOUT_OK;
}

static mailout_status stall_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    static const char line[] = "0123456789012345678901234567890123456789012345678901234567890123456789abcdef\r\n";
    stall_body *b = ctx;
    size_t n = 0;

    b->last_read = srv_now_ms();
    while (n < cap) {
        size_t k = (b->sent + n) % (sizeof line - 1);
        size_t m = cap - n < sizeof line - 1 - k ? cap - n : sizeof line - 1 - k;
        memcpy(buf + n, line + k, m);
        n += m;
    }
    b->sent += n;
    *got = n;
    /* 256 MB at most: far more than the socket buffers hold */
    return b->sent >= (256u << 20) ? MAILOUT_DONE : MAILOUT_OK;
}

/* The blocking TCP transport, noting when a send first waited. */
static mailout_transport stall_lower;
static uint64_t stall_since;

static ptrdiff_t stall_send(void *ctx, const unsigned char *buf, size_t len)
{
    uint64_t t0 = srv_now_ms();
    ptrdiff_t n = stall_lower.send(ctx, buf, len);
    if (!stall_since && srv_now_ms() - t0 >= 100)
        stall_since = t0;
    return n;
}

static int stall_is_8bit(void *ctx)
{
    (void)ctx;
    return 0;
}

/* STARTTLS over the TCP transport in @p mode (blocking, or send-waits as
 * mailout_send() uses it); after 354 the peer stops reading. The send
 * ends with E_TIMEOUT about one timeout after the body stopped moving (a
 * lower timeout fails the TLS session at once: no parked retry, no
 * close_notify wait). */
static void tls_stalled_peer(tls_fx *f, int mode)
{
    peer_handle h;
    unsigned short port;
    mailout_tcp_config tc;
    mailout_tcp *tcp = NULL;
    mailout_transport t;
    mailout_smtp_config sc = smtp_cfg(MAILOUT_TLS_REQUIRED);
    mailout_tls_config tls = tls_cfg(f);
    mailout_result res;
    mailout_job job;
    stall_body b;
    mailout_status st;
    uint64_t end;
    unsigned w = 0;
    int buf = 65536, fd;
    char script[2048];

    snprintf(script, sizeof script,
             "[%s"
             ",{\"expect_line\": \"MAIL FROM:<a@x.test>\\r\\n\", \"reply\": \"250 ok\\r\\n\"}"
             ",{\"expect_line\": \"RCPT TO:<b@y.test>\\r\\n\", \"reply\": \"250 ok\\r\\n\"}"
             ",{\"expect_line\": \"DATA\\r\\n\", \"reply\": \"354 go\\r\\n\"}"
             ",{\"delay\": 6}]",
             STARTTLS_STEPS);
    assert_int_equal(peer_start_script(script, f->rec, &port, &h), 0);
    memset(&tc, 0, sizeof tc);
    tc.host = "127.0.0.1";
    tc.port = port;
    tc.connect_timeout_ms = 5000;
    tc.io_timeout_ms = STALL_T_MS;
    tc.nonblocking = mode;
    assert_status(MAILOUT_OK, mailout_tcp_open(&tcp, &tc, NULL, &t));
    fd = t.pollfd(t.ctx, &w);
    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf), 0);
    stall_lower = t;
    stall_since = 0;
    t.send = stall_send;
    sc.timeout_ms = STALL_T_MS;
    sc.no_chunking = 1;
    memset(&job, 0, sizeof job);
    memset(&b, 0, sizeof b);
    job.mail_from = "a@x.test";
    job.rcpt = rcpt1;
    job.rcpt_count = 1;
    job.body.start = stall_start;
    job.body.read = stall_read;
    job.body.is_8bit = stall_is_8bit;
    job.body.ctx = &b;
    st = mailout_send_jobs(&t, &sc, &tls, &job, 1, &res, clock_ms, NULL);
    end = srv_now_ms();
    mailout_tcp_free(tcp);
    peer_kill(&h);
    assert_status(MAILOUT_E_TIMEOUT, st);
    assert_status(MAILOUT_E_TIMEOUT, res.status);
    assert_int_equal(res.stage, MAILOUT_STAGE_BODY);
    assert_true(b.sent < (256u << 20));
    /* from the first send that waited to the end: one timeout (on main
     * three: the rest of the record, the parked record, and more) */
    assert_true(stall_since != 0);
    assert_true(end - stall_since >= STALL_T_MS - 10);
    assert_true(end - stall_since < STALL_T_MS * 3 / 2);
}

static void test_jobs_tls_stalled_peer(void **state)
{
    tls_stalled_peer(*state, MAILOUT_TCP_BLOCKING);
}

static void test_jobs_tls_stalled_peer_send_waits(void **state)
{
    tls_stalled_peer(*state, MAILOUT_TCP_SEND_WAITS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_starttls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_implicit_flaky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_implicit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_starttls_flaky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_untrusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_bytes_after_220, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_tls_stalled_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_tls_stalled_peer_send_waits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
