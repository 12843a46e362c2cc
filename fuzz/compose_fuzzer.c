/*
 * Composer fuzzer: the input is a small program that builds a message
 * (envelope, fields, a part tree, sources, types, file names, encodings)
 * in an arena, then reads it twice with two different window sequences.
 *
 * Invariants: every setter returns a status from its documented set; the
 * message then either fails cleanly, or both reads give the same status
 * and the same bytes; a complete message has only CRLF line ends, no line
 * over 998 bytes, no NUL, ends with CRLF (SMTP: ".\r\n" once, at the end),
 * and mailout_msg_size() equals the bytes read (or says the size is
 * unknown, which only producers may cause).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mailout/mailout.h>

#define OUTCAP (4u << 20)

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t take(input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* A NUL-terminated string of up to 255 bytes from the input (NUL bytes in
 * the input simply end it early: that is what a C caller can pass). */
static void take_str(input *in, char *out)
{
    size_t len = take(in);
    if (len > in->n)
        len = in->n;
    memcpy(out, in->p, len);
    out[len] = '\0';
    in->p += len;
    in->n -= len;
}

/* A slice of the input used as body data (borrowed). */
static void take_slice(input *in, const uint8_t **p, size_t *len)
{
    size_t l = (size_t)take(in) << 8 | take(in);
    if (l > in->n)
        l = in->n;
    *p = in->p;
    *len = l;
    in->p += l;
    in->n -= l;
}

/* ---- sources --------------------------------------------------------------------- */

typedef struct fprod {
    const uint8_t *data;
    size_t len, pos;
    unsigned calls;
    uint8_t pattern; /* chunk sizes and AGAIN */
} fprod;

static mailout_status produce(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    fprod *p = ctx;
    unsigned c = p->calls++;
    *produced = 0;
    if ((p->pattern & 1) && (c % 3) == 1)
        return MAILOUT_AGAIN;
    size_t n = 1 + ((p->pattern >> 1) * 7 + c) % 97;
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
    ((fprod *)ctx)->pos = 0;
    return MAILOUT_OK;
}

/* In-memory files: path "f0".."f7" names a slice of the input. */
typedef struct mfile {
    const uint8_t *data;
    size_t len, pos;
    int open;
} mfile;

typedef struct fenv {
    mfile files[8];
    uint64_t rng;
} fenv;

static mailout_status mf_open(void *ctx, const char *path, void **handle, uint64_t *size)
{
    fenv *e = ctx;
    if (path[0] != 'f' || path[1] < '0' || path[1] > '7' || path[2] || !e->files[path[1] - '0'].data)
        return MAILOUT_E_FILE;
    mfile *f = &e->files[path[1] - '0'];
    if (f->open)
        abort(); /* the message never holds a file open twice */
    f->open = 1;
    f->pos = 0;
    *handle = f;
    *size = f->len;
    return MAILOUT_OK;
}

static mailout_status mf_read(void *ctx, void *handle, unsigned char *buf, size_t cap, size_t *got)
{
    mfile *f = handle;
    (void)ctx;
    size_t n = f->len - f->pos < cap ? f->len - f->pos : cap;
    n = n > 13 ? 13 : n;
    memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    *got = n;
    return n ? MAILOUT_OK : MAILOUT_DONE;
}

static void mf_close(void *ctx, void *handle)
{
    mfile *f = handle;
    (void)ctx;
    if (!f->open)
        abort();
    f->open = 0;
}

static const mailout_file_ops mem_files = {mf_open, mf_read, mf_close};

static int fz_now(void *ctx, int64_t *s, int *off)
{
    (void)ctx;
    *s = 1700000000;
    *off = -300;
    return 0;
}

static int fz_random(void *ctx, void *buf, size_t len)
{
    fenv *e = ctx;
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        e->rng = e->rng * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (unsigned char)(e->rng >> 56);
    }
    return 0;
}

/* ---- building ------------------------------------------------------------------------ */

/* A status is acceptable for a setter if it is OK or a documented error. */
static void expect_setter(mailout_status st)
{
    switch (st) {
    case MAILOUT_OK:
    case MAILOUT_E_INVAL:
    case MAILOUT_E_STATE:
    case MAILOUT_E_NOMEM:
    case MAILOUT_E_LIMIT:
    case MAILOUT_E_HEADER:
    case MAILOUT_E_ADDRESS:
    case MAILOUT_E_UTF8:
        return;
    default:
        abort();
    }
}

#define MAX_PARTS 32

typedef struct builder {
    mailout_msg *m;
    mailout_part *parts[MAX_PARTS];
    unsigned nparts;
    fprod prods[MAX_PARTS];
    unsigned nprods;
    fenv *env;
} builder;

static mailout_part *pick_part(builder *b, input *in)
{
    uint8_t i = take(in);
    return b->nparts ? b->parts[i % b->nparts] : NULL;
}

/* 0xFF: no parent (the message body); else a part made before. */
static mailout_part *pick_parent(builder *b, input *in)
{
    uint8_t i = take(in);
    return i == 0xFF || !b->nparts ? NULL : b->parts[i % b->nparts];
}

static void add_part(builder *b, mailout_status st, mailout_part *p)
{
    expect_setter(st);
    if (st == MAILOUT_OK && b->nparts < MAX_PARTS)
        b->parts[b->nparts++] = p;
}

static void set_source(builder *b, input *in)
{
    mailout_part *p = pick_part(b, in);
    const uint8_t *data;
    size_t len;
    uint8_t kind = take(in);
    take_slice(in, &data, &len);
    if (!p)
        return;
    if (kind % 3 == 0) {
        expect_setter(mailout_part_set_data(p, data, len));
    } else if (kind % 3 == 1) {
        unsigned slot = (kind >> 2) % 8;
        char path[3] = {'f', (char)('0' + slot), 0};
        b->env->files[slot].data = data;
        b->env->files[slot].len = len;
        expect_setter(mailout_part_set_file(p, path));
    } else if (b->nprods < MAX_PARTS) {
        fprod *pr = &b->prods[b->nprods++];
        pr->data = data;
        pr->len = len;
        pr->pattern = take(in);
        uint64_t size = (kind & 4) ? MAILOUT_SIZE_UNKNOWN : len;
        expect_setter(mailout_part_set_producer(p, produce, rewind_prod, pr, size));
    }
}

static void step(builder *b, input *in)
{
    char s1[256], s2[256];
    mailout_part *p;
    uint8_t op = take(in);
    switch (op % 18) {
    case 0:
        take_str(in, s1), take_str(in, s2);
        expect_setter(mailout_msg_set_from(b->m, s1, s2[0] ? s2 : NULL));
        break;
    case 1:
        take_str(in, s1), take_str(in, s2);
        expect_setter(mailout_msg_add_recipient(b->m, (mailout_rcpt_kind)(op / 18 % 4), s1, s2[0] ? s2 : NULL));
        break;
    case 2:
        take_str(in, s1);
        expect_setter(mailout_msg_set_subject(b->m, s1));
        break;
    case 3:
        take_str(in, s1), take_str(in, s2);
        expect_setter(mailout_msg_add_header(b->m, s1, s2));
        break;
    case 4:
    case 5: {
        mailout_part *parent = pick_parent(b, in), *made = NULL;
        mailout_status st = op % 18 == 4
                                ? mailout_part_new_multipart(b->m, parent, (mailout_multipart_kind)(op / 18 % 3), &made)
                                : mailout_part_new(b->m, parent, &made);
        add_part(b, st, made);
        break;
    }
    case 6:
        set_source(b, in);
        break;
    case 7:
        take_str(in, s1);
        if ((p = pick_part(b, in)))
            expect_setter(mailout_part_set_type(p, s1));
        break;
    case 8:
        take_str(in, s1);
        if ((p = pick_part(b, in)))
            expect_setter(mailout_part_set_filename(p, s1));
        break;
    case 9:
        if ((p = pick_part(b, in)))
            expect_setter(mailout_part_set_encoding(p, (mailout_encoding)(take(in) % 6)));
        break;
    case 10:
        if ((p = pick_part(b, in)))
            expect_setter(mailout_part_set_disposition(p, (mailout_disposition)(take(in) % 4)));
        break;
    case 11:
        take_str(in, s1);
        if ((p = pick_part(b, in)))
            expect_setter(mailout_part_set_charset(p, s1));
        break;
    case 12:
        take_str(in, s1);
        if ((p = pick_part(b, in)))
            expect_setter(mailout_part_set_content_id(p, s1));
        break;
    case 13:
        take_str(in, s1), take_str(in, s2);
        if ((p = pick_part(b, in)))
            expect_setter(mailout_part_add_header(p, s1, s2));
        break;
    case 14:
        take_str(in, s1);
        expect_setter(mailout_msg_set_message_id(b->m, s1));
        break;
    case 15:
        take_str(in, s1), take_str(in, s2);
        expect_setter(mailout_msg_set_reply_to(b->m, s1, s2[0] ? s2 : NULL));
        break;
    case 16: {
        int64_t t = (int64_t)((uint64_t)take(in) << 32 | (uint64_t)take(in) << 24 | (uint64_t)take(in) << 8);
        expect_setter(mailout_msg_set_date(b->m, t - 2208988800LL, (int)take(in) * 12 - 1500));
        break;
    }
    default:
        take_str(in, s1);
        expect_setter(mailout_msg_set_envelope_from(b->m, s1));
        break;
    }
}

/* ---- reading and checking --------------------------------------------------------------- */

static mailout_status read_all(mailout_msg *m, const uint8_t *w, size_t nw, unsigned char *out, size_t *len)
{
    size_t total = 0, i = 0;
    unsigned spins = 0;
    mailout_status st;
    do {
        size_t win = nw ? 1 + w[i++ % nw] % 200 : 4096;
        if (win > OUTCAP - total)
            win = OUTCAP - total;
        if (win == 0)
            abort(); /* outputs are bounded by the input size */
        size_t n = 0;
        st = mailout_msg_read(m, out + total, win, &n);
        if (n > win)
            abort();
        total += n;
        if (st == MAILOUT_AGAIN && ++spins > 10000000)
            abort();
    } while (st == MAILOUT_OK || st == MAILOUT_AGAIN);
    *len = total;
    return st;
}

static void check_message(const unsigned char *p, size_t len, unsigned flags)
{
    size_t start = 0;
    if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
        abort();
    for (size_t i = 0; i < len; i++) {
        if (p[i] == 0)
            abort();
        if (p[i] == '\n') {
            if (i == 0 || p[i - 1] != '\r' || i - 1 - start > 998 + ((flags & MAILOUT_READ_SMTP) != 0))
                abort();
            start = i + 1;
        } else if (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n')) {
            abort();
        }
        /* SMTP: the only line that is exactly "." is the terminator */
        if ((flags & MAILOUT_READ_SMTP) && p[i] == '.' && (i == 0 || p[i - 1] == '\n') && i + 1 < len &&
            p[i + 1] == '\r' && i != len - 3)
            abort();
    }
    if ((flags & MAILOUT_READ_SMTP) && (len < 3 || memcmp(p + len - 3, ".\r\n", 3) != 0))
        abort();
}

static unsigned char out1[OUTCAP], out2[OUTCAP];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char pool[1 << 16];
    input in = {data, size};
    if (size < 8)
        return 0;
    unsigned flags = take(&in) & 3;
    uint8_t wins[8];
    for (int i = 0; i < 8; i++)
        wins[i] = take(&in);
    mailout_arena arena;
    mailout_arena_init(&arena, pool, sizeof pool);
    mailout_allocator al = mailout_arena_allocator(&arena);
    static fenv env;
    memset(&env, 0, sizeof env);
    env.rng = 42;
    mailout_env e = {fz_now, fz_random, &mem_files, &env};
    static builder b;
    memset(&b, 0, sizeof b);
    b.env = &env;
    if (mailout_msg_new(&b.m, &al) != MAILOUT_OK)
        abort();
    mailout_msg_set_env(b.m, &e);
    for (unsigned steps = 0; in.n > 0 && steps < 200; steps++)
        step(&b, &in);

    size_t l1 = 0, l2 = 0;
    mailout_status st = mailout_msg_read_start(b.m, flags);
    if (st == MAILOUT_OK) {
        mailout_status r1 = read_all(b.m, wins, 4, out1, &l1);
        st = mailout_msg_read_start(b.m, flags);
        if (st != MAILOUT_OK)
            abort(); /* every producer here can rewind */
        mailout_status r2 = read_all(b.m, wins + 4, 4, out2, &l2);
        /* Same status; same bytes when complete. After a failure both are
         * prefixes of the same stream, cut where the windows allowed. */
        size_t common = l1 < l2 ? l1 : l2;
        if (r1 != r2 || memcmp(out1, out2, common) != 0 || (r1 == MAILOUT_DONE && l1 != l2))
            abort();
        if (r1 == MAILOUT_DONE) {
            check_message(out1, l1, flags);
            uint64_t sz = 0;
            st = mailout_msg_size(b.m, flags, &sz);
            if (st == MAILOUT_OK ? sz != l1 : st != MAILOUT_E_SIZE_UNKNOWN)
                abort();
        } else if (r1 >= 0) {
            abort();
        } else if ((flags & MAILOUT_READ_SMTP) && l1 >= 5 && memcmp(out1 + l1 - 5, "\r\n.\r\n", 5) == 0) {
            abort(); /* a failed message never ends with the terminator */
        }
    }
    mailout_msg_free(b.m);
    return 0;
}
