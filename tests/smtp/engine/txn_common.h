/*
 * Helpers shared by the transaction tests (test_txn.c, test_envelope.c).
 */
#ifndef MAILOUT_TXN_COMMON_H
#define MAILOUT_TXN_COMMON_H

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

#define HELLO(ehlo) S("220 x\r\n"), C("EHLO client.example\r\n"), S(ehlo)
#define PLAIN_EHLO "250-x\r\n250 8BITMIME\r\n"
#define PIPE_EHLO "250-x\r\n250 PIPELINING\r\n"
#define BYE QUIT(), C("QUIT\r\n"), S("221 bye\r\n"), END()

static inline const char *find(const char *h, size_t hl, const char *n, size_t nl)
{
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0)
            return h + i;
    return NULL;
}

static const char *const one_rcpt[] = {"bob@example.org", NULL};
static const char *const three_rcpt[] = {"r1@example.org", "r2@example.org", "r3@example.org", NULL};

static struct txn_want {
    const char *const *rcpt;
    const char *from;
    const char *body;
    mailout_status status;       /* session */
    mailout_status result;       /* job */
    mailout_smtp_stage stage;
    uint16_t code;
    size_t ok, failed;
    uint16_t codes[3];
    int is8, size_unknown, stuffs, again;
    unsigned notify;
    mailout_dsn_ret ret;
    const char *envid;
    int smtputf8;
    long fail_at;
} want;

static inline void reset(void)
{
    memset(&want, 0, sizeof want);
    want.rcpt = one_rcpt;
    want.from = "alice@example.com";
    want.body = "Hello\r\n";
    want.fail_at = -1;
}

static inline void setup(hrun *r)
{
    hrun_init(r);
    hrun_job(r, 0, want.from, want.rcpt, want.body);
    hrun_job(r, 1, "alice@example.com", one_rcpt, "second\r\n");
    tbody *b = &r->bodies[0];
    b->is8 = want.is8;
    b->size_unknown = want.size_unknown;
    b->stuffs = want.stuffs;
    b->again = want.again;
    b->fail_at = want.fail_at;
    b->fail_st = MAILOUT_E_SOURCE;
    r->jobs[0].body = tbody_body(b);
    r->jobs[0].dsn_notify = want.notify;
    r->jobs[0].dsn_ret = want.ret;
    r->jobs[0].dsn_envid = want.envid;
    r->jobs[0].smtputf8 = want.smtputf8;
}

static inline void check(hrun *r)
{
    assert_status(want.status, r->final);
    const mailout_result *res = mailout_smtp_result(r->s);
    assert_status(want.result, res->status);
    assert_int_equal(res->stage, want.stage);
    assert_int_equal(res->reply.code, want.code);
    assert_int_equal(res->rcpt_ok, want.ok);
    assert_int_equal(res->rcpt_failed, want.failed);
    for (size_t i = 0; i < 3; i++)
        if (want.codes[i])
            assert_int_equal(mailout_smtp_rcpt_code(r->s, i), want.codes[i]);
}

static inline void run(const hstep *script)
{
    hrun_all(setup, script, 0, 1, check);
}


#endif
