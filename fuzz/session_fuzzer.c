/*
 * Session fuzzer (curl-fuzzer's model): the engine talks to a server
 * whose replies come from the input. Bytes 0..3 pick the options (TLS
 * policy, credentials, pipelining, chunking, buffer and drain sizes,
 * handshake result); the rest is split at each "\n\x00" into blobs, one
 * delivered (in pieces) each time the engine waits for the server. When
 * the input runs out the connection "drops".
 *
 * Invariants: the run ends; every status is a known one; under a TLS
 * requirement nothing but EHLO and STARTTLS goes out before the
 * handshake; the password never appears on the wire before TLS (unless
 * plaintext AUTH is allowed) nor ever in the trace; message content is
 * only sent after a 354 (or as BDAT).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailout/mailout.h>

#define PASSWORD "s3cr3t-pw-Zq"
#define CONTENT "CONTENT-MARK"

typedef struct fz {
    char trace_hit;
    char wire[65536];
    size_t wire_len;
    size_t wire_before_tls; /* wire_len when tls_done(OK) was called, or SIZE_MAX */
} fz;

static int contains(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0)
            return 1;
    return 0;
}

static void trace(void *ctx, mailout_trace_dir dir, const char *line, size_t len)
{
    fz *f = ctx;
    if (dir != MAILOUT_TRACE_SENT)
        return; /* the server may say anything */
    /* "s3cr3t" in base64 at any alignment starts with one of these */
    if (contains(line, len, PASSWORD) || contains(line, len, "czNjcjN0") || contains(line, len, "M2NyM3Qt") ||
        contains(line, len, "zM2NyM3Qt"))
        f->trace_hit = 1;
}

static mailout_status b_start(void *ctx, unsigned flags, uint64_t *size)
{
    size_t *pos = ctx;
    (void)flags;
    *pos = 0;
    *size = 40;
    return MAILOUT_OK;
}

static mailout_status b_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    static const char body[] = "Subject: x\r\n\r\n" CONTENT "\r\n.\r\nend\r\n..";
    size_t *pos = ctx;
    size_t n = sizeof body - 1 - *pos;
    if (n > cap)
        n = cap;
    if (n > 7)
        n = 7;
    memcpy(buf, body + *pos, n);
    *pos += n;
    *got = n;
    return *pos == sizeof body - 1 ? MAILOUT_DONE : MAILOUT_OK;
}

static int b_is8(void *ctx)
{
    (void)ctx;
    return 0;
}

static int rnd(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz f;
    if (size < 4)
        return 0;
    memset(&f, 0, sizeof f);
    f.wire_before_tls = SIZE_MAX;
    unsigned o0 = data[0], o1 = data[1], o2 = data[2], o3 = data[3];
    data += 4;
    size -= 4;

    mailout_smtp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ehlo_name = "fuzz.example";
    cfg.tls = (mailout_tls_policy)(o0 % 3);
    int tls_active = cfg.tls == MAILOUT_TLS_IMPLICIT;
    if (o0 & 4) {
        cfg.user = "user@example.com";
        cfg.password = PASSWORD;
    }
    if (o0 & 8)
        cfg.oauth_token = "tok-" PASSWORD;
    cfg.allow_plaintext_auth = (o0 >> 4) & 1;
    cfg.no_pipelining = (o0 >> 5) & 1;
    cfg.no_chunking = (o0 >> 6) & 1;
    cfg.random = (o0 & 128) ? rnd : NULL;
    cfg.out_buf_size = 64 + o1;
    cfg.timeout_ms = 1000;
    cfg.cb.trace = trace;
    cfg.cb.ctx = &f;
    size_t drain = o2 % 17;        /* 0 = all */
    size_t piece = (o2 >> 4) + 1;  /* server bytes per in_ack */
    mailout_status hs = (o3 & 1) ? MAILOUT_E_TLS_HANDSHAKE : MAILOUT_OK;

    mailout_allocator a = mailout_heap_allocator();
    mailout_smtp *s;
    if (mailout_smtp_new(&s, &cfg, &a, tls_active) != MAILOUT_OK)
        abort();

    size_t pos = 0, bodypos = 0;
    const char *rcpt[] = {"r1@example.org", "r2@example.org"};
    mailout_job job;
    memset(&job, 0, sizeof job);
    job.mail_from = "from@example.com";
    job.rcpt = rcpt;
    job.rcpt_count = 1 + (o3 >> 1 & 1);
    job.body.start = b_start;
    job.body.read = b_read;
    job.body.is_8bit = b_is8;
    job.body.ctx = &bodypos;
    int submitted = 0, saw_354 = 0;
    uint64_t now = 0;
    for (unsigned guard = 0;; guard++) {
        if (guard > 200000)
            abort(); /* no progress: a hang */
        mailout_smtp_set_time(s, now);
        unsigned w = mailout_smtp_want(s);
        if (w & MAILOUT_SMTP_WANT_WRITE) {
            size_t len;
            const unsigned char *p = mailout_smtp_out_buf(s, &len);
            if (!p)
                continue;
            if (drain && len > drain)
                len = drain;
            if (f.wire_len + len <= sizeof f.wire) {
                memcpy(f.wire + f.wire_len, p, len);
                f.wire_len += len;
            }
            mailout_smtp_out_ack(s, len);
        } else if (w & MAILOUT_SMTP_WANT_TLS) {
            if (hs == MAILOUT_OK)
                f.wire_before_tls = f.wire_len;
            mailout_smtp_tls_done(s, hs);
        } else if (w & MAILOUT_SMTP_WANT_READ) {
            if (pos >= size) {
                /* out of input: sometimes time passes, else the peer closes */
                if (o3 & 4) {
                    now += 1000;
                    mailout_smtp_set_time(s, now);
                    if (mailout_smtp_want(s) != MAILOUT_SMTP_WANT_NONE && mailout_smtp_status(s) == MAILOUT_OK &&
                        mailout_smtp_deadline(s) != UINT64_MAX)
                        continue;
                }
                mailout_smtp_abort(s, MAILOUT_E_CLOSED);
                continue;
            }
            size_t end = pos;
            while (end < size && !(end + 1 < size && data[end] == '\n' && data[end + 1] == 0))
                end++;
            size_t blob_end = end < size ? end + 1 : size; /* keep the '\n' */
            const uint8_t *b = data + pos;
            size_t bl = blob_end - pos;
            if (contains((const char *)b, bl, "354"))
                saw_354 = 1;
            pos = end < size ? end + 2 : size;
            for (size_t off = 0; off < bl && mailout_smtp_status(s) >= 0;) {
                size_t cap;
                unsigned char *in = mailout_smtp_in_buf(s, &cap);
                size_t n = bl - off < piece ? bl - off : piece;
                if (n > cap)
                    n = cap;
                memcpy(in, b + off, n);
                off += n;
                mailout_smtp_in_ack(s, n);
            }
        } else if (w & MAILOUT_SMTP_WANT_IDLE) {
            if (!submitted) {
                submitted = 1;
                mailout_status st = mailout_smtp_submit(s, &job);
                if (st != MAILOUT_OK && st != MAILOUT_E_SIZE)
                    abort();
            } else if (mailout_smtp_quit(s) != MAILOUT_OK) {
                abort();
            }
        } else if (w & MAILOUT_SMTP_WANT_BODY) {
            size_t len;
            mailout_smtp_out_buf(s, &len);
        } else {
            break;
        }
    }
    mailout_status st = mailout_smtp_status(s);
    if (st > 0 || mailout_errname(st)[0] == '?')
        abort();
    const mailout_result *res = mailout_smtp_result(s);
    if (mailout_errname(res->status)[0] == '?' || res->rcpt_ok + res->rcpt_failed > job.rcpt_count)
        abort();
    if (f.trace_hit)
        abort();
    size_t plain = f.wire_before_tls == SIZE_MAX ? f.wire_len : f.wire_before_tls;
    if (!tls_active && !cfg.allow_plaintext_auth && contains(f.wire, plain, "AUTH"))
        abort();
    if (cfg.tls == MAILOUT_TLS_REQUIRED && contains(f.wire, plain, "MAIL FROM"))
        abort();
    int bdat = contains(f.wire, f.wire_len, "BDAT ");
    if (contains(f.wire, f.wire_len, CONTENT) && !saw_354 && !bdat)
        abort();
    mailout_smtp_free(s);
    return 0;
}
