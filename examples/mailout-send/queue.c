/*
 * mailout-send --queue / --flush / --list: the persistent outbox
 * (include/mailout/outbox.h) over a directory.
 *
 * --queue spools the message first and then sends it from the queue, so a
 * command's output (--attach-cmd) is read once and a retry never needs
 * the command again; the entry is removed only after the server's 2xx.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mailout/outbox.h>

#include "cli.h"

typedef struct queue_ctx {
    mailout_outbox *ob;
    mailout_env env; /* randomness for entry ids */
} queue_ctx;

/* Adapter from the outbox's send hook to the CLI's sender; remembers the
 * exit code of the last attempt. */
typedef struct attempt_ctx {
    cli_send_job_fn send;
    void *ctx;
    int last_code;
    mailout_result last;
} attempt_ctx;

static mailout_status attempt(void *ctx, const mailout_job *job, mailout_result *res, uint16_t *rcpt_codes)
{
    attempt_ctx *a = ctx;
    a->last_code = a->send(a->ctx, job, res, rcpt_codes);
    a->last = *res;
    return res->status;
}

static int queue_open(queue_ctx *q, const char *dir, FILE *err)
{
    mailout_allocator heap = mailout_heap_allocator();
    q->env = mailout_posix_env();
    if (mailout_outbox_open(&q->ob, mailout_store_posix(), (void *)dir, NULL, q->env.random, q->env.ctx, &heap) !=
        MAILOUT_OK) {
        fprintf(err, "mailout-send: cannot open the queue %s\n", dir);
        return CLI_EX_SOFTWARE;
    }
    return 0;
}

int cli_queue_send(const char *dir, mailout_msg *msg, cli_send_job_fn send, void *ctx, mailout_status *spool,
                   FILE *err)
{
    char id[MAILOUT_OUTBOX_ID_MAX];
    queue_ctx q;
    attempt_ctx a = {send, ctx, CLI_EX_OK, {0}};
    mailout_outbox_stats stats;
    mailout_status st;
    int code = queue_open(&q, dir, err);
    if (code)
        return code;
    *spool = mailout_outbox_enqueue(q.ob, msg, 0, (int64_t)time(NULL), id);
    if (*spool != MAILOUT_OK) {
        mailout_outbox_close(q.ob);
        return -1; /* nothing queued; the caller explains why */
    }
    st = mailout_outbox_flush(q.ob, (int64_t)time(NULL), id, attempt, &a, &stats);
    mailout_outbox_close(q.ob);
    if (st != MAILOUT_OK) {
        fprintf(err, "mailout-send: --queue %s: %s\n", dir, mailout_strerror(st));
        return CLI_EX_SOFTWARE;
    }
    if (a.last.status == MAILOUT_E_PARTIAL && a.last_code == CLI_EX_TEMPFAIL) {
        /* only temporary refusals: those recipients wait in the queue */
        fprintf(err, "mailout-send: the recipients refused for now are queued in %s; retry with --flush %s\n", dir,
                dir);
        return CLI_EX_OK;
    }
    if (stats.delivered || stats.failed)
        return a.last_code; /* sent (maybe partially), or refused for good */
    fprintf(err, "mailout-send: queued as %s in %s; retry with --flush %s\n", id, dir, dir);
    return CLI_EX_OK;
}

int cli_queue_flush(const char *dir, cli_send_job_fn send, void *ctx, FILE *out, FILE *err)
{
    queue_ctx q;
    attempt_ctx a = {send, ctx, CLI_EX_OK, {0}};
    mailout_outbox_stats stats;
    mailout_status st;
    int code = queue_open(&q, dir, err);
    if (code)
        return code;
    st = mailout_outbox_flush(q.ob, (int64_t)time(NULL), NULL, attempt, &a, &stats);
    mailout_outbox_close(q.ob);
    if (st != MAILOUT_OK) {
        fprintf(err, "mailout-send: --flush %s: %s\n", dir, mailout_strerror(st));
        return CLI_EX_SOFTWARE;
    }
    fprintf(out, "delivered %u, still queued %u (not yet due %u), failed %u\n", stats.delivered,
            stats.deferred + stats.unknown + stats.waiting, stats.waiting, stats.failed);
    if (stats.failed)
        return CLI_EX_UNAVAILABLE;
    return stats.deferred || stats.unknown ? CLI_EX_TEMPFAIL : CLI_EX_OK;
}

static void print_entry(void *ctx, const mailout_outbox_entry *e)
{
    FILE *out = ctx;
    char when[32], q[CLI_PRINTABLE_MAX + 8];
    time_t t = (time_t)e->next_try;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        strcpy(when, "?");
    fprintf(out, "%s %10llu bytes  %zu rcpt  from %s  attempts %u  next %s%s%s%s\n", e->id,
            (unsigned long long)e->size, e->rcpt_count, cli_printable(e->from, q, sizeof q), e->attempts, when,
            e->unknown ? "  (delivery unknown)" : "", e->last_error[0] ? "  last: " : "", e->last_error);
}

int cli_queue_list(const char *dir, FILE *out, FILE *err)
{
    queue_ctx q;
    mailout_status st;
    int code = queue_open(&q, dir, err);
    if (code)
        return code;
    st = mailout_outbox_list(q.ob, print_entry, out);
    mailout_outbox_close(q.ob);
    if (st != MAILOUT_OK) {
        fprintf(err, "mailout-send: --list %s: %s\n", dir, mailout_strerror(st));
        return CLI_EX_SOFTWARE;
    }
    return CLI_EX_OK;
}
