/*
 * HMAC (RFC 2104) over MD5 or SHA-256, PBKDF2-HMAC-SHA-256 (RFC 8018
 * §5.2), and the two helpers every secret-handling caller needs: a wipe
 * the compiler cannot drop and a constant-time compare. See crypto.h.
 */
#include <string.h>

#include "smtp/crypto.h"

void mailout_crypto_wipe(void *p, size_t len)
{
    /* Stores through a volatile pointer count as observable behaviour, so
     * they survive dead-store elimination even when p dies right after. */
    volatile unsigned char *v = p;
    while (len--)
        *v++ = 0;
}

int mailout_crypto_equal(const void *a, const void *b, size_t len)
{
    const unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

#if MAILOUT_CRYPTO_HMAC

void mailout_hmac_init(mailout_hmac *m, mailout_hash_alg alg, const void *key, size_t key_len)
{
    unsigned char k[MAILOUT_HASH_BLOCK];

    memset(k, 0, sizeof k);
    if (key_len > MAILOUT_HASH_BLOCK)
        mailout_hash_once(alg, key, key_len, k); /* K = H(key), zero-padded */
    else if (key_len > 0)
        memcpy(k, key, key_len);

    /* ipad = 0x36, opad = 0x5c; 0x36 ^ 0x6a == 0x5c turns one into the other */
    for (unsigned i = 0; i < MAILOUT_HASH_BLOCK; i++)
        k[i] ^= 0x36;
    mailout_hash_init(&m->inner, alg);
    mailout_hash_update(&m->inner, k, sizeof k);
    for (unsigned i = 0; i < MAILOUT_HASH_BLOCK; i++)
        k[i] ^= 0x36 ^ 0x5c;
    mailout_hash_init(&m->outer, alg);
    mailout_hash_update(&m->outer, k, sizeof k);
    mailout_crypto_wipe(k, sizeof k);
}

void mailout_hmac_update(mailout_hmac *m, const void *data, size_t len)
{
    mailout_hash_update(&m->inner, data, len);
}

void mailout_hmac_final(mailout_hmac *m, unsigned char *out)
{
    unsigned char ih[MAILOUT_HASH_MAX_LEN];
    mailout_hash_final(&m->inner, ih);
    mailout_hash_update(&m->outer, ih, mailout_hash_len((mailout_hash_alg)m->outer.alg));
    mailout_hash_final(&m->outer, out);
    mailout_crypto_wipe(ih, sizeof ih);
    mailout_crypto_wipe(m, sizeof *m);
}

void mailout_hmac_once(mailout_hash_alg alg, const void *key, size_t key_len, const void *data, size_t len,
                  unsigned char *out)
{
    mailout_hmac m;
    mailout_hmac_init(&m, alg, key, key_len);
    mailout_hmac_update(&m, data, len);
    mailout_hmac_final(&m, out);
}

#endif /* MAILOUT_CRYPTO_HMAC */

#if MAILOUT_CRYPTO_SHA256

void mailout_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
                           uint32_t iterations, unsigned char *out, size_t out_len)
{
    /* The keyed HMAC state is computed once and copied for every U_j: the
     * key's two pad blocks then cost nothing per iteration, which halves
     * the work of the 4096+ rounds SCRAM asks for. */
    mailout_hmac keyed, m;
    unsigned char u[MAILOUT_SHA256_LEN], t[MAILOUT_SHA256_LEN];

    mailout_hmac_init(&keyed, MAILOUT_HASH_SHA256, password, password_len);
    for (uint32_t block = 1; out_len > 0; block++) {
        unsigned char be[4] = {(unsigned char)(block >> 24), (unsigned char)(block >> 16),
                               (unsigned char)(block >> 8), (unsigned char)block};
        m = keyed; /* U_1 = PRF(P, S || INT(i)) */
        mailout_hmac_update(&m, salt, salt_len);
        mailout_hmac_update(&m, be, sizeof be);
        mailout_hmac_final(&m, u);
        memcpy(t, u, sizeof t);
        for (uint32_t j = 1; j < iterations; j++) { /* U_j = PRF(P, U_{j-1}) */
            m = keyed;
            mailout_hmac_update(&m, u, sizeof u);
            mailout_hmac_final(&m, u);
            for (unsigned i = 0; i < sizeof t; i++)
                t[i] ^= u[i];
        }
        size_t n = out_len < sizeof t ? out_len : sizeof t;
        memcpy(out, t, n);
        out += n;
        out_len -= n;
    }
    mailout_crypto_wipe(&keyed, sizeof keyed);
    mailout_crypto_wipe(u, sizeof u);
    mailout_crypto_wipe(t, sizeof t);
}

#endif /* MAILOUT_CRYPTO_SHA256 */
