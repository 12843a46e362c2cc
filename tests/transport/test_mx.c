/* MX lookup: the answer parser on hand-built DNS messages (preference
 * order, implicit MX, null MX, compression, malformed answers), and the
 * resolver path for a name that cannot exist. */
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "transport/transport_internal.h"

#ifdef MAILOUT_HAVE_MX

typedef struct msg {
    unsigned char b[2048];
    size_t n;
    size_t rdlen_at; /* where the current record's RDLENGTH goes */
} msg;

static void put8(msg *m, unsigned v)
{
    assert_true(m->n < sizeof m->b);
    m->b[m->n++] = (unsigned char)v;
}

static void put16(msg *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xff);
}

/* A name as labels; "" is the root. A trailing "@" label means
 * "compression pointer to offset 12" (the question name). */
static void put_name(msg *m, const char *dotted)
{
    while (*dotted) {
        if (strcmp(dotted, "@") == 0) {
            put16(m, 0xc000 | 12);
            return;
        }
        const char *dot = strchr(dotted, '.');
        size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
        put8(m, (unsigned)len);
        for (size_t i = 0; i < len; i++)
            put8(m, (unsigned char)dotted[i]);
        dotted += len + (dot ? 1 : 0);
    }
    put8(m, 0);
}

/* Header + question for @p domain (its name starts at offset 12). */
static void start(msg *m, const char *domain, unsigned ancount)
{
    memset(m, 0, sizeof *m);
    put16(m, 0x1234); /* id */
    put16(m, 0x8180); /* response, RD, RA, NOERROR */
    put16(m, 1);
    put16(m, ancount);
    put16(m, 0);
    put16(m, 0);
    put_name(m, domain);
    put16(m, 15); /* MX */
    put16(m, 1);  /* IN */
}

static void begin_rr(msg *m, unsigned type)
{
    put16(m, 0xc000 | 12); /* owner: the question name */
    put16(m, type);
    put16(m, 1);
    put16(m, 0);
    put16(m, 300); /* TTL */
    m->rdlen_at = m->n;
    put16(m, 0);
}

static void end_rr(msg *m)
{
    size_t len = m->n - m->rdlen_at - 2;
    m->b[m->rdlen_at] = (unsigned char)(len >> 8);
    m->b[m->rdlen_at + 1] = (unsigned char)len;
}

static void add_mx(msg *m, unsigned pref, const char *exchange)
{
    begin_rr(m, 15);
    put16(m, pref);
    put_name(m, exchange);
    end_rr(m);
}

static char hosts[8][256];

static void test_preference_order(void **state)
{
    (void)state;
    msg m;
    size_t count = 99;
    start(&m, "example.com", 4);
    add_mx(&m, 20, "mx3.example.com");
    add_mx(&m, 10, "mx1.example.com");
    add_mx(&m, 30, "backup.example.net");
    add_mx(&m, 10, "mx2.example.com");
    assert_status(MAILOUT_OK, mailout_mx_parse(m.b, m.n, "example.com", hosts, 8, &count));
    assert_int_equal(count, 4);
    assert_string_equal(hosts[0], "mx1.example.com"); /* equal preference: answer order */
    assert_string_equal(hosts[1], "mx2.example.com");
    assert_string_equal(hosts[2], "mx3.example.com");
    assert_string_equal(hosts[3], "backup.example.net");

    /* only room for two: the two best */
    memset(hosts, 'X', sizeof hosts);
    assert_status(MAILOUT_OK, mailout_mx_parse(m.b, m.n, "example.com", hosts, 2, &count));
    assert_int_equal(count, 2);
    assert_string_equal(hosts[0], "mx1.example.com");
    assert_string_equal(hosts[1], "mx2.example.com");
    assert_int_equal(hosts[2][0], 'X'); /* nothing written past max */
}

static void test_compressed_names(void **state)
{
    (void)state;
    msg m;
    size_t count;
    start(&m, "example.org", 2);
    add_mx(&m, 5, "mail.@");
    add_mx(&m, 1, "@"); /* the domain itself as exchange */
    assert_status(MAILOUT_OK, mailout_mx_parse(m.b, m.n, "example.org", hosts, 8, &count));
    assert_int_equal(count, 2);
    assert_string_equal(hosts[0], "example.org");
    assert_string_equal(hosts[1], "mail.example.org");
}

static void test_implicit_mx(void **state)
{
    (void)state;
    msg m;
    size_t count;
    start(&m, "example.com", 0);
    assert_status(MAILOUT_OK, mailout_mx_parse(m.b, m.n, "example.com", hosts, 8, &count));
    assert_int_equal(count, 1);
    assert_string_equal(hosts[0], "example.com");

    /* only a CNAME in the answer: still no MX */
    start(&m, "alias.example.com", 1);
    begin_rr(&m, 5);
    put_name(&m, "real.example.com");
    end_rr(&m);
    assert_status(MAILOUT_OK, mailout_mx_parse(m.b, m.n, "alias.example.com", hosts, 8, &count));
    assert_int_equal(count, 1);
    assert_string_equal(hosts[0], "alias.example.com");

    /* a CNAME, then the MX of its target */
    start(&m, "alias.example.com", 2);
    begin_rr(&m, 5);
    put_name(&m, "real.example.com");
    end_rr(&m);
    add_mx(&m, 10, "mx.real.example.com");
    assert_status(MAILOUT_OK, mailout_mx_parse(m.b, m.n, "alias.example.com", hosts, 8, &count));
    assert_int_equal(count, 1);
    assert_string_equal(hosts[0], "mx.real.example.com");

    /* implicit MX of a name too long for the caller's buffers */
    static char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    start(&m, "example.com", 0);
    assert_status(MAILOUT_E_LIMIT, mailout_mx_parse(m.b, m.n, longname, hosts, 8, &count));
}

static void test_null_mx(void **state)
{
    (void)state;
    msg m;
    size_t count = 7;
    start(&m, "nomail.example", 1);
    add_mx(&m, 0, ""); /* RFC 7505 */
    assert_status(MAILOUT_E_RESOLVE, mailout_mx_parse(m.b, m.n, "nomail.example", hosts, 8, &count));
    assert_int_equal(count, 0);

    /* null MX next to a real one: refused as well */
    start(&m, "nomail.example", 2);
    add_mx(&m, 10, "mx.nomail.example");
    add_mx(&m, 0, "");
    assert_status(MAILOUT_E_RESOLVE, mailout_mx_parse(m.b, m.n, "nomail.example", hosts, 8, &count));
    assert_int_equal(count, 0);
}

static void test_unusable_names(void **state)
{
    (void)state;
    msg m;
    size_t count;
    start(&m, "example.com", 2);
    add_mx(&m, 1, "bad host.example.com"); /* a space inside a label */
    add_mx(&m, 2, "good.example.com");
    assert_status(MAILOUT_OK, mailout_mx_parse(m.b, m.n, "example.com", hosts, 8, &count));
    assert_int_equal(count, 1);
    assert_string_equal(hosts[0], "good.example.com");

    start(&m, "example.com", 1);
    add_mx(&m, 1, "bad\\x.example.com");
    assert_status(MAILOUT_E_RESOLVE, mailout_mx_parse(m.b, m.n, "example.com", hosts, 8, &count));
    assert_int_equal(count, 0);
}

static void test_malformed(void **state)
{
    (void)state;
    msg m;
    size_t count;
    start(&m, "example.com", 3);
    add_mx(&m, 20, "mx3.example.com");
    add_mx(&m, 10, "mx1.@");
    add_mx(&m, 10, "mx2.example.com");
    /* every truncation: an error or the records that fit, never a crash */
    for (size_t len = 0; len < m.n; len++) {
        unsigned char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, m.b, len);
        mailout_status st = mailout_mx_parse(copy, len, "example.com", hosts, 8, &count);
        assert_status(MAILOUT_E_RESOLVE, st);
        free(copy);
    }
    /* every single-byte change: whatever it means, no crash, and any
     * result is NUL-terminated inside its buffer */
    for (size_t i = 0; i < m.n; i++) {
        msg c = m;
        c.b[i] ^= 0xff;
        if (mailout_mx_parse(c.b, c.n, "example.com", hosts, 8, &count) == MAILOUT_OK) {
            assert_true(count >= 1 && count <= 8);
            for (size_t k = 0; k < count; k++)
                assert_true(memchr(hosts[k], '\0', sizeof hosts[k]) != NULL);
        }
    }
    /* MX record with too short RDATA */
    start(&m, "example.com", 1);
    begin_rr(&m, 15);
    put16(&m, 10);
    end_rr(&m);
    assert_status(MAILOUT_E_RESOLVE, mailout_mx_parse(m.b, m.n, "example.com", hosts, 8, &count));
    /* compression loop: a pointer to itself */
    start(&m, "example.com", 1);
    begin_rr(&m, 15);
    put16(&m, 10);
    put16(&m, 0xc000 | (unsigned)m.n);
    end_rr(&m);
    assert_status(MAILOUT_E_RESOLVE, mailout_mx_parse(m.b, m.n, "example.com", hosts, 8, &count));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    msg m;
    size_t count;
    start(&m, "example.com", 0);
    assert_status(MAILOUT_E_INVAL, mailout_mx_parse(NULL, m.n, "example.com", hosts, 8, &count));
    assert_status(MAILOUT_E_INVAL, mailout_mx_parse(m.b, m.n, NULL, hosts, 8, &count));
    assert_status(MAILOUT_E_INVAL, mailout_mx_parse(m.b, m.n, "example.com", NULL, 8, &count));
    assert_status(MAILOUT_E_INVAL, mailout_mx_parse(m.b, m.n, "example.com", hosts, 0, &count));
    assert_status(MAILOUT_E_INVAL, mailout_mx_parse(m.b, m.n, "example.com", hosts, 8, NULL));
    assert_status(MAILOUT_E_INVAL, mailout_mx_lookup(NULL, hosts, 8, &count));
    assert_status(MAILOUT_E_INVAL, mailout_mx_lookup("", hosts, 8, &count));
    assert_status(MAILOUT_E_INVAL, mailout_mx_lookup("a\r\nb.example", hosts, 8, &count));
    assert_status(MAILOUT_E_INVAL, mailout_mx_lookup("example.com", hosts, 0, &count));
    static char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    assert_status(MAILOUT_E_LIMIT, mailout_mx_lookup(longname, hosts, 8, &count));
}

static void test_lookup_nonexistent(void **state)
{
    (void)state;
    size_t count = 5;
    /* RFC 2606: .invalid never exists. With or without a reachable DNS
     * server the answer is "no". */
    assert_status(MAILOUT_E_RESOLVE, mailout_mx_lookup("nonexistent.invalid", hosts, 8, &count));
    assert_int_equal(count, 0);
}

int main(void)
{
    /* bound the resolver when no DNS server answers (CI without network) */
    setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preference_order),
        cmocka_unit_test(test_compressed_names),
        cmocka_unit_test(test_implicit_mx),
        cmocka_unit_test(test_null_mx),
        cmocka_unit_test(test_unusable_names),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_lookup_nonexistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

static void test_unsupported(void **state)
{
    (void)state;
    char h[1][256];
    size_t count = 3;
    assert_status(MAILOUT_E_UNSUPPORTED, mailout_mx_lookup("example.com", h, 1, &count));
    assert_int_equal(count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
