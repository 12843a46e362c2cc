/* see itool.h: the command line of the integration client. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itool.h"

void itool_usage(void)
{
    fputs("usage: itool [options]\n"
          "connection:\n"
          "  --host H --port N            server (default 127.0.0.1:25)\n"
          "  --tls none|starttls|implicit TLS policy (default starttls)\n"
          "  --cafile F --server-name S   trust and reference identity\n"
          "  --ehlo NAME                  EHLO argument (default: derived)\n"
          "  --user U --password P        AUTH credentials (--oauth-token T: XOAUTH2)\n"
          "  --auth any|plain|login|cram-md5|xoauth2  allowed mechanism (default any)\n"
          "  --allow-plaintext-auth --no-pipelining --no-chunking\n"
          "  --timeout-ms N               per-reply deadline\n"
          "  --trace FILE                 the trace callback's lines\n"
          "message:\n"
          "  --from A [--from-name N] [--envelope-from A]\n"
          "  --to A --cc A --bcc A        (repeatable)\n"
          "  --subject S --header 'Name: value' (repeatable; split at the first \": \")\n"
          "  --message-id ID --date UNIXSECONDS --seed N (deterministic boundaries)\n"
          "  --text FILE | --text-data STR   text body\n"
          "  --html FILE | --html-data STR   HTML alternative\n"
          "  --text-type T --encoding auto|7bit|8bit|qp|base64\n"
          "  --producer                   text through a producer callback\n"
          "  --no-rewind                  ... that cannot rewind\n"
          "  --chunks a,b,...             producer chunk sizes (cycled; 0 = AGAIN)\n"
          "  --fail-after N               producer fails after N bytes\n"
          "  --attach FILE [--name NAME] [--type T]  (repeatable)\n"
          "how:\n"
          "  --dry-run | --dry-run-smtp   write the message / DATA stream to stdout\n"
          "  --repeat N                   N messages on one connection (mailout_send_jobs)\n"
          "  --sweep                      one message per producer split offset\n"
          "  --raw-mail-from S --raw-rcpt S  override the job's envelope (jobs mode)\n",
          stderr);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_chunks(itool_opts *o, const char *s)
{
    char buf[1024];
    char *save = NULL;
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    o->nchunks = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        uint64_t v;
        if (o->nchunks == ITOOL_MAX_LIST || parse_u64(t, &v) != 0)
            return -1;
        o->chunks[o->nchunks++] = (size_t)v;
    }
    return o->nchunks ? 0 : -1;
}

static int add(const char **list, size_t *n, const char *v)
{
    if (*n == ITOOL_MAX_LIST)
        return -1;
    list[(*n)++] = v;
    return 0;
}

static int parse_enum(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

static int parse_tls(itool_opts *o, const char *v)
{
    static const char *const names[] = {"starttls", "implicit", "none"};
    int i = parse_enum(v, names, 3);
    if (i < 0)
        return -1;
    o->tls = (mailout_tls_policy)i; /* same order as mailout_tls_policy */
    return 0;
}

static int parse_auth(itool_opts *o, const char *v)
{
    static const char *const names[] = {"any", "plain", "login", "cram-md5", "xoauth2"};
    static const unsigned bits[] = {MAILOUT_AUTH_ANY, MAILOUT_AUTH_PLAIN, MAILOUT_AUTH_LOGIN,
                                    MAILOUT_AUTH_CRAM_MD5, MAILOUT_AUTH_XOAUTH2};
    int i = parse_enum(v, names, 5);
    if (i < 0)
        return -1;
    o->auth_mechs = bits[i];
    return 0;
}

static int parse_encoding(itool_opts *o, const char *v)
{
    static const char *const names[] = {"auto", "7bit", "8bit", "qp", "base64"};
    int i = parse_enum(v, names, 5);
    if (i < 0)
        return -1;
    o->text_encoding = (mailout_encoding)i; /* same order as mailout_encoding */
    return 0;
}

/* Options that take no value. */
static int parse_flag(itool_opts *o, const char *a)
{
    if (strcmp(a, "--allow-plaintext-auth") == 0)
        o->allow_plaintext_auth = 1;
    else if (strcmp(a, "--no-pipelining") == 0)
        o->no_pipelining = 1;
    else if (strcmp(a, "--no-chunking") == 0)
        o->no_chunking = 1;
    else if (strcmp(a, "--producer") == 0)
        o->producer = 1;
    else if (strcmp(a, "--no-rewind") == 0)
        o->producer_rewind = 0;
    else if (strcmp(a, "--dry-run") == 0)
        o->dry_run = 1;
    else if (strcmp(a, "--dry-run-smtp") == 0)
        o->dry_run = 2;
    else if (strcmp(a, "--sweep") == 0)
        o->sweep = 1;
    else
        return 1; /* not a flag */
    return 0;
}

static int last_attach(itool_opts *o, const char **field, const char *v)
{
    if (o->nattach == 0)
        return -1;
    field[o->nattach - 1] = v;
    return 0;
}

/* Options with one value; returns 0, -1 (bad value) or 1 (unknown). */
static int parse_valued(itool_opts *o, const char *a, const char *v)
{
    uint64_t n;
    if (strcmp(a, "--host") == 0) o->host = v;
    else if (strcmp(a, "--port") == 0) { if (parse_u64(v, &n) || n == 0 || n > 65535) return -1; o->port = (uint16_t)n; }
    else if (strcmp(a, "--tls") == 0) return parse_tls(o, v);
    else if (strcmp(a, "--cafile") == 0) o->cafile = v;
    else if (strcmp(a, "--server-name") == 0) o->server_name = v;
    else if (strcmp(a, "--ehlo") == 0) o->ehlo = v;
    else if (strcmp(a, "--user") == 0) o->user = v;
    else if (strcmp(a, "--password") == 0) o->password = v;
    else if (strcmp(a, "--oauth-token") == 0) o->oauth_token = v;
    else if (strcmp(a, "--auth") == 0) return parse_auth(o, v);
    else if (strcmp(a, "--timeout-ms") == 0) { if (parse_u64(v, &n) || n > UINT32_MAX) return -1; o->timeout_ms = (uint32_t)n; }
    else if (strcmp(a, "--trace") == 0) o->trace_path = v;
    else if (strcmp(a, "--from") == 0) o->from = v;
    else if (strcmp(a, "--from-name") == 0) o->from_name = v;
    else if (strcmp(a, "--envelope-from") == 0) o->envelope_from = v;
    else if (strcmp(a, "--to") == 0) return add(o->to, &o->nto, v);
    else if (strcmp(a, "--cc") == 0) return add(o->cc, &o->ncc, v);
    else if (strcmp(a, "--bcc") == 0) return add(o->bcc, &o->nbcc, v);
    else if (strcmp(a, "--subject") == 0) o->subject = v;
    else if (strcmp(a, "--header") == 0) return add(o->headers, &o->nheaders, v);
    else if (strcmp(a, "--message-id") == 0) o->message_id = v;
    else if (strcmp(a, "--date") == 0) { if (parse_u64(v, &n)) return -1; o->date = (int64_t)n; o->have_date = 1; }
    else if (strcmp(a, "--seed") == 0) { if (parse_u64(v, &n) || n == 0) return -1; o->seed = n; }
    else if (strcmp(a, "--text") == 0) o->text.path = v;
    else if (strcmp(a, "--text-data") == 0) o->text.inline_str = v;
    else if (strcmp(a, "--html") == 0) o->html.path = v;
    else if (strcmp(a, "--html-data") == 0) o->html.inline_str = v;
    else if (strcmp(a, "--text-type") == 0) o->text_type = v;
    else if (strcmp(a, "--encoding") == 0) return parse_encoding(o, v);
    else if (strcmp(a, "--chunks") == 0) return parse_chunks(o, v);
    else if (strcmp(a, "--fail-after") == 0) return parse_u64(v, &o->fail_after);
    else if (strcmp(a, "--attach") == 0) return add(o->attach, &o->nattach, v);
    else if (strcmp(a, "--name") == 0) return last_attach(o, o->attach_name, v);
    else if (strcmp(a, "--type") == 0) return last_attach(o, o->attach_type, v);
    else if (strcmp(a, "--repeat") == 0) { if (parse_u64(v, &n) || n == 0 || n > 100000) return -1; o->repeat = (size_t)n; }
    else if (strcmp(a, "--raw-mail-from") == 0) o->raw_mail_from = v;
    else if (strcmp(a, "--raw-rcpt") == 0) o->raw_rcpt = v;
    else return 1;
    return 0;
}

int itool_parse(itool_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 25;
    o->tls = MAILOUT_TLS_REQUIRED;
    o->producer_rewind = 1;
    o->fail_after = UINT64_MAX;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (parse_flag(o, a) == 0)
            continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "itool: %s needs a value (or is unknown)\n", a);
            return -1;
        }
        int r = parse_valued(o, a, argv[i + 1]);
        if (r != 0) {
            fprintf(stderr, "itool: %s %s: %s\n", a, argv[i + 1], r > 0 ? "unknown option" : "bad value");
            return -1;
        }
        i++;
    }
    if (o->text.path && o->text.inline_str) {
        fputs("itool: --text and --text-data exclude each other\n", stderr);
        return -1;
    }
    if (o->sweep && !o->producer) {
        fputs("itool: --sweep needs --producer\n", stderr);
        return -1;
    }
    return 0;
}
