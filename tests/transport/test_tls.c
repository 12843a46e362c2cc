/* wolfSSL TLS transport against real TLS servers (Python's ssl module,
 * tls_server.py) on 127.0.0.1 port 0: working sessions, STARTTLS, client
 * certificates, maximum fragment length, would-block lowers. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

#include "tlsutil.h"

static void test_implicit(void **state)
{
    (void)state;
    static pyserver ps;
    start(&ps, "tls", "server", NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    /* no application data before the handshake */
    assert_int_equal(tt.send(tt.ctx, (const unsigned char *)"x", 1), MAILOUT_E_STATE);
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    exchange(&tt, "EHLO client.example\r\n");
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_string_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");
    assert_string_equal(pyserver_get(&ps, "SNI"), "localhost");
    assert_string_equal(pyserver_get(&ps, "PEERCN"), "-");
    assert_appdata(&ps, "EHLO client.example\r\n");
    assert_string_equal(pyserver_get(&ps, "PLAIN"), "-");
    /* the last record the client sent is an alert (close_notify) */
    const char *rec = pyserver_get(&ps, "CRECORDS");
    assert_true(strncmp(rec, "22:", 3) == 0); /* starts with a ClientHello */
}

static void test_starttls(void **state)
{
    (void)state;
    static pyserver ps;
    start(&ps, "starttls", "server", NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    unsigned char buf[32];
    size_t got = 0;
    while (got < 11) {
        ptrdiff_t n = t.recv(t.ctx, buf + got, 11 - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_bytes_equal("220 plain\r\n", 11, buf, got);
    assert_int_equal(t.send(t.ctx, (const unsigned char *)"STARTTLS\r\n", 10), 10);
    got = 0;
    while (got < 14) {
        ptrdiff_t n = t.recv(t.ctx, buf + got, 14 - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_bytes_equal("220 go ahead\r\n", 14, buf, got);

    /* same TCP transport, upgraded in place */
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    exchange(&tt, "EHLO again\r\n");
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_string_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");
    assert_string_equal(pyserver_get(&ps, "PLAIN"), "5354415254544c530d0a"); /* STARTTLS\r\n */
    assert_appdata(&ps, "EHLO again\r\n");
}

static void test_ca_in_memory(void **state)
{
    (void)state;
    static unsigned char pem[8192];
    FILE *f = fopen(cert("ca.pem"), "rb");
    assert_non_null(f);
    size_t len = fread(pem, 1, sizeof pem, f);
    fclose(f);
    assert_true(len > 0 && len < sizeof pem);

    static pyserver ps;
    start(&ps, "tls", "server", NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.server_name = "localhost";
    cfg.ca_pem = pem;
    cfg.ca_pem_len = len;
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    exchange(&tt, "NOOP\r\n");
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_appdata(&ps, "NOOP\r\n");
}

static void ip_literal(const char *host, int v6)
{
    static pyserver ps;
    const char *const six[] = {"--v6", NULL};
    start(&ps, "tls", "server", v6 ? six : NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to(host, ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, host);
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    exchange(&tt, "EHLO [ip]\r\n");
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_string_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");
    assert_string_equal(pyserver_get(&ps, "SNI"), "-"); /* RFC 6066 §3 */
    assert_appdata(&ps, "EHLO [ip]\r\n");
}

static int have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void test_ip_literal(void **state)
{
    (void)state;
    ip_literal("127.0.0.1", 0);
    if (have_ipv6_loopback())
        ip_literal("::1", 1);
    else
        print_message("no IPv6 loopback: IPv6 literal not tested\n");
}

static void test_client_cert(void **state)
{
    (void)state;
    static pyserver ps;
    const char *const req[] = {"--client-ca", cert("ca.pem"), NULL};
    start(&ps, "tls", "server", req);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    cfg.client_cert_file = cert("client.pem");
    cfg.client_key_file = cert("client.key");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    exchange(&tt, "AUTH EXTERNAL =\r\n");
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_string_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");
    assert_string_equal(pyserver_get(&ps, "PEERCN"), "mailout test client");
    assert_appdata(&ps, "AUTH EXTERNAL =\r\n");

    /* without a certificate the server refuses; no data gets through */
    start(&ps, "tls", "server", req);
    tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    default_cfg(&cfg, "localhost");
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    mailout_status st = handshake(tls, &tt, NULL);
    if (st == MAILOUT_OK) {
        /* TLS 1.3: the refusal arrives after our Finished */
        unsigned char b[16];
        ptrdiff_t n;
        do {
            n = tt.recv(tt.ctx, b, sizeof b);
            if (n == 0)
                tt.wait(tt.ctx, MAILOUT_WANT_READ, 1000);
        } while (n == 0);
        assert_true(n == MAILOUT_E_TLS || n == MAILOUT_E_CLOSED);
    } else {
        assert_status(MAILOUT_E_TLS_HANDSHAKE, st);
    }
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_string_not_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");
    assert_appdata(&ps, "");
}

/* "type:len,type:len" → the application data records (type 23). */
static void records(const char *list, size_t *count, size_t *max_len, size_t *total)
{
    *count = *max_len = *total = 0;
    while (*list && *list != '-') {
        unsigned type, len;
        assert_int_equal(sscanf(list, "%u:%u", &type, &len), 2);
        if (type == 23) {
            (*count)++;
            *total += len;
            if (len > *max_len)
                *max_len = len;
        }
        const char *comma = strchr(list, ',');
        if (!comma)
            break;
        list = comma + 1;
    }
}

static void test_max_fragment(void **state)
{
    (void)state;
    static char big[3001];
    for (size_t i = 0; i < 3000; i++)
        big[i] = (char)('a' + i % 26);
    static pyserver ps;
    start(&ps, "tls", "server", NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    cfg.max_fragment = 512;
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    expect_greeting(&tt);
    write_all(&tt, big, 3000, 512); /* never more than 512 per call */
    static unsigned char echo[3000];
    read_exact(&tt, echo, 3000);
    assert_bytes_equal(big, 3000, echo, 3000);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_appdata(&ps, big);

    /* On the wire: client records carry at most 512 bytes of plaintext
     * (+ at most 256 of overhead, RFC 6066 §4), so 3000 bytes need >= 6. */
    size_t count, max_len, total;
    records(pyserver_get(&ps, "CRECORDS"), &count, &max_len, &total);
    assert_true(max_len <= 512 + 256);
    assert_true(count >= 6);
    assert_true(total >= 3000);
    /* and the server accepted the extension: its records are small too */
    records(pyserver_get(&ps, "SRECORDS"), &count, &max_len, &total);
    assert_true(max_len <= 512 + 256);
    assert_true(total >= 3000);
}

static void test_no_max_fragment_baseline(void **state)
{
    (void)state;
    /* The same exchange without the option: one big record. Shows that
     * test_max_fragment can fail. */
    static char big[3001];
    memset(big, 'z', 3000);
    static pyserver ps;
    start(&ps, "tls", "server", NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    expect_greeting(&tt);
    write_all(&tt, big, 3000, 16384);
    static unsigned char echo[3000];
    read_exact(&tt, echo, 3000);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    size_t count, max_len, total;
    records(pyserver_get(&ps, "CRECORDS"), &count, &max_len, &total);
    assert_true(max_len > 3000);
}

/* A lower transport that would block on every other call. */
typedef struct flaky {
    mailout_transport lower;
    unsigned sends, recvs, zeros;
} flaky;

static ptrdiff_t flaky_send(void *ctx, const unsigned char *buf, size_t len)
{
    flaky *f = ctx;
    if (f->sends++ % 2 == 0) {
        f->zeros++;
        return 0;
    }
    return f->lower.send(f->lower.ctx, buf, len);
}

static ptrdiff_t flaky_recv(void *ctx, unsigned char *buf, size_t cap)
{
    flaky *f = ctx;
    if (f->recvs++ % 2 == 0) {
        f->zeros++;
        return 0;
    }
    return f->lower.recv(f->lower.ctx, buf, cap);
}

static mailout_status flaky_wait(void *ctx, unsigned want, uint32_t ms)
{
    (void)ctx;
    (void)want;
    (void)ms;
    return MAILOUT_OK; /* the next call works */
}

static void flaky_close(void *ctx)
{
    flaky *f = ctx;
    f->lower.close(f->lower.ctx);
}

static void test_would_block_everywhere(void **state)
{
    (void)state;
    static pyserver ps;
    start(&ps, "tls", "server", NULL);
    flaky f;
    memset(&f, 0, sizeof f);
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &f.lower);
    mailout_transport ft = {flaky_send, flaky_recv, flaky_wait, NULL, flaky_close, &f};
    mailout_transport tt;
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &ft, &tt));
    int agains = 0;
    assert_status(MAILOUT_OK, handshake(tls, &tt, &agains));
    assert_true(agains > 0);
    unsigned want = MAILOUT_WANT_WRITE;
    assert_int_equal(tt.pollfd(tt.ctx, &want), -1); /* the lower has no fd */
    static char big[20001];
    for (size_t i = 0; i < 20000; i++)
        big[i] = (char)('A' + i % 23);
    expect_greeting(&tt);
    write_all(&tt, big, 20000, 16384);
    static unsigned char echo[20000];
    read_exact(&tt, echo, 20000);
    assert_bytes_equal(big, 20000, echo, 20000);
    assert_true(f.zeros > 4);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_appdata(&ps, big);
}

static void test_nonblocking_tcp(void **state)
{
    (void)state;
    static pyserver ps;
    start(&ps, "tls", "server", NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 1, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_AGAIN, mailout_tls_handshake(tls)); /* ClientHello out, nothing back yet */
    unsigned want = MAILOUT_WANT_WRITE;
    int fd = tt.pollfd(tt.ctx, &want);
    assert_true(fd >= 0);
    assert_int_equal(want, MAILOUT_WANT_READ); /* the handshake waits for the server */
    int agains = 0;
    assert_status(MAILOUT_OK, handshake(tls, &tt, &agains));
    exchange(&tt, "NOOP\r\n");
    static char big[200001];
    memset(big, 'q', 200000);
    write_all(&tt, big, 200000, 16384);
    static unsigned char echo[200000];
    read_exact(&tt, echo, 200000);
    assert_bytes_equal(big, 200000, echo, 200000);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
}

static void test_server_close_notify(void **state)
{
    (void)state;
    static pyserver ps;
    const char *const closing[] = {"--close", NULL};
    start(&ps, "tls", "server", closing);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    expect_greeting(&tt);
    unsigned char b[16];
    assert_int_equal(tt.recv(tt.ctx, b, sizeof b), MAILOUT_E_CLOSED);
    assert_int_equal(tt.recv(tt.ctx, b, sizeof b), MAILOUT_E_CLOSED);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
}

static ptrdiff_t never_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    fail_msg("nothing may be sent");
    return MAILOUT_E_IO;
}

static ptrdiff_t never_recv(void *ctx, unsigned char *buf, size_t cap)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    fail_msg("nothing may be read");
    return MAILOUT_E_IO;
}

static void test_bad_config(void **state)
{
    (void)state;
    mailout_transport lower = {never_send, never_recv, NULL, NULL, NULL, NULL};
    mailout_transport tt;
    mailout_tls *tls = (mailout_tls *)(uintptr_t)1;
    mailout_tls_config cfg;

    default_cfg(&cfg, NULL);
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "");
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "bad\r\nname");
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "localhost");
    cfg.max_fragment = 1000;
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "localhost");
    cfg.client_cert_file = cert("client.pem");
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "localhost");
    cfg.ca_pem_len = 10;
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "localhost");
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(NULL, &cfg, &lower, &tt));
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, NULL, &lower, &tt));
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, NULL, &tt));
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &lower, NULL));
    mailout_transport nosend = {NULL, never_recv, NULL, NULL, NULL, NULL};
    assert_status(MAILOUT_E_INVAL, mailout_tls_new(&tls, &cfg, &nosend, &tt));

    /* unreadable trust or client files */
    default_cfg(&cfg, "localhost");
    cfg.ca_file = "/nonexistent/ca.pem";
    assert_status(MAILOUT_E_TLS, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "localhost");
    cfg.ca_pem = (const unsigned char *)"not a pem";
    cfg.ca_pem_len = 9;
    assert_status(MAILOUT_E_TLS, mailout_tls_new(&tls, &cfg, &lower, &tt));
    default_cfg(&cfg, "localhost");
    cfg.client_cert_file = cert("client.pem");
    cfg.client_key_file = "/nonexistent/client.key";
    assert_status(MAILOUT_E_TLS, mailout_tls_new(&tls, &cfg, &lower, &tt));
    assert_ptr_equal(tls, (mailout_tls *)(uintptr_t)1); /* untouched */

    /* a good config sends nothing until the handshake */
    default_cfg(&cfg, "localhost");
    tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &lower, &tt));
    assert_int_equal(tt.send(tt.ctx, (const unsigned char *)"x", 1), MAILOUT_E_STATE);
    unsigned char b[1];
    assert_int_equal(tt.recv(tt.ctx, b, 1), MAILOUT_E_STATE);
    mailout_tls_free(tls);
    mailout_tls_free(NULL);
    assert_status(MAILOUT_E_INVAL, mailout_tls_handshake(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_implicit),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_ca_in_memory),
        cmocka_unit_test(test_ip_literal),
        cmocka_unit_test(test_client_cert),
        cmocka_unit_test(test_max_fragment),
        cmocka_unit_test(test_no_max_fragment_baseline),
        cmocka_unit_test(test_would_block_everywhere),
        cmocka_unit_test(test_nonblocking_tcp),
        cmocka_unit_test(test_server_close_notify),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
