/*
 * mailout — where the library's memory comes from.
 *
 * mailout never calls malloc in its core (encode, message, smtp). Objects
 * that need memory take a mailout_allocator, which is either
 *
 *   - an arena: a bump allocator over memory the caller owns (a static
 *     array on bare metal). Nothing is returned to it until the caller
 *     calls mailout_arena_reset(); or
 *   - allocator hooks: the caller's own alloc/release functions (heap,
 *     RTOS pool, ...). mailout_heap_allocator() (lib/port, Linux/POSIX
 *     builds only) wraps malloc/free.
 *
 * How much memory a message needs depends on the strings set on it and on
 * the number of parts, never on the size of bodies or attachments.
 *
 * @code
 *   static unsigned char pool[4096];
 *   mailout_arena arena;
 *   mailout_allocator a;
 *   mailout_arena_init(&arena, pool, sizeof pool);
 *   a = mailout_arena_allocator(&arena);
 *   // pass &a to mailout_msg_new(), mailout_session_new(), ...
 * @endcode
 */
#ifndef MAILOUT_MEM_H
#define MAILOUT_MEM_H

#include <stddef.h>

#include <mailout/visibility.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Allocator hooks.
 *
 * alloc(ctx, size) returns memory aligned for any object type, or NULL when
 * exhausted (mailout then returns MAILOUT_E_NOMEM and leaves the object it
 * was changing as it was). release(ctx, ptr, size) gives back a block
 * obtained from alloc with the same size; it may be NULL when the memory is
 * reclaimed some other way (an arena). The struct is copied by the objects
 * that take it; ctx must outlive them.
 */
typedef struct mailout_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*release)(void *ctx, void *ptr, size_t size);
    void *ctx;
} mailout_allocator;

/** A bump allocator over caller memory. Fields are private. */
typedef struct mailout_arena {
    unsigned char *MAILOUT_PRIVATE(base);
    size_t MAILOUT_PRIVATE(size);
    size_t MAILOUT_PRIVATE(used);
} mailout_arena;

/**
 * @brief Start an arena over @p mem (@p size bytes).
 *
 * The memory stays owned by the caller and must outlive every object
 * allocated from the arena. Misaligned @p mem is fine: the arena aligns
 * each block itself.
 */
MAILOUT_API void mailout_arena_init(mailout_arena *arena, void *mem, size_t size);

/** @brief Allocator hooks that draw from @p arena (release is a no-op). */
MAILOUT_API mailout_allocator mailout_arena_allocator(mailout_arena *arena);

/**
 * @brief Forget every allocation: the whole arena is free again.
 *
 * Every object allocated from it must no longer be used.
 */
MAILOUT_API void mailout_arena_reset(mailout_arena *arena);

/** @brief Bytes handed out so far (including alignment padding). */
MAILOUT_API size_t mailout_arena_used(const mailout_arena *arena);

/**
 * @brief malloc/free hooks. Only in hosted builds (lib/port/heap.c); the core
 * never refers to it.
 */
MAILOUT_API mailout_allocator mailout_heap_allocator(void);

#ifdef __cplusplus
}
#endif

#endif /* MAILOUT_MEM_H */
