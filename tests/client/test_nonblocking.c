/*
 * The non-blocking driver (mailout_client_*) against the in-process
 * scripted server, over a transport that says "would block" on every other
 * call and moves random small amounts otherwise.
 */
#define _GNU_SOURCE

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctest.h"
#include "srv.h"
#include "testutil.h"

#include <mailout/client.h>

static const char *const rcpts2[] = {"b@y.test", "c@y.test"};

static const char body_text[] = "From: a@x.test\r\n"
                                "To: b@y.test\r\n"
                                "Subject: pump\r\n"
                                "\r\n"
                                ".leading dot\r\n"
                                "..two dots\r\n"
                                ".\r\n"
                                "last line";

typedef struct fixture {
    int sv[2];
    srv server;
    ct_flaky flaky;
    mailout_transport t;
    mailout_smtp_config cfg;
    mailout_client *c;
    ct_body body;
    mailout_job job;
} fixture;

static void fx_init(fixture *fx, uint64_t seed, size_t max_chunk)
{
    mailout_allocator heap = mailout_heap_allocator();

    memset(fx, 0, sizeof *fx);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fx->sv), 0);
    srv_init(&fx->server, fx->sv[1], "220 srv.test ESMTP\r\n");
    fx->t = ct_flaky_transport(&fx->flaky, fx->sv[0], seed, max_chunk);
    fx->cfg.ehlo_name = "client.test";
    fx->cfg.tls = MAILOUT_TLS_NONE;
    assert_status(MAILOUT_OK, mailout_client_new(&fx->c, &fx->t, &fx->cfg, NULL, &heap));
    fx->job.mail_from = "a@x.test";
    fx->job.rcpt = rcpts2;
    fx->job.rcpt_count = 2;
    fx->job.body = ct_body_source(&fx->body, body_text, 0, 0);
}

static void fx_free(fixture *fx)
{
    mailout_client_free(fx->c);
    srv_free(&fx->server);
    close(fx->sv[0]);
}

/* Step client and server in turn until the client returns something other
 * than AGAIN (bounded: a stuck driver fails the test). */
static mailout_status run_until_settled(fixture *fx, uint64_t *now)
{
    for (int i = 0; i < 200000; i++) {
        mailout_status r = mailout_client_step(fx->c, *now);
        if (r != MAILOUT_AGAIN)
            return r;
        srv_step(&fx->server, *now);
        (*now)++;
    }
    fail_msg("the client never settled");
    return MAILOUT_E_INTERNAL;
}

static char *expected_wire(const char *const *rcpt, size_t n, const char *text, int jobs)
{
    char *stuffed = ct_stuff(text);
    size_t cap = 4096 + (strlen(stuffed) + 256) * (size_t)jobs;
    char *w = malloc(cap);

    assert_non_null(w);
    strcpy(w, "EHLO client.test\r\n");
    for (int j = 0; j < jobs; j++) {
        if (j)
            strcat(w, "RSET\r\n");
        strcat(w, "MAIL FROM:<a@x.test>\r\n");
        for (size_t i = 0; i < n; i++) {
            strcat(w, "RCPT TO:<");
            strcat(w, rcpt[i]);
            strcat(w, ">\r\n");
        }
        strcat(w, "DATA\r\n");
        strcat(w, stuffed);
    }
    strcat(w, "QUIT\r\n");
    free(stuffed);
    return w;
}

static void one_message(uint64_t seed, size_t max_chunk)
{
    fixture fx;
    uint64_t now = 1000;
    const mailout_result *res;
    char *exp;

    fx_init(&fx, seed, max_chunk);
    srv_rules_plain(&fx.server);
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &fx.job));
    assert_status(MAILOUT_DONE, run_until_settled(&fx, &now));
    res = mailout_client_result(fx.c);
    assert_status(MAILOUT_OK, res->status);
    assert_int_equal(res->rcpt_ok, 2);
    assert_int_equal(res->rcpt_failed, 0);
    assert_int_equal(res->reply.code, 250);
    /* idle: nothing queued */
    assert_status(MAILOUT_OK, mailout_client_step(fx.c, now));
    assert_status(MAILOUT_OK, mailout_client_quit(fx.c));
    assert_status(MAILOUT_DONE, run_until_settled(&fx, &now));
    assert_status(MAILOUT_DONE, mailout_client_step(fx.c, now)); /* stays finished */
    srv_step(&fx.server, now);

    exp = expected_wire(rcpts2, 2, body_text, 1);
    assert_bytes_equal(exp, strlen(exp), fx.server.log, fx.server.log_len);
    free(exp);
    /* the transport really said "would block" in both directions */
    assert_true(fx.flaky.send_zero > 0);
    assert_true(fx.flaky.recv_zero > 0);
    fx_free(&fx);
}

/* issue 3: the non-blocking driver sends a message over a transport that
 * returns "would block" on every other call */
static void test_flaky_one_byte(void **state)
{
    (void)state;
    one_message(1, 1);
}

static void test_flaky_random_sizes(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++)
        one_message(seed * 7919u, 1 + (size_t)(seed % 13));
    one_message(99, 4096);
}

static void test_two_jobs_one_session(void **state)
{
    fixture fx;
    uint64_t now = 1;
    ct_body body2;
    mailout_job job2;
    char *exp;
    (void)state;

    fx_init(&fx, 5, 9);
    srv_rules_plain(&fx.server);
    job2 = fx.job;
    job2.body = ct_body_source(&body2, body_text, 0, 0);
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &fx.job));
    assert_status(MAILOUT_E_STATE, mailout_client_submit(fx.c, &job2)); /* one at a time */
    assert_status(MAILOUT_E_STATE, mailout_client_quit(fx.c));
    assert_status(MAILOUT_DONE, run_until_settled(&fx, &now));
    assert_status(MAILOUT_OK, mailout_client_result(fx.c)->status);
    /* the session is ready: the second job goes straight to the engine */
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &job2));
    assert_status(MAILOUT_DONE, run_until_settled(&fx, &now));
    assert_status(MAILOUT_OK, mailout_client_result(fx.c)->status);
    assert_status(MAILOUT_OK, mailout_client_quit(fx.c));
    assert_status(MAILOUT_DONE, run_until_settled(&fx, &now));
    srv_step(&fx.server, now);
    exp = expected_wire(rcpts2, 2, body_text, 2);
    assert_bytes_equal(exp, strlen(exp), fx.server.log, fx.server.log_len);
    free(exp);
    assert_int_equal(fx.body.starts, 1);
    assert_int_equal(body2.starts, 1);
    fx_free(&fx);
}

static void test_rcpt_rejected_session_goes_on(void **state)
{
    fixture fx;
    uint64_t now = 1;
    const mailout_result *res;
    (void)state;

    fx_init(&fx, 3, 5);
    srv_rule_add(&fx.server, "RCPT", "550 5.1.1 no such user\r\n", SRV_REPLY, 0, 0);
    srv_rules_plain(&fx.server);
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &fx.job));
    assert_status(MAILOUT_DONE, run_until_settled(&fx, &now));
    res = mailout_client_result(fx.c);
    assert_status(MAILOUT_E_REJ_PERM, res->status);
    assert_int_equal(res->stage, MAILOUT_STAGE_RCPT);
    assert_int_equal(res->reply.code, 550);
    assert_int_equal(res->rcpt_ok, 0);
    assert_int_equal(res->rcpt_failed, 2);
    assert_status(MAILOUT_OK, mailout_client_quit(fx.c));
    assert_status(MAILOUT_DONE, run_until_settled(&fx, &now));
    srv_step(&fx.server, now);
    /* no data for a message nobody takes */
    assert_null(memmem(fx.server.log, fx.server.log_len, "DATA", 4));
    assert_non_null(memmem(fx.server.log, fx.server.log_len, "QUIT\r\n", 6));
    fx_free(&fx);
}

static void test_421_at_mail_is_session_error(void **state)
{
    fixture fx;
    uint64_t now = 1;
    const mailout_result *res;
    (void)state;

    fx_init(&fx, 11, 4);
    srv_rule_add(&fx.server, "MAIL", "421 4.3.2 shutting down\r\n", SRV_REPLY, 0, 0);
    srv_rules_plain(&fx.server);
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &fx.job));
    assert_status(MAILOUT_E_SERVER_SHUTDOWN, run_until_settled(&fx, &now));
    res = mailout_client_result(fx.c);
    assert_status(MAILOUT_E_SERVER_SHUTDOWN, res->status);
    assert_int_equal(res->stage, MAILOUT_STAGE_MAIL);
    assert_int_equal(res->reply.code, 421);
    /* sticky */
    assert_status(MAILOUT_E_SERVER_SHUTDOWN, mailout_client_step(fx.c, now));
    assert_status(MAILOUT_E_SERVER_SHUTDOWN, mailout_client_submit(fx.c, &fx.job));
    assert_status(MAILOUT_E_SERVER_SHUTDOWN, mailout_client_quit(fx.c));
    {
        unsigned want = 99;
        assert_int_equal(mailout_client_pollfd(fx.c, &want), -1);
        assert_int_equal(want, 0);
        assert_true(mailout_client_deadline(fx.c) == UINT64_MAX);
    }
    fx_free(&fx);
}

static void test_close_after_data_is_unknown(void **state)
{
    fixture fx;
    uint64_t now = 1;
    const mailout_result *res;
    mailout_status r;
    (void)state;

    fx_init(&fx, 13, 8);
    srv_rule_add(&fx.server, ".", "", SRV_CLOSE, 0, 0);
    srv_rules_plain(&fx.server);
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &fx.job));
    r = run_until_settled(&fx, &now);
    assert_true(r == MAILOUT_E_CLOSED || r == MAILOUT_E_DELIVERY_UNKNOWN);
    res = mailout_client_result(fx.c);
    assert_status(MAILOUT_E_DELIVERY_UNKNOWN, res->status);
    fx_free(&fx);
}

/* The session fails before the queued job starts: the job's result says why. */
static void test_greeting_554_fails_queued_job(void **state)
{
    fixture fx;
    uint64_t now = 1;
    const mailout_result *res;
    (void)state;

    fx_init(&fx, 17, 3);
    fx.server.greeting = "554 5.3.2 go away\r\n";
    srv_rules_plain(&fx.server);
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &fx.job));
    assert_status(MAILOUT_E_REJ_PERM, run_until_settled(&fx, &now));
    res = mailout_client_result(fx.c);
    assert_status(MAILOUT_E_REJ_PERM, res->status);
    assert_int_equal(res->reply.code, 554);
    srv_step(&fx.server, now);
    /* nothing but (maybe) a polite QUIT */
    assert_null(memmem(fx.server.log, fx.server.log_len, "EHLO", 4));
    assert_null(memmem(fx.server.log, fx.server.log_len, "MAIL", 4));
    fx_free(&fx);
}

static void test_deadline_passes(void **state)
{
    fixture fx;
    uint64_t t0 = 50000, dl;
    unsigned want = 0;
    (void)state;

    fx_init(&fx, 19, 16);
    mailout_client_free(fx.c);
    fx.cfg.timeout_ms = 1000;
    {
        mailout_allocator heap = mailout_heap_allocator();
        assert_status(MAILOUT_OK, mailout_client_new(&fx.c, &fx.t, &fx.cfg, NULL, &heap));
    }
    fx.server.greeting = NULL; /* a server that never speaks */
    srv_rules_plain(&fx.server);
    assert_status(MAILOUT_AGAIN, mailout_client_step(fx.c, t0));
    assert_int_equal(mailout_client_pollfd(fx.c, &want), fx.sv[0]);
    assert_int_equal(want, MAILOUT_WANT_READ);
    dl = mailout_client_deadline(fx.c);
    assert_true(dl > t0 && dl <= t0 + 1000);
    srv_step(&fx.server, t0);
    assert_status(MAILOUT_AGAIN, mailout_client_step(fx.c, dl - 1));
    assert_status(MAILOUT_E_TIMEOUT, mailout_client_step(fx.c, dl));
    assert_status(MAILOUT_E_TIMEOUT, mailout_client_step(fx.c, dl + 1));
    assert_int_equal(mailout_client_pollfd(fx.c, &want), -1);
    fx_free(&fx);
}

/*
 * A superloop: poll() on the client's fd/direction and the server's socket,
 * sleeping until the client's deadline; the clock is fake (advanced by the
 * time a poll would have slept), so the test never waits for real. The
 * body source says AGAIN every third read: the deadline must bring the
 * loop back for it.
 */
static void test_superloop_poll(void **state)
{
    fixture fx;
    uint64_t now = 7000000;
    int done = 0, quit = 0;
    char *exp;
    (void)state;

    fx_init(&fx, 23, 32);
    fx.job.body = ct_body_source(&fx.body, body_text, 5, 3);
    srv_rules_plain(&fx.server);
    assert_status(MAILOUT_OK, mailout_client_submit(fx.c, &fx.job));
    for (int iter = 0; iter < 100000 && !done; iter++) {
        struct pollfd pfd[2];
        unsigned want = 0;
        uint64_t dl;
        int timeout, n, fd;
        mailout_status r = mailout_client_step(fx.c, now);

        if (r == MAILOUT_DONE && !quit) {
            assert_status(MAILOUT_OK, mailout_client_result(fx.c)->status);
            assert_status(MAILOUT_OK, mailout_client_quit(fx.c));
            quit = 1;
            continue;
        }
        if (r == MAILOUT_DONE) {
            done = 1;
            break;
        }
        assert_status(MAILOUT_AGAIN, r);
        fd = mailout_client_pollfd(fx.c, &want);
        dl = mailout_client_deadline(fx.c);
        assert_true(dl > now);
        timeout = dl - now > 50 ? 50 : (int)(dl - now);
        pfd[0].fd = fd;
        pfd[0].events = (short)(((want & MAILOUT_WANT_READ) ? POLLIN : 0) | ((want & MAILOUT_WANT_WRITE) ? POLLOUT : 0));
        pfd[1].fd = fx.server.fd;
        pfd[1].events = POLLIN | (fx.server.out_len ? POLLOUT : 0);
        pfd[0].revents = pfd[1].revents = 0;
        n = poll(pfd, 2, 0); /* fake clock: never really sleep */
        assert_true(n >= 0);
        now += n == 0 ? (uint64_t)timeout : 1;
        srv_step(&fx.server, now);
    }
    assert_true(done);
    exp = expected_wire(rcpts2, 2, body_text, 1);
    assert_bytes_equal(exp, strlen(exp), fx.server.log, fx.server.log_len);
    free(exp);
    assert_true(fx.body.reads > 3);
    fx_free(&fx);
}

static void test_invalid_use(void **state)
{
    mailout_allocator heap = mailout_heap_allocator();
    mailout_smtp_config cfg;
    mailout_transport t;
    ct_flaky f;
    mailout_client *c = NULL;
    (void)state;

    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    t = ct_flaky_transport(&f, -1, 1, 1);
    /* TLS required (the default) needs TLS settings */
    assert_status(MAILOUT_E_INVAL, mailout_client_new(&c, &t, &cfg, NULL, &heap));
    assert_null(c);
    cfg.tls = MAILOUT_TLS_NONE;
    assert_status(MAILOUT_E_INVAL, mailout_client_new(NULL, &t, &cfg, NULL, &heap));
    assert_status(MAILOUT_E_INVAL, mailout_client_new(&c, NULL, &cfg, NULL, &heap));
    assert_status(MAILOUT_E_INVAL, mailout_client_new(&c, &t, NULL, NULL, &heap));
    assert_status(MAILOUT_E_INVAL, mailout_client_new(&c, &t, &cfg, NULL, NULL));
    /* the engine's own validation comes through */
    cfg.ehlo_name = "bad\r\nname";
    assert_status(MAILOUT_E_INVAL, mailout_client_new(&c, &t, &cfg, NULL, &heap));
    assert_null(c);
    mailout_client_free(NULL);
    assert_status(MAILOUT_E_INVAL, mailout_client_step(NULL, 0));
    assert_null(mailout_client_result(NULL));
    assert_true(mailout_client_deadline(NULL) == UINT64_MAX);
}

/* Every allocation from the given allocator: an arena too small at each
 * size fails cleanly with E_NOMEM; a large enough one works. */
static void test_memory_from_allocator(void **state)
{
    static unsigned char pool[65536];
    mailout_arena arena;
    mailout_allocator a;
    mailout_smtp_config cfg;
    mailout_transport t;
    ct_flaky f;
    mailout_client *c = NULL;
    size_t need;
    (void)state;

    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "client.test";
    cfg.tls = MAILOUT_TLS_NONE;
    t = ct_flaky_transport(&f, -1, 1, 1);
    mailout_arena_init(&arena, pool, sizeof pool);
    a = mailout_arena_allocator(&arena);
    assert_status(MAILOUT_OK, mailout_client_new(&c, &t, &cfg, NULL, &a));
    need = mailout_arena_used(&arena);
    assert_true(need > 0);
    mailout_client_free(c);
    for (size_t size = 0; size < need; size += 7) {
        c = NULL;
        mailout_arena_init(&arena, pool, size);
        a = mailout_arena_allocator(&arena);
        assert_status(MAILOUT_E_NOMEM, mailout_client_new(&c, &t, &cfg, NULL, &a));
        assert_null(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flaky_one_byte),
        cmocka_unit_test(test_flaky_random_sizes),
        cmocka_unit_test(test_two_jobs_one_session),
        cmocka_unit_test(test_rcpt_rejected_session_goes_on),
        cmocka_unit_test(test_421_at_mail_is_session_error),
        cmocka_unit_test(test_close_after_data_is_unknown),
        cmocka_unit_test(test_greeting_554_fails_queued_job),
        cmocka_unit_test(test_deadline_passes),
        cmocka_unit_test(test_superloop_poll),
        cmocka_unit_test(test_invalid_use),
        cmocka_unit_test(test_memory_from_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
