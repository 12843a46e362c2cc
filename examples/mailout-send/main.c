/*
 * mailout-send — send one email from the command line, in the habits of
 * msmtp and curl. See `mailout-send --help` and README.md.
 *
 *   parse (args.c) → check inputs → compose (body.c) → --dry-run: print
 *   the message; else send with the blocking driver → report (exitcodes.c)
 */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What the engine's callbacks need. */
typedef struct run_ctx {
    const cli_config *cfg;
    const cli_secrets *sec;
    cli_rcpt_log rcpts;
    int progress_shown; /* a progress line is on the terminal */
    int last_permille;
    uint64_t last_sent;
} run_ctx;

/* Replace every occurrence of a secret in @p line (defence in depth: the
 * engine already redacts AUTH arguments). */
static void redact(char *line, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    char *hit;

    if (n < 3)
        return; /* too short to tell from ordinary text */
    while ((hit = strstr(line, secret)) != NULL) {
        static const char mark[] = "<redacted>";
        size_t tail = strlen(hit + n);
        if (n >= sizeof mark - 1) {
            memcpy(hit, mark, sizeof mark - 1);
            memmove(hit + sizeof mark - 1, hit + n, tail + 1);
        } else {
            memset(hit, '*', n);
        }
    }
}

static void on_trace(void *ctx, mailout_trace_dir dir, const char *line, size_t len)
{
    static const char *const prefix[] = {"> ", "< ", "* "};
    run_ctx *rc = ctx;
    char buf[1100];

    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (rc->sec->have_password)
        redact(buf, rc->sec->password);
    if (rc->sec->have_token)
        redact(buf, rc->sec->token);
    if (rc->progress_shown) {
        fputc('\n', stderr);
        rc->progress_shown = 0;
    }
    fprintf(stderr, "%s%s\n", prefix[dir <= MAILOUT_TRACE_INFO ? dir : MAILOUT_TRACE_INFO], buf);
}

static void on_progress(void *ctx, uint64_t sent, uint64_t total)
{
    run_ctx *rc = ctx;
    char bar[31];
    int permille, fill;

    if (total == MAILOUT_SIZE_UNKNOWN || total == 0) {
        /* unknown size: a byte count, redrawn every 64 KiB */
        if (sent - rc->last_sent < 65536 && sent != 0)
            return;
        rc->last_sent = sent;
        fprintf(stderr, "\rsending: %llu bytes", (unsigned long long)sent);
        rc->progress_shown = 1;
        return;
    }
    /* the engine may count the DATA terminator too: never show > 100 % */
    if (sent > total)
        sent = total;
    permille = (int)(sent >= total ? 1000 : sent * 1000 / total);
    if (permille / 10 == rc->last_permille / 10 && rc->progress_shown)
        return;
    rc->last_permille = permille;
    fill = permille * 30 / 1000;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(30 - fill));
    bar[30] = '\0';
    fprintf(stderr, "\rsending [%s] %3d%% %llu/%llu bytes", bar, permille / 10, (unsigned long long)sent,
            (unsigned long long)total);
    rc->progress_shown = 1;
}

static void on_rcpt(void *ctx, size_t index, const mailout_reply *reply)
{
    run_ctx *rc = ctx;

    if (index < CLI_MAX_RCPT)
        rc->rcpts.reply[index] = *reply;
}

/* Write the message to stdout exactly as composed (before dot-stuffing). */
static int dry_run(cli_body *b)
{
    unsigned char buf[16384];
    mailout_status st = mailout_msg_read_start(b->msg, 0);
    size_t n = 0;

    while (st == MAILOUT_OK || st == MAILOUT_AGAIN) {
        st = mailout_msg_read(b->msg, buf, sizeof buf, &n);
        if (n && fwrite(buf, 1, n, stdout) != n) {
            fprintf(stderr, "mailout-send: --dry-run: cannot write to standard output\n");
            return CLI_EX_SOFTWARE;
        }
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mailout-send: --dry-run: cannot write to standard output\n");
        return CLI_EX_SOFTWARE;
    }
    if (st == MAILOUT_DONE)
        return CLI_EX_OK;
    if (!cli_body_explain(b, stderr))
        fprintf(stderr, "mailout-send: composing the message: %s\n", mailout_strerror(st));
    return cli_exit_code(st);
}

static void client_config(mailout_client_config *cc, const cli_config *cfg, const cli_secrets *sec,
                          run_ctx *rc)
{
    memset(cc, 0, sizeof *cc);
    cc->host = cfg->host;
    cc->port = cfg->port;
    cc->connect_timeout_ms = cfg->timeout_s * 1000u;
    cc->smtp.ehlo_name = cfg->helo;
    cc->smtp.tls = cfg->tls;
    if (cfg->user) {
        cc->smtp.user = cfg->user;
        cc->smtp.password = sec->have_password ? sec->password : NULL;
        cc->smtp.oauth_token = sec->have_token ? sec->token : NULL;
        cc->smtp.auth_mechs = cfg->auth_mechs;
        if (!cfg->auth_mechs && sec->have_token && !sec->have_password)
            cc->smtp.auth_mechs = MAILOUT_AUTH_XOAUTH2;
    }
    cc->smtp.no_pipelining = cfg->no_pipelining;
    cc->smtp.no_chunking = cfg->no_chunking;
    cc->smtp.timeout_ms = cfg->timeout_s * 1000u;
    cc->smtp.cb.rcpt = on_rcpt;
    cc->smtp.cb.trace = cfg->verbose ? on_trace : NULL;
    cc->smtp.cb.progress = cfg->progress ? on_progress : NULL;
    cc->smtp.cb.ctx = rc;
    cc->tls.ca_file = cfg->cafile;
    cc->tls.pin_sha256 = cfg->have_pin ? cfg->pin : NULL;
}

/* One attempt through the blocking driver, reported as one error line
 * (or one per refused recipient). Also the outbox's sender. */
typedef struct sender {
    run_ctx *rc;
    mailout_client_config cc;
} sender;

static int send_job(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *rcpt_codes)
{
    sender *s = ctx;
    run_ctx *rc = s->rc;
    int code;

    memset(&rc->rcpts, 0, sizeof rc->rcpts);
    rc->rcpts.addr = job->rcpt;
    rc->rcpts.count = job->rcpt_count;
    rc->last_permille = -10;
    rc->last_sent = 0;
    if (rc->cfg->verbose)
        fprintf(stderr, "* connecting to %s port %u\n", rc->cfg->host, (unsigned)rc->cfg->port);
    memset(res, 0, sizeof *res);
    mailout_send_job(&s->cc, job, res);
    if (rc->progress_shown && rc->last_permille < 0 && res->status == MAILOUT_OK)
        fprintf(stderr, "\rsending: %llu bytes, done", (unsigned long long)res->data_bytes);
    if (rc->progress_shown)
        fputc('\n', stderr);
    rc->progress_shown = 0;
    for (size_t i = 0; rcpt_codes && i < job->rcpt_count && i < CLI_MAX_RCPT; i++)
        rcpt_codes[i] = rc->rcpts.reply[i].code;
    code = cli_report_result(res, &rc->rcpts, stderr);
    if (code == CLI_EX_OK && rc->cfg->verbose)
        fprintf(stderr, "* sent: %llu bytes to %zu recipient(s)\n", (unsigned long long)res->data_bytes,
                res->rcpt_ok);
    return code;
}

static int sender_init(sender *s, const cli_config *cfg, const cli_secrets *sec)
{
    mailout_env env = mailout_posix_env();

    s->rc = calloc(1, sizeof *s->rc);
    if (!s->rc) {
        fprintf(stderr, "mailout-send: out of memory\n");
        return CLI_EX_SOFTWARE;
    }
    s->rc->cfg = cfg;
    s->rc->sec = sec;
    client_config(&s->cc, cfg, sec, s->rc);
    s->cc.smtp.random = env.random;
    s->cc.smtp.random_ctx = env.ctx;
    return 0;
}

/* A body source failure is explained by the body (which command, which
 * file); anything else by the result. */
static int explain_source(cli_body *b, mailout_status st, int code)
{
    if ((st == MAILOUT_E_SOURCE || st == MAILOUT_E_FILE) && cli_body_explain(b, stderr))
        return cli_exit_code(st);
    return code;
}

static int send_message(cli_body *b, const cli_config *cfg, const cli_secrets *sec)
{
    const char *rcpt_store[MAILOUT_MAX_RECIPIENTS];
    mailout_job job;
    mailout_result res;
    mailout_status st;
    sender s;
    int code = sender_init(&s, cfg, sec);

    if (code)
        return code;
    if (cfg->queue_dir) {
        code = cli_queue_send(cfg->queue_dir, b->msg, send_job, &s, &st, stderr);
        if (code == -1) { /* one line: the body's own explanation, else the queue's */
            code = cli_exit_code(st);
            if (!((st == MAILOUT_E_SOURCE || st == MAILOUT_E_FILE) && cli_body_explain(b, stderr)))
                fprintf(stderr, "mailout-send: --queue %s: %s\n", cfg->queue_dir, mailout_strerror(st));
        }
    } else if ((st = mailout_job_from_msg(&job, b->msg, rcpt_store)) != MAILOUT_OK) {
        fprintf(stderr, "mailout-send: %s\n", mailout_strerror(st));
        code = cli_exit_code(st);
    } else {
        code = send_job(&s, &job, &res, NULL);
        code = explain_source(b, res.status, code);
    }
    free(s.rc);
    return code;
}

/* --flush DIR / --list DIR: no message is composed. */
static int run_queue(const cli_config *cfg, const cli_secrets *sec)
{
    sender s;
    int code;

    if (cfg->list_dir)
        return cli_queue_list(cfg->list_dir, stdout, stderr);
    code = sender_init(&s, cfg, sec);
    if (code)
        return code;
    code = cli_queue_flush(cfg->flush_dir, send_job, &s, stdout, stderr);
    free(s.rc);
    return code;
}

int main(int argc, char **argv)
{
    cli_config *cfg = calloc(1, sizeof *cfg);
    cli_secrets *sec = calloc(1, sizeof *sec);
    cli_body body;
    int code;

    memset(&body, 0, sizeof body);
    if (!cfg || !sec) {
        fprintf(stderr, "mailout-send: out of memory\n");
        free(cfg);
        free(sec);
        return CLI_EX_SOFTWARE;
    }
    /* a server that closes the connection must be an error, not a death */
    signal(SIGPIPE, SIG_IGN);

    code = cli_parse_args(argc, argv, cfg, stdout, stderr);
    if (code == CLI_HELP_SHOWN)
        code = CLI_EX_OK;
    else if (code == 0 && cfg->list_dir)
        code = run_queue(cfg, sec);
    else if (code == 0 && cfg->flush_dir)
        code = (code = cli_load_secrets(cfg, sec, stderr)) == 0 ? run_queue(cfg, sec) : code;
    /* a dry run needs no secrets */
    else if (code == 0 && (cfg->dry_run || (code = cli_load_secrets(cfg, sec, stderr)) == 0) &&
             (code = cli_check_inputs(cfg, stderr)) == 0 && (code = cli_body_build(&body, cfg, stderr)) == 0)
        code = cfg->dry_run ? dry_run(&body) : send_message(&body, cfg, sec);

    cli_body_free(&body);
    cli_secrets_wipe(sec);
    free(sec);
    free(cfg);
    return code;
}
