/* The arena allocator: alignment, exact exhaustion, no size wrap-around. */
#include <stdalign.h>
#include <string.h>

#include "testutil.h"

static void test_alignment_and_exhaustion(void **state)
{
    (void)state;
    static unsigned char pool[256 + 1];
    mailout_arena arena;
    /* Misaligned start: the arena must align blocks itself. */
    mailout_arena_init(&arena, pool + 1, 256);
    mailout_allocator a = mailout_arena_allocator(&arena);
    assert_null(a.release);

    void *p1 = a.alloc(a.ctx, 1);
    void *p2 = a.alloc(a.ctx, 3);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_int_equal((uintptr_t)p1 % alignof(max_align_t), 0);
    assert_int_equal((uintptr_t)p2 % alignof(max_align_t), 0);
    assert_true((unsigned char *)p2 >= (unsigned char *)p1 + 1);

    size_t used = mailout_arena_used(&arena);
    assert_true(used <= 256);
    /* Exactly what is left is still available; one byte more is not. */
    void *big = a.alloc(a.ctx, 256);
    assert_null(big);
    assert_int_equal(mailout_arena_used(&arena), used);
    assert_null(a.alloc(a.ctx, SIZE_MAX));
    assert_null(a.alloc(a.ctx, 0));

    mailout_arena_reset(&arena);
    assert_int_equal(mailout_arena_used(&arena), 0);
    assert_non_null(a.alloc(a.ctx, 200));
}

static void test_fill_exactly(void **state)
{
    (void)state;
    alignas(max_align_t) static unsigned char pool[64];
    mailout_arena arena;
    mailout_arena_init(&arena, pool, sizeof pool);
    mailout_allocator a = mailout_arena_allocator(&arena);
    assert_ptr_equal(a.alloc(a.ctx, 64), pool);
    assert_null(a.alloc(a.ctx, 1));
}

static void test_null_memory(void **state)
{
    (void)state;
    mailout_arena arena;
    mailout_arena_init(&arena, NULL, 100);
    mailout_allocator a = mailout_arena_allocator(&arena);
    assert_null(a.alloc(a.ctx, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_exhaustion),
        cmocka_unit_test(test_fill_exactly),
        cmocka_unit_test(test_null_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
