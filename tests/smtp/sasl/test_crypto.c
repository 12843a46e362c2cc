/*
 * Built-in hash primitives (lib/smtp/crypto.h) against the published
 * vectors: RFC 1321 (MD5), FIPS 180-4 examples (SHA-256), RFC 2202 and
 * RFC 4231 (HMAC), RFC 7914 §11 and the RFC 6070-style SHA-256 set
 * (PBKDF2). Streaming is checked split at every offset and byte by byte.
 * With wolfSSL installed, random inputs are also compared with wolfCrypt.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "crypto_once.h"

#ifdef TEST_WOLFCRYPT
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/md5.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/sha256.h>
#endif

static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
    return n;
}

static void assert_hex(const char *hex, const unsigned char *got, size_t got_len)
{
    unsigned char exp[128];
    size_t n = unhex(hex, exp);
    assert_bytes_equal(exp, n, got, got_len);
}

static void check_hash(mailout_hash_alg alg, const char *msg, const char *hex)
{
    unsigned char d[MAILOUT_HASH_MAX_LEN];
    mailout_hash_once(alg, msg, strlen(msg), d);
    assert_hex(hex, d, mailout_hash_len(alg));
}

static void test_md5_rfc1321(void **state)
{
    (void)state;
    assert_int_equal(mailout_hash_len(MAILOUT_HASH_MD5), 16);
    /* RFC 1321 appendix A.5 */
    check_hash(MAILOUT_HASH_MD5, "", "d41d8cd98f00b204e9800998ecf8427e");
    check_hash(MAILOUT_HASH_MD5, "a", "0cc175b9c0f1b6a831c399e269772661");
    check_hash(MAILOUT_HASH_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72");
    check_hash(MAILOUT_HASH_MD5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0");
    check_hash(MAILOUT_HASH_MD5, "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
    check_hash(MAILOUT_HASH_MD5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
               "d174ab98d277d9f5a5611c2c9f419d9f");
    check_hash(MAILOUT_HASH_MD5,
               "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
               "57edf4a22be3c955ac49da2e2107b67a");
}

static void test_sha256_fips(void **state)
{
    (void)state;
    assert_int_equal(mailout_hash_len(MAILOUT_HASH_SHA256), 32);
    check_hash(MAILOUT_HASH_SHA256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_hash(MAILOUT_HASH_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 448 bits: the padding needs a second block */
    check_hash(MAILOUT_HASH_SHA256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a(void **state)
{
    (void)state;
    unsigned char chunk[1000], d[32];
    mailout_hash c;
    memset(chunk, 'a', sizeof chunk);
    mailout_hash_init(&c, MAILOUT_HASH_SHA256);
    /* 997-byte pieces so that updates straddle block edges */
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < 997 ? left : 997;
        mailout_hash_update(&c, chunk, n);
        left -= n;
    }
    mailout_hash_final(&c, d);
    assert_hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", d, 32);
}

/* Every length 0..130 (each padding case around 55/56/64 bytes): the hash
 * of the concatenated digests of msg_n, msg_n[i] = (7i + n) & 0xff. The
 * expected values were computed with Python's hashlib. */
static void check_chain(mailout_hash_alg alg, const char *hex)
{
    mailout_hash chain;
    unsigned char msg[130], d[32];
    mailout_hash_init(&chain, alg);
    for (size_t n = 0; n <= sizeof msg; n++) {
        for (size_t i = 0; i < n; i++)
            msg[i] = (unsigned char)(i * 7 + n);
        mailout_hash_once(alg, msg, n, d);
        mailout_hash_update(&chain, d, mailout_hash_len(alg));
    }
    mailout_hash_final(&chain, d);
    assert_hex(hex, d, mailout_hash_len(alg));
}

static void test_hash_every_length(void **state)
{
    (void)state;
    check_chain(MAILOUT_HASH_MD5, "df6954f2171934b3a1d651b1bf28ce12");
    check_chain(MAILOUT_HASH_SHA256, "969b9f993f9c27e8424a46288c5b7999eee502a7befa92cad6cfef1034d76c51");
}

/* Split into two updates at every offset, into three around every block
 * edge, and fed byte by byte: always the one-shot digest. */
static void check_splits(mailout_hash_alg alg)
{
    unsigned char msg[200], whole[32], got[32];
    size_t dl = mailout_hash_len(alg);
    mailout_hash c;
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 31 + 5);
    mailout_hash_once(alg, msg, sizeof msg, whole);

    for (size_t cut = 0; cut <= sizeof msg; cut++) {
        mailout_hash_init(&c, alg);
        mailout_hash_update(&c, msg, cut);
        mailout_hash_update(&c, msg + cut, sizeof msg - cut);
        mailout_hash_final(&c, got);
        assert_bytes_equal(whole, dl, got, dl);
    }
    for (size_t a = 0; a <= 70; a++) {
        for (size_t b = a; b <= 140; b += 7) {
            mailout_hash_init(&c, alg);
            mailout_hash_update(&c, msg, a);
            mailout_hash_update(&c, msg + a, b - a);
            mailout_hash_update(&c, msg + b, sizeof msg - b);
            mailout_hash_final(&c, got);
            assert_bytes_equal(whole, dl, got, dl);
        }
    }
    mailout_hash_init(&c, alg);
    for (size_t i = 0; i < sizeof msg; i++)
        mailout_hash_update(&c, msg + i, 1);
    mailout_hash_update(&c, NULL, 0);
    mailout_hash_final(&c, got);
    assert_bytes_equal(whole, dl, got, dl);
}

static void test_hash_splits(void **state)
{
    (void)state;
    check_splits(MAILOUT_HASH_MD5);
    check_splits(MAILOUT_HASH_SHA256);
}

typedef struct hmac_vec {
    const char *key_hex;
    size_t key_rep; /* key_hex repeated this many times (0 = once) */
    const char *data;
    const char *data_hex;
    size_t data_rep;
    const char *mac;
} hmac_vec;

static size_t build(const char *hex, const char *text, size_t rep, unsigned char *out)
{
    if (text) {
        memcpy(out, text, strlen(text));
        return strlen(text);
    }
    unsigned char one[64];
    size_t n = unhex(hex, one), o = 0;
    for (size_t r = 0; r < (rep ? rep : 1); r++, o += n)
        memcpy(out + o, one, n);
    return o;
}

static void check_hmac(mailout_hash_alg alg, const hmac_vec *v, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        unsigned char key[200], data[200], mac[32], exp[32];
        size_t kl = build(v[i].key_hex, NULL, v[i].key_rep, key);
        size_t dl = build(v[i].data_hex, v[i].data, v[i].data_rep, data);
        size_t ml = unhex(v[i].mac, exp);
        mailout_hmac_once(alg, key, kl, data, dl, mac);
        assert_bytes_equal(exp, ml, mac, ml); /* truncated vectors compare a prefix */

        /* streaming: split at every offset */
        for (size_t cut = 0; cut <= dl; cut++) {
            mailout_hmac m;
            unsigned char got[32];
            mailout_hmac_init(&m, alg, key, kl);
            mailout_hmac_update(&m, data, cut);
            mailout_hmac_update(&m, data + cut, dl - cut);
            mailout_hmac_final(&m, got);
            assert_bytes_equal(mac, mailout_hash_len(alg), got, mailout_hash_len(alg));
            /* final wipes the context */
            static const mailout_hmac zero;
            assert_memory_equal(&m, &zero, sizeof m);
        }
    }
}

static void test_hmac_md5_rfc2202(void **state)
{
    (void)state;
    static const hmac_vec v[] = {
        {"0b", 16, "Hi There", NULL, 0, "9294727a3638bb1c13f48ef8158bfc9d"},
        {"4a656665", 0, "what do ya want for nothing?", NULL, 0, "750c783e6ab0b503eaa86e310a5db738"},
        {"aa", 16, NULL, "dd", 50, "56be34521d144c88dbb8c733f0e8b3f6"},
        {"0102030405060708090a0b0c0d0e0f10111213141516171819", 0, NULL, "cd", 50,
         "697eaf0aca3a3aea3a75164746ffaa79"},
        {"0c", 16, "Test With Truncation", NULL, 0, "56461ef2342edc00f9bab995690efd4c"},
        {"aa", 80, "Test Using Larger Than Block-Size Key - Hash Key First", NULL, 0,
         "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"},
        {"aa", 80, "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data", NULL, 0,
         "6f630fad67cda0ee1fb1f562db3aa53e"},
    };
    check_hmac(MAILOUT_HASH_MD5, v, sizeof v / sizeof v[0]);
}

static void test_hmac_sha256_rfc4231(void **state)
{
    (void)state;
    static const hmac_vec v[] = {
        {"0b", 20, "Hi There", NULL, 0, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665", 0, "what do ya want for nothing?", NULL, 0,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"aa", 20, NULL, "dd", 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"0102030405060708090a0b0c0d0e0f10111213141516171819", 0, NULL, "cd", 50,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"0c", 20, "Test With Truncation", NULL, 0, "a3b6167473100ee06e0c796c2955552b"},
        {"aa", 131, "Test Using Larger Than Block-Size Key - Hash Key First", NULL, 0,
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {"aa", 131,
         "This is a test using a larger than block-size key and a larger than block-size data. The key needs "
         "to be hashed before being used by the HMAC algorithm.",
         NULL, 0, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    check_hmac(MAILOUT_HASH_SHA256, v, sizeof v / sizeof v[0]);
}

static void check_pbkdf2(const char *pw, const char *salt, uint32_t c, const char *hex)
{
    unsigned char exp[64], got[65];
    size_t n = unhex(hex, exp);
    memset(got, 0xee, sizeof got);
    mailout_pbkdf2_ws ws;
    static const mailout_pbkdf2_ws zero;
    mailout_pbkdf2_sha256(&ws, pw, strlen(pw), salt, strlen(salt), c, got, n);
    assert_bytes_equal(exp, n, got, n);
    assert_memory_equal(&ws, &zero, sizeof ws); /* working memory wiped */
    assert_int_equal(got[n], 0xee); /* nothing written past out_len */
}

static void test_pbkdf2_sha256(void **state)
{
    (void)state;
    /* RFC 7914 §11 */
    check_pbkdf2("passwd", "salt", 1,
                 "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                 "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    check_pbkdf2("Password", "NaCl", 80000,
                 "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                 "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
    /* the RFC 6070 inputs with SHA-256 (SCRAM's usual 4096 rounds) */
    check_pbkdf2("password", "salt", 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
    /* 40 bytes: the second block is truncated */
    check_pbkdf2("passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096,
                 "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9");
    /* 0 iterations counts as 1 */
    check_pbkdf2("passwd", "salt", 0, "55ac046e56e3089fec1691c22544b605");
}

static void test_wipe_equal(void **state)
{
    (void)state;
    unsigned char a[40], b[40];
    memset(a, 0x5a, sizeof a);
    memcpy(b, a, sizeof b);
    assert_int_equal(mailout_crypto_equal(a, b, sizeof a), 1);
    assert_int_equal(mailout_crypto_equal(a, b, 0), 1);
    for (size_t i = 0; i < sizeof a; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            b[i] ^= (unsigned char)(1u << bit);
            assert_int_equal(mailout_crypto_equal(a, b, sizeof a), 0);
            b[i] ^= (unsigned char)(1u << bit);
        }
    }
    mailout_crypto_wipe(a + 3, 30);
    for (size_t i = 0; i < sizeof a; i++)
        assert_int_equal(a[i], i >= 3 && i < 33 ? 0 : 0x5a);
}

#ifdef TEST_WOLFCRYPT
static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Differential check: random keys, messages and chunkings. */
static void test_against_wolfcrypt(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    unsigned char msg[300], key[150], a[64], b[64];
    for (unsigned round = 0; round < 300; round++) {
        size_t ml = rng_next(&seed) % sizeof msg, kl = rng_next(&seed) % sizeof key;
        for (size_t i = 0; i < ml; i++)
            msg[i] = (unsigned char)rng_next(&seed);
        for (size_t i = 0; i < kl; i++)
            key[i] = (unsigned char)rng_next(&seed);

        wc_Md5 md5;
        assert_int_equal(wc_InitMd5(&md5), 0);
        assert_int_equal(wc_Md5Update(&md5, msg, (word32)ml), 0);
        assert_int_equal(wc_Md5Final(&md5, b), 0);
        mailout_hash_once(MAILOUT_HASH_MD5, msg, ml, a);
        assert_bytes_equal(b, 16, a, 16);

        wc_Sha256 sha;
        assert_int_equal(wc_InitSha256(&sha), 0);
        assert_int_equal(wc_Sha256Update(&sha, msg, (word32)ml), 0);
        assert_int_equal(wc_Sha256Final(&sha, b), 0);
        mailout_hash_once(MAILOUT_HASH_SHA256, msg, ml, a);
        assert_bytes_equal(b, 32, a, 32);

        static const struct {
            int wc;
            mailout_hash_alg alg;
            size_t len;
        } hm[] = {{WC_MD5, MAILOUT_HASH_MD5, 16}, {WC_SHA256, MAILOUT_HASH_SHA256, 32}};
        for (unsigned h = 0; h < 2; h++) {
            Hmac wh;
            assert_int_equal(wc_HmacInit(&wh, NULL, INVALID_DEVID), 0);
            /* wolfSSL FIPS-style builds refuse short HMAC keys; ours don't */
            if (wc_HmacSetKey(&wh, hm[h].wc, key, (word32)kl) == 0) {
                assert_int_equal(wc_HmacUpdate(&wh, msg, (word32)ml), 0);
                assert_int_equal(wc_HmacFinal(&wh, b), 0);
                mailout_hmac_once(hm[h].alg, key, kl, msg, ml, a);
                assert_bytes_equal(b, hm[h].len, a, hm[h].len);
            }
            wc_HmacFree(&wh);
        }

        if (round % 30 == 0) {
            size_t dl = 1 + rng_next(&seed) % 64;
            int iter = 1 + (int)(rng_next(&seed) % 50);
            if (wc_PBKDF2(b, key, (int)kl, msg, (int)(ml % 40), iter, (int)dl, WC_SHA256) == 0) {
                mailout_pbkdf2_ws ws;
                mailout_pbkdf2_sha256(&ws, key, kl, msg, ml % 40, (uint32_t)iter, a, dl);
                assert_bytes_equal(b, dl, a, dl);
            }
        }
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_rfc1321),
        cmocka_unit_test(test_sha256_fips),
        cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test(test_hash_every_length),
        cmocka_unit_test(test_hash_splits),
        cmocka_unit_test(test_hmac_md5_rfc2202),
        cmocka_unit_test(test_hmac_sha256_rfc4231),
        cmocka_unit_test(test_pbkdf2_sha256),
        cmocka_unit_test(test_wipe_equal),
#ifdef TEST_WOLFCRYPT
        cmocka_unit_test(test_against_wolfcrypt),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
