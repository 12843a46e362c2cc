/* mailout-send: statuses → sysexits codes and error lines; see cli.h. */
#include <string.h>

#include "cli.h"

/* Why each code: what a caller (a cron job, a queue runner) should do.
 * 75 means "try again later", 69 "do not retry this message", 77 "fix the
 * credentials or the trust configuration", 76 "the server (or something
 * between us) does not speak SMTP properly". */
int cli_exit_code(mailout_status st)
{
    switch (st) {
    case MAILOUT_OK:
    case MAILOUT_DONE:
        return CLI_EX_OK;
    /* input the user gave that the library refused */
    case MAILOUT_E_INVAL:
    case MAILOUT_E_HEADER:
    case MAILOUT_E_ADDRESS:
    case MAILOUT_E_UTF8:
    case MAILOUT_E_LIMIT:
    case MAILOUT_E_8BIT:
    case MAILOUT_E_LINE_TOO_LONG:
        return CLI_EX_USAGE;
    /* an input file or command could not be read */
    case MAILOUT_E_FILE:
    case MAILOUT_E_SOURCE:
        return CLI_EX_NOINPUT;
    /* permanent: retrying the same message will not help */
    case MAILOUT_E_REJ_PERM:
    case MAILOUT_E_SIZE:
    case MAILOUT_E_SMTPUTF8:
        return CLI_EX_UNAVAILABLE;
    /* temporary: retry later */
    case MAILOUT_AGAIN:
    case MAILOUT_E_REJ_TEMP:
    case MAILOUT_E_SERVER_SHUTDOWN:
    case MAILOUT_E_DELIVERY_UNKNOWN:
    case MAILOUT_E_IO:
    case MAILOUT_E_CLOSED:
    case MAILOUT_E_TIMEOUT:
    case MAILOUT_E_RESOLVE:
    case MAILOUT_E_CONNECT:
    case MAILOUT_E_AUTH_TEMP:
        return CLI_EX_TEMPFAIL;
    case MAILOUT_E_PROTO:
    case MAILOUT_E_REPLY_TOO_LONG:
        return CLI_EX_PROTOCOL;
    /* security: never retried automatically */
    case MAILOUT_E_TLS_REQUIRED:
    case MAILOUT_E_TLS_HANDSHAKE:
    case MAILOUT_E_TLS_VERIFY:
    case MAILOUT_E_TLS_HOSTNAME:
    case MAILOUT_E_TLS_PIN:
    case MAILOUT_E_TLS:
    case MAILOUT_E_AUTH:
    case MAILOUT_E_AUTH_INSECURE:
    case MAILOUT_E_AUTH_UNSUPPORTED:
        return CLI_EX_NOPERM;
    /* partial: decided per recipient by cli_report_result() */
    case MAILOUT_E_PARTIAL:
        return CLI_EX_UNAVAILABLE;
    case MAILOUT_E_STATE:
    case MAILOUT_E_NOMEM:
    case MAILOUT_E_UNSUPPORTED:
    case MAILOUT_E_INTERNAL:
    case MAILOUT_E_SIZE_UNKNOWN:
        return CLI_EX_SOFTWARE;
    }
    return CLI_EX_SOFTWARE;
}

const char *cli_printable(const char *s, char *buf, size_t cap)
{
    size_t n = 0;

    for (; *s && n + 8 < cap && n < CLI_PRINTABLE_MAX; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r' || c == '\n' || c == '\t')
            n += (size_t)snprintf(buf + n, cap - n, "\\%c", c == '\r' ? 'r' : c == '\n' ? 'n' : 't');
        else if (c < 0x20 || c == 0x7f)
            n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
        else
            buf[n++] = (char)c;
    }
    if (*s && n + 4 <= cap) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

void cli_format_reply(const mailout_reply *r, char *buf, size_t cap)
{
    char enh[24] = "";

    /* Show the enhanced code once: servers put it at the start of the
     * text, and the engine may or may not have left it there. */
    if (r->enh_class) {
        snprintf(enh, sizeof enh, "%u.%u.%u", (unsigned)r->enh_class, (unsigned)r->enh_subject,
                 (unsigned)r->enh_detail);
        if (strncmp(r->text, enh, strlen(enh)) == 0)
            enh[0] = '\0';
    }
    snprintf(buf, cap, "%u%s%s%s%s", (unsigned)r->code, enh[0] ? " " : "", enh, r->text[0] ? " " : "", r->text);
}

/* One line per recipient refused; returns whether any refusal was 5xx. */
static int report_rcpts(const cli_rcpt_log *rcpts, FILE *err, int *any)
{
    char line[256];
    int perm = 0;

    *any = 0;
    for (size_t i = 0; rcpts && i < rcpts->count; i++) {
        const mailout_reply *r = &rcpts->reply[i];
        if (r->code == 0 || r->code / 100 == 2)
            continue;
        cli_format_reply(r, line, sizeof line);
        fprintf(err, "mailout-send: RCPT <%s>: %s\n", rcpts->addr[i], line);
        *any = 1;
        if (r->code / 100 == 5)
            perm = 1;
    }
    return perm;
}

int cli_report_result(const mailout_result *res, const cli_rcpt_log *rcpts, FILE *err)
{
    char line[256];
    const char *stage = mailout_smtp_stage_name(res->stage);
    int any = 0, perm;

    if (res->status == MAILOUT_OK)
        return CLI_EX_OK;
    if (res->status == MAILOUT_E_PARTIAL || (res->stage == MAILOUT_STAGE_RCPT && res->reply.code)) {
        perm = report_rcpts(rcpts, err, &any);
        if (res->status == MAILOUT_E_PARTIAL) {
            fprintf(err, "mailout-send: sent to %zu recipient(s), %zu refused\n", res->rcpt_ok, res->rcpt_failed);
            return perm ? CLI_EX_UNAVAILABLE : CLI_EX_TEMPFAIL;
        }
        if (any)
            return cli_exit_code(res->status);
    }
    if (res->reply.code) {
        cli_format_reply(&res->reply, line, sizeof line);
        fprintf(err, "mailout-send: %s: %s\n", stage, line);
    } else {
        fprintf(err, "mailout-send: %s: %s\n", stage, mailout_strerror(res->status));
    }
    if (res->status == MAILOUT_E_DELIVERY_UNKNOWN)
        fprintf(err, "mailout-send: the message was sent but the server's answer was lost:"
                     " it may or may not be delivered\n");
    return cli_exit_code(res->status);
}
