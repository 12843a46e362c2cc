/* The options object: validation with exact codes, nothing changed on
 * failure, memory exhaustion, freezing, read_start preconditions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgtest.h"

#define OUTCAP 65536

static size_t render(mailout_msg *m, unsigned char *out)
{
    size_t len = 0;
    assert_status(MAILOUT_DONE, msgtest_read_flags(m, 0, 0, out, OUTCAP, &len));
    return len;
}

static int contains(const unsigned char *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0)
            return 1;
    return 0;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- lifetime ------------------------------------------------------------------- */

static void test_new_args(void **state)
{
    (void)state;
    mailout_msg *m = (mailout_msg *)1;
    mailout_allocator al = mailout_heap_allocator(), none = {NULL, NULL, NULL};
    assert_status(MAILOUT_E_INVAL, mailout_msg_new(NULL, &al));
    assert_status(MAILOUT_E_INVAL, mailout_msg_new(&m, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_msg_new(&m, &none));
    assert_ptr_equal(m, (mailout_msg *)1);

    unsigned char small[64];
    mailout_arena arena;
    mailout_arena_init(&arena, small, sizeof small);
    mailout_allocator aa = mailout_arena_allocator(&arena);
    assert_status(MAILOUT_E_NOMEM, mailout_msg_new(&m, &aa));
    assert_ptr_equal(m, (mailout_msg *)1);
    mailout_msg_free(NULL);
}

/* ---- addresses ------------------------------------------------------------------- */

static void test_addresses(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    char *local65 = repeat('l', 65), *local64 = repeat('l', 64);
    char long_ok[300], long_bad[300];
    /* 64 + 1 + 189 = 254 */
    snprintf(long_ok, sizeof long_ok, "%s@%s", local64, "d");
    memset(long_ok + 66, 'd', 188);
    for (size_t i = 125; i < 254; i += 61) /* labels of at most 63 octets */
        long_ok[i] = '.';
    long_ok[254] = '\0';
    strcpy(long_bad, long_ok);
    strcat(long_bad, "d");
    char l65[80];
    snprintf(l65, sizeof l65, "%s@example.com", local65);

    const char *bad[] = {"",         "noat",       "a b@c",      "a@b c",    "<a@b>",          "a@b>",
                         "a\r\n@b",  "a@",         "@b",         ".a@b",     "a..b@c",         "a.@b",
                         "a@b..c",   "a@.b",       "a@[1.2.3.4", "a\x7f@b",  "a@b\n",          "\xff@b",
                         "a@b\r\nRCPT TO:<x@y>", "a\t@b", "a,b@c", "a@b@", "a\"b@c", "a@[]", l65, long_bad,
                         /* '<' '>' ' ' '_' '\\' in a literal (fuzzer find: "MAIL FROM:<a@[x>SIZE=1]>") */
                         "a@[x>SIZE=1]", "a@[<]", "a@[1.2.3.4 ]", "a@[a_b]", "a@[a\\b]", "a@[a]b]",
                         /* the engine's rule (mailout_addr_ok): no '_' in a domain (RFC 5321
                          * sub-domain), quoted local parts whole and without '<' '>' */
                         "a@b_c.d", "\"ab@c", "\"a\"b\"@c", "\"a<b\"@c", "\"a>b\"@c", "\"a\\\"@c",
                         "\"a\tb\"@c",
                         /* escaped '<' '>' end a lax server's path all the same; encoded-words
                          * in an addr-spec (RFC 2047 §5: readers decode them anyway);
                          * sub-domain = Let-dig [Ldh-str], at most 63 octets; "" reads as
                          * an empty local part; quoted-pairSMTP is %d32-126 (review finds) */
                         "\"a\\>b\"@c", "\"\\<\"@c", "\"a\\> SIZE=1\"@c", "\"=?utf-8?q?a=3E_b?=\"@example.org",
                         "=?utf-8?q?x=0D=0Ay?=@example.org", "a@-b.example", "a@b-.example", "a@b.-c",
                         "a@0123456789012345678901234567890123456789012345678901234567890123.example",
                         "\"a\\\xc3\xa9\"@c", "\"\"@example.org"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mailout_msg_set_from(m, bad[i], NULL) != MAILOUT_E_ADDRESS)
            fail_msg("address %zu \"%s\" not rejected", i, testutil_escape(bad[i], strlen(bad[i])));
        assert_status(MAILOUT_E_ADDRESS, mailout_msg_add_recipient(m, MAILOUT_CC, bad[i], NULL));
        assert_status(MAILOUT_E_ADDRESS, mailout_msg_set_reply_to(m, bad[i], NULL));
    }
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_from(m, NULL, NULL));
    assert_int_equal(mailout_msg_recipient_count(m), 1);
    assert_string_equal(mailout_msg_envelope_from(m), "a@example.com");

    const char *good[] = {"a@b", "user+tag@example.com", "a.b.c@example.com", "x@[127.0.0.1]", "zo\xc3\xab@example.com",
                          "x@[IPv6:2001:db8::1]",
                          "o'brien@example.com", "\"a b\"@example.org", "\"a@b\\\"c\"@example.org", long_ok};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_CC, good[i], NULL));
    assert_int_equal(mailout_msg_recipient_count(m), 1 + sizeof good / sizeof good[0]);
    assert_string_equal(mailout_msg_recipient(m, 4), "x@[127.0.0.1]");
    assert_null(mailout_msg_recipient(m, 99));
    assert_int_equal(mailout_msg_needs_smtputf8(m), 1);
    free(local65);
    free(local64);
    mailout_msg_free(m);
}

static void test_envelope_from(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    assert_int_equal(mailout_msg_needs_smtputf8(m), 0);
    assert_status(MAILOUT_E_ADDRESS, mailout_msg_set_envelope_from(m, "a b@c"));
    assert_string_equal(mailout_msg_envelope_from(m), "a@example.com");
    assert_status(MAILOUT_OK, mailout_msg_set_envelope_from(m, ""));
    assert_string_equal(mailout_msg_envelope_from(m), "");
    assert_status(MAILOUT_OK, mailout_msg_set_envelope_from(m, "bounce@example.org"));
    assert_string_equal(mailout_msg_envelope_from(m), "bounce@example.org");
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_envelope_from(m, NULL));
    mailout_msg_free(m);
}

static void test_display_names(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    char *n128 = repeat('n', 128), *n129 = repeat('n', 129);
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_from(m, "x@example.com", "Evil\r\nBcc: x@y"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_from(m, "x@example.com", "Evil\n"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_from(m, "x@example.com", "Evil\r"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_from(m, "x@example.com", "tab\there"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_from(m, "x@example.com", "del\x7f"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_from(m, "x@example.com", "esc\x1b[0m"));
    assert_status(MAILOUT_E_UTF8, mailout_msg_set_from(m, "x@example.com", "bad \xc3\x28"));
    assert_status(MAILOUT_E_UTF8, mailout_msg_set_from(m, "x@example.com", "overlong \xc0\xaf"));
    assert_status(MAILOUT_E_UTF8, mailout_msg_set_from(m, "x@example.com", "surrogate \xed\xa0\x80"));
    assert_status(MAILOUT_E_UTF8, mailout_msg_set_from(m, "x@example.com", "truncated \xe2\x82"));
    assert_status(MAILOUT_E_LIMIT, mailout_msg_set_from(m, "x@example.com", n129));
    assert_status(MAILOUT_E_HEADER, mailout_msg_add_recipient(m, MAILOUT_TO, "c@example.com", "x\r\ny"));
    assert_int_equal(mailout_msg_recipient_count(m), 1);
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "x@example.com", n128));
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "x@example.com", "J\xc3\xb6rg \xf0\x9f\x98\x80"));
    assert_string_equal(mailout_msg_envelope_from(m), "x@example.com");
    free(n128);
    free(n129);
    mailout_msg_free(m);
}

static void test_recipient_limit_and_bcc(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    static unsigned char out[OUTCAP];
    mailout_msg *m = msgtest_basic(&te, &env);
    char addr[32];
    assert_status(MAILOUT_E_INVAL, mailout_msg_add_recipient(m, (mailout_rcpt_kind)3, "c@example.com", NULL));
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_BCC, "hidden@secret.example", "Hidden Person"));
    for (unsigned i = 2; i < MAILOUT_MAX_RECIPIENTS; i++) {
        snprintf(addr, sizeof addr, "r%u@example.com", i);
        assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, i % 3 ? MAILOUT_CC : MAILOUT_BCC, addr, NULL));
    }
    assert_int_equal(mailout_msg_recipient_count(m), MAILOUT_MAX_RECIPIENTS);
    assert_status(MAILOUT_E_LIMIT, mailout_msg_add_recipient(m, MAILOUT_TO, "one@too.many", NULL));
    assert_int_equal(mailout_msg_recipient_count(m), MAILOUT_MAX_RECIPIENTS);
    assert_string_equal(mailout_msg_recipient(m, 1), "hidden@secret.example");

    size_t len = render(m, out);
    assert_false(contains(out, len, "hidden"));
    assert_false(contains(out, len, "Hidden"));
    assert_false(contains(out, len, "Bcc"));
    assert_false(contains(out, len, "r3@example.com")); /* a Bcc */
    assert_true(contains(out, len, "r4@example.com"));  /* a Cc */
    msgtest_assert_lines(out, len, 78);
    mailout_msg_free(m);
}

/* ---- header fields ----------------------------------------------------------------- */

static void test_subject(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    char *max = repeat('s', MAILOUT_MAX_HEADER_VALUE_LEN), *over = repeat('s', MAILOUT_MAX_HEADER_VALUE_LEN + 1);
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_subject(m, "x\r\nBcc: evil@x"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_subject(m, "x\nBcc: evil@x"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_subject(m, "x\rBcc: evil@x"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_set_subject(m, "bell\a"));
    assert_status(MAILOUT_E_UTF8, mailout_msg_set_subject(m, "latin1 \xe9t\xe9"));
    assert_status(MAILOUT_E_LIMIT, mailout_msg_set_subject(m, over));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_subject(m, NULL));
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, max));
    assert_status(MAILOUT_OK, mailout_msg_set_subject(m, "with\ttab"));
    free(max);
    free(over);
    mailout_msg_free(m);
}

static void test_custom_headers(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    char *n76 = repeat('N', 76), *n77 = repeat('N', 77);
    const char *bad_names[] = {"X Bad", "X:Bad", "X-\r\nBcc", "\xc3\x84", "", "--=_x", "X\x7f"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        assert_status(MAILOUT_E_HEADER, mailout_msg_add_header(m, bad_names[i], "v"));
    const char *owned[] = {"From", "to", "CC", "bcc", "Sender", "reply-to", "SUBJECT", "Date", "message-id",
                           "Mime-Version", "Content-Type", "content-transfer-encoding", "Content-X"};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        assert_status(MAILOUT_E_HEADER, mailout_msg_add_header(m, owned[i], "v"));
    assert_status(MAILOUT_E_LIMIT, mailout_msg_add_header(m, n77, "v"));
    assert_status(MAILOUT_E_INVAL, mailout_msg_add_header(m, NULL, "v"));
    assert_status(MAILOUT_E_INVAL, mailout_msg_add_header(m, "X-A", NULL));
    assert_status(MAILOUT_E_HEADER, mailout_msg_add_header(m, "X-A", "a\r\nBcc: x@y"));
    assert_status(MAILOUT_E_HEADER, mailout_msg_add_header(m, "X-A", "a\n"));
    assert_status(MAILOUT_OK, mailout_msg_add_header(m, n76, "v"));
    assert_status(MAILOUT_OK, mailout_msg_add_header(m, "Contents", "not a Content- field"));
    for (unsigned i = 2; i < MAILOUT_MAX_HEADERS; i++)
        assert_status(MAILOUT_OK, mailout_msg_add_header(m, "X-Many", "v"));
    assert_status(MAILOUT_E_LIMIT, mailout_msg_add_header(m, "X-One-More", "v"));
    free(n76);
    free(n77);
    mailout_msg_free(m);
}

static void test_date_id_dsn(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_date(m, 0, 1440));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_date(m, 0, -1440));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_date(m, 253402300800LL, 0));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_date(m, -2208988801LL, 0));
    assert_status(MAILOUT_OK, mailout_msg_set_date(m, 0, -1439));

    const char *bad_ids[] = {"a@b", "<a b@c>", "<a@b>\r\n", "<ab>", "<@b>", "<a@>", "<a@b@c>", "<a<b@c>", "<>"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        assert_status(MAILOUT_E_HEADER, mailout_msg_set_message_id(m, bad_ids[i]));
    }
    assert_status(MAILOUT_OK, mailout_msg_set_message_id(m, "<x.1@example.com>"));

    unsigned notify = 99;
    mailout_dsn_ret ret = MAILOUT_DSN_RET_FULL;
    const char *envid = "x";
    mailout_msg_dsn(m, &notify, &ret, &envid);
    assert_int_equal(notify, 0);
    assert_null(envid);
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_dsn(m, 0, MAILOUT_DSN_RET_DEFAULT, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_dsn(m, MAILOUT_NOTIFY_NEVER | MAILOUT_NOTIFY_SUCCESS, 0, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_dsn(m, 16, 0, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_dsn(m, MAILOUT_NOTIFY_SUCCESS, (mailout_dsn_ret)3, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_dsn(m, MAILOUT_NOTIFY_SUCCESS, 0, "a+b"));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_dsn(m, MAILOUT_NOTIFY_SUCCESS, 0, "a b"));
    assert_status(MAILOUT_E_INVAL, mailout_msg_set_dsn(m, MAILOUT_NOTIFY_SUCCESS, 0, "a\r\n"));
    mailout_msg_dsn(m, &notify, &ret, &envid);
    assert_int_equal(notify, 0);
    assert_status(MAILOUT_OK, mailout_msg_set_dsn(m, MAILOUT_NOTIFY_SUCCESS | MAILOUT_NOTIFY_FAILURE,
                                                  MAILOUT_DSN_RET_HDRS, "env-1"));
    mailout_msg_dsn(m, &notify, &ret, &envid);
    assert_int_equal(notify, MAILOUT_NOTIFY_SUCCESS | MAILOUT_NOTIFY_FAILURE);
    assert_int_equal(ret, MAILOUT_DSN_RET_HDRS);
    assert_string_equal(envid, "env-1");
    mailout_msg_free(m);
}

/* ---- parts ------------------------------------------------------------------------- */

static void test_part_setters(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env), *other = msgtest_basic(&te, &env);
    mailout_part *root, *leaf, *p, *foreign;
    char *t128 = repeat('t', MAILOUT_MAX_MEDIA_TYPE_LEN + 1), *f256 = repeat('f', 256);
    memcpy(t128, "tex/", 4);
    assert_status(MAILOUT_E_INVAL, mailout_part_new_multipart(m, NULL, (mailout_multipart_kind)7, &root));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
    assert_status(MAILOUT_E_STATE, mailout_part_new(m, NULL, &p));
    assert_status(MAILOUT_E_STATE, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &p));
    assert_status(MAILOUT_OK, mailout_part_new(m, root, &leaf));
    assert_status(MAILOUT_E_INVAL, mailout_part_new(m, leaf, &p));
    assert_status(MAILOUT_OK, mailout_part_new(other, NULL, &foreign));
    assert_status(MAILOUT_E_INVAL, mailout_part_new(m, foreign, &p));
    assert_status(MAILOUT_E_INVAL, mailout_part_new(m, root, NULL));

    assert_status(MAILOUT_E_HEADER, mailout_part_set_type(leaf, "text/plain; charset=\"x\"\r\nBcc: y"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_type(leaf, "text/plain; charset=x"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_type(leaf, "text"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_type(leaf, "/plain"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_type(leaf, "text/"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_type(leaf, "multipart/mixed"));
    assert_status(MAILOUT_E_LIMIT, mailout_part_set_type(leaf, t128));
    t128[MAILOUT_MAX_MEDIA_TYPE_LEN] = '\0';
    assert_status(MAILOUT_OK, mailout_part_set_type(leaf, t128));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_charset(leaf, "utf-8\"; x="));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_charset(leaf, ""));
    assert_status(MAILOUT_OK, mailout_part_set_charset(leaf, "iso-8859-1"));

    assert_status(MAILOUT_E_HEADER, mailout_part_set_filename(leaf, "a\r\nX: y.txt"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_filename(leaf, "dir/"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_filename(leaf, "/x/.."));
    assert_status(MAILOUT_E_UTF8, mailout_part_set_filename(leaf, "caf\xe9.txt"));
    assert_status(MAILOUT_E_LIMIT, mailout_part_set_filename(leaf, f256));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_filename(leaf, NULL));
    f256[255] = '\0';
    assert_status(MAILOUT_OK, mailout_part_set_filename(leaf, f256));
    assert_status(MAILOUT_OK, mailout_part_set_filename(leaf, "../../etc/passwd"));
    assert_status(MAILOUT_E_HEADER, mailout_part_set_content_id(leaf, "no-brackets@x"));
    assert_status(MAILOUT_OK, mailout_part_set_content_id(leaf, "<img1@example.com>"));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_encoding(leaf, (mailout_encoding)9));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_disposition(leaf, (mailout_disposition)9));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_data(leaf, NULL, 1));
    assert_status(MAILOUT_OK, mailout_part_set_data(leaf, NULL, 0));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_producer(leaf, NULL, NULL, NULL, 0));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_file(leaf, ""));
    assert_status(MAILOUT_E_HEADER, mailout_part_add_header(leaf, "Content-Type", "x/y"));
    assert_status(MAILOUT_OK, mailout_part_add_header(leaf, "X-Part", "yes"));

    /* leaf-only setters on a multipart */
    assert_status(MAILOUT_E_INVAL, mailout_part_set_data(root, "x", 1));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_type(root, "text/plain"));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_filename(root, "x"));
    assert_status(MAILOUT_E_INVAL, mailout_part_set_encoding(root, MAILOUT_ENC_BASE64));
    assert_status(MAILOUT_OK, mailout_part_add_header(root, "X-Root", "yes"));

    static unsigned char out[OUTCAP];
    size_t len = render(m, out);
    assert_true(contains(out, len, "filename=\"passwd\""));
    assert_false(contains(out, len, "etc"));
    assert_true(contains(out, len, "Content-ID: <img1@example.com>\r\n"));
    assert_true(contains(out, len, "; charset=iso-8859-1\r\n") == 0); /* the type is not text/ */
    free(t128);
    free(f256);
    mailout_msg_free(m);
    mailout_msg_free(other);
}

static void test_nesting_limit(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env;
    mailout_msg *m = msgtest_basic(&te, &env);
    mailout_part *p = NULL, *q, *leaf;
    for (unsigned d = 1; d <= MAILOUT_MAX_DEPTH; d++) {
        assert_status(MAILOUT_OK, mailout_part_new_multipart(m, p, MAILOUT_MULTIPART_MIXED, &q));
        p = q;
    }
    assert_status(MAILOUT_E_LIMIT, mailout_part_new_multipart(m, p, MAILOUT_MULTIPART_MIXED, &q));
    /* a leaf in the deepest multipart is fine */
    assert_status(MAILOUT_OK, mailout_part_new(m, p, &leaf));
    assert_status(MAILOUT_OK, mailout_part_set_data(leaf, "deep\r\n", 6));
    static unsigned char out[OUTCAP];
    size_t len = render(m, out);
    msgtest_assert_lines(out, len, 78);
    mailout_msg_free(m);
}

/* ---- read_start preconditions and freezing ---------------------------------------- */

static void test_read_start_preconditions(void **state)
{
    (void)state;
    testutil_env te;
    mailout_env env = testutil_env_init(&te), no_clock = env, no_random = env;
    mailout_allocator al = mailout_heap_allocator();
    mailout_msg *m;
    mailout_part *root;
    no_clock.now = NULL;
    no_random.random = NULL;

    assert_status(MAILOUT_OK, mailout_msg_new(&m, &al));
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
    assert_status(MAILOUT_E_STATE, mailout_msg_read_start(m, 0)); /* no From */
    assert_status(MAILOUT_OK, mailout_msg_set_from(m, "a@example.com", NULL));
    assert_status(MAILOUT_E_STATE, mailout_msg_read_start(m, 0)); /* no recipient */
    assert_status(MAILOUT_OK, mailout_msg_add_recipient(m, MAILOUT_BCC, "b@example.com", NULL));
    assert_status(MAILOUT_E_INVAL, mailout_msg_read_start(m, 4));
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &no_clock));
    assert_status(MAILOUT_E_STATE, mailout_msg_read_start(m, 0)); /* no clock, no date */
    assert_status(MAILOUT_OK, mailout_msg_set_date(m, 1000000000, 60));
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &no_random));
    assert_status(MAILOUT_E_STATE, mailout_msg_read_start(m, 0)); /* no randomness, no Message-ID */
    assert_status(MAILOUT_OK, mailout_msg_set_message_id(m, "<1@example.com>"));
    assert_status(MAILOUT_OK, mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &root));
    assert_status(MAILOUT_E_STATE, mailout_msg_read_start(m, 0)); /* empty multipart */
    mailout_part *leaf;
    assert_status(MAILOUT_OK, mailout_part_new(m, root, &leaf));
    assert_status(MAILOUT_E_STATE, mailout_msg_read_start(m, 0)); /* boundary needs randomness */
    unsigned char buf[16];
    size_t n = 7;
    assert_status(MAILOUT_E_STATE, mailout_msg_read(m, buf, sizeof buf, &n));
    assert_int_equal(n, 0);
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
    assert_status(MAILOUT_OK, mailout_msg_read_start(m, 0));
    assert_status(MAILOUT_E_INVAL, mailout_msg_read(m, buf, 0, &n));
    assert_status(MAILOUT_E_INVAL, mailout_msg_read(m, NULL, 1, &n));

    /* frozen */
    assert_status(MAILOUT_E_STATE, mailout_msg_set_env(m, &env));
    assert_status(MAILOUT_E_STATE, mailout_msg_set_from(m, "c@example.com", NULL));
    assert_status(MAILOUT_E_STATE, mailout_msg_set_envelope_from(m, ""));
    assert_status(MAILOUT_E_STATE, mailout_msg_set_reply_to(m, "c@example.com", NULL));
    assert_status(MAILOUT_E_STATE, mailout_msg_add_recipient(m, MAILOUT_TO, "c@example.com", NULL));
    assert_status(MAILOUT_E_STATE, mailout_msg_set_subject(m, "s"));
    assert_status(MAILOUT_E_STATE, mailout_msg_set_date(m, 0, 0));
    assert_status(MAILOUT_E_STATE, mailout_msg_set_message_id(m, "<2@example.com>"));
    assert_status(MAILOUT_E_STATE, mailout_msg_add_header(m, "X-A", "b"));
    assert_status(MAILOUT_E_STATE, mailout_msg_set_dsn(m, MAILOUT_NOTIFY_NEVER, 0, NULL));
    assert_status(MAILOUT_E_STATE, mailout_part_new(m, root, &leaf));
    assert_status(MAILOUT_E_STATE, mailout_part_new_multipart(m, root, MAILOUT_MULTIPART_MIXED, &leaf));
    assert_status(MAILOUT_E_STATE, mailout_part_set_data(leaf, "x", 1));
    assert_status(MAILOUT_E_STATE, mailout_part_set_file(leaf, "x"));
    assert_status(MAILOUT_E_STATE, mailout_part_set_type(leaf, "text/html"));
    assert_status(MAILOUT_E_STATE, mailout_part_set_charset(leaf, "us-ascii"));
    assert_status(MAILOUT_E_STATE, mailout_part_set_disposition(leaf, MAILOUT_INLINE));
    assert_status(MAILOUT_E_STATE, mailout_part_set_filename(leaf, "x"));
    assert_status(MAILOUT_E_STATE, mailout_part_set_content_id(leaf, "<a@b>"));
    assert_status(MAILOUT_E_STATE, mailout_part_set_encoding(leaf, MAILOUT_ENC_QP));
    assert_status(MAILOUT_E_STATE, mailout_part_add_header(leaf, "X-A", "b"));
    mailout_msg_free(m);
}

/* ---- nothing changed on failure ------------------------------------------------------ */

typedef struct ops_ctx {
    mailout_part *root, *alt, *text, *html, *att;
} ops_ctx;

/* Every op allocates; together they cover the setters that copy. */
static mailout_status run_op(mailout_msg *m, ops_ctx *c, unsigned i)
{
    switch (i) {
    case 0: return mailout_msg_set_from(m, "sender@example.com", "S\xc3\xa9nder");
    case 1: return mailout_msg_add_recipient(m, MAILOUT_TO, "to1@example.com", "To One");
    case 2: return mailout_msg_add_recipient(m, MAILOUT_CC, "cc@example.com", NULL);
    case 3: return mailout_msg_add_recipient(m, MAILOUT_BCC, "bcc@example.com", "Secret");
    case 4: return mailout_msg_set_subject(m, "A subject");
    case 5: return mailout_msg_set_subject(m, "Replaced subject \xe2\x82\xac");
    case 6: return mailout_msg_set_reply_to(m, "reply@example.com", "R");
    case 7: return mailout_msg_add_header(m, "X-Mailer", "mailout test");
    case 8: return mailout_msg_set_message_id(m, "<fixed@example.com>");
    case 9: return mailout_msg_set_envelope_from(m, "bounce@example.com");
    case 10: return mailout_msg_set_dsn(m, MAILOUT_NOTIFY_FAILURE, MAILOUT_DSN_RET_HDRS, "ENV1");
    case 11: return mailout_part_new_multipart(m, NULL, MAILOUT_MULTIPART_MIXED, &c->root);
    case 12: return mailout_part_new_multipart(m, c->root, MAILOUT_MULTIPART_ALTERNATIVE, &c->alt);
    case 13: return mailout_part_new(m, c->alt, &c->text);
    case 14: return mailout_part_set_data(c->text, "plain text\r\n", 12);
    case 15: return mailout_part_new(m, c->alt, &c->html);
    case 16: return mailout_part_set_type(c->html, "text/html");
    case 17: return mailout_part_set_data(c->html, "<p>html</p>\r\n", 13);
    case 18: return mailout_part_new(m, c->root, &c->att);
    case 19: return mailout_part_set_type(c->att, "application/pdf");
    case 20: return mailout_part_set_filename(c->att, "r\xc3\xa9sum\xc3\xa9.pdf");
    case 21: return mailout_part_set_charset(c->text, "us-ascii");
    case 22: return mailout_part_add_header(c->att, "X-Att", "1");
    case 23: return mailout_part_set_content_id(c->html, "<h@example.com>");
    case 24: return mailout_part_set_data(c->att, "%PDF", 4);
    case 25: return mailout_msg_add_recipient(m, MAILOUT_TO, "to2@example.com", NULL);
    default: return MAILOUT_E_INTERNAL;
    }
}
#define NOPS 26

/* Build with the failing allocator; rebuild on the heap with only the ops
 * that did not fail for memory; both must read the same bytes. */
static void check_same_as_replay(mailout_msg *m, const int *nomem, testutil_env *te)
{
    static unsigned char a[OUTCAP], b[OUTCAP];
    mailout_allocator heap = mailout_heap_allocator();
    mailout_env env = testutil_env_init(te);
    mailout_msg *r;
    ops_ctx c;
    memset(&c, 0, sizeof c);
    assert_status(MAILOUT_OK, mailout_msg_new(&r, &heap));
    assert_status(MAILOUT_OK, mailout_msg_set_env(r, &env));
    for (unsigned i = 0; i < NOPS; i++)
        if (!nomem[i])
            (void)run_op(r, &c, i);
    /* the same seed for both, so Message-IDs and boundaries match */
    testutil_env_init(te);
    mailout_status sa = mailout_msg_read_start(m, 0);
    testutil_env_init(te);
    mailout_status sb = mailout_msg_read_start(r, 0);
    assert_status(sb, sa);
    if (sa == MAILOUT_OK) {
        size_t la = 0, lb = 0;
        assert_status(MAILOUT_DONE, msgtest_read(m, NULL, 1, a, OUTCAP, &la));
        assert_status(MAILOUT_DONE, msgtest_read(r, NULL, 1, b, OUTCAP, &lb));
        assert_bytes_equal(b, lb, a, la);
    }
    assert_int_equal(mailout_msg_recipient_count(m), mailout_msg_recipient_count(r));
    assert_string_equal(mailout_msg_envelope_from(m) ? mailout_msg_envelope_from(m) : "-",
                        mailout_msg_envelope_from(r) ? mailout_msg_envelope_from(r) : "-");
    mailout_msg_free(r);
}

static void build_and_check(mailout_allocator *al, testutil_env *te, unsigned *failures)
{
    mailout_msg *m;
    mailout_env env;
    ops_ctx c;
    int nomem[NOPS];
    memset(&c, 0, sizeof c);
    if (mailout_msg_new(&m, al) != MAILOUT_OK)
        return;
    env = testutil_env_init(te);
    assert_status(MAILOUT_OK, mailout_msg_set_env(m, &env));
    for (unsigned i = 0; i < NOPS; i++) {
        mailout_status st = run_op(m, &c, i);
        nomem[i] = st == MAILOUT_E_NOMEM;
        *failures += (unsigned)nomem[i];
        if (st != MAILOUT_OK && st != MAILOUT_E_NOMEM && st != MAILOUT_E_INVAL && st != MAILOUT_E_STATE)
            fail_msg("op %u: unexpected %s", i, mailout_errname(st));
    }
    check_same_as_replay(m, nomem, te);
    mailout_msg_free(m);
}

static void test_nomem_arena(void **state)
{
    (void)state;
    static unsigned char pool[16384];
    testutil_env te;
    unsigned failures = 0;
    for (size_t size = 0; size <= sizeof pool; size += 24) {
        mailout_arena arena;
        mailout_arena_init(&arena, pool, size);
        mailout_allocator al = mailout_arena_allocator(&arena);
        build_and_check(&al, &te, &failures);
    }
    assert_true(failures > 20);
}

static void test_nomem_hooks(void **state)
{
    (void)state;
    testutil_env te;
    unsigned failures = 0, total;
    msgtest_alloc ma;
    mailout_allocator al = msgtest_alloc_init(&ma, 0);
    build_and_check(&al, &te, &failures);
    assert_int_equal(failures, 0);
    assert_int_equal(ma.live, 0);
    total = ma.calls;
    for (unsigned k = 1; k <= total; k++) {
        al = msgtest_alloc_init(&ma, k);
        build_and_check(&al, &te, &failures);
        assert_int_equal(ma.live, 0); /* everything given back */
    }
    assert_true(failures >= total - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_args),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_envelope_from),
        cmocka_unit_test(test_display_names),
        cmocka_unit_test(test_recipient_limit_and_bcc),
        cmocka_unit_test(test_subject),
        cmocka_unit_test(test_custom_headers),
        cmocka_unit_test(test_date_id_dsn),
        cmocka_unit_test(test_part_setters),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_read_start_preconditions),
        cmocka_unit_test(test_nomem_arena),
        cmocka_unit_test(test_nomem_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
