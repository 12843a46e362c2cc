/* A build without wolfSSL: TLS is refused at run time, never faked. */
#include <string.h>

#include "testutil.h"

static ptrdiff_t no_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    fail_msg("nothing may be sent");
    return MAILOUT_E_IO;
}

static ptrdiff_t no_recv(void *ctx, unsigned char *buf, size_t cap)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    fail_msg("nothing may be read");
    return MAILOUT_E_IO;
}

static void test_unsupported(void **state)
{
    (void)state;
    mailout_transport lower = {no_send, no_recv, NULL, NULL, NULL, NULL};
    mailout_transport tt;
    mailout_tls_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.server_name = "localhost";
    mailout_tls *tls = (mailout_tls *)(uintptr_t)1;
    assert_status(MAILOUT_E_UNSUPPORTED, mailout_tls_new(&tls, &cfg, &lower, &tt));
    assert_ptr_equal(tls, (mailout_tls *)(uintptr_t)1);
    assert_status(MAILOUT_E_UNSUPPORTED, mailout_tls_handshake(NULL));
    mailout_tls_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
