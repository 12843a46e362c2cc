/* mailout-send: the command line (getopt_long) and secrets; see cli.h. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_SERVER = 256,
    OPT_TLS,
    OPT_CAFILE,
    OPT_PIN,
    OPT_HELO,
    OPT_FROM,
    OPT_TO,
    OPT_CC,
    OPT_BCC,
    OPT_SUBJECT,
    OPT_HEADER,
    OPT_TEXT,
    OPT_HTML,
    OPT_ATTACH,
    OPT_ATTACH_CMD,
    OPT_ATTACH_TAIL,
    OPT_USER,
    OPT_PASSWORD,
    OPT_PASSWORD_FILE,
    OPT_AUTH,
    OPT_OAUTH_TOKEN_FILE,
    OPT_DRY_RUN,
    OPT_VERBOSE,
    OPT_PROGRESS,
    OPT_DSN,
    OPT_NO_PIPELINING,
    OPT_NO_CHUNKING,
    OPT_TIMEOUT,
    OPT_QUEUE,
    OPT_FLUSH,
    OPT_LIST,
    OPT_HELP,
    OPT_VERSION
};

static const struct option long_opts[] = {
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"flush", required_argument, NULL, OPT_FLUSH},
    {"list", required_argument, NULL, OPT_LIST},
    {"server", required_argument, NULL, OPT_SERVER},
    {"tls", required_argument, NULL, OPT_TLS},
    {"cafile", required_argument, NULL, OPT_CAFILE},
    {"pin", required_argument, NULL, OPT_PIN},
    {"helo", required_argument, NULL, OPT_HELO},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"cc", required_argument, NULL, OPT_CC},
    {"bcc", required_argument, NULL, OPT_BCC},
    {"subject", required_argument, NULL, OPT_SUBJECT},
    {"header", required_argument, NULL, OPT_HEADER},
    {"text", required_argument, NULL, OPT_TEXT},
    {"html", required_argument, NULL, OPT_HTML},
    {"attach", required_argument, NULL, OPT_ATTACH},
    {"attach-cmd", required_argument, NULL, OPT_ATTACH_CMD},
    {"attach-tail", required_argument, NULL, OPT_ATTACH_TAIL},
    {"user", required_argument, NULL, OPT_USER},
    /* recognised only to refuse it with a helpful message */
    {"password", optional_argument, NULL, OPT_PASSWORD},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"auth", required_argument, NULL, OPT_AUTH},
    {"oauth-token-file", required_argument, NULL, OPT_OAUTH_TOKEN_FILE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"dsn", required_argument, NULL, OPT_DSN},
    {"no-pipelining", no_argument, NULL, OPT_NO_PIPELINING},
    {"no-chunking", no_argument, NULL, OPT_NO_CHUNKING},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void cli_usage(FILE *f)
{
    fputs("usage: mailout-send --server URL --from ADDR --to ADDR [options]\n"
          "       mailout-send --dry-run --from ADDR --to ADDR [options]\n"
          "\n"
          "Connection:\n"
          "  --server URL          smtp://host[:port] (default 587, STARTTLS required)\n"
          "                        smtps://host[:port] (default 465, implicit TLS)\n"
          "  --tls required|none   TLS policy for smtp:// (default required)\n"
          "  --cafile FILE         trusted CA certificates (PEM)\n"
          "  --pin sha256//BASE64  also require this server public key hash\n"
          "  --helo NAME           EHLO name (default: derived from the socket)\n"
          "  --timeout S           connect and per-reply timeout in seconds\n"
          "Envelope and header:\n"
          "  --from ADDR           sender\n"
          "  --to/--cc/--bcc ADDR  recipients (repeatable; Bcc is never written)\n"
          "  --subject TEXT        subject (UTF-8)\n"
          "  --header 'N: V'       extra header field (repeatable)\n"
          "  --dsn NOTIFY          never, or a list of success,failure,delay\n"
          "Body:\n"
          "  --text FILE|-         text/plain body (UTF-8); - reads standard input\n"
          "  --html FILE           HTML body (with --text: multipart/alternative)\n"
          "  --attach FILE[;type=MIME/TYPE][;name=NAME]   attach a file (repeatable)\n"
          "  --attach-cmd COMMAND  attach the output of /bin/sh -c COMMAND, streamed;\n"
          "                        if it fails the message is not sent\n"
          "  --attach-tail FILE:N  attach the last N bytes of FILE (N may end in K or M)\n"
          "Authentication (only over TLS):\n"
          "  --user NAME           user name; the password comes from --password-file\n"
          "                        or $MAILOUT_PASSWORD, never from the command line\n"
          "  --password-file FILE  file holding the password (first line)\n"
          "  --auth MECH           PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256 or XOAUTH2\n"
          "  --oauth-token-file F  bearer token for XOAUTH2\n"
          "Behaviour:\n"
          "  --dry-run             print the message to stdout; send nothing\n"
          "  --verbose             print the SMTP dialogue (secrets redacted) on stderr\n"
          "  --progress            progress bar on stderr\n"
          "  --no-pipelining       do not pipeline commands\n"
          "  --no-chunking         do not use BDAT\n"
          "Outbox (nothing lost when the network or the server is down):\n"
          "  --queue DIR           on a temporary failure keep the message in DIR\n"
          "                        (exit 0, \"queued\") instead of failing\n"
          "  --flush DIR           retry the messages queued in DIR (needs --server)\n"
          "  --list DIR            show the messages queued in DIR and their last error\n"
          "  --help, --version\n"
          "\n"
          "Exit status (sysexits): 0 sent; 64 usage; 66 input missing or failed;\n"
          "69 permanent rejection (5xx); 75 temporary failure (4xx, refused, timeout,\n"
          "delivery unknown); 76 protocol error; 77 authentication or TLS failure;\n"
          "70 internal error.\n",
          f);
}

/* smtp://host[:port][/] or smtps://...; host may be [IPv6]. */
static int parse_server(cli_config *cfg, const char *url, FILE *err)
{
    char q[CLI_PRINTABLE_MAX + 8];
    const char *p, *host, *host_end, *port = NULL;
    size_t hlen;
    int implicit;

    if (strncasecmp(url, "smtp://", 7) == 0) {
        implicit = 0;
        p = url + 7;
    } else if (strncasecmp(url, "smtps://", 8) == 0) {
        implicit = 1;
        p = url + 8;
    } else {
        fprintf(err, "mailout-send: --server %s: expected smtp://host[:port] or smtps://host[:port]\n",
                cli_printable(url, q, sizeof q));
        return -1;
    }
    if (*p == '[') {
        host = p + 1;
        host_end = strchr(host, ']');
        if (!host_end) {
            fprintf(err, "mailout-send: --server %s: missing ']'\n", cli_printable(url, q, sizeof q));
            return -1;
        }
        p = host_end + 1;
    } else {
        host = p;
        host_end = p + strcspn(p, ":/");
        p = host_end;
    }
    if (*p == ':') {
        port = ++p;
        p += strspn(p, "0123456789");
    }
    if (*p == '/')
        p++;
    hlen = (size_t)(host_end - host);
    if (*p != '\0' || hlen == 0 || hlen >= sizeof cfg->host || (port && port == p)) {
        fprintf(err, "mailout-send: --server %s: expected smtp://host[:port] or smtps://host[:port]\n",
                cli_printable(url, q, sizeof q));
        return -1;
    }
    memcpy(cfg->host, host, hlen);
    cfg->host[hlen] = '\0';
    cfg->port = implicit ? 465 : 587;
    if (port) {
        unsigned long v = strtoul(port, NULL, 10);
        if (v == 0 || v > 65535) {
            fprintf(err, "mailout-send: --server %s: bad port\n", cli_printable(url, q, sizeof q));
            return -1;
        }
        cfg->port = (uint16_t)v;
    }
    cfg->tls = implicit ? MAILOUT_TLS_IMPLICIT : MAILOUT_TLS_REQUIRED;
    cfg->have_server = 1;
    return 0;
}

/* sha256//BASE64 (curl's spelling) → 32 bytes. */
static int parse_pin(cli_config *cfg, const char *arg, FILE *err)
{
    char q[CLI_PRINTABLE_MAX + 8];
    size_t n = 0;
    const char *b64;

    if (strncmp(arg, "sha256//", 8) != 0) {
        fprintf(err, "mailout-send: --pin %s: expected sha256//BASE64\n", cli_printable(arg, q, sizeof q));
        return -1;
    }
    b64 = arg + 8;
    if (mailout_b64_decode_block(b64, strlen(b64), cfg->pin, sizeof cfg->pin, &n) != MAILOUT_OK ||
        n != sizeof cfg->pin) {
        fprintf(err, "mailout-send: --pin: not the base64 of a 32-byte SHA-256 hash\n");
        return -1;
    }
    cfg->have_pin = 1;
    return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* FILE[;type=T][;name=N]: split in place at ";type=" / ";name=" only, so
 * that other semicolons can still be part of a path. */
static int parse_attach(cli_attach *a, char *spec, FILE *err)
{
    char *p = spec;

    a->kind = CLI_ATTACH_FILE;
    a->path = spec;
    for (;;) {
        char *semi = strchr(p, ';');
        char *val;
        while (semi && strncmp(semi, ";type=", 6) != 0 && strncmp(semi, ";name=", 6) != 0)
            semi = strchr(semi + 1, ';');
        if (!semi)
            break;
        *semi = '\0';
        val = semi + 6;
        if (semi[1] == 't')
            a->type = val;
        else
            a->name = val;
        p = val;
    }
    if (*a->path == '\0' || (a->type && *a->type == '\0') || (a->name && *a->name == '\0')) {
        fprintf(err, "mailout-send: --attach: expected FILE[;type=MIME/TYPE][;name=NAME]\n");
        return -1;
    }
    return 0;
}

/* FILE:N with N optionally suffixed K or M (binary). */
static int parse_tail(cli_attach *a, char *spec, FILE *err)
{
    char *colon = strrchr(spec, ':');
    unsigned long long n, mult = 1;
    size_t len;

    if (colon && colon != spec) {
        len = strlen(colon + 1);
        if (len > 1 && (colon[len] == 'K' || colon[len] == 'k'))
            mult = 1024;
        else if (len > 1 && (colon[len] == 'M' || colon[len] == 'm'))
            mult = 1024 * 1024;
        if (mult != 1)
            colon[len] = '\0';
        if (parse_uint(colon + 1, UINT64_MAX / mult, &n) == 0 && n > 0) {
            *colon = '\0';
            a->kind = CLI_ATTACH_TAIL;
            a->path = spec;
            a->tail_bytes = n * mult;
            return 0;
        }
    }
    fprintf(err, "mailout-send: --attach-tail: expected FILE:N (N > 0 bytes, optional K or M)\n");
    return -1;
}

static int parse_dsn(cli_config *cfg, const char *arg, FILE *err)
{
    char q[CLI_PRINTABLE_MAX + 8];
    const char *p = arg;
    unsigned v = 0;

    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 5 && strncasecmp(p, "never", 5) == 0)
            v |= MAILOUT_NOTIFY_NEVER;
        else if (n == 7 && strncasecmp(p, "success", 7) == 0)
            v |= MAILOUT_NOTIFY_SUCCESS;
        else if (n == 7 && strncasecmp(p, "failure", 7) == 0)
            v |= MAILOUT_NOTIFY_FAILURE;
        else if (n == 5 && strncasecmp(p, "delay", 5) == 0)
            v |= MAILOUT_NOTIFY_DELAY;
        else
            v = 0xffu; /* unknown word */
        p += n;
        if (*p == ',')
            p++;
    }
    /* NEVER must stand alone (RFC 3461 §4.1) */
    if (v == 0 || v > 15u || ((v & MAILOUT_NOTIFY_NEVER) && v != MAILOUT_NOTIFY_NEVER)) {
        fprintf(err, "mailout-send: --dsn %s: expected never, or a list of success,failure,delay\n",
                cli_printable(arg, q, sizeof q));
        return -1;
    }
    cfg->dsn_notify = v;
    return 0;
}

static int parse_auth(cli_config *cfg, const char *arg, FILE *err)
{
    char q[CLI_PRINTABLE_MAX + 8];
    static const struct {
        const char *name;
        unsigned bit;
    } mechs[] = {
        {"PLAIN", MAILOUT_AUTH_PLAIN},       {"LOGIN", MAILOUT_AUTH_LOGIN},
        {"CRAM-MD5", MAILOUT_AUTH_CRAM_MD5}, {"XOAUTH2", MAILOUT_AUTH_XOAUTH2},
        {"SCRAM-SHA-256", MAILOUT_AUTH_SCRAM_SHA256},
    };
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
        if (strcasecmp(arg, mechs[i].name) == 0) {
            cfg->auth_mechs = mechs[i].bit;
            return 0;
        }
    }
    fprintf(err, "mailout-send: --auth %s: expected PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256 or XOAUTH2\n",
            cli_printable(arg, q, sizeof q));
    return -1;
}

static int add_rcpt(cli_config *cfg, mailout_rcpt_kind kind, const char *addr, FILE *err)
{
    if (cfg->nrcpt == CLI_MAX_RCPT) {
        fprintf(err, "mailout-send: too many recipients (at most %d)\n", CLI_MAX_RCPT);
        return -1;
    }
    cfg->rcpt[cfg->nrcpt] = addr;
    cfg->rcpt_kind[cfg->nrcpt] = kind;
    cfg->nrcpt++;
    return 0;
}

static cli_attach *new_attach(cli_config *cfg, FILE *err)
{
    cli_attach *a;

    if (cfg->nattach == CLI_MAX_ATTACH) {
        fprintf(err, "mailout-send: too many attachments (at most %d)\n", CLI_MAX_ATTACH);
        return NULL;
    }
    a = &cfg->attach[cfg->nattach++];
    memset(a, 0, sizeof *a);
    return a;
}

static int set_once(const char **slot, const char *val, const char *opt, FILE *err)
{
    if (*slot) {
        fprintf(err, "mailout-send: %s given twice\n", opt);
        return -1;
    }
    *slot = val;
    return 0;
}

/* One option; returns 0, -1 (error printed) or 1 (help or version shown). */
static int apply_opt(cli_config *cfg, int c, char *arg, int *tls_opt, FILE *out, FILE *err)
{
    char q[CLI_PRINTABLE_MAX + 8];
    cli_attach *a;
    unsigned long long v;

    switch (c) {
    case OPT_SERVER:
        return parse_server(cfg, arg, err);
    case OPT_TLS:
        if (strcmp(arg, "required") == 0)
            *tls_opt = 1;
        else if (strcmp(arg, "none") == 0)
            *tls_opt = 2;
        else {
            fprintf(err, "mailout-send: --tls %s: expected required or none\n", cli_printable(arg, q, sizeof q));
            return -1;
        }
        return 0;
    case OPT_CAFILE:
        return set_once(&cfg->cafile, arg, "--cafile", err);
    case OPT_PIN:
        return parse_pin(cfg, arg, err);
    case OPT_HELO:
        return set_once(&cfg->helo, arg, "--helo", err);
    case OPT_FROM:
        return set_once(&cfg->from, arg, "--from", err);
    case OPT_TO:
        return add_rcpt(cfg, MAILOUT_TO, arg, err);
    case OPT_CC:
        return add_rcpt(cfg, MAILOUT_CC, arg, err);
    case OPT_BCC:
        return add_rcpt(cfg, MAILOUT_BCC, arg, err);
    case OPT_SUBJECT:
        return set_once(&cfg->subject, arg, "--subject", err);
    case OPT_HEADER:
        if (cfg->nheaders == CLI_MAX_HEADERS) {
            fprintf(err, "mailout-send: too many --header options (at most %d)\n", CLI_MAX_HEADERS);
            return -1;
        }
        if (!strchr(arg, ':') || arg[0] == ':') {
            fprintf(err, "mailout-send: --header %s: expected \"Name: value\"\n", cli_printable(arg, q, sizeof q));
            return -1;
        }
        cfg->headers[cfg->nheaders++] = arg;
        return 0;
    case OPT_TEXT:
        return set_once(&cfg->text, arg, "--text", err);
    case OPT_HTML:
        return set_once(&cfg->html, arg, "--html", err);
    case OPT_ATTACH:
        return (a = new_attach(cfg, err)) ? parse_attach(a, arg, err) : -1;
    case OPT_ATTACH_CMD:
        if (!(a = new_attach(cfg, err)))
            return -1;
        a->kind = CLI_ATTACH_CMD;
        a->path = arg;
        return 0;
    case OPT_ATTACH_TAIL:
        return (a = new_attach(cfg, err)) ? parse_tail(a, arg, err) : -1;
    case OPT_USER:
        return set_once(&cfg->user, arg, "--user", err);
    case OPT_PASSWORD:
        fprintf(err, "mailout-send: passwords are not taken on the command line (other users can see it);"
                     " use --password-file FILE or MAILOUT_PASSWORD\n");
        return -1;
    case OPT_PASSWORD_FILE:
        return set_once(&cfg->password_file, arg, "--password-file", err);
    case OPT_AUTH:
        return parse_auth(cfg, arg, err);
    case OPT_OAUTH_TOKEN_FILE:
        return set_once(&cfg->oauth_token_file, arg, "--oauth-token-file", err);
    case OPT_DRY_RUN:
        cfg->dry_run = 1;
        return 0;
    case OPT_QUEUE:
        return set_once(&cfg->queue_dir, arg, "--queue", err);
    case OPT_FLUSH:
        return set_once(&cfg->flush_dir, arg, "--flush", err);
    case OPT_LIST:
        return set_once(&cfg->list_dir, arg, "--list", err);
    case OPT_VERBOSE:
        cfg->verbose = 1;
        return 0;
    case OPT_PROGRESS:
        cfg->progress = 1;
        return 0;
    case OPT_DSN:
        return parse_dsn(cfg, arg, err);
    case OPT_NO_PIPELINING:
        cfg->no_pipelining = 1;
        return 0;
    case OPT_NO_CHUNKING:
        cfg->no_chunking = 1;
        return 0;
    case OPT_TIMEOUT:
        if (parse_uint(arg, 86400, &v) != 0 || v == 0) {
            fprintf(err, "mailout-send: --timeout %s: expected seconds (1..86400)\n",
                    cli_printable(arg, q, sizeof q));
            return -1;
        }
        cfg->timeout_s = (unsigned)v;
        return 0;
    case OPT_HELP:
        cli_usage(out);
        return 1;
    case OPT_VERSION:
        fprintf(out, "mailout-send %s\n", MAILOUT_VERSION_STRING);
        return 1;
    default: /* getopt_long printed the reason */
        fprintf(err, "mailout-send: try --help\n");
        return -1;
    }
}

static int check_tls(cli_config *cfg, int tls_opt, FILE *err);

/* Rules that involve several options. */
static int check_combination(cli_config *cfg, int tls_opt, FILE *err)
{
    int modes = !!cfg->queue_dir + !!cfg->flush_dir + !!cfg->list_dir + !!cfg->dry_run;
    if (modes > 1) {
        fprintf(err, "mailout-send: --queue, --flush, --list and --dry-run exclude each other\n");
        return -1;
    }
    if (cfg->list_dir)
        return 0; /* only reads the queue */
    if (cfg->flush_dir) {
        if (cfg->from || cfg->nrcpt || cfg->text || cfg->html || cfg->nattach || cfg->subject) {
            fprintf(err, "mailout-send: --flush sends what is queued; it takes no message options\n");
            return -1;
        }
        if (!cfg->have_server) {
            fprintf(err, "mailout-send: --flush needs --server\n");
            return -1;
        }
        return check_tls(cfg, tls_opt, err);
    }
    if (!cfg->from) {
        fprintf(err, "mailout-send: --from is required\n");
        return -1;
    }
    if (cfg->nrcpt == 0) {
        fprintf(err, "mailout-send: at least one --to, --cc or --bcc is required\n");
        return -1;
    }
    if (!cfg->have_server && !cfg->dry_run) {
        fprintf(err, "mailout-send: --server is required (or --dry-run)\n");
        return -1;
    }
    if (check_tls(cfg, tls_opt, err) != 0)
        return -1;
    if (cfg->html && strcmp(cfg->html, "-") == 0) {
        fprintf(err, "mailout-send: --html - is not supported; use a file\n");
        return -1;
    }
    return 0;
}

/* TLS and credential options that must agree (also for --flush). */
static int check_tls(cli_config *cfg, int tls_opt, FILE *err)
{
    if (tls_opt == 2) {
        if (cfg->tls == MAILOUT_TLS_IMPLICIT) {
            fprintf(err, "mailout-send: --tls none contradicts smtps://\n");
            return -1;
        }
        cfg->tls = MAILOUT_TLS_NONE;
    }
    if (cfg->tls == MAILOUT_TLS_NONE && (cfg->cafile || cfg->have_pin)) {
        fprintf(err, "mailout-send: --cafile/--pin need TLS, but --tls none was given\n");
        return -1;
    }
    if ((cfg->password_file || cfg->oauth_token_file) && !cfg->user) {
        fprintf(err, "mailout-send: --password-file/--oauth-token-file need --user\n");
        return -1;
    }
    return 0;
}

int cli_parse_args(int argc, char **argv, cli_config *cfg, FILE *out, FILE *err)
{
    int c, r, tls_opt = 0;

    memset(cfg, 0, sizeof *cfg);
    cfg->tls = MAILOUT_TLS_REQUIRED;
    optind = 1;
    opterr = 1;
    /* '+': stop at the first non-option, like POSIX; '-'-prefixed junk is
     * reported by getopt itself. */
    while ((c = getopt_long(argc, argv, "+", long_opts, NULL)) != -1) {
        r = apply_opt(cfg, c, optarg, &tls_opt, out, err);
        if (r == 1)
            return CLI_HELP_SHOWN;
        if (r != 0)
            return CLI_EX_USAGE;
    }
    if (optind < argc) {
        char q[CLI_PRINTABLE_MAX + 8];
        fprintf(err, "mailout-send: unexpected argument '%s' (recipients go in --to)\n",
                cli_printable(argv[optind], q, sizeof q));
        return CLI_EX_USAGE;
    }
    return check_combination(cfg, tls_opt, err) == 0 ? 0 : CLI_EX_USAGE;
}

/* Read a whole small file into buf (NUL-terminated), dropping one trailing
 * line break. Returns 0, or -1 with errno set. */
static int read_secret_file(const char *path, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        n += (size_t)r;
    }
    close(fd);
    if (n == cap - 1) {
        errno = EFBIG;
        return -1;
    }
    buf[n] = '\0';
    /* the secret is the first line */
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

int cli_load_secrets(const cli_config *cfg, cli_secrets *sec, FILE *err)
{
    const char *env;

    memset(sec, 0, sizeof *sec);
    if (!cfg->user)
        return 0;
    if (cfg->oauth_token_file) {
        if (read_secret_file(cfg->oauth_token_file, sec->token, sizeof sec->token) != 0) {
            fprintf(err, "mailout-send: --oauth-token-file %s: %s\n", cfg->oauth_token_file, strerror(errno));
            return CLI_EX_NOINPUT;
        }
        sec->have_token = sec->token[0] != '\0';
    }
    if (cfg->password_file) {
        if (read_secret_file(cfg->password_file, sec->password, sizeof sec->password) != 0) {
            fprintf(err, "mailout-send: --password-file %s: %s\n", cfg->password_file, strerror(errno));
            return CLI_EX_NOINPUT;
        }
        sec->have_password = sec->password[0] != '\0';
    } else if ((env = getenv("MAILOUT_PASSWORD")) != NULL) {
        if (strlen(env) >= sizeof sec->password) {
            fprintf(err, "mailout-send: MAILOUT_PASSWORD is too long\n");
            return CLI_EX_USAGE;
        }
        strcpy(sec->password, env);
        sec->have_password = sec->password[0] != '\0';
    }
    if (!sec->have_password && !sec->have_token) {
        fprintf(err, "mailout-send: --user needs a password (--password-file FILE or MAILOUT_PASSWORD)"
                     " or --oauth-token-file\n");
        return CLI_EX_USAGE;
    }
    return 0;
}

void cli_secrets_wipe(cli_secrets *sec)
{
    explicit_bzero(sec, sizeof *sec);
}
