/* lib/encode/header.c: folding, RFC 2047 encoded-words, RFC 2231
 * parameters. Golden strings written by hand, then properties over many
 * generated texts: words <= 75, code points never split, lines <= 78,
 * decoding gives back the input. */
#include <stdlib.h>
#include <string.h>

#include "msgtest.h"

#include "encode/header.h"

#define OUT 32768

/* Append a unit (its bytes, the borrowed ones in their place) to out. */
static size_t flatten(const mailout_hunit *u, char *out)
{
    assert_true(u->len <= MAILOUT_HDR_UNIT_MAX);
    assert_true(u->at <= u->len);
    memcpy(out, u->buf, u->at);
    if (u->ext_len)
        memcpy(out + u->at, u->ext, u->ext_len);
    memcpy(out + u->at + u->ext_len, u->buf + u->at, (size_t)(u->len - u->at));
    return u->len + u->ext_len;
}

/* An empty unit over buf. */
static mailout_hunit unit_over(char *buf)
{
    mailout_hunit u = {buf, NULL, 0, 0, 0};
    return u;
}

/* "Name:" + the units of a text + CRLF. */
static size_t render_text(const char *name, const char *value, size_t vlen, unsigned flags, char *out,
                          int *encoded)
{
    mailout_hfold f;
    mailout_htext t;
    char ubuf[MAILOUT_HDR_UNIT_MAX];
    mailout_hunit u = unit_over(ubuf);
    size_t n = strlen(name);
    memcpy(out, name, n);
    out[n++] = ':';
    f.col = (unsigned)n;
    mailout_htext_init(&t, value, vlen, flags, f.col);
    *encoded = mailout_htext_encoded(&t);
    while (mailout_htext_next(&t, &f, &u)) {
        n += flatten(&u, out + n);
        assert_true(n + MAILOUT_HDR_UNIT_MAX + MAILOUT_HDR_LONG_WORD < OUT);
        u = unit_over(ubuf);
    }
    memcpy(out + n, "\r\n", 2);
    return n + 2;
}

static size_t render_param(const char *value, char *out)
{
    mailout_hfold f;
    mailout_hparam p;
    char ubuf[MAILOUT_HDR_UNIT_MAX];
    mailout_hunit u = unit_over(ubuf);
    size_t n = strlen("Content-Disposition: attachment");
    memcpy(out, "Content-Disposition: attachment", n);
    f.col = (unsigned)n;
    mailout_hparam_init(&p, "filename", value, strlen(value));
    while (mailout_hparam_next(&p, &f, &u)) {
        n += flatten(&u, out + n);
        u = unit_over(ubuf);
    }
    memcpy(out + n, "\r\n", 2);
    return n + 2;
}

static void check_text(const char *name, const char *value, unsigned flags, const char *expect)
{
    char out[OUT];
    int enc;
    size_t n = render_text(name, value, strlen(value), flags, out, &enc);
    assert_bytes_equal(expect, strlen(expect), out, n);
}

static void check_param(const char *value, const char *expect)
{
    char out[OUT];
    size_t n = render_param(value, out);
    assert_bytes_equal(expect, strlen(expect), out, n);
}

/* ---- a small decoder for the checks ------------------------------------------------ */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode one encoded-word w (n chars) into out; returns the byte count. */
static size_t decode_word(const char *w, size_t n, unsigned char *out)
{
    assert_true(n <= 75);
    assert_true(n >= 12);
    assert_memory_equal(w, "=?utf-8?", 8);
    assert_memory_equal(w + n - 2, "?=", 2);
    const char *p = w + 10, *end = w + n - 2;
    size_t o = 0;
    if (w[8] == 'Q') {
        while (p < end) {
            if (*p == '_') {
                out[o++] = ' ';
                p++;
            } else if (*p == '=') {
                assert_true(end - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
                out[o++] = (unsigned char)(hexval(p[1]) * 16 + hexval(p[2]));
                p += 3;
            } else {
                assert_true(*p > 32 && *p < 127 && *p != '?');
                out[o++] = (unsigned char)*p++;
            }
        }
    } else {
        assert_int_equal(w[8], 'B');
        assert_status(MAILOUT_OK, mailout_b64_decode_block(p, (size_t)(end - p), out, 64, &o));
    }
    /* each word holds whole code points only */
    assert_status(MAILOUT_OK, mailout_utf8_check((const char *)out, o, 1));
    return o;
}

/* Lines <= max (folding rules too); returns the unfolded field body. */
static size_t unfold_checked(const char *f, size_t n, size_t max, char *out)
{
    size_t o = 0, start = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i] == '\r') {
            assert_int_equal(f[i + 1], '\n');
            if (i - start > max)
                fail_msg("line of %zu > %zu: \"%s\"", i - start, max, testutil_escape(f + start, i - start));
            if (i + 2 < n) {
                /* a continuation: starts with WSP, is not only WSP */
                assert_true(f[i + 2] == ' ' || f[i + 2] == '\t');
                size_t j = i + 2;
                while (f[j] == ' ' || f[j] == '\t')
                    j++;
                assert_true(f[j] != '\r');
            }
            start = i + 2;
            i++;
            continue;
        }
        assert_true(f[i] != '\n');
        out[o++] = f[i];
    }
    return o;
}

/* Decode a rendered unstructured field; result into out. */
static size_t decode_field(const char *f, size_t n, int encoded, size_t max, unsigned char *out)
{
    static char unf[OUT];
    size_t u = unfold_checked(f, n, max, unf), o = 0, i;
    i = (size_t)((char *)memchr(unf, ':', u) - unf) + 1;
    if (!encoded) {
        if (i < u) {
            assert_int_equal(unf[i], ' ');
            i++;
        }
        memcpy(out, unf + i, u - i);
        return u - i;
    }
    while (i < u) {
        while (i < u && unf[i] == ' ')
            i++;
        size_t s = i;
        while (i < u && unf[i] != ' ')
            i++;
        if (i > s)
            o += decode_word(unf + s, i - s, out + o);
    }
    return o;
}

/* ---- golden ------------------------------------------------------------------------ */

static void test_plain_text(void **state)
{
    (void)state;
    check_text("Subject", "Hello world", 0, "Subject: Hello world\r\n");
    check_text("Subject", "", 0, "Subject:\r\n");
    check_text("Subject", "tab\there", 0, "Subject: tab\there\r\n");
    /* folded at the last space that keeps the line <= 78 */
    check_text("Subject",
               "The quick brown fox jumps over the lazy dog and keeps running far beyond the edge of the line",
               0,
               "Subject: The quick brown fox jumps over the lazy dog and keeps running far\r\n"
               " beyond the edge of the line\r\n");
}

static void test_encoded_words(void **state)
{
    (void)state;
    check_text("Subject", "Caf\xc3\xa9", 0, "Subject: =?utf-8?Q?Caf=C3=A9?=\r\n");
    check_text("Subject", "a b_c=d?e", 0 /* '=?' is not in it, but '_' '=' '?' need Q escapes only if encoded */,
               "Subject: a b_c=d?e\r\n");
    /* looks like an encoded word: written encoded, so a reader gets it back literally */
    check_text("Subject", "=?utf-8?q?a=0D=0ABcc:_x?=", 0,
               "Subject: =?utf-8?Q?=3D=3Futf-8=3Fq=3Fa=3D0D=3D0ABcc=3A=5Fx=3F=3D?=\r\n");
    /* leading/trailing white space survives only inside encoded words */
    check_text("Subject", " x ", 0, "Subject: =?utf-8?Q?_x_?=\r\n");
    /* mostly non-ASCII: B is shorter */
    check_text("Subject", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0, "Subject: =?utf-8?B?5pel5pys6Kqe?=\r\n");
    /* a display name */
    check_text("From", "John Doe", MAILOUT_HTEXT_PHRASE, "From: \"John Doe\"\r\n");
    check_text("From", "a\"b\\c", MAILOUT_HTEXT_PHRASE, "From: \"a\\\"b\\\\c\"\r\n");
    check_text("From", "J\xc3\xb6rg M.", MAILOUT_HTEXT_PHRASE, "From: =?utf-8?Q?J=C3=B6rg_M=2E?=\r\n");
    check_text("From", "=?x?", MAILOUT_HTEXT_PHRASE, "From: =?utf-8?Q?=3D=3Fx=3F?=\r\n");
}

static void test_long_token(void **state)
{
    (void)state;
    char v[1300], out[OUT];
    unsigned char dec[OUT];
    int enc;
    memset(v, 'x', 1200);
    v[1200] = '\0';
    size_t n = render_text("Subject", v, 1200, 0, out, &enc);
    assert_true(enc); /* an unbreakable token is encoded, so it can be folded */
    size_t d = decode_field(out, n, enc, 78, dec);
    assert_bytes_equal(v, 1200, dec, d);
    /* custom fields keep units (space + word) up to 250 plain (URLs in
     * structured fields) */
    n = render_text("X-Long", v, 249, MAILOUT_HTEXT_LONG_WORDS, out, &enc);
    assert_false(enc);
    d = decode_field(out, n, enc, 8 + 250, dec);
    assert_bytes_equal(v, 249, dec, d);
    n = render_text("X-Long", v, 250, MAILOUT_HTEXT_LONG_WORDS, out, &enc);
    assert_true(enc);
}

static void test_long_name_folds_first(void **state)
{
    (void)state;
    char name[80], out[OUT];
    unsigned char dec[OUT];
    int enc;
    memset(name, 'N', 76);
    name[76] = '\0';
    /* the value starts on the name's line: a fold right after the colon
     * would read back with a leading space */
    size_t n = render_text(name, "value here", 10, 0, out, &enc);
    assert_true(n == 77 + 6 + 2 + 5 + 2);
    assert_memory_equal(out + 77, " value\r\n here\r\n", 15);
    static const char v[] = "\xc3\xa9t\xc3\xa9 and more words to fill the line";
    n = render_text(name, v, sizeof v - 1, 0, out, &enc);
    assert_true(enc);
    static const char expect[] = " =?utf-8?Q?=C3=A9t?=\r\n =?utf-8?Q?=C3=A9_and_more_words_to_fill_the_line?=\r\n";
    assert_bytes_equal(expect, sizeof expect - 1, out + 77, n - 77);
    size_t d = decode_field(out, n, enc, 77 + 1 + 24, dec);
    assert_bytes_equal(v, sizeof v - 1, dec, d);
}

static void test_params(void **state)
{
    (void)state;
    check_param("a.txt", "Content-Disposition: attachment; filename=\"a.txt\"\r\n");
    check_param("a\"b\\.txt", "Content-Disposition: attachment; filename=\"a\\\"b\\\\.txt\"\r\n");
    check_param("r\xc3\xa9sum\xc3\xa9.pdf",
                "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n");
    check_param("a b;c=d.txt", "Content-Disposition: attachment; filename=\"a b;c=d.txt\"\r\n");
    /* some readers decode "=?..?=" even inside quotes: percent-encoded instead */
    check_param("=?x?=.txt", "Content-Disposition: attachment; filename*=utf-8''%3D%3Fx%3F%3D.txt\r\n");
    /* long ASCII: continuations, never splitting %XX */
    check_param("this is a rather long file name with spaces that cannot fit in one line.txt",
                "Content-Disposition: attachment;\r\n"
                " filename*0*=utf-8''this%20is%20a%20rather%20long%20file%20name%20with%20spac;\r\n"
                " filename*1*=es%20that%20cannot%20fit%20in%20one%20line.txt\r\n");
}

/* ---- properties ---------------------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* Random valid text: ASCII words, spaces, tabs, 2/3/4-byte code points. */
static size_t random_text(char *s, size_t max)
{
    static const char *const pieces[] = {"a",  "Z",   "9",    " ",    " ",   "\t", "=",   "?",   "_",
                                         ".",  "\"",  "\\",   "(",    "\xc3\xa9", "\xc3\x9f", "\xe2\x82\xac",
                                         "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "=?", "word", "x"};
    size_t n = 0, want = rnd(4) == 0 ? rnd((unsigned)max) : rnd(120);
    while (n < want) {
        const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
        size_t l = strlen(p);
        if (n + l > max)
            break;
        memcpy(s + n, p, l);
        n += l;
    }
    return n;
}

static void test_text_properties(void **state)
{
    (void)state;
    static char v[MAILOUT_MAX_HEADER_VALUE_LEN + 1], out[OUT], name[80];
    static unsigned char dec[OUT];
    for (unsigned iter = 0; iter < 3000; iter++) {
        size_t vlen = random_text(v, MAILOUT_MAX_HEADER_VALUE_LEN);
        size_t nlen = 1 + rnd(76);
        unsigned flags = rnd(3);
        memset(name, 'H', nlen);
        name[nlen] = '\0';
        if (flags & MAILOUT_HTEXT_PHRASE) {
            for (size_t i = 0; i < vlen; i++)
                if (v[i] == '\t')
                    v[i] = ' ';
            vlen = vlen > MAILOUT_MAX_DISPLAY_NAME_LEN ? MAILOUT_MAX_DISPLAY_NAME_LEN : vlen;
            while (vlen && ((unsigned char)v[vlen] & 0xC0) == 0x80)
                vlen--; /* cut on a code point boundary */
            flags = MAILOUT_HTEXT_PHRASE;
        }
        int enc;
        size_t n = render_text(name, v, vlen, flags, out, &enc);
        /* a long name pushes the unfoldable first unit past 78 */
        size_t max = (flags & MAILOUT_HTEXT_LONG_WORDS) ? nlen + 2 + MAILOUT_HDR_LONG_WORD
                     : nlen + 26 > 78                    ? nlen + 2 + 76
                                                         : 78;
        if (flags & MAILOUT_HTEXT_PHRASE) {
            /* a quoted-string: lines fit; the content comes back unquoted */
            static char unf[OUT];
            size_t u = unfold_checked(out, n, 78, unf);
            if (!enc) {
                size_t o = 0;
                for (size_t i = nlen + 3; i + 1 < u; i++) {
                    if (unf[i] == '\\')
                        i++;
                    dec[o++] = (unsigned char)unf[i];
                }
                assert_bytes_equal(v, vlen, dec, o);
                continue;
            }
        }
        size_t d = decode_field(out, n, enc, max, dec);
        assert_bytes_equal(v, vlen, dec, d);
    }
}

static void test_param_properties(void **state)
{
    (void)state;
    static char v[MAILOUT_MAX_FILENAME_LEN + 1], out[OUT], unf[OUT];
    for (unsigned iter = 0; iter < 3000; iter++) {
        size_t vlen = random_text(v, MAILOUT_MAX_FILENAME_LEN);
        for (size_t i = 0; i < vlen; i++)
            if (v[i] == '\t')
                v[i] = ' ';
        v[vlen] = '\0';
        size_t n = render_param(v, out);
        size_t u = unfold_checked(out, n, 78, unf);
        unf[u] = '\0';
        /* reassemble: quoted, single extended, or numbered continuations */
        static unsigned char dec[OUT];
        size_t o = 0;
        char *p = strstr(unf, "filename");
        assert_non_null(p);
        if (strncmp(p, "filename=\"", 10) == 0) {
            for (p += 10; *p != '"'; p++) {
                if (*p == '\\')
                    p++;
                dec[o++] = (unsigned char)*p;
            }
        } else {
            unsigned seg = 0;
            while (p && strncmp(p, "filename*", 9) == 0) {
                char *eq = strchr(p, '=');
                if (seg == 0) {
                    assert_memory_equal(eq + 1, "utf-8''", 7);
                    eq += 7;
                }
                char *q = eq + 1, *semi = strchr(q, ';');
                char *end = semi ? semi : q + strlen(q);
                while (q < end) {
                    if (*q == '%') {
                        dec[o++] = (unsigned char)(hexval(q[1]) * 16 + hexval(q[2]));
                        q += 3;
                    } else {
                        assert_true(strchr("*'%()<>@,;:\\\"/[]?= ", *q) == NULL);
                        dec[o++] = (unsigned char)*q++;
                    }
                }
                /* code points are never split across segments */
                assert_status(MAILOUT_OK, mailout_utf8_check((const char *)dec, o, 0));
                p = semi ? semi + 2 : NULL;
                seg++;
            }
        }
        assert_bytes_equal(v, vlen, dec, o);
    }
}

static void test_utf8_check(void **state)
{
    (void)state;
    assert_status(MAILOUT_OK, mailout_utf8_check("\xf4\x8f\xbf\xbf \xe0\xa0\x80 \xc2\x80", 11, 0));
    assert_status(MAILOUT_E_UTF8, mailout_utf8_check("\xf4\x90\x80\x80", 4, 0));
    assert_status(MAILOUT_E_UTF8, mailout_utf8_check("\xe0\x9f\xbf", 3, 0));
    assert_status(MAILOUT_E_UTF8, mailout_utf8_check("\xc1\xbf", 2, 0));
    assert_status(MAILOUT_E_UTF8, mailout_utf8_check("\x80", 1, 0));
    assert_status(MAILOUT_E_UTF8, mailout_utf8_check("\xf0\x9f\x98", 3, 0));
    assert_status(MAILOUT_E_HEADER, mailout_utf8_check("\t", 1, 0));
    assert_status(MAILOUT_OK, mailout_utf8_check("\t", 1, 1));
    assert_status(MAILOUT_E_HEADER, mailout_utf8_check("\0", 1, 1));
    assert_status(MAILOUT_E_HEADER, mailout_utf8_check("\x7f", 1, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text),       cmocka_unit_test(test_encoded_words),
        cmocka_unit_test(test_long_token),       cmocka_unit_test(test_long_name_folds_first),
        cmocka_unit_test(test_params),           cmocka_unit_test(test_text_properties),
        cmocka_unit_test(test_param_properties), cmocka_unit_test(test_utf8_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
