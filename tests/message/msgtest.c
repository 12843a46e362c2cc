#include "msgtest.h"

#include <stdlib.h>
#include <string.h>

mailout_status msgtest_read(mailout_msg *m, const size_t *windows, size_t nwindows, unsigned char *out, size_t cap,
                            size_t *len)
{
    size_t total = 0, i = 0;
    unsigned spins = 0;
    for (;;) {
        size_t w = windows ? windows[i++ % nwindows] : cap - total;
        if (w > cap - total)
            w = cap - total;
        assert_true(w > 0);
        size_t n = 12345;
        mailout_status st = mailout_msg_read(m, out + total, w, &n);
        assert_true(n <= w);
        total += n;
        if (st == MAILOUT_AGAIN) {
            assert_true(++spins < 1000000);
            continue;
        }
        if (st != MAILOUT_OK) {
            *len = total;
            return st;
        }
        assert_true(n > 0 || w == 0);
    }
}

mailout_status msgtest_read_flags(mailout_msg *m, unsigned flags, size_t window, unsigned char *out, size_t cap,
                                  size_t *len)
{
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, flags));
    return msgtest_read(m, window ? &window : NULL, 1, out, cap, len);
}

typedef struct alloc_hdr {
    size_t size;
    max_align_t pad;
} alloc_hdr;

static void *ma_alloc(void *ctx, size_t size)
{
    msgtest_alloc *a = ctx;
    if (++a->calls == a->fail_at)
        return NULL;
    unsigned char *p = malloc(sizeof(alloc_hdr) + size);
    if (!p)
        return NULL;
    ((alloc_hdr *)(void *)p)->size = size;
    a->live++;
    return p + sizeof(alloc_hdr);
}

static void ma_release(void *ctx, void *ptr, size_t size)
{
    msgtest_alloc *a = ctx;
    unsigned char *p = (unsigned char *)ptr - sizeof(alloc_hdr);
    /* the size given back must be the size asked for */
    assert_int_equal(((alloc_hdr *)(void *)p)->size, size);
    a->live--;
    free(p);
}

mailout_allocator msgtest_alloc_init(msgtest_alloc *a, unsigned fail_at)
{
    mailout_allocator al = {ma_alloc, ma_release, a};
    memset(a, 0, sizeof *a);
    a->fail_at = fail_at;
    return al;
}

mailout_msg *msgtest_basic(testutil_env *te, mailout_env *env)
{
    mailout_allocator al = mailout_heap_allocator();
    mailout_msg *m = NULL;
    *env = testutil_env_init(te);
    assert_status(MAILOUT_OK, mailout_msg_new(&m, &al));
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, env));
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "a@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_TO, "b@example.com", NULL));
    return m;
}

void msgtest_assert_lines(const unsigned char *p, size_t len, size_t max)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n') {
            if (i == 0 || p[i - 1] != '\r')
                fail_msg("bare LF at %zu", i);
            if (i - 1 - start > max)
                fail_msg("line at %zu has %zu bytes (max %zu)", start, i - 1 - start, max);
            start = i + 1;
        } else if (p[i] == '\r' && (i + 1 >= len || p[i + 1] != '\n')) {
            fail_msg("bare CR at %zu", i);
        }
    }
    if (start != len)
        fail_msg("message does not end with CRLF");
}

void msgtest_src_init(msgtest_src *s, const void *data, size_t len, size_t chunk)
{
    memset(s, 0, sizeof *s);
    s->data = data;
    s->len = len;
    s->chunk = chunk;
}

mailout_status msgtest_produce(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    msgtest_src *s = ctx;
    unsigned call = s->calls++;
    *produced = 0;
    if (call < 32 && (s->again_mask >> call) & 1u)
        return MAILOUT_AGAIN;
    if (s->fail)
        return MAILOUT_E_IO;
    const unsigned char *d = s->later && s->rewinds ? s->later : s->data;
    size_t total = s->len + s->extra, n = s->chunk;
    if (n > cap)
        n = cap;
    if (n > total - s->pos)
        n = total - s->pos;
    for (size_t i = 0; i < n; i++)
        buf[i] = s->pos + i < s->len ? d[s->pos + i] : 'x';
    s->pos += n;
    *produced = n;
    return s->pos == total ? MAILOUT_DONE : MAILOUT_OK;
}

mailout_status msgtest_rewind(void *ctx)
{
    msgtest_src *s = ctx;
    s->pos = 0;
    s->rewinds++;
    return MAILOUT_OK;
}
