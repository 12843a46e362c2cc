/*
 * SHA-256 compression function (FIPS 180-4 §6.2.2), for SCRAM-SHA-256.
 * The block framing (padding, length) is shared with MD5 in hash.c.
 * The 64 rounds and the message schedule run as rolled loops over a
 * 16-word window (W[t] is only needed for 16 rounds), which keeps both
 * code and stack small at some cost in speed.
 */
#include <string.h>

#include "smtp/crypto.h"

#if MAILOUT_CRYPTO_SHA256

/* First 32 bits of the fractional parts of the cube roots of the first 64
 * primes (FIPS 180-4 §4.2.2). */
static const uint32_t sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* First 32 bits of the fractional parts of the square roots of the first
 * 8 primes (FIPS 180-4 §5.3.3). */
static const uint32_t sha256_h0[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

static uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

void mailout_sha256_init_state(uint32_t h[8])
{
    for (unsigned i = 0; i < 8; i++)
        h[i] = sha256_h0[i];
}

/* Word i of the 16-word window kept in the block (native byte order). */
static uint32_t wget(const unsigned char *blk, unsigned i)
{
    uint32_t v;
    memcpy(&v, blk + 4 * (i & 15), 4);
    return v;
}

static void wput(unsigned char *blk, unsigned i, uint32_t v)
{
    memcpy(blk + 4 * (i & 15), &v, 4);
}

void mailout_sha256_block(uint32_t h[8], unsigned char blk[64])
{
    uint32_t v[8];
    for (unsigned i = 0; i < 16; i++) /* big-endian words, in place */
        wput(blk, i, (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 | (uint32_t)blk[4 * i + 2] << 8 |
                         (uint32_t)blk[4 * i + 3]);
    for (unsigned i = 0; i < 8; i++)
        v[i] = h[i];

    for (unsigned t = 0; t < 64; t++) {
        if (t >= 16) { /* W[t] replaces W[t-16] in the window */
            uint32_t w15 = wget(blk, t - 15), w2 = wget(blk, t - 2);
            uint32_t s0 = ror(w15, 7) ^ ror(w15, 18) ^ (w15 >> 3);
            uint32_t s1 = ror(w2, 17) ^ ror(w2, 19) ^ (w2 >> 10);
            wput(blk, t, wget(blk, t) + s0 + wget(blk, t - 7) + s1);
        }
        /* v = a b c d e f g h */
        uint32_t e = v[4], a = v[0];
        uint32_t t1 = v[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & v[5]) ^ (~e & v[6])) + sha256_k[t] +
                      wget(blk, t);
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
        for (unsigned i = 7; i > 0; i--)
            v[i] = v[i - 1];
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (unsigned i = 0; i < 8; i++)
        h[i] += v[i];
}

#endif /* MAILOUT_CRYPTO_SHA256 */
