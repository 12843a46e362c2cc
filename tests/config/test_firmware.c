/*
 * The Cortex-M firmware of examples/cortex-m (firmware.c), run on the host
 * in the configuration it is built with here: the image footprint.sh
 * measures must also send what it claims. FW_MAILOUT=1 composes the
 * message with the message layer; FW_MAILOUT=2 ("raw") hands the engine a
 * message the firmware composed itself, with bare LF line ends and a line
 * that starts with a dot. Every byte the engine gives out is recorded.
 */
#include <stddef.h>
#include <string.h>

static unsigned char fw_wire[16384];
static size_t fw_wire_len;

static void fw_record(const unsigned char *p, size_t n)
{
    if (n > sizeof fw_wire - fw_wire_len)
        n = sizeof fw_wire - fw_wire_len; /* a shorter wire fails the test */
    memcpy(fw_wire + fw_wire_len, p, n);
    fw_wire_len += n;
}

#define FW_CAPTURE(p, n) fw_record((p), (n))
int fw_main(void);   /* firmware.c's main, renamed: it never returns */
#define main fw_main
#include "firmware.c"
#undef main

#include "testutil.h"

static const char envelope[] = "EHLO dev42.example.com\r\n"
                               "MAIL FROM:<dev42@example.com>\r\n"
                               "RCPT TO:<ops@example.com>\r\n"
                               "DATA\r\n";

#if FW_MAILOUT == 2
static void test_firmware_sends(void **state)
{
    (void)state;
    static const char expect[] = "From: Device 42 <dev42@example.com>\r\n"
                                 "To: ops@example.com\r\n"
                                 "Subject: Watchdog reset\r\n"
                                 "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                                 "Message-ID: <42.1@example.com>\r\n"
                                 "\r\n"
                                 "Watchdog reset at uptime 86400 s.\r\n"
                                 "..dot line stuffed by the engine\r\n"
                                 ".\r\n"
                                 "QUIT\r\n";
    char all[1024];
    size_t n = strlen(envelope);
    memcpy(all, envelope, n);
    memcpy(all + n, expect, sizeof expect - 1);
    n += sizeof expect - 1;
    assert_status(MAILOUT_OK, fw_run());
    assert_bytes_equal(all, n, fw_wire, fw_wire_len);
    assert_int_equal(fw_sent_bytes, n);
}
#else
static int count(const char *s)
{
    size_t n = strlen(s);
    int c = 0;
    for (size_t i = 0; i + n <= fw_wire_len; i++)
        c += memcmp(fw_wire + i, s, n) == 0;
    return c;
}

static int has(const char *s)
{
    return count(s) > 0;
}

/* The composed message's exact bytes are the message tests' business:
 * here the envelope, the fields the firmware set, its body and one
 * terminator, then QUIT. */
static void test_firmware_sends(void **state)
{
    (void)state;
    static const char tail[] = "\r\n.\r\nQUIT\r\n";
    assert_status(MAILOUT_OK, fw_run());
    assert_int_equal(fw_sent_bytes, fw_wire_len);
    assert_true(fw_wire_len > sizeof envelope + sizeof tail);
    assert_bytes_equal(envelope, strlen(envelope), fw_wire, strlen(envelope));
    assert_bytes_equal(tail, strlen(tail), fw_wire + fw_wire_len - strlen(tail), strlen(tail));
    assert_true(has("\r\nFrom: \"Device 42\" <dev42@example.com>\r\n"));
    assert_true(has("\r\nSubject: Watchdog reset\r\n"));
    assert_true(has("\r\nMessage-ID: <42.1@example.com>\r\n"));
    assert_true(has("\r\n\r\nDevice 42 restarted after a watchdog reset.\r\n") ||
                has("\r\n\r\nDevice 42 restarted after a watchdog reset.\r\n\r\n--")); /* body text */
    assert_int_equal(count("\r\n.\r\n"), 1);                                        /* one terminator */
#if MAILOUT_ENABLE_MIME
    assert_true(has("filename=log.csv") || has("filename=\"log.csv\""));
    assert_true(has("\r\n0123456789012345678901234567890123456789012345678901234567890123"));
#endif
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firmware_sends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
