/*
 * A bare-metal firmware that sends one message: no OS, no heap, no TCP/IP.
 * Everything comes from a static arena; the I/O-free engine (smtp.h) is
 * driven directly over a stub transport whose server replies are compiled
 * in. It exists to be measured (footprint.sh): built once with the mailout
 * calls (FW_MAILOUT=1) and once without (FW_MAILOUT=0, the baseline), the
 * difference of the two images is what the library costs a firmware after
 * --gc-sections.
 *
 * The full configuration sends a text body and a small attachment made by
 * a producer (multipart/mixed); the minimal one (no MIME) a text body only.
 * FW_MAILOUT=2 ("raw") links no message layer: the firmware hands the
 * engine a message it composed itself (headers and text in flash), the
 * way lwIP's smtp.c and SEGGER's client take it; the engine still
 * normalises line ends, stuffs dots and terminates.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mailout/message.h>
#include <mailout/smtp.h>

/* What a board would do with the bytes: here they only count (the host
 * test, tests/config/test_firmware.c, records them). */
#ifndef FW_CAPTURE
#define FW_CAPTURE(p, n) ((void)(p), (void)(n))
#endif

static volatile size_t fw_sent_bytes;
static volatile int fw_result;

#if FW_MAILOUT == 1

/* Stand-in for a hardware random generator (boundaries only). */
static int fw_random(void *ctx, void *buf, size_t len)
{
    uint32_t *x = ctx;
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        p[i] = (unsigned char)*x;
    }
    return 0;
}

#if MAILOUT_ENABLE_MIME
/* A sensor log produced on demand: 64 bytes of readings. */
static mailout_status fw_produce(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    unsigned *pos = ctx;
    size_t n = 0;
    while (n < cap && *pos < 64)
        buf[n++] = (unsigned char)('0' + (*pos)++ % 10);
    *produced = n;
    return *pos == 64 ? MAILOUT_DONE : MAILOUT_OK;
}

static mailout_status fw_rewind(void *ctx)
{
    *(unsigned *)ctx = 0;
    return MAILOUT_OK;
}
#endif

#endif /* FW_MAILOUT == 1 */

#if FW_MAILOUT
/* The server's side of the conversation, in order. */
static const char *const fw_replies[] = {
    "220 mail.example ESMTP\r\n",
    "250-mail.example\r\n250 8BITMIME\r\n",
    "250 ok\r\n", /* MAIL */
    "250 ok\r\n", /* RCPT */
    "354 go\r\n", /* DATA */
    "250 queued\r\n",
    "221 bye\r\n",
};

#endif

#if FW_MAILOUT == 1
static mailout_status fw_compose(mailout_msg **out, const mailout_allocator *a, mailout_env *env, unsigned *pos)
{
    static const char text[] = "Device 42 restarted after a watchdog reset.\n";
    mailout_msg *m;
    mailout_part *body;
    mailout_status st = mailout_msg_new(&m, a);
    if (st != MAILOUT_OK)
        return st;
    if ((st = mailout_msg_set_env(m, env)) == MAILOUT_OK && (st = mailout_msg_set_from(m, "dev42@example.com", "Device 42")) == MAILOUT_OK &&
        (st = mailout_msg_add_recipient(m, MAILOUT_TO, "ops@example.com", NULL)) == MAILOUT_OK &&
        (st = mailout_msg_set_subject(m, "Watchdog reset")) == MAILOUT_OK &&
        (st = mailout_msg_set_date(m, 1700000000, 0)) == MAILOUT_OK &&
        (st = mailout_msg_set_message_id(m, "<42.1@example.com>")) == MAILOUT_OK) {
#if MAILOUT_ENABLE_MIME
        mailout_part *root, *att;
        if ((st = mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root)) == MAILOUT_OK &&
            (st = mailout_part_new(m, root, &body)) == MAILOUT_OK &&
            (st = mailout_part_set_data(body, text, sizeof text - 1)) == MAILOUT_OK &&
            (st = mailout_part_new(m, root, &att)) == MAILOUT_OK &&
            (st = mailout_part_set_producer(att, fw_produce, fw_rewind, pos, 64)) == MAILOUT_OK &&
            (st = mailout_part_set_type(att, "text/csv")) == MAILOUT_OK)
            st = mailout_part_set_filename(att, "log.csv");
#else
        (void)pos;
        if ((st = mailout_part_new(m, NULL, &body)) == MAILOUT_OK)
            st = mailout_part_set_data(body, text, sizeof text - 1);
#endif
    }
    if (st != MAILOUT_OK) {
        mailout_msg_free(m);
        return st;
    }
    *out = m;
    return MAILOUT_OK;
}

#endif /* FW_MAILOUT == 1 */

#if FW_MAILOUT == 2
/* A message the firmware composed itself (bare LF line ends on purpose:
 * the engine's filter sends CRLF). */
static const char fw_raw_msg[] = "From: Device 42 <dev42@example.com>\n"
                                 "To: ops@example.com\n"
                                 "Subject: Watchdog reset\n"
                                 "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
                                 "Message-ID: <42.1@example.com>\n"
                                 "\n"
                                 "Watchdog reset at uptime 86400 s.\n"
                                 ".dot line stuffed by the engine\n";

static mailout_status fw_raw_start(void *ctx, unsigned flags, uint64_t *size)
{
    (void)flags;
    *(size_t *)ctx = 0;
    *size = sizeof fw_raw_msg - 1;
    return MAILOUT_OK;
}

static mailout_status fw_raw_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    size_t *pos = ctx, n = sizeof fw_raw_msg - 1 - *pos;
    if (n > cap)
        n = cap;
    memcpy(buf, fw_raw_msg + *pos, n);
    *pos += n;
    *got = n;
    return *pos == sizeof fw_raw_msg - 1 ? MAILOUT_DONE : MAILOUT_OK;
}
#endif

#if FW_MAILOUT
/* The driver loop of smtp.h over the stub transport. */
static mailout_status fw_send(mailout_smtp *s, mailout_job *job)
{
    size_t next_reply = 0, reply_pos = 0;
    int submitted = 0;
    for (;;) {
        unsigned w = mailout_smtp_want(s);
        if (w & MAILOUT_SMTP_WANT_WRITE) {
            size_t len;
            const unsigned char *out = mailout_smtp_out_buf(s, &len);
            if (out) {
                FW_CAPTURE(out, len);
                fw_sent_bytes += len;
                mailout_smtp_out_ack(s, len);
            }
        } else if (w & MAILOUT_SMTP_WANT_READ) {
            /* A reply longer than the receive buffer arrives in pieces,
             * as from a TCP stack: the engine parses across reads. */
            size_t cap;
            unsigned char *in = mailout_smtp_in_buf(s, &cap);
            if (next_reply == sizeof fw_replies / sizeof fw_replies[0])
                return mailout_smtp_abort(s, MAILOUT_E_CLOSED);
            size_t n = strlen(fw_replies[next_reply]) - reply_pos;
            if (n > cap)
                n = cap;
            memcpy(in, fw_replies[next_reply] + reply_pos, n);
            reply_pos += n;
            if (fw_replies[next_reply][reply_pos] == '\0') {
                next_reply++;
                reply_pos = 0;
            }
            mailout_smtp_in_ack(s, n);
        } else if (w & MAILOUT_SMTP_WANT_IDLE) {
            if (!submitted) {
                mailout_status st = mailout_smtp_submit(s, job);
                if (st != MAILOUT_OK)
                    return st;
                submitted = 1;
            } else {
                mailout_smtp_quit(s);
            }
        } else {
            break;
        }
    }
    const mailout_result *r = mailout_smtp_result(s);
    return r->status != MAILOUT_OK ? r->status : mailout_smtp_status(s);
}

static mailout_status fw_run(void)
{
    static unsigned char pool[FW_ARENA_SIZE];
    mailout_arena arena;
    mailout_arena_init(&arena, pool, sizeof pool);
    mailout_allocator a = mailout_arena_allocator(&arena);
    mailout_smtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "dev42.example.com";
    cfg.tls = MAILOUT_TLS_NONE;
    cfg.out_buf_size = 256;

    mailout_smtp *s;
    mailout_job job;
#if FW_MAILOUT == 1
    static const char *rcpt_store[MAILOUT_MAX_RECIPIENTS];
    uint32_t seed = 0x2545F491u;
    unsigned pos = 0;
    mailout_env env = {NULL, fw_random, NULL, &seed};
    mailout_msg *m;
    mailout_status st = fw_compose(&m, &a, &env, &pos);
    if (st == MAILOUT_OK)
        st = mailout_job_from_msg(&job, m, rcpt_store);
#else
    static const char *const rcpt[] = {"ops@example.com"};
    static size_t raw_pos;
    memset(&job, 0, sizeof job);
    job.mail_from = "dev42@example.com";
    job.rcpt = rcpt;
    job.rcpt_count = 1;
    job.body.start = fw_raw_start;
    job.body.read = fw_raw_read;
    job.body.ctx = &raw_pos;
    mailout_status st = MAILOUT_OK;
#endif
    if (st == MAILOUT_OK && (st = mailout_smtp_new(&s, &cfg, &a, 0)) == MAILOUT_OK)
        st = fw_send(s, &job);
    return st;
}
#endif /* FW_MAILOUT */

int main(void)
{
#if FW_MAILOUT
    fw_result = fw_run();
#else
    fw_result = 0;
#endif
    for (;;) {
    }
}
