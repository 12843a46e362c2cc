/*
 * The command ring of a build without PIPELINING (4 entries, 8-bit
 * counters that wrap at 256): one session carries enough jobs for the
 * counters to wrap several times, every byte compared, in several ways of
 * moving bytes. Built from the core's sources with
 * MAILOUT_ENABLE_PIPELINING 0 (tests/smtp/engine/meson.build).
 */
#include "harness.h"

#include <stdlib.h>

#include "smtp/smtp_internal.h"

#define JOBS 120 /* x 5 commands (RSET, MAIL, RCPT, DATA, ".") > 2 x 256 */

static const char *const to[] = {"bob@example.org", NULL};

static void setup(hrun *r)
{
    hrun_init(r);
    hrun_job(r, 0, "alice@example.com", to, "hi\n.dot");
}

static void check(hrun *r)
{
    assert_status(MAILOUT_OK, r->final);
    assert_status(MAILOUT_OK, mailout_smtp_result(r->s)->status);
}

static void test_counters_wrap(void **state)
{
    (void)state;
    assert_int_equal(SMTP_QLEN, 4);
    assert_int_equal(sizeof(smtp_qidx), 1);
    static hstep script[8 + JOBS * 12];
    size_t n = 0;
    script[n++] = (hstep)S("220 x\r\n");
    script[n++] = (hstep)C("EHLO client.example\r\n");
    script[n++] = (hstep)S("250-x\r\n250 PIPELINING\r\n"); /* offered, not built in */
    for (int j = 0; j < JOBS; j++) {
        script[n++] = (hstep)SUBMIT(0, MAILOUT_OK);
        if (j > 0) {
            script[n++] = (hstep)C("RSET\r\n");
            script[n++] = (hstep)S("250 ok\r\n");
        }
        script[n++] = (hstep)C("MAIL FROM:<alice@example.com>\r\n");
        script[n++] = (hstep)S("250 ok\r\n");
        script[n++] = (hstep)C("RCPT TO:<bob@example.org>\r\n");
        script[n++] = (hstep)S("250 ok\r\n");
        script[n++] = (hstep)C("DATA\r\n");
        script[n++] = (hstep)S("354 go\r\n");
        script[n++] = (hstep)C("hi\r\n..dot\r\n.\r\n");
        script[n++] = (hstep)S("250 queued\r\n");
    }
    script[n++] = (hstep)QUIT();
    script[n++] = (hstep)C("QUIT\r\n");
    script[n++] = (hstep)S("221 bye\r\n");
    script[n++] = (hstep)END();
    assert_true(n <= sizeof script / sizeof script[0]);
    static const hmode modes[] = {{0, 0, 0, 0}, {64, 1, 0, 0}, {0, 0, 3, 0}, {100, 7, 0, 1}};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        hrun *r = malloc(sizeof *r); /* 64 KiB of trace */
        assert_non_null(r);
        setup(r);
        r->final = hrun_go(r, script, &modes[m], 0);
        check(r);
        /* greeting, EHLO, 4 per job, RSET before all but the first, QUIT:
         * the 8-bit counters went round twice */
        assert_int_equal(r->s->q_tail, (2 + 4 * JOBS + (JOBS - 1) + 1) % 256);
        assert_int_equal(r->s->q_head, r->s->q_tail);
        hrun_free(r);
        free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
