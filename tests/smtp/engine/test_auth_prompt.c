/*
 * LOGIN prompts, built with every mechanism (the library) and with
 * examples/cortex-m/config-minimal.h (PLAIN and LOGIN only: the engine
 * checks a challenge as strict base64 instead of decoding it). Both
 * builds must answer the same prompts and cancel the same ones with "*".
 */
#include "harness.h"

static const char *const one_rcpt[] = {"bob@example.org", NULL};

static void setup_login(hrun *r)
{
    hrun_init(r);
    r->cfg.tls = MAILOUT_TLS_IMPLICIT;
    r->cfg.user = "tim";
    r->cfg.password = "tanstaaftanstaaf";
    r->cfg.auth_mechs = MAILOUT_AUTH_LOGIN;
    hrun_job(r, 0, "tim@example.com", one_rcpt, "x");
}

static void check_ok(hrun *r)
{
    assert_status(MAILOUT_OK, r->final);
}

static void check_cancelled(hrun *r)
{
    assert_status(MAILOUT_E_AUTH, r->final);
    assert_int_equal(mailout_smtp_failure(r->s)->reply.code, 501);
}

/* Strict base64 (what mailout_b64_decode_block takes): answered. */
static void test_prompts_answered(void **state)
{
    (void)state;
    static const char *const good[] = {
        "334 VXNlcm5hbWU6\r\n", "334 \r\n", "334 QQ==\r\n", "334 QUI=\r\n", "334 QUJD\r\n",
        "334 +/+/\r\n", "334 AAAAQQ==\r\n", "334 zz9+\r\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        hstep script[] = {
            S("220 x\r\n"),
            C("EHLO client.example\r\n"),
            S("250-x\r\n250 AUTH LOGIN\r\n"),
            C("AUTH LOGIN\r\n"),
            {ST_S, good[i], strlen(good[i]), 0, 0},
            C("dGlt\r\n"),
            S("334 UGFzc3dvcmQ6\r\n"),
            C("dGFuc3RhYWZ0YW5zdGFhZg==\r\n"),
            S("235 ok\r\n"),
            QUIT(),
            C("QUIT\r\n"),
            S("221 bye\r\n"),
            END(),
        };
        hrun_all(setup_login, script, 1, 1, check_ok);
    }
}

/* Anything else: cancelled with "*", on the first or the second prompt. */
static void test_prompts_cancelled(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "334 !!!notbase64\r\n", "334 PDE4OTY\r\n", "334 PDE4OTYu=mk3\r\n", "334 QR==\r\n", "334 QUJ=\r\n",
        "334 ====\r\n",         "334 Q===\r\n",    "334 QQ=A\r\n",         "334 Q=Q=\r\n", "334 QQ==QUJD\r\n",
        "334 QU I\r\n",         "334 QUJD-\r\n",   "334 Q\x80JD\r\n",      "334 =QUJ\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int second = 0; second < 2; second++) {
            hstep first[] = {
                S("220 x\r\n"),
                C("EHLO client.example\r\n"),
                S("250-x\r\n250 AUTH LOGIN\r\n"),
                C("AUTH LOGIN\r\n"),
                {ST_S, bad[i], strlen(bad[i]), 0, 0},
                C("*\r\n"),
                S("501 5.7.0 cancelled\r\n"),
                END(),
            };
            hstep later[] = {
                S("220 x\r\n"),
                C("EHLO client.example\r\n"),
                S("250-x\r\n250 AUTH LOGIN\r\n"),
                C("AUTH LOGIN\r\n"),
                S("334 VXNlcm5hbWU6\r\n"),
                C("dGlt\r\n"),
                {ST_S, bad[i], strlen(bad[i]), 0, 0},
                C("*\r\n"),
                S("501 5.7.0 cancelled\r\n"),
                END(),
            };
            hrun_all(setup_login, second ? later : first, 1, 1, check_cancelled);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompts_answered),
        cmocka_unit_test(test_prompts_cancelled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
