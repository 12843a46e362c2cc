/*
 * The persistent outbox over the POSIX store, with a scripted "send"
 * function standing in for the network: each test says what the next
 * attempts return and checks the entries, the failed/ folder and the
 * exact bytes each attempt carried.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include <mailout/outbox.h>

#define T0 1795359340 /* the test clock's "now" */

typedef struct fixture {
    char dir[64];
    testutil_env tenv;
    mailout_env env;
    mailout_allocator alloc;
    mailout_outbox *ob;
    /* scripted send */
    mailout_status script[8];
    unsigned nscript;
    unsigned calls;
    uint16_t codes[2]; /* RCPT codes the next attempt reports */
    unsigned char got[4096];
    size_t got_len;
    char got_from[64];
    char got_rcpt[4][64];
    size_t got_nrcpt;
} fixture;

static int test_random(void *ctx, void *buf, size_t len)
{
    testutil_env *e = ctx;
    unsigned char *p = buf;
    while (len--) {
        e->rng ^= e->rng << 13;
        e->rng ^= e->rng >> 7;
        e->rng ^= e->rng << 17;
        *p++ = (unsigned char)e->rng;
    }
    return 0;
}

/* Reads the whole body of @p job the way the engine would. */
static mailout_status fake_send(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *rcpt_codes)
{
    fixture *f = ctx;
    uint64_t size = 0;
    size_t i, n = 0;
    mailout_status st;
    f->got_len = 0;
    snprintf(f->got_from, sizeof f->got_from, "%s", job->mail_from);
    f->got_nrcpt = job->rcpt_count;
    for (i = 0; i < job->rcpt_count && i < 4; i++)
        snprintf(f->got_rcpt[i], sizeof f->got_rcpt[i], "%s", job->rcpt[i]);
    st = job->body.start(job->body.ctx, 0, &size);
    assert_status(MAILOUT_OK, st);
    do {
        st = job->body.read(job->body.ctx, f->got + f->got_len, sizeof f->got - f->got_len, &n);
        f->got_len += n;
    } while (st == MAILOUT_OK);
    assert_status(MAILOUT_DONE, st);
    assert_int_equal(size, f->got_len);
    assert_true(f->calls < f->nscript);
    for (i = 0; i < job->rcpt_count; i++)
        rcpt_codes[i] = i < 2 && f->codes[i] ? f->codes[i] : 250;
    res->status = f->script[f->calls++];
    res->stage = res->status == MAILOUT_OK ? MAILOUT_STAGE_END : MAILOUT_STAGE_RCPT;
    res->reply.code = res->status == MAILOUT_E_REJ_PERM ? 550 : res->status == MAILOUT_E_REJ_TEMP ? 451 : 0;
    snprintf(res->reply.text, sizeof res->reply.text, "%s", res->status == MAILOUT_E_REJ_PERM ? "5.1.1 no such user" : "ok");
    return res->status;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mailout_outbox_policy pol = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/mailout-outbox-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->env = testutil_env_init(&f->tenv);
    f->alloc = mailout_heap_allocator();
    pol.first_delay_s = 60;
    pol.max_delay_s = 600;
    pol.max_age_s = 86400;
    assert_status(MAILOUT_OK, mailout_outbox_open(&f->ob, mailout_store_posix(), f->dir, &pol, test_random,
                                                  &f->tenv, &f->alloc));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    mailout_outbox_close(f->ob);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(0, system(cmd));
    free(f);
    return 0;
}

static const char body_text[] = "Line one\n.dot line\nlast";

static mailout_msg *make_msg(fixture *f, const char *subject)
{
    mailout_msg *m;
    mailout_part *p;
    assert_status(MAILOUT_OK, mailout_msg_new(&m, &f->alloc));
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &f->env));
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "dev@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_TO, "support@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_BCC, "audit@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, subject));
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, body_text, sizeof body_text - 1));
    return m;
}

/* The exact bytes the reader makes of @p m (what the entry must hold). */
static size_t read_all(mailout_msg *m, unsigned char *buf, size_t cap)
{
    size_t len = 0, n = 0;
    mailout_status st;
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, 0));
    do {
        st = mailout_msg_read(m, buf + len, cap - len, &n);
        len += n;
    } while (st == MAILOUT_OK);
    assert_status(MAILOUT_DONE, st);
    return len;
}

static unsigned count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    unsigned n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (l > sl && !strcmp(de->d_name + l - sl, suffix))
            n++;
    }
    closedir(d);
    return n;
}

static char *read_file(const char *path)
{
    static char buf[1024];
    FILE *fp = fopen(path, "rb");
    size_t n;
    assert_non_null(fp);
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static mailout_status flush(fixture *f, int64_t now, mailout_outbox_stats *stats)
{
    return mailout_outbox_flush(f->ob, now, NULL, fake_send, f, stats);
}

typedef struct listed {
    unsigned n;
    char id[4][MAILOUT_OUTBOX_ID_MAX];
    unsigned attempts[4];
    int64_t next[4];
    int unknown[4];
    char error[4][200];
    uint64_t size[4];
} listed;

static void list_cb(void *ctx, const mailout_outbox_entry *e)
{
    listed *l = ctx;
    if (l->n < 4) {
        snprintf(l->id[l->n], sizeof l->id[l->n], "%s", e->id);
        l->attempts[l->n] = e->attempts;
        l->next[l->n] = e->next_try;
        l->unknown[l->n] = e->unknown;
        l->size[l->n] = e->size;
        snprintf(l->error[l->n], sizeof l->error[l->n], "%s", e->last_error);
    }
    l->n++;
}

static listed list(fixture *f)
{
    listed l;
    memset(&l, 0, sizeof l);
    assert_status(MAILOUT_OK, mailout_outbox_list(f->ob, list_cb, &l));
    return l;
}

/* Enqueue then a successful flush: the attempt carries the exact message
 * bytes and envelope (Bcc included), and the entry is gone. */
static void test_enqueue_then_deliver(void **state)
{
    fixture *f = *state;
    unsigned char exp[4096];
    size_t exp_len;
    char id[MAILOUT_OUTBOX_ID_MAX];
    mailout_outbox_stats st;
    mailout_msg *m = make_msg(f, "hello");
    listed l;
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    assert_int_equal(33, strlen(id));
    assert_memory_equal("000000006b03026c-", id, 17); /* T0 in hex, then random */
    exp_len = read_all(m, exp, sizeof exp);
    mailout_msg_free(m);
    l = list(f);
    assert_int_equal(1, l.n);
    assert_string_equal(id, l.id[0]);
    assert_int_equal(exp_len, l.size[0]);
    assert_int_equal(0, l.attempts[0]);

    f->script[f->nscript++] = MAILOUT_OK;
    assert_status(MAILOUT_OK, flush(f, T0, &st));
    assert_int_equal(1, st.delivered);
    assert_bytes_equal(exp, exp_len, f->got, f->got_len);
    assert_string_equal("dev@example.com", f->got_from);
    assert_int_equal(2, f->got_nrcpt);
    assert_string_equal("support@example.com", f->got_rcpt[0]);
    assert_string_equal("audit@example.com", f->got_rcpt[1]);
    assert_int_equal(0, list(f).n);
    assert_int_equal(0, count_files(f->dir, ".msg") + count_files(f->dir, ".state"));
}

/* 4xx: kept with a doubling delay; not retried before it is due. */
static void test_defer_backoff(void **state)
{
    fixture *f = *state;
    char id[MAILOUT_OUTBOX_ID_MAX];
    mailout_outbox_stats st;
    mailout_msg *m = make_msg(f, "later");
    listed l;
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    f->script[f->nscript++] = MAILOUT_E_REJ_TEMP;
    f->script[f->nscript++] = MAILOUT_E_CONNECT;
    f->script[f->nscript++] = MAILOUT_OK;

    assert_status(MAILOUT_OK, flush(f, T0, &st));
    assert_int_equal(1, st.deferred);
    l = list(f);
    assert_int_equal(1, l.attempts[0]);
    assert_int_equal(T0 + 60, l.next[0]);
    assert_string_equal("E_REJ_TEMP RCPT 451 ok", l.error[0]);

    assert_status(MAILOUT_OK, flush(f, T0 + 59, &st)); /* not due */
    assert_int_equal(1, st.waiting);
    assert_int_equal(1, f->calls);

    assert_status(MAILOUT_OK, flush(f, T0 + 60, &st));
    assert_int_equal(1, st.deferred);
    l = list(f);
    assert_int_equal(2, l.attempts[0]);
    assert_int_equal(T0 + 60 + 120, l.next[0]);

    assert_status(MAILOUT_OK, flush(f, T0 + 180, &st));
    assert_int_equal(1, st.delivered);
    assert_int_equal(3, f->calls);
    assert_int_equal(0, list(f).n);
}

/* 5xx: moved to failed/ with the server's reason, never retried. */
static void test_permanent_failure(void **state)
{
    fixture *f = *state;
    char id[MAILOUT_OUTBOX_ID_MAX], path[256];
    mailout_outbox_stats st;
    mailout_msg *m = make_msg(f, "bad");
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    f->script[f->nscript++] = MAILOUT_E_REJ_PERM;
    assert_status(MAILOUT_OK, flush(f, T0, &st));
    assert_int_equal(1, st.failed);
    assert_int_equal(0, list(f).n);
    snprintf(path, sizeof path, "%s/failed/%s.reason", f->dir, id);
    assert_string_equal("E_REJ_PERM RCPT 550 5.1.1 no such user\n", read_file(path));
    snprintf(path, sizeof path, "%s/failed/%s.msg", f->dir, id);
    assert_int_equal(0, access(path, R_OK));
    assert_status(MAILOUT_OK, flush(f, T0 + 100000, &st));
    assert_int_equal(1, f->calls);
}

/* Lost final reply: kept, marked unknown, sent again by default. */
static void test_unknown_resent(void **state)
{
    fixture *f = *state;
    char id[MAILOUT_OUTBOX_ID_MAX];
    mailout_outbox_stats st;
    mailout_msg *m = make_msg(f, "maybe");
    listed l;
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    f->script[f->nscript++] = MAILOUT_E_DELIVERY_UNKNOWN;
    f->script[f->nscript++] = MAILOUT_OK;
    assert_status(MAILOUT_OK, flush(f, T0, &st));
    assert_int_equal(1, st.unknown);
    l = list(f);
    assert_int_equal(1, l.n);
    assert_int_equal(1, l.unknown[0]);
    assert_status(MAILOUT_OK, flush(f, T0 + 60, &st));
    assert_int_equal(1, st.delivered);
    assert_int_equal(0, list(f).n);
}

/* park_unknown: an unknown entry waits for release(). */
static void test_unknown_parked(void **state)
{
    fixture *f = *state;
    char id[MAILOUT_OUTBOX_ID_MAX];
    mailout_outbox_stats st;
    mailout_outbox_policy pol = {0};
    mailout_msg *m = make_msg(f, "parked");
    mailout_outbox_close(f->ob);
    pol.park_unknown = 1;
    assert_status(MAILOUT_OK, mailout_outbox_open(&f->ob, mailout_store_posix(), f->dir, &pol, test_random,
                                                  &f->tenv, &f->alloc));
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    f->script[f->nscript++] = MAILOUT_E_DELIVERY_UNKNOWN;
    f->script[f->nscript++] = MAILOUT_OK;
    assert_status(MAILOUT_OK, flush(f, T0, &st));
    assert_status(MAILOUT_OK, flush(f, T0 + 100000, &st));
    assert_int_equal(1, st.waiting);
    assert_int_equal(1, f->calls);
    assert_status(MAILOUT_OK, mailout_outbox_release(f->ob, id));
    assert_status(MAILOUT_OK, flush(f, T0 + 100000, &st));
    assert_int_equal(1, st.delivered);
}

/* Too old: moved to failed/ with "expired" and the last error. */
static void test_expiry(void **state)
{
    fixture *f = *state;
    char id[MAILOUT_OUTBOX_ID_MAX], path[256];
    mailout_outbox_stats st;
    mailout_msg *m = make_msg(f, "old");
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    f->script[f->nscript++] = MAILOUT_E_TIMEOUT;
    assert_status(MAILOUT_OK, flush(f, T0, &st));
    assert_status(MAILOUT_OK, flush(f, T0 + 86401, &st));
    assert_int_equal(1, st.failed);
    assert_int_equal(1, f->calls);
    snprintf(path, sizeof path, "%s/failed/%s.reason", f->dir, id);
    assert_string_equal("expired after 1 attempts; last: E_TIMEOUT RCPT\n", read_file(path));
}

/* Oldest first; only_id forces one entry even when it is not due. */
static void test_order_and_only_id(void **state)
{
    fixture *f = *state;
    char a[MAILOUT_OUTBOX_ID_MAX], b[MAILOUT_OUTBOX_ID_MAX];
    mailout_outbox_stats st;
    mailout_msg *m1 = make_msg(f, "second"), *m2 = make_msg(f, "first");
    listed l;
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m1, 0, T0 + 5, a));
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m2, 0, T0, b));
    mailout_msg_free(m1);
    mailout_msg_free(m2);
    l = list(f);
    assert_int_equal(2, l.n);
    assert_string_equal(b, l.id[0]);
    assert_string_equal(a, l.id[1]);
    f->script[f->nscript++] = MAILOUT_E_REJ_TEMP;
    assert_status(MAILOUT_OK, mailout_outbox_flush(f->ob, T0 - 100, a, fake_send, f, &st));
    assert_int_equal(1, st.deferred);
    assert_status(MAILOUT_E_INVAL, mailout_outbox_flush(f->ob, T0, "nope", fake_send, f, &st));
}

/* Crash leftovers: an orphan .state is removed, a .tmp is ignored, a
 * corrupt .msg is parked in failed/ instead of blocking the queue. */
static void test_leftovers(void **state)
{
    fixture *f = *state;
    char path[256];
    mailout_outbox_stats st;
    FILE *fp;
    snprintf(path, sizeof path, "%s/000000006b03026c-0000000000000001.state", f->dir);
    fp = fopen(path, "w");
    fputs("attempts 3\n", fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/000000006b03026c-0000000000000002.msg.tmp", f->dir);
    fp = fopen(path, "w");
    fputs("mailout-outbox 1 99\nfrom a", fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/000000006b03026c-0000000000000003.msg", f->dir);
    fp = fopen(path, "w");
    fputs("garbage\n", fp);
    fclose(fp);
    assert_int_equal(0, list(f).n);
    assert_int_equal(0, count_files(f->dir, ".state"));
    assert_status(MAILOUT_OK, flush(f, T0, &st));
    assert_int_equal(1, st.failed);
    assert_int_equal(0, f->calls);
    assert_int_equal(0, count_files(f->dir, ".msg"));
}

/* A producer that fails while spooling leaves no entry at all. */
static mailout_status failing_producer(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    unsigned *calls = ctx;
    (void)cap;
    if ((*calls)++ < 3) {
        buf[0] = 'x';
        *produced = 1;
        return MAILOUT_OK;
    }
    *produced = 0;
    return MAILOUT_E_IO;
}

static void test_source_failure_leaves_nothing(void **state)
{
    fixture *f = *state;
    char id[MAILOUT_OUTBOX_ID_MAX];
    unsigned calls = 0;
    mailout_msg *m;
    mailout_part *p;
    assert_status(MAILOUT_OK, mailout_msg_new(&m, &f->alloc));
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &f->env));
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "dev@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_TO, "support@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    assert_status(MAILOUT_OK, mailout_part_set_producer(p, failing_producer, NULL, &calls, MAILOUT_SIZE_UNKNOWN));
    assert_status(MAILOUT_E_SOURCE, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    assert_int_equal(0, count_files(f->dir, ".msg") + count_files(f->dir, ".tmp"));
    assert_int_equal(0, list(f).n);
}

/* Partial delivery: the recipient that got a 4xx is queued again (alone,
 * same bytes); one that got a 5xx is not; the delivered entry is gone. */
static void test_partial_requeues_temporary_recipients(void **state)
{
    fixture *f = *state;
    char id[MAILOUT_OUTBOX_ID_MAX];
    unsigned char first[4096];
    size_t first_len;
    mailout_outbox_stats st;
    mailout_msg *m = make_msg(f, "partial");
    listed l;
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    f->script[f->nscript++] = MAILOUT_E_PARTIAL;
    f->codes[0] = 250;
    f->codes[1] = 451; /* audit@ (Bcc) must be retried */
    assert_status(MAILOUT_OK, flush(f, T0 + 10, &st));
    assert_int_equal(1, st.delivered);
    memcpy(first, f->got, f->got_len);
    first_len = f->got_len;
    l = list(f);
    assert_int_equal(1, l.n);
    assert_string_not_equal(id, l.id[0]);
    assert_int_equal(1, l.attempts[0]);
    assert_int_equal(T0 + 10 + 60, l.next[0]);
    assert_string_equal("E_PARTIAL RCPT", l.error[0]);
    f->script[f->nscript++] = MAILOUT_OK;
    f->codes[0] = f->codes[1] = 0;
    assert_status(MAILOUT_OK, flush(f, T0 + 70, &st));
    assert_int_equal(1, st.delivered);
    assert_int_equal(1, f->got_nrcpt);
    assert_string_equal("audit@example.com", f->got_rcpt[0]);
    assert_bytes_equal(first, first_len, f->got, f->got_len); /* the same message */
    assert_int_equal(0, list(f).n);

    /* a 5xx recipient is not retried */
    m = make_msg(f, "partial perm");
    assert_status(MAILOUT_OK, mailout_outbox_enqueue(f->ob, m, 0, T0, id));
    mailout_msg_free(m);
    f->script[f->nscript++] = MAILOUT_E_PARTIAL;
    f->codes[0] = 250;
    f->codes[1] = 550;
    assert_status(MAILOUT_OK, flush(f, T0 + 80, &st));
    assert_int_equal(1, st.delivered);
    assert_int_equal(0, list(f).n);
}

/* Every attempt ends with f->script[0] (fake_send, its script reused). */
static mailout_status send_same(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *rcpt_codes)
{
    fixture *f = ctx;
    unsigned calls = f->calls;
    mailout_status r;
    f->nscript = 1;
    f->calls = 0;
    r = fake_send(f, job, res, rcpt_codes);
    f->calls = calls + 1;
    return r;
}

/* A store that counts the files opened, over the POSIX store. */
static unsigned opens_counted;
static mailout_status counting_open(void *ctx, const char *name, void **h, uint64_t *size)
{
    opens_counted++;
    return mailout_store_posix()->open(ctx, name, h, size);
}

/* Flushing n deferred entries (each with a .state file) opens O(n) files:
 * the walk looks for orphaned .state files in its first listing only. It
 * used to open every entry's .msg at every step: 20 entries, 270 opens;
 * now 80, one per entry for the orphan check and three per attempt. */
static void test_flush_opens_linear(void **state)
{
    fixture *f = *state;
    mailout_store_ops ops = *mailout_store_posix();
    mailout_outbox_policy pol = {0};
    mailout_outbox_stats st;
    mailout_outbox *ob;
    enum { N = 20 };
    ops.open = counting_open;
    pol.first_delay_s = 60;
    assert_status(MAILOUT_OK, mailout_outbox_open(&ob, &ops, f->dir, &pol, test_random, &f->tenv, &f->alloc));
    for (unsigned i = 0; i < N; i++) {
        char id[MAILOUT_OUTBOX_ID_MAX];
        mailout_msg *m = make_msg(f, "bulk");
        assert_status(MAILOUT_OK, mailout_outbox_enqueue(ob, m, 0, T0, id));
        mailout_msg_free(m);
    }
    f->script[0] = MAILOUT_E_REJ_TEMP;
    assert_status(MAILOUT_OK, mailout_outbox_flush(ob, T0, NULL, send_same, f, &st));
    assert_int_equal(N, st.deferred);
    assert_int_equal(N, count_files(f->dir, ".state"));
    f->script[0] = MAILOUT_OK;
    opens_counted = 0;
    assert_status(MAILOUT_OK, mailout_outbox_flush(ob, T0 + 3600, NULL, send_same, f, &st));
    assert_int_equal(N, st.delivered);
    assert_int_equal(2 * N, f->calls);
    assert_in_range(opens_counted, N, 4 * N);
    assert_int_equal(0, count_files(f->dir, ".msg") + count_files(f->dir, ".state"));
    mailout_outbox_close(ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_then_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defer_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_resent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_parked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_and_only_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_failure_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_requeues_temporary_recipients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_opens_linear, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
