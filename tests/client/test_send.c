/*
 * mailout_send: connect, one composed message, QUIT, close. Plain against
 * the in-process scripted server; STARTTLS and implicit TLS against the
 * scripted peer (tests/peer/peer.py) with the throw-away test CA
 * (tests/certs/mkcerts.sh), asserting the exact bytes the peer decrypted.
 */
#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctest.h"
#include "peer_run.h"
#include "srv.h"
#include "testutil.h"

#include <mailout/client.h>

typedef struct tls_fx {
    char dir[64];
    char rec[128];
    char certs[512];
    char cafile[600];
    ct_msg msg;
    char *data; /* the message's DATA bytes */
} tls_fx;

static int setup(void **state)
{
    tls_fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/mailout-client-tls-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->rec, sizeof f->rec, "%s/rec", f->dir);
    if (peer_certs_dir(f->certs, sizeof f->certs) != 0) {
        free(f);
        return -1;
    }
    snprintf(f->cafile, sizeof f->cafile, "%s/ca.pem", f->certs);
    ct_msg_make(&f->msg);
    f->data = ct_msg_wire(f->msg.m);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    tls_fx *f = *state;
    char path[192];
    snprintf(path, sizeof path, "%s.json", f->rec);
    unlink(path);
    unlink(f->rec);
    rmdir(f->dir);
    mailout_msg_free(f->msg.m);
    free(f->data);
    free(f);
    return 0;
}

/* JSON string body for @p s (only what our messages contain). */
static void json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 8 < cap; s++) {
        if (*s == '\r') {
            o += (size_t)snprintf(out + o, cap - o, "\\r");
        } else if (*s == '\n') {
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        } else if (*s == '"' || *s == '\\') {
            out[o++] = '\\';
            out[o++] = *s;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

/* The SMTP part of a session after the (second) EHLO. */
static void script_mail(char *out, size_t cap, const char *data)
{
    char esc[16384];
    json_escape(esc, sizeof esc, data);
    snprintf(out, cap,
             "{\"expect_line\": \"MAIL FROM:<a@x.test>\\r\\n\", \"reply\": \"250 2.1.0 ok\\r\\n\"},"
             "{\"expect_line\": \"RCPT TO:<b@y.test>\\r\\n\", \"reply\": \"250 2.1.5 ok\\r\\n\"},"
             "{\"expect_line\": \"DATA\\r\\n\", \"reply\": \"354 go\\r\\n\"},"
             "{\"expect_data\": true, \"data\": \"%s\", \"reply\": \"250 2.0.0 queued\\r\\n\"},"
             "{\"expect_line\": \"QUIT\\r\\n\", \"reply\": \"221 bye\\r\\n\"},"
             "{\"expect_eof\": true}",
             esc);
}

static mailout_client_config tls_config(const tls_fx *f, unsigned short port, mailout_tls_policy pol)
{
    mailout_client_config cc;
    memset(&cc, 0, sizeof cc);
    cc.host = "localhost";
    cc.family = 4; /* the peer listens on 127.0.0.1 */
    cc.port = port;
    cc.connect_timeout_ms = 5000;
    cc.smtp.ehlo_name = "client.test";
    cc.smtp.tls = pol;
    cc.smtp.timeout_ms = 10000;
    cc.tls.ca_file = f->cafile;
    return cc;
}

static char *record(const tls_fx *f, long *len)
{
    char *buf = malloc(65536);
    assert_non_null(buf);
    *len = peer_read_file(f->rec, buf, 65536);
    assert_true(*len >= 0);
    return buf;
}

static void expect_record(const tls_fx *f, const char *prefix, const char *suffix)
{
    long len;
    char *got = record(f, &len);
    char *exp = malloc(strlen(prefix) + strlen(f->data) + strlen(suffix) + 1);
    assert_non_null(exp);
    strcpy(exp, prefix);
    strcat(exp, f->data);
    strcat(exp, suffix);
    assert_bytes_equal(exp, strlen(exp), got, (size_t)len);
    free(exp);
    free(got);
}

static void wait_peer_ok(peer_handle *h)
{
    int st = -1;
    assert_int_equal(peer_wait(h, &st), 0);
    assert_int_equal(st, PEER_EXIT_OK);
}

static void test_send_success(void **state)
{
    srv s;
    ct_msg fx;
    mailout_client_config cc;
    mailout_result res;
    char *data, *exp;
    (void)state;

    ct_msg_make(&fx);
    data = ct_msg_wire(fx.m);
    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 10000), 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    memset(&cc, 0, sizeof cc);
    cc.host = "127.0.0.1";
    cc.port = s.port;
    cc.smtp.tls = MAILOUT_TLS_NONE;
    cc.smtp.ehlo_name = "client.test";
    assert_status(MAILOUT_OK, mailout_send(&cc, fx.m, &res));
    assert_status(MAILOUT_OK, res.status);
    assert_int_equal(res.rcpt_ok, 1);
    assert_int_equal(res.reply.code, 250);
    srv_join(&s);
    exp = calloc(1, strlen(data) + 256);
    strcpy(exp, "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
    strcat(exp, data);
    strcat(exp, "QUIT\r\n");
    assert_bytes_equal(exp, strlen(exp), s.log, s.log_len);
    free(exp);
    free(data);
    srv_free(&s);
    mailout_msg_free(fx.m);
}

/* Without ehlo_name the socket's own name is used: a literal for 127.0.0.1
 * or the host's FQDN; either way a well-formed EHLO line. */
static void test_send_derives_ehlo_name(void **state)
{
    srv s;
    ct_msg fx;
    mailout_client_config cc;
    mailout_result res;
    (void)state;

    ct_msg_make(&fx);
    assert_int_equal(srv_tcp_listen(&s, "220 srv.test ESMTP\r\n", 10000), 0);
    srv_rules_plain(&s);
    assert_int_equal(srv_tcp_start(&s), 0);
    memset(&cc, 0, sizeof cc);
    cc.host = "127.0.0.1";
    cc.port = s.port;
    cc.smtp.tls = MAILOUT_TLS_NONE;
    assert_status(MAILOUT_OK, mailout_send(&cc, fx.m, &res));
    srv_join(&s);
    assert_true(s.log_len > 7);
    assert_memory_equal(s.log, "EHLO ", 5);
    assert_true(s.log[5] != '\r' && s.log[5] != ' ');
    srv_free(&s);
    mailout_msg_free(fx.m);
}

static void test_send_refused(void **state)
{
    ct_msg fx;
    mailout_client_config cc;
    mailout_result res;
    (void)state;

    ct_msg_make(&fx);
    memset(&cc, 0, sizeof cc);
    cc.host = "127.0.0.1";
    cc.port = srv_closed_port();
    cc.smtp.tls = MAILOUT_TLS_NONE;
    cc.connect_timeout_ms = 2000;
    assert_status(MAILOUT_E_CONNECT, mailout_send(&cc, fx.m, &res));
    assert_status(MAILOUT_E_CONNECT, res.status);
    assert_int_equal(res.stage, MAILOUT_STAGE_CONNECT);
    assert_int_equal(res.reply.code, 0);
    mailout_msg_free(fx.m);
}

static void test_send_invalid(void **state)
{
    ct_msg fx;
    mailout_client_config cc;
    mailout_result res;
    mailout_allocator heap = mailout_heap_allocator();
    mailout_msg *empty = NULL;
    (void)state;

    ct_msg_make(&fx);
    memset(&cc, 0, sizeof cc);
    assert_status(MAILOUT_E_INVAL, mailout_send(&cc, fx.m, &res)); /* no host */
    assert_status(MAILOUT_E_INVAL, res.status);
    assert_status(MAILOUT_E_INVAL, mailout_send(NULL, fx.m, &res));
    assert_status(MAILOUT_E_INVAL, mailout_send(&cc, fx.m, NULL));
    cc.host = "127.0.0.1";
    cc.port = srv_closed_port();
    assert_status(MAILOUT_E_INVAL, mailout_send(&cc, NULL, &res));
    /* no sender, no recipient: refused before connecting (else E_CONNECT) */
    assert_status(MAILOUT_OK, mailout_msg_new(&empty, &heap));
    assert_status(MAILOUT_E_STATE, mailout_send(&cc, empty, &res));
    assert_status(MAILOUT_E_STATE, res.status);
    assert_int_equal(res.stage, MAILOUT_STAGE_NONE);
    mailout_msg_free(empty);
    mailout_msg_free(fx.m);
}

/* issue 4: a message through STARTTLS, the peer received it exactly */
static void test_send_starttls(void **state)
{
    tls_fx *f = *state;
    static char script[32768];
    char mail[24576];
    peer_handle h;
    unsigned short port;
    mailout_client_config cc;
    mailout_result res;

    script_mail(mail, sizeof mail, f->data);
    snprintf(script, sizeof script,
             "[{\"send\": \"220 peer ESMTP\\r\\n\"},"
             "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": \"250-peer\\r\\n250 STARTTLS\\r\\n\"},"
             "{\"expect_line\": \"STARTTLS\\r\\n\", \"reply\": \"220 2.0.0 go\\r\\n\"},"
             "{\"starttls\": true, \"expect_sni\": \"localhost\"},"
             "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": \"250 peer\\r\\n\"},"
             "%s]",
             mail);
    assert_int_equal(peer_start_script(script, f->rec, &port, &h), 0);
    cc = tls_config(f, port, MAILOUT_TLS_REQUIRED);
    assert_status(MAILOUT_OK, mailout_send(&cc, f->msg.m, &res));
    assert_status(MAILOUT_OK, res.status);
    assert_int_equal(res.reply.code, 250);
    wait_peer_ok(&h);
    expect_record(f, "EHLO client.test\r\nSTARTTLS\r\nEHLO client.test\r\nMAIL FROM:<a@x.test>\r\n"
                     "RCPT TO:<b@y.test>\r\nDATA\r\n",
                  "QUIT\r\n");
}

/* issue 4: a message over implicit TLS (port 465 style) */
static void test_send_implicit_tls(void **state)
{
    tls_fx *f = *state;
    static char script[32768];
    char mail[24576];
    peer_handle h;
    unsigned short port;
    mailout_client_config cc;
    mailout_result res;

    script_mail(mail, sizeof mail, f->data);
    snprintf(script, sizeof script,
             "[{\"starttls\": true, \"expect_sni\": \"localhost\"},"
             "{\"send\": \"220 peer ESMTP\\r\\n\"},"
             "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": \"250 peer\\r\\n\"},"
             "%s]",
             mail);
    assert_int_equal(peer_start_script(script, f->rec, &port, &h), 0);
    cc = tls_config(f, port, MAILOUT_TLS_IMPLICIT);
    assert_status(MAILOUT_OK, mailout_send(&cc, f->msg.m, &res));
    assert_status(MAILOUT_OK, res.status);
    wait_peer_ok(&h);
    expect_record(f, "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n", "QUIT\r\n");
}

/* A certificate for another name: the session ends at stage TLS, nothing
 * is sent in the clear after STARTTLS. */
static void test_send_starttls_wrong_host(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    mailout_client_config cc;
    mailout_result res;
    long len;
    char *got;
    static const char exp[] = "EHLO client.test\r\nSTARTTLS\r\n";

    assert_int_equal(peer_start_script("[{\"send\": \"220 peer ESMTP\\r\\n\"},"
                                       "{\"expect_line\": \"EHLO client.test\\r\\n\", \"reply\": "
                                       "\"250-peer\\r\\n250 STARTTLS\\r\\n\"},"
                                       "{\"expect_line\": \"STARTTLS\\r\\n\", \"reply\": \"220 go\\r\\n\"},"
                                       "{\"starttls\": true, \"cert\": \"wronghost\", \"handshake\": \"fail\"},"
                                       "{\"expect_eof\": true}]",
                                       f->rec, &port, &h),
                     0);
    cc = tls_config(f, port, MAILOUT_TLS_REQUIRED);
    assert_status(MAILOUT_E_TLS_HOSTNAME, mailout_send(&cc, f->msg.m, &res));
    assert_status(MAILOUT_E_TLS_HOSTNAME, res.status);
    assert_int_equal(res.stage, MAILOUT_STAGE_TLS);
    wait_peer_ok(&h);
    got = record(f, &len);
    assert_bytes_equal(exp, sizeof exp - 1, got, (size_t)len);
    free(got);
}

/* Implicit TLS to a server that speaks plaintext SMTP: a handshake
 * failure, no SMTP byte. */
static void test_send_implicit_to_plaintext(void **state)
{
    tls_fx *f = *state;
    peer_handle h;
    unsigned short port;
    mailout_client_config cc;
    mailout_result res;
    mailout_status r;

    assert_int_equal(peer_start_script("[{\"send\": \"220 peer ESMTP\\r\\n\"}, {\"read_all\": true}]", f->rec,
                                       &port, &h),
                     0);
    cc = tls_config(f, port, MAILOUT_TLS_IMPLICIT);
    r = mailout_send(&cc, f->msg.m, &res);
    assert_status(MAILOUT_E_TLS_HANDSHAKE, r);
    assert_int_equal(res.stage, MAILOUT_STAGE_TLS);
    wait_peer_ok(&h);
    {
        long len;
        char *got = record(f, &len);
        /* only the ClientHello (a TLS record), never an EHLO */
        assert_true(len > 0);
        assert_int_equal((unsigned char)got[0], 0x16);
        assert_null(memmem(got, (size_t)len, "EHLO", 4));
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_success),
        cmocka_unit_test(test_send_derives_ehlo_name),
        cmocka_unit_test(test_send_refused),
        cmocka_unit_test(test_send_invalid),
        cmocka_unit_test_setup_teardown(test_send_starttls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_implicit_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_starttls_wrong_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_implicit_to_plaintext, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
