/* The reader: golden messages written by hand, every window size, every
 * kind of source, failures, sizing, automatic encodings, boundaries. */
#define _DEFAULT_SOURCE 1 /* mkstemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgtest.h"

#define OUTCAP (1u << 20)

static unsigned char out_a[OUTCAP], out_b[OUTCAP];

/* Boundaries and Message-ID from the test env's seed 1 (computed outside
 * the library from the xorshift sequence and the 5-bit alphabet). */
#define GEN_ID "8066slcgsnlh96hih8rpc2ak"
#define GEN_B1 "=_sqlgdjbrp29a1mbc8ld5av30"
#define GEN_B2 "=_2dp2khqut8i693sprsi423q8"

#define HDR_COMMON                                                                                                     \
    "Date: Sun, 22 Nov 2026 14:55:40 +0000\r\n"                                                                        \
    "From: a@example.com\r\n"                                                                                          \
    "To: b@example.com\r\n"

static int contains(const unsigned char *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0)
            return 1;
    return 0;
}

static size_t count_of(const unsigned char *p, size_t len, const char *s)
{
    size_t n = strlen(s), c = 0;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0)
            c++;
    return c;
}

static void expect_message(mailout_msg *m, unsigned flags, const char *expect)
{
    size_t len = 0;
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, flags, 0, out_a, OUTCAP, &len));
    assert_bytes_equal(expect, strlen(expect), out_a, len);
}

/* ---- golden --------------------------------------------------------------------------- */

static void test_golden_single(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *p;
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "Hi"));
    assert_status(MAILOUT_OK, mailout_msg_set_message_id(m, "<1@example.com>"));
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, "Hello\n.hidden\r\n..\nend", 21));
    const char *msg = HDR_COMMON "Subject: Hi\r\n"
                                 "Message-ID: <1@example.com>\r\n"
                                 "MIME-Version: 1.0\r\n"
                                 "Content-Type: text/plain; charset=utf-8\r\n"
                                 "Content-Transfer-Encoding: 7bit\r\n"
                                 "\r\n"
                                 "Hello\r\n.hidden\r\n..\r\nend\r\n";
    expect_message(m, 0, msg);
    expect_message(m, MAILOUT_READ_SMTP, HDR_COMMON "Subject: Hi\r\n"
                                                    "Message-ID: <1@example.com>\r\n"
                                                    "MIME-Version: 1.0\r\n"
                                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                                    "Content-Transfer-Encoding: 7bit\r\n"
                                                    "\r\n"
                                                    "Hello\r\n..hidden\r\n...\r\nend\r\n.\r\n");
    mailout_msg_free(m);
}

static void test_golden_no_body(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    te.utc_offset = -(8 * 60 + 30);
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "a@example.com", "Ann \"A\" Example"));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_CC, "c@example.com", "Z\xc3\xbc"));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_CC, "d@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_BCC, "e@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_set_reply_to(m, "r@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_header(m, "X-Mailer", "mailout"));
    expect_message(m, MAILOUT_READ_SMTP,
                   "Date: Sun, 22 Nov 2026 06:25:40 -0830\r\n"
                   "From: \"Ann \\\"A\\\" Example\" <a@example.com>\r\n"
                   "Reply-To: r@example.com\r\n"
                   "To: b@example.com\r\n"
                   "Cc: =?utf-8?Q?Z=C3=BC?= <c@example.com>, d@example.com\r\n"
                   "Message-ID: <" GEN_ID "@example.com>\r\n"
                   "X-Mailer: mailout\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 7bit\r\n"
                   "\r\n"
                   ".\r\n");
    mailout_msg_free(m);
}

/* Quoted local parts (RFC 5321 Quoted-string, RFC 5322 quoted-string):
 * written as given, never folded inside the quotes; one rule with the
 * engine's (mailout_addr_ok), so the envelope takes them too. */
static void test_golden_quoted_local(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "\"john q. public\"@example.com", "John"));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_CC, "\"a@b\"@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_CC, "\"x\\\"y\"@example.com", NULL));
    assert_status(MAILOUT_OK,
                  mailout_msg_add_recipient(m, MAILOUT_CC, "\"a rather long quoted local part\"@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_set_message_id(m, "<1@example.com>"));
    assert_string_equal(mailout_msg_envelope_from(m), "\"john q. public\"@example.com");
    expect_message(m, 0,
                   "Date: Sun, 22 Nov 2026 14:55:40 +0000\r\n"
                   "From: \"John\" <\"john q. public\"@example.com>\r\n"
                   "To: b@example.com\r\n"
                   "Cc: \"a@b\"@example.com, \"x\\\"y\"@example.com,\r\n"
                   " \"a rather long quoted local part\"@example.com\r\n"
                   "Message-ID: <1@example.com>\r\n"
                   "MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 7bit\r\n"
                   "\r\n");
    mailout_msg_free(m);
}

static void golden_multipart(char *out, size_t cap, const char *cte, const char *text)
{
    snprintf(out, cap,
             HDR_COMMON "Subject: =?utf-8?Q?R=C3=A9sum=C3=A9?=\r\n"
                        "Message-ID: <" GEN_ID "@example.com>\r\n"
                        "MIME-Version: 1.0\r\n"
                        "Content-Type: multipart/mixed; boundary=\"" GEN_B1 "\"\r\n"
                        "\r\n"
                        "--" GEN_B1 "\r\n"
                        "Content-Type: multipart/alternative; boundary=\"" GEN_B2 "\"\r\n"
                        "\r\n"
                        "--" GEN_B2 "\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: %s\r\n"
                        "\r\n"
                        "%s"
                        "\r\n--" GEN_B2 "\r\n"
                        "Content-Type: text/html; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 7bit\r\n"
                        "\r\n"
                        "<p>hi</p>"
                        "\r\n--" GEN_B2 "--"
                        "\r\n--" GEN_B1 "\r\n"
                        "Content-Type: application/octet-stream\r\n"
                        "Content-Transfer-Encoding: base64\r\n"
                        "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
                        "Content-ID: <d@x>\r\n"
                        "X-Note: first\r\n"
                        "\r\n"
                        "AAECAw=="
                        "\r\n--" GEN_B1 "--\r\n",
             cte, text);
}

static void test_golden_multipart(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *mixed, *alt, *text, *html, *att;
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "R\xc3\xa9sum\xc3\xa9"));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &mixed));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, mixed, MAILOUT_MULTIPART_ALTERNATIVE, &alt));
    assert_status(MAILOUT_OK, mailout_part_new(m, alt, &text));
    assert_status(MAILOUT_OK, mailout_part_set_data(text, "caf\xc3\xa9 = ok\n", 11));
    assert_status(MAILOUT_OK, mailout_part_new(m, alt, &html));
    assert_status(MAILOUT_OK, mailout_part_set_type(html, "text/html"));
    assert_status(MAILOUT_OK, mailout_part_set_data(html, "<p>hi</p>", 9));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &att));
    assert_status(MAILOUT_OK, mailout_part_set_type(att, "application/octet-stream"));
    assert_status(MAILOUT_OK, mailout_part_set_filename(att, "data.bin"));
    assert_status(MAILOUT_OK, mailout_part_set_data(att, "\x00\x01\x02\x03", 4));
    assert_status(MAILOUT_OK, mailout_part_set_content_id(att, "<d@x>"));
    assert_status(MAILOUT_OK, mailout_part_add_header(att, "X-Note", "first"));
    char expect[4096];
    golden_multipart(expect, sizeof expect, "quoted-printable", "caf=C3=A9 =3D ok\r\n");
    expect_message(m, 0, expect);
    assert_int_equal(mailout_msg_is_8bit(m), 0);
    /* with 8BITMIME the text stays as it is */
    golden_multipart(expect, sizeof expect, "8bit", "caf\xc3\xa9 = ok\r\n");
    expect_message(m, MAILOUT_READ_8BIT, expect);
    assert_int_equal(mailout_msg_is_8bit(m), 1);
    mailout_msg_free(m);
}

/* ---- windows ------------------------------------------------------------------------------ */

static mailout_msg *build_rich(testutil_env *te, mailout_env *env)
{
    static unsigned char bin[3000];
    static char longline[2500];
    mailout_msg *m = msgtest_basic(te, env);
    mailout_part *mixed, *p;
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7 + (i >> 3));
    memset(longline, 'L', sizeof longline);
    longline[100] = '.';
    longline[1200] = '\n';
    longline[1201] = '.';
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e subject that is long "
                                                         "enough to be folded across lines, with words"));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &mixed));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, ".dot\n\r\n.\r\nbare\rcr\r\n", 19));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, longline, sizeof longline));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_type(p, "image/png"));
    assert_status(MAILOUT_OK, mailout_part_set_filename(p, "p\xc3\xaf" "cture with a long name that needs continuations.png"));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, bin, sizeof bin));
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, "", 0));
    return m;
}

static void test_every_window(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = build_rich(&te, &env);
    for (unsigned flags = 0; flags < 4; flags++) {
        size_t ref = 0, len = 0;
        assert_status(MAILOUT_DONE, msgtest_read_flags(m, flags, 0, out_a, OUTCAP, &ref));
        msgtest_assert_lines(out_a, ref, 998);
        for (size_t w = 1; w <= 64; w++) {
            assert_status(MAILOUT_DONE, msgtest_read_flags(m, flags, w, out_b, OUTCAP, &len));
            assert_bytes_equal(out_a, ref, out_b, len);
        }
        /* irregular windows */
        static const size_t seq[] = {3, 1, 77, 2, 256, 5, 1, 1, 9};
        assert_status(MAILOUT_OK, mailout_msg_read_start(m, flags));
        assert_status(MAILOUT_DONE, msgtest_read(m, seq, sizeof seq / sizeof seq[0], out_b, OUTCAP, &len));
        assert_bytes_equal(out_a, ref, out_b, len);
        /* size */
        uint64_t size = 0;
        assert_status(MAILOUT_OK, mailout_msg_size(m, flags, &size));
        assert_int_equal(size, ref);
        /* ready to read after sizing, and DONE stays DONE */
        assert_status(MAILOUT_DONE, msgtest_read(m, NULL, 1, out_b, OUTCAP, &len));
        assert_bytes_equal(out_a, ref, out_b, len);
        size_t n = 9;
        assert_status(MAILOUT_DONE, mailout_msg_read(m, out_b, 10, &n));
        assert_int_equal(n, 0);
    }
    mailout_msg_free(m);
}

/* ---- sources --------------------------------------------------------------------------------- */

typedef struct prod {
    const unsigned char *data;
    size_t len, pos;
    unsigned calls;
    int again;      /* AGAIN on every other call */
    size_t fail_at; /* fail once pos reaches this (0 = never) */
    size_t chunk;   /* bytes per call */
    unsigned rewinds;
} prod;

static mailout_status produce(void *ctx, unsigned char *buf, size_t cap, size_t *produced)
{
    prod *p = ctx;
    *produced = 0;
    assert_true(cap >= 1);
    if (p->again && p->calls++ % 2 == 0)
        return MAILOUT_AGAIN;
    if (p->fail_at && p->pos >= p->fail_at)
        return MAILOUT_E_IO;
    size_t n = p->chunk < cap ? p->chunk : cap;
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
    p->rewinds++;
    return MAILOUT_OK;
}

static const char *write_temp(const void *data, size_t len, char *path)
{
    strcpy(path, "/tmp/mailout-msgtest-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

enum { SRC_BUF, SRC_FILE_, SRC_PROD };

/* A message with one leaf of content through the given source kind. */
static mailout_msg *with_source(testutil_env *te, mailout_env *env, int kind, const unsigned char *data, size_t len,
                                mailout_encoding enc, const char *type, prod *pr, const char *path)
{
    mailout_env posix = mailout_posix_env();
    mailout_msg *m = msgtest_basic(te, env);
    mailout_part *root, *p;
    env->files = posix.files;
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, env));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
    assert_status(MAILOUT_OK, mailout_part_new(m, root, &p));
    if (type)
        assert_status(MAILOUT_OK, mailout_part_set_type(p, type));
    assert_status(MAILOUT_OK, mailout_part_set_encoding(p, enc));
    assert_status(MAILOUT_OK, mailout_part_set_filename(p, "content.dat"));
    if (kind == SRC_BUF) {
        assert_status(MAILOUT_OK, mailout_part_set_data(p, data, len));
    } else if (kind == SRC_FILE_) {
        assert_status(MAILOUT_OK, mailout_part_set_file(p, path));
    } else {
        memset(pr, 0, sizeof *pr);
        pr->data = data;
        pr->len = len;
        pr->chunk = 1;
        pr->again = 1;
        assert_status(MAILOUT_OK, mailout_part_set_producer(p, produce, rewind_prod, pr, len));
    }
    return m;
}

static void test_sources_identical(void **state)
{
    (void)state;
    static unsigned char data[5000];
    char path[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i % 97 == 0 ? '\n' : i % 89 == 0 ? '.' : 'a' + i % 26);
    write_temp(data, sizeof data, path);
    const mailout_encoding encs[] = {MAILOUT_ENC_7BIT, MAILOUT_ENC_8BIT, MAILOUT_ENC_QP, MAILOUT_ENC_BASE64};
    for (size_t e = 0; e < 4; e++) {
        for (unsigned flags = 0; flags < 4; flags++) {
            size_t ref = 0;
            for (int kind = SRC_BUF; kind <= SRC_PROD; kind++) {
                testutil_env te;
                mailout_env env;
                prod pr;
                mailout_msg *m = with_source(&te, &env, kind, data, sizeof data, encs[e], NULL, &pr, path);
                size_t len = 0, w = 1 + (size_t)kind * 13;
                unsigned char *dst = kind == SRC_BUF ? out_a : out_b;
                assert_status(MAILOUT_DONE, msgtest_read_flags(m, flags, w, dst, OUTCAP, kind == SRC_BUF ? &ref : &len));
                if (kind != SRC_BUF)
                    assert_bytes_equal(out_a, ref, out_b, len);
                if (kind == SRC_PROD)
                    assert_true(pr.calls >= 2 * sizeof data);
                mailout_msg_free(m);
            }
        }
    }
    unlink(path);
}

/* Base64 bodies need no dot-stuffing (nothing in them can start a line
 * with '.'): the DATA stream must be exactly the message plus ".\r\n", for
 * every source, every window 1..64, and body sizes around the encoder's
 * line (57 bytes) and the reader's refills. */
static void test_smtp_base64(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 56, 57, 58, 227, 228, 229, 256, 456, 1000, 3001};
    static unsigned char data[3001];
    static unsigned char raw[8192];
    char path[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 151u + 7u);
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        write_temp(data, sizes[z], path);
        for (int kind = SRC_BUF; kind <= SRC_PROD; kind++) {
            testutil_env te;
            mailout_env env;
            prod pr;
            size_t raw_len = 0, len = 0;
            mailout_msg *m = with_source(&te, &env, kind, data, sizes[z], MAILOUT_ENC_BASE64, NULL, &pr, path);
            assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 0, raw, sizeof raw - 3, &raw_len));
            assert_true(raw_len >= 2 && raw[raw_len - 2] == '\r' && raw[raw_len - 1] == '\n');
            memcpy(raw + raw_len, ".\r\n", 3);
            for (size_t w = 1; w <= 64; w++) {
                if (kind == SRC_PROD)
                    pr.calls = 0;
                assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_SMTP, w, out_b, OUTCAP, &len));
                assert_bytes_equal(raw, raw_len + 3, out_b, len);
            }
            mailout_msg_free(m);
        }
        unlink(path);
    }
}

/* The DATA form, made here from the raw message the way RFC 5321 §4.5.2
 * says (a '.' starting a line doubled, ".\r\n" after the last CRLF), so
 * the reader's own stuffing is checked against an independent one. */
static size_t stuff_reference(const unsigned char *raw, size_t n, unsigned char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (raw[i] == '.' && (i == 0 || raw[i - 1] == '\n'))
            out[o++] = '.';
        out[o++] = raw[i];
    }
    memcpy(out + o, ".\r\n", 3);
    return o + 3;
}

static void expect_data_form(mailout_msg *m, unsigned flags8)
{
    static unsigned char ref[OUTCAP];
    size_t raw = 0, len = 0;
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, flags8, 0, out_a, OUTCAP / 2, &raw));
    size_t n = stuff_reference(out_a, raw, ref);
    for (size_t w = 1; w <= 64; w += 7) {
        assert_status(MAILOUT_DONE, msgtest_read_flags(m, flags8 | MAILOUT_READ_SMTP, w, out_b, OUTCAP, &len));
        assert_bytes_equal(ref, n, out_b, len);
    }
    uint64_t size = 0;
    assert_status(MAILOUT_OK, mailout_msg_size(m, flags8 | MAILOUT_READ_SMTP, &size));
    assert_int_equal(size, n);
}

/* Lines that start with '.': in bodies of every encoding, forced or not,
 * nested, and in the names of caller fields (the only header lines that
 * can start with one), which are stuffed too. */
static void test_smtp_dots(void **state)
{
    (void)state;
    static const char body[] = ".a\n..\r\n.\r.\n\n.x\r\n.";
    const mailout_encoding encs[] = {MAILOUT_ENC_AUTO, MAILOUT_ENC_7BIT, MAILOUT_ENC_8BIT, MAILOUT_ENC_QP,
                                     MAILOUT_ENC_BASE64};
    testutil_env te;
    mailout_env env;
    mailout_msg *m = build_rich(&te, &env);
    expect_data_form(m, 0);
    expect_data_form(m, MAILOUT_READ_8BIT);
    mailout_msg_free(m);
    m = msgtest_basic(&te, &env);
    mailout_part *mixed, *p;
    assert_status(MAILOUT_OK, mailout_msg_add_header(m, ".X", "a"));
    assert_status(MAILOUT_OK, mailout_msg_add_header(m, "..", ". b"));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &mixed));
    for (size_t e = 0; e < sizeof encs / sizeof encs[0]; e++) {
        assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
        assert_status(MAILOUT_OK, mailout_part_add_header(p, ".Y", "c"));
        assert_status(MAILOUT_OK, mailout_part_set_encoding(p, encs[e]));
        assert_status(MAILOUT_OK, mailout_part_set_data(p, body, sizeof body - 1));
    }
    assert_status(MAILOUT_OK, mailout_part_new(m, mixed, &p));
    assert_status(MAILOUT_OK, mailout_part_set_type(p, "message/rfc822"));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, "X: y\r\n\r\n.\r\n", 11));
    expect_data_form(m, 0);
    expect_data_form(m, MAILOUT_READ_8BIT);
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 0, out_a, OUTCAP, &(size_t){0}));
    assert_true(contains(out_a, OUTCAP, "\r\n..X: a\r\n...: . b\r\n"));
    assert_true(contains(out_a, OUTCAP, "\r\n..Y: c\r\n"));
    mailout_msg_free(m);
    /* no body: the message ends with the header's blank line */
    m = msgtest_basic(&te, &env);
    assert_status(MAILOUT_OK, mailout_msg_add_header(m, ".Z", "d"));
    expect_data_form(m, 0);
    mailout_msg_free(m);
}

static void test_file_errors(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    prod pr;
    size_t len;
    /* a text file is scanned at read_start */
    mailout_msg *m = with_source(&te, &env, SRC_FILE_, NULL, 0, MAILOUT_ENC_AUTO, NULL, &pr, "/nonexistent/x.txt");
    assert_status(MAILOUT_E_FILE, mailout_msg_read_start(m, 0));
    mailout_msg_free(m);
    /* a binary file is opened when the reader gets there */
    m = with_source(&te, &env, SRC_FILE_, NULL, 0, MAILOUT_ENC_AUTO, "application/zip", &pr, "/nonexistent/x.zip");
    assert_status(MAILOUT_E_FILE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 7, out_a, OUTCAP, &len));
    assert_false(contains(out_a, len, "\r\n.\r\n"));
    size_t n = 5;
    assert_status(MAILOUT_E_FILE, mailout_msg_read(m, out_a, 10, &n)); /* sticky */
    assert_int_equal(n, 0);
    mailout_msg_free(m);
    /* no file hooks */
    m = with_source(&te, &env, SRC_FILE_, NULL, 0, MAILOUT_ENC_AUTO, NULL, &pr, "/etc/hostname");
    env.files = NULL;
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
    assert_status(MAILOUT_E_FILE, mailout_msg_read_start(m, 0));
    mailout_msg_free(m);
}

static void test_producer_failure(void **state)
{
    (void)state;
    static unsigned char data[2000];
    memset(data, 'x', sizeof data);
    for (unsigned flags = 0; flags < 4; flags++) {
        for (size_t fail_at = 1; fail_at < sizeof data - 10; fail_at += 333) {
            testutil_env te;
            mailout_env env;
            prod pr;
            size_t len;
            mailout_msg *m = with_source(&te, &env, SRC_PROD, data, sizeof data, MAILOUT_ENC_AUTO, NULL, &pr, NULL);
            pr.fail_at = fail_at;
            pr.chunk = 7;
            assert_status(MAILOUT_E_SOURCE, msgtest_read_flags(m, flags, 5, out_a, OUTCAP, &len));
            assert_false(contains(out_a, len, GEN_B1 "--"));
            assert_false(contains(out_a, len, "\r\n.\r\n"));
            size_t n = 3;
            assert_status(MAILOUT_E_SOURCE, mailout_msg_read(m, out_a, 10, &n));
            assert_int_equal(n, 0);
            mailout_msg_free(m);
        }
    }
}

static void test_declared_size_mismatch(void **state)
{
    (void)state;
    static const unsigned char data[] = "0123456789";
    const uint64_t sizes[] = {9, 11, 0, 5};
    for (size_t i = 0; i < 4; i++) {
        testutil_env te;
        mailout_env env;
        prod pr;
        size_t len;
        mailout_msg *m = msgtest_basic(&te, &env);
        mailout_part *root, *p;
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
        assert_status(MAILOUT_OK, mailout_part_new(m, root, &p));
        memset(&pr, 0, sizeof pr);
        pr.data = data;
        pr.len = 10;
        pr.chunk = 3;
        assert_status(MAILOUT_OK, mailout_part_set_producer(p, produce, NULL, &pr, sizes[i]));
        assert_status(MAILOUT_E_SOURCE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 64, out_a, OUTCAP, &len));
        assert_false(contains(out_a, len, "\r\n.\r\n"));
        mailout_msg_free(m);
    }
}

/* File hooks over a string: the size open() reports can lie, and reads
 * can say AGAIN every other time. */
typedef struct fake_file {
    const char *data;
    uint64_t reported;
    size_t pos;
    unsigned calls, opens, closes;
} fake_file;

static mailout_status ff_open(void *ctx, const char *path, void **h, uint64_t *size)
{
    fake_file *f = ctx;
    (void)path;
    f->pos = 0;
    f->opens++;
    *h = f;
    *size = f->reported;
    return MAILOUT_OK;
}

static mailout_status ff_read(void *ctx, void *h, unsigned char *buf, size_t cap, size_t *got)
{
    fake_file *f = ctx;
    (void)h;
    *got = 0;
    if (f->calls++ % 2 == 1)
        return MAILOUT_AGAIN;
    size_t n = strlen(f->data) - f->pos;
    if (n == 0)
        return MAILOUT_DONE;
    *got = n > 3 ? 3 : n;
    *got = *got > cap ? cap : *got;
    memcpy(buf, f->data + f->pos, *got);
    f->pos += *got;
    return MAILOUT_OK;
}

static void ff_close(void *ctx, void *h)
{
    (void)h;
    ((fake_file *)ctx)->closes++;
}

static void test_file_hooks(void **state)
{
    (void)state;
    static const mailout_file_ops ops = {ff_open, ff_read, ff_close};
    const uint64_t sizes[] = {10, 9, 11, MAILOUT_SIZE_UNKNOWN};
    for (size_t i = 0; i < 4; i++) {
        testutil_env te;
        mailout_env env;
        fake_file ff = {"0123456789", sizes[i], 0, 0, 0, 0};
        mailout_msg *m = msgtest_basic(&te, &env);
        mailout_part *p;
        size_t len;
        env.files = &ops;
        env.ctx = &te;
        assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
        assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
        assert_status(MAILOUT_OK, mailout_part_set_type(p, "application/octet-stream"));
        assert_status(MAILOUT_OK, mailout_part_set_file(p, "dir/data.bin"));
        /* the file hooks get the env's ctx: point it at the fake file */
        env.ctx = &ff;
        env.now = NULL;
        env.random = NULL;
        assert_status(MAILOUT_OK, mailout_msg_set_date(m, 0, 0));
        assert_status(MAILOUT_OK, mailout_msg_set_message_id(m, "<f@x>"));
        assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
        mailout_status st = msgtest_read_flags(m, MAILOUT_READ_SMTP, 4, out_a, OUTCAP, &len);
        if (i == 0 || i == 3) {
            assert_status(MAILOUT_DONE, st);
            assert_true(contains(out_a, len, "filename=\"data.bin\"\r\n\r\nMDEyMzQ1Njc4OQ==\r\n.\r\n"));
        } else {
            assert_status(MAILOUT_E_SOURCE, st); /* the file changed size */
            assert_false(contains(out_a, len, "\r\n.\r\n"));
        }
        mailout_msg_free(m);
        assert_int_equal(ff.opens, ff.closes); /* every open is closed */
        assert_true(ff.opens >= 1);
    }
}

/* RFC 5322 date-time at the edges: both ends of the accepted range (with
 * the largest offsets), leap days, century years, times before 1970. */
static void test_dates(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        int off;
        const char *date;
    } cases[] = {
        {-2208988800LL, 0, "Mon, 1 Jan 1900 00:00:00 +0000"},
        {-2208988800LL + 1439 * 60, -1439, "Mon, 1 Jan 1900 00:00:00 -2359"},
        {253402300799LL, 0, "Fri, 31 Dec 9999 23:59:59 +0000"},
        {253402300799LL - 1439 * 60, 1439, "Fri, 31 Dec 9999 23:59:59 +2359"},
        {0LL, 0, "Thu, 1 Jan 1970 00:00:00 +0000"},
        {-1LL, 0, "Wed, 31 Dec 1969 23:59:59 +0000"},
        {0LL, -1439, "Wed, 31 Dec 1969 00:01:00 -2359"},
        {951782400LL, 0, "Tue, 29 Feb 2000 00:00:00 +0000"},
        {951868799LL, 1439, "Wed, 1 Mar 2000 23:58:59 +2359"},
        {4107542400LL, 0, "Mon, 1 Mar 2100 00:00:00 +0000"},
        {-2203891200LL, 0, "Thu, 1 Mar 1900 00:00:00 +0000"},
        {1234567890LL, 330, "Sat, 14 Feb 2009 05:01:30 +0530"},
        {-946079999LL, -61, "Mon, 8 Jan 1940 22:59:01 -0101"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        testutil_env te;
        mailout_env env;
        mailout_msg *m = msgtest_basic(&te, &env);
        char want[64];
        size_t len;
        snprintf(want, sizeof want, "\r\nDate: %s\r\n", cases[i].date);
        assert_status(MAILOUT_OK, mailout_msg_set_date(m, cases[i].t, cases[i].off));
        assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 0, out_a, OUTCAP, &len));
        /* the header block starts with Date: look for it after a CRLF */
        assert_true(len + 2 <= OUTCAP);
        memmove(out_a + 2, out_a, len);
        memcpy(out_a, "\r\n", 2);
        if (!contains(out_a, len + 2, want))
            fail_msg("case %zu: want %s", i, cases[i].date);
        mailout_msg_free(m);
    }
}

static void test_size(void **state)
{
    (void)state;
    static unsigned char data[4000];
    char path[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 31);
    write_temp(data, sizeof data, path);
    for (int kind = SRC_BUF; kind <= SRC_PROD; kind++) {
        for (unsigned flags = 0; flags < 4; flags++) {
            testutil_env te;
            mailout_env env;
            prod pr;
            uint64_t size = 0;
            size_t len;
            mailout_msg *m =
                with_source(&te, &env, kind, data, sizeof data, MAILOUT_ENC_AUTO, "application/x-data", &pr, path);
            assert_status(MAILOUT_OK, mailout_msg_size(m, flags, &size));
            if (kind == SRC_PROD)
                assert_int_equal(pr.calls, 0); /* counted from the declared size */
            assert_status(MAILOUT_DONE, msgtest_read(m, NULL, 1, out_a, OUTCAP, &len));
            assert_int_equal(size, len);
            mailout_msg_free(m);
        }
    }
    /* base64 bodies around the ends of 76-column lines (57 bytes each)
     * and of 3-byte groups: the size counted without reading is exact */
    static const size_t lens[] = {0, 1, 2, 3, 4, 55, 56, 57, 58, 59, 113, 114, 115, 171, 172};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int kind = SRC_BUF; kind <= SRC_PROD; kind++) {
            testutil_env te;
            mailout_env env;
            prod pr;
            uint64_t size = 0;
            size_t len;
            mailout_msg *m =
                with_source(&te, &env, kind, data, lens[i], MAILOUT_ENC_AUTO, "application/x-data", &pr, path);
            assert_status(MAILOUT_OK, mailout_msg_size(m, 0, &size));
            assert_status(MAILOUT_DONE, msgtest_read(m, NULL, 1, out_a, OUTCAP, &len));
            assert_int_equal(size, len);
            mailout_msg_free(m);
        }
    }
    /* text through a producer that says AGAIN while read_start scans it:
     * QP, size unknown without reading; the scan made one call */
    testutil_env te;
    mailout_env env;
    prod pr;
    uint64_t size = 7;
    mailout_msg *m = with_source(&te, &env, SRC_PROD, data, sizeof data, MAILOUT_ENC_AUTO, NULL, &pr, NULL);
    assert_status(MAILOUT_E_SIZE_UNKNOWN, mailout_msg_size(m, 0, &size));
    assert_int_equal(size, 7);
    assert_int_equal(pr.calls, 1);
    mailout_msg_free(m);
    /* a base64 producer that declares more than 2^56 bytes: not counted
     * (its encoded size would wrap: 1.35e19 bytes counted as 2.7e16),
     * nothing read; 2^56 itself is counted exactly: 2^56 / 57 lines of 78
     * bytes, 4 bytes left over (2^56 = 57 * 1264168316454876 + 4), the
     * message's header and the stand-in 'A' around it */
    static const uint64_t declared[] = {13500000000000000000u, ((uint64_t)1 << 56) + 1, UINT64_MAX - 1};
    for (size_t i = 0; i < sizeof declared / sizeof declared[0]; i++) {
        mailout_part *p;
        m = msgtest_basic(&te, &env);
        assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
        assert_status(MAILOUT_OK, mailout_part_set_producer(p, produce, NULL, &pr, declared[i]));
        assert_status(MAILOUT_OK, mailout_part_set_encoding(p, MAILOUT_ENC_BASE64));
        pr.calls = 0;
        size = 7;
        assert_status(MAILOUT_E_SIZE_UNKNOWN, mailout_msg_size(m, 0, &size));
        assert_int_equal(size, 7);
        assert_int_equal(pr.calls, 0);
        mailout_msg_free(m);
    }
    uint64_t small_size = 0, big_size = 0;
    mailout_part *p;
    for (int big = 0; big < 2; big++) {
        m = msgtest_basic(&te, &env);
        assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
        assert_status(MAILOUT_OK,
                      mailout_part_set_producer(p, produce, NULL, &pr, big ? (uint64_t)1 << 56 : 57 * 3 + 4));
        assert_status(MAILOUT_OK, mailout_part_set_encoding(p, MAILOUT_ENC_BASE64));
        assert_status(MAILOUT_OK, mailout_msg_size(m, 0, big ? &big_size : &small_size));
        mailout_msg_free(m);
    }
    /* the same message but for 1264168316454876 - 3 more lines */
    assert_true(big_size - small_size == (uint64_t)(1264168316454876u - 3u) * 78u);
    unlink(path);
}

static void test_read_twice(void **state)
{
    (void)state;
    static const unsigned char data[] = "some text\nover lines\n";
    size_t l1, l2;
    testutil_env te;
    mailout_env env;
    prod pr;
    mailout_msg *m = with_source(&te, &env, SRC_PROD, data, sizeof data - 1, MAILOUT_ENC_AUTO, NULL, &pr, NULL);
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 3, out_a, OUTCAP, &l1));
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 5, out_b, OUTCAP, &l2));
    assert_bytes_equal(out_a, l1, out_b, l2);
    assert_int_equal(pr.rewinds, 2); /* after the (given up) scan, and for the second read */
    /* half-read, then started again */
    size_t n;
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, MAILOUT_READ_SMTP));
    assert_status(MAILOUT_OK, mailout_msg_read(m, out_b, 300, &n));
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 1, out_b, OUTCAP, &l2));
    assert_bytes_equal(out_a, l1, out_b, l2);
    mailout_msg_free(m);

    /* a producer without rewind can be read once */
    m = msgtest_basic(&te, &env);
    mailout_part *p;
    assert_status(MAILOUT_OK, mailout_part_new(m, NULL, &p));
    memset(&pr, 0, sizeof pr);
    pr.data = data;
    pr.len = sizeof data - 1;
    pr.chunk = 4;
    assert_status(MAILOUT_OK, mailout_part_set_producer(p, produce, NULL, &pr, MAILOUT_SIZE_UNKNOWN));
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, 0)); /* not read yet: fine twice */
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 2, out_a, OUTCAP, &l1));
    assert_true(contains(out_a, l1, "Content-Transfer-Encoding: quoted-printable\r\n\r\nsome text\r\nover lines\r\n"));
    assert_status(MAILOUT_E_STATE, mailout_msg_read_start(m, 0));
    mailout_msg_free(m);
}

/* ---- automatic encodings ------------------------------------------------------------------------ */

static const char *cte_of(const void *data, size_t len, const char *type, unsigned flags, mailout_status *st)
{
    static char cte[32];
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *root, *p;
    size_t olen;
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
    assert_status(MAILOUT_OK, mailout_part_new(m, root, &p));
    if (type)
        assert_status(MAILOUT_OK, mailout_part_set_type(p, type));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, data, len));
    *st = msgtest_read_flags(m, flags, 0, out_a, OUTCAP, &olen);
    const char *c = strstr((const char *)out_a, "Content-Transfer-Encoding: ");
    assert_non_null(c);
    c += 27;
    size_t n = strcspn(c, "\r");
    memcpy(cte, c, n);
    cte[n] = '\0';
    if (*st == MAILOUT_DONE)
        msgtest_assert_lines(out_a, olen, 998);
    mailout_msg_free(m);
    return cte;
}

static void test_auto_encoding(void **state)
{
    (void)state;
    static char line[1200];
    mailout_status st;
    assert_string_equal(cte_of("hello\r\n", 7, NULL, 0, &st), "7bit");
    assert_string_equal(cte_of("h\xc3\xa9llo", 6, NULL, 0, &st), "quoted-printable");
    assert_string_equal(cte_of("h\xc3\xa9llo", 6, NULL, MAILOUT_READ_8BIT, &st), "8bit");
    assert_string_equal(cte_of("h\xc3\xa9llo", 6, NULL, MAILOUT_READ_8BIT | MAILOUT_READ_SMTP, &st), "8bit");
    assert_string_equal(cte_of("a\0b", 3, NULL, MAILOUT_READ_8BIT, &st), "base64");
    assert_string_equal(cte_of("a\x01z", 3, NULL, 0, &st), "base64");
    assert_string_equal(cte_of("a\x7fz", 3, NULL, 0, &st), "base64");
    assert_string_equal(cte_of("plain", 5, "application/json", 0, &st), "base64");
    assert_string_equal(cte_of("x\n--=_abc\n", 10, NULL, 0, &st), "quoted-printable");
    assert_true(contains(out_a, strlen((char *)out_a), "\r\n--=3D_abc\r\n"));
    assert_string_equal(cte_of("x\n--=abc\n", 9, "text/csv", 0, &st), "7bit");
    memset(line, 'a', sizeof line);
    assert_string_equal(cte_of(line, 998, NULL, 0, &st), "7bit");
    assert_string_equal(cte_of(line, 999, NULL, 0, &st), "quoted-printable");
    line[500] = '\n';
    assert_string_equal(cte_of(line, 1200, NULL, 0, &st), "7bit");
}

static mailout_status forced(const void *data, size_t len, mailout_encoding enc, int nested)
{
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *root = NULL, *p;
    size_t olen;
    if (nested)
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
    assert_status(MAILOUT_OK, mailout_part_new(m, root, &p));
    assert_status(MAILOUT_OK, mailout_part_set_data(p, data, len));
    assert_status(MAILOUT_OK, mailout_part_set_encoding(p, enc));
    mailout_status st = msgtest_read_flags(m, MAILOUT_READ_SMTP | MAILOUT_READ_8BIT, 0, out_a, OUTCAP, &olen);
    if (st < 0)
        assert_false(contains(out_a, olen, "\r\n.\r\n"));
    else
        msgtest_assert_lines(out_a, olen, 999);
    mailout_msg_free(m);
    return st;
}

static void test_forced_encoding(void **state)
{
    (void)state;
    static char line[1000];
    memset(line, 'a', sizeof line);
    assert_status(MAILOUT_E_8BIT, forced("h\xc3\xa9", 3, MAILOUT_ENC_7BIT, 0));
    assert_status(MAILOUT_DONE, forced("h\xc3\xa9", 3, MAILOUT_ENC_8BIT, 0));
    assert_status(MAILOUT_E_INVAL, forced("a\0b", 3, MAILOUT_ENC_8BIT, 0));
    assert_status(MAILOUT_E_LINE_TOO_LONG, forced(line, 999, MAILOUT_ENC_8BIT, 1));
    assert_status(MAILOUT_DONE, forced(line, 998, MAILOUT_ENC_7BIT, 1));
    assert_status(MAILOUT_E_INVAL, forced("x\r\n--=_y\r\n", 10, MAILOUT_ENC_7BIT, 1));
    assert_status(MAILOUT_DONE, forced("x\r\n--=_y\r\n", 10, MAILOUT_ENC_7BIT, 0));
    assert_status(MAILOUT_DONE, forced("a\0b", 3, MAILOUT_ENC_QP, 1));
    assert_status(MAILOUT_DONE, forced("h\xc3\xa9", 3, MAILOUT_ENC_BASE64, 1));
}

/* ---- boundaries ------------------------------------------------------------------------------------ */

static void test_boundaries_nested(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *p = NULL, *q, *leaf;
    char bounds[MAILOUT_MAX_DEPTH][64];
    for (unsigned d = 0; d < MAILOUT_MAX_DEPTH; d++) {
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, p, (mailout_multipart_kind)(d % 3), &q));
        assert_status(MAILOUT_OK, mailout_part_new(m, q, &leaf));
        /* content with lines that look like boundaries of any kind */
        assert_status(MAILOUT_OK, mailout_part_set_data(leaf, "--=_\n--=_x--\n-- \n", 17));
        p = q;
    }
    assert_status(MAILOUT_E_LIMIT, mailout_part_new_multipart(m, p, MAILOUT_MULTIPART_MIXED, &q));
    size_t len;
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, MAILOUT_READ_SMTP, 0, out_a, OUTCAP, &len));
    out_a[len] = '\0';
    const char *s = (const char *)out_a;
    for (unsigned d = 0; d < MAILOUT_MAX_DEPTH; d++) {
        s = strstr(s, "boundary=\"");
        assert_non_null(s);
        s += 10;
        size_t n = strcspn(s, "\"");
        assert_int_equal(n, 26);
        memcpy(bounds[d], s, n);
        bounds[d][n] = '\0';
        for (unsigned e = 0; e < d; e++)
            assert_string_not_equal(bounds[d], bounds[e]);
    }
    for (unsigned d = 0; d < MAILOUT_MAX_DEPTH; d++) {
        char delim[80], close[80];
        snprintf(delim, sizeof delim, "\r\n--%s", bounds[d]);
        snprintf(close, sizeof close, "\r\n--%s--\r\n", bounds[d]);
        /* declared once, opens two parts (leaf and child multipart) except the deepest, closes once */
        assert_int_equal(count_of(out_a, len, bounds[d]), d + 1 < MAILOUT_MAX_DEPTH ? 4 : 3);
        assert_int_equal(count_of(out_a, len, close), 1);
    }
    /* every line starting "--=_" is one of ours */
    for (const char *l = (const char *)out_a; (l = strstr(l, "\r\n--=_")) != NULL; l += 2) {
        int ours = 0;
        for (unsigned d = 0; d < MAILOUT_MAX_DEPTH; d++)
            ours |= strncmp(l + 4, bounds[d], 26) == 0;
        assert_true(ours);
    }
    mailout_msg_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_single),     cmocka_unit_test(test_golden_no_body),
        cmocka_unit_test(test_golden_quoted_local),
        cmocka_unit_test(test_golden_multipart),  cmocka_unit_test(test_every_window),
        cmocka_unit_test(test_sources_identical), cmocka_unit_test(test_smtp_base64), cmocka_unit_test(test_smtp_dots),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_producer_failure),  cmocka_unit_test(test_declared_size_mismatch),
        cmocka_unit_test(test_file_hooks),        cmocka_unit_test(test_size), cmocka_unit_test(test_dates),              cmocka_unit_test(test_read_twice),
        cmocka_unit_test(test_auto_encoding),     cmocka_unit_test(test_forced_encoding),
        cmocka_unit_test(test_boundaries_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
