/*
 * The outbox over a store that is not a file system: fixed "flash" slots
 * in RAM, as a firmware would implement mailout_store_ops over its own
 * flash sectors. A slot becomes visible only when its header word is
 * written last (the commit), which is how power-loss safety is obtained
 * without rename(). A "power loss" is simulated by dropping every slot
 * that was not committed.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include <mailout/outbox.h>

#define SLOTS 8
#define SLOT_BYTES 4096
#define T0 1795359340

typedef struct slot {
    int committed; /* the last word written: 1 = valid */
    int writing;
    char name[64];
    size_t len;
    unsigned char data[SLOT_BYTES];
} slot;

typedef struct flash {
    slot s[SLOTS];
    unsigned writes; /* write/commit/remove calls: the wear a firmware cares about */
} flash;

typedef struct reader {
    const slot *sl;
    size_t pos;
} reader;

static slot *find(flash *f, const char *name)
{
    for (int i = 0; i < SLOTS; i++)
        if (f->s[i].committed && !strcmp(f->s[i].name, name))
            return &f->s[i];
    return NULL;
}

static mailout_status fl_create(void *ctx, const char *name, void **h)
{
    flash *f = ctx;
    for (int i = 0; i < SLOTS; i++)
        if (!f->s[i].committed && !f->s[i].writing) {
            slot *sl = &f->s[i];
            memset(sl, 0, sizeof *sl);
            sl->writing = 1;
            snprintf(sl->name, sizeof sl->name, "%s", name);
            *h = sl;
            return MAILOUT_OK;
        }
    return MAILOUT_E_FILE; /* flash full */
}

static mailout_status fl_write(void *ctx, void *h, const void *buf, size_t len)
{
    slot *sl = h;
    ((flash *)ctx)->writes++;
    if (sl->len + len > SLOT_BYTES)
        return MAILOUT_E_FILE;
    memcpy(sl->data + sl->len, buf, len);
    sl->len += len;
    return MAILOUT_OK;
}

static mailout_status fl_commit(void *ctx, void *h)
{
    flash *f = ctx;
    slot *sl = h, *old = find(f, sl->name);
    f->writes++;
    sl->writing = 0;
    sl->committed = 1; /* visible from here on */
    if (old)
        old->committed = 0; /* then the old copy is erased */
    return MAILOUT_OK;
}

static void fl_discard(void *ctx, void *h)
{
    (void)ctx;
    memset(h, 0, sizeof(slot));
}

static mailout_status fl_open(void *ctx, const char *name, void **h, uint64_t *size)
{
    static reader readers[4];
    static unsigned next;
    slot *sl = find(ctx, name);
    reader *r;
    if (!sl)
        return MAILOUT_E_FILE;
    r = &readers[next++ % 4];
    r->sl = sl;
    r->pos = 0;
    *size = sl->len;
    *h = r;
    return MAILOUT_OK;
}

static mailout_status fl_read(void *ctx, void *h, unsigned char *buf, size_t cap, size_t *got)
{
    reader *r = h;
    size_t n = r->sl->len - r->pos < cap ? r->sl->len - r->pos : cap;
    (void)ctx;
    memcpy(buf, r->sl->data + r->pos, n);
    r->pos += n;
    *got = n;
    return n ? MAILOUT_OK : MAILOUT_DONE;
}

static void fl_close(void *ctx, void *h)
{
    (void)ctx;
    (void)h;
}

static mailout_status fl_remove(void *ctx, const char *name)
{
    slot *sl = find(ctx, name);
    ((flash *)ctx)->writes++;
    if (sl)
        sl->committed = 0;
    return MAILOUT_OK;
}

static mailout_status fl_move(void *ctx, const char *from, const char *to)
{
    slot *sl = find(ctx, from);
    if (!sl)
        return MAILOUT_E_FILE;
    snprintf(sl->name, sizeof sl->name, "%s", to);
    return MAILOUT_OK;
}

static mailout_status fl_list(void *ctx, int (*cb)(void *cbctx, const char *name), void *cbctx)
{
    flash *f = ctx;
    for (int i = 0; i < SLOTS; i++)
        if (f->s[i].committed && strncmp(f->s[i].name, "failed/", 7) && cb(cbctx, f->s[i].name))
            break;
    return MAILOUT_OK;
}

static const mailout_store_ops flash_ops = {fl_create, fl_write, fl_commit, fl_discard, fl_open,
                                            fl_read,   fl_close, fl_remove, fl_move,    fl_list};

static void power_loss(flash *f)
{
    for (int i = 0; i < SLOTS; i++)
        if (!f->s[i].committed)
            memset(&f->s[i], 0, sizeof f->s[i]);
}

static int rnd(void *ctx, void *buf, size_t len)
{
    unsigned *st = ctx;
    unsigned char *p = buf;
    while (len--)
        *p++ = (unsigned char)((*st = *st * 1103515245u + 12345u) >> 16);
    return 0;
}

static mailout_status next_result;
static unsigned char sent[SLOT_BYTES];
static size_t sent_len;

static mailout_status fake_send(void *ctx, const mailout_job *job, mailout_result *res)
{
    uint64_t size;
    size_t n;
    mailout_status st;
    (void)ctx;
    sent_len = 0;
    assert_status(MAILOUT_OK, job->body.start(job->body.ctx, 0, &size));
    do {
        st = job->body.read(job->body.ctx, sent + sent_len, sizeof sent - sent_len, &n);
        sent_len += n;
    } while (st == MAILOUT_OK);
    assert_status(MAILOUT_DONE, st);
    memset(res, 0, sizeof *res);
    res->status = next_result;
    return res->status;
}

/* Compose, queue, lose power mid-way through a second entry, then flush:
 * the committed entry is intact and delivered, the torn one is gone, and
 * only a static arena was used (no heap). */
static void test_flash_store(void **state)
{
    static flash f;
    static unsigned char pool[16384];
    static const char body[] = "Sensor 3 timed out 40 times.\n";
    mailout_arena arena;
    mailout_allocator a;
    mailout_outbox *ob;
    mailout_msg *m;
    mailout_part *p;
    testutil_env tenv;
    mailout_env env = testutil_env_init(&tenv);
    char id[MAILOUT_OUTBOX_ID_MAX];
    unsigned seed = 7;
    unsigned char exp[SLOT_BYTES];
    size_t exp_len = 0, n;
    mailout_outbox_stats stats;
    void *h;
    (void)state;

    mailout_arena_init(&arena, pool, sizeof pool);
    a = mailout_arena_allocator(&arena);
    assert_status(MAILOUT_OK, mailout_outbox_open(&ob, &flash_ops, &f, NULL, rnd, &seed, &a));
    assert_status(MAILOUT_OK, mailout_msg_new(&m, &a));
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "dev@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_TO, "support@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, body, sizeof body - 1));
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(ob, m, 0, T0, id));
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, 0));
    while (mailout_msg_read(m, exp + exp_len, sizeof exp - exp_len, &n) == MAILOUT_OK)
        exp_len += n;
    exp_len += n;

    /* a second entry torn by a power loss before its commit */
    assert_status(MAILOUT_OK, fl_create(&f, "000000006b03026d-0000000000000001.msg", &h));
    assert_status(MAILOUT_OK, fl_write(&f, h, "mailout-outbox 1 40\nfrom x", 26));
    power_loss(&f);

    next_result = MAILOUT_E_REJ_TEMP;
    assert_status(MAILOUT_OK, mailout_outbox_flush(ob, T0, NULL, fake_send, NULL, &stats));
    assert_int_equal(1, stats.deferred);
    assert_bytes_equal(exp, exp_len, sent, sent_len);
    next_result = MAILOUT_OK;
    assert_status(MAILOUT_OK, mailout_outbox_flush(ob, T0 + 60, NULL, fake_send, NULL, &stats));
    assert_int_equal(1, stats.delivered);
    assert_bytes_equal(exp, exp_len, sent, sent_len);
    for (int i = 0; i < SLOTS; i++)
        assert_int_equal(0, f.s[i].committed); /* nothing left in flash */
    mailout_msg_free(m);
    mailout_outbox_close(ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_flash_store)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
