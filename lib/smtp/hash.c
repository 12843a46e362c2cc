/*
 * Merkle-Damgard framing shared by MD5 and SHA-256: both hash 64-byte
 * blocks and end with 0x80, zeros and the 64-bit bit count. They differ
 * in byte order (MD5 little-endian, SHA-256 big-endian) and in the
 * compression function. See crypto.h.
 */
#include <string.h>

#include "smtp/crypto.h"

#if MAILOUT_CRYPTO_HMAC

size_t mailout_hash_len(mailout_hash_alg alg)
{
    return alg == MAILOUT_HASH_MD5 ? MAILOUT_MD5_LEN : MAILOUT_SHA256_LEN;
}

static void hash_block(mailout_hash *c)
{
#if MAILOUT_CRYPTO_MD5
    if (c->alg == MAILOUT_HASH_MD5)
        mailout_md5_block(c->h, c->blk);
#endif
#if MAILOUT_CRYPTO_SHA256
    if (c->alg == MAILOUT_HASH_SHA256)
        mailout_sha256_block(c->h, c->blk);
#endif
}

void mailout_hash_init(mailout_hash *c, mailout_hash_alg alg)
{
    memset(c, 0, sizeof *c);
    c->alg = (unsigned char)alg;
#if MAILOUT_CRYPTO_MD5
    if (alg == MAILOUT_HASH_MD5)
        mailout_md5_init_state(c->h);
#endif
#if MAILOUT_CRYPTO_SHA256
    if (alg == MAILOUT_HASH_SHA256)
        mailout_sha256_init_state(c->h);
#endif
}

void mailout_hash_update(mailout_hash *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        size_t used = (size_t)(c->len % MAILOUT_HASH_BLOCK);
        size_t take = MAILOUT_HASH_BLOCK - used;
        if (take > len)
            take = len;
        memcpy(c->blk + used, p, take);
        c->len += take;
        p += take;
        len -= take;
        if (used + take == MAILOUT_HASH_BLOCK)
            hash_block(c);
    }
}

void mailout_hash_final(mailout_hash *c, unsigned char *out)
{
    int le = c->alg == MAILOUT_HASH_MD5; /* byte order of length and digest */
    uint64_t bits = c->len * 8;
    size_t used = (size_t)(c->len % MAILOUT_HASH_BLOCK);

    c->blk[used++] = 0x80;
    if (used > MAILOUT_HASH_BLOCK - 8) {
        memset(c->blk + used, 0, MAILOUT_HASH_BLOCK - used);
        hash_block(c);
        used = 0;
    }
    memset(c->blk + used, 0, MAILOUT_HASH_BLOCK - 8 - used);
    for (unsigned i = 0; i < 8; i++)
        c->blk[MAILOUT_HASH_BLOCK - 8 + i] = (unsigned char)(bits >> (le ? 8 * i : 56 - 8 * i));
    hash_block(c);

    size_t words = mailout_hash_len((mailout_hash_alg)c->alg) / 4;
    for (size_t i = 0; i < words; i++)
        for (unsigned j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(c->h[i] >> (le ? 8 * j : 24 - 8 * j));
}

void mailout_hash_start_keyed(mailout_hash *c, mailout_hash_alg alg, const unsigned char *key, size_t key_len,
                              unsigned char pad)
{
    mailout_hash_init(c, alg);
    for (size_t i = 0; i < MAILOUT_HASH_BLOCK; i++)
        c->blk[i] = (unsigned char)((i < key_len ? key[i] : 0) ^ pad);
    c->len = MAILOUT_HASH_BLOCK;
    hash_block(c);
}

#endif /* MAILOUT_CRYPTO_HMAC */
