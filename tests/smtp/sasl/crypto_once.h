/*
 * One-shot hash and HMAC for the tests. The library only ever hashes in
 * steps, so these live here rather than in its ROM.
 */
#ifndef TEST_CRYPTO_ONCE_H
#define TEST_CRYPTO_ONCE_H

#include <stdint.h>
#include <string.h>

#include "smtp/crypto.h"

static inline void mailout_hash_once(mailout_hash_alg alg, const void *data, size_t len, unsigned char *out)
{
    mailout_hash c;
    mailout_hash_init(&c, alg);
    mailout_hash_update(&c, data, len);
    mailout_hash_final(&c, out);
}

static inline void mailout_hmac_once(mailout_hash_alg alg, const void *key, size_t key_len, const void *data,
                                     size_t len, unsigned char *out)
{
    mailout_hmac m;
    mailout_hmac_init(&m, alg, key, key_len);
    mailout_hmac_update(&m, data, len);
    mailout_hmac_final(&m, out);
}

#if MAILOUT_CRYPTO_SHA256
/* PBKDF2-HMAC-SHA-256 of any output length, from the library's
 * one-block steps. */
static inline void mailout_pbkdf2_sha256(mailout_pbkdf2_ws *ws, const void *password, size_t password_len,
                                         const void *salt, size_t salt_len, uint32_t iterations, unsigned char *out,
                                         size_t out_len)
{
    unsigned char t[32];
    for (uint32_t block = 1; out_len > 0; block++) {
        mailout_pbkdf2_sha256_key(ws, password, password_len);
        mailout_hash_update(&ws->ctx, salt, salt_len);
        mailout_pbkdf2_sha256_block(ws, block, iterations, t);
        size_t n = out_len < sizeof t ? out_len : sizeof t;
        memcpy(out, t, n);
        out += n;
        out_len -= n;
    }
}
#endif

#endif /* TEST_CRYPTO_ONCE_H */
