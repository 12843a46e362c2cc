/*
 * mailout_job_from_msg(): a composed message through the engine. The
 * DATA stream must be exactly what the reader produces with
 * MAILOUT_READ_SMTP, BDAT must carry exactly the message itself, and
 * SIZE= is the size of the message (not of the stuffed stream).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

static const char text[] = "first line\r\n.starts with a dot\n..two\r\n.\r\nlast";

static mailout_msg *make_msg(testutil_env *te)
{
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m;
    mailout_part *p;
    assert_status(MAILOUT_OK, mailout_msg_new(&m, &a));
    mailout_env env = testutil_env_init(te);
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "dev@example.com", "Device"));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_TO, "to@example.org", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_BCC, "hidden@example.net", NULL));
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "hello"));
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, text, sizeof text - 1));
    return m;
}

static size_t read_all(mailout_msg *m, unsigned flags, char *out, size_t cap)
{
    size_t n = 0, got = 0;
    mailout_status st;
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, flags));
    do {
        st = mailout_msg_read(m, (unsigned char *)out + n, cap - n, &got);
        n += got;
    } while (st == MAILOUT_OK);
    assert_status(MAILOUT_DONE, st);
    return n;
}

static void send(const char *ehlo, char *wire, size_t *wire_len, int bdat)
{
    testutil_env te;
    mailout_msg *m = make_msg(&te);
    const char *store[MAILOUT_MAX_RECIPIENTS];
    mailout_job job;
    assert_status(MAILOUT_OK, mailout_job_from_msg(&job, m, store));
    assert_int_equal(job.rcpt_count, 2);
    mailout_smtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.example";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.out_buf_size = 64;
    mailout_allocator a = mailout_heap_allocator();
    mailout_smtp *s;
    assert_status(MAILOUT_OK, mailout_smtp_new(&s, &cfg, &a, 0));
    const char *replies[] = {"220 x\r\n", ehlo, "250 ok\r\n", "250 ok\r\n", "250 ok\r\n",
                             bdat ? "250 ok\r\n" : "354 go\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n",
                             "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n"};
    size_t ri = 0, n = 0;
    int submitted = 0;
    for (;;) {
        unsigned w = mailout_smtp_want(s);
        if (w & MAILOUT_SMTP_WANT_WRITE) {
            size_t len;
            const unsigned char *p = mailout_smtp_out_buf(s, &len);
            if (p) {
                memcpy(wire + n, p, len);
                n += len;
                mailout_smtp_out_ack(s, len);
            }
        } else if (w & MAILOUT_SMTP_WANT_READ) {
            assert_true(ri < sizeof replies / sizeof replies[0]);
            size_t cap;
            memcpy(mailout_smtp_in_buf(s, &cap), replies[ri], strlen(replies[ri]));
            assert_status(MAILOUT_OK, mailout_smtp_in_ack(s, strlen(replies[ri++])));
        } else if ((w & MAILOUT_SMTP_WANT_IDLE) && !submitted) {
            submitted = 1;
            assert_status(MAILOUT_OK, mailout_smtp_submit(s, &job));
        } else {
            break;
        }
    }
    assert_status(MAILOUT_OK, mailout_smtp_result(s)->status);
    *wire_len = n;
    mailout_smtp_free(s);
    mailout_msg_free(m);
}

static const char *find(const char *h, size_t hl, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, needle, nl) == 0)
            return h + i;
    return NULL;
}

static void test_job_data(void **state)
{
    (void)state;
    static char wire[16384], exp[16384], head[512];
    size_t wl;
    send("250-x\r\n250 SIZE 100000\r\n", wire, &wl, 0);
    testutil_env te;
    mailout_msg *m = make_msg(&te);
    uint64_t size;
    assert_status(MAILOUT_OK, mailout_msg_size(m, 0, &size));
    size_t el = read_all(m, MAILOUT_READ_SMTP, exp, sizeof exp);
    mailout_msg_free(m);
    int hl = snprintf(head, sizeof head,
                      "EHLO client.example\r\nMAIL FROM:<dev@example.com> SIZE=%llu\r\n"
                      "RCPT TO:<to@example.org>\r\nRCPT TO:<hidden@example.net>\r\nDATA\r\n",
                      (unsigned long long)size);
    assert_true(wl > (size_t)hl);
    assert_bytes_equal(head, (size_t)hl, wire, (size_t)hl);
    assert_bytes_equal(exp, el, wire + hl, wl - (size_t)hl);
    assert_non_null(find(wire, wl, "\r\n..starts with a dot\r\n"));
    assert_null(find(wire + hl, wl - (size_t)hl, "hidden@"));
}

static void test_job_bdat(void **state)
{
    (void)state;
    static char wire[16384], exp[16384];
    size_t wl;
    send("250-x\r\n250 CHUNKING\r\n", wire, &wl, 1);
    testutil_env te;
    mailout_msg *m = make_msg(&te);
    size_t el = read_all(m, 0, exp, sizeof exp);
    mailout_msg_free(m);
    /* strip the BDAT headers: what is left is the message itself */
    const char *p = find(wire, wl, "BDAT ");
    assert_non_null(p);
    static char data[16384];
    size_t dl = 0, off = (size_t)(p - wire);
    int last = 0;
    while (off < wl && !last) {
        assert_true(memcmp(wire + off, "BDAT ", 5) == 0);
        off += 5;
        size_t n = 0;
        while (wire[off] >= '0' && wire[off] <= '9')
            n = n * 10 + (size_t)(wire[off++] - '0');
        if (memcmp(wire + off, " LAST", 5) == 0) {
            last = 1;
            off += 5;
        }
        assert_true(memcmp(wire + off, "\r\n", 2) == 0);
        off += 2;
        memcpy(data + dl, wire + off, n);
        dl += n;
        off += n;
    }
    assert_true(last);
    assert_bytes_equal(exp, el, data, dl);
}

static void test_job_from_msg_errors(void **state)
{
    (void)state;
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m;
    mailout_job job;
    const char *store[MAILOUT_MAX_RECIPIENTS];
    assert_status(MAILOUT_OK, mailout_msg_new(&m, &a));
    assert_status(MAILOUT_E_STATE, mailout_job_from_msg(&job, m, store));
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "dev@example.com", NULL));
    assert_status(MAILOUT_E_STATE, mailout_job_from_msg(&job, m, store));
    assert_status(MAILOUT_E_INVAL, mailout_job_from_msg(&job, m, NULL));
    mailout_msg_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_data),
        cmocka_unit_test(test_job_bdat),
        cmocka_unit_test(test_job_from_msg_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
