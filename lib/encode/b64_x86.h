/*
 * Internal: the paths of the base64 encoder (base64.c) and the hooks tests
 * use to pick one. Not installed.
 *
 * On x86-64 hosts base64.c has SSSE3 and AVX2 kernels, compiled with
 * function target attributes (the rest of the library keeps the compiler's
 * baseline flags); which one runs is chosen at run time from the CPU, once
 * per mailout_b64_init. Firmware builds (MAILOUT_SMALL) and other
 * architectures have none of it: the level is always MAILOUT_B64_SCALAR
 * there and base64.c compiles to what it was before the kernels.
 */
#ifndef MAILOUT_ENCODE_B64_X86_H
#define MAILOUT_ENCODE_B64_X86_H

#include <stddef.h>

#include <mailout/config_defaults.h>
#include <mailout/encode.h>

#if !MAILOUT_SMALL && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(MAILOUT_B64_NO_SIMD)
#define MAILOUT_B64_X86 1
#else
#define MAILOUT_B64_X86 0
#endif

/* Encoder paths, in order of preference; a level's kernel needs the CPU
 * feature of the same name. */
#define MAILOUT_B64_SCALAR 0u
#define MAILOUT_B64_SSSE3 1u /* 12 input bytes -> 16 characters per step */
#define MAILOUT_B64_AVX2 2u  /* 24 input bytes -> 32 characters per step */

#if MAILOUT_B64_X86
/* The best level this CPU runs. */
unsigned mailout_b64_best_level(void);

/*
 * Test hook: make @p e (just initialised) use @p level, or the best one
 * the CPU has if that is lower. The output is the same bytes on every
 * level; tests run each to prove it.
 */
void mailout_b64_set_level(mailout_b64 *e, unsigned level);

/* mailout_b64_encode_block on a given level (clamped as above). */
size_t mailout_b64_encode_block_level(const void *in, size_t len, char *out, size_t cap, unsigned level);
#else
/* No vector code: the same hooks for the tests, and nothing in the
 * library (its object code stays what it was). */
static inline unsigned mailout_b64_best_level(void)
{
    return MAILOUT_B64_SCALAR;
}

static inline void mailout_b64_set_level(mailout_b64 *e, unsigned level)
{
    (void)e;
    (void)level;
}

static inline size_t mailout_b64_encode_block_level(const void *in, size_t len, char *out, size_t cap,
                                                    unsigned level)
{
    (void)level;
    return mailout_b64_encode_block(in, len, out, cap);
}
#endif

#endif /* MAILOUT_ENCODE_B64_X86_H */
