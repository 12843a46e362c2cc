/* wolfSSL TLS transport: every way a handshake must fail (trust, dates,
 * names, addresses, pins, old versions, plaintext or silent peers), each
 * also checking that no application byte reached the server. */
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
    /* the timeout is sticky: no second wait, and no data */
    t0 = mono_ms();
    assert_status(MAILOUT_E_TIMEOUT, mailout_tls_handshake(tls));
    assert_true(mono_ms() - t0 < 100);
    assert_int_equal(tt.send(tt.ctx, (const unsigned char *)"x", 1), MAILOUT_E_TIMEOUT);
    tt.close(tt.ctx);
    mailout_tls_free(tls);
    mailout_tcp_free(tcp);
    pyserver_finish(&ps);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrusted),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_wrong_host),
        cmocka_unit_test(test_old_tls),
        cmocka_unit_test(test_plaintext_server),
        cmocka_unit_test(test_silent_server_timeout),
        cmocka_unit_test(test_ip_literal_mismatch),
        cmocka_unit_test(test_pin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
