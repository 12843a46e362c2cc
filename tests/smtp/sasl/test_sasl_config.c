/*
 * sasl.c built with some mechanisms switched off (see meson.build): the
 * switched-off ones refuse to start with E_AUTH_UNSUPPORTED and pick()
 * never returns them; the others still work. Stands alone (no testutil,
 * no library) because it compiles the SASL sources itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka needs the above first */
#include <cmocka.h>

#include "crypto_once.h"
#include "smtp/sasl.h"

static const struct {
    unsigned mech;
    int enabled;
} mechs[] = {
    {MAILOUT_AUTH_PLAIN, MAILOUT_ENABLE_AUTH_PLAIN},
    {MAILOUT_AUTH_LOGIN, MAILOUT_ENABLE_AUTH_LOGIN},
    {MAILOUT_AUTH_CRAM_MD5, MAILOUT_ENABLE_AUTH_CRAM_MD5},
    {MAILOUT_AUTH_XOAUTH2, MAILOUT_ENABLE_AUTH_XOAUTH2},
    {MAILOUT_AUTH_SCRAM_SHA256, MAILOUT_ENABLE_AUTH_SCRAM_SHA256},
};

static int fixed_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 7, len);
    return 0;
}

static void test_start(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
        mailout_sasl s;
        mailout_sasl_out out;
        memset(&s, 0x55, sizeof s);
        mailout_status st = mailout_sasl_start(&s, mechs[i].mech, "user", "secret", fixed_random, NULL, &out);
        assert_int_equal(st, mechs[i].enabled ? MAILOUT_OK : MAILOUT_E_AUTH_UNSUPPORTED);
        if (!mechs[i].enabled) {
            assert_int_equal(out.has_response, 0);
            assert_int_equal(mailout_sasl_finish(&s), MAILOUT_E_AUTH);
        }
        /* names are known whether or not the code is there */
        assert_non_null(mailout_sasl_name(mechs[i].mech));
        assert_int_equal(mailout_sasl_from_name(mailout_sasl_name(mechs[i].mech),
                                                strlen(mailout_sasl_name(mechs[i].mech))),
                         mechs[i].mech);
        mailout_sasl_wipe(&s);
    }
    mailout_sasl s;
    mailout_sasl_out out;
    assert_int_equal(mailout_sasl_start_scram_nonce(&s, "user", "pencil", "abc", 3, &out),
                     MAILOUT_ENABLE_AUTH_SCRAM_SHA256 ? MAILOUT_OK : MAILOUT_E_AUTH_UNSUPPORTED);
}

static void test_pick(void **state)
{
    (void)state;
    unsigned all = 31, best = 0;
    static const unsigned order[] = {MAILOUT_AUTH_SCRAM_SHA256, MAILOUT_AUTH_CRAM_MD5, MAILOUT_AUTH_PLAIN,
                                     MAILOUT_AUTH_LOGIN};
    static const int on[] = {MAILOUT_ENABLE_AUTH_SCRAM_SHA256, MAILOUT_ENABLE_AUTH_CRAM_MD5,
                             MAILOUT_ENABLE_AUTH_PLAIN, MAILOUT_ENABLE_AUTH_LOGIN};
    for (unsigned i = 0; i < 4 && !best; i++)
        if (on[i])
            best = order[i];
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_ANY, 1, 0, 1), best);
    assert_int_equal(mailout_sasl_pick(all, MAILOUT_AUTH_ANY, 0, 1, 1),
                     MAILOUT_ENABLE_AUTH_XOAUTH2 ? MAILOUT_AUTH_XOAUTH2 : 0u);
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
        unsigned got = mailout_sasl_pick(mechs[i].mech, mechs[i].mech, 1, 1, 1);
        assert_int_equal(got, mechs[i].enabled ? mechs[i].mech : 0u);
    }
}

static void test_hashes(void **state)
{
    (void)state;
#if MAILOUT_CRYPTO_MD5
    unsigned char d[16];
    static const unsigned char md5_abc[16] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                                              0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};
    mailout_hash_once(MAILOUT_HASH_MD5, "abc", 3, d);
    assert_memory_equal(d, md5_abc, 16);
#endif
#if MAILOUT_CRYPTO_SHA256
    unsigned char e[32];
    static const unsigned char sha_abc[8] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea};
    mailout_hash_once(MAILOUT_HASH_SHA256, "abc", 3, e);
    assert_memory_equal(e, sha_abc, 8);
#endif
    unsigned char a[4] = {1, 2, 3, 4};
    mailout_crypto_wipe(a, 2);
    assert_int_equal(a[0] | a[1], 0);
    assert_int_equal(mailout_crypto_equal(a, a, 4), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
