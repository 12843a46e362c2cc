/*
 * Internal header shared by every layer of the library. Not installed.
 */
#ifndef MAILOUT_INTERNAL_H
#define MAILOUT_INTERNAL_H

#ifndef MAILOUT_ALLOW_PRIVATE_ACCESS
#define MAILOUT_ALLOW_PRIVATE_ACCESS
#endif

#include <stddef.h>
#include <stdint.h>

#include <mailout/config_defaults.h>
#include <mailout/mem.h>
#include <mailout/status.h>

#define MAILOUT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAILOUT_MIN(a, b) ((a) < (b) ? (a) : (b))

/* Keeps a helper's frame out of its caller's: for functions on the deep
 * call chains (footprint.sh's stack check), where inlining would add a
 * big frame to a path that does not need it. */
#if defined(__GNUC__) || defined(__clang__)
#define MAILOUT_NOINLINE __attribute__((noinline))
#else
#define MAILOUT_NOINLINE
#endif

/* Whether byte c (not NUL) is one of the characters of set. A loop of its
 * own rather than strchr(): newlib's word-at-a-time strchr, memchr and
 * memmove cost ~600 bytes of a firmware image for a few short lookups. */
static inline int mailout_in_set(const char *set, unsigned char c)
{
    for (; *set; set++)
        if ((unsigned char)*set == c)
            return 1;
    return 0;
}

/* n / d (d > 0), and n % d in *rem unless rem is NULL. Plain code instead
 * of the compiler's 64-bit division, which drags ~700 bytes of libgcc into
 * a 32-bit firmware image; used only off the per-byte paths. */
uint64_t mailout_u64_divmod(uint64_t n, uint32_t d, uint32_t *rem);

/* Allocate through an allocator; NULL when exhausted. */
static inline void *mailout_alloc(const mailout_allocator *al, size_t size)
{
    return al->alloc ? al->alloc(al->ctx, size) : NULL;
}

static inline void mailout_release(const mailout_allocator *al, void *ptr, size_t size)
{
    if (ptr && al->release)
        al->release(al->ctx, ptr, size);
}

#endif /* MAILOUT_INTERNAL_H */
