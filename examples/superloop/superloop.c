/*
 * superloop — the non-blocking driver in a single-threaded main loop, as
 * on a microcontroller without an OS: no threads, no blocking calls, no
 * malloc, and a clock that only moves when the loop says so.
 *
 * Everything the library needs comes from the loop:
 *   - memory: one static arena (message, engine and driver);
 *   - time: a fake millisecond counter, advanced by one per loop pass;
 *   - the network: a simulated link (sim_*) standing in for a TCP/IP
 *     stack. It takes at most 48 bytes per send, is "busy" (would block)
 *     every other millisecond, and delivers the replies of a tiny SMTP
 *     server after 15 ms of latency. A real firmware plugs its stack's
 *     non-blocking send/recv into the same mailout_transport struct (and
 *     uses MAILOUT_TLS_REQUIRED with a mailout_tls over it).
 * Between steps the loop keeps doing its other work (here: blinking an LED
 * and sampling a sensor), which the output counts.
 *
 * Exit status 0 when the simulated server accepted the message.
 */
#include <stdio.h>
#include <string.h>

#include <mailout/mailout.h>

#define LATENCY_MS 15
#define MAX_LOOP_PASSES 200000

/* ------------------------------------------------------------------ */
/* the simulated link and SMTP server                                  */
/* ------------------------------------------------------------------ */

typedef struct sim {
    const uint64_t *now;
    uint64_t busy_until;    /* send() would block before this time */
    char line[600];         /* command being received */
    size_t line_len;
    int in_data;            /* receiving message data */
    unsigned char last5[5]; /* last bytes of data, to see "\r\n.\r\n" */
    size_t data_bytes;
    char out[2048];         /* replies not yet read by the client */
    size_t out_len, out_off;
    uint64_t out_ready_at;  /* replies become readable at this time */
    int quit;               /* QUIT answered: close after the reply */
    int accepted;           /* a message was accepted */
} sim;

static void sim_reply(sim *s, const char *text)
{
    size_t n = strlen(text);
    if (s->out_off == s->out_len)
        s->out_len = s->out_off = 0;
    if (n <= sizeof s->out - s->out_len) {
        memcpy(s->out + s->out_len, text, n);
        s->out_len += n;
    }
    s->out_ready_at = *s->now + LATENCY_MS;
}

static void sim_command(sim *s, const char *cmd)
{
    if (strncmp(cmd, "EHLO", 4) == 0)
        sim_reply(s, "250-sim.example greets you\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    else if (strncmp(cmd, "MAIL FROM:", 10) == 0 || strncmp(cmd, "RCPT TO:", 8) == 0)
        sim_reply(s, "250 2.1.0 ok\r\n");
    else if (strcmp(cmd, "DATA") == 0) {
        sim_reply(s, "354 go ahead\r\n");
        s->in_data = 1;
        memcpy(s->last5, "xx\r\n", 4); /* data starts at a line start */
        s->last5[4] = 'x';
    } else if (strcmp(cmd, "QUIT") == 0) {
        sim_reply(s, "221 2.0.0 bye\r\n");
        s->quit = 1;
    } else
        sim_reply(s, "502 5.5.1 not implemented here\r\n");
}

static void sim_data_byte(sim *s, unsigned char c)
{
    memmove(s->last5, s->last5 + 1, 4);
    s->last5[4] = c;
    s->data_bytes++;
    if (memcmp(s->last5, "\r\n.\r\n", 5) == 0) {
        s->in_data = 0;
        s->accepted = 1;
        sim_reply(s, "250 2.0.0 queued as 42\r\n");
    }
}

static void sim_feed(sim *s, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->in_data) {
            sim_data_byte(s, p[i]);
            continue;
        }
        if (s->line_len < sizeof s->line - 1)
            s->line[s->line_len++] = (char)p[i];
        if (s->line_len >= 2 && s->line[s->line_len - 2] == '\r' && s->line[s->line_len - 1] == '\n') {
            s->line[s->line_len - 2] = '\0';
            s->line_len = 0;
            sim_command(s, s->line);
        }
    }
}

/* transport callbacks: 0 = would block, never "closed" */
static ptrdiff_t sim_send(void *ctx, const unsigned char *buf, size_t len)
{
    sim *s = ctx;
    if (*s->now < s->busy_until || s->quit)
        return s->quit ? MAILOUT_E_CLOSED : 0;
    if (len > 48)
        len = 48;
    sim_feed(s, buf, len);
    s->busy_until = *s->now + 2; /* the "network" drains every other ms */
    return (ptrdiff_t)len;
}

static ptrdiff_t sim_recv(void *ctx, unsigned char *buf, size_t cap)
{
    sim *s = ctx;
    size_t n = s->out_len - s->out_off;

    if (n == 0)
        return s->quit ? MAILOUT_E_CLOSED : 0;
    if (*s->now < s->out_ready_at)
        return 0;
    if (n > cap)
        n = cap;
    memcpy(buf, s->out + s->out_off, n);
    s->out_off += n;
    return (ptrdiff_t)n;
}

static void sim_close(void *ctx)
{
    (void)ctx;
}

/* ------------------------------------------------------------------ */
/* platform hooks for the message: fake clock, small PRNG              */
/* ------------------------------------------------------------------ */

typedef struct board {
    uint64_t now_ms; /* the fake clock */
    uint32_t rng;
} board;

static int board_now(void *ctx, int64_t *unix_seconds, int *utc_offset)
{
    board *b = ctx;
    *unix_seconds = 1795000000 + (int64_t)(b->now_ms / 1000); /* an RTC would go here */
    *utc_offset = 60;
    return 0;
}

static int board_random(void *ctx, void *buf, size_t len)
{
    board *b = ctx; /* xorshift32: a hardware RNG would go here */
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        b->rng ^= b->rng << 13;
        b->rng ^= b->rng >> 17;
        b->rng ^= b->rng << 5;
        p[i] = (unsigned char)b->rng;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* the main loop                                                       */
/* ------------------------------------------------------------------ */

static unsigned char pool[48 * 1024]; /* all the library's memory */

int main(void)
{
    static const char text[] = "Daily status of unit 7: 3 restarts, battery 87 %, all sensors OK.\n";
    static const char *rcpt_store[MAILOUT_MAX_RECIPIENTS];
    board brd = {0, 0x2545f491u};
    sim link;
    mailout_arena arena;
    mailout_allocator al;
    mailout_env env = {board_now, board_random, NULL, &brd};
    mailout_transport t = {sim_send, sim_recv, NULL, NULL, sim_close, &link};
    mailout_smtp_config cfg;
    mailout_client *c = NULL;
    mailout_msg *m = NULL;
    mailout_part *body;
    mailout_job job;
    mailout_result res;
    mailout_status st;
    unsigned long passes, led_toggles = 0, samples = 0;
    int quitting = 0, sent = 0;

    memset(&link, 0, sizeof link);
    link.now = &brd.now_ms;
    sim_reply(&link, "220 sim.example ESMTP ready\r\n"); /* the server speaks first */

    mailout_arena_init(&arena, pool, sizeof pool);
    al = mailout_arena_allocator(&arena);

    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "unit7.example";
    cfg.tls = MAILOUT_TLS_NONE; /* the simulated link has no TLS peer */

    st = mailout_msg_new(&m, &al);
    if (st == MAILOUT_OK) st = mailout_msg_set_env(m, &env);
    if (st == MAILOUT_OK) st = mailout_msg_set_from(m, "unit7@example.com", "Unit 7");
    if (st == MAILOUT_OK) st = mailout_msg_add_recipient(m, MAILOUT_TO, "ops@example.com", NULL);
    if (st == MAILOUT_OK) st = mailout_msg_set_subject(m, "Daily status: unit 7");
    if (st == MAILOUT_OK) st = mailout_part_new(m, NULL, &body);
    if (st == MAILOUT_OK) st = mailout_part_set_data(body, text, sizeof text - 1);
    if (st == MAILOUT_OK) st = mailout_job_from_msg(&job, m, rcpt_store);
    if (st == MAILOUT_OK) st = mailout_client_new(&c, &t, &cfg, NULL, &al);
    if (st == MAILOUT_OK) st = mailout_client_submit(c, &job); /* starts when the session is ready */
    if (st != MAILOUT_OK) {
        fprintf(stderr, "superloop: setup: %s\n", mailout_strerror(st));
        return 1;
    }

    for (passes = 0; passes < MAX_LOOP_PASSES; passes++) {
        brd.now_ms++; /* one loop pass = one tick of the fake clock */

        st = mailout_client_step(c, brd.now_ms); /* never blocks */
        if (st == MAILOUT_DONE && !quitting) {
            res = *mailout_client_result(c);
            sent = res.status == MAILOUT_OK;
            printf("superloop: message %s at t=%llu ms: %u %s\n", sent ? "accepted" : "failed",
                   (unsigned long long)brd.now_ms, (unsigned)res.reply.code, res.reply.text);
            mailout_client_quit(c);
            quitting = 1;
        } else if (st == MAILOUT_DONE) {
            break; /* session over */
        } else if (st < 0) {
            fprintf(stderr, "superloop: session failed: %s\n", mailout_strerror(st));
            break;
        }

        /* the rest of the firmware keeps running */
        if (brd.now_ms % 20 == 0) /* blink at 25 Hz */
            led_toggles++;
        if (brd.now_ms % 5 == 0)
            samples++;
    }
    printf("superloop: %lu loop passes, %lu LED toggles and %lu sensor samples meanwhile\n", passes,
           led_toggles, samples);
    printf("superloop: server received %zu data bytes; library memory used: %zu of %zu bytes\n",
           link.data_bytes, mailout_arena_used(&arena), sizeof pool);
    mailout_client_free(c);
    mailout_msg_free(m);
    return sent && link.accepted && passes < MAX_LOOP_PASSES ? 0 : 1;
}
