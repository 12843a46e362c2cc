/* wolfSSL TLS transport against real TLS servers (Python's ssl module,
 * tls_server.py) on 127.0.0.1 port 0. Every failure case also checks what
 * the server received: no application byte may get through. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "pyserver.h"

#define IO_MS 5000u

static const char *cert(const char *name)
{
    static char paths[8][512];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", CERT_DIR, name);
    return p;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Start a server: mode, certificate base name (NULL: none), extra args. */
static void start(pyserver *ps, const char *mode, const char *leaf, const char *const *extra)
{
    const char *args[24];
    size_t n = 0;
    char certf[64], keyf[64];
    args[n++] = "--mode";
    args[n++] = mode;
    if (leaf) {
        snprintf(certf, sizeof certf, "%s.pem", leaf);
        snprintf(keyf, sizeof keyf, "%s.key", leaf);
        args[n++] = "--cert";
        args[n++] = cert(certf);
        args[n++] = "--key";
        args[n++] = cert(keyf);
    }
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    pyserver_start(ps, args);
}

static mailout_tcp *tcp_to(const char *host, uint16_t port, int nonblocking, uint32_t io_ms, mailout_transport *t)
{
    mailout_tcp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = host;
    cfg.port = port;
    cfg.connect_timeout_ms = 5000;
    cfg.io_timeout_ms = io_ms;
    cfg.nonblocking = nonblocking;
    mailout_tcp *c = NULL;
    assert_status(MAILOUT_OK, mailout_tcp_open(&c, &cfg, NULL, t));
    return c;
}

static void default_cfg(mailout_tls_config *cfg, const char *name)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->server_name = name;
    cfg->ca_file = cert("ca.pem");
}

/* Handshake to the end, waiting through the session's own wait(). */
static mailout_status handshake(mailout_tls *tls, const mailout_transport *tt, int *agains)
{
    mailout_status st;
    int n = 0;
    uint64_t deadline = mono_ms() + 10000;
    while ((st = mailout_tls_handshake(tls)) == MAILOUT_AGAIN && mono_ms() < deadline) {
        n++;
        mailout_status w = tt->wait(tt->ctx, MAILOUT_WANT_READ, 1000);
        assert_true(w == MAILOUT_OK || w == MAILOUT_E_TIMEOUT);
    }
    if (agains)
        *agains = n;
    return st;
}

static void write_all(const mailout_transport *tt, const void *data, size_t len, size_t max_per_call)
{
    const unsigned char *p = data;
    uint64_t deadline = mono_ms() + 10000;
    while (len > 0) {
        assert_true(mono_ms() < deadline);
        ptrdiff_t n = tt->send(tt->ctx, p, len);
        assert_true(n >= 0);
        if (n == 0) {
            mailout_status w = tt->wait(tt->ctx, MAILOUT_WANT_WRITE, 1000);
            assert_true(w == MAILOUT_OK || w == MAILOUT_E_TIMEOUT);
            continue;
        }
        assert_true((size_t)n <= len && (size_t)n <= max_per_call);
        p += n;
        len -= (size_t)n;
    }
}

static void read_exact(const mailout_transport *tt, unsigned char *buf, size_t len)
{
    size_t got = 0;
    uint64_t deadline = mono_ms() + 10000;
    while (got < len) {
        assert_true(mono_ms() < deadline);
        ptrdiff_t n = tt->recv(tt->ctx, buf + got, len - got);
        if (n < 0)
            fail_msg("recv: %s after %zu bytes", mailout_errname((int)n), got);
        if (n == 0) {
            mailout_status w = tt->wait(tt->ctx, MAILOUT_WANT_READ, 1000);
            assert_true(w == MAILOUT_OK || w == MAILOUT_E_TIMEOUT);
            continue;
        }
        got += (size_t)n;
    }
}

static void expect_greeting(const mailout_transport *tt)
{
    unsigned char buf[15];
    read_exact(tt, buf, sizeof buf);
    assert_bytes_equal("220 tls ready\r\n", 15, buf, sizeof buf);
}

/* Greeting, one echo round trip, close_notify. */
static void exchange(const mailout_transport *tt, const char *msg)
{
    unsigned char buf[256];
    size_t len = strlen(msg);
    expect_greeting(tt);
    write_all(tt, msg, len, len);
    read_exact(tt, buf, len);
    assert_bytes_equal(msg, len, buf, len);
}

static void assert_appdata(const pyserver *ps, const char *exp)
{
    static unsigned char got[1 << 16];
    size_t n = pyserver_hex(pyserver_get(ps, "APPDATA"), got, sizeof got);
    assert_bytes_equal(exp, strlen(exp), got, n);
}

/* A session that must fail with @p exp: no application data afterwards. */
static void expect_failure(const pyserver *ps_unused, mailout_tls *tls, const mailout_transport *tt,
                           mailout_status exp)
{
    (void)ps_unused;
    assert_status(exp, handshake(tls, tt, NULL));
    /* sticky, and nothing can be sent */
    assert_status(exp, mailout_tls_handshake(tls));
    assert_int_equal(tt->send(tt->ctx, (const unsigned char *)"MAIL FROM:<a@b>\r\n", 17), exp);
    unsigned char b[4];
    assert_int_equal(tt->recv(tt->ctx, b, sizeof b), exp);
}

/* Connect to a server, run the handshake with @p cfg, expect @p exp. */
static void run_failure(pyserver *ps, const mailout_tls_config *cfg, mailout_status exp)
{
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps->port, 0, IO_MS, &t);
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, cfg, &t, &tt));
    expect_failure(ps, tls, &tt, exp);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(ps);
    assert_appdata(ps, "");
}

/* ------------------------------------------------------------------ */

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

static void test_untrusted(void **state)
{
    (void)state;
    static pyserver ps;
    mailout_tls_config cfg;

    /* self-signed server certificate */
    start(&ps, "tls", "selfsigned", NULL);
    default_cfg(&cfg, "localhost");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_VERIFY);
    assert_string_not_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");

    /* signed by a CA we do not trust */
    start(&ps, "tls", "server", NULL);
    default_cfg(&cfg, "localhost");
    cfg.ca_file = cert("other-ca.pem");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_VERIFY);
    assert_string_not_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");

    /* default trust (system store) does not know the test CA */
    start(&ps, "tls", "server", NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.server_name = "localhost";
    run_failure(&ps, &cfg, MAILOUT_E_TLS_VERIFY);

    /* the server sends the CA along in its chain: still not a trust anchor */
    const char *const chain[] = {"--cert", cert("server-chain.pem"), "--key", cert("server.key"), NULL};
    start(&ps, "tls", NULL, chain);
    default_cfg(&cfg, "localhost");
    cfg.ca_file = cert("other-ca.pem");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_VERIFY);
}

static void test_expired(void **state)
{
    (void)state;
    static pyserver ps;
    mailout_tls_config cfg;
    start(&ps, "tls", "expired", NULL);
    default_cfg(&cfg, "localhost");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_VERIFY);
}

static void test_wrong_host(void **state)
{
    (void)state;
    static pyserver ps;
    mailout_tls_config cfg;
    /* certificate for wrong.example */
    start(&ps, "tls", "wronghost", NULL);
    default_cfg(&cfg, "localhost");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HOSTNAME);
    assert_string_equal(pyserver_get(&ps, "SNI"), "localhost");

    /* good certificate, but we asked for another name */
    start(&ps, "tls", "server", NULL);
    default_cfg(&cfg, "mail.example.com");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HOSTNAME);
    assert_string_equal(pyserver_get(&ps, "SNI"), "mail.example.com");

    /* a suffix is not a match (no substring matching) */
    start(&ps, "tls", "server", NULL);
    default_cfg(&cfg, "host");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HOSTNAME);
}

static void test_old_tls(void **state)
{
    (void)state;
    static pyserver ps;
    mailout_tls_config cfg;
    const char *const old[] = {"--max-version", "TLSv1_1", NULL};
    start(&ps, "tls", "server", old);
    default_cfg(&cfg, "localhost");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HANDSHAKE);
    assert_string_not_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");
}

static void test_plaintext_server(void **state)
{
    (void)state;
    static pyserver ps;
    mailout_tls_config cfg;
    start(&ps, "plain", NULL, NULL);
    default_cfg(&cfg, "localhost");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HANDSHAKE);
    /* the server got our ClientHello (a TLS handshake record) and nothing
     * else: no SMTP command in clear */
    static unsigned char plain[1 << 16];
    size_t n = pyserver_hex(pyserver_get(&ps, "PLAIN"), plain, sizeof plain);
    assert_true(n >= 5);
    assert_int_equal(plain[0], 0x16);
    assert_int_equal(plain[1], 0x03);
    size_t rec = 5u + ((size_t)plain[3] << 8 | plain[4]);
    /* at most the ClientHello and an alert record */
    assert_true(n == rec || (n > rec && plain[rec] == 0x15));
}

static void test_silent_server_timeout(void **state)
{
    (void)state;
    static pyserver ps;
    start(&ps, "silent", NULL, NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, 200, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    uint64_t t0 = mono_ms();
    assert_status(MAILOUT_E_TIMEOUT, mailout_tls_handshake(tls));
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 190 && took < 1000); /* one io timeout, not a retry loop */
    /* still not usable for data */
    assert_int_equal(tt.send(tt.ctx, (const unsigned char *)"x", 1), MAILOUT_E_STATE);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
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

static void test_ip_literal_mismatch(void **state)
{
    (void)state;
    static pyserver ps;
    mailout_tls_config cfg;
    /* certificate without IP SANs */
    start(&ps, "tls", "wronghost", NULL);
    default_cfg(&cfg, "127.0.0.1");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HOSTNAME);
    assert_string_equal(pyserver_get(&ps, "SNI"), "-");

    /* certificate for 127.0.0.1 and ::1, but we asked for 127.0.0.2 */
    start(&ps, "tls", "server", NULL);
    default_cfg(&cfg, "127.0.0.2");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HOSTNAME);
    assert_string_equal(pyserver_get(&ps, "SNI"), "-");

    /* an IP in a DNS SAN does not count: "127.0.0.1" as a name is not
     * "localhost" either way */
    start(&ps, "tls", "server", NULL);
    default_cfg(&cfg, "::2");
    run_failure(&ps, &cfg, MAILOUT_E_TLS_HOSTNAME);
}

/* SHA-256 of the SubjectPublicKeyInfo, computed by the openssl tool. */
static void spki_sha256(const char *pem, unsigned char out[32])
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform DER | "
             "openssl dgst -sha256 -hex",
             pem);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, p));
    pclose(p);
    char *hex = strstr(line, "= ");
    assert_non_null(hex);
    assert_int_equal(pyserver_hex(hex + 2, out, 32), 32);
}

static void test_pin(void **state)
{
    (void)state;
    unsigned char pin[32];
    spki_sha256(cert("server.pem"), pin);

    static pyserver ps;
    start(&ps, "tls", "server", NULL);
    mailout_transport t, tt;
    mailout_tcp *tcp = tcp_to("127.0.0.1", ps.port, 0, IO_MS, &t);
    mailout_tls_config cfg;
    default_cfg(&cfg, "localhost");
    cfg.pin_sha256 = pin;
    mailout_tls *tls = NULL;
    assert_status(MAILOUT_OK, mailout_tls_new(&tls, &cfg, &t, &tt));
    assert_status(MAILOUT_OK, handshake(tls, &tt, NULL));
    exchange(&tt, "pinned\r\n");
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
    assert_appdata(&ps, "pinned\r\n");

    /* one bit off */
    pin[31] ^= 1;
    start(&ps, "tls", "server", NULL);
    run_failure(&ps, &cfg, MAILOUT_E_TLS_PIN);
    /* the handshake itself was fine for the server; no data followed */
    assert_string_equal(pyserver_get(&ps, "HANDSHAKE"), "ok");

    /* pin of another key (the CA's) */
    spki_sha256(cert("ca.pem"), pin);
    start(&ps, "tls", "server", NULL);
    run_failure(&ps, &cfg, MAILOUT_E_TLS_PIN);
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
        cmocka_unit_test(test_untrusted),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_wrong_host),
        cmocka_unit_test(test_old_tls),
        cmocka_unit_test(test_plaintext_server),
        cmocka_unit_test(test_silent_server_timeout),
        cmocka_unit_test(test_ip_literal),
        cmocka_unit_test(test_ip_literal_mismatch),
        cmocka_unit_test(test_pin),
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
