/* Helpers shared by the TLS tests: servers, connections, loops that
 * drive a transport to the end with its own wait(). */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "tlsutil.h"

const char *cert(const char *name)
{
    static char paths[8][512];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", CERT_DIR, name);
    return p;
}

uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Start a server: mode, certificate base name (NULL: none), extra args. */
void start(pyserver *ps, const char *mode, const char *leaf, const char *const *extra)
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

mailout_tcp *tcp_to(const char *host, uint16_t port, int nonblocking, uint32_t io_ms, mailout_transport *t)
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

void default_cfg(mailout_tls_config *cfg, const char *name)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->server_name = name;
    cfg->ca_file = cert("ca.pem");
}

/* Handshake to the end, waiting through the session's own wait(). */
mailout_status handshake(mailout_tls *tls, const mailout_transport *tt, int *agains)
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

void write_all(const mailout_transport *tt, const void *data, size_t len, size_t max_per_call)
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

void read_exact(const mailout_transport *tt, unsigned char *buf, size_t len)
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

void expect_greeting(const mailout_transport *tt)
{
    unsigned char buf[15];
    read_exact(tt, buf, sizeof buf);
    assert_bytes_equal("220 tls ready\r\n", 15, buf, sizeof buf);
}

/* Greeting, one echo round trip, close_notify. */
void exchange(const mailout_transport *tt, const char *msg)
{
    unsigned char buf[256];
    size_t len = strlen(msg);
    expect_greeting(tt);
    write_all(tt, msg, len, len);
    read_exact(tt, buf, len);
    assert_bytes_equal(msg, len, buf, len);
}

void assert_appdata(const pyserver *ps, const char *exp)
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
void run_failure(pyserver *ps, const mailout_tls_config *cfg, mailout_status exp)
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
