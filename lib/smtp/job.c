/*
 * mailout_job_from_msg(): a job whose body is a composed message. Kept
 * apart from the engine so that firmware sending its own bodies does not
 * link the message layer.
 */
#include "smtp_internal.h"

static mailout_status msg_start(void *ctx, unsigned flags, uint64_t *size)
{
    mailout_msg *m = ctx;
    /* SIZE= counts the message itself, not the dot-stuffed DATA stream;
     * a producer of unknown length only costs the SIZE= parameter */
    mailout_status st = mailout_msg_size(m, flags & ~MAILOUT_READ_SMTP, size);
    if (st == MAILOUT_E_SIZE_UNKNOWN)
        *size = MAILOUT_SIZE_UNKNOWN;
    else if (st != MAILOUT_OK)
        return st;
    return mailout_msg_read_start(m, flags);
}

static mailout_status msg_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    return mailout_msg_read(ctx, buf, cap, got);
}

static int msg_is_8bit(void *ctx)
{
    return mailout_msg_is_8bit(ctx);
}

mailout_status mailout_job_from_msg(mailout_job *job, mailout_msg *m, const char **rcpt_store)
{
    if (!job || !m || !rcpt_store)
        return MAILOUT_E_INVAL;
    const char *from = mailout_msg_envelope_from(m);
    size_t n = mailout_msg_recipient_count(m);
    if (!from || n == 0)
        return MAILOUT_E_STATE;
    if (n > MAILOUT_MAX_RECIPIENTS)
        return MAILOUT_E_LIMIT;
    for (size_t i = 0; i < n; i++) {
        rcpt_store[i] = mailout_msg_recipient(m, i);
        if (!rcpt_store[i])
            return MAILOUT_E_STATE;
    }
    mailout_job j = {0};
    j.mail_from = from;
    j.rcpt = rcpt_store;
    j.rcpt_count = n;
    mailout_msg_dsn(m, &j.dsn_notify, &j.dsn_ret, &j.dsn_envid);
    j.smtputf8 = mailout_msg_needs_smtputf8(m);
    j.body.start = msg_start;
    j.body.read = msg_read;
    j.body.is_8bit = msg_is_8bit;
    j.body.ctx = m;
    j.body.stuffs = 1; /* the reader stuffs dots and terminates itself */
    *job = j;
    return MAILOUT_OK;
}
