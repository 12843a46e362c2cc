/* see mailout/mem.h: the malloc-backed allocator for hosted builds. It lives
 * outside the core so that the core's objects never refer to malloc/free. */
#include <stdlib.h>

#include "internal.h"

static void *heap_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void heap_release(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    (void)size;
    free(ptr);
}

mailout_allocator mailout_heap_allocator(void)
{
    mailout_allocator al = {heap_alloc, heap_release, NULL};
    return al;
}
