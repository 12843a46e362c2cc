/*
 * Envelope and header fuzzer: random addresses, display names, header
 * names and values, filenames, media types, charsets, IDs and DSN ENVIDs
 * through the message API setters, then the message read in random
 * windows.
 *
 * Input: [flags] then operations [op] [string]... where a string is
 * [len] [len bytes] (op bit 7: a two-byte big-endian length, for values
 * near the limits). flags: bit 0 MAILOUT_READ_SMTP, bit 1
 * MAILOUT_READ_8BIT, bit 2 a multipart/mixed root, bits 3-7 seed the
 * output window sizes.
 *
 * Checks:
 *  - every setter returns OK or a documented refusal, and a refused
 *    recipient leaves the envelope as it was;
 *  - envelope addresses hold no controls, spaces or angle brackets;
 *  - the output is what the size pass announced, byte for byte in length;
 *  - the output has only CRLF line ends, no NUL, no line over 998 bytes
 *    (999 once dot-stuffed);
 *  - the header block parses: each line is "name:" with a printable name
 *    or a continuation that starts with WSP and is not blank; no Bcc; the
 *    singletons at most once; 8-bit bytes only when SMTPUTF8 is needed;
 *  - a multipart's boundary only ever appears as a delimiter line, and the
 *    close delimiter is there;
 *  - with MAILOUT_READ_SMTP the only CRLF.CRLF is the terminator at the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailout/message.h>

#define FE_CHECK(cond)                                                               \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

#define FE_MAX_STRINGS 256
#define FE_MAX_OUT (4u << 20)

typedef struct fe_input {
    const uint8_t *p;
    size_t n, i;
} fe_input;

/* Strings handed to the API: NUL-terminated copies, kept until the end
 * (part bodies are borrowed by the message). */
typedef struct fe_strings {
    char *s[FE_MAX_STRINGS];
    size_t count;
} fe_strings;

static int fe_byte(fe_input *in, unsigned *b)
{
    if (in->i >= in->n)
        return 0;
    *b = in->p[in->i++];
    return 1;
}

/* The next string (NULL when the input or the string store is exhausted). */
static char *fe_string(fe_input *in, fe_strings *st, int wide)
{
    unsigned hi = 0, lo;
    if (wide && !fe_byte(in, &hi))
        return NULL;
    if (!fe_byte(in, &lo) || st->count == FE_MAX_STRINGS)
        return NULL;
    size_t len = (size_t)hi << 8 | lo;
    if (len > in->n - in->i)
        len = in->n - in->i;
    char *s = malloc(len + 1);
    FE_CHECK(s != NULL);
    memcpy(s, in->p + in->i, len);
    s[len] = '\0';
    in->i += len;
    st->s[st->count++] = s;
    return s;
}

static int fe_refusal(mailout_status st)
{
    return st == MAILOUT_OK || st == MAILOUT_E_INVAL || st == MAILOUT_E_STATE || st == MAILOUT_E_LIMIT ||
           st == MAILOUT_E_HEADER || st == MAILOUT_E_ADDRESS || st == MAILOUT_E_UTF8;
}

static int fe_random(void *ctx, void *buf, size_t len)
{
    uint64_t *s = ctx;
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005u + 1442695040888963407u;
        p[i] = (unsigned char)(*s >> 56);
    }
    return 0;
}

typedef struct fe_ctx {
    mailout_msg *m;
    mailout_part *root; /* multipart root, or NULL */
    mailout_part *last; /* the last leaf created */
    int has_body;
} fe_ctx;

static mailout_status fe_new_part(fe_ctx *c, const char *data)
{
    mailout_part *p;
    mailout_status st;
    if (!c->root && c->has_body)
        return MAILOUT_E_STATE; /* a single body already */
    st = mailout_part_new(c->m, c->root, &p);
    if (st != MAILOUT_OK)
        return st;
    c->has_body = 1;
    c->last = p;
    return mailout_part_set_data(p, data, strlen(data));
}

/* A refused recipient must leave the envelope as it was. */
static mailout_status fe_add_rcpt(fe_ctx *c, unsigned kind, const char *a, const char *name)
{
    size_t before = mailout_msg_recipient_count(c->m);
    mailout_status st = mailout_msg_add_recipient(c->m, (mailout_rcpt_kind)(kind % 3), a, name);
    FE_CHECK(mailout_msg_recipient_count(c->m) == before + (st == MAILOUT_OK));
    return st;
}

/* Part operations; MAILOUT_E_STATE when no part exists yet. */
static mailout_status fe_part_op(fe_ctx *c, unsigned op, unsigned arg, const char *s1, const char *s2)
{
    mailout_part *p = c->last;
    if (!p)
        return MAILOUT_E_STATE;
    switch (op) {
    case 8: return mailout_part_set_filename(p, s1);
    case 9: return mailout_part_set_type(p, s1);
    case 10: return mailout_part_set_charset(p, s1);
    case 11: return mailout_part_set_content_id(p, s1);
    case 12: return mailout_part_add_header(p, s1, s2);
    case 14: return mailout_part_set_disposition(p, (mailout_disposition)(arg % 3));
    default: return mailout_part_set_encoding(p, (mailout_encoding)(arg % 5));
    }
}

/* One operation; returns 0 when the input ran out. */
static int fe_op(fe_ctx *c, fe_input *in, fe_strings *st)
{
    unsigned opb, arg = 0;
    if (!fe_byte(in, &opb))
        return 0;
    int wide = (opb & 0x80) != 0;
    unsigned op = (opb & 0x1f) % 16;
    int two = op == 0 || op == 2 || op == 3 || op == 5 || op == 12;
    int none = op == 14 || op == 15;
    const char *s1 = NULL, *s2 = NULL;
    if (none || op == 13) {
        if (!fe_byte(in, &arg))
            return 0;
    }
    if (!none && !(s1 = fe_string(in, st, wide)))
        return 0;
    if (two && !(s2 = fe_string(in, st, wide)))
        return 0;
    const char *name = s2 && *s2 ? s2 : NULL; /* display names: "" = none */
    mailout_status r;
    switch (op) {
    case 0: r = mailout_msg_set_from(c->m, s1, name); break;
    case 1: r = mailout_msg_set_envelope_from(c->m, s1); break;
    case 2: r = mailout_msg_set_reply_to(c->m, s1, name); break;
    case 3: r = fe_add_rcpt(c, opb >> 5, s1, name); break;
    case 4: r = mailout_msg_set_subject(c->m, s1); break;
    case 5: r = mailout_msg_add_header(c->m, s1, s2); break;
    case 6: r = mailout_msg_set_message_id(c->m, s1); break;
    case 7: r = fe_new_part(c, s1); break;
    case 13: r = mailout_msg_set_dsn(c->m, arg & 15u, (mailout_dsn_ret)((arg >> 4) % 3), *s1 ? s1 : NULL); break;
    default: r = fe_part_op(c, op, arg, s1, s2); break;
    }
    FE_CHECK(fe_refusal(r));
    return 1;
}

/* ------------------------------------------------------------------ */
/* output checks                                                       */
/* ------------------------------------------------------------------ */

static int fe_ieq(const unsigned char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

/* Lines: CRLF only, no NUL, length limit. */
static void fe_check_lines(const unsigned char *p, size_t n, int smtp)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        FE_CHECK(p[i] != 0);
        if (p[i] == '\r') {
            FE_CHECK(i + 1 < n && p[i + 1] == '\n');
            i++;
            col = 0;
            continue;
        }
        FE_CHECK(p[i] != '\n');
        col++;
        FE_CHECK(col <= (smtp ? 999u : 998u));
    }
    FE_CHECK(n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n');
}

static const char *const fe_singletons[] = {"date", "from", "sender", "reply-to", "to", "cc",
                                            "subject", "message-id", "mime-version"};

/* The header block [p, p+n) (without the empty line). */
static void fe_check_header(const unsigned char *p, size_t n, int allow_8bit)
{
    unsigned seen[sizeof fe_singletons / sizeof fe_singletons[0]] = {0};
    size_t i = 0;
    while (i < n) {
        const unsigned char *l = p + i;
        const unsigned char *e = memchr(l, '\r', n - i);
        size_t len = e ? (size_t)(e - l) : n - i;
        FE_CHECK(len > 0);
        for (size_t k = 0; k < len; k++)
            FE_CHECK(l[k] == '\t' || (l[k] >= 0x20 && l[k] != 0x7f && (l[k] < 0x80 || allow_8bit)));
        if (l[0] == ' ' || l[0] == '\t') {
            size_t k = 0;
            while (k < len && (l[k] == ' ' || l[k] == '\t'))
                k++;
            FE_CHECK(k < len);        /* not blank */
            FE_CHECK(i > 0);          /* not the first line */
        } else {
            size_t k = 0;
            while (k < len && l[k] != ':') {
                FE_CHECK(l[k] >= 33 && l[k] <= 126);
                k++;
            }
            FE_CHECK(k > 0 && k < len);
            FE_CHECK(!fe_ieq(l, k, "bcc"));
            for (size_t s = 0; s < sizeof fe_singletons / sizeof fe_singletons[0]; s++)
                if (fe_ieq(l, k, fe_singletons[s]))
                    FE_CHECK(++seen[s] == 1);
        }
        i += len + 2;
    }
}

/* The top-level boundary from the unfolded Content-Type field, if any. */
static size_t fe_boundary(const unsigned char *h, size_t n, char *out, size_t cap)
{
    static const char key[] = "boundary=\"";
    const unsigned char *ct = NULL;
    for (size_t i = 0; i + 13 <= n; i++) {
        if ((i == 0 || h[i - 1] == '\n') && fe_ieq(h + i, 13, "content-type:")) {
            ct = h + i;
            break;
        }
    }
    if (!ct)
        return 0;
    const unsigned char *end = h + n;
    for (const unsigned char *q = ct; q + sizeof key - 1 < end; q++) {
        if (memcmp(q, key, sizeof key - 1) == 0) {
            q += sizeof key - 1;
            size_t len = 0;
            while (q + len < end && q[len] != '"' && len + 1 < cap) {
                out[len] = (char)q[len];
                len++;
            }
            out[len] = '\0';
            return len;
        }
        if (q > ct && q[-1] == '\n' && *q != ' ' && *q != '\t')
            break; /* the next field */
    }
    return 0;
}

/* Every line starting with "--boundary" is a delimiter; the last closes. */
static void fe_check_boundary(const unsigned char *body, size_t n, const char *b, size_t blen)
{
    int closed = 0;
    size_t i = 0;
    while (i < n) {
        const unsigned char *e = memchr(body + i, '\r', n - i);
        size_t len = e ? (size_t)(e - (body + i)) : n - i;
        if (len >= 2 + blen && body[i] == '-' && body[i + 1] == '-' && memcmp(body + i + 2, b, blen) == 0) {
            size_t rest = len - 2 - blen;
            FE_CHECK(!closed);
            FE_CHECK(rest == 0 || (rest == 2 && body[i + 2 + blen] == '-' && body[i + 3 + blen] == '-'));
            closed = rest == 2;
        }
        i += len + 2;
    }
    FE_CHECK(closed);
}

static void fe_check_output(mailout_msg *m, const unsigned char *p, size_t n, unsigned flags)
{
    int smtp = (flags & MAILOUT_READ_SMTP) != 0;
    fe_check_lines(p, n, smtp);
    if (smtp) {
        FE_CHECK(n >= 3);
        /* "\r\n.\r\n" only at the very end (the message ends with CRLF) */
        FE_CHECK(memcmp(p + n - 3, ".\r\n", 3) == 0);
        FE_CHECK(n == 3 || (n >= 5 && p[n - 5] == '\r' && p[n - 4] == '\n'));
        for (size_t i = 0; i + 5 < n; i++)
            FE_CHECK(!(p[i] == '\r' && memcmp(p + i, "\r\n.\r\n", 5) == 0));
        FE_CHECK(!(n > 3 && memcmp(p, ".\r\n", 3) == 0));
        n -= 3;
    }
    const unsigned char *blank = NULL;
    for (size_t i = 0; i + 4 <= n; i++) {
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
            blank = p + i;
            break;
        }
    }
    FE_CHECK(blank != NULL);
    size_t hlen = (size_t)(blank - p) + 2;
    fe_check_header(p, hlen - 2, mailout_msg_needs_smtputf8(m));
    char b[128];
    size_t blen = fe_boundary(p, hlen, b, sizeof b);
    if (blen) {
        FE_CHECK(blen <= 70);
        fe_check_boundary(blank + 4, n - hlen - 2, b, blen);
    }
}

/* Nothing in an envelope address can end the path or the command: no
 * controls, DEL, '<' or '>' anywhere, and a space only inside a quoted
 * local part ("a b"@example.com, RFC 5321 Quoted-string). */
static void fe_check_address(const unsigned char *a)
{
    int quoted = *a == '"';
    for (size_t i = quoted; a[i]; i++) {
        FE_CHECK(a[i] >= 0x20 && a[i] != 0x7f && a[i] != '<' && a[i] != '>');
        if (quoted && a[i] == '\\' && a[i + 1]) {
            i++;
            FE_CHECK(a[i] >= 0x20 && a[i] != 0x7f && a[i] != '<' && a[i] != '>');
        } else if (quoted && a[i] == '"') {
            quoted = 0;
        } else {
            FE_CHECK(quoted || a[i] != ' ');
        }
    }
    FE_CHECK(!quoted);
}

static void fe_check_envelope(const mailout_msg *m)
{
    for (size_t i = 0; i < mailout_msg_recipient_count(m); i++) {
        const unsigned char *a = (const unsigned char *)mailout_msg_recipient(m, i);
        FE_CHECK(a != NULL && *a);
        fe_check_address(a);
    }
    const unsigned char *f = (const unsigned char *)mailout_msg_envelope_from(m);
    if (f)
        fe_check_address(f);
}

/* Read the whole message in windows of 1..64 bytes (or 4096), from a seed. */
static void fe_read(mailout_msg *m, unsigned flags, uint32_t seed)
{
    uint64_t size = 0;
    mailout_status st = mailout_msg_size(m, flags, &size);
    if (st != MAILOUT_OK) {
        /* nothing to send (no sender/recipient) or a forced encoding that
         * the data breaks: refused up front, like the reader would */
        FE_CHECK(st == MAILOUT_E_STATE || st == MAILOUT_E_8BIT || st == MAILOUT_E_LINE_TOO_LONG ||
                 st == MAILOUT_E_INVAL);
        return;
    }
    FE_CHECK(size <= FE_MAX_OUT);
    FE_CHECK(mailout_msg_read_start(m, flags) == MAILOUT_OK);
    unsigned char *out = malloc(size + 1);
    FE_CHECK(out != NULL);
    size_t len = 0, got;
    uint32_t w = seed | 1u;
    do {
        w = w * 1103515245u + 12345u;
        size_t cap = (w >> 16) % 8 == 0 ? 4096 : 1 + (w >> 16) % 64;
        unsigned char win[4096];
        st = mailout_msg_read(m, win, cap, &got);
        FE_CHECK(got <= cap);
        FE_CHECK(len + got <= size);
        memcpy(out + len, win, got);
        len += got;
    } while (st == MAILOUT_OK);
    FE_CHECK(st == MAILOUT_DONE);
    FE_CHECK(len == size);
    fe_check_output(m, out, len, flags);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fe_input in = {data, size, 0};
    fe_strings st = {{NULL}, 0};
    fe_ctx c = {NULL, NULL, NULL, 0};
    mailout_allocator heap = mailout_heap_allocator();
    uint64_t rng = 0x9e3779b97f4a7c15u;
    mailout_env env = {NULL, fe_random, NULL, &rng};
    unsigned flags;

    if (!fe_byte(&in, &flags))
        return 0;
    FE_CHECK(mailout_msg_new(&c.m, &heap) == MAILOUT_OK);
    FE_CHECK(mailout_msg_set_env(c.m, &env) == MAILOUT_OK);
    FE_CHECK(mailout_msg_set_date(c.m, 1700000000, 60) == MAILOUT_OK);
    if (flags & 4u)
        FE_CHECK(mailout_part_new_multipart(c.m, NULL, MAILOUT_MULTIPART_MIXED, &c.root) == MAILOUT_OK);
    while (fe_op(&c, &in, &st))
        ;
    fe_check_envelope(c.m);
    if (c.root && !c.last) {
        /* an empty multipart has no valid form: give it one part */
        mailout_part *p;
        FE_CHECK(mailout_part_new(c.m, c.root, &p) == MAILOUT_OK);
    }
    fe_read(c.m, flags & (MAILOUT_READ_SMTP | MAILOUT_READ_8BIT), flags >> 3);
    mailout_msg_free(c.m);
    for (size_t i = 0; i < st.count; i++)
        free(st.s[i]);
    return 0;
}
