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

/* HMAC's key K (RFC 2104 §2): the key itself, or H(key) in @p kh when it
 * is longer than a block (*len updated), hashed in @p scratch. */
static const unsigned char *hmac_key(mailout_hash *scratch, mailout_hash_alg alg, const void *key, size_t *len,
                                     unsigned char *kh)
{
    if (*len <= MAILOUT_HASH_BLOCK)
        return key;
    mailout_hash_init(scratch, alg);
    mailout_hash_update(scratch, key, *len);
    mailout_hash_final(scratch, kh);
    *len = mailout_hash_len(alg);
    return kh;
}

void mailout_hmac_init(mailout_hmac *m, mailout_hash_alg alg, const void *key, size_t key_len)
{
    /* The pad blocks are built inside the contexts (mailout_hash_start_keyed):
     * no 64-byte key copy on the stack, and K = H(key) only needs a digest
     * (hashed in the outer context, which starts only below). */
    unsigned char kh[MAILOUT_HASH_MAX_LEN];
    const unsigned char *k = hmac_key(&m->outer, alg, key, &key_len, kh);
    mailout_hash_start_keyed(&m->inner, alg, k, key_len, 0x36);
    mailout_hash_start_keyed(&m->outer, alg, k, key_len, 0x5c);
    mailout_crypto_wipe(kh, sizeof kh);
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

#endif /* MAILOUT_CRYPTO_HMAC */

#if MAILOUT_CRYPTO_SHA256

/* Continue from a saved state that has absorbed exactly one block. */
static void resume(mailout_hash *c, const uint32_t h[8])
{
    mailout_hash_init(c, MAILOUT_HASH_SHA256);
    memcpy(c->h, h, sizeof c->h);
    c->len = MAILOUT_HASH_BLOCK;
}

/* The message is in the inner hash (ws->ctx): ws->u = HMAC(P, message). */
static void prf_outer(mailout_pbkdf2_ws *ws)
{
    mailout_hash_final(&ws->ctx, ws->u);
    resume(&ws->ctx, ws->oh);
    mailout_hash_update(&ws->ctx, ws->u, sizeof ws->u);
    mailout_hash_final(&ws->ctx, ws->u);
}

/* ws->u = HMAC(P, ws->u) from the saved pad states. */
static void prf(mailout_pbkdf2_ws *ws)
{
    resume(&ws->ctx, ws->ih);
    mailout_hash_update(&ws->ctx, ws->u, sizeof ws->u);
    prf_outer(ws);
}

void mailout_pbkdf2_sha256_key(mailout_pbkdf2_ws *ws, const void *password, size_t password_len)
{
    /* The key's two pad blocks are hashed once and their states kept: every
     * U_j then costs two compressions instead of four, which halves the
     * work of the 4096+ rounds SCRAM asks for. */
    const unsigned char *key = hmac_key(&ws->ctx, MAILOUT_HASH_SHA256, password, &password_len, ws->t);
    mailout_hash_start_keyed(&ws->ctx, MAILOUT_HASH_SHA256, key, password_len, 0x36);
    memcpy(ws->ih, ws->ctx.h, sizeof ws->ih);
    mailout_hash_start_keyed(&ws->ctx, MAILOUT_HASH_SHA256, key, password_len, 0x5c);
    memcpy(ws->oh, ws->ctx.h, sizeof ws->oh);
    resume(&ws->ctx, ws->ih); /* the salt of block 1 follows */
}

/* T_i into ws->t, the salt already absorbed after the ipad state. */
static void block_finish(mailout_pbkdf2_ws *ws, uint32_t block, uint32_t iterations)
{
    unsigned char be[4] = {(unsigned char)(block >> 24), (unsigned char)(block >> 16), (unsigned char)(block >> 8),
                           (unsigned char)block};
    mailout_hash_update(&ws->ctx, be, sizeof be); /* U_1 = PRF(P, S || INT(i)) */
    prf_outer(ws);
    memcpy(ws->t, ws->u, sizeof ws->t);
    for (uint32_t j = 1; j < iterations; j++) { /* U_j = PRF(P, U_{j-1}) */
        prf(ws);
        for (unsigned i = 0; i < sizeof ws->t; i++)
            ws->t[i] ^= ws->u[i];
    }
}

void mailout_pbkdf2_sha256_block(mailout_pbkdf2_ws *ws, uint32_t index, uint32_t iterations, unsigned char out[32])
{
    block_finish(ws, index, iterations);
    memcpy(out, ws->t, sizeof ws->t);
    mailout_crypto_wipe(ws, sizeof *ws);
}

#endif /* MAILOUT_CRYPTO_SHA256 */
