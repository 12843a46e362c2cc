#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include "pyserver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Append child output until @p stop appears in the report or the
 * deadline passes. Returns 1 when found. */
static int read_until(pyserver *ps, const char *stop, uint64_t deadline)
{
    for (;;) {
        ps->report[ps->report_len] = '\0';
        if (strstr(ps->report, stop))
            return 1;
        uint64_t now = mono_ms();
        if (now >= deadline || ps->report_len + 1 >= sizeof ps->report)
            return 0;
        struct pollfd p = {.fd = ps->out, .events = POLLIN, .revents = 0};
        int r = poll(&p, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t n = read(ps->out, ps->report + ps->report_len, sizeof ps->report - 1 - ps->report_len);
        if (n <= 0)
            return 0;
        ps->report_len += (size_t)n;
    }
}

void pyserver_start(pyserver *ps, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = PYTHON3;
    argv[n++] = TLS_SERVER_PY;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    ps->pid = pid;
    ps->out = fds[0];
    ps->report_len = 0;
    ps->port = 0;
    if (!read_until(ps, "\n", mono_ms() + 10000) || sscanf(ps->report, "PORT %hu", &ps->port) != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("tls_server.py did not start: %s", ps->report);
    }
    /* keep only what follows the PORT line */
    char *nl = strchr(ps->report, '\n');
    size_t skip = (size_t)(nl - ps->report) + 1;
    memmove(ps->report, ps->report + skip, ps->report_len - skip);
    ps->report_len -= skip;
}

void pyserver_finish(pyserver *ps)
{
    int ok = read_until(ps, "END\n", mono_ms() + 15000);
    if (!ok)
        kill(ps->pid, SIGKILL);
    int status = 0;
    waitpid(ps->pid, &status, 0);
    close(ps->out);
    if (!ok)
        fail_msg("tls_server.py gave no report: %s", ps->report);
}

const char *pyserver_get(const pyserver *ps, const char *key)
{
    static char value[1 << 20];
    size_t klen = strlen(key);
    const char *p = ps->report;
    value[0] = '\0';
    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            const char *v = p + klen + 1, *e = strchr(v, '\n');
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= sizeof value)
                len = sizeof value - 1;
            memcpy(value, v, len);
            value[len] = '\0';
            break;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return value;
}

size_t pyserver_hex(const char *hex, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    if (strcmp(hex, "-") == 0)
        return 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned v;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        buf[n++] = (unsigned char)v;
    }
    return n;
}
