/*
 * support-email — a device's "send my logs to support" button.
 *
 *   support-email HOST:PORT CAFILE FROM TO LOGFILE [COMMAND]
 *
 * Collects the last 64 KiB of LOGFILE and the output of COMMAND (default:
 * a few system facts) as attachments, writes a short text summary, and
 * sends it over STARTTLS (the server certificate is checked against
 * CAFILE) with the blocking driver. Both attachments are streamed: the log
 * is read from disk and the command's output from a pipe while the message
 * goes out, so memory use does not depend on their size. If the command
 * fails, the message is not sent (the producer reports an error, and the
 * library never ends a message whose source failed).
 *
 * Exit status: 0 sent, 1 not sent (the reason is printed), 64 usage.
 */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mailout/mailout.h>

#define LOG_TAIL_BYTES (64 * 1024)

/* ---- the log tail: a rewindable producer over [start, start + len) ---- */

typedef struct log_tail {
    int fd;
    uint64_t start, len, pos;
} log_tail;

static mailout_status tail_read(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    log_tail *t = ctx;
    ssize_t r;

    *produced = 0;
    if (cap > t->len - t->pos)
        cap = (size_t)(t->len - t->pos);
    if (cap == 0)
        return MAILOUT_DONE;
    r = pread(t->fd, buf, cap, (off_t)(t->start + t->pos));
    if (r <= 0)
        return MAILOUT_E_FILE; /* error, or the log was truncated under us */
    t->pos += (uint64_t)r;
    *produced = (size_t)r;
    return t->pos == t->len ? MAILOUT_DONE : MAILOUT_OK;
}

static mailout_status tail_rewind(void *ctx)
{
    ((log_tail *)ctx)->pos = 0;
    return MAILOUT_OK;
}

static int tail_open(log_tail *t, const char *path)
{
    struct stat st;

    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0 || fstat(t->fd, &st) != 0)
        return -1;
    t->len = (uint64_t)st.st_size;
    t->start = 0;
    if (t->len > LOG_TAIL_BYTES) {
        t->start = t->len - LOG_TAIL_BYTES;
        t->len = LOG_TAIL_BYTES;
    }
    t->pos = 0;
    return 0;
}

/* ---- a command's output: produced once, checked at its end ---- */

typedef struct cmd_output {
    const char *cmd;
    FILE *pipe;
    int exit_status; /* -1 while running */
} cmd_output;

static mailout_status cmd_read(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    cmd_output *c = ctx;
    size_t n;

    *produced = 0;
    if (!c->pipe && c->exit_status < 0 && !(c->pipe = popen(c->cmd, "r")))
        return MAILOUT_E_SOURCE;
    if (!c->pipe) /* already finished */
        return c->exit_status == 0 ? MAILOUT_DONE : MAILOUT_E_SOURCE;
    n = fread(buf, 1, cap, c->pipe);
    *produced = n;
    if (n > 0)
        return MAILOUT_OK;
    /* end of output: the attachment is complete only if the command
     * succeeded */
    c->exit_status = pclose(c->pipe);
    c->pipe = NULL;
    return c->exit_status == 0 ? MAILOUT_DONE : MAILOUT_E_SOURCE;
}

/* ---- composing and sending ---- */

static mailout_status compose(mailout_msg *m, const char *from, const char *to, char *summary, size_t cap,
                              log_tail *tail, const char *log_path, cmd_output *cmd)
{
    mailout_part *root, *text, *log, *out;
    char host[64] = "unknown";
    mailout_status st;

    gethostname(host, sizeof host - 1);
    snprintf(summary, cap,
             "Support request from device %s.\n\n"
             "Attached:\n"
             "  - the last %llu bytes of %s\n"
             "  - the output of: %s\n",
             host, (unsigned long long)tail->len, log_path, cmd->cmd);

    if ((st = mailout_msg_set_from(m, from, "Device support button")) != MAILOUT_OK ||
        (st = mailout_msg_add_recipient(m, MAILOUT_TO, to, NULL)) != MAILOUT_OK ||
        (st = mailout_msg_set_subject(m, "Support request: logs attached")) != MAILOUT_OK ||
        (st = mailout_msg_add_header(m, "X-Device", host)) != MAILOUT_OK)
        return st;
    if ((st = mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root)) != MAILOUT_OK ||
        (st = mailout_part_new(m, root, &text)) != MAILOUT_OK ||
        (st = mailout_part_set_data(text, summary, strlen(summary))) != MAILOUT_OK)
        return st;
    if ((st = mailout_part_new(m, root, &log)) != MAILOUT_OK ||
        (st = mailout_part_set_producer(log, tail_read, tail_rewind, tail, tail->len)) != MAILOUT_OK ||
        (st = mailout_part_set_type(log, "text/plain")) != MAILOUT_OK ||
        (st = mailout_part_set_filename(log, log_path)) != MAILOUT_OK || /* keeps the last component */
        (st = mailout_part_set_disposition(log, MAILOUT_ATTACHMENT)) != MAILOUT_OK)
        return st;
    if ((st = mailout_part_new(m, root, &out)) != MAILOUT_OK ||
        (st = mailout_part_set_producer(out, cmd_read, NULL, cmd, MAILOUT_SIZE_UNKNOWN)) != MAILOUT_OK ||
        (st = mailout_part_set_filename(out, "system-info.txt")) != MAILOUT_OK ||
        (st = mailout_part_set_disposition(out, MAILOUT_ATTACHMENT)) != MAILOUT_OK)
        return st;
    return MAILOUT_OK;
}

int main(int argc, char **argv)
{
    static char summary[1024];
    mailout_allocator heap = mailout_heap_allocator();
    mailout_env env = mailout_posix_env();
    mailout_client_config cfg;
    mailout_result res;
    mailout_msg *m = NULL;
    log_tail tail = {-1, 0, 0, 0};
    cmd_output cmd = {"uname -a; uptime; df -h /", NULL, -1};
    char host[256];
    const char *colon;
    mailout_status st;

    if (argc < 6 || argc > 7 || !(colon = strrchr(argv[1], ':')) || (size_t)(colon - argv[1]) >= sizeof host) {
        fprintf(stderr, "usage: support-email HOST:PORT CAFILE FROM TO LOGFILE [COMMAND]\n");
        return 64;
    }
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = '\0';
    if (argc == 7)
        cmd.cmd = argv[6];
    if (tail_open(&tail, argv[5]) != 0) {
        fprintf(stderr, "support-email: %s: %s\n", argv[5], strerror(errno));
        return 1;
    }

    memset(&cfg, 0, sizeof cfg);
    cfg.host = host;
    cfg.port = (uint16_t)atoi(colon + 1);
    cfg.smtp.tls = MAILOUT_TLS_REQUIRED; /* STARTTLS or nothing */
    cfg.smtp.timeout_ms = 30000;
    cfg.tls.ca_file = argv[2];

    st = mailout_msg_new(&m, &heap);
    if (st == MAILOUT_OK)
        st = mailout_msg_set_env(m, &env);
    if (st == MAILOUT_OK)
        st = compose(m, argv[3], argv[4], summary, sizeof summary, &tail, argv[5], &cmd);
    if (st == MAILOUT_OK) {
        mailout_send(&cfg, m, &res);
        st = res.status;
        if (st == MAILOUT_OK)
            printf("support-email: sent (%llu bytes): %u %s\n", (unsigned long long)res.data_bytes,
                   (unsigned)res.reply.code, res.reply.text);
        else if (st == MAILOUT_E_SOURCE && cmd.exit_status != 0)
            fprintf(stderr, "support-email: \"%s\" failed (status %d): not sent\n", cmd.cmd, cmd.exit_status);
        else
            fprintf(stderr, "support-email: %s: %s (%u %s)\n", mailout_smtp_stage_name(res.stage),
                    mailout_strerror(st), (unsigned)res.reply.code, res.reply.text);
    } else {
        fprintf(stderr, "support-email: composing: %s\n", mailout_strerror(st));
    }
    if (cmd.pipe)
        pclose(cmd.pipe);
    mailout_msg_free(m);
    close(tail.fd);
    return st == MAILOUT_OK ? 0 : 1;
}
