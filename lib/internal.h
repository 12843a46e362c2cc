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

/* The domain of an address given as a literal, "[...]" of length len.
 * RFC 5321 §4.1.3 lets dcontent hold '<' and '>', but inside
 * "MAIL FROM:<a@[x>SIZE=1]>" a server that ends the path at the first
 * '>' reads "SIZE=1]>" as a parameter: only the characters IPv4, IPv6
 * and tagged literals need are accepted. Shared by the composer's and
 * the engine's address checks so the two cannot disagree. */
static inline int mailout_addr_literal_ok(const unsigned char *p, size_t len)
{
    if (len < 3 || p[0] != '[' || p[len - 1] != ']')
        return 0;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = p[i];
        int ok = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '.' || c == ':' ||
                 c == '-';
        if (!ok)
            return 0;
    }
    return 1;
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
