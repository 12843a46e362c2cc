/*
 * Unit tests of mailout-send's option parsing (args.c) and of the mapping
 * from statuses to exit codes and error lines (exitcodes.c). The whole
 * program is tested by test_cli.py.
 */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "cli.h"

/* Captured stdout/stderr of one parse. */
typedef struct capture {
    FILE *out, *err;
    char outbuf[8192], errbuf[2048];
} capture;

static void cap_open(capture *c)
{
    c->out = tmpfile();
    c->err = tmpfile();
    assert_non_null(c->out);
    assert_non_null(c->err);
}

static void slurp(FILE *f, char *buf, size_t cap)
{
    size_t n;
    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void cap_close(capture *c)
{
    slurp(c->out, c->outbuf, sizeof c->outbuf);
    slurp(c->err, c->errbuf, sizeof c->errbuf);
}

/* Parse a NULL-terminated list of arguments (copied: parsing splits
 * --attach specs in place). */
static int parse(cli_config *cfg, capture *c, char *storage, const char *const *args)
{
    char *argv[64];
    int argc = 0;
    char *p = storage;

    argv[argc++] = strcpy(p, "mailout-send");
    p += strlen(p) + 1;
    for (; *args; args++) {
        argv[argc++] = strcpy(p, *args);
        p += strlen(p) + 1;
    }
    argv[argc] = NULL;
    cap_open(c);
    int r = cli_parse_args(argc, argv, cfg, c->out, c->err);
    cap_close(c);
    return r;
}

#define PARSE(cfg, cap, ...)                                                                                  \
    parse((cfg), (cap), storage, (const char *const[]){"--from", "a@example.com", "--to", "b@example.com",     \
                                                       __VA_ARGS__, NULL})

static char storage[8192];

static void test_server_urls(void **state)
{
    cli_config cfg;
    capture c;
    (void)state;

    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://mail.example.com"), 0);
    assert_string_equal(cfg.host, "mail.example.com");
    assert_int_equal(cfg.port, 587);
    assert_int_equal(cfg.tls, MAILOUT_TLS_REQUIRED);

    assert_int_equal(PARSE(&cfg, &c, "--server", "smtps://mail.example.com"), 0);
    assert_int_equal(cfg.port, 465);
    assert_int_equal(cfg.tls, MAILOUT_TLS_IMPLICIT);

    assert_int_equal(PARSE(&cfg, &c, "--server", "SMTP://127.0.0.1:2525/"), 0);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_int_equal(cfg.port, 2525);

    assert_int_equal(PARSE(&cfg, &c, "--server", "smtps://[::1]:10465"), 0);
    assert_string_equal(cfg.host, "::1");
    assert_int_equal(cfg.port, 10465);
    assert_int_equal(cfg.tls, MAILOUT_TLS_IMPLICIT);

    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://h", "--tls", "none"), 0);
    assert_int_equal(cfg.tls, MAILOUT_TLS_NONE);
    assert_int_equal(PARSE(&cfg, &c, "--tls", "none", "--server", "smtp://h"), 0);
    assert_int_equal(cfg.tls, MAILOUT_TLS_NONE);
    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://h", "--tls", "required"), 0);
    assert_int_equal(cfg.tls, MAILOUT_TLS_REQUIRED);

    static const char *const bad[] = {"http://h",  "smtp://",       "smtp://h:",   "smtp://h:0",
                                      "smtp://h:70000", "smtp://[::1", "smtp://h:25x", "h:25",
                                      "smtp://h/x", "smtps://:25"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(PARSE(&cfg, &c, "--server", bad[i]), CLI_EX_USAGE);
        assert_non_null(strstr(c.errbuf, "--server"));
    }
    assert_int_equal(PARSE(&cfg, &c, "--server", "smtps://h", "--tls", "none"), CLI_EX_USAGE);
    assert_string_equal(c.errbuf, "mailout-send: --tls none contradicts smtps://\n");
    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://h", "--tls", "maybe"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://h", "--tls", "none", "--cafile", "x"), CLI_EX_USAGE);
}

static void test_required_options(void **state)
{
    cli_config cfg;
    capture c;
    (void)state;

    assert_int_equal(parse(&cfg, &c, storage, (const char *const[]){"--to", "b@x", "--dry-run", NULL}),
                     CLI_EX_USAGE);
    assert_string_equal(c.errbuf, "mailout-send: --from is required\n");
    assert_int_equal(parse(&cfg, &c, storage, (const char *const[]){"--from", "b@x", "--dry-run", NULL}),
                     CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--subject", "x"), CLI_EX_USAGE);
    assert_string_equal(c.errbuf, "mailout-send: --server is required (or --dry-run)\n");
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "extra"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--subject", "a", "--subject", "b"), CLI_EX_USAGE);
    assert_string_equal(c.errbuf, "mailout-send: --subject given twice\n");
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--password", "hunter2"), CLI_EX_USAGE);
    assert_null(strstr(c.errbuf, "hunter2"));
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--password-file", "f"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--header", "NoColon"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--header", ": x"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--timeout", "0"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--timeout", "5s"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--timeout", "30"), 0);
    assert_int_equal(cfg.timeout_s, 30);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--auth", "plain"), 0);
    assert_int_equal(cfg.auth_mechs, MAILOUT_AUTH_PLAIN);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--auth", "SCRAM-SHA-256"), 0);
    assert_int_equal(cfg.auth_mechs, MAILOUT_AUTH_SCRAM_SHA256);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--auth", "NTLM"), CLI_EX_USAGE);
}

static void test_help(void **state)
{
    cli_config cfg;
    capture c;
    (void)state;

    assert_int_equal(parse(&cfg, &c, storage, (const char *const[]){"--help", NULL}), CLI_HELP_SHOWN);
    assert_non_null(strstr(c.outbuf, "usage: mailout-send"));
    assert_non_null(strstr(c.outbuf, "--attach-cmd"));
    assert_string_equal(c.errbuf, "");
}

static void test_recipients(void **state)
{
    cli_config cfg;
    capture c;
    (void)state;

    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--cc", "c@x", "--bcc", "d@x", "--to", "e@x"), 0);
    assert_int_equal(cfg.nrcpt, 4);
    assert_string_equal(cfg.rcpt[0], "b@example.com");
    assert_int_equal(cfg.rcpt_kind[0], MAILOUT_TO);
    assert_string_equal(cfg.rcpt[1], "c@x");
    assert_int_equal(cfg.rcpt_kind[1], MAILOUT_CC);
    assert_int_equal(cfg.rcpt_kind[2], MAILOUT_BCC);
    assert_int_equal(cfg.rcpt_kind[3], MAILOUT_TO);
}

static void test_attach_specs(void **state)
{
    cli_config cfg;
    capture c;
    (void)state;

    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--attach", "dir/a.bin;type=application/x-thing;name=b.dat",
                           "--attach", "semi;colon.txt", "--attach", "x.log;name=y.txt", "--attach-cmd",
                           "uname -a; false", "--attach-tail", "/var/log/a:b.log:2K"),
                     0);
    assert_int_equal(cfg.nattach, 5);
    assert_int_equal(cfg.attach[0].kind, CLI_ATTACH_FILE);
    assert_string_equal(cfg.attach[0].path, "dir/a.bin");
    assert_string_equal(cfg.attach[0].type, "application/x-thing");
    assert_string_equal(cfg.attach[0].name, "b.dat");
    assert_string_equal(cfg.attach[1].path, "semi;colon.txt");
    assert_null(cfg.attach[1].type);
    assert_null(cfg.attach[1].name);
    assert_string_equal(cfg.attach[2].path, "x.log");
    assert_string_equal(cfg.attach[2].name, "y.txt");
    assert_null(cfg.attach[2].type);
    assert_int_equal(cfg.attach[3].kind, CLI_ATTACH_CMD);
    assert_string_equal(cfg.attach[3].path, "uname -a; false");
    assert_int_equal(cfg.attach[4].kind, CLI_ATTACH_TAIL);
    assert_string_equal(cfg.attach[4].path, "/var/log/a:b.log");
    assert_int_equal(cfg.attach[4].tail_bytes, 2048);

    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--attach-tail", "f:1M"), 0);
    assert_int_equal(cfg.attach[0].tail_bytes, 1024 * 1024);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--attach-tail", "f:17"), 0);
    assert_int_equal(cfg.attach[0].tail_bytes, 17);

    static const char *const bad_tail[] = {"f:0", "f:", "f", ":5", "f:-1", "f:1X", "f:K"};
    for (size_t i = 0; i < sizeof bad_tail / sizeof bad_tail[0]; i++)
        assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--attach-tail", bad_tail[i]), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--attach", ";type=a/b"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--attach", "f;name="), CLI_EX_USAGE);
}

static void test_pin_and_dsn(void **state)
{
    cli_config cfg;
    capture c;
    unsigned char want[32];
    (void)state;

    for (int i = 0; i < 32; i++)
        want[i] = (unsigned char)(i * 7 + 1);
    char pin[64] = "sha256//";
    assert_int_equal(mailout_b64_encode_block(want, 32, pin + 8, sizeof pin - 9), 44);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--pin", pin), 0);
    assert_true(cfg.have_pin);
    assert_memory_equal(cfg.pin, want, 32);

    pin[8 + 43] = '\0'; /* truncated */
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--pin", pin), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--pin", "sha1//AAAA"), CLI_EX_USAGE);
    /* 16 bytes: valid base64, wrong length */
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--pin", "sha256//AAAAAAAAAAAAAAAAAAAAAA=="), CLI_EX_USAGE);

    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--dsn", "never"), 0);
    assert_int_equal(cfg.dsn_notify, MAILOUT_NOTIFY_NEVER);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--dsn", "success,FAILURE,delay"), 0);
    assert_int_equal(cfg.dsn_notify, MAILOUT_NOTIFY_SUCCESS | MAILOUT_NOTIFY_FAILURE | MAILOUT_NOTIFY_DELAY);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--dsn", "never,success"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--dsn", "sometimes"), CLI_EX_USAGE);
    assert_int_equal(PARSE(&cfg, &c, "--dry-run", "--dsn", ""), CLI_EX_USAGE);
}

static void test_secrets(void **state)
{
    cli_config cfg;
    cli_secrets sec;
    capture c;
    char path[] = "/tmp/mailout-cli-secret-XXXXXX";
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret pass\r\nsecond line\n", 25), 25);
    close(fd);

    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://h", "--user", "u", "--password-file", path), 0);
    cap_open(&c);
    assert_int_equal(cli_load_secrets(&cfg, &sec, c.err), 0);
    cap_close(&c);
    assert_true(sec.have_password);
    assert_string_equal(sec.password, "s3cret pass");
    cli_secrets_wipe(&sec);
    assert_int_equal(sec.password[0], 0);

    setenv("MAILOUT_PASSWORD", "from-env", 1);
    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://h", "--user", "u"), 0);
    cap_open(&c);
    assert_int_equal(cli_load_secrets(&cfg, &sec, c.err), 0);
    cap_close(&c);
    assert_string_equal(sec.password, "from-env");
    unsetenv("MAILOUT_PASSWORD");

    cap_open(&c);
    assert_int_equal(cli_load_secrets(&cfg, &sec, c.err), CLI_EX_USAGE);
    cap_close(&c);
    unlink(path);
    assert_int_equal(PARSE(&cfg, &c, "--server", "smtp://h", "--user", "u", "--password-file", path), 0);
    cap_open(&c);
    assert_int_equal(cli_load_secrets(&cfg, &sec, c.err), CLI_EX_NOINPUT);
    cap_close(&c);
    assert_non_null(strstr(c.errbuf, "No such file"));
}

static void test_exit_codes(void **state)
{
    static const struct {
        mailout_status st;
        int code;
    } table[] = {
        {MAILOUT_OK, 0},
        {MAILOUT_E_INVAL, 64},
        {MAILOUT_E_ADDRESS, 64},
        {MAILOUT_E_HEADER, 64},
        {MAILOUT_E_FILE, 66},
        {MAILOUT_E_SOURCE, 66},
        {MAILOUT_E_REJ_PERM, 69},
        {MAILOUT_E_SIZE, 69},
        {MAILOUT_E_REJ_TEMP, 75},
        {MAILOUT_E_SERVER_SHUTDOWN, 75},
        {MAILOUT_E_DELIVERY_UNKNOWN, 75},
        {MAILOUT_E_CONNECT, 75},
        {MAILOUT_E_TIMEOUT, 75},
        {MAILOUT_E_CLOSED, 75},
        {MAILOUT_E_IO, 75},
        {MAILOUT_E_RESOLVE, 75},
        {MAILOUT_E_AUTH_TEMP, 75},
        {MAILOUT_E_PROTO, 76},
        {MAILOUT_E_REPLY_TOO_LONG, 76},
        {MAILOUT_E_AUTH, 77},
        {MAILOUT_E_AUTH_INSECURE, 77},
        {MAILOUT_E_AUTH_UNSUPPORTED, 77},
        {MAILOUT_E_TLS_VERIFY, 77},
        {MAILOUT_E_TLS_HOSTNAME, 77},
        {MAILOUT_E_TLS_PIN, 77},
        {MAILOUT_E_TLS_REQUIRED, 77},
        {MAILOUT_E_TLS_HANDSHAKE, 77},
        {MAILOUT_E_NOMEM, 70},
        {MAILOUT_E_INTERNAL, 70},
        {MAILOUT_E_STATE, 70},
        {(mailout_status)-12345, 70},
    };
    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (cli_exit_code(table[i].st) != table[i].code)
            fail_msg("%s: expected %d, got %d", mailout_errname(table[i].st), table[i].code,
                     cli_exit_code(table[i].st));
    }
}

static mailout_reply reply(uint16_t code, unsigned cls, unsigned subj, unsigned det, const char *text)
{
    mailout_reply r;
    memset(&r, 0, sizeof r);
    r.code = code;
    r.enh_class = (uint8_t)cls;
    r.enh_subject = (uint16_t)subj;
    r.enh_detail = (uint16_t)det;
    snprintf(r.text, sizeof r.text, "%s", text);
    return r;
}

static void test_report_lines(void **state)
{
    const char *const addrs[] = {"ok@example.com", "gone@example.com", "busy@example.com"};
    cli_rcpt_log log;
    mailout_result res;
    capture c;
    char line[200];
    (void)state;

    mailout_reply r = reply(550, 5, 1, 1, "5.1.1 user unknown");
    cli_format_reply(&r, line, sizeof line);
    assert_string_equal(line, "550 5.1.1 user unknown");
    r = reply(550, 5, 1, 1, "user unknown");
    cli_format_reply(&r, line, sizeof line);
    assert_string_equal(line, "550 5.1.1 user unknown");
    r = reply(421, 0, 0, 0, "");
    cli_format_reply(&r, line, sizeof line);
    assert_string_equal(line, "421");

    memset(&log, 0, sizeof log);
    log.addr = addrs;
    log.count = 3;
    log.reply[0] = reply(250, 2, 1, 5, "2.1.5 ok");
    log.reply[1] = reply(550, 5, 1, 1, "5.1.1 user unknown");
    log.reply[2] = reply(451, 4, 3, 0, "4.3.0 try later");

    memset(&res, 0, sizeof res);
    res.status = MAILOUT_E_PARTIAL;
    res.stage = MAILOUT_STAGE_END;
    res.rcpt_ok = 1;
    res.rcpt_failed = 2;
    cap_open(&c);
    assert_int_equal(cli_report_result(&res, &log, c.err), 69);
    cap_close(&c);
    assert_string_equal(c.errbuf, "mailout-send: RCPT <gone@example.com>: 550 5.1.1 user unknown\n"
                                  "mailout-send: RCPT <busy@example.com>: 451 4.3.0 try later\n"
                                  "mailout-send: sent to 1 recipient(s), 2 refused\n");

    /* only temporary refusals: retry later */
    log.reply[1] = reply(452, 4, 2, 2, "4.2.2 mailbox full");
    cap_open(&c);
    assert_int_equal(cli_report_result(&res, &log, c.err), 75);
    cap_close(&c);

    /* every recipient refused */
    log.count = 1;
    log.reply[0] = reply(550, 5, 1, 1, "5.1.1 user unknown");
    res.status = MAILOUT_E_REJ_PERM;
    res.stage = MAILOUT_STAGE_RCPT;
    res.reply = log.reply[0];
    res.rcpt_ok = 0;
    res.rcpt_failed = 1;
    cap_open(&c);
    assert_int_equal(cli_report_result(&res, &log, c.err), 69);
    cap_close(&c);
    assert_string_equal(c.errbuf, "mailout-send: RCPT <ok@example.com>: 550 5.1.1 user unknown\n");

    /* no reply: the status text names the failure */
    memset(&res, 0, sizeof res);
    res.status = MAILOUT_E_CONNECT;
    res.stage = MAILOUT_STAGE_CONNECT;
    cap_open(&c);
    assert_int_equal(cli_report_result(&res, NULL, c.err), 75);
    cap_close(&c);
    snprintf(line, sizeof line, "mailout-send: %s: %s\n", mailout_smtp_stage_name(MAILOUT_STAGE_CONNECT),
             mailout_strerror(MAILOUT_E_CONNECT));
    assert_string_equal(c.errbuf, line);

    res.status = MAILOUT_E_DELIVERY_UNKNOWN;
    res.stage = MAILOUT_STAGE_END;
    cap_open(&c);
    assert_int_equal(cli_report_result(&res, NULL, c.err), 75);
    cap_close(&c);
    assert_non_null(strstr(c.errbuf, "may or may not be delivered"));

    res.status = MAILOUT_E_REJ_TEMP;
    res.stage = MAILOUT_STAGE_MAIL;
    res.reply = reply(451, 4, 7, 1, "4.7.1 greylisted");
    cap_open(&c);
    assert_int_equal(cli_report_result(&res, NULL, c.err), 75);
    cap_close(&c);
    snprintf(line, sizeof line, "mailout-send: %s: 451 4.7.1 greylisted\n",
             mailout_smtp_stage_name(MAILOUT_STAGE_MAIL));
    assert_string_equal(c.errbuf, line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_urls),  cmocka_unit_test(test_required_options),
        cmocka_unit_test(test_help),         cmocka_unit_test(test_recipients),
        cmocka_unit_test(test_attach_specs), cmocka_unit_test(test_pin_and_dsn),
        cmocka_unit_test(test_secrets),      cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_report_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
