/* see srv.h: an in-process scripted SMTP server for the client tests. */
#define _POSIX_C_SOURCE 200809L

#include "srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t srv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void srv_init(srv *s, int fd, const char *greeting)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->listen_fd = -1;
    s->greeting = greeting;
    if (fd >= 0)
        set_nonblock(fd);
}

void srv_rule_add(srv *s, const char *match, const char *reply, srv_action action, unsigned delay_ms,
                  unsigned times)
{
    if (s->nrules == SRV_MAX_RULES) {
        fprintf(stderr, "srv: too many rules\n");
        abort();
    }
    s->rules[s->nrules].match = match;
    s->rules[s->nrules].reply = reply;
    s->rules[s->nrules].action = action;
    s->rules[s->nrules].delay_ms = delay_ms;
    s->rules[s->nrules].times = times;
    s->nrules++;
}

void srv_rules_plain(srv *s)
{
    srv_rule_add(s, "EHLO", "250 srv.test\r\n", SRV_REPLY, 0, 0);
    srv_rule_add(s, "MAIL", "250 2.1.0 ok\r\n", SRV_REPLY, 0, 0);
    srv_rule_add(s, "RCPT", "250 2.1.5 ok\r\n", SRV_REPLY, 0, 0);
    srv_rule_add(s, "DATA", "354 go ahead\r\n", SRV_REPLY, 0, 0);
    srv_rule_add(s, ".", "250 2.0.0 queued as 1\r\n", SRV_REPLY, 0, 0);
    srv_rule_add(s, "RSET", "250 2.0.0 ok\r\n", SRV_REPLY, 0, 0);
    srv_rule_add(s, "QUIT", "221 2.0.0 bye\r\n", SRV_REPLY, 0, 0);
}

static void srv_close(srv *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static void out_add(srv *s, const char *text)
{
    size_t n = strlen(text);
    if (s->out_len + n > sizeof s->out) {
        fprintf(stderr, "srv: output overflow\n");
        abort();
    }
    memcpy(s->out + s->out_len, text, n);
    s->out_len += n;
}

/* Apply the rule for one command (or "." for the end of the data). */
static void srv_command(srv *s, const char *line, size_t len, uint64_t now)
{
    for (size_t i = 0; i < s->nrules; i++) {
        srv_rule *r = &s->rules[i];
        size_t ml = strlen(r->match);
        if (ml > len || strncasecmp(line, r->match, ml) != 0)
            continue;
        if (ml == 1 && r->match[0] == '.' && len != 1)
            continue;
        if (r->times && s->used[i] >= r->times)
            continue;
        s->used[i]++;
        if (r->action == SRV_CLOSE) {
            s->close_after_out = 1;
            return;
        }
        if (r->action == SRV_DELAY)
            s->hold_until = now + r->delay_ms;
        out_add(s, r->reply);
        if (strncmp(r->reply, "354", 3) == 0)
            s->data_mode = 1;
        if (strncmp(r->reply, "221", 3) == 0 || strncmp(r->reply, "421", 3) == 0)
            s->close_after_out = 1;
        return;
    }
    out_add(s, "500 5.5.1 unrecognized\r\n");
}

/* Scan the unparsed part of the log for complete lines / the data's end. */
static void srv_parse(srv *s, uint64_t now)
{
    while (!s->close_after_out) {
        unsigned char *base = s->log + s->parsed;
        size_t avail = s->log_len - s->parsed;
        unsigned char *nl = memchr(base, '\n', avail);
        size_t len;
        if (!nl)
            return;
        len = (size_t)(nl - base) + 1;
        s->parsed += len;
        if (s->data_mode) {
            /* the data ends with a line that is only "." */
            if (len == 3 && base[0] == '.' && base[1] == '\r') {
                s->data_mode = 0;
                srv_command(s, ".", 1, now);
            }
            continue;
        }
        srv_command(s, (const char *)base, len >= 2 ? len - 2 : 0, now);
    }
}

static void srv_read(srv *s)
{
    for (;;) {
        ssize_t n;
        if (s->log_cap - s->log_len < 4096) {
            s->log_cap = s->log_cap ? s->log_cap * 2 : 16384;
            s->log = realloc(s->log, s->log_cap);
            if (!s->log)
                abort();
        }
        n = read(s->fd, s->log + s->log_len, s->log_cap - s->log_len);
        if (n > 0) {
            s->log_len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            s->peer_closed = 1;
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}

static void srv_write(srv *s, uint64_t now)
{
    while (s->out_off < s->out_len && now >= s->hold_until) {
        ssize_t n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        s->out_off += (size_t)n;
    }
    if (s->out_off == s->out_len) {
        s->out_off = s->out_len = 0;
        if (s->close_after_out)
            srv_close(s);
    }
}

void srv_step(srv *s, uint64_t now_ms)
{
    if (s->fd < 0)
        return;
    if (!s->started) {
        s->started = 1;
        if (s->greeting) {
            out_add(s, s->greeting);
            s->hold_until = now_ms + s->greeting_delay_ms;
        }
    }
    srv_read(s);
    if (s->out_len == 0)
        srv_parse(s, now_ms);
    srv_write(s, now_ms);
    /* A reply may have gone out whole: parse pipelined commands now. */
    if (s->fd >= 0 && s->out_len == 0) {
        srv_parse(s, now_ms);
        srv_write(s, now_ms);
    }
    /* The client is gone: pending (delayed) replies have no reader. */
    if (s->fd >= 0 && s->peer_closed)
        srv_close(s);
}

void srv_free(srv *s)
{
    srv_close(s);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    free(s->log);
    s->log = NULL;
}

static void *srv_thread(void *arg)
{
    srv *s = arg;
    uint64_t end = srv_now_ms() + s->run_ms;
    struct pollfd pfd = {s->listen_fd, POLLIN, 0};

    if (s->fd < 0) {
        if (poll(&pfd, 1, (int)s->run_ms) != 1)
            return NULL;
        s->fd = accept(s->listen_fd, NULL, NULL);
        if (s->fd < 0)
            return NULL;
    }
    set_nonblock(s->fd);
    while (s->fd >= 0 && srv_now_ms() < end) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (s->out_len)
            p.events |= POLLOUT;
        (void)poll(&p, 1, 5);
        srv_step(s, srv_now_ms());
    }
    srv_close(s);
    return NULL;
}

int srv_tcp_listen(srv *s, const char *greeting, unsigned run_ms)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int one = 1;

    srv_init(s, -1, greeting);
    s->run_ms = run_ms;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->listen_fd < 0)
        return -1;
    (void)setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->listen_fd, 4) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return 0;
}

int srv_tcp_start(srv *s)
{
    return pthread_create(&s->thread, NULL, srv_thread, s) == 0 ? 0 : -1;
}

int srv_serve_fd_thread(srv *s, pthread_t *th)
{
    return pthread_create(th, NULL, srv_thread, s) == 0 ? 0 : -1;
}

void srv_join(srv *s)
{
    pthread_join(s->thread, NULL);
}

uint16_t srv_closed_port(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}
