/*
 * Quoted-printable: RFC 2045 §6.7 rules with hand-written expected output,
 * under the full streaming matrix (whole, byte by byte, every cut, windows
 * 1..64). Lines hold at most 75 characters before a soft break "=".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamtest.h"

typedef struct qp_case {
    mailout_qp e;
    unsigned flags;
} qp_case;

static mailout_status qp_fn(void *state, mailout_stream *s, int end)
{
    return mailout_qp_encode(&((qp_case *)state)->e, s, end);
}

static void qp_reset(void *state)
{
    qp_case *c = state;
    assert_status(MAILOUT_OK, mailout_qp_init(&c->e, c->flags));
}

static void check_n(unsigned flags, const char *in, size_t len, const char *exp)
{
    qp_case c = {{{0}}, flags};
    st_check_all(qp_fn, qp_reset, &c, in, len, exp, strlen(exp), MAILOUT_DONE, len);
}

static void check_text(const char *in, const char *exp)
{
    check_n(MAILOUT_QP_TEXT, in, strlen(in), exp);
}

static void check_bin(const char *in, const char *exp)
{
    check_n(0, in, strlen(in), exp);
}

/* n copies of c, then tail; static buffers rotate so two can be live. */
static const char *rep(char c, size_t n, const char *tail)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ & 3];
    size_t t = strlen(tail);
    assert_true(n + t < sizeof bufs[0]);
    memset(b, c, n);
    memcpy(b + n, tail, t + 1);
    return b;
}

static void test_plain(void **state)
{
    (void)state;
    check_text("", "");
    check_text("Hello, World!", "Hello, World!");
    check_text("!~", "!~"); /* 33 and 126 are literal */
    check_text("a b\tc", "a b\tc");
    check_bin("Hello, World!", "Hello, World!");
}

static void test_escapes(void **state)
{
    (void)state;
    check_text("a=b", "a=3Db");
    check_text("=", "=3D");
    check_text("caf\xc3\xa9", "caf=C3=A9");
    check_text("\xab\xff", "=AB=FF"); /* uppercase hex */
    check_text("\x7f", "=7F");
    check_n(MAILOUT_QP_TEXT, "a\0b", 3, "a=00b");
    check_n(MAILOUT_QP_TEXT, "\0", 1, "=00");
    check_text("\x01\x1f\x0b\x0c", "=01=1F=0B=0C");
}

static void test_text_line_breaks(void **state)
{
    (void)state;
    check_text("line1\r\nline2\nline3\rline4", "line1\r\nline2\r\nline3\r\nline4");
    check_text("a\r\r\nb", "a\r\n\r\nb");
    check_text("\n\n", "\r\n\r\n");
    check_text("\r", "\r\n");
    check_text("\r\n", "\r\n");
    check_text("\n\r", "\r\n\r\n");
    check_text("a\r\n", "a\r\n"); /* no extra CRLF at the end */
}

static void test_trailing_whitespace(void **state)
{
    (void)state;
    check_text("a \r\nb\t\nc", "a=20\r\nb=09\r\nc");
    check_text("a ", "a=20");
    check_text("a\t", "a=09");
    check_text("  ", " =20");
    check_text("\t\t", "\t=09");
    check_text("a  \n", "a =20\r\n");
    check_text(" \r", "=20\r\n");
    check_text(" ", "=20");
    check_text("a \tb", "a \tb");
    check_text("a =b", "a =3Db"); /* whitespace before '=' is not trailing */
    /* Binary: CR and LF are data, so whitespace before them is literal. */
    check_bin("a \r\n", "a =0D=0A");
    check_bin("a ", "a=20");
    check_bin("a\t", "a=09");
}

static void test_dots(void **state)
{
    (void)state;
    check_text(".", "=2E");
    check_text(".\r\n.a\n..b", "=2E\r\n=2Ea\r\n=2E.b");
    check_text("a.b\r\n.", "a.b\r\n=2E");
    check_text("\r.\r", "\r\n=2E\r\n");
    check_bin(".a.", "=2Ea.");
    check_bin("\n.", "=0A.");
}

static void test_soft_breaks(void **state)
{
    (void)state;
    /* 75 characters fit; the 76th goes to the next line. */
    check_text(rep('a', 75, ""), rep('a', 75, ""));
    check_text(rep('a', 75, "\r\n"), rep('a', 75, "\r\n"));
    check_text(rep('a', 76, ""), rep('a', 75, "=\r\na"));
    check_text(rep('a', 80, ""), rep('a', 75, "=\r\naaaaa"));
    /* 150 + 1 characters: two full lines then one. */
    char exp[256];
    snprintf(exp, sizeof exp, "%s=\r\n%s=\r\nb", rep('b', 75, ""), rep('b', 75, ""));
    check_text(rep('b', 151, ""), exp);
    /* A hard break resets the column. */
    snprintf(exp, sizeof exp, "%s\r\n%s", rep('c', 70, ""), rep('c', 70, ""));
    char in[256];
    snprintf(in, sizeof in, "%s\n%s", rep('c', 70, ""), rep('c', 70, ""));
    check_text(in, exp);
}

static void test_escape_at_edge(void **state)
{
    (void)state;
    /* "=3D" ending exactly at column 75, then one more character. */
    check_text(rep('a', 72, "=b"), rep('a', 72, "=3D=\r\nb"));
    check_text(rep('a', 72, "="), rep('a', 72, "=3D"));
    /* "=3D" would end at 76 or 77: moved whole to the next line. */
    check_text(rep('a', 73, "="), rep('a', 73, "=\r\n=3D"));
    check_text(rep('a', 74, "="), rep('a', 74, "=\r\n=3D"));
    check_text(rep('a', 74, "\xe9z"), rep('a', 74, "=\r\n=E9z"));
    /* Space at column 75, followed by text: literal, then a soft break. */
    check_text(rep('a', 74, " b"), rep('a', 74, " =\r\nb"));
    /* Space at column 75 before a hard break: =20 does not fit, moves. */
    check_text(rep('a', 74, " \r\n"), rep('a', 74, "=\r\n=20\r\n"));
    check_text(rep('a', 72, " \r\n"), rep('a', 72, "=20\r\n"));
    check_text(rep('a', 73, " "), rep('a', 73, "=\r\n=20"));
    /* Space that would be the 76th character, followed by text. */
    check_text(rep('a', 75, " b"), rep('a', 75, "=\r\n b"));
    /* A '.' that a soft break puts at the start of a line. */
    check_text(rep('a', 75, ".b"), rep('a', 75, "=\r\n=2Eb"));
    check_text(rep('a', 74, ".b"), rep('a', 74, ".=\r\nb"));
}

static void test_binary(void **state)
{
    (void)state;
    check_bin("a\r\nb", "a=0D=0Ab");
    check_bin("\r", "=0D");
    /* 30 NULs: 25 "=00" fill 75 columns, then a soft break. */
    const char *exp = "=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=00=\r\n"
                      "=00=00=00=00=00";
    check_n(0, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 30, exp);
}
static void test_init_flags(void **state)
{
    (void)state;
    mailout_qp e;
    assert_status(MAILOUT_E_INVAL, mailout_qp_init(&e, 2));
    assert_status(MAILOUT_E_INVAL, mailout_qp_init(&e, 0x80000000u));
    assert_status(MAILOUT_OK, mailout_qp_init(&e, 0));
    assert_status(MAILOUT_OK, mailout_qp_init(&e, MAILOUT_QP_TEXT));
}

/* A longer mixed text through the matrix (mostly to cross many cuts). */
static void test_mixed_document(void **state)
{
    (void)state;
    check_text("Subject line. \n"
               ".hidden\r\n"
               "x = y\t\r\n"
               "na\xc3\xafve caf\xc3\xa9\r"
               "end ",
               "Subject line.=20\r\n"
               "=2Ehidden\r\n"
               "x =3D y=09\r\n"
               "na=C3=AFve caf=C3=A9\r\n"
               "end=20");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_text_line_breaks),
        cmocka_unit_test(test_trailing_whitespace),
        cmocka_unit_test(test_dots),
        cmocka_unit_test(test_soft_breaks),
        cmocka_unit_test(test_escape_at_edge),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_init_flags),
        cmocka_unit_test(test_mixed_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
