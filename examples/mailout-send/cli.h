/*
 * mailout-send — internal interfaces between the CLI's source files.
 *
 *   args.c      command line → cli_config (getopt_long), secrets loading
 *   body.c      cli_config → mailout_msg (text, html, attachments, producers)
 *   exitcodes.c mailout_status + stage → sysexits code and one error line
 *   main.c      orchestration: parse, build, dry-run or send, report
 *   queue.c     --queue / --flush / --list over the persistent outbox
 */
#ifndef MAILOUT_SEND_CLI_H
#define MAILOUT_SEND_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <mailout/mailout.h>

/* sysexits(3) values, spelled out so the mapping reads on its own. */
#define CLI_EX_OK 0
#define CLI_EX_USAGE 64
#define CLI_EX_NOINPUT 66
#define CLI_EX_UNAVAILABLE 69
#define CLI_EX_SOFTWARE 70
#define CLI_EX_TEMPFAIL 75
#define CLI_EX_PROTOCOL 76
#define CLI_EX_NOPERM 77
/* parse result meaning "--help was printed, exit 0" */
#define CLI_HELP_SHOWN (-1)

#define CLI_MAX_RCPT MAILOUT_MAX_RECIPIENTS
#define CLI_MAX_HEADERS 32
#define CLI_MAX_ATTACH 32

typedef enum cli_attach_kind {
    CLI_ATTACH_FILE = 0, /* --attach FILE[;type=..][;name=..] */
    CLI_ATTACH_CMD,      /* --attach-cmd "COMMAND" */
    CLI_ATTACH_TAIL      /* --attach-tail FILE:N */
} cli_attach_kind;

/* One attachment as given on the command line. Strings point into argv. */
typedef struct cli_attach {
    cli_attach_kind kind;
    const char *path;    /* file path, or the command for CLI_ATTACH_CMD */
    const char *type;    /* media type or NULL (guessed) */
    const char *name;    /* file name or NULL (derived) */
    uint64_t tail_bytes; /* CLI_ATTACH_TAIL: the last N bytes */
} cli_attach;

/* Everything the command line says. Strings point into argv (which is
 * modifiable: --attach specs are split in place) or into secret buffers. */
typedef struct cli_config {
    /* connection */
    char host[256];
    uint16_t port;
    int have_server;
    mailout_tls_policy tls;
    const char *cafile;
    unsigned char pin[32];
    int have_pin;
    const char *helo;
    unsigned timeout_s; /* 0 = library defaults */
    /* envelope and header */
    const char *from;
    const char *rcpt[CLI_MAX_RCPT];
    mailout_rcpt_kind rcpt_kind[CLI_MAX_RCPT];
    size_t nrcpt;
    const char *subject;
    const char *headers[CLI_MAX_HEADERS]; /* "Name: value" as given */
    size_t nheaders;
    unsigned dsn_notify;
    /* body */
    const char *text; /* path or "-" */
    const char *html;
    cli_attach attach[CLI_MAX_ATTACH];
    size_t nattach;
    /* authentication */
    const char *user;
    const char *password_file;
    const char *oauth_token_file;
    unsigned auth_mechs;
    /* behaviour */
    int dry_run;
    int verbose;
    int progress;
    int no_pipelining;
    int no_chunking;
    /* outbox (at most one of them) */
    const char *queue_dir; /* --queue DIR: keep the message on temporary failure */
    const char *flush_dir; /* --flush DIR: retry what is queued */
    const char *list_dir;  /* --list DIR: show what is queued */
} cli_config;

/* Secrets read from files or the environment; wiped by cli_secrets_wipe(). */
typedef struct cli_secrets {
    char password[1024];
    int have_password;
    char token[4096];
    int have_token;
} cli_secrets;

/* args.c */

/* Parse argv into *cfg. Errors are printed to @p err as one line.
 * Returns 0, CLI_HELP_SHOWN (usage printed to @p out), or CLI_EX_USAGE. */
int cli_parse_args(int argc, char **argv, cli_config *cfg, FILE *out, FILE *err);

/* Print the usage text. */
void cli_usage(FILE *f);

/* Read the password (--password-file, else $MAILOUT_PASSWORD) and the
 * OAuth token file. Returns 0, CLI_EX_NOINPUT (file unreadable) or
 * CLI_EX_USAGE (--user without any secret, empty secret). */
int cli_load_secrets(const cli_config *cfg, cli_secrets *sec, FILE *err);

/* Overwrite the secrets in memory. */
void cli_secrets_wipe(cli_secrets *sec);

/* body.c */

/* State of the body sources (files, command, tail) for one message. */
typedef struct cli_source cli_source;

typedef struct cli_body {
    mailout_msg *msg;
    cli_source *sources; /* array, one per producer-backed part */
    size_t nsources;
} cli_body;

/* Check that every input file exists and is readable.
 * Returns 0 or CLI_EX_NOINPUT (one error line printed). */
int cli_check_inputs(const cli_config *cfg, FILE *err);

/* Compose the message. On failure prints one line naming the offending
 * option and returns the exit code (64 for rejected input, 66, 70). */
int cli_body_build(cli_body *b, const cli_config *cfg, FILE *err);

/* After a read failed with MAILOUT_E_SOURCE/E_FILE: print which source
 * failed and why (one line). Returns 1 if something was printed. */
int cli_body_explain(const cli_body *b, FILE *err);

/* Free the message and the sources; reaps any child process. */
void cli_body_free(cli_body *b);

/* exitcodes.c */

/* The sysexits code for a status (see the table in exitcodes.c). */
int cli_exit_code(mailout_status st);

/* Per-recipient replies, recorded by the engine's rcpt callback. */
typedef struct cli_rcpt_log {
    const char *const *addr;           /* envelope recipients in order */
    size_t count;
    mailout_reply reply[CLI_MAX_RCPT]; /* code 0: no reply recorded */
} cli_rcpt_log;

/* @p s made fit for a one-line error message: control bytes escaped
 * (\r, \n, \t, \xNN) and long text cut with "...". Returns @p buf. */
#define CLI_PRINTABLE_MAX 100
const char *cli_printable(const char *s, char *buf, size_t cap);

/* Format one reply as "550 5.1.1 user unknown" into @p buf. */
void cli_format_reply(const mailout_reply *r, char *buf, size_t cap);

/* Print the outcome of a failed send as error lines to @p err, e.g.
 *   mailout-send: RCPT <x@y>: 550 5.1.1 user unknown
 *   mailout-send: CONNECT: connection could not be established
 * and return the exit code. For a partial failure each rejected recipient
 * gets a line, and the code is 69 if any rejection was permanent, else 75.
 * @p rcpts may be NULL. */
int cli_report_result(const mailout_result *res, const cli_rcpt_log *rcpts, FILE *err);

/* queue.c */

/* How the queue sends one job (main.c: the blocking driver + reporting);
 * rcpt_codes (NULL allowed) receives the RCPT reply code per recipient.
 * Returns the exit code the attempt alone would give. */
typedef int (*cli_send_job_fn)(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *rcpt_codes);

/* --queue DIR: spool @p msg into the outbox, then try to deliver it.
 * Delivered → 0; refused for good → the refusal's code (entry moved to
 * DIR/failed); temporary failure → 0 with a "queued" notice (the entry
 * stays for --flush). -1 when spooling failed (*spool says why: a source
 * or file error; nothing was queued or sent). */
int cli_queue_send(const char *dir, mailout_msg *msg, cli_send_job_fn send, void *ctx, mailout_status *spool,
                   FILE *err);

/* --flush DIR: retry every due entry. 0 when nothing is left failing now,
 * 75 when some stay queued, 69 when some were refused for good. */
int cli_queue_flush(const char *dir, cli_send_job_fn send, void *ctx, FILE *out, FILE *err);

/* --list DIR: one line per queued entry on @p out. */
int cli_queue_list(const char *dir, FILE *out, FILE *err);

#endif /* MAILOUT_SEND_CLI_H */
