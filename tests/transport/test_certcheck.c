/* DER checks behind key pinning and IP-literal server names
 * (lib/transport/certcheck.c), against certificates made by the openssl
 * tool, plus every truncation and bit flip of one of them. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "transport/transport_internal.h"

static char tmpdir[64];

/* Run a shell command and collect its stdout. */
static size_t run(const char *cmd, unsigned char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap, p);
    assert_int_equal(pclose(p), 0);
    assert_true(n < cap);
    return n;
}

static size_t der_of(const char *pem, unsigned char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -outform DER", pem);
    return run(cmd, out, cap);
}

static size_t spki_of(const char *pem, unsigned char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform DER", pem);
    return run(cmd, out, cap);
}

static int has_ip(const unsigned char *der, size_t len, const char *ip)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, ip, a) == 1)
        return mailout_cert_has_ip(der, len, a, 4);
    assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
    return mailout_cert_has_ip(der, len, a, 16);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mailout-certcheck-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char cmd[2048];
    /* a v1 certificate (no version field, no extensions) and one with the
     * address only as a dNSName */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -new -key '%s/server.key' -subj /CN=v1 -out v1.csr 2>/dev/null && "
             "openssl x509 -req -in v1.csr -key '%s/server.key' -days 1 -out v1.pem 2>/dev/null && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -subj /CN=x "
             "-addext subjectAltName=DNS:127.0.0.1 -days 1 -out dnsip.pem 2>/dev/null",
             tmpdir, CERT_DIR, CERT_DIR);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_spki(void **state)
{
    (void)state;
    static unsigned char der[8192], exp[1024];
    const char *pems[] = {CERT_DIR "/server.pem", CERT_DIR "/ca.pem", CERT_DIR "/client.pem", NULL, NULL};
    char v1[128];
    snprintf(v1, sizeof v1, "%s/v1.pem", tmpdir);
    pems[3] = v1;
    for (int i = 0; pems[i]; i++) {
        size_t n = der_of(pems[i], der, sizeof der);
        size_t en = spki_of(pems[i], exp, sizeof exp);
        const unsigned char *spki = NULL;
        size_t len = 0;
        assert_status(MAILOUT_OK, mailout_cert_spki(der, n, &spki, &len));
        assert_bytes_equal(exp, en, spki, len);
    }
}

static void test_ip_san(void **state)
{
    (void)state;
    static unsigned char der[8192];
    size_t n = der_of(CERT_DIR "/server.pem", der, sizeof der); /* IP:127.0.0.1, IP:::1 */
    assert_int_equal(has_ip(der, n, "127.0.0.1"), 1);
    assert_int_equal(has_ip(der, n, "::1"), 1);
    assert_int_equal(has_ip(der, n, "0:0:0:0:0:0:0:1"), 1);
    assert_int_equal(has_ip(der, n, "127.0.0.2"), 0);
    assert_int_equal(has_ip(der, n, "::2"), 0);
    assert_int_equal(has_ip(der, n, "::ffff:127.0.0.1"), 0); /* 16 octets never match 4 */
    unsigned char a[4] = {127, 0, 0, 1};
    assert_int_equal(mailout_cert_has_ip(der, n, a, 3), 0);
    assert_int_equal(mailout_cert_has_ip(NULL, n, a, 4), 0);

    n = der_of(CERT_DIR "/wronghost.pem", der, sizeof der); /* DNS only */
    assert_int_equal(has_ip(der, n, "127.0.0.1"), 0);

    char path[128];
    snprintf(path, sizeof path, "%s/dnsip.pem", tmpdir); /* DNS:127.0.0.1 */
    n = der_of(path, der, sizeof der);
    assert_int_equal(has_ip(der, n, "127.0.0.1"), 0);

    snprintf(path, sizeof path, "%s/v1.pem", tmpdir); /* no extensions */
    n = der_of(path, der, sizeof der);
    assert_int_equal(has_ip(der, n, "127.0.0.1"), 0);
}

/* Every prefix and every single-bit change: no crash, no read outside
 * (ASan), and a prefix never yields the IP or an SPKI past its end. */
static void test_malformed(void **state)
{
    (void)state;
    static unsigned char der[8192];
    size_t n = der_of(CERT_DIR "/server.pem", der, sizeof der);
    unsigned char ip[4] = {127, 0, 0, 1};
    for (size_t len = 0; len < n; len++) {
        unsigned char *copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */
        assert_non_null(copy);
        memcpy(copy, der, len);
        assert_int_equal(mailout_cert_has_ip(copy, len, ip, 4), 0);
        const unsigned char *spki;
        size_t slen;
        assert_status(MAILOUT_E_TLS, mailout_cert_spki(copy, len, &spki, &slen));
        free(copy);
    }
    unsigned char *copy = malloc(n);
    assert_non_null(copy);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, der, n);
            copy[i] ^= (unsigned char)(1u << bit);
            (void)mailout_cert_has_ip(copy, n, ip, 4);
            const unsigned char *spki;
            size_t slen;
            if (mailout_cert_spki(copy, n, &spki, &slen) == MAILOUT_OK)
                assert_true(spki >= copy && spki + slen <= copy + n);
        }
    }
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spki),
        cmocka_unit_test(test_ip_san),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
