/*
 * Self-test of the C launcher for peer.py: start, talk over a raw socket,
 * check the exit status and the record file, deviation, kill, bad script.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the above first */
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "peer_run.h"

typedef struct fixture {
    char dir[64];
    char rec[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f) {
        return -1;
    }
    snprintf(f->dir, sizeof f->dir, "/tmp/mailout-peer-test-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->rec, sizeof f->rec, "%s/rec", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char path[192];
    snprintf(path, sizeof path, "%s/rec.json", f->dir);
    unlink(path);
    unlink(f->rec);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int connect_to(unsigned short port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
}

/* Read until the data ends with "\r\n" (a full reply line). */
static size_t read_reply(int s, char *buf, size_t size)
{
    size_t n = 0;
    while (n < size - 1) {
        ssize_t r = recv(s, buf + n, size - 1 - n, 0);
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
        if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n') {
            break;
        }
    }
    buf[n] = '\0';
    return n;
}

static void send_str(int s, const char *str)
{
    assert_int_equal(send(s, str, strlen(str), MSG_NOSIGNAL), (ssize_t)strlen(str));
}

static const char session[] = "[{\"send\": \"220 hi\\r\\n\"},"
                              " {\"expect\": \"EHLO\", \"reply\": \"250 ok\\r\\n\"},"
                              " {\"expect\": \"QUIT\", \"reply\": \"221 bye\\r\\n\"},"
                              " {\"expect_eof\": true}]";

static void test_session_and_record(void **state)
{
    fixture *f = *state;
    peer_handle h;
    unsigned short port = 0;
    assert_int_equal(peer_start_script(session, f->rec, &port, &h), 0);
    assert_true(port > 0);

    int s = connect_to(port);
    char buf[256];
    read_reply(s, buf, sizeof buf);
    assert_string_equal(buf, "220 hi\r\n");
    send_str(s, "EHLO me\r\n");
    read_reply(s, buf, sizeof buf);
    assert_string_equal(buf, "250 ok\r\n");
    send_str(s, "QUIT\r\n");
    read_reply(s, buf, sizeof buf);
    assert_string_equal(buf, "221 bye\r\n");
    close(s);

    int st = -1;
    assert_int_equal(peer_wait(&h, &st), 0);
    assert_int_equal(st, PEER_EXIT_OK);
    assert_int_equal(h.pid, -1);

    char rec[256];
    long n = peer_read_file(f->rec, rec, sizeof rec);
    assert_int_equal(n, 15);
    assert_memory_equal(rec, "EHLO me\r\nQUIT\r\n", 15);
}

static void test_deviation(void **state)
{
    fixture *f = *state;
    peer_handle h;
    unsigned short port = 0;
    assert_int_equal(peer_start_script(session, f->rec, &port, &h), 0);
    int s = connect_to(port);
    char buf[256];
    read_reply(s, buf, sizeof buf);
    send_str(s, "HELO me\r\n");
    int st = -1;
    assert_int_equal(peer_wait(&h, &st), 0);
    assert_int_equal(st, PEER_EXIT_DEVIATION);
    close(s);
}

static void test_kill(void **state)
{
    (void)state;
    peer_handle h;
    unsigned short port = 0;
    assert_int_equal(peer_start_script(session, NULL, &port, &h), 0);
    pid_t pid = h.pid;
    char tmp[sizeof h.tmp_script];
    memcpy(tmp, h.tmp_script, sizeof tmp);
    assert_int_equal(access(tmp, R_OK), 0);
    peer_kill(&h);
    assert_int_equal(h.pid, -1);
    assert_int_equal(kill(pid, 0), -1); /* reaped: the pid is gone */
    assert_int_equal(access(tmp, R_OK), -1); /* temp script removed */
    int st = 0;
    assert_int_equal(peer_wait(&h, &st), -1);
    assert_int_equal(st, PEER_EXIT_KILLED);
}

static void test_bad_script(void **state)
{
    (void)state;
    peer_handle h;
    unsigned short port = 0;
    assert_int_equal(peer_start_script("[{\"sned\": \"x\"}]", NULL, &port, &h), -1);
    assert_int_equal(h.pid, -1);
    assert_int_equal(peer_start("/nonexistent/script.json", NULL, &port, &h), -1);
}

static void test_certs_dir(void **state)
{
    (void)state;
    char dir[512];
    char path[600];
    assert_int_equal(peer_certs_dir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/server.key", dir);
    assert_int_equal(access(path, R_OK), 0);
    char tiny[4];
    assert_int_equal(peer_certs_dir(tiny, sizeof tiny), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_and_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deviation, setup, teardown),
        cmocka_unit_test(test_kill),
        cmocka_unit_test(test_bad_script),
        cmocka_unit_test(test_certs_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
