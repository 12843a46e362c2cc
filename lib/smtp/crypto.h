/*
 * Hash primitives for the SASL mechanisms (internal to lib/smtp).
 *
 * MD5 (RFC 1321), SHA-256 (FIPS 180-4), HMAC (RFC 2104) over either, and
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2). Written for size, not speed: no
 * heap, no globals except constant tables, no OS calls. The contexts are
 * plain structs the caller places anywhere (usually the stack).
 *
 * MD5 exists only for CRAM-MD5 and SHA-256 only for SCRAM-SHA-256: each is
 * compiled in when the mechanism that needs it is enabled
 * (MAILOUT_CRYPTO_MD5 / MAILOUT_CRYPTO_SHA256 below). Asking for a hash
 * that is compiled out is a programming error; the functions then produce
 * an all-zero digest instead of reading uninitialised state.
 *
 * Why no wolfCrypt backend: the core library is built without the wolfSSL
 * include path and must link on firmware without it; the only heavy user
 * (PBKDF2 at 4096 iterations, ~16k SHA-256 blocks) takes a few ms on a
 * PC, so a second code path would add risk and no benefit. The tests
 * compare these functions against wolfCrypt when it is installed.
 *
 * Secrets: none of these functions wipes its inputs; HMAC and PBKDF2 wipe
 * their own key-derived temporaries. Callers wipe contexts that saw a key
 * with mailout_crypto_wipe().
 */
#ifndef MAILOUT_CRYPTO_H
#define MAILOUT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <mailout/config_defaults.h>

#define MAILOUT_CRYPTO_MD5 MAILOUT_ENABLE_AUTH_CRAM_MD5
#define MAILOUT_CRYPTO_SHA256 MAILOUT_ENABLE_AUTH_SCRAM_SHA256
#define MAILOUT_CRYPTO_HMAC (MAILOUT_CRYPTO_MD5 || MAILOUT_CRYPTO_SHA256)

#define MAILOUT_MD5_LEN 16
#define MAILOUT_SHA256_LEN 32
#define MAILOUT_HASH_MAX_LEN 32
#define MAILOUT_HASH_BLOCK 64 /* both hashes use 64-byte blocks */

typedef enum mailout_hash_alg {
    MAILOUT_HASH_MD5 = 0,
    MAILOUT_HASH_SHA256 = 1
} mailout_hash_alg;

/* One context type for both hashes: they share the Merkle-Damgard framing
 * (64-byte blocks, 64-bit length) and differ only in the compression
 * function and byte order, so the framing is written once (hash.c). */
typedef struct mailout_hash {
    uint32_t h[8];                       /* chaining state (MD5 uses 4) */
    uint64_t len;                        /* bytes hashed so far */
    unsigned char blk[MAILOUT_HASH_BLOCK]; /* partial block */
    unsigned char alg;                   /* mailout_hash_alg */
} mailout_hash;

/** Digest length of @p alg in bytes. */
size_t mailout_hash_len(mailout_hash_alg alg);

void mailout_hash_init(mailout_hash *c, mailout_hash_alg alg);
void mailout_hash_update(mailout_hash *c, const void *data, size_t len);
/** Writes mailout_hash_len() bytes to @p out; @p c must be re-initialised
 *  before reuse. */
void mailout_hash_final(mailout_hash *c, unsigned char *out);
/** Start a hash with the block (key XOR pad) already absorbed, built in
 *  place in the context (HMAC's ipad/opad block); @p key_len <= 64. The
 *  block stays in c->blk: wipe the context when done. */
void mailout_hash_start_keyed(mailout_hash *c, mailout_hash_alg alg, const unsigned char *key, size_t key_len,
                              unsigned char pad);

/* Compression functions, one 64-byte block into h (md5.c, sha256.c). */
void mailout_md5_init_state(uint32_t h[4]);
void mailout_md5_block(uint32_t h[4], const unsigned char blk[64]);
void mailout_sha256_init_state(uint32_t h[8]);
/* The message schedule runs in @p blk itself (no 64-byte window on the
 * stack of the deepest call chain): the block is overwritten. */
void mailout_sha256_block(uint32_t h[8], unsigned char blk[64]);

/* HMAC (RFC 2104): the key is hashed first when longer than a block. */
typedef struct mailout_hmac {
    mailout_hash inner, outer;
} mailout_hmac;

void mailout_hmac_init(mailout_hmac *m, mailout_hash_alg alg, const void *key, size_t key_len);
void mailout_hmac_update(mailout_hmac *m, const void *data, size_t len);
/** Writes the tag (digest length) to @p out and wipes @p m. */
void mailout_hmac_final(mailout_hmac *m, unsigned char *out);

/* PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2), one 32-byte block T_i at a time:
 * key() with the password, then the salt into ws->ctx with
 * mailout_hash_update() (in pieces: SCRAM decodes it from base64 as it
 * goes, so it is never stored whole), then block() writes T_@p index
 * (blocks are numbered from 1; @p iterations of 0 counts as 1) and wipes
 * @p ws. A longer output is key/salt/block again per block. */
typedef struct mailout_pbkdf2_ws {
    mailout_hash ctx;                 /* the running hash */
    uint32_t ih[8], oh[8];            /* SHA-256 state after the ipad / opad block */
    unsigned char u[MAILOUT_SHA256_LEN], t[MAILOUT_SHA256_LEN];
} mailout_pbkdf2_ws;

/* @p ws is the working memory (about 240 bytes; the SASL state holds one,
 * so that none of it is on the stack). */
void mailout_pbkdf2_sha256_key(mailout_pbkdf2_ws *ws, const void *password, size_t password_len);
void mailout_pbkdf2_sha256_block(mailout_pbkdf2_ws *ws, uint32_t index, uint32_t iterations, unsigned char out[32]);

/** Zero @p len bytes in a way the compiler may not elide. */
void mailout_crypto_wipe(void *p, size_t len);

/** 1 if the buffers are equal; time depends only on @p len. */
int mailout_crypto_equal(const void *a, const void *b, size_t len);

#endif /* MAILOUT_CRYPTO_H */
