/* see peer_run.h */
#define _POSIX_C_SOURCE 200809L

#include "peer_run.h"

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

#ifndef PEER_PY_PATH
#error "meson passes -DPEER_PY_PATH=<source dir>/tests/peer/peer.py"
#endif

#define PYTHON "/usr/bin/python3"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *peer_py(void)
{
    const char *env = getenv("MAILOUT_PEER_PY");
    return env && *env ? env : PEER_PY_PATH;
}

/* fork/exec argv with stdout on a pipe; stdin from /dev/null. */
static int spawn(char *const argv[], pid_t *pid, int *out_fd)
{
    int p[2];
    if (pipe(p) != 0) {
        perror("peer_run: pipe");
        return -1;
    }
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    pid_t c = fork();
    if (c < 0) {
        perror("peer_run: fork");
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (c == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        dup2(p[1], 1);
        execv(argv[0], argv);
        fprintf(stderr, "peer_run: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    *pid = c;
    *out_fd = p[0];
    return 0;
}

/* Read one '\n'-terminated line (without the '\n') before deadline_ms. */
static int read_line(int fd, char *buf, size_t size, long deadline_ms)
{
    size_t n = 0;
    while (n + 1 < size) {
        long left = deadline_ms - now_ms();
        if (left <= 0) {
            fprintf(stderr, "peer_run: no line from the peer in time\n");
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            continue; /* timeout: the loop head reports it */
        }
        ssize_t got = read(fd, buf + n, 1);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return -1; /* the child exited: its stderr says why */
        }
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return 0;
        }
        n++;
    }
    fprintf(stderr, "peer_run: line from the peer too long\n");
    return -1;
}

/* Reap pid within limit_ms, killing it when the time is up. */
static int reap(pid_t pid, long limit_ms, int *exit_status)
{
    long deadline = now_ms() + limit_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            *exit_status = PEER_EXIT_KILLED;
            return -1;
        }
        if (now_ms() >= deadline) {
            fprintf(stderr, "peer_run: peer %ld still running after %ld ms, killing it\n", (long)pid, limit_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            *exit_status = PEER_EXIT_KILLED;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(st)) {
        *exit_status = WEXITSTATUS(st);
        return 0;
    }
    *exit_status = PEER_EXIT_KILLED;
    return -1;
}

static void release(peer_handle *h)
{
    if (h->out_fd >= 0) {
        close(h->out_fd);
        h->out_fd = -1;
    }
    if (h->tmp_script[0]) {
        unlink(h->tmp_script);
        h->tmp_script[0] = '\0';
    }
    h->pid = -1;
}

int peer_start(const char *script_path, const char *record_path, unsigned short *port, peer_handle *h)
{
    char *argv[6];
    int argc = 0;
    argv[argc++] = (char *)PYTHON;
    argv[argc++] = (char *)peer_py();
    if (record_path) {
        argv[argc++] = (char *)"--record";
        argv[argc++] = (char *)record_path;
    }
    argv[argc++] = (char *)script_path;
    argv[argc] = NULL;

    h->pid = -1;
    h->out_fd = -1;
    h->tmp_script[0] = '\0'; /* peer_start_script sets it on success */
    if (spawn(argv, &h->pid, &h->out_fd) != 0) {
        release(h);
        return -1;
    }
    char line[64];
    unsigned p = 0;
    char extra;
    if (read_line(h->out_fd, line, sizeof line, now_ms() + PEER_START_LIMIT_MS) != 0 ||
        sscanf(line, "PORT %u%c", &p, &extra) != 1 || p == 0 || p > 65535) {
        int st;
        fprintf(stderr, "peer_run: %s %s did not start\n", peer_py(), script_path);
        kill(h->pid, SIGKILL);
        reap(h->pid, 2000, &st);
        release(h);
        return -1;
    }
    /* peer.py writes nothing else on stdout */
    close(h->out_fd);
    h->out_fd = -1;
    *port = (unsigned short)p;
    return 0;
}

int peer_start_script(const char *json, const char *record_path, unsigned short *port, peer_handle *h)
{
    char path[sizeof h->tmp_script];
    snprintf(path, sizeof path, "/tmp/mailout-peer-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("peer_run: mkstemp");
        return -1;
    }
    size_t len = strlen(json);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, json + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            perror("peer_run: write script");
            close(fd);
            unlink(path);
            return -1;
        }
        off += (size_t)w;
    }
    close(fd);
    if (peer_start(path, record_path, port, h) != 0) {
        unlink(path);
        return -1;
    }
    memcpy(h->tmp_script, path, sizeof path);
    return 0;
}

int peer_wait(peer_handle *h, int *exit_status)
{
    if (h->pid <= 0) {
        *exit_status = PEER_EXIT_KILLED;
        release(h);
        return -1;
    }
    int r = reap(h->pid, PEER_WAIT_LIMIT_MS, exit_status);
    release(h);
    return r;
}

void peer_kill(peer_handle *h)
{
    if (h->pid > 0) {
        int st;
        kill(h->pid, SIGKILL);
        reap(h->pid, 5000, &st);
    }
    release(h);
}

int peer_certs_dir(char *buf, size_t size)
{
    char *argv[] = {(char *)PYTHON, (char *)peer_py(), (char *)"--ensure-certs", NULL};
    pid_t pid;
    int fd;
    int st;
    if (spawn(argv, &pid, &fd) != 0) {
        return -1;
    }
    /* generating the certificates takes a few seconds the first time */
    int r = read_line(fd, buf, size, now_ms() + 60000);
    close(fd);
    if (reap(pid, 5000, &st) != 0 || st != 0) {
        r = -1;
    }
    return r;
}

long peer_read_file(const char *path, void *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    size_t n = fread(buf, 1, size, f);
    int more = fgetc(f) != EOF;
    int err = ferror(f);
    fclose(f);
    if (more || err) {
        return -1;
    }
    return (long)n;
}
