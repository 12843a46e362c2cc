/*
 * compose_tool: builds a message from a spec file and writes it, for the
 * Python round-trip test (roundtrip.py).
 *
 *   compose_tool SPEC OUT_MESSAGE OUT_SMTP
 *
 * writes the message (flags from the spec) to OUT_MESSAGE and the SMTP DATA
 * stream (same flags + MAILOUT_READ_SMTP) to OUT_SMTP, each read through
 * pseudo-random window sizes, and checks mailout_msg_size() against the
 * bytes read. Spec lines (strings in hex, "-" for none):
 *
 *   seed N                     window sizes and producer chunking
 *   flags N                    MAILOUT_READ_8BIT (2) or 0
 *   from ADDR NAME             also: to, cc, bcc, reply-to
 *   subject TEXT
 *   header NAME VALUE
 *   mp mixed|alternative|related    open a multipart (closed by "end")
 *   end
 *   leaf SRC PATH TYPE FILENAME ENC DISP
 *        SRC: buf | file | prod (rewindable, declared size) | produnk (size unknown)
 *        ENC: auto 7bit 8bit qp base64; DISP: none inline attachment
 * Exit status 0, or 2 with the reason on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailout/mailout.h>

static uint64_t rng = 1;

/* Blocks to free at exit (so the leak checker stays quiet). */
static void *owned[1024];
static size_t nowned;

static void *own(void *p)
{
    if (nowned < sizeof owned / sizeof owned[0])
        owned[nowned++] = p;
    return p;
}

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void die(const char *what, int st)
{
    fprintf(stderr, "compose_tool: %s: %s\n", what, st ? mailout_errname(st) : "");
    exit(2);
}

static void check(const char *what, mailout_status st)
{
    if (st != MAILOUT_OK)
        die(what, st);
}

/* Decode hex into a new NUL-terminated string; "-" gives NULL. */
static char *unhex(const char *h)
{
    if (strcmp(h, "-") == 0)
        return NULL;
    size_t n = strlen(h) / 2;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n] = '\0';
    return s;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, 0);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    if (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n)
        die("read", 0);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* ---- producers: random chunk sizes, AGAIN now and then ---------------------------- */

typedef struct prod {
    unsigned char *data;
    size_t len, pos;
    uint64_t r;
    int rewound; /* AGAIN only after the first rewind: the first pass is
                  * read_start's scan, which would give up (QP) on AGAIN,
                  * and roundtrip.py expects the scanned choice */
} prod;

static mailout_status produce(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    prod *p = ctx;
    p->r = p->r * 6364136223846793005ULL + 1442695040888963407ULL;
    unsigned v = (unsigned)(p->r >> 33);
    *produced = 0;
    if (v % 4 == 0 && p->rewound)
        return MAILOUT_AGAIN;
    size_t n = 1 + v % 300;
    if (n > cap)
        n = cap;
    if (n > p->len - p->pos)
        n = p->len - p->pos;
    memcpy(buf, p->data + p->pos, n);
    p->pos += n;
    *produced = n;
    return p->pos == p->len ? MAILOUT_DONE : MAILOUT_OK;
}

static mailout_status rewind_prod(void *ctx)
{
    prod *p = ctx;
    p->pos = 0;
    p->rewound = 1;
    return MAILOUT_OK;
}

/* ---- env: fixed clock, seeded randomness, POSIX files ---------------------------------- */

static int env_now(void *ctx, int64_t *secs, int *off)
{
    (void)ctx;
    *secs = 1795359340;
    *off = 120;
    return 0;
}

static int env_random(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        p[i] = (unsigned char)(*s >> 24);
    }
    return 0;
}

/* ---- spec ------------------------------------------------------------------------------- */

static mailout_encoding parse_enc(const char *s)
{
    static const char *const names[] = {"auto", "7bit", "8bit", "qp", "base64"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return (mailout_encoding)i;
    die("bad encoding", 0);
    return MAILOUT_ENC_AUTO;
}

static mailout_disposition parse_disp(const char *s)
{
    if (strcmp(s, "inline") == 0)
        return MAILOUT_INLINE;
    if (strcmp(s, "attachment") == 0)
        return MAILOUT_ATTACHMENT;
    return MAILOUT_DISPOSITION_NONE;
}

static void add_leaf(mailout_msg *m, mailout_part *parent, char **f)
{
    mailout_part *p;
    char *fname = unhex(f[4]);
    check("part_new", mailout_part_new(m, parent, &p));
    if (strcmp(f[1], "file") == 0) {
        check("set_file", mailout_part_set_file(p, f[2]));
    } else {
        size_t len;
        unsigned char *data = own(slurp(f[2], &len));
        if (strcmp(f[1], "buf") == 0) {
            check("set_data", mailout_part_set_data(p, data, len));
        } else {
            prod *pr = own(calloc(1, sizeof *pr));
            pr->data = data;
            pr->len = len;
            pr->r = rng;
            uint64_t size = strcmp(f[1], "produnk") == 0 ? MAILOUT_SIZE_UNKNOWN : len;
            check("set_producer", mailout_part_set_producer(p, produce, rewind_prod, pr, size));
        }
    }
    if (strcmp(f[3], "-") != 0)
        check("set_type", mailout_part_set_type(p, f[3]));
    if (fname)
        check("set_filename", mailout_part_set_filename(p, fname));
    check("set_encoding", mailout_part_set_encoding(p, parse_enc(f[5])));
    check("set_disposition", mailout_part_set_disposition(p, parse_disp(f[6])));
    free(fname);
}

static void recipient(mailout_msg *m, mailout_rcpt_kind kind, char **f)
{
    char *name = unhex(f[2]);
    check("add_recipient", mailout_msg_add_recipient(m, kind, f[1], name));
    free(name);
}

static unsigned load(mailout_msg *m, FILE *spec)
{
    char line[65536], *f[8];
    mailout_part *stack[MAILOUT_MAX_DEPTH + 1];
    unsigned depth = 0, flags = 0;
    while (fgets(line, sizeof line, spec)) {
        int n = 0;
        for (char *t = strtok(line, " \n"); t && n < 8; t = strtok(NULL, " \n"))
            f[n++] = t;
        if (n == 0)
            continue;
        char *a = n > 1 ? unhex(f[1]) : NULL, *b = n > 2 ? unhex(f[2]) : NULL;
        if (strcmp(f[0], "seed") == 0) {
            rng = strtoull(f[1], NULL, 10) | 1;
        } else if (strcmp(f[0], "flags") == 0) {
            flags = (unsigned)atoi(f[1]);
        } else if (strcmp(f[0], "from") == 0) {
            check("set_from", mailout_msg_set_from(m, f[1], b));
        } else if (strcmp(f[0], "reply-to") == 0) {
            check("set_reply_to", mailout_msg_set_reply_to(m, f[1], b));
        } else if (strcmp(f[0], "to") == 0) {
            recipient(m, MAILOUT_TO, f);
        } else if (strcmp(f[0], "cc") == 0) {
            recipient(m, MAILOUT_CC, f);
        } else if (strcmp(f[0], "bcc") == 0) {
            recipient(m, MAILOUT_BCC, f);
        } else if (strcmp(f[0], "subject") == 0) {
            check("set_subject", mailout_msg_set_subject(m, a ? a : ""));
        } else if (strcmp(f[0], "header") == 0) {
            check("add_header", mailout_msg_add_header(m, a, b ? b : ""));
        } else if (strcmp(f[0], "mp") == 0) {
            mailout_multipart_kind k = strcmp(f[1], "alternative") == 0 ? MAILOUT_MULTIPART_ALTERNATIVE
                                       : strcmp(f[1], "related") == 0   ? MAILOUT_MULTIPART_RELATED
                                                                        : MAILOUT_MULTIPART_MIXED;
            check("new_multipart", mailout_part_new_multipart(m, depth ? stack[depth - 1] : NULL, k, &stack[depth]));
            depth++;
        } else if (strcmp(f[0], "end") == 0) {
            depth--;
        } else if (strcmp(f[0], "leaf") == 0 && n == 7) {
            add_leaf(m, depth ? stack[depth - 1] : NULL, f);
        } else {
            die("bad spec line", 0);
        }
        free(a);
        free(b);
    }
    return flags;
}

/* Read the whole message through random windows into a file. */
static uint64_t read_to(mailout_msg *m, unsigned flags, const char *path)
{
    unsigned char buf[512];
    uint64_t total = 0;
    size_t n;
    mailout_status st;
    FILE *out = fopen(path, "wb");
    if (!out)
        die(path, 0);
    check("read_start", mailout_msg_read_start(m, flags));
    do {
        size_t w = 1 + rnd(rnd(4) ? 64 : sizeof buf);
        st = mailout_msg_read(m, buf, w, &n);
        fwrite(buf, 1, n, out);
        total += n;
    } while (st == MAILOUT_OK || st == MAILOUT_AGAIN);
    fclose(out);
    if (st != MAILOUT_DONE)
        die("read", st);
    return total;
}

static void check_size(mailout_msg *m, unsigned flags, uint64_t expect)
{
    uint64_t size = 0;
    mailout_status st = mailout_msg_size(m, flags, &size);
    if (st == MAILOUT_E_SIZE_UNKNOWN)
        return;
    check("size", st);
    if (size != expect) {
        fprintf(stderr, "compose_tool: size %llu, read %llu\n", (unsigned long long)size, (unsigned long long)expect);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: compose_tool SPEC OUT_MESSAGE OUT_SMTP\n");
        return 2;
    }
    FILE *spec = fopen(argv[1], "r");
    if (!spec)
        die(argv[1], 0);
    mailout_allocator al = mailout_heap_allocator();
    mailout_env posix = mailout_posix_env();
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    mailout_env env = {env_now, env_random, posix.files, &seed};
    mailout_msg *m;
    check("msg_new", mailout_msg_new(&m, &al));
    check("set_env", mailout_msg_set_env(m, &env));
    unsigned flags = load(m, spec);
    fclose(spec);
    uint64_t plain = read_to(m, flags, argv[2]);
    uint64_t smtp = read_to(m, flags | MAILOUT_READ_SMTP, argv[3]);
    check_size(m, flags, plain);
    check_size(m, flags | MAILOUT_READ_SMTP, smtp);
    mailout_msg_free(m);
    while (nowned)
        free(owned[--nowned]);
    return 0;
}
