/*
 * The blocking driver (mailout_send, mailout_send_jobs) against the
 * scripted server over real TCP on 127.0.0.1.
 */
#define _GNU_SOURCE

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "srv.h"
#include "testutil.h"

#include "client/driver_internal.h" /* MAILOUT_CLIENT_QUIT_TIMEOUT_MS */

#include <mailout/client.h>

static const char *const rcpt1[] = {"b@y.test"};
static const char *const rcpt2[] = {"b@y.test", "c@y.test"};

static const char body_text[] = "Subject: blocking\r\n"
                                "\r\n"
                                ".a line with a dot\r\n"
                                "end\r\n";

static uint64_t clock_ms(void *ctx)
{
    (void)ctx;
    return srv_now_ms();
}

static mailout_smtp_config plain_cfg(void)
{
    mailout_smtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    return cfg;
}

static mailout_job make_job(ct_body *b, const char *const *rcpt, size_t n)
{
    mailout_job job;
    memset(&job, 0, sizeof job);
    job.mail_from = "a@x.test";
    job.rcpt = rcpt;
    job.rcpt_count = n;
    job.body = ct_body_source(b, body_text, 0, 0);
    return job;
}

/* A TCP transport to the scripted server (non-blocking, with wait). */
static mailout_tcp *connect_tcp(uint16_t port, mailout_transport *t)
{
    mailout_tcp_config tc;
    mailout_tcp *tcp = NULL;

    memset(&tc, 0, sizeof tc);
    tc.host = "127.0.0.1";
    tc.port = port;
    tc.connect_timeout_ms = 2000;
    tc.nonblocking = 1;
    assert_status(MAILOUT_OK, mailout_tcp_open(&tcp, &tc, NULL, t));
    return tcp;
}

static void append(char *w, const char *s)
{
    strcat(w, s);
}

static char *wire_for(const char *const *rcpt, size_t n, int jobs, const char *text)
{
    char *stuffed = ct_stuff(text);
    char *w = calloc(1, 8192 + 2 * strlen(stuffed) * (size_t)jobs);

    assert_non_null(w);
    append(w, "EHLO client.test\r\n");
    for (int j = 0; j < jobs; j++) {
        if (j)
            append(w, "RSET\r\n");
        append(w, "MAIL FROM:<a@x.test>\r\n");
        for (size_t i = 0; i < n; i++) {
            append(w, "RCPT TO:<");
            append(w, rcpt[i]);
            append(w, ">\r\n");
        }
        append(w, "DATA\r\n");
        append(w, stuffed);
    }
    append(w, "QUIT\r\n");
    free(stuffed);
    return w;
}

static void test_jobs_success(void **state)
{
    srv s;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1, b2;
    mailout_job jobs[2];
    mailout_result res[2];
    char *exp;
    (void)state;

    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 10000), 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    tcp = connect_tcp(s.port, &t);
    jobs[0] = make_job(&b1, rcpt2, 2);
    jobs[1] = make_job(&b2, rcpt1, 1);
    assert_status(MAILOUT_OK, mailout_send_jobs(&t, &cfg, NULL, jobs, 2, res, clock_ms, NULL));
    assert_status(MAILOUT_OK, res[0].status);
    assert_int_equal(res[0].rcpt_ok, 2);
    assert_status(MAILOUT_OK, res[1].status);
    assert_int_equal(res[1].rcpt_ok, 1);
    assert_int_equal(res[1].reply.code, 250);
    /* mailout_send_jobs does not close the caller's transport */
    mailout_tcp_free(tcp);
    srv_join(&s);
    {
        char *a = wire_for(rcpt2, 2, 1, body_text);
        char *bw = wire_for(rcpt1, 1, 1, body_text);
        /* job 1 with two recipients, RSET, job 2 with one */
        size_t cut = strlen(a) - strlen("QUIT\r\n");
        exp = calloc(1, strlen(a) + strlen(bw) + 16);
        memcpy(exp, a, cut);
        strcat(exp, "RSET\r\n");
        strcat(exp, bw + strlen("EHLO client.test\r\n"));
        free(a);
        free(bw);
    }
    assert_bytes_equal(exp, strlen(exp), s.log, s.log_len);
    free(exp);
    srv_free(&s);
}

/* One RCPT refused: the message goes to the other (E_PARTIAL); the session goes on. */
static void test_partial(void **state)
{
    srv s;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job;
    mailout_result res;
    (void)state;

    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 10000), 0);
    srv_rule_add(&s, "RCPT TO:<c@", "550 5.1.1 unknown\r\n", SRV_REPLY, 0, 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    tcp = connect_tcp(s.port, &t);
    job = make_job(&b1, rcpt2, 2);
    assert_status(MAILOUT_OK, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_E_PARTIAL, res.status);
    assert_int_equal(res.rcpt_ok, 1);
    assert_int_equal(res.rcpt_failed, 1);
    mailout_tcp_free(tcp);
    srv_join(&s);
    assert_non_null(memmem(s.log, s.log_len, "DATA\r\n", 6));
    srv_free(&s);
}

/* 5xx at RCPT for everyone: refused, no data; 421 ends the session. */
static void test_rcpt_5xx_then_421(void **state)
{
    srv s;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1, b2, b3;
    mailout_job jobs[3];
    mailout_result res[3];
    (void)state;

    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 10000), 0);
    srv_rule_add(&s, "RCPT", "550 5.1.1 unknown\r\n", SRV_REPLY, 0, 1);
    srv_rule_add(&s, "RCPT", "421 4.3.2 closing\r\n", SRV_REPLY, 0, 1);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    tcp = connect_tcp(s.port, &t);
    jobs[0] = make_job(&b1, rcpt1, 1);
    jobs[1] = make_job(&b2, rcpt1, 1);
    jobs[2] = make_job(&b3, rcpt1, 1);
    assert_status(MAILOUT_E_SERVER_SHUTDOWN, mailout_send_jobs(&t, &cfg, NULL, jobs, 3, res, clock_ms, NULL));
    assert_status(MAILOUT_E_REJ_PERM, res[0].status);
    assert_int_equal(res[0].stage, MAILOUT_STAGE_RCPT);
    assert_int_equal(res[0].reply.code, 550);
    assert_status(MAILOUT_E_SERVER_SHUTDOWN, res[1].status);
    assert_int_equal(res[1].stage, MAILOUT_STAGE_RCPT);
    assert_int_equal(res[1].reply.code, 421);
    assert_status(MAILOUT_E_STATE, res[2].status); /* not attempted */
    mailout_tcp_free(tcp);
    srv_join(&s);
    assert_null(memmem(s.log, s.log_len, "DATA", 4));
    srv_free(&s);
}

/* The connection drops after all the data: nobody knows whether it was delivered. */
static void test_drop_after_data(void **state)
{
    srv s;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job;
    mailout_result res;
    mailout_status r;
    (void)state;

    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 10000), 0);
    srv_rule_add(&s, ".", "", SRV_CLOSE, 0, 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    tcp = connect_tcp(s.port, &t);
    job = make_job(&b1, rcpt1, 1);
    r = mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL);
    assert_true(r == MAILOUT_E_CLOSED || r == MAILOUT_E_DELIVERY_UNKNOWN);
    assert_status(MAILOUT_E_DELIVERY_UNKNOWN, res.status);
    mailout_tcp_free(tcp);
    srv_join(&s);
    srv_free(&s);
}

/* A server slower than timeout_ms: E_TIMEOUT, in about that time. */
static void test_timeout(void **state)
{
    srv s;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job;
    mailout_result res;
    uint64_t t0, el;
    (void)state;

    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 6000), 0);
    srv_rule_add(&s, "MAIL", "250 ok\r\n", SRV_DELAY, 3000, 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    tcp = connect_tcp(s.port, &t);
    cfg.timeout_ms = 300;
    job = make_job(&b1, rcpt1, 1);
    t0 = srv_now_ms();
    assert_status(MAILOUT_E_TIMEOUT, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    el = srv_now_ms() - t0;
    assert_status(MAILOUT_E_TIMEOUT, res.status);
    assert_int_equal(res.stage, MAILOUT_STAGE_MAIL);
    assert_true(el >= 250 && el < 2500);
    mailout_tcp_free(tcp);
    srv_join(&s);
    srv_free(&s);
}

/* A server that never answers QUIT does not hold the caller long. */
static void test_quit_unanswered_is_bounded(void **state)
{
    srv s;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job;
    mailout_result res;
    uint64_t t0, el;
    (void)state;

    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 12000), 0);
    srv_rule_add(&s, "QUIT", "221 bye\r\n", SRV_DELAY, 60000, 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    tcp = connect_tcp(s.port, &t);
    job = make_job(&b1, rcpt1, 1);
    t0 = srv_now_ms();
    assert_status(MAILOUT_OK, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    el = srv_now_ms() - t0;
    assert_status(MAILOUT_OK, res.status);
    assert_true(el < MAILOUT_CLIENT_QUIT_TIMEOUT_MS + 2000);
    mailout_tcp_free(tcp); /* the server sees the close and ends */
    srv_join(&s);
    srv_free(&s);
}

/* Over a caller transport that says "would block" every other call and
 * has a wait(): partial writes, waits, exact bytes. */
static void test_flaky_transport_with_wait(void **state)
{
    int sv[2];
    srv s;
    ct_flaky f;
    mailout_transport t;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job;
    mailout_result res;
    char *exp;
    pthread_t th;
    (void)state;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv_init(&s, sv[1], "220 srv.test ESMTP\r\n");
    srv_rules_plain(&s);
    s.run_ms = 10000;
    t = ct_flaky_transport_wait(&f, sv[0], 42, 3);
    assert_int_equal(srv_serve_fd_thread(&s, &th), 0);
    job = make_job(&b1, rcpt2, 2);
    assert_status(MAILOUT_OK, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_OK, res.status);
    close(sv[0]);
    pthread_join(th, NULL);
    exp = wire_for(rcpt2, 2, 1, body_text);
    assert_bytes_equal(exp, strlen(exp), s.log, s.log_len);
    free(exp);
    assert_true(f.waits > 0);
    assert_true(f.send_zero > 0 && f.recv_zero > 0);
    srv_free(&s);
}

/* A body source that says AGAIN now and then: the blocking driver comes
 * back to it (nothing to poll for it) and the bytes are the same. */
static void test_body_source_again(void **state)
{
    srv s;
    mailout_transport t;
    mailout_tcp *tcp;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job;
    mailout_result res;
    char *exp;
    (void)state;

    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 10000), 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    tcp = connect_tcp(s.port, &t);
    job = make_job(&b1, rcpt1, 1);
    job.body = ct_body_source(&b1, body_text, 3, 2);
    assert_status(MAILOUT_OK, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_OK, res.status);
    assert_true(b1.reads > 2 * (sizeof body_text / 3));
    mailout_tcp_free(tcp);
    srv_join(&s);
    exp = wire_for(rcpt1, 1, 1, body_text);
    assert_bytes_equal(exp, strlen(exp), s.log, s.log_len);
    free(exp);
    srv_free(&s);
}

/* Over a transport that returns 0 and has no wait(): the blocking driver cannot go on. */
static void test_would_block_without_wait(void **state)
{
    int sv[2];
    ct_flaky f;
    mailout_transport t;
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job;
    mailout_result res;
    (void)state;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    t = ct_flaky_transport(&f, sv[0], 42, 3);
    job = make_job(&b1, rcpt1, 1);
    assert_status(MAILOUT_E_STATE, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_E_STATE, res.status);
    close(sv[0]);
    close(sv[1]);
}

static void test_send_jobs_invalid(void **state)
{
    ct_flaky f;
    mailout_transport t = ct_flaky_transport(&f, -1, 1, 1);
    mailout_smtp_config cfg = plain_cfg();
    ct_body b1;
    mailout_job job = make_job(&b1, rcpt1, 1);
    mailout_result res;
    (void)state;

    assert_status(MAILOUT_E_INVAL, mailout_send_jobs(NULL, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_E_INVAL, res.status);
    assert_status(MAILOUT_E_INVAL, mailout_send_jobs(&t, NULL, NULL, &job, 1, &res, clock_ms, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, NULL, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_send_jobs(&t, &cfg, NULL, NULL, 1, &res, clock_ms, NULL));
    cfg.tls = MAILOUT_TLS_REQUIRED; /* needs TLS settings */
    assert_status(MAILOUT_E_INVAL, mailout_send_jobs(&t, &cfg, NULL, &job, 1, &res, clock_ms, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_success),
        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_rcpt_5xx_then_421),
        cmocka_unit_test(test_drop_after_data),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_quit_unanswered_is_bounded),
        cmocka_unit_test(test_flaky_transport_with_wait),
        cmocka_unit_test(test_body_source_again),
        cmocka_unit_test(test_would_block_without_wait),
        cmocka_unit_test(test_send_jobs_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
