/* see mailout/mem.h */
#include "internal.h"

/* Every block is aligned for the strictest fundamental type. */
#define ARENA_ALIGN (_Alignof(max_align_t))

void mailout_arena_init(mailout_arena *arena, void *mem, size_t size)
{
    arena->base = mem;
    arena->size = mem ? size : 0;
    arena->used = 0;
}

void mailout_arena_reset(mailout_arena *arena)
{
    arena->used = 0;
}

size_t mailout_arena_used(const mailout_arena *arena)
{
    return arena->used;
}

static void *arena_alloc(void *ctx, size_t size)
{
    mailout_arena *a = ctx;
    uintptr_t at = (uintptr_t)(a->base + a->used);
    size_t pad = (size_t)((ARENA_ALIGN - at % ARENA_ALIGN) % ARENA_ALIGN);

    /* Written as subtractions so no sum can wrap around. */
    if (size == 0 || a->size - a->used < pad || a->size - a->used - pad < size)
        return NULL;
    a->used += pad + size;
    return (void *)(at + pad);
}

mailout_allocator mailout_arena_allocator(mailout_arena *arena)
{
    mailout_allocator al = {arena_alloc, NULL, arena};
    return al;
}
