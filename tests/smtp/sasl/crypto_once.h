/*
 * One-shot hash and HMAC for the tests. The library only ever hashes in
 * steps, so these live here rather than in its ROM.
 */
#ifndef TEST_CRYPTO_ONCE_H
#define TEST_CRYPTO_ONCE_H

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

#endif /* TEST_CRYPTO_ONCE_H */
