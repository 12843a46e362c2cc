/* see ctest.h */
#define _POSIX_C_SOURCE 200809L

#include "ctest.h"

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static mailout_status body_start(void *ctx, unsigned flags, uint64_t *size)
{
    ct_body *b = ctx;
    (void)flags;
    b->off = 0;
    b->starts++;
    *size = b->len;
    return MAILOUT_OK;
}

static mailout_status body_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
    ct_body *b = ctx;
    size_t n = b->len - b->off;

    *got = 0;
    b->reads++;
    if (b->again_every && b->reads % b->again_every == 0)
        return MAILOUT_AGAIN;
    if (n > cap)
        n = cap;
    if (n > b->chunk)
        n = b->chunk;
    memcpy(buf, b->text + b->off, n);
    b->off += n;
    *got = n;
    return b->off == b->len ? MAILOUT_DONE : MAILOUT_OK;
}

static int body_is_8bit(void *ctx)
{
    ct_body *b = ctx;
    for (size_t i = 0; i < b->len; i++)
        if ((unsigned char)b->text[i] >= 0x80)
            return 1;
    return 0;
}

mailout_body ct_body_source(ct_body *b, const char *text, size_t chunk, unsigned again_every)
{
    mailout_body body;
    memset(b, 0, sizeof *b);
    b->text = text;
    b->len = strlen(text);
    b->chunk = chunk ? chunk : (size_t)-1;
    b->again_every = again_every;
    memset(&body, 0, sizeof body);
    body.start = body_start;
    body.read = body_read;
    body.is_8bit = body_is_8bit;
    body.ctx = b;
    body.stuffs = 0;
    return body;
}

static uint64_t flaky_rand(ct_flaky *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

static size_t flaky_size(ct_flaky *f, size_t len)
{
    size_t n = 1 + (size_t)(flaky_rand(f) % f->max_chunk);
    return n < len ? n : len;
}

static ptrdiff_t flaky_send(void *ctx, const unsigned char *buf, size_t len)
{
    ct_flaky *f = ctx;
    ssize_t n;

    if (f->closed)
        return MAILOUT_E_STATE;
    if (f->send_calls++ % 2 == 0) {
        f->send_zero++;
        return 0;
    }
    n = send(f->fd, buf, flaky_size(f, len), MSG_NOSIGNAL);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return n < 0 && errno == EPIPE ? MAILOUT_E_CLOSED : MAILOUT_E_IO;
}

static ptrdiff_t flaky_recv(void *ctx, unsigned char *buf, size_t cap)
{
    ct_flaky *f = ctx;
    ssize_t n;

    if (f->closed)
        return MAILOUT_E_STATE;
    if (f->recv_calls++ % 2 == 0) {
        f->recv_zero++;
        return 0;
    }
    n = recv(f->fd, buf, flaky_size(f, cap), 0);
    if (n > 0)
        return n;
    if (n == 0)
        return MAILOUT_E_CLOSED;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return errno == ECONNRESET ? MAILOUT_E_CLOSED : MAILOUT_E_IO;
}

static int flaky_pollfd(void *ctx, unsigned *want)
{
    ct_flaky *f = ctx;
    (void)want;
    return f->fd;
}

static void flaky_close(void *ctx)
{
    ct_flaky *f = ctx;
    f->closed = 1;
}

mailout_transport ct_flaky_transport(ct_flaky *f, int fd, uint64_t seed, size_t max_chunk)
{
    mailout_transport t;
    int fl = fcntl(fd, F_GETFL);

    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    memset(f, 0, sizeof *f);
    f->fd = fd;
    f->rng = seed ? seed : 1;
    f->max_chunk = max_chunk ? max_chunk : 1;
    memset(&t, 0, sizeof t);
    t.send = flaky_send;
    t.recv = flaky_recv;
    t.wait = NULL;
    t.pollfd = flaky_pollfd;
    t.close = flaky_close;
    t.ctx = f;
    return t;
}

static mailout_status flaky_wait(void *ctx, unsigned want, uint32_t timeout_ms)
{
    ct_flaky *f = ctx;
    struct pollfd p;
    int n;

    f->waits++;
    p.fd = f->fd;
    p.events = (short)(((want & MAILOUT_WANT_READ) ? POLLIN : 0) | ((want & MAILOUT_WANT_WRITE) ? POLLOUT : 0));
    p.revents = 0;
    n = poll(&p, 1, timeout_ms > 60000 ? 60000 : (int)timeout_ms);
    if (n < 0)
        return MAILOUT_E_IO;
    return n == 0 ? MAILOUT_E_TIMEOUT : MAILOUT_OK;
}

mailout_transport ct_flaky_transport_wait(ct_flaky *f, int fd, uint64_t seed, size_t max_chunk)
{
    mailout_transport t = ct_flaky_transport(f, fd, seed, max_chunk);
    t.wait = flaky_wait;
    return t;
}

char *ct_stuff(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(2 * n + 8);
    size_t o = 0;
    int bol = 1;

    if (!out)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (bol && text[i] == '.')
            out[o++] = '.';
        out[o++] = text[i];
        bol = text[i] == '\n';
    }
    if (n && !bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 4);
    return out;
}
