/*
 * mailout's side of the throughput benchmark: one message with a short
 * text body and FILE as a base64 attachment, sent to 127.0.0.1:PORT with
 * the blocking driver and an output buffer of OUTBUF bytes.
 *
 *   bench_send send PORT FILE OUTBUF     prints "SENT <message bytes>"
 *   bench_send stream FILE OUT           writes the exact DATA stream
 *                                        (stuffed, terminated) to OUT, for
 *                                        the pre-encoded baseline
 * The clock and randomness are fixed so both modes build the same bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailout/mailout.h>

static int fixed_now(void *ctx, int64_t *secs, int *off)
{
    (void)ctx;
    *secs = 1795359340;
    *off = 0;
    return 0;
}

static int fixed_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
    return 0;
}

static mailout_msg *make(const char *file, mailout_allocator *a)
{
    static const char text[] = "Benchmark attachment attached.\n";
    mailout_env env = mailout_posix_env();
    mailout_msg *m;
    mailout_part *root, *t, *att;
    env.now = fixed_now;
    env.random = fixed_random;
    if (mailout_msg_new(&m, a) || mailout_msg_set_env(m, &env) ||
        mailout_msg_set_from(m, "a@example.com", NULL) ||
        mailout_msg_add_recipient(m, MAILOUT_TO, "b@example.com", NULL) ||
        mailout_msg_set_subject(m, "bench") ||
        mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root) ||
        mailout_part_new(m, root, &t) || mailout_part_set_data(t, text, sizeof text - 1) ||
        mailout_part_new(m, root, &att) || mailout_part_set_file(att, file) ||
        mailout_part_set_type(att, "application/octet-stream") ||
        mailout_part_set_disposition(att, MAILOUT_ATTACHMENT)) {
        fprintf(stderr, "bench_send: cannot compose\n");
        exit(70);
    }
    return m;
}

static int stream(const char *file, const char *out)
{
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m = make(file, &a);
    static unsigned char buf[1 << 16];
    FILE *fp = fopen(out, "wb");
    size_t n;
    mailout_status st;
    if (!fp || mailout_msg_read_start(m, MAILOUT_READ_SMTP) != MAILOUT_OK)
        return 70;
    do {
        st = mailout_msg_read(m, buf, sizeof buf, &n);
        fwrite(buf, 1, n, fp);
    } while (st == MAILOUT_OK);
    fclose(fp);
    mailout_msg_free(m);
    return st == MAILOUT_DONE ? 0 : 70;
}

static int send_one(const char *port, const char *file, const char *outbuf)
{
    mailout_allocator a = mailout_heap_allocator();
    mailout_msg *m = make(file, &a);
    mailout_client_config cfg;
    mailout_result res;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "127.0.0.1";
    cfg.port = (uint16_t)atoi(port);
    cfg.smtp.tls = MAILOUT_TLS_NONE;
    cfg.smtp.ehlo_name = "bench.example";
    cfg.smtp.out_buf_size = (size_t)atol(outbuf);
    if (mailout_send(&cfg, m, &res) != MAILOUT_OK) {
        fprintf(stderr, "bench_send: %s at %s (%u %s)\n", mailout_errname(res.status),
                mailout_smtp_stage_name(res.stage), res.reply.code, res.reply.text);
        return 75;
    }
    printf("SENT %llu\n", (unsigned long long)res.data_bytes);
    mailout_msg_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "send"))
        return send_one(argv[2], argv[3], argv[4]);
    if (argc == 4 && !strcmp(argv[1], "stream"))
        return stream(argv[2], argv[3]);
    fprintf(stderr, "usage: bench_send send PORT FILE OUTBUF | stream FILE OUT\n");
    return 64;
}
